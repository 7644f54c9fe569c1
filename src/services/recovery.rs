//! RecoveryService: forgotten password and forgotten login, for users who
//! are not signed in. A reset request is answered before anything is
//! looked at beyond the account lookup, and what it sends is written in
//! the background, so neither the answer nor its timing tells whether the
//! account exists or has a recovery address.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use tonic::{Request, Response, Status};

use super::status;
use super::{App, begin_call, encode::timestamp, reply};
use crate::app::error::{AppError, internal};
use crate::app::limits::Counters;
use crate::app::limits::RateRule;
use crate::app::password_usable;
use crate::app::passwords::{PasswordChange, read_password};
use crate::app::texts::mail as mail_texts;
use crate::config::InstitutionSettings;
use crate::domain::ids::{BirthDate, Ine, MailAddress, StudentNumber};
use crate::domain::language::Language;
use crate::domain::password::Password;
use crate::domain::recovery::{ResetMethod, decoy_seed, masked_destination};
use crate::domain::refusal::Precondition;
use crate::domain::secret::{SecretKind, generate};
use crate::proto;
use crate::proto::recovery_service_server::RecoveryService;
use crate::store::AuditContext;
use crate::store::accounts::AccountLookup;
use crate::store::activation::{NewSecret, Purpose};
use crate::store::entities::account;
use crate::store::outbox::{Channel, NewMessage};

pub struct RecoveryApi {
    state: App,
}

impl RecoveryApi {
    pub fn new(state: App) -> Self {
        Self { state }
    }
}

fn institution<'a>(state: &'a App, code: &str) -> Result<&'a InstitutionSettings, AppError> {
    state
        .rules
        .institution(code.trim())
        .ok_or_else(|| AppError::field("institution", "no such institution"))
}

impl RecoveryApi {
    fn request_reset(
        &self,
        body: proto::RequestPasswordResetRequest,
        ctx: &AuditContext,
        language: Language,
        now: DateTime<Utc>,
    ) -> Result<(proto::RequestPasswordResetResponse, ResetLookup), AppError> {
        use proto::request_password_reset_request::Identifier;
        let code = body.institution.trim().to_owned();
        let institution = institution(&self.state, &code)?;
        let identifier = body.identifier.ok_or_else(|| {
            AppError::field(
                "identifier",
                "give the login, the INE or the institutional mail",
            )
        })?;
        // What was typed, normalised, names the decoy.
        let typed = match identifier {
            Identifier::Login(login) => {
                let login = login.trim().to_owned();
                if login.is_empty() || login.len() > 254 {
                    return Err(AppError::field("login", "must be 1 to 254 characters"));
                }
                Typed::Login(login)
            }
            Identifier::Ine(ine) => {
                Typed::Ine(Ine::parse(&ine).map_err(|e| AppError::field("ine", e.0))?)
            }
            Identifier::InstitutionalMail(mail) => Typed::Mail(
                MailAddress::parse(&mail)
                    .map_err(|e| AppError::field("institutional_mail", e.0))?,
            ),
        };
        let recovery = &institution.recovery;
        let seed = decoy_seed(&recovery.decoy_key, &code, &typed.decoy_name());
        let expires_at = now
            + chrono::Duration::from_std(recovery.reset_lifetime)
                .map_err(|e| AppError::Internal(e.into()))?;
        let method = match recovery.method {
            ResetMethod::ResetLink => proto::ResetMethod::Link,
            ResetMethod::ActivationKey => proto::ResetMethod::ActivationKey,
        };
        let lookup = ResetLookup {
            institution: code,
            typed,
            seed,
            language,
            ctx: ctx.clone(),
            now,
            expires_at,
        };
        let response = proto::RequestPasswordResetResponse {
            method: method as i32,
            notice: Some(proto::DeliveryNotice {
                // Filled in once the account is looked up (the same for
                // every account with the full mask).
                masked_destination: String::new(),
                check_spam_folder: true,
                helpdesk_url: institution.helpdesk_url.clone(),
                expires_at: Some(timestamp(expires_at)),
            }),
        };
        Ok((response, lookup))
    }
}

/// The identifier a reset request typed.
enum Typed {
    Login(String),
    Ine(Ine),
    Mail(MailAddress),
}

impl Typed {
    fn decoy_name(&self) -> String {
        match self {
            Typed::Login(l) => format!("login:{l}"),
            Typed::Ine(i) => format!("ine:{}", i.as_str()),
            Typed::Mail(m) => format!("mail:{}", m.as_str()),
        }
    }

