//! RecoveryService: forgotten password and forgotten login, for users who
//! are not signed in. A reset request is answered before anything is
//! looked at beyond the account lookup, and what it sends is written in
//! the background, so neither the answer nor its timing tells whether the
//! account exists or has a recovery address.

use crate::domain::problem::Problem;
use tonic::{Request, Response, Status};

use super::{App, begin_call, encode, encode::timestamp, reply};
use crate::app::error::AppError;
use crate::app::recovery::{
    LoginLookup, ResetCodeTyped, ResetIdentifier, ResetInput, ResetRequest,
};
use crate::domain::ids::{Ine, MailAddress, check_typed_identifier};
use crate::domain::recovery::{ResetChannel, ResetMethod};
use crate::proto;
use crate::proto::recovery_service_server::RecoveryService;
use crate::services::activation::encode as forms;

pub struct RecoveryApi {
    state: App,
}

impl RecoveryApi {
    pub fn new(state: App) -> Self {
        Self { state }
    }
}

/// The identifier of a reset request, parsed where its kind is known.
fn reset_identifier(
    identifier: Option<proto::request_password_reset_request::Identifier>,
) -> Result<ResetInput, AppError> {
    use proto::request_password_reset_request::Identifier;
    let identifier = identifier.ok_or_else(|| AppError::field("identifier", Problem::Missing))?;
    Ok(ResetInput::Parsed(match identifier {
        Identifier::Login(login) => {
            let login = login.trim().to_owned();
            check_typed_identifier(&login).map_err(|e| AppError::field("login", e))?;
            ResetIdentifier::Login(login)
        }
        Identifier::Ine(ine) => {
            ResetIdentifier::Ine(Ine::parse(&ine).map_err(|e| AppError::field("ine", e))?)
        }
        Identifier::InstitutionalMail(mail) => ResetIdentifier::Mail(
            MailAddress::parse(&mail).map_err(|e| AppError::field("institutional_mail", e))?,
        ),
        Identifier::TypedIdentifier(typed) => return Ok(ResetInput::Typed(typed)),
    }))
}

/// The identifier a code is typed for: the same choice as the request's.
fn code_identifier(
    identifier: Option<proto::verify_reset_code_request::Identifier>,
) -> Result<ResetInput, AppError> {
    use proto::request_password_reset_request::Identifier as Asked;
    use proto::verify_reset_code_request::Identifier;
    reset_identifier(identifier.map(|identifier| match identifier {
        Identifier::Login(login) => Asked::Login(login),
        Identifier::Ine(ine) => Asked::Ine(ine),
        Identifier::InstitutionalMail(mail) => Asked::InstitutionalMail(mail),
        Identifier::TypedIdentifier(typed) => Asked::TypedIdentifier(typed),
    }))
}

/// The channel a request asks for; `None`: the institution's first.
fn reset_channel(channel: i32) -> Result<Option<ResetChannel>, AppError> {
    match proto::ResetChannel::try_from(channel) {
        Ok(proto::ResetChannel::Unspecified) => Ok(None),
        Ok(proto::ResetChannel::Mail) => Ok(Some(ResetChannel::Mail)),
        Ok(proto::ResetChannel::Sms) => Ok(Some(ResetChannel::Sms)),
        Err(_) => Err(AppError::field("channel", Problem::UnknownValue)),
    }
}

fn channel_of(channel: ResetChannel) -> proto::ResetChannel {
    match channel {
        ResetChannel::Mail => proto::ResetChannel::Mail,
        ResetChannel::Sms => proto::ResetChannel::Sms,
    }
}

/// What a reset sends: by SMS a code, by mail what the method says.
fn reset_method(channel: ResetChannel, method: ResetMethod) -> proto::ResetMethod {
    match (channel, method) {
        (ResetChannel::Sms, _) => proto::ResetMethod::SmsCode,
        (ResetChannel::Mail, ResetMethod::ResetLink) => proto::ResetMethod::Link,
        (ResetChannel::Mail, ResetMethod::ActivationKey) => proto::ResetMethod::ActivationKey,
    }
}

