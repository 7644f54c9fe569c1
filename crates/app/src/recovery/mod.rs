//! A forgotten password: the request is answered before anything is looked
//! at beyond the account lookup, and what it sends is written in the
//! background, so neither the answer nor its timing tells whether the
//! account exists or has a recovery address ("Recovery never reveals
//! whether an account exists").

mod code;
mod login;
mod reset;

pub use code::{ResetCodeTyped, ResetToken};
pub use login::LoginLookup;
pub use reset::ResetLink;

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::form::Field;
use domain::ids::check_typed_identifier;
use domain::ids::{Ine, MailAddress};
use domain::institution::{InstitutionSettings, RESET_LINK_PAGE};
use domain::problem::Problem;
use domain::recovery::{
    ResetChannel, ResetIdentifierKind, ResetMethod, decoy_seed, masked_destination, masked_phone,
    typed_identifier_kind,
};
use domain::secret::{SecretKeys, SecretKind, generate};
use serde_json::json;
use store::AuditEntry;
use store::accounts::AccountLookup;
use store::outbox::{Channel, Content, NewMessage};
use store::secrets::{NewSecret, Purpose};

use crate::error::{AppError, internal};
use crate::limits::Counters;
use crate::links::{DeliveryNotice, PortalLinkToken};
use crate::texts::mail;
use crate::{App, CallContext};

/// The identifier a reset request typed, parsed.
#[derive(Debug, Clone)]
pub enum ResetIdentifier {
    Login(String),
    Ine(Ine),
    Mail(MailAddress),
}

impl ResetIdentifier {
    fn kind(&self) -> ResetIdentifierKind {
        match self {
            ResetIdentifier::Login(_) => ResetIdentifierKind::Login,
            ResetIdentifier::Ine(_) => ResetIdentifierKind::Ine,
            ResetIdentifier::Mail(_) => ResetIdentifierKind::InstitutionalMail,
        }
    }

    /// What names the decoy and the rate-limit counter: the same for an
    /// unknown account as for a known one.
    fn decoy_name(&self) -> String {
        match self {
            ResetIdentifier::Login(l) => format!("login:{l}"),
            ResetIdentifier::Ine(i) => format!("ine:{}", i.as_str()),
            ResetIdentifier::Mail(m) => format!("mail:{}", m.as_str()),
        }
    }

    fn lookup<'a>(&'a self, institution: &'a str) -> AccountLookup<'a> {
        match self {
            ResetIdentifier::Login(login) => AccountLookup::Login { institution, login },
            ResetIdentifier::Ine(ine) => AccountLookup::Ine {
                institution,
                ine: ine.as_str(),
            },
            ResetIdentifier::Mail(mail) => AccountLookup::InstitutionalMail {
                institution,
                mail: mail.as_str(),
            },
        }
    }
}

/// What a reset request names the account by.
#[derive(Debug, Clone)]
pub enum ResetInput {
    /// An identifier of a known kind, parsed at the edge.
    Parsed(ResetIdentifier),
    /// What a person typed in a form's one field; which kind it is
    /// depends on what the institution accepts.
    Typed(String),
}

/// The identifier `input` names, if the institution accepts it.
fn accepted_identifier(
    input: ResetInput,
    accepts: &[ResetIdentifierKind],
) -> Result<ResetIdentifier, AppError> {
    let typed = match input {
        ResetInput::Parsed(identifier) if accepts.contains(&identifier.kind()) => {
            return Ok(identifier);
        }
        ResetInput::Parsed(identifier) => {
            let field = identifier.kind().path();
            return Err(AppError::field(field, Problem::IdentifierNotAccepted));
        }
        ResetInput::Typed(typed) => typed,
    };
    let refused = |problem| AppError::field(Field::ResetIdentifier.path(), problem);
    check_typed_identifier(&typed).map_err(refused)?;
    let typed = typed.trim();
    match typed_identifier_kind(typed, accepts) {
        Some(ResetIdentifierKind::Login) => Ok(ResetIdentifier::Login(typed.to_owned())),
        Some(ResetIdentifierKind::Ine) => Ine::parse(typed).map(ResetIdentifier::Ine),
        Some(ResetIdentifierKind::InstitutionalMail) => {
            MailAddress::parse(typed).map(ResetIdentifier::Mail)
        }
        None => Err(Problem::IdentifierNotAccepted),
    }
    .map_err(refused)
}

/// The channel a request asks for, if the institution offers it; its
/// first one when the request names none.
fn offered_channel(
    asked: Option<ResetChannel>,
    offered: &[ResetChannel],
) -> Result<ResetChannel, AppError> {
    match asked {
        Some(channel) if offered.contains(&channel) => Ok(channel),
        Some(_) => Err(AppError::field("channel", Problem::ChannelNotOffered)),
        None => offered
            .first()
            .copied()
            .ok_or_else(|| AppError::inconsistent("no reset channel")),
    }
}

