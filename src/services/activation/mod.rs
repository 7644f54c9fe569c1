//! ActivationService: the first-login journey (`app::activation`), decoded
//! from and encoded to the API.

pub(crate) mod encode;

use crate::domain::ids::PersonName;
use crate::domain::problem::Problem;
use tonic::{Request, Response, Status};

use super::{App, account_lookup, begin_call, reply};
use crate::app::activation::{Entry, IdentityFields, ScreenInput, Started, Submitted};
use crate::app::error::AppError;
use crate::app::passwords::{CandidateFor, may_judge_for_accounts};
use crate::domain::activation::{RedirectInput, Submission};
use crate::domain::language::Language;
use crate::domain::provisioning::Violation;
use crate::proto;
use crate::proto::activation_service_server::ActivationService;
use crate::proto::evaluate_password_request::Context;
use crate::proto::start_activation_request::Entry as ProtoEntry;
use crate::services::encode::notice;

pub struct ActivationApi {
    state: App,
}

impl ActivationApi {
    pub fn new(state: App) -> Self {
        Self { state }
    }
}

fn entry(entry: Option<ProtoEntry>) -> Result<Entry, AppError> {
    let entry = entry.ok_or_else(|| AppError::field("entry", Problem::Missing))?;
    Ok(match entry {
        ProtoEntry::Key(k) => Entry::Key {
            login: k.login,
            key: k.activation_key,
        },
        ProtoEntry::ProvisionalPassword(p) => Entry::ProvisionalPassword {
            login: p.login,
            password: p.provisional_password,
        },
        ProtoEntry::Link(l) => Entry::Link { token: l.token },
        ProtoEntry::IdentityMatch(m) => Entry::IdentityMatch(identity_fields(m)),
    })
}

/// The attributes of an identity check, as typed.
fn identity_fields(m: proto::IdentityMatchEntry) -> IdentityFields {
    IdentityFields {
        student_number: m.student_number,
        ine: m.ine,
        hr_id: m.hr_id,
        birth_date: m.birth_date,
        family_name: m.family_name,
        mobile_phone: m.mobile_phone,
        personal_mail: m.personal_mail,
    }
}

fn started(started: Started, language: Language) -> proto::StartActivationResponse {
    proto::StartActivationResponse {
        flow_token: started.flow_token,
        flow: Some(encode::flow(started.flow, language)),
    }
}

fn submitted(submitted: Submitted, language: Language) -> proto::SubmitActivationScreenResponse {
    proto::SubmitActivationScreenResponse {
        flow: Some(encode::flow(submitted.flow, language)),
        notice: submitted.notice.map(notice),
    }
}

