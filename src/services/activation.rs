//! ActivationService: the first-login journey. Entry (key, provisional
//! password, mailed link, identity match + code), then the configured
//! screens; the account becomes active at completion, in one transaction.
//! The rules are in `domain::activation`; this file decodes, calls them,
//! persists through `store::activation` and encodes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tonic::{Request, Response, Status};

use super::CallContext;
use super::encode::timestamp;
use super::encode::violation_code;
use super::{App, account_lookup, begin_call, reply};
use crate::app::error::{AppError, Exhausted, internal};
use crate::app::limits::Counters;
use crate::app::password_usable;
use crate::app::passwords::{read_password, rejected};
use crate::app::texts::mail::{self as mail_texts, VerificationMail, Verifying};
use crate::config::{ActivationChannel, InstitutionSettings, ProfileSettings};
use crate::domain::account::AccountStatus;
use crate::domain::activation::{
    self, FlowError, FlowState, RedirectInput, ScreenRules, Step, Submission, mask_mail, mask_phone,
};
use crate::domain::ids::{Ine, MailAddress, PhoneE164, StudentNumber};
use crate::domain::language::Language;
use crate::domain::password::policy::DictionaryMode;
use crate::domain::password::{self, Evaluation, PasswordPolicy, Strength, Violation};
use crate::domain::refusal::Precondition;
use crate::domain::secret::{SecretKind, generate, hash_secret, matches};
use crate::proto;
use crate::proto::activation_service_server::ActivationService;
use crate::proto::evaluate_password_request::Context;
use crate::proto::start_activation_request::Entry;
use crate::store::AuditContext;
use crate::store::accounts::AccountLookup;
use crate::store::activation::{
    Completion, FlowWrites, LoadedFlow, NewSecret, Purpose, activation_link,
};
use crate::store::entities::account;
use crate::store::outbox::{Channel, NewMessage};

pub struct ActivationApi {
    state: App,
}

impl ActivationApi {
    pub fn new(state: App) -> Self {
        Self { state }
    }
}

/// What a flow token holder may not learn: one answer for an unknown,
/// expired or completed-elsewhere flow.
fn flow_gone() -> AppError {
    AppError::NotFound("unknown or expired activation flow: start again".into())
}

/// One answer for a wrong secret or a wrong identity, whichever part was
/// wrong.
fn entry_refused(field: &str) -> AppError {
    AppError::field(
        field,
        "these details do not match our records: check them and try again",
    )
}

fn link_gone() -> AppError {
    AppError::FailedPrecondition {
        kind: Precondition::LinkExpired,
        subject: "token".into(),
        message: "this link has expired or was already used: start again".into(),
    }
}

fn verification_purpose(step: Step) -> Option<Purpose> {
    match step {
        Step::VerifyCode => Some(Purpose::IdentityCode),
        Step::RecoveryMailVerification => Some(Purpose::RecoveryMailVerification),
        Step::MailRedirectVerification => Some(Purpose::RedirectVerification),
        _ => None,
    }
}

fn message_kind(step: Step) -> proto::ActivationMessageKind {
    match step {
        Step::VerifyCode => proto::ActivationMessageKind::IdentityCode,
        Step::RecoveryMailVerification => proto::ActivationMessageKind::RecoveryMailVerification,
        Step::MailRedirectVerification => proto::ActivationMessageKind::MailRedirectVerification,
        _ => proto::ActivationMessageKind::Unspecified,
    }
}

fn step_code(step: Step) -> proto::ActivationStep {
    use proto::ActivationStep as P;
    match step {
        Step::VerifySecret => P::VerifySecret,
        Step::VerifyCode => P::VerifyCode,
        Step::RecoveryMail => P::RecoveryMail,
        Step::RecoveryMailVerification => P::RecoveryMailVerification,
        Step::Charter => P::Charter,
        Step::DirectoryListing => P::DirectoryListing,
        Step::PhotoUse => P::PhotoUse,
        Step::CrousSharing => P::CrousSharing,
        Step::MailRedirect => P::MailRedirect,
        Step::MailRedirectVerification => P::MailRedirectVerification,
        Step::Password => P::Password,
    }
}

fn password_rules(policy: &PasswordPolicy, language: Language) -> proto::PasswordRules {
    proto::PasswordRules {
        min_length: policy.min_length as u32,
        recommended_length: policy.recommended_length as u32,
        max_length: policy.max_length as u32,
        required_classes: policy
            .required_classes
            .iter()
            .map(|c| c.name().to_owned())
            .collect(),
        min_non_alphabetic: policy.min_non_alphabetic as u32,
        forbidden_characters: policy.forbidden_characters.clone(),
        no_accented_characters: policy.no_accented_characters,
        no_dictionary_words: policy.dictionary.mode != DictionaryMode::Off,
        no_personal_data: policy.no_personal_data,
        history_count: policy.history_count as u32,
        max_age_days: policy.max_age.map_or(0, |d| (d.as_secs() / 86_400) as u32),
        descriptions: crate::app::texts::password_rules(language, policy),
    }
}

fn encode_evaluation(
    evaluation: &Evaluation,
    language: Language,
) -> proto::EvaluatePasswordResponse {
    proto::EvaluatePasswordResponse {
        strength: match evaluation.strength {
            Strength::Weak => proto::PasswordStrength::Weak,
            Strength::Medium => proto::PasswordStrength::Medium,
            Strength::Strong => proto::PasswordStrength::Strong,
        } as i32,
        score: u32::from(evaluation.score),
        acceptable: evaluation.acceptable(),
        violations: evaluation
            .violations
            .iter()
            .map(|v| proto::PasswordViolation {
                code: violation_code(v) as i32,
                params: v
                    .params()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                message: crate::app::texts::password_violation(language, v),
            })
            .collect(),
    }
}

/// The institution and profile of an account.
struct Rules<'a> {
    institution: &'a InstitutionSettings,
    profile: &'a ProfileSettings,
}

impl Rules<'_> {
    /// The journey of a flow: the profile's, or the institution's
    /// reactivation screens after a mailed key.
    fn plan(&self, state: &FlowState) -> Vec<Vec<Step>> {
        if state.reactivation {
            activation::plan(
                false,
                &self.institution.recovery.reactivation_screens,
                &activation::RecoveryMailRule::default(),
            )
        } else {
            self.profile.activation.plan()
        }
    }
}

