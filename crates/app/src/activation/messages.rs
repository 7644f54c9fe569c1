//! The codes and links a flow sends to verify an identity or an address,
//! checking what the person types back, and sending them again.

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::activation::{self, Step, mask_mail, mask_phone};
use domain::institution::CodeChannel;
use domain::language::Language;
use domain::problem::Problem;
use domain::refusal::Precondition;
use domain::secret::{SecretKind, generate, hash_secret};
use store::activation::{FlowWrites, LoadedFlow};
use store::outbox::{Channel, NewMessage};
use store::secrets::{NewSecret, Purpose};

use super::{FlowView, Journey, verification_purpose};
use crate::error::{AppError, Exhausted, internal};
use crate::limits::Counters;
use crate::links::DeliveryNotice;
use crate::sms_codes::{SmsCode, SmsCodeFor};
use crate::texts::mail::{self as mail_texts, VerificationMail, Verifying};
use crate::{App, CallContext};

/// An address a screen gave, to verify for `step`.
#[derive(Debug, Clone, Copy)]
pub(super) struct AddressToVerify<'a> {
    pub step: Step,
    pub address: &'a str,
}

/// A message on its way with the secrets it carries, and what the person
/// is told of it.
pub(super) struct Outgoing {
    pub writes: FlowWrites,
    pub notice: DeliveryNotice,
}

impl App {
    /// A verification link and code for an address, the mail that carries
    /// them, and the notice the person sees.
    pub(super) fn verification_writes(
        &self,
        account: &Account,
        journey: &Journey<'_>,
        to_verify: AddressToVerify<'_>,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, AppError> {
        let AddressToVerify { step, address } = to_verify;
        if step == Step::MobilePhoneVerification {
            return self.phone_code_writes((account, journey), address, language, now);
        }
        let purpose = verification_purpose(step)
            .ok_or_else(|| AppError::inconsistent("not a verification step"))?;
        let link = generate(SecretKind::Token, &mut rand::rngs::SysRng).map_err(internal)?;
        let code = generate(SecretKind::Code, &mut rand::rngs::SysRng).map_err(internal)?;
        let institution = journey.institution;
        let expires_at = journey
            .profile
            .activation
            .recovery_mail
            .link_lifetime
            .expires_at(now, institution.time_zone);
        let secret = |hash: String| NewSecret {
            account_id: account.id.clone(),
            purpose,
            hash,
            target: Some(address.to_owned()),
            flow_id: None,
            not_before: None,
            expires_at: Some(expires_at),
        };
        let url = institution.portal_link("activation/verify", &link);
        let mail = VerificationMail {
            institution: &institution.name,
            after_activation: false,
            login: &account.login,
            what: if step == Step::RecoveryMailVerification {
                Verifying::RecoveryMail
            } else {
                Verifying::Redirect
            },
            url: &url,
            code: code.expose(),
            expires_at,
            tz: institution.time_zone,
        };
        let message = NewMessage {
            account_id: Some(account.id.clone()),
            channel: Channel::Mail,
            recipient: address.to_owned(),
            template: purpose.as_str().to_owned(),
            content: mail_texts::verification(&mail, language),
            not_before: now,
        };
        let writes = FlowWrites {
            secrets: vec![
                secret(hash_secret(SecretKind::Token, link.expose())),
                secret(code.hash(SecretKind::Code, &*self.store.secret_keys()?)),
            ],
            messages: vec![message],
            ..FlowWrites::default()
        };
        let notice = DeliveryNotice {
            also_sent_to: Vec::new(),
            masked_destination: mask_mail(address),
            check_spam_folder: true,
            helpdesk_url: institution.helpdesk_url.clone(),
            expires_at: Some(expires_at),
        };
        Ok(Outgoing { writes, notice })
    }