#[tonic::async_trait]
impl RecoveryService for RecoveryApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn describe_recovery(
        &self,
        request: Request<proto::DescribeRecoveryRequest>,
    ) -> Result<Response<proto::DescribeRecoveryResponse>, Status> {
        let ctx = begin_call(&request);
        let result = self
            .state
            .describe_recovery(&request.get_ref().institution, ctx.language)
            .map(|described| proto::DescribeRecoveryResponse {
                institution: Some(forms::institution_info(described.institution)),
                method: reset_method(ResetChannel::Mail, described.method) as i32,
                password_reset: Some(forms::form(described.password_reset)),
                login_lookup: described.login_lookup.map(forms::form),
                channels: described
                    .channels
                    .into_iter()
                    .map(|c| channel_of(c) as i32)
                    .collect(),
                reset_code: described.reset_code.map(forms::form),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn request_password_reset(
        &self,
        request: Request<proto::RequestPasswordResetRequest>,
    ) -> Result<Response<proto::RequestPasswordResetResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let body = request.into_inner();
            let asked = ResetRequest {
                identifier: reset_identifier(body.identifier),
                channel: reset_channel(body.channel),
                institution: body.institution,
            };
            let answer = self.state.request_password_reset(asked, &ctx).await?;
            Ok(proto::RequestPasswordResetResponse {
                method: reset_method(answer.channel, answer.method) as i32,
                channel: channel_of(answer.channel) as i32,
                notice: Some(encode::notice(answer.notice)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn verify_reset_code(
        &self,
        request: Request<proto::VerifyResetCodeRequest>,
    ) -> Result<Response<proto::VerifyResetCodeResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let typed = ResetCodeTyped {
            identifier: code_identifier(body.identifier),
            institution: body.institution,
            code: body.code,
        };
        let result = self
            .state
            .verify_reset_code(typed, &ctx)
            .await
            .map(|token| proto::VerifyResetCodeResponse {
                token: token.token,
                expires_at: Some(timestamp(token.expires_at)),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_password_reset(
        &self,
        request: Request<proto::GetPasswordResetRequest>,
    ) -> Result<Response<proto::GetPasswordResetResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let link = self.state.password_reset(&request.get_ref().token).await?;
            let form =
                self.state
                    .new_password_form(&link.institution, &link.profile, ctx.language)?;
            let policy = self
                .state
                .password_policy(&link.institution, &link.profile)
                .ok_or_else(|| AppError::inconsistent("profile vanished"))?;
            let institution = self.state.institution_view(&link.institution)?;
            Ok(proto::GetPasswordResetResponse {
                institution_info: Some(forms::institution_info(institution)),
                login: link.login,
                expires_at: link.expires_at.map(timestamp),
                institution: link.institution,
                profile: link.profile,
                form: Some(forms::form(form)),
                password_rules: Some(forms::password_rules(&policy, ctx.language)),
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
        let body = request.into_inner();
        let new_password = body.new_password.map(|n| (n.password, n.confirmation));
        let result = self
            .state
            .complete_password_reset(&body.token, new_password, &ctx)
            .await
            .map(|account| proto::CompletePasswordResetResponse {
                login: account.login,
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn recover_login(
        &self,
        request: Request<proto::RecoverLoginRequest>,
    ) -> Result<Response<proto::RecoverLoginResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.get_ref();
        let typed = LoginLookup {
            institution: &body.institution,
            student_number: &body.student_number,
            birth_date: &body.birth_date,
        };
        let result = self.state.recover_login(typed, &ctx).await.map(|account| {
            proto::RecoverLoginResponse {
                login: account.login,
                institutional_mail: account.institutional_mail.unwrap_or_default(),
            }
        });
        reply(result, &ctx)
    }
}
