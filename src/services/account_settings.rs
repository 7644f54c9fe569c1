//! AccountSettingsService: what an active user changes from the portal.
//! Password change and verification are here; recovery address, consents
//! and staff settings arrive with the settings work and answer UNIMPLEMENTED
//! (the generated default stubs) until then.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::passwords::{language, password_usable, read_password};
use super::status::ApiError;
use super::{AppState, account_lookup, begin_call, encode, reply};
use crate::domain::password::{Password, must_change};
use crate::proto;
use crate::proto::account_settings_service_server::AccountSettingsService;

pub struct AccountSettingsApi {
    state: AppState,
}

impl AccountSettingsApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

fn not_usable() -> ApiError {
    ApiError::FailedPrecondition {
        kind: "ACCOUNT_STATE",
        subject: "account".into(),
        message: "the account has no password in use (not activated, expired, purged or locked)"
            .into(),
    }
}

#[tonic::async_trait]
impl AccountSettingsService for AccountSettingsApi {
    #[tracing::instrument(skip_all, fields(request_id))]
    async fn change_password(
        &self,
        request: Request<proto::ChangePasswordRequest>,
    ) -> Result<Response<proto::ChangePasswordResponse>, Status> {
        let ctx = begin_call(&request);
        let language = language(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let current = Arc::new(read_password(
                body.current_password,
                "current_password",
                true,
            )?);
            let new_input = body
                .new_password
                .ok_or_else(|| ApiError::field("new_password", "the new password is needed"))?;
            let new = Arc::new(read_password(
                new_input.password,
                "new_password.password",
                true,
            )?);
            let confirmation = Password::new(new_input.confirmation);
            let mut account = self.state.account(lookup).await?;
            if !password_usable(&account) || account.password_hash.is_none() {
                return Err(not_usable());
            }
            if !self.state.verify_password(&mut account, &current).await? {
                return Err(ApiError::field(
                    "current_password",
                    language.pick(
                        "le mot de passe actuel est incorrect",
                        "the current password is wrong",
                    ),
                ));
            }
            let account = self
                .state
                .set_new_password(
                    &account,
                    new,
                    &confirmation,
                    "new_password.password",
                    "password.changed",
                    language,
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::ChangePasswordResponse {
                account: Some(self.state.encode_account(&account, now)),
            })
        }
        .await;
        reply(result, &ctx.request_id)
    }

    #[tracing::instrument(skip_all, fields(request_id))]
    async fn verify_password(
        &self,
        request: Request<proto::VerifyPasswordRequest>,
    ) -> Result<Response<proto::VerifyPasswordResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let typed = Arc::new(read_password(body.password, "password", true)?);
            let mut account = self.state.account(lookup).await?;
            if !password_usable(&account) {
                return Err(not_usable());
            }
            let valid = self.state.verify_password(&mut account, &typed).await?;
            Ok(proto::VerifyPasswordResponse {
                valid,
                must_change: valid
                    && must_change(
                        account.password_must_change,
                        account.password_expires_at,
                        now,
                    ),
                expires_at: account
                    .password_expires_at
                    .filter(|_| valid)
                    .map(encode::timestamp),
            })
        }
        .await;
        reply(result, &ctx.request_id)
    }
}