    /// The code sent by SMS to the mobile phone the person gave, to be
    /// typed back.
    fn phone_code_writes(
        &self,
        (account, journey): (&Account, &Journey<'_>),
        phone: &str,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, AppError> {
        let to = SmsCodeFor {
            account,
            institution: journey.institution,
            phone,
            purpose: Purpose::PhoneVerification,
            lifetime: journey.profile.activation.code_lifetime,
        };
        let SmsCode {
            secret,
            message,
            notice,
        } = self.sms_code(to, language, now)?;
        let writes = FlowWrites {
            secrets: vec![secret],
            messages: vec![message],
            ..FlowWrites::default()
        };
        Ok(Outgoing { writes, notice })
    }

    /// The code sent by SMS (and mail, when the account has a personal
    /// address) after an identity match.
    /// Refuses a new identity code while the account's last one is younger
    /// than the cooldown, whichever flow it went to: starting again at once
    /// (a double click, a second tab) sends no second SMS.
    pub(super) async fn identity_code_cooldown(
        &self,
        account: &Account,
        journey: &Journey<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let last = self
            .store
            .last_account_secret(&account.id, Purpose::IdentityCode)
            .await?;
        resend_cooldown(journey, last.map(|s| s.created_at), now)
    }

    /// The code after the entry, sent to `channels` (all the profile's,
    /// or the one the person chose).
    pub(super) fn identity_code_writes(
        &self,
        (account, journey): (&Account, &Journey<'_>),
        channels: &[CodeChannel],
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, AppError> {
        let to = CodeDestinations::of(account, channels)?;
        let code = generate(SecretKind::Code, &mut rand::rngs::SysRng).map_err(internal)?;
        let lifetime = chrono::Duration::from_std(journey.profile.activation.code_lifetime)
            .map_err(internal)?;
        let expires_at = now + lifetime;
        let (name, tz) = (&journey.institution.name, journey.institution.time_zone);
        let messages = to
            .recipients()
            .into_iter()
            .filter_map(|(channel, recipient)| {
                let sms = channel == Channel::Sms;
                Some(NewMessage {
                    account_id: Some(account.id.clone()),
                    channel,
                    recipient: recipient?.to_owned(),
                    template: "identity_code".into(),
                    content: mail_texts::identity_code(
                        name,
                        code.expose(),
                        expires_at,
                        tz,
                        language,
                        sms,
                    ),
                    not_before: now,
                })
            })
            .collect();
        let (masked_destination, also_sent_to) = to.masked();
        let notice = DeliveryNotice {
            also_sent_to,
            masked_destination,
            check_spam_folder: to.mail.is_some(),
            helpdesk_url: journey.institution.helpdesk_url.clone(),
            expires_at: Some(expires_at),
        };
        let secret = NewSecret {
            account_id: account.id.clone(),
            purpose: Purpose::IdentityCode,
            hash: code.hash(SecretKind::Code, &*self.store.secret_keys()?),
            target: Some(to.target().to_owned()),
            flow_id: None,
            not_before: None,
            expires_at: Some(expires_at),
        };
        let writes = FlowWrites {
            secrets: vec![secret],
            messages,
            ..FlowWrites::default()
        };
        Ok(Outgoing { writes, notice })
    }

    /// Checks the code (or a mailed link's token) the flow waits for.
    /// Codes are guessed per account: a new flow or a resent code does not
    /// start the count again.
    pub async fn verify_activation_code(
        &self,
        flow_token: &str,
        code: &str,
        ctx: &CallContext,
    ) -> Result<FlowView, AppError> {
        let now = self.now();
        let code = code.trim();
        if code.is_empty() || code.len() > 128 {
            return Err(AppError::field("code", Problem::Missing));
        }
        let loaded = self.load_flow(flow_token, now).await?;
        let counters = Counters::guesses(self, ctx, Some(&[loaded.account.id.as_str()]));
        self.limited(counters, now, self.check_code(&loaded, code, ctx, now))
            .await
    }

    async fn check_code(
        &self,
        loaded: &LoadedFlow,
        code: &str,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<FlowView, AppError> {
        let journey = self.journey(&loaded.account)?;
        let plan = journey.plan(&loaded.state);
        let pending = loaded.state.pending_verification(&plan);
        let Some(step) = pending.filter(|s| *s != Step::VerifyIdentity) else {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::NothingToVerify,
                subject: "code".into(),
                message: "this flow is not waiting for a code".into(),
            });
        };
        let purpose = verification_purpose(step)
            .ok_or_else(|| AppError::inconsistent("verification without purpose"))?;
        let secrets = self
            .store
            .flow_secrets(&loaded.flow.id, &[purpose], now)
            .await?;
        if secrets.is_empty() {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::CodeExpired,
                subject: "code".into(),
                message: "the code has expired or was invalidated: ask for a new one".into(),
            });
        }
        // A mailed link's token works as the code: the browser that opened
        // the link submits it (following a link never spends it).
        let keys = self.store.secret_keys()?;
        let matched = secrets
            .iter()
            .find(|s| {
                keys.matches(SecretKind::Code, code, &s.secret_hash)
                    | keys.matches(SecretKind::Token, code, &s.secret_hash)
            })
            .map(|s| s.target.clone().unwrap_or_default());
        let ids: Vec<String> = secrets.into_iter().map(|s| s.id).collect();
        let Some(target) = matched else {
            let max_attempts = journey.profile.activation.max_attempts;
            if self.store.secrets_failed(&ids, max_attempts, now).await? {
                return Err(AppError::FailedPrecondition {
                    kind: Precondition::TooManyAttempts,
                    subject: "code".into(),
                    message: "too many wrong codes: this code no longer works; ask for a new one"
                        .into(),
                });
            }
            return Err(AppError::field("code", Problem::WrongCode));
        };
        let mut state = loaded.state.clone();
        activation::verified(&mut state, step, now);
        if step == Step::VerifyCode {
            state.mobile_phone_verified = proven_phone(&loaded.account, &journey, &target)
                .map(|phone| (phone.to_owned(), now));
        }
        let writes = FlowWrites {
            spend: ids,
            audit: Some((
                "activation.verified",
                serde_json::json!({ "step": step.field() }),
            )),
            ..FlowWrites::default()
        };
        self.store
            .save_flow(loaded, &state, writes, ctx, now)
            .await?;
        self.flow_view(loaded, &state, None, ctx.language, now)
            .await
    }

    /// Sends the message the flow waits for again (a new code or link; the
    /// old ones stop working), once the cooldown has passed — or for the
    /// first time, to the destination the person chose. `asked` is the
    /// verification the caller believes pending, and that destination.
    pub async fn resend_activation_message(
        &self,
        flow_token: &str,
        asked: (Option<Step>, Option<CodeChannel>),
        ctx: &CallContext,
    ) -> Result<DeliveryNotice, AppError> {
        let (step, chosen) = asked;
        let now = self.now();
        let loaded = self.load_flow(flow_token, now).await?;
        let journey = self.journey(&loaded.account)?;
        let plan = journey.plan(&loaded.state);
        let pending = loaded.state.pending_verification(&plan);
        let (Some(step), true) = (pending, pending == step) else {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::NothingToResend,
                subject: "kind".into(),
                message: "the flow is not waiting for this message".into(),
            });
        };
        let purpose = verification_purpose(step)
            .ok_or_else(|| AppError::inconsistent("verification without purpose"))?;
        let last = self
            .store
            .last_flow_secret(&loaded.flow.id, purpose)
            .await?;
        resend_cooldown(&journey, last.map(|s| s.created_at), now)?;
        let Outgoing { mut writes, notice } =
            self.resent_writes(&loaded, &journey, (step, chosen), ctx.language, now)?;
        writes.revoke.push(purpose);
        writes.audit = Some((
            "activation.message_resent",
            serde_json::json!({ "step": step.field() }),
        ));
        // The state itself does not change; its version does, so a
        // concurrent resend loses the race instead of sending twice.
        let mut state = loaded.state.clone();
        state.version += 1;
        self.store
            .save_flow(&loaded, &state, writes, ctx, now)
            .await?;
        Ok(notice)
    }

    /// The new code or link for a pending verification.
    fn resent_writes(
        &self,
        loaded: &LoadedFlow,
        journey: &Journey<'_>,
        (step, chosen): (Step, Option<CodeChannel>),
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<Outgoing, AppError> {
        let address = match step {
            Step::VerifyCode => {
                let channels = code_channels_for(&loaded.account, journey, chosen)?;
                let account = (&loaded.account, journey);
                return self.identity_code_writes(account, &channels, language, now);
            }
            Step::RecoveryMailVerification => loaded.state.recovery_mail.as_deref(),
            Step::MobilePhoneVerification => loaded.state.recovery_phone.as_deref(),
            _ => loaded
                .state
                .redirect
                .as_ref()
                .and_then(|r| r.address.as_deref()),
        }
        .ok_or_else(|| AppError::inconsistent("no address to verify"))?;
        let to_verify = AddressToVerify { step, address };
        self.verification_writes(&loaded.account, journey, to_verify, language, now)
    }
}