    fn lookup<'a>(&'a self, institution: &'a str) -> AccountLookup<'a> {
        match self {
            Typed::Login(login) => AccountLookup::Login { institution, login },
            Typed::Ine(ine) => AccountLookup::Ine {
                institution,
                ine: ine.as_str(),
            },
            Typed::Mail(mail) => AccountLookup::InstitutionalMail {
                institution,
                mail: mail.as_str(),
            },
        }
    }
}

/// A reset request, decoded and answered, waiting for its lookup.
struct ResetLookup {
    institution: String,
    typed: Typed,
    seed: [u8; 32],
    language: Language,
    ctx: AuditContext,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

/// The verified recovery address of an account that may reset its
/// password.
fn reset_destination(account: &account::Model) -> Option<&str> {
    if !password_usable(account) || account.recovery_mail_verified_at.is_none() {
        return None;
    }
    account.recovery_mail.as_deref()
}

/// Sends what a reset request asks for, if the account exists, may
/// reset and has a verified recovery address, and no reset was sent
/// within the cooldown; audits the request either way.
async fn send_reset(
    state: &App,
    lookup: &ResetLookup,
    account: Option<account::Model>,
) -> Result<(), AppError> {
    let ResetLookup {
        institution: code,
        language,
        ctx,
        now,
        expires_at,
        ..
    } = lookup;
    let (now, expires_at, language) = (*now, *expires_at, *language);
    let institution = state
        .rules
        .institution(code)
        .ok_or_else(|| AppError::inconsistent("institution vanished"))?;
    let Some((account, address)) = account
        .as_ref()
        .and_then(|a| reset_destination(a).map(|d| (a, d.to_owned())))
    else {
        let reason = match &account {
            None => "unknown_account",
            Some(a) if !password_usable(a) => "account_state",
            Some(_) => "no_verified_recovery_mail",
        };
        state
            .store
            .record_event(
                code,
                account.as_ref().map(|a| a.id.as_str()),
                "password_reset.requested",
                json!({ "sent": false, "reason": reason }),
                ctx,
                now,
            )
            .await?;
        return Ok(());
    };
    let purpose = match institution.recovery.method {
        ResetMethod::ResetLink => Purpose::PasswordReset,
        ResetMethod::ActivationKey => Purpose::ReactivationKey,
    };
    let cooldown = chrono::Duration::from_std(institution.recovery.resend_cooldown)
        .map_err(|e| AppError::Internal(e.into()))?;
    if let Some(last) = state
        .store
        .last_account_secret(&account.id, purpose)
        .await?
        && last.created_at + cooldown > now
    {
        // Asked again at once: one mail is enough (and nobody can
        // flood a mailbox through this form).
        state
            .store
            .record_event(
                code,
                Some(&account.id),
                "password_reset.requested",
                json!({ "sent": false, "reason": "cooldown" }),
                ctx,
                now,
            )
            .await?;
        return Ok(());
    }
    let (hash, content) = match purpose {
        Purpose::PasswordReset => {
            let token = generate(SecretKind::Token, &mut rand::rngs::SysRng).map_err(internal)?;
            let content = mail_texts::password_reset(
                &institution.name,
                &account.login,
                &institution.portal_link("recovery/reset", &token),
                expires_at,
                institution.time_zone,
                language,
            );
            (token.hash(SecretKind::Token), content)
        }
        _ => {
            let key =
                generate(SecretKind::ActivationKey, &mut rand::rngs::SysRng).map_err(internal)?;
            let content = mail_texts::reactivation_key(
                &institution.name,
                &account.login,
                key.expose(),
                &institution.portal_url,
                expires_at,
                institution.time_zone,
                language,
            );
            (key.hash(SecretKind::ActivationKey), content)
        }
    };
    state
        .store
        .issue_account_secrets(
            account,
            &[purpose],
            vec![NewSecret {
                account_id: account.id.clone(),
                purpose,
                hash,
                target: Some(address.clone()),
                flow_id: None,
                not_before: None,
                expires_at: Some(expires_at),
            }],
            vec![NewMessage {
                account_id: Some(account.id.clone()),
                channel: Channel::Mail,
                recipient: address,
                template: purpose.as_str().to_owned(),
                content,
                not_before: now,
            }],
            Some((
                "password_reset.requested",
                json!({ "sent": true, "method": purpose.as_str() }),
                ctx,
            )),
            now,
        )
        .await?;
    Ok(())
}

#[tonic::async_trait]
impl RecoveryService for RecoveryApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn request_password_reset(
        &self,
        request: Request<proto::RequestPasswordResetRequest>,
    ) -> Result<Response<proto::RequestPasswordResetResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let (mut response, lookup) =
                self.request_reset(request.into_inner(), &ctx, language, now)?;
            // Counted per identifier typed, whether or not it names an
            // account: the limit says nothing of which exist.
            let counters = Counters::mail_requests(
                &self.state,
                &ctx,
                &[&lookup.institution, &lookup.typed.decoy_name()],
            );
            self.state.limited(counters, now, async { Ok(()) }).await?;
            let account = self
                .state
                .store
                .find_account(lookup.typed.lookup(&lookup.institution))
                .await?;
            let style = self
                .state
                .rules
                .institution(&lookup.institution)
                .map(|i| i.recovery.mask)
                .unwrap_or_default();
            let shown = account.as_ref().and_then(reset_destination);
            if let Some(notice) = &mut response.notice {
                notice.masked_destination = masked_destination(style, shown, &lookup.seed);
            }
            // The writes (secret, mail, audit) happen after the answer:
            // their cost differs between "sent" and "nothing to send".
            let state = self.state.clone();
            tokio::spawn(async move {
                if let Err(e) = send_reset(&state, &lookup, account).await {
                    let status = status::into_status(e, &lookup.ctx.request_id, lookup.language);
                    tracing::error!(request_id = %lookup.ctx.request_id, error = %status.message(), "password reset not sent");
                }
            });
            Ok(response)
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_password_reset(
        &self,
        request: Request<proto::GetPasswordResetRequest>,
    ) -> Result<Response<proto::GetPasswordResetResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let (secret, account) = self
                .state
                .account_link(&body.token, Purpose::PasswordReset, now)
                .await?;
            Ok(proto::GetPasswordResetResponse {
                login: account.login,
                expires_at: secret.expires_at.map(timestamp),
                institution: account.institution,
                profile: account.profile,
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn complete_password_reset(
        &self,
        request: Request<proto::CompletePasswordResetRequest>,
    ) -> Result<Response<proto::CompletePasswordResetResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let input = body
                .new_password
                .ok_or_else(|| AppError::field("new_password", "the new password is needed"))?;
            let new = Arc::new(read_password(
                input.password,
                "new_password.password",
                true,
            )?);
            let confirmation = Password::new(input.confirmation);
            let (secret, account) = self
                .state
                .account_link(&body.token, Purpose::PasswordReset, now)
                .await?;
            let account = self
                .state
                .set_new_password(
                    PasswordChange {
                        account: &account,
                        new,
                        confirmation: &confirmation,
                        field: "new_password.password",
                        action: "password.reset",
                        spend: Some(&secret.id),
                    },
                    language,
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::CompletePasswordResetResponse {
                login: account.login,
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn recover_login(
        &self,
        request: Request<proto::RecoverLoginRequest>,
    ) -> Result<Response<proto::RecoverLoginResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let code = body.institution.trim().to_owned();
            let institution = institution(&self.state, &code)?;
            let rule = &institution.recovery.login_lookup;
            if !rule.enabled {
                return Err(AppError::FailedPrecondition {
                    kind: Precondition::NotOffered,
                    subject: "institution".into(),
                    message: "this institution does not offer login lookup: see its helpdesk"
                        .into(),
                });
            }
            let today = now.with_timezone(&institution.time_zone).date_naive();
            let mut problems = Vec::new();
            let number =
                StudentNumber::parse(&body.student_number, institution.student_number_length)
                    .map_err(|e| problems.push(("student_number", e.0)))
                    .ok();
            let birth = BirthDate::parse(&body.birth_date, today)
                .map_err(|e| problems.push(("birth_date", e.0)))
                .ok();
            let (Some(number), Some(birth)) = (number, birth) else {
                return Err(AppError::InvalidArgument(
                    problems
                        .into_iter()
                        .map(
                            |(field, description)| crate::domain::provisioning::Violation {
                                field: field.to_owned(),
                                description,
                            },
                        )
                        .collect(),
                ));
            };
            let counters = Counters::login_lookups(
                &self.state,
                &ctx,
                &[&code, number.as_str()],
                RateRule {
                    max: rule.max_attempts,
                    window: rule.window,
                },
            );
            let account = self
                .state
                .limited(counters, now, async {
                    self.state
                        .store
                        .find_account(AccountLookup::StudentNumber {
                            institution: &code,
                            number: number.as_str(),
                        })
                        .await?
                        .filter(|a| a.birth_date == Some(birth.date()) && a.purged_at.is_none())
                        .ok_or_else(|| {
                            AppError::NotFound(
                                "no student matches this student number and birth date".into(),
                            )
                        })
                })
                .await?;
            self.state
                .store
                .record_event(
                    &code,
                    Some(&account.id),
                    "login.recovered",
                    json!({}),
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::RecoverLoginResponse {
                login: account.login,
                institutional_mail: account.institutional_mail.unwrap_or_default(),
            })
        }
        .await;
        reply(result, &ctx)
    }
}
