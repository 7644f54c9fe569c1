//! RecoveryService: forgotten password and forgotten login, for users who
//! are not signed in. A reset request is answered before anything is
//! looked at beyond the account lookup, and what it sends is written in
//! the background, so neither the answer nor its timing tells whether the
//! account exists or has a recovery address.

use std::sync::Arc;

use serde_json::json;
use tonic::{Request, Response, Status};

use super::{App, begin_call, encode, encode::timestamp, reply};
use crate::app::error::AppError;
use crate::app::limits::Counters;
use crate::app::limits::RateRule;
use crate::app::passwords::{PasswordChange, read_password};
use crate::app::recovery::ResetIdentifier;
use crate::config::InstitutionSettings;
use crate::domain::ids::{BirthDate, Ine, MailAddress, StudentNumber};
use crate::domain::password::Password;
use crate::domain::recovery::ResetMethod;
use crate::domain::refusal::Precondition;
use crate::proto;
use crate::proto::recovery_service_server::RecoveryService;
use crate::store::accounts::AccountLookup;
use crate::store::activation::Purpose;

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

/// The identifier of a reset request, parsed.
fn reset_identifier(
    identifier: Option<proto::request_password_reset_request::Identifier>,
) -> Result<ResetIdentifier, AppError> {
    use proto::request_password_reset_request::Identifier;
    let identifier = identifier.ok_or_else(|| {
        AppError::field(
            "identifier",
            "give the login, the INE or the institutional mail",
        )
    })?;
    Ok(match identifier {
        Identifier::Login(login) => {
            let login = login.trim().to_owned();
            if login.is_empty() || login.len() > 254 {
                return Err(AppError::field("login", "must be 1 to 254 characters"));
            }
            ResetIdentifier::Login(login)
        }
        Identifier::Ine(ine) => {
            ResetIdentifier::Ine(Ine::parse(&ine).map_err(|e| AppError::field("ine", e.0))?)
        }
        Identifier::InstitutionalMail(mail) => ResetIdentifier::Mail(
            MailAddress::parse(&mail).map_err(|e| AppError::field("institutional_mail", e.0))?,
        ),
    })
}

#[tonic::async_trait]
impl RecoveryService for RecoveryApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn request_password_reset(
        &self,
        request: Request<proto::RequestPasswordResetRequest>,
    ) -> Result<Response<proto::RequestPasswordResetResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.into_inner();
            // Every refused field at once.
            let code = body.institution.trim();
            let (institution, identifier) = (
                institution(&self.state, code),
                reset_identifier(body.identifier),
            );
            let identifier = match (institution, identifier) {
                (Ok(_), Ok(identifier)) => identifier,
                (Err(a), Err(b)) => return Err(AppError::merge(a, b)),
                (Err(e), _) | (_, Err(e)) => return Err(e),
            };
            let answer = self
                .state
                .request_password_reset(code, identifier, &ctx)
                .await?;
            let method = match answer.method {
                ResetMethod::ResetLink => proto::ResetMethod::Link,
                ResetMethod::ActivationKey => proto::ResetMethod::ActivationKey,
            };
            Ok(proto::RequestPasswordResetResponse {
                method: method as i32,
                notice: Some(encode::notice(answer.notice)),
            })
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