/// RESOURCE_EXHAUSTED with the wait while a message sent at `last` is
/// younger than the journey's resend cooldown.
fn resend_cooldown(
    journey: &Journey<'_>,
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let cooldown =
        chrono::Duration::from_std(journey.profile.activation.resend_cooldown).unwrap_or_default();
    match last {
        Some(last) if last + cooldown > now => Err(AppError::ResourceExhausted {
            reason: Exhausted::ResendTooSoon,
            retry_after: (last + cooldown - now).to_std().unwrap_or_default(),
        }),
        _ => Ok(()),
    }
}

/// The phone an entry's code proves once typed: the one on record, when
/// the code went to it alone — the person chose it, or it is the only
/// destination (a code also mailed proves neither).
fn proven_phone<'a>(account: &'a Account, journey: &Journey<'_>, sent_to: &str) -> Option<&'a str> {
    let activation = &journey.profile.activation;
    let to = CodeDestinations::of(account, &activation.code_channels()).ok()?;
    let alone = activation.code_choice || to.mail.is_none();
    to.phone.filter(|phone| alone && *phone == sent_to)
}

/// The personal address an entry's code went to besides the phone: the
/// profile sends it to both (no choice) and the record has both.
pub(super) fn code_also_mailed<'a>(account: &'a Account, journey: &Journey<'_>) -> Option<&'a str> {
    let activation = &journey.profile.activation;
    let to = CodeDestinations::of(account, &activation.code_channels()).ok()?;
    to.phone.and(to.mail).filter(|_| !activation.code_choice)
}