impl ActivationApi {
    fn rules(&self, account: &account::Model) -> Result<Rules<'_>, AppError> {
        let institution = self
            .state
            .rules
            .institution(&account.institution)
            .ok_or_else(|| AppError::inconsistent("institution no longer configured"))?;
        let profile = self.state.profile_of(account)?;
        Ok(Rules {
            institution,
            profile,
        })
    }

    async fn load(&self, token: &str, now: DateTime<Utc>) -> Result<LoadedFlow, AppError> {
        if token.is_empty() || token.len() > 128 {
            return Err(AppError::field("flow_token", "a flow token is needed"));
        }
        let loaded = self
            .state
            .store
            .find_flow(&hash_secret(SecretKind::Token, token), now)
            .await?
            .ok_or_else(flow_gone)?;
        Ok(loaded)
    }

    /// The flow as the portal shows it.
    async fn encode_flow(
        &self,
        loaded: &LoadedFlow,
        state: &FlowState,
        completed_account: Option<&account::Model>,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<proto::ActivationFlow, AppError> {
        let account = completed_account.unwrap_or(&loaded.account);
        let rules = self.rules(account)?;
        let plan = rules.plan(state);
        let current = state.current_screen(&plan);
        let pending_verification = match state.pending_verification(&plan) {
            Some(step) => self.pending(loaded, step, &rules, now).await?,
            None => None,
        };
        let policy = self.state.policy_of(account)?;
        let completion = match (
            current,
            completed_account.or(loaded.flow.completed_at.map(|_| account)),
        ) {
            (None, Some(account)) => Some(self.completion(account, &rules, language)),
            _ => None,
        };
        Ok(proto::ActivationFlow {
            flow_id: loaded.flow.id.clone(),
            institution: account.institution.clone(),
            profile: account.profile.clone(),
            login: account.login.clone(),
            screens: plan
                .iter()
                .map(|screen| proto::ActivationScreen {
                    steps: screen.iter().map(|s| step_code(*s) as i32).collect(),
                    done: screen.iter().all(|s| state.done.contains(s)),
                })
                .collect(),
            current_screen: current.unwrap_or(plan.len()) as u32,
            pending_verification,
            password_rules: Some(password_rules(&policy, language)),
            charter: rules
                .institution
                .charter
                .as_ref()
                .map(|c| proto::CharterInfo {
                    version: c.version.clone(),
                    url: c.url.clone(),
                }),
            mail_redirect_mandatory: rules.profile.activation.mail_redirect
                == activation::RedirectRule::Mandatory,
            mail_redirect_default_address: state.recovery_mail.clone().unwrap_or_default(),
            expires_at: Some(timestamp(loaded.flow.expires_at)),
            completion,
            choices: choices(&plan, rules.institution, language),
        })
    }

    async fn pending(
        &self,
        loaded: &LoadedFlow,
        step: Step,
        rules: &Rules<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<proto::PendingVerification>, AppError> {
        let Some(purpose) = verification_purpose(step) else {
            return Ok(None);
        };
        let secrets = self
            .state
            .store
            .flow_secrets(&loaded.flow.id, &[purpose], now)
            .await?;
        let notice = secrets.first().map(|s| {
            let target = s.target.clone().unwrap_or_default();
            proto::DeliveryNotice {
                masked_destination: if target.starts_with('+') {
                    mask_phone(&target)
                } else {
                    mask_mail(&target)
                },
                check_spam_folder: true,
                helpdesk_url: rules.institution.helpdesk_url.clone(),
                expires_at: s.expires_at.map(timestamp),
            }
        });
        Ok(Some(proto::PendingVerification {
            kind: message_kind(step) as i32,
            notice,
        }))
    }

    fn completion(
        &self,
        account: &account::Model,
        rules: &Rules<'_>,
        language: Language,
    ) -> proto::ActivationCompletion {
        let next = rules.profile.activation.next.as_ref();
        proto::ActivationCompletion {
            login: account.login.clone(),
            institutional_mail: account.institutional_mail.clone().unwrap_or_default(),
            mail_redirect: account
                .redirect_address
                .as_ref()
                .map(|address| proto::MailRedirect {
                    enabled: true,
                    address: address.clone(),
                    keep_copy: account.redirect_keep_copy,
                    verified: account.redirect_verified_at.is_some(),
                    mandatory: rules.profile.activation.mail_redirect
                        == activation::RedirectRule::Mandatory,
                }),
            next_url: next
                .map(|n| n.url.clone())
                .unwrap_or_else(|| rules.institution.portal_url.clone()),
            next_label: next
                .map(|n| language.pick(&n.label_fr, &n.label_en).to_owned())
                .unwrap_or_else(|| {
                    language
                        .pick("Se connecter à l'ENT", "Sign in to the portal")
                        .to_owned()
                }),
            activated_at: account.activated_at.map(timestamp),
        }
    }

    /// A verification link and code for `address`, their messages, and the
    /// notice the user sees.
    fn verification_writes(
        &self,
        account: &account::Model,
        rules: &Rules<'_>,
        step: Step,
        address: &str,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<(Vec<NewSecret>, NewMessage, proto::DeliveryNotice), AppError> {
        let purpose = verification_purpose(step)
            .ok_or_else(|| AppError::inconsistent("not a verification step"))?;
        let link = generate(SecretKind::Token, &mut rand::rngs::SysRng).map_err(internal)?;
        let code = generate(SecretKind::Code, &mut rand::rngs::SysRng).map_err(internal)?;
        let expires_at = rules
            .profile
            .activation
            .recovery_mail
            .link_lifetime
            .expires_at(now, rules.institution.time_zone);
        let secret = |hash: String| NewSecret {
            account_id: account.id.clone(),
            purpose,
            hash,
            target: Some(address.to_owned()),
            flow_id: None,
            not_before: None,
            expires_at: Some(expires_at),
        };
        let url = rules.institution.portal_link("activation/verify", &link);
        let content = mail_texts::verification(
            &VerificationMail {
                institution: &rules.institution.name,
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
                tz: rules.institution.time_zone,
            },
            language,
        );
        let message = NewMessage {
            account_id: Some(account.id.clone()),
            channel: Channel::Mail,
            recipient: address.to_owned(),
            template: purpose.as_str().to_owned(),
            content,
            not_before: now,
        };
        let notice = proto::DeliveryNotice {
            masked_destination: mask_mail(address),
            check_spam_folder: true,
            helpdesk_url: rules.institution.helpdesk_url.clone(),
            expires_at: Some(timestamp(expires_at)),
        };
        Ok((
            vec![
                secret(link.hash(SecretKind::Token)),
                secret(code.hash(SecretKind::Code)),
            ],
            message,
            notice,
        ))
    }

    /// The code sent by SMS (and mail, when the account has a personal
    /// address) after an identity match.
    fn identity_code_writes(
        &self,
        account: &account::Model,
        rules: &Rules<'_>,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<(FlowWrites, proto::DeliveryNotice), AppError> {
        let phone = account
            .mobile_phone
            .clone()
            .ok_or_else(|| AppError::FailedPrecondition {
                kind: Precondition::NoPhone,
                subject: "account".into(),
                message: "no mobile phone is recorded for this account: contact the helpdesk"
                    .into(),
            })?;
        let code = generate(SecretKind::Code, &mut rand::rngs::SysRng).map_err(internal)?;
        let lifetime = chrono::Duration::from_std(rules.profile.activation.code_lifetime)
            .map_err(|e| AppError::Internal(e.into()))?;
        let expires_at = now + lifetime;
        let tz = rules.institution.time_zone;
        let name = &rules.institution.name;
        let mut messages = vec![NewMessage {
            account_id: Some(account.id.clone()),
            channel: Channel::Sms,
            recipient: phone.clone(),
            template: "identity_code".into(),
            content: mail_texts::identity_code(name, code.expose(), expires_at, tz, language, true),
            not_before: now,
        }];
        if let Some(mail) = &account.personal_mail {
            messages.push(NewMessage {
                account_id: Some(account.id.clone()),
                channel: Channel::Mail,
                recipient: mail.clone(),
                template: "identity_code".into(),
                content: mail_texts::identity_code(
                    name,
                    code.expose(),
                    expires_at,
                    tz,
                    language,
                    false,
                ),
                not_before: now,
            });
        }
        let notice = proto::DeliveryNotice {
            masked_destination: mask_phone(&phone),
            check_spam_folder: true,
            helpdesk_url: rules.institution.helpdesk_url.clone(),
            expires_at: Some(timestamp(expires_at)),
        };
        Ok((
            FlowWrites {
                secrets: vec![NewSecret {
                    account_id: account.id.clone(),
                    purpose: Purpose::IdentityCode,
                    hash: code.hash(SecretKind::Code),
                    target: Some(phone),
                    flow_id: None,
                    not_before: None,
                    expires_at: Some(expires_at),
                }],
                messages,
                ..FlowWrites::default()
            },
            notice,
        ))
    }

    /// Checks a printed secret (key or provisional password) against the
    /// account's, counting a wrong one.
    async fn check_printed(
        &self,
        account: &account::Model,
        rules: &Rules<'_>,
        purpose: Purpose,
        typed: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let (kind, field) = match purpose {
            Purpose::ActivationKey | Purpose::ReactivationKey => (SecretKind::ActivationKey, "key"),
            _ => (SecretKind::ProvisionalPassword, "provisional_password"),
        };
        let secret = self
            .state
            .store
            .live_secret(&account.id, purpose, now)
            .await?;
        let Some(secret) = secret else {
            // Same work and answer as a wrong secret.
            let _ = matches(kind, typed, &"0".repeat(64));
            return Err(entry_refused(field));
        };
        if matches(kind, typed, &secret.secret_hash) {
            return Ok(());
        }
        let invalidated = self
            .state
            .store
            .secrets_failed(
                std::slice::from_ref(&secret.id),
                rules.profile.activation.max_attempts,
                now,
            )
            .await?;
        if invalidated {
            tracing::warn!(account_id = %account.id, "activation secret invalidated after too many attempts");
            return Err(AppError::FailedPrecondition {
                kind: Precondition::TooManyAttempts,
                subject: field.to_owned(),
                message: "too many wrong attempts: this secret no longer works; ask for a new one"
                    .into(),
            });
        }
        Err(entry_refused(field))
    }

    /// Refuses an account that cannot start activation (yet).
    fn check_can_start(
        &self,
        account: &account::Model,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        match AccountStatus::parse(&account.status) {
            Some(status) if status.awaits_activation() && account.activated_at.is_none() => {}
            Some(AccountStatus::Active | AccountStatus::Grace) => {
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
            let opens = account.activation_available_at;
            return Err(AppError::FailedPrecondition {
                kind: Precondition::ActivationNotOpen,
                subject: opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                message: format!(
                    "activation opens at {}",
                    opens.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            });
        }
        Ok(())
    }

    async fn start(
        &self,
        body: proto::StartActivationRequest,
        ctx: &CallContext,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<proto::StartActivationResponse, AppError> {
        let institution_code = body.institution.trim().to_owned();
        let entry = body
            .entry
            .ok_or_else(|| AppError::field("entry", "give the entry the institution uses"))?;
        let institution = match &entry {
            Entry::Link(_) => None,
            _ => Some(
                self.state
                    .rules
                    .institution(&institution_code)
                    .ok_or_else(|| AppError::field("institution", "no such institution"))?,
            ),
        };
        let lookup_login = |login: &str, field: &str| -> Result<(), AppError> {
            if login.trim().is_empty() || login.len() > 254 {
                return Err(AppError::field(field, "must be 1 to 254 characters"));
            }
            Ok(())
        };
        let (account, mut state) = match &entry {
            Entry::Key(k) => {
                lookup_login(&k.login, "key.login")?;
                if k.activation_key.is_empty() || k.activation_key.len() > 64 {
                    return Err(AppError::field(
                        "key.activation_key",
                        "must be 1 to 64 characters",
                    ));
                }
                let account = self
                    .find(AccountLookup::Login {
                        institution: &institution_code,
                        login: &k.login,
                    })
                    .await?;
                // An active account whose institution mails new keys for
                // forgotten passwords goes through reactivation.
                let reactivating = account.as_ref().is_some_and(|a| {
                    password_usable(a)
                        && institution.is_some_and(|i| {
                            i.recovery.method == crate::domain::recovery::ResetMethod::ActivationKey
                        })
                });
                let (account, purpose) = if reactivating {
                    let account = account.ok_or_else(|| entry_refused("key"))?;
                    (account, Purpose::ReactivationKey)
                } else {
                    (
                        self.expect_channel(account, ActivationChannel::ActivationKey, "key")?,
                        Purpose::ActivationKey,
                    )
                };
                let rules = self.rules(&account)?;
                self.check_printed(&account, &rules, purpose, &k.activation_key, now)
                    .await?;
                let state = FlowState {
                    reactivation: reactivating,
                    ..FlowState::default()
                };
                (account, state)
            }
            Entry::ProvisionalPassword(p) => {
                lookup_login(&p.login, "provisional_password.login")?;
                if p.provisional_password.is_empty() || p.provisional_password.len() > 64 {
                    return Err(AppError::field(
                        "provisional_password.provisional_password",
                        "must be 1 to 64 characters",
                    ));
                }
                let account = self
                    .find(AccountLookup::Login {
                        institution: &institution_code,
                        login: &p.login,
                    })
                    .await?;
                let account = self.expect_channel(
                    account,
                    ActivationChannel::ProvisionalPassword,
                    "provisional_password",
                )?;
                let rules = self.rules(&account)?;
                self.check_printed(
                    &account,
                    &rules,
                    Purpose::ProvisionalPassword,
                    &p.provisional_password,
                    now,
                )
                .await?;
                (account, FlowState::default())
            }
            Entry::Link(l) => {
                if l.token.is_empty() || l.token.len() > 128 {
                    return Err(AppError::field("link.token", "a link token is needed"));
                }
                let secret = self
                    .state
                    .store
                    .secret_by_hash(
                        &hash_secret(SecretKind::Token, &l.token),
                        Purpose::ActivationLink,
                        now,
                    )
                    .await?
                    .ok_or_else(link_gone)?;
                let account = self
                    .state
                    .account(AccountLookup::Id(&secret.account_id))
                    .await?;
                // Following the link proved the personal address: it becomes
                // the verified recovery address unless the user changes it.
                let state = FlowState {
                    recovery_mail: secret.target.clone(),
                    recovery_mail_verified_at: secret.target.as_ref().map(|_| now),
                    ..FlowState::default()
                };
                (account, state)
            }
            Entry::IdentityMatch(m) => {
                let institution =
                    institution.ok_or_else(|| AppError::inconsistent("no institution"))?;
                let number =
                    StudentNumber::parse(&m.student_number, institution.student_number_length)
                        .map_err(|e| AppError::field("identity_match.student_number", e.0))?;
                let ine =
                    Ine::parse(&m.ine).map_err(|e| AppError::field("identity_match.ine", e.0))?;
                let phone = PhoneE164::parse(&m.mobile_phone, &institution.phone_region)
                    .map_err(|e| AppError::field("identity_match.mobile_phone", e.0))?;
                let account = self
                    .find(AccountLookup::StudentNumber {
                        institution: &institution_code,
                        number: number.as_str(),
                    })
                    .await?;
                let consistent = account.as_ref().is_some_and(|a| {
                    a.ine.as_deref() == Some(ine.as_str())
                        && a.mobile_phone.as_deref() == Some(phone.as_str())
                });
                let account = match account {
                    Some(a) if consistent => a,
                    _ => return Err(entry_refused("identity_match")),
                };
                let account = self.expect_channel(
                    Some(account),
                    ActivationChannel::IdentityMatch,
                    "identity_match",
                )?;
                (account, FlowState::default())
            }
        };
        if !state.reactivation {
            self.check_can_start(&account, now)?;
        }
        let rules = self.rules(&account)?;
        let mut writes = FlowWrites::default();
        if matches!(entry, Entry::IdentityMatch(_)) {
            let (code_writes, _) = self.identity_code_writes(&account, &rules, language, now)?;
            writes = code_writes;
        }
        state.done.insert(Step::VerifySecret);
        let token = generate(SecretKind::Token, &mut rand::rngs::SysRng).map_err(internal)?;
        let lifetime = chrono::Duration::from_std(rules.profile.activation.flow_lifetime)
            .map_err(|e| AppError::Internal(e.into()))?;
        let flow = self
            .state
            .store
            .start_flow(
                &account,
                &token.hash(SecretKind::Token),
                &state,
                now + lifetime,
                writes,
                ctx,
                now,
            )
            .await?;
        let loaded = LoadedFlow {
            state: state.clone(),
            flow,
            account,
        };
        let flow = self
            .encode_flow(&loaded, &state, None, language, now)
            .await?;
        Ok(proto::StartActivationResponse {
            flow_token: token.expose().to_owned(),
            flow: Some(flow),
        })
    }

    async fn find(&self, lookup: AccountLookup<'_>) -> Result<Option<account::Model>, AppError> {
        Ok(self.state.store.find_account(lookup).await?)
    }

    /// The account, if its profile activates through `channel`; otherwise
    /// the same refusal as a wrong secret.
    fn expect_channel(
        &self,
        account: Option<account::Model>,
        channel: ActivationChannel,
        field: &str,
    ) -> Result<account::Model, AppError> {
        match account {
            Some(a)
                if self
                    .state
                    .profile_of(&a)
                    .is_ok_and(|p| p.activation.channel == channel) =>
            {
                Ok(a)
            }
            _ => Err(entry_refused(field)),
        }
    }

    async fn submit(
        &self,
        body: proto::SubmitActivationScreenRequest,
        ctx: &AuditContext,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<proto::SubmitActivationScreenResponse, AppError> {
        let loaded = self.load(&body.flow_token, now).await?;
        let account = &loaded.account;
        let rules = self.rules(account)?;
        let plan = rules.plan(&loaded.state);
        if loaded.flow.completed_at.is_some() {
            // A repeated final submission: the journey is already complete.
            let flow = self
                .encode_flow(&loaded, &loaded.state, Some(account), language, now)
                .await?;
            return Ok(proto::SubmitActivationScreenResponse {
                flow: Some(flow),
                notice: None,
            });
        }
        let mut submission = parse_submission(&body)?;
        let password = match body.password {
            Some(p) => {
                let new = Arc::new(read_password(p.password, "password.password", true)?);
                let confirmation = read_password(p.confirmation, "password.confirmation", true)?;
                if !new.same_as(&confirmation) {
                    return Err(rejected(
                        "password",
                        &[Violation::ConfirmationMismatch],
                        language,
                    ));
                }
                submission.password_given = true;
                Some(new)
            }
            None => None,
        };
        if activation::repeats_done_screen(&loaded.state, &plan, &submission) {
            let same_password = match (&password, &loaded.state.password_hash) {
                (None, _) => true,
                (Some(typed), Some(stored)) => matches!(
                    self.state
                        .hasher
                        .verify(Arc::clone(typed), stored.clone())
                        .await?,
                    crate::hashing::Verified::Yes { .. }
                ),
                (Some(_), None) => false,
            };
            if same_password {
                let flow = self
                    .encode_flow(&loaded, &loaded.state, None, language, now)
                    .await?;
                return Ok(proto::SubmitActivationScreenResponse {
                    flow: Some(flow),
                    notice: None,
                });
            }
        }
        let screen_rules = ScreenRules {
            plan: &plan,
            recovery: &rules.profile.activation.recovery_mail,
            redirect: rules.profile.activation.mail_redirect,
            charter_version: rules
                .institution
                .charter
                .as_ref()
                .map(|c| c.version.as_str()),
            institutional_mail: account.institutional_mail.as_deref(),
        };
        // Check the whole screen before spending argon2 time on the password.
        let checked =
            activation::check(&loaded.state, &screen_rules, submission).map_err(flow_error)?;
        let policy = self.state.policy_of(account)?;
        let mut password_hash = None;
        if let Some(new) = password {
            let evaluation = self
                .state
                .evaluate_password(&policy, &new, Some(account))
                .await?;
            if !evaluation.acceptable() {
                return Err(rejected(
                    "password.password",
                    &evaluation.violations,
                    language,
                ));
            }
            password_hash = Some(self.state.hasher.hash(new).await?);
        }
        let mut state = loaded.state.clone();
        let effects = activation::apply(&mut state, &screen_rules, checked, password_hash, now)
            .map_err(flow_error)?;
        if effects.completed && state.reactivation {
            let hash = state
                .password_hash
                .take()
                .ok_or_else(|| AppError::inconsistent("completed without a password"))?;
            let key = self
                .state
                .store
                .live_secret(&account.id, Purpose::ReactivationKey, now)
                .await?
                .ok_or_else(|| AppError::FailedPrecondition {
                    kind: Precondition::LinkExpired,
                    subject: "key".into(),
                    message:
                        "the mailed activation key has expired or was replaced: ask for a new one"
                            .into(),
                })?;
            let password_expires_at = password::expires_at(&policy, now);
            let completed = self
                .state
                .store
                .complete_reactivation(
                    &loaded,
                    &state,
                    crate::store::passwords::NewPassword {
                        account_id: &account.id,
                        replaces: account.password_hash.as_deref(),
                        hash: &hash,
                        expires_at: password_expires_at,
                        reminder_at: rules.institution.password_reminder_at(password_expires_at),
                        history_count: policy.history_count,
                        action: "password.reset",
                        spend: Some(&key.id),
                        messages: self.state.password_notice(account, language, now),
                    },
                    ctx,
                    now,
                )
                .await?;
            let mut loaded = loaded;
            loaded.flow.completed_at = Some(now);
            let flow = self
                .encode_flow(&loaded, &state, Some(&completed), language, now)
                .await?;
            return Ok(proto::SubmitActivationScreenResponse {
                flow: Some(flow),
                notice: None,
            });
        }
        if effects.completed {
            // The account keeps the hash; the stored flow does not.
            let hash = state
                .password_hash
                .take()
                .ok_or_else(|| AppError::inconsistent("completed without a password"))?;
            // A recovery address confirmed after activation is mailed its
            // link now and serves recovery once confirmed.
            let mut confirm_later = None;
            if rules.profile.activation.recovery_mail.verification
                == activation::Verification::AfterActivation
                && state.recovery_mail_verified_at.is_none()
                && let Some(address) = state.recovery_mail.take()
            {
                confirm_later = Some(self.state.address_link(
                    account,
                    Verifying::RecoveryMail,
                    &address,
                    language,
                    now,
                )?);
            }
            let (secrets, messages, notice) = match confirm_later {
                Some(link) => (
                    vec![link.secret],
                    vec![link.message],
                    Some(super::encode::notice(link.notice)),
                ),
                None => (Vec::new(), Vec::new(), None),
            };
            let password_expires_at = password::expires_at(&policy, now);
            let completed = self
                .state
                .store
                .complete_activation(
                    &loaded,
                    &state,
                    Completion {
                        password_hash: &hash,
                        password_expires_at,
                        password_reminder_at: rules
                            .institution
                            .password_reminder_at(password_expires_at),
                        history_count: policy.history_count,
                        messages,
                        secrets,
                    },
                    ctx,
                    now,
                )
                .await?;
            let mut loaded = loaded;
            loaded.flow.completed_at = Some(now);
            let flow = self
                .encode_flow(&loaded, &state, Some(&completed), language, now)
                .await?;
            return Ok(proto::SubmitActivationScreenResponse {
                flow: Some(flow),
                notice,
            });
        }
        let mut writes = FlowWrites::default();
        for step in &effects.revoke {
            if let Some(purpose) = verification_purpose(*step) {
                writes.revoke.push(purpose);
            }
        }
        writes.audit = Some((
            "activation.screen_submitted",
            serde_json::json!({ "verification_sent": effects.verify.as_ref().map(|v| v.0.field()) }),
        ));
        let mut notice = None;
        if let Some((step, address)) = &effects.verify {
            let (secrets, message, n) =
                self.verification_writes(account, &rules, *step, address, language, now)?;
            writes.secrets = secrets;
            writes.messages.push(message);
            notice = Some(n);
        }
        self.state
            .store
            .save_flow(&loaded, &state, writes, ctx, now)
            .await?;
        let flow = self
            .encode_flow(&loaded, &state, None, language, now)
            .await?;
        Ok(proto::SubmitActivationScreenResponse {
            flow: Some(flow),
            notice,
        })
    }

    async fn verify_code(
        &self,
        body: proto::VerifyActivationCodeRequest,
        ctx: &CallContext,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<proto::VerifyActivationCodeResponse, AppError> {
        let code = body.code.trim();
        if code.is_empty() || code.len() > 128 {
            return Err(AppError::field("code", "a code is needed"));
        }
        let loaded = self.load(&body.flow_token, now).await?;
        // Codes are guessed per account: a new flow or a resent code does
        // not start the count again.
        let counters = Counters::guesses(&self.state, ctx, Some(&[loaded.account.id.as_str()]));
        self.state
            .limited(counters, now, async {
                let rules = self.rules(&loaded.account)?;
                let plan = rules.plan(&loaded.state);
                let Some(step) = loaded.state.pending_verification(&plan) else {
                    return Err(AppError::FailedPrecondition {
                        kind: Precondition::NothingToVerify,
                        subject: "code".into(),
                        message: "this flow is not waiting for a code".into(),
                    });
                };
                let purpose = verification_purpose(step)
                    .ok_or_else(|| AppError::inconsistent("verification without purpose"))?;
                let secrets = self
                    .state
                    .store
                    .flow_secrets(&loaded.flow.id, &[purpose], now)
                    .await?;
                if secrets.is_empty() {
                    return Err(AppError::FailedPrecondition {
                        kind: Precondition::CodeExpired,
                        subject: "code".into(),
                        message: "the code has expired or was invalidated: ask for a new one"
                            .into(),
                    });
                }
                // A mailed link's token works as the code: the browser that opened
                // the link submits it (following a link never spends it).
                let matched = secrets.iter().any(|s| {
                    matches(SecretKind::Code, code, &s.secret_hash)
                        | matches(SecretKind::Token, code, &s.secret_hash)
                });
                if !matched {
                    let ids: Vec<String> = secrets.iter().map(|s| s.id.clone()).collect();
                    let invalidated = self
                        .state
                        .store
                        .secrets_failed(&ids, rules.profile.activation.max_attempts, now)
                        .await?;
                    if invalidated {
                        return Err(AppError::FailedPrecondition {
                            kind: Precondition::TooManyAttempts,
                            subject: "code".into(),
                            message:
                                "too many wrong codes: this code no longer works; ask for a new one"
                                    .into(),
                        });
                    }
                    return Err(AppError::field("code", "this code is not the one we sent"));
                }
                let mut state = loaded.state.clone();
                activation::verified(&mut state, step, now);
                self.state
                    .store
                    .save_flow(
                        &loaded,
                        &state,
                        FlowWrites {
                            spend: secrets.iter().map(|s| s.id.clone()).collect(),
                            audit: Some((
                                "activation.verified",
                                serde_json::json!({ "step": step.field() }),
                            )),
                            ..FlowWrites::default()
                        },
                        ctx,
                        now,
                    )
                    .await?;
                let flow = self
                    .encode_flow(&loaded, &state, None, language, now)
                    .await?;
                Ok(proto::VerifyActivationCodeResponse { flow: Some(flow) })
            })
            .await
    }
}

fn flow_error(e: FlowError) -> AppError {
    match e {
        FlowError::Completed => AppError::FailedPrecondition {
            kind: Precondition::FlowCompleted,
            subject: "flow".into(),
            message: "this activation is already complete".into(),
        },
        FlowError::AwaitingVerification(step) => AppError::FailedPrecondition {
            kind: Precondition::AwaitingVerification,
            subject: step.field().into(),
            message: match step {
                Step::VerifyCode => "type the code sent by SMS and mail first".into(),
                _ => "follow the link mailed to you, or type its code, first".into(),
            },
        },
        FlowError::Invalid(problems) => AppError::InvalidArgument(
            problems
                .into_iter()
                .map(
                    |(field, description)| crate::domain::provisioning::Violation {
                        field,
                        description,
                    },
                )
                .collect(),
        ),
    }
}

/// Reads the items of a submitted screen (the password apart).
fn parse_submission(body: &proto::SubmitActivationScreenRequest) -> Result<Submission, AppError> {
    let mut problems = Vec::new();
    let mut bad = |field: &str, message: &str| {
        problems.push(crate::domain::provisioning::Violation {
            field: field.to_owned(),
            description: message.to_owned(),
        })
    };
    let mut mail_pair = |input: &proto::MailInput, field: &str| -> Option<MailAddress> {
        super::inputs::mail_input(input, field)
            .map_err(|v| bad(&v.field, &v.description))
            .ok()
    };
    let recovery_mail = body
        .recovery_mail
        .as_ref()
        .and_then(|m| mail_pair(m, "recovery_mail"));
    let redirect = match &body.mail_redirect {
        Some(r) if r.enabled => match &r.address {
            Some(a) => mail_pair(a, "mail_redirect").map(|address| RedirectInput {
                address: Some(address),
                keep_copy: r.keep_copy,
            }),
            None => {
                bad(
                    "mail_redirect.address",
                    "an address is needed to redirect mail",
                );
                None
            }
        },
        Some(_) => Some(RedirectInput {
            address: None,
            keep_copy: false,
        }),
        None => None,
    };
    let charter_version = match &body.charter {
        Some(c) if !c.accepted => {
            bad("charter.accepted", "the charter must be accepted to go on");
            None
        }
        Some(c) => Some(c.version.trim().to_owned()),
        None => None,
    };
    let photo = match &body.photo {
        Some(p) => match super::inputs::photo_choice(p, "photo") {
            Ok(decision) => Some(decision),
            Err(violations) => {
                for v in violations {
                    bad(&v.field, &v.description);
                }
                None
            }
        },
        None => None,
    };
    if !problems.is_empty() {
        return Err(AppError::InvalidArgument(problems));
    }
    Ok(Submission {
        recovery_mail,
        charter_version,
        directory_listed: body.directory_listed,
        photo,
        crous_sharing: body.crous_sharing,
        redirect,
        password_hash: None,
        password_given: false,
    })
}

/// The texts of the consent items on the plan, in the caller's language.
/// The consent options of the journey, as the person reads them.
fn choices(
    plan: &[Vec<Step>],
    institution: &InstitutionSettings,
    language: Language,
) -> Vec<proto::ActivationChoice> {
    let steps: Vec<Step> = plan.iter().flatten().copied().collect();
    crate::app::texts::consent_choices(language, &steps, institution)
        .into_iter()
        .map(|choice| proto::ActivationChoice {
            step: step_code(choice.option.step()) as i32,
            value: choice.option.value().to_owned(),
            label: choice.label,
            caveat: choice.caveat,
        })
        .collect()
}

/// Whom a start attempt guesses for, as typed (an unknown login is limited
/// like a known one); `None` for a link, whose token cannot be guessed.
fn entry_subject(body: &proto::StartActivationRequest) -> Option<(&'static str, String)> {
    match body.entry.as_ref()? {
        Entry::Key(k) => Some(("login", k.login.trim().to_lowercase())),
        Entry::ProvisionalPassword(p) => Some(("login", p.login.trim().to_lowercase())),
        Entry::IdentityMatch(m) => Some(("student_number", m.student_number.trim().to_owned())),
        Entry::Link(_) => None,
    }
}

#[tonic::async_trait]
impl ActivationService for ActivationApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn start_activation(
        &self,
        request: Request<proto::StartActivationRequest>,
    ) -> Result<Response<proto::StartActivationResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let body = request.into_inner();
        let counters = {
            let subject = entry_subject(&body);
            let parts = subject
                .as_ref()
                .map(|(kind, value)| [body.institution.trim(), *kind, value.as_str()]);
            Counters::guesses(&self.state, &ctx, parts.as_ref().map(|p| &p[..]))
        };
        let result = self
            .state
            .limited(counters, now, self.start(body, &ctx, language, now))
            .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn request_activation_link(
        &self,
        request: Request<proto::RequestActivationLinkRequest>,
    ) -> Result<Response<proto::RequestActivationLinkResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let institution = self
                .state
                .rules
                .institution(body.institution.trim())
                .ok_or_else(|| AppError::field("institution", "no such institution"))?;
            if body.login.trim().is_empty() || body.login.len() > 254 {
                return Err(AppError::field("login", "must be 1 to 254 characters"));
            }
            // The answer never says whether the login exists: the same
            // notice, fully masked, whatever happens below.
            let notice = proto::DeliveryNotice {
                masked_destination: "xxxxxxxxxxxx@xxxxxxxx".into(),
                check_spam_folder: true,
                helpdesk_url: institution.helpdesk_url.clone(),
                expires_at: None,
            };
            let counters = Counters::mail_requests(
                &self.state,
                &ctx,
                &[body.institution.trim(), &body.login.trim().to_lowercase()],
            );
            self.state.limited(counters, now, async { Ok(()) }).await?;
            let account = self
                .find(AccountLookup::Login {
                    institution: body.institution.trim(),
                    login: &body.login,
                })
                .await?;
            let Some(account) = account else {
                return Ok(proto::RequestActivationLinkResponse {
                    notice: Some(notice),
                });
            };
            let Ok(profile) = self.state.profile_of(&account) else {
                return Ok(proto::RequestActivationLinkResponse {
                    notice: Some(notice),
                });
            };
            let awaiting = AccountStatus::parse(&account.status)
                .is_some_and(AccountStatus::awaits_activation)
                && account.activated_at.is_none();
            let (Some(personal_mail), true, ActivationChannel::MailedLink) =
                (&account.personal_mail, awaiting, profile.activation.channel)
            else {
                return Ok(proto::RequestActivationLinkResponse {
                    notice: Some(notice),
                });
            };
            // A cooldown keeps the button from flooding the mailbox.
            let last = self
                .state
                .store
                .live_secret(&account.id, Purpose::ActivationLink, now)
                .await?;
            let cooldown =
                chrono::Duration::from_std(profile.activation.resend_cooldown).unwrap_or_default();
            if last.is_some_and(|s| s.created_at + cooldown > now) {
                return Ok(proto::RequestActivationLinkResponse {
                    notice: Some(notice),
                });
            }
            let opens = account.activation_available_at.max(now);
            let expires_at = profile
                .activation
                .material_lifetime
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .map(|d| opens + d);
            let (secret, message) = activation_link(
                &account,
                personal_mail,
                &mail_texts::activation_link_mail(institution, language),
                opens,
                expires_at,
            )?;
            self.state
                .store
                .issue_account_secrets(
                    &account,
                    &[Purpose::ActivationLink],
                    vec![secret],
                    vec![message],
                    Some(("activation.link_requested", serde_json::json!({}), &ctx)),
                    now,
                )
                .await?;
            Ok(proto::RequestActivationLinkResponse {
                notice: Some(notice),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_activation_flow(
        &self,
        request: Request<proto::GetActivationFlowRequest>,
    ) -> Result<Response<proto::GetActivationFlowResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let loaded = self.load(&request.get_ref().flow_token, now).await?;
            let completed = loaded.flow.completed_at.map(|_| loaded.account.clone());
            let flow = self
                .encode_flow(&loaded, &loaded.state, completed.as_ref(), language, now)
                .await?;
            Ok(proto::GetActivationFlowResponse { flow: Some(flow) })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn verify_activation_code(
        &self,
        request: Request<proto::VerifyActivationCodeRequest>,
    ) -> Result<Response<proto::VerifyActivationCodeResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = self
            .verify_code(request.into_inner(), &ctx, language, now)
            .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn confirm_activation_link(
        &self,
        request: Request<proto::ConfirmActivationLinkRequest>,
    ) -> Result<Response<proto::ConfirmActivationLinkResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let token = request.get_ref().token.trim();
            if token.is_empty() || token.len() > 128 {
                return Err(AppError::field("token", "a link token is needed"));
            }
            let hash = hash_secret(SecretKind::Token, token);
            let mut secret = None;
            for purpose in [
                Purpose::RecoveryMailVerification,
                Purpose::RedirectVerification,
            ] {
                if let Some(s) = self.state.store.secret_by_hash(&hash, purpose, now).await? {
                    secret = Some(s);
                    break;
                }
            }
            let secret = secret.ok_or_else(link_gone)?;
            let flow_id = secret.flow_id.clone().ok_or_else(link_gone)?;
            let loaded = self
                .state
                .store
                .flow_by_id(&flow_id, now)
                .await?
                .ok_or_else(link_gone)?;
            // Opening the link spends nothing (mail scanners open links):
            // it gives this browser its own handle on the flow.
            let handle = generate(SecretKind::Token, &mut rand::rngs::SysRng).map_err(internal)?;
            self.state
                .store
                .issue_account_secrets(
                    &loaded.account,
                    &[],
                    vec![NewSecret {
                        account_id: loaded.account.id.clone(),
                        purpose: Purpose::FlowToken,
                        hash: handle.hash(SecretKind::Token),
                        target: None,
                        flow_id: Some(loaded.flow.id.clone()),
                        not_before: None,
                        expires_at: Some(loaded.flow.expires_at),
                    }],
                    Vec::new(),
                    None,
                    now,
                )
                .await?;
            let flow = self
                .encode_flow(&loaded, &loaded.state, None, language, now)
                .await?;
            Ok(proto::ConfirmActivationLinkResponse {
                flow_token: handle.expose().to_owned(),
                flow: Some(flow),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn resend_activation_message(
        &self,
        request: Request<proto::ResendActivationMessageRequest>,
    ) -> Result<Response<proto::ResendActivationMessageResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let loaded = self.load(&body.flow_token, now).await?;
            let rules = self.rules(&loaded.account)?;
            let plan = rules.plan(&loaded.state);
            let pending = loaded.state.pending_verification(&plan);
            let step = match pending {
                Some(step) if message_kind(step) as i32 == body.kind => step,
                _ => {
                    return Err(AppError::FailedPrecondition {
                        kind: Precondition::NothingToResend,
                        subject: "kind".into(),
                        message: "the flow is not waiting for this message".into(),
                    });
                }
            };
            let purpose = verification_purpose(step)
                .ok_or_else(|| AppError::inconsistent("verification without purpose"))?;
            let last = self
                .state
                .store
                .last_flow_secret(&loaded.flow.id, purpose)
                .await?;
            let cooldown = chrono::Duration::from_std(rules.profile.activation.resend_cooldown)
                .unwrap_or_default();
            if let Some(last) = &last
                && last.created_at + cooldown > now
            {
                let wait = (last.created_at + cooldown - now)
                    .to_std()
                    .unwrap_or_default();
                return Err(AppError::ResourceExhausted {
                    reason: Exhausted::ResendTooSoon,
                    retry_after: wait,
                });
            }
            let (mut writes, notice) = match step {
                Step::VerifyCode => {
                    self.identity_code_writes(&loaded.account, &rules, language, now)?
                }
                _ => {
                    let address = match step {
                        Step::RecoveryMailVerification => loaded.state.recovery_mail.clone(),
                        _ => loaded
                            .state
                            .redirect
                            .as_ref()
                            .and_then(|r| r.address.clone()),
                    }
                    .ok_or_else(|| AppError::inconsistent("no address to verify"))?;
                    let (secrets, message, notice) = self.verification_writes(
                        &loaded.account,
                        &rules,
                        step,
                        &address,
                        language,
                        now,
                    )?;
                    (
                        FlowWrites {
                            secrets,
                            messages: vec![message],
                            ..FlowWrites::default()
                        },
                        notice,
                    )
                }
            };
            writes.revoke.push(purpose);
            writes.audit = Some((
                "activation.message_resent",
                serde_json::json!({ "step": step.field() }),
            ));
            // The state itself does not change; its version does, so a
            // concurrent resend loses the race instead of sending twice.
            let mut state = loaded.state.clone();
            state.version += 1;
            self.state
                .store
                .save_flow(&loaded, &state, writes, &ctx, now)
                .await?;
            Ok(proto::ResendActivationMessageResponse {
                notice: Some(notice),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn submit_activation_screen(
        &self,
        request: Request<proto::SubmitActivationScreenRequest>,
    ) -> Result<Response<proto::SubmitActivationScreenResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = self.submit(request.into_inner(), &ctx, language, now).await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn evaluate_password(
        &self,
        request: Request<proto::EvaluatePasswordRequest>,
    ) -> Result<Response<proto::EvaluatePasswordResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let candidate = Arc::new(read_password(body.candidate, "candidate", false)?);
            let not_found = |what: &str| AppError::NotFound(format!("unknown or expired {what}"));
            let account = match body.context {
                None => {
                    return Err(AppError::field(
                        "context",
                        "name a flow_token, reset_token, account or policy",
                    ));
                }
                Some(Context::Policy(policy)) => {
                    let rules = self
                        .state
                        .password_policy(&policy.institution, &policy.profile)
                        .ok_or_else(|| {
                            AppError::field("policy", "no such institution and profile")
                        })?;
                    let evaluation = self
                        .state
                        .evaluate_password(&rules, &candidate, None)
                        .await?;
                    return Ok(encode_evaluation(&evaluation, language));
                }
                // Any account's personal data and password history, from
                // anyone on the Internet: for the portal only.
                Some(Context::Account(_)) if ctx.browser => {
                    return Err(AppError::PermissionDenied(
                        "from the browser, evaluate with a flow_token, reset_token or policy"
                            .into(),
                    ));
                }
                Some(Context::Account(selector)) => {
                    let lookup = account_lookup(Some(&selector), "account")?;
                    self.state.account(lookup).await?
                }
                Some(Context::FlowToken(token)) => self
                    .state
                    .store
                    .find_flow(&hash_secret(SecretKind::Token, &token), now)
                    .await?
                    .filter(|f| f.flow.completed_at.is_none())
                    .map(|f| f.account)
                    .ok_or_else(|| not_found("activation flow"))?,
                Some(Context::ResetToken(token)) => self
                    .state
                    .store
                    .account_for_reset(&hash_secret(SecretKind::Token, &token), now)
                    .await?
                    .ok_or_else(|| not_found("reset link"))?,
            };
            let rules = self.state.policy_of(&account)?;
            let evaluation = self
                .state
                .evaluate_password(&rules, &candidate, Some(&account))
                .await?;
            Ok(encode_evaluation(&evaluation, language))
        }
        .await;
        reply(result, &ctx)
    }
}