/// Reads a submitted screen: its items, every bad one kept for the answer
/// (which reports them with the screen's other problems), and the password
/// as typed.
fn screen_input(body: proto::SubmitActivationScreenRequest) -> ScreenInput {
    let mut problems = Vec::new();
    let mut bad = |field: &str, problem: Problem| problems.push(Violation::new(field, problem));
    let mut mail_pair = |input: &proto::MailInput, field: &str| {
        super::inputs::mail_input(input, field)
            .map_err(|v| bad(&v.field, v.problem))
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
                bad("mail_redirect.address", Problem::Missing);
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
            bad("charter.accepted", Problem::CharterNotAccepted);
            None
        }
        Some(c) => Some(c.version.trim().to_owned()),
        None => None,
    };
    let names = body.names.as_ref().and_then(|n| {
        let given = PersonName::parse(&n.given_name).map_err(|p| bad("names.given_name", p));
        let family = PersonName::parse(&n.family_name).map_err(|p| bad("names.family_name", p));
        given.ok().zip(family.ok())
    });
    let photo = match &body.photo {
        Some(p) => super::inputs::photo_choice(p, "photo")
            .map_err(|violations| {
                for v in violations {
                    bad(&v.field, v.problem);
                }
            })
            .ok(),
        None => None,
    };
    ScreenInput {
        submission: Submission {
            names,
            recovery_mail,
            charter_version,
            directory_listed: body.directory_listed,
            photo,
            crous_sharing: body.crous_sharing,
            redirect,
            password_hash: None,
            password_given: false,
            mobile_phone: None,
            consents: super::inputs::consent_input(&body.consents),
        },
        mobile_phone: Some(body.mobile_phone).filter(|p| !p.trim().is_empty()),
        password: body.password.map(|p| (p.password, p.confirmation)),
        refused: problems,
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
        let body = request.into_inner();
        let result = async {
            let entry = entry(body.entry)?;
            let flow = self
                .state
                .start_activation(&body.institution, entry, &ctx)
                .await?;
            Ok(started(flow, ctx.language))
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn request_activation_link(
        &self,
        request: Request<proto::RequestActivationLinkRequest>,
    ) -> Result<Response<proto::RequestActivationLinkResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let result = self
            .state
            .request_activation_link(&body.institution, &body.login, &ctx)
            .await
            .map(|sent| proto::RequestActivationLinkResponse {
                notice: Some(notice(sent)),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_activation_flow(
        &self,
        request: Request<proto::GetActivationFlowRequest>,
    ) -> Result<Response<proto::GetActivationFlowResponse>, Status> {
        let ctx = begin_call(&request);
        let result = self
            .state
            .activation_flow(&request.get_ref().flow_token, &ctx)
            .await
            .map(|flow| proto::GetActivationFlowResponse {
                flow: Some(encode::flow(flow, ctx.language)),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn verify_activation_code(
        &self,
        request: Request<proto::VerifyActivationCodeRequest>,
    ) -> Result<Response<proto::VerifyActivationCodeResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let result = self
            .state
            .verify_activation_code(&body.flow_token, &body.code, &ctx)
            .await
            .map(|flow| proto::VerifyActivationCodeResponse {
                flow: Some(encode::flow(flow, ctx.language)),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn verify_activation_identity(
        &self,
        request: Request<proto::VerifyActivationIdentityRequest>,
    ) -> Result<Response<proto::VerifyActivationIdentityResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let typed = identity_fields(body.identity_match.unwrap_or_default());
        let result = self
            .state
            .verify_activation_identity(&body.flow_token, &typed, &ctx)
            .await
            .map(|flow| proto::VerifyActivationIdentityResponse {
                flow: Some(encode::flow(flow, ctx.language)),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn confirm_activation_link(
        &self,
        request: Request<proto::ConfirmActivationLinkRequest>,
    ) -> Result<Response<proto::ConfirmActivationLinkResponse>, Status> {
        let ctx = begin_call(&request);
        let result = self
            .state
            .confirm_activation_link(&request.get_ref().token, &ctx)
            .await
            .map(|handle| proto::ConfirmActivationLinkResponse {
                flow_token: handle.flow_token,
                flow: Some(encode::flow(handle.flow, ctx.language)),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn resend_activation_message(
        &self,
        request: Request<proto::ResendActivationMessageRequest>,
    ) -> Result<Response<proto::ResendActivationMessageResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let step = encode::step_of_message(body.kind);
        let result = async {
            let chosen = encode::code_channel(body.channel)?;
            let sent = self
                .state
                .resend_activation_message(&body.flow_token, (step, chosen), &ctx)
                .await?;
            Ok(proto::ResendActivationMessageResponse {
                notice: Some(notice(sent)),
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
        let body = request.into_inner();
        let flow_token = body.flow_token.clone();
        let result = async {
            let input = screen_input(body);
            let done = self
                .state
                .submit_activation_screen(&flow_token, input, &ctx)
                .await?;
            Ok(submitted(done, ctx.language))
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn describe_first_connection(
        &self,
        request: Request<proto::DescribeFirstConnectionRequest>,
    ) -> Result<Response<proto::DescribeFirstConnectionResponse>, Status> {
        let ctx = begin_call(&request);
        let result = self
            .state
            .describe_first_connection(&request.get_ref().institution, ctx.language)
            .map(encode::first_connection);
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn evaluate_password(
        &self,
        request: Request<proto::EvaluatePasswordRequest>,
    ) -> Result<Response<proto::EvaluatePasswordResponse>, Status> {
        let ctx = begin_call(&request);
        let body = request.into_inner();
        let result = async {
            let subject = match &body.context {
                None => None,
                Some(Context::Policy(policy)) => Some(CandidateFor::Policy {
                    institution: &policy.institution,
                    profile: &policy.profile,
                }),
                Some(Context::Account(selector)) => {
                    may_judge_for_accounts(&ctx)?;
                    let lookup = account_lookup(Some(selector), "account")?;
                    Some(CandidateFor::Account(lookup))
                }
                Some(Context::FlowToken(token)) => Some(CandidateFor::FlowToken(token)),
                Some(Context::ResetToken(token)) => Some(CandidateFor::ResetToken(token)),
            };
            let judged = self
                .state
                .judge_candidate(body.candidate.clone(), subject, &ctx)
                .await?;
            Ok(encode::evaluation(&judged, ctx.language))
        }
        .await;
        reply(result, &ctx)
    }
}