/// A forgotten-password request as the edge read it.
#[derive(Debug)]
pub struct ResetRequest {
    pub institution: String,
    /// The identifier, or why it could not be read.
    pub identifier: Result<ResetInput, AppError>,
    /// The channel asked for (`None`: the institution's first), or why it
    /// could not be read.
    pub channel: Result<Option<ResetChannel>, AppError>,
}

/// What the person is told at once, whether or not anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetAnswer {
    pub channel: ResetChannel,
    /// What a mail sends (the mail channel).
    pub method: ResetMethod,
    pub notice: DeliveryNotice,
}

/// A reset request, answered, waiting for its writes.
struct PendingReset {
    institution: String,
    channel: ResetChannel,
    ctx: CallContext,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl PendingReset {
    /// What the request sends: a reset link or a new key by mail, as the
    /// institution's method says, or a code by SMS.
    fn purpose(&self, institution: &InstitutionSettings) -> Purpose {
        match (self.channel, institution.recovery.method) {
            (ResetChannel::Sms, _) => Purpose::ResetCode,
            (ResetChannel::Mail, ResetMethod::ResetLink) => Purpose::PasswordReset,
            (ResetChannel::Mail, ResetMethod::ActivationKey) => Purpose::ReactivationKey,
        }
    }
}

impl App {
    /// Answers a forgotten-password request, then sends what the
    /// institution's channel sends — by mail a reset link or a new
    /// activation key to the account's verified recovery address, by SMS a
    /// code to its verified mobile phone — if there is one, in the
    /// background.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown institution, a bad identifier and
    /// a channel not offered (all that are), `ResourceExhausted` once the
    /// identifier or the address asked too often.
    pub async fn request_password_reset(
        &self,
        request: ResetRequest,
        ctx: &CallContext,
    ) -> Result<ResetAnswer, AppError> {
        let answer_time = crate::timing::AnswerTime::start();
        let now = self.now();
        let institution = request.institution.trim();
        let rules = self
            .rules
            .institution(institution)
            .ok_or_else(|| AppError::field("institution", Problem::UnknownInstitution));
        let asked = AppError::both(request.identifier, request.channel);
        let (rules, (identifier, channel)) = AppError::both(rules, asked)?;
        let recovery = &rules.recovery;
        let identifier = accepted_identifier(identifier, &recovery.reset_identifiers);
        let channel = offered_channel(channel, &recovery.channels);
        let (identifier, channel) = AppError::both(identifier, channel)?;
        let lifetime = match channel {
            ResetChannel::Mail => recovery.reset_lifetime,
            ResetChannel::Sms => recovery.code_lifetime,
        };
        let expires_at = now + chrono::Duration::from_std(lifetime).map_err(internal)?;
        // Counted per identifier typed, whether or not it names an account:
        // the limit says nothing of which exist.
        let typed = identifier.decoy_name();
        let counters = Counters::mail_requests(self, ctx, &[institution, &typed]);
        self.limited(counters, now, async { Ok(()) }).await?;
        let account = self
            .store
            .find_account(identifier.lookup(institution))
            .await?;
        let seed = decoy_seed(&recovery.decoy_key, institution, &typed);
        let answer = ResetAnswer {
            channel,
            method: recovery.method,
            notice: DeliveryNotice {
                also_sent_to: Vec::new(),
                masked_destination: shown_destination(rules, channel, account.as_ref(), &seed),
                check_spam_folder: channel == ResetChannel::Mail,
                helpdesk_url: rules.helpdesk_url.clone(),
                expires_at: Some(expires_at),
            },
        };
        // The writes (secret, message, audit) happen after the answer:
        // their cost differs between "sent" and "nothing to send".
        let pending = PendingReset {
            institution: institution.to_owned(),
            channel,
            ctx: ctx.clone(),
            now,
            expires_at,
        };
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(error) = app.send_reset(&pending, account).await {
                tracing::error!(request_id = %pending.ctx.request_id, %error, "password reset not sent");
            }
        });
        answer_time.wait().await;
        Ok(answer)
    }

    /// Sends what a reset request asks for, if the account exists, may
    /// reset and has a verified recovery address, and no reset was sent
    /// within the cooldown; audits the request either way.
    async fn send_reset(
        &self,
        pending: &PendingReset,
        account: Option<Account>,
    ) -> Result<(), AppError> {
        let code = pending.institution.as_str();
        let institution = self
            .rules
            .institution(code)
            .ok_or_else(|| AppError::inconsistent("institution vanished"))?;
        let Some((account, address)) = account
            .as_ref()
            .and_then(|a| reset_target(a, pending.channel).map(|d| (a, d.to_owned())))
        else {
            let reason = match (&account, pending.channel) {
                (None, _) => "unknown_account",
                (Some(a), _) if !a.password_usable() => "account_state",
                (Some(_), ResetChannel::Mail) => "no_verified_recovery_mail",
                (Some(_), ResetChannel::Sms) => "no_verified_mobile_phone",
            };
            return self.reset_not_sent(pending, account.as_ref(), reason).await;
        };
        let purpose = pending.purpose(institution);
        let cooldown =
            chrono::Duration::from_std(institution.recovery.resend_cooldown).map_err(internal)?;
        if let Some(last) = self.store.last_account_secret(&account.id, purpose).await?
            && last.created_at + cooldown > pending.now
        {
            // Asked again at once: one mail is enough (and nobody can flood
            // a mailbox through this form).
            return self
                .reset_not_sent(pending, Some(account), "cooldown")
                .await;
        }
        let keys = self.store.secret_keys()?;
        let (hash, content) = reset_material(institution, account, (purpose, &keys), pending)?;
        let secret = NewSecret {
            account_id: account.id.clone(),
            purpose,
            hash,
            target: Some(address.clone()),
            flow_id: None,
            not_before: None,
            expires_at: Some(pending.expires_at),
        };
        let message = NewMessage {
            account_id: Some(account.id.clone()),
            channel: match pending.channel {
                ResetChannel::Mail => Channel::Mail,
                ResetChannel::Sms => Channel::Sms,
            },
            recipient: address,
            template: purpose.as_str().to_owned(),
            content,
            not_before: pending.now,
        };
        let audit = json!({ "sent": true, "method": purpose.as_str() });
        self.store
            .issue_account_secrets(
                account,
                store::activation::SecretIssue {
                    revoke: &[purpose],
                    secrets: vec![secret],
                    messages: vec![message],
                    audit: Some(("password_reset.requested", audit, &pending.ctx.audit)),
                },
                pending.now,
            )
            .await?;
        Ok(())
    }

    /// Audits a reset request that sends nothing, and why.
    async fn reset_not_sent(
        &self,
        pending: &PendingReset,
        account: Option<&Account>,
        reason: &str,
    ) -> Result<(), AppError> {
        self.store
            .record_event(
                AuditEntry {
                    institution: &pending.institution,
                    account_id: account.map(|a| a.id.as_str()),
                    action: "password_reset.requested",
                    details: json!({ "sent": false, "reason": reason }),
                },
                &pending.ctx.audit,
                pending.now,
            )
            .await?;
        Ok(())
    }
}

