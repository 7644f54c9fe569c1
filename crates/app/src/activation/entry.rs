//! Entering the journey: the printed key or provisional password, the
//! mailed link, or the identity match; and asking for a mailed link.

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::account::AccountStatus;
use domain::activation::{FlowState, Step};
use domain::identity_check::{Locator, TypedIdentity};
use domain::ids::{
    BirthDate, HrId, Ine, MailAddress, PhoneE164, StudentNumber, check_typed_identifier,
};
use domain::institution::{ActivationChannel, InstitutionSettings};
use domain::problem::Problem;
use domain::provisioning::Violation;
use domain::recovery::ResetMethod;
use domain::refusal::Precondition;
use domain::secret::{SecretKind, generate, hash_secret};
use store::accounts::AccountLookup;
use store::activation::{FlowWrites, LinkWindow, LoadedFlow, activation_link};
use store::secrets::Purpose;

use super::{Started, entry_refused, link_gone};
use crate::error::{AppError, internal};
use crate::limits::Counters;
use crate::links::DeliveryNotice;
use crate::texts::mail as mail_texts;
use crate::{App, CallContext};

/// How a person enters the journey, as typed. Its debug form shows no
/// secret.
#[derive(Clone)]
pub enum Entry {
    /// The login and the key printed on the enrolment certificate (or
    /// mailed for a forgotten password).
    Key {
        login: String,
        key: String,
    },
    ProvisionalPassword {
        login: String,
        password: String,
    },
    /// The token of the link mailed to the personal address.
    Link {
        token: String,
    },
    /// What the person typed of their record, as their profile's
    /// `identity_check` asks.
    IdentityMatch(IdentityFields),
}

/// The attributes of an identity match as typed (empty: not typed).
#[derive(Clone, Default)]
pub struct IdentityFields {
    pub student_number: String,
    pub ine: String,
    pub hr_id: String,
    pub birth_date: String,
    pub family_name: String,
    pub mobile_phone: String,
    pub personal_mail: String,
}

impl IdentityFields {
    /// The identifier typed that finds the record, as the guess counters
    /// name it: the student number, else the INE, else the HR id.
    fn subject(&self) -> Option<(&'static str, String)> {
        [
            ("student_number", self.student_number.trim().to_owned()),
            ("ine", self.ine.trim().to_uppercase()),
            ("hr_id", self.hr_id.trim().to_lowercase()),
        ]
        .into_iter()
        .find(|(_, typed)| !typed.is_empty())
    }

    /// Each attribute typed, parsed; every badly written one is refused
    /// at once, named by its field.
    pub(super) fn parse(
        &self,
        institution: &InstitutionSettings,
        today: chrono::NaiveDate,
    ) -> Result<TypedIdentity, AppError> {
        let mut refused = Vec::new();
        let bad = &mut refused;
        let student_number = typed(&self.student_number, "student_number", bad, |raw| {
            StudentNumber::parse(raw, institution.student_number_length)
        });
        let ine = typed(&self.ine, "ine", bad, Ine::parse);
        let hr_id = typed(&self.hr_id, "hr_id", bad, HrId::parse);
        let birth_date = typed(&self.birth_date, "birth_date", bad, |raw| {
            BirthDate::parse(raw, today).map(BirthDate::date)
        });
        let family_name = typed(&self.family_name, "family_name", bad, |raw| {
            Ok(raw.to_owned())
        });
        let mobile_phone = typed(&self.mobile_phone, "mobile_phone", bad, |raw| {
            PhoneE164::parse(raw, &institution.phone_region)
        });
        let personal_mail = typed(
            &self.personal_mail,
            "personal_mail",
            bad,
            MailAddress::parse,
        );
        if !refused.is_empty() {
            return Err(AppError::InvalidArgument(refused));
        }
        Ok(TypedIdentity {
            student_number,
            ine,
            hr_id,
            birth_date,
            family_name,
            mobile_phone,
            personal_mail,
        })
    }
}

