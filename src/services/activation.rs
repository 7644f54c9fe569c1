//! ActivationService: the first-login journey. The strength meter
//! (`EvaluatePassword`) is here; the flows arrive with the activation work
//! and answer UNIMPLEMENTED (the generated default stubs) until then.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::passwords::{language, read_password, violation_code};
use super::status::ApiError;
use super::{AppState, account_lookup, begin_call, reply};
use crate::domain::password::{Evaluation, Strength};
use crate::domain::secret::{SecretKind, hash_secret};
use crate::proto;
use crate::proto::activation_service_server::ActivationService;
use crate::proto::evaluate_password_request::Context;

pub struct ActivationApi {
    state: AppState,
}

impl ActivationApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn encode_evaluation(
    evaluation: &Evaluation,
    language: crate::domain::language::Language,
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
                message: v.message(language),
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl ActivationService for ActivationApi {
    #[tracing::instrument(skip_all, fields(request_id))]
    async fn evaluate_password(
        &self,
        request: Request<proto::EvaluatePasswordRequest>,
    ) -> Result<Response<proto::EvaluatePasswordResponse>, Status> {
        let ctx = begin_call(&request);
        let language = language(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let candidate = Arc::new(read_password(body.candidate, "candidate", false)?);
            let not_found = |what: &str| ApiError::NotFound(format!("unknown or expired {what}"));
            let account = match body.context {
                None => {
                    return Err(ApiError::field(
                        "context",
                        "name a flow_token, reset_token, account or policy",
                    ));
                }
                Some(Context::Policy(policy)) => {
                    let rules = self
                        .state
                        .password_policy(&policy.institution, &policy.profile)
                        .ok_or_else(|| {
                            ApiError::field("policy", "no such institution and profile")
                        })?;
                    let evaluation = self
                        .state
                        .evaluate_password(&rules, &candidate, None)
                        .await?;
                    return Ok(encode_evaluation(&evaluation, language));
                }
                Some(Context::Account(selector)) => {
                    let lookup = account_lookup(Some(&selector), "account")?;
                    self.state.account(lookup).await?
                }
                Some(Context::FlowToken(token)) => self
                    .state
                    .store
                    .account_for_flow(&hash_secret(SecretKind::Token, &token), now)
                    .await?
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
        reply(result, &ctx.request_id)
    }
}