/// The verified recovery address of an account that may reset its
/// password.
pub fn reset_destination(account: &Account) -> Option<&str> {
    reset_target(account, ResetChannel::Mail)
}

/// Where a reset by `channel` goes for an account that may reset its
/// password: its verified recovery address, or a verified mobile phone.
fn reset_target(account: &Account, channel: ResetChannel) -> Option<&str> {
    if !account.password_usable() {
        return None;
    }
    match channel {
        ResetChannel::Mail => account.verified_recovery_mail(),
        ResetChannel::Sms => account.reset_phone(),
    }
}

/// Where the answer says the reset went, masked as the institution masks:
/// a stable decoy when nothing is sent.
fn shown_destination(
    institution: &InstitutionSettings,
    channel: ResetChannel,
    account: Option<&Account>,
    seed: &[u8; 32],
) -> String {
    let mask = institution.recovery.mask;
    let target = account.and_then(|a| reset_target(a, channel));
    match channel {
        ResetChannel::Mail => masked_destination(mask, target, seed),
        ResetChannel::Sms => masked_phone(mask, target, &institution.phone_region, seed),
    }
}

/// The secret a reset sends (its stored hash) and the message that carries
/// it: a link to a new-password page, a new activation key (Bordeaux
/// Montaigne: "un nouveau code d'activation vous est envoyé"), or a code
/// by SMS.
fn reset_material(
    institution: &InstitutionSettings,
    account: &Account,
    (purpose, keys): (Purpose, &SecretKeys),
    pending: &PendingReset,
) -> Result<(String, Content), AppError> {
    let (tz, language) = (institution.time_zone, pending.ctx.language);
    let to = mail::RecoveryMail {
        institution: &institution.name,
        login: &account.login,
        expires_at: pending.expires_at,
        tz,
    };
    match purpose {
        Purpose::PasswordReset => {
            let link = PortalLinkToken::new(institution, RESET_LINK_PAGE)?;
            let content = mail::password_reset(&to, &link.url, language);
            Ok((link.hash, content))
        }
        Purpose::ResetCode => {
            let code = generate(SecretKind::Code, &mut rand::rngs::SysRng).map_err(internal)?;
            let content = mail::reset_code(&to, code.expose(), language);
            Ok((code.hash(SecretKind::Code, keys), content))
        }
        _ => {
            let key =
                generate(SecretKind::ActivationKey, &mut rand::rngs::SysRng).map_err(internal)?;
            let content =
                mail::reactivation_key(&to, key.expose(), &institution.portal_url, language);
            Ok((key.hash(SecretKind::ActivationKey, keys), content))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{call_from, provision_montpellier_staff, test_app};

    fn asked(institution: &str, identifier: Result<ResetInput, AppError>) -> ResetRequest {
        ResetRequest {
            institution: institution.to_owned(),
            identifier,
            channel: Ok(None),
        }
    }

    #[tokio::test]
    async fn known_and_unknown_accounts_get_the_same_answer() {
        let t = test_app().await;
        let account = provision_montpellier_staff(&t, "RH-1").await;
        let ctx = call_from(Some("198.51.100.7"));
        let known = t
            .app
            .request_password_reset(
                asked(
                    "umontpellier",
                    Ok(ResetInput::Parsed(ResetIdentifier::Login(
                        account.login.clone(),
                    ))),
                ),
                &ctx,
            )
            .await
            .expect("answered");
        let unknown = t
            .app
            .request_password_reset(
                asked("umontpellier", Ok(ResetInput::Typed("nobody.here".into()))),
                &ctx,
            )
            .await
            .expect("answered");
        assert_eq!(known, unknown);
        assert_eq!(known.method, ResetMethod::ResetLink);
        assert_eq!(known.channel, ResetChannel::Mail);
        assert!(known.notice.expires_at > Some(t.app.now()));
    }

    #[tokio::test]
    async fn an_unknown_institution_is_refused_with_a_bad_identifier_too() {
        let t = test_app().await;
        let refused = t
            .app
            .request_password_reset(
                asked("nowhere", Ok(ResetInput::Typed("x".into()))),
                &call_from(None),
            )
            .await;
        assert!(
            matches!(refused, Err(AppError::InvalidArgument(v)) if v[0].field == "institution")
        );
        let bad_login = AppError::field("login", Problem::TooLong { max: 254 });
        let both = t
            .app
            .request_password_reset(asked("nowhere", Err(bad_login)), &call_from(None))
            .await;
        let fields: Vec<String> = match both {
            Err(AppError::InvalidArgument(v)) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("refused, got {other:?}"),
        };
        assert_eq!(fields, ["institution", "login"]);
    }

    #[test]
    fn a_request_names_a_channel_the_institution_offers_or_gets_its_first() {
        use ResetChannel::{Mail, Sms};
        assert_eq!(offered_channel(None, &[Sms, Mail]).ok(), Some(Sms));
        assert_eq!(offered_channel(Some(Mail), &[Sms, Mail]).ok(), Some(Mail));
        let refused = offered_channel(Some(Sms), &[Mail]);
        assert!(matches!(refused, Err(AppError::InvalidArgument(v)) if v[0].field == "channel"));
    }

    #[tokio::test]
    async fn a_code_goes_only_to_a_proven_phone_of_an_account_that_may_reset() {
        let t = test_app().await;
        let mut account = provision_montpellier_staff(&t, "RH-2").await;
        account.status = domain::account::AccountStatus::Active;
        account.mobile_phone = Some("+33612345678".into());
        assert_eq!(reset_target(&account, ResetChannel::Sms), None);
        account.mobile_phone_verified_at = Some(t.app.now());
        assert_eq!(
            reset_target(&account, ResetChannel::Sms),
            Some("+33612345678")
        );
        // The phone the person gave and verified comes first.
        account.recovery_phone = Some("+33788102599".into());
        assert_eq!(
            reset_target(&account, ResetChannel::Sms),
            Some("+33612345678")
        );
        account.recovery_phone_verified_at = Some(t.app.now());
        assert_eq!(
            reset_target(&account, ResetChannel::Sms),
            Some("+33788102599")
        );
        account.status = domain::account::AccountStatus::Expired;
        assert_eq!(reset_target(&account, ResetChannel::Sms), None);
    }

    #[tokio::test]
    async fn a_code_for_nobody_is_refused_like_a_wrong_one() {
        let t = test_app().await;
        let typed = ResetCodeTyped {
            institution: "umontpellier".into(),
            identifier: Ok(ResetInput::Typed("nobody.here".into())),
            code: "12345678".into(),
        };
        // Montpellier resets by mail only: no code is ever sent.
        let refused = t.app.verify_reset_code(typed, &call_from(None)).await;
        assert!(
            matches!(refused, Err(AppError::InvalidArgument(v)) if v[0].field == "institution")
        );
    }
}