/// Where the person may have an entry's code sent, masked, when the
/// profile lets them choose and the record holds several destinations;
/// empty otherwise.
pub(super) fn code_choices(account: &Account, journey: &Journey<'_>) -> Vec<(CodeChannel, String)> {
    let activation = &journey.profile.activation;
    if !activation.code_choice {
        return Vec::new();
    }
    let Ok(to) = CodeDestinations::of(account, &activation.code_channels()) else {
        return Vec::new();
    };
    match (to.phone, to.mail) {
        (Some(phone), Some(mail)) => vec![
            (CodeChannel::Sms, mask_phone(phone)),
            (CodeChannel::Mail, mask_mail(mail)),
        ],
        _ => Vec::new(),
    }
}

/// Where a code asked for goes: the destination the person chose among
/// the flow's choices, or everywhere the profile sends it.
fn code_channels_for(
    account: &Account,
    journey: &Journey<'_>,
    chosen: Option<CodeChannel>,
) -> Result<Vec<CodeChannel>, AppError> {
    let choices = code_choices(account, journey);
    match chosen {
        Some(channel) if choices.iter().any(|(c, _)| *c == channel) => Ok(vec![channel]),
        Some(_) => Err(AppError::field("channel", Problem::ChannelNotOffered)),
        None if !choices.is_empty() => Err(AppError::field("channel", Problem::Missing)),
        None => Ok(journey.profile.activation.code_channels()),
    }
}

/// Where an entry's code goes: the phone and the personal address on
/// record that the profile's `code_to` names (at least one).
struct CodeDestinations<'a> {
    phone: Option<&'a str>,
    mail: Option<&'a str>,
}

impl<'a> CodeDestinations<'a> {
    fn of(account: &'a Account, channels: &[CodeChannel]) -> Result<Self, AppError> {
        let named = |channel| channels.contains(&channel);
        let to = CodeDestinations {
            phone: account
                .mobile_phone
                .as_deref()
                .filter(|_| named(CodeChannel::Sms)),
            mail: account
                .personal_mail
                .as_deref()
                .filter(|_| named(CodeChannel::Mail)),
        };
        if to.phone.is_none() && to.mail.is_none() {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::NoPhone,
                subject: "account".into(),
                message: "no mobile phone or personal mail is recorded for this account: contact the helpdesk"
                    .into(),
            });
        }
        Ok(to)
    }

    /// The code's secret names the phone, else the address.
    fn target(&self) -> &'a str {
        self.phone.or(self.mail).unwrap_or_default()
    }

    fn recipients(&self) -> [(Channel, Option<&'a str>); 2] {
        [(Channel::Sms, self.phone), (Channel::Mail, self.mail)]
    }

    /// As the notice shows them: the first destination masked, and the
    /// address that has the code too.
    fn masked(&self) -> (String, Vec<String>) {
        match self.phone {
            Some(phone) => (
                mask_phone(phone),
                self.mail.iter().map(|m| mask_mail(m)).collect(),
            ),
            None => (mask_mail(self.target()), Vec::new()),
        }
    }
}