/// One attribute as typed: `None` when left empty or badly written (then
/// refused in `refused`, named `identity_match.{field}`).
fn typed<T>(
    raw: &str,
    field: &str,
    refused: &mut Vec<Violation>,
    parse: impl FnOnce(&str) -> Result<T, Problem>,
) -> Option<T> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 254 {
        if !raw.is_empty() {
            refused.push(Violation::new(
                format!("identity_match.{field}"),
                Problem::TooLong { max: 254 },
            ));
        }
        return None;
    }
    parse(raw)
        .map_err(|problem| refused.push(Violation::new(format!("identity_match.{field}"), problem)))
        .ok()
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entry::Key { login, .. } => write!(f, "Key {{ login: {login:?} }}"),
            Entry::ProvisionalPassword { login, .. } => {
                write!(f, "ProvisionalPassword {{ login: {login:?} }}")
            }
            Entry::Link { .. } => f.write_str("Link"),
            Entry::IdentityMatch(typed) => {
                write!(f, "IdentityMatch {{ locator: {:?} }}", typed.subject())
            }
        }
    }
}

impl Entry {
    /// Whom a start attempt guesses for, as typed (an unknown login is
    /// limited like a known one); `None` for a link, whose token cannot be
    /// guessed.
    fn subject(&self) -> Option<(&'static str, String)> {
        match self {
            Entry::Key { login, .. } | Entry::ProvisionalPassword { login, .. } => {
                Some(("login", login.trim().to_lowercase()))
            }
            Entry::IdentityMatch(typed) => typed.subject(),
            Entry::Link { .. } => None,
        }
    }
}

/// Refuses a login no account can have.
fn check_login(login: &str, field: &str) -> Result<(), AppError> {
    check_typed_identifier(login).map_err(|e| AppError::field(field, e))
}

/// Refuses a typed secret no secret can be.
fn check_typed_secret(secret: &str, field: &str) -> Result<(), AppError> {
    if secret.is_empty() || secret.len() > 64 {
        return Err(AppError::field(field, Problem::SecretShape));
    }
    Ok(())
}

/// Refuses an account that cannot start activation (yet); `time_zone` is
/// its institution's, in which the opening time is told.
fn check_can_start(
    account: &Account,
    now: DateTime<Utc>,
    time_zone: chrono_tz::Tz,
) -> Result<(), AppError> {
    match account.status {
        status if status.awaits_activation() && account.activated_at.is_none() => {}
        AccountStatus::Active | AccountStatus::Grace => {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::AlreadyActive,
                subject: "account".into(),
                message: "this account is already activated: sign in, or use password recovery"
                    .into(),
            });
        }
        _ => {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::AccountState,
                subject: "account".into(),
                message: "this account cannot be activated: contact the helpdesk".into(),
            });
        }
    }
    if now < account.activation_available_at {
        return Err(AppError::NotOpenYet {
            opens_at: account.activation_available_at,
            time_zone,
        });
    }
    Ok(())
}

impl App {
    /// Starts a journey from what the person typed or followed. Wrong
    /// details are counted against the typed identifier and the address
    /// (a link's token cannot be guessed).
    pub async fn start_activation(
        &self,
        institution: &str,
        entry: Entry,
        ctx: &CallContext,
    ) -> Result<Started, AppError> {
        let now = self.now();
        let institution = institution.trim();
        let subject = entry.subject();
        let parts = subject
            .as_ref()
            .map(|(kind, value)| [institution, *kind, value.as_str()]);
        let counters = Counters::guesses(self, ctx, parts.as_ref().map(|p| &p[..]));
        self.limited(counters, now, self.start(institution, entry, ctx, now))
            .await
    }

    async fn start(
        &self,
        institution: &str,
        entry: Entry,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<Started, AppError> {
        let (account, mut state) = self.enter(institution, &entry, now).await?;
        if !state.reactivation {
            let time_zone = self
                .rules
                .institution(&account.institution)
                .map_or(chrono_tz::UTC, |i| i.time_zone);
            check_can_start(&account, now, time_zone)?;
        }
        let journey = self.journey(&account)?;
        // The code the profile sends after its entry (Tours' after the
        // identity match), unless the entry stands for it (a desk link).
        // Where the person chooses the destination, nothing is sent yet.
        let channels = journey.profile.activation.code_channels();
        let code_due = !channels.is_empty()
            && !state.done.contains(&Step::VerifyCode)
            && super::messages::code_choices(&account, &journey).is_empty();
        let writes = if code_due {
            self.identity_code_cooldown(&account, &journey, now).await?;
            self.identity_code_writes((&account, &journey), &channels, ctx.language, now)?
                .writes
        } else {
            FlowWrites::default()
        };
        state.done.insert(Step::VerifySecret);
        let token = generate(SecretKind::Token, &mut rand::rngs::SysRng).map_err(internal)?;
        let lifetime = chrono::Duration::from_std(journey.profile.activation.flow_lifetime)
            .map_err(internal)?;
        let start = store::activation::FlowStart {
            token_hash: &hash_secret(SecretKind::Token, token.expose()),
            state: &state,
            expires_at: now + lifetime,
        };
        let flow = self
            .store
            .start_flow(&account, start, writes, ctx, now)
            .await?;
        let loaded = LoadedFlow {
            state: state.clone(),
            flow,
            account,
        };
        let flow = self
            .flow_view(&loaded, &state, None, ctx.language, now)
            .await?;
        Ok(Started {
            flow_token: token.expose().to_owned(),
            flow,
        })
    }

    /// The account the entry proves, and the flow's first state.
    async fn enter(
        &self,
        institution: &str,
        entry: &Entry,
        now: DateTime<Utc>,
    ) -> Result<(Account, FlowState), AppError> {
        let settings = || {
            self.rules
                .institution(institution)
                .ok_or_else(|| AppError::field("institution", Problem::UnknownInstitution))
        };
        match entry {
            Entry::Key { login, key } => {
                let settings = settings()?;
                check_login(login, "key.login")?;
                check_typed_secret(key, "key.activation_key")?;
                self.enter_by_key((institution, settings), login, key, now)
                    .await
            }
            Entry::ProvisionalPassword { login, password } => {
                settings()?;
                check_login(login, "provisional_password.login")?;
                check_typed_secret(password, "provisional_password.provisional_password")?;
                let lookup = AccountLookup::Login { institution, login };
                let account = self.store.find_account(lookup).await?;
                let account = self.expect_channel(
                    account,
                    ActivationChannel::ProvisionalPassword,
                    "provisional_password",
                )?;
                self.check_printed(&account, Purpose::ProvisionalPassword, password, now)
                    .await?;
                Ok((account, FlowState::default()))
            }
            Entry::Link { token } => self.enter_by_link(token, now).await,
            Entry::IdentityMatch(typed) => {
                let settings = settings()?;
                let account = self
                    .identity_match((institution, settings), typed, now)
                    .await?;
                Ok((account, FlowState::default()))
            }
        }
    }

    /// A printed key; or, for an active account whose institution mails
    /// new keys for forgotten passwords, a mailed one (reactivation).
    async fn enter_by_key(
        &self,
        (code, institution): (&str, &InstitutionSettings),
        login: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(Account, FlowState), AppError> {
        let lookup = AccountLookup::Login {
            institution: code,
            login,
        };
        let account = self.store.find_account(lookup).await?;
        let reactivating = institution.recovery.method == ResetMethod::ActivationKey
            && account.as_ref().is_some_and(Account::password_usable);
        let (account, purpose) = match account {
            Some(account) if reactivating => (account, Purpose::ReactivationKey),
            account => (
                self.expect_channel(account, ActivationChannel::ActivationKey, "key")?,
                Purpose::ActivationKey,
            ),
        };
        self.check_printed(&account, purpose, key, now).await?;
        let state = FlowState {
            reactivation: reactivating,
            ..FlowState::default()
        };
        Ok((account, state))
    }

    /// The mailed link: following it proved the personal address, which
    /// becomes the verified recovery address unless the person changes it.
    /// Or the link a desk agent handed over after checking the person's
    /// identity, which stands for the identity check and its code.
    async fn enter_by_link(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(Account, FlowState), AppError> {
        if token.is_empty() || token.len() > 128 {
            return Err(AppError::field("link.token", Problem::Missing));
        }
        let hash = hash_secret(SecretKind::Token, token);
        if let Some(secret) = self
            .store
            .secret_by_hash(&hash, Purpose::ActivationLink, now)
            .await?
        {
            let account = self.account(AccountLookup::Id(&secret.account_id)).await?;
            let state = FlowState {
                recovery_mail_verified_at: secret.target.as_ref().map(|_| now),
                recovery_mail: secret.target,
                ..FlowState::default()
            };
            return Ok((account, state));
        }
        let secret = self
            .store
            .secret_by_hash(&hash, Purpose::DeskActivationLink, now)
            .await?
            .ok_or_else(link_gone)?;
        let account = self.account(AccountLookup::Id(&secret.account_id)).await?;
        // Mailed to an address the person gave at the desk: following it
        // proved that address, as with a mailed link.
        let mut state = FlowState {
            recovery_mail_verified_at: secret.target.as_ref().map(|_| now),
            recovery_mail: secret.target,
            ..FlowState::default()
        };
        // The agent checked the person's identity: no check nor code after.
        state.done.insert(Step::VerifyIdentity);
        state.done.insert(Step::VerifyCode);
        Ok((account, state))
    }

    /// The account found by the identifier typed, if everything its
    /// profile's identity check asks for was typed and is the record's;
    /// otherwise the same refusal whatever was wrong.
    async fn identity_match(
        &self,
        (code, institution): (&str, &InstitutionSettings),
        typed: &IdentityFields,
        now: DateTime<Utc>,
    ) -> Result<Account, AppError> {
        let today = now.with_timezone(&institution.time_zone).date_naive();
        let typed = typed.parse(institution, today)?;
        let lookup = match typed.locator() {
            Some(Locator::StudentNumber(number)) => AccountLookup::StudentNumber {
                institution: code,
                number,
            },
            Some(Locator::Ine(ine)) => AccountLookup::Ine {
                institution: code,
                ine,
            },
            Some(Locator::HrId(hr_id)) => AccountLookup::TypedHrId {
                institution: code,
                hr_id,
            },
            None => return Err(entry_refused("identity_match")),
        };
        let account = self.store.find_account(lookup).await?.filter(|account| {
            self.profile_of(account).is_ok_and(|profile| {
                typed.matches(&profile.activation.identity_check, account.into())
            })
        });
        self.expect_channel(account, ActivationChannel::IdentityMatch, "identity_match")
    }

    /// The account, if its profile activates through `channel`; otherwise
    /// the same refusal as a wrong secret.
    fn expect_channel(
        &self,
        account: Option<Account>,
        channel: ActivationChannel,
        field: &str,
    ) -> Result<Account, AppError> {
        match account {
            Some(a)
                if self
                    .profile_of(&a)
                    .is_ok_and(|p| p.activation.channel == channel) =>
            {
                Ok(a)
            }
            _ => Err(entry_refused(field)),
        }
    }

    /// Checks a printed secret (key or provisional password) against the
    /// account's. A wrong one never invalidates it: the person holds it on
    /// paper and cannot ask for another from home, while anyone who knows
    /// a login could type wrong keys for it. The guess counters (per
    /// account, address and login typed) hold guessing back instead.
    async fn check_printed(
        &self,
        account: &Account,
        purpose: Purpose,
        typed: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let (kind, field) = match purpose {
            Purpose::ActivationKey | Purpose::ReactivationKey => (SecretKind::ActivationKey, "key"),
            _ => (SecretKind::ProvisionalPassword, "provisional_password"),
        };
        let keys = self.store.secret_keys()?;
        let Some(secret) = self.store.live_secret(&account.id, purpose, now).await? else {
            // Same work and answer as a wrong secret.
            let _ = keys.hash(kind, typed);
            self.refuse_printed(account, kind, typed).await?;
            return Err(entry_refused(field));
        };
        if keys.matches(kind, typed, &secret.secret_hash) {
            return Ok(());
        }
        self.refuse_printed(account, kind, typed).await?;
        Err(entry_refused(field))
    }

    /// The printed secret typed again once the account is active: it did
    /// its work, and saying so (the person typed the secret itself, so it
    /// tells nothing to anyone else) sends them to sign in or recover.
    async fn refuse_printed(
        &self,
        account: &Account,
        kind: SecretKind,
        typed: &str,
    ) -> Result<(), AppError> {
        if account.activated_at.is_none() {
            return Ok(());
        }
        let printed = match kind {
            SecretKind::ActivationKey => Purpose::ActivationKey,
            _ => Purpose::ProvisionalPassword,
        };
        let keys = self.store.secret_keys()?;
        let last = self.store.last_account_secret(&account.id, printed).await?;
        if last.is_some_and(|s| keys.matches(kind, typed, &s.secret_hash)) {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::AlreadyActive,
                subject: "account".into(),
                message: "this account is already activated: sign in, or use password recovery"
                    .into(),
            });
        }
        Ok(())
    }

    /// Mails a new activation link to an account that activates by mailed
    /// link. The answer never says whether the login exists: the same
    /// notice, fully masked, whatever happens.
    pub async fn request_activation_link(
        &self,
        institution: &str,
        login: &str,
        ctx: &CallContext,
    ) -> Result<DeliveryNotice, AppError> {
        let answer_time = crate::timing::AnswerTime::start();
        let now = self.now();
        let code = institution.trim();
        let institution = self
            .rules
            .institution(code)
            .ok_or_else(|| AppError::field("institution", Problem::UnknownInstitution))?;
        check_login(login, "login")?;
        let notice = DeliveryNotice {
            also_sent_to: Vec::new(),
            masked_destination: "xxxxxxxxxxxx@xxxxxxxx".into(),
            check_spam_folder: true,
            helpdesk_url: institution.helpdesk_url.clone(),
            expires_at: None,
        };
        let identifier = [code, &login.trim().to_lowercase()];
        let counters = Counters::mail_requests(self, ctx, &identifier);
        self.limited(counters, now, async { Ok(()) }).await?;
        let lookup = AccountLookup::Login {
            institution: code,
            login,
        };
        if let Some(account) = self.store.find_account(lookup).await? {
            // After the answer: mailing costs what "nothing to send" does not.
            let (app, ctx, code) = (self.clone(), ctx.clone(), code.to_owned());
            tokio::spawn(async move {
                let Some(institution) = app.rules.institution(&code) else {
                    return;
                };
                if let Err(error) = app
                    .mail_activation_link(institution, &account, &ctx, now)
                    .await
                {
                    tracing::error!(request_id = %ctx.request_id, %error, "activation link not sent");
                }
            });
        }
        answer_time.wait().await;
        Ok(notice)
    }

    /// A new activation link to the account's personal address, if it
    /// activates that way and the last link is older than the cooldown
    /// (which keeps the button from flooding the mailbox).
    async fn mail_activation_link(
        &self,
        institution: &InstitutionSettings,
        account: &Account,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let Ok(profile) = self.profile_of(account) else {
            return Ok(());
        };
        let (Some(personal_mail), true, ActivationChannel::MailedLink) = (
            &account.personal_mail,
            account.awaits_activation(),
            profile.activation.channel,
        ) else {
            return Ok(());
        };
        // Before activation opens, the link mailed at provisioning waits in
        // the outbox for the opening: a second one would arrive with it and
        // make the first expire at once.
        if now < account.activation_available_at
            && self
                .store
                .last_account_secret(&account.id, Purpose::ActivationLink)
                .await?
                .is_some()
        {
            return Ok(());
        }
        let last = self
            .store
            .live_secret(&account.id, Purpose::ActivationLink, now)
            .await?;
        let cooldown =
            chrono::Duration::from_std(profile.activation.resend_cooldown).unwrap_or_default();
        if last.is_some_and(|s| s.created_at + cooldown > now) {
            return Ok(());
        }
        let opens = account.activation_available_at.max(now);
        let expires_at = profile
            .activation
            .material_lifetime
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| opens + d);
        let wording = mail_texts::activation_link_mail(institution, ctx.language);
        let mailed = activation_link(
            account,
            personal_mail,
            &wording,
            LinkWindow { opens, expires_at },
        )?;
        let audit = (
            "activation.link_requested",
            serde_json::json!({}),
            &ctx.audit,
        );
        self.store
            .issue_account_secrets(
                account,
                store::activation::SecretIssue {
                    revoke: &[Purpose::ActivationLink],
                    secrets: vec![mailed.secret],
                    messages: vec![mailed.message],
                    audit: Some(audit),
                },
                now,
            )
            .await?;
        Ok(())
    }
}
