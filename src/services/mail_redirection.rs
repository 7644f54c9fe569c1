//! MailRedirectionService: forwarding of university mail after activation.
//! A new address is in force once verified (by a link, or because it is the
//! verified recovery address); a mandatory redirect (teaching vacataires)
//! can be changed but not stopped.

use chrono::{DateTime, Utc};
use serde_json::json;
use tonic::{Request, Response, Status};

use super::encode_account;
use super::{App, account_lookup, begin_call, reply};
use crate::app::AppError;
use crate::app::texts::mail::Verifying;
use crate::domain::activation::RedirectRule;
use crate::domain::refusal::Precondition;
use crate::domain::self_service::{Redirect, RedirectError, set_redirect};
use crate::proto;
use crate::proto::mail_redirection_service_server::MailRedirectionService;
use crate::store::account_fields::{self, AccountChange};
use crate::store::accounts::AccountLookup;
use crate::store::activation::Purpose;
use crate::store::entities::account;
use crate::store::feed::ChangeKind;
use crate::store::self_service::AccountWrite;

pub struct MailRedirectionApi {
    state: App,
}

impl MailRedirectionApi {
    pub fn new(state: App) -> Self {
        Self { state }
    }
}

fn no_mailbox() -> AppError {
    AppError::FailedPrecondition {
        kind: Precondition::NoMailbox,
        subject: "account".into(),
        message: "this account has no university mailbox to redirect".into(),
    }
}

/// The redirect as the API shows it.
fn encode_redirect(
    state: &App,
    account: &account::Model,
    now: DateTime<Utc>,
) -> proto::MailRedirect {
    encode_account(state, account, now)
        .mail_redirect
        .unwrap_or_default()
}

/// An account in use with a mailbox.
async fn mailbox_account(
    state: &App,
    lookup: AccountLookup<'_>,
) -> Result<account::Model, AppError> {
    let account = state.account_in_use(lookup).await?;
    if account.institutional_mail.is_none() {
        return Err(no_mailbox());
    }
    Ok(account)
}

#[tonic::async_trait]
impl MailRedirectionService for MailRedirectionApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_mail_redirect(
        &self,
        request: Request<proto::GetMailRedirectRequest>,
    ) -> Result<Response<proto::GetMailRedirectResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = mailbox_account(&self.state, lookup).await?;
            Ok(proto::GetMailRedirectResponse {
                mail_redirect: Some(encode_redirect(&self.state, &account, now)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn set_mail_redirect(
        &self,
        request: Request<proto::SetMailRedirectRequest>,
    ) -> Result<Response<proto::SetMailRedirectResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let input = body
                .address
                .as_ref()
                .ok_or_else(|| AppError::field("address", "the address is needed, typed twice"))?;
            let address = super::inputs::mail_input(input, "address")
                .map_err(|v| AppError::InvalidArgument(vec![v]))?;
            let account = mailbox_account(&self.state, lookup).await?;
            let recovery = account
                .recovery_mail_verified_at
                .and(account.recovery_mail.as_deref());
            let (redirect, needs_link) = set_redirect(
                &account_fields::redirect(&account),
                &address,
                body.keep_copy,
                account.institutional_mail.as_deref(),
                recovery,
                now,
            )
            .map_err(|e| match e {
                RedirectError::Loop => AppError::field("address.address", e.to_string()),
            })?;
            let mut write = AccountWrite {
                account: &account,
                changes: vec![AccountChange::Redirect(redirect.clone())],
                spend: Vec::new(),
                revoke: vec![Purpose::RedirectChange],
                secrets: Vec::new(),
                messages: Vec::new(),
                audit: (
                    "mail_redirect.set",
                    json!({ "verified": !needs_link, "keep_copy": redirect.keep_copy }),
                ),
                feed: vec![ChangeKind::MailRedirectChanged],
            };
            let mut notice = None;
            if needs_link {
                self.state
                    .link_cooldown(&account, Purpose::RedirectChange, now)
                    .await?;
                let link = self.state.address_link(
                    &account,
                    Verifying::Redirect,
                    address.as_str(),
                    language,
                    now,
                )?;
                write.secrets.push(link.secret);
                write.messages.push(link.message);
                notice = Some(super::encode::notice(link.notice));
            }
            let account = self.state.store.write_account(write, &ctx, now).await?;
            Ok(proto::SetMailRedirectResponse {
                mail_redirect: Some(encode_redirect(&self.state, &account, now)),
                notice,
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn verify_mail_redirect(
        &self,
        request: Request<proto::VerifyMailRedirectRequest>,
    ) -> Result<Response<proto::VerifyMailRedirectResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let (secret, account) = self
                .state
                .account_link(&body.token, Purpose::RedirectChange, now)
                .await?;
            // The link verifies the address it was sent to, only while that
            // address is still the one waiting.
            let pending = account.redirect_verified_at.is_none()
                && account
                    .redirect_address
                    .as_deref()
                    .zip(secret.target.as_deref())
                    .is_some_and(|(a, t)| a.eq_ignore_ascii_case(t));
            if !pending {
                return Err(crate::app::links::link_unusable());
            }
            let account = self
                .state
                .store
                .write_account(
                    AccountWrite {
                        account: &account,
                        changes: vec![AccountChange::Redirect(Redirect {
                            verified_at: Some(now),
                            ..account_fields::redirect(&account)
                        })],
                        spend: vec![secret.id.clone()],
                        revoke: vec![Purpose::RedirectChange],
                        secrets: Vec::new(),
                        messages: Vec::new(),
                        audit: ("mail_redirect.verified", json!({})),
                        feed: vec![ChangeKind::MailRedirectChanged],
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::VerifyMailRedirectResponse {
                mail_redirect: Some(encode_redirect(&self.state, &account, now)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn resend_mail_redirect_verification(
        &self,
        request: Request<proto::ResendMailRedirectVerificationRequest>,
    ) -> Result<Response<proto::ResendMailRedirectVerificationResponse>, Status> {
        let ctx = begin_call(&request);
        let language = ctx.language;
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = mailbox_account(&self.state, lookup).await?;
            let Some(address) = account
                .redirect_address
                .clone()
                .filter(|_| account.redirect_verified_at.is_none())
            else {
                return Err(AppError::FailedPrecondition {
                    kind: Precondition::NothingToVerify,
                    subject: "account".into(),
                    message: "no redirect address is waiting for verification".into(),
                });
            };
            self.state
                .link_cooldown(&account, Purpose::RedirectChange, now)
                .await?;
            let link =
                self.state
                    .address_link(&account, Verifying::Redirect, &address, language, now)?;
            self.state
                .store
                .issue_account_secrets(
                    &account,
                    &[Purpose::RedirectChange],
                    vec![link.secret],
                    vec![link.message],
                    Some(("mail_redirect.verification_resent", json!({}), &ctx)),
                    now,
                )
                .await?;
            Ok(proto::ResendMailRedirectVerificationResponse {
                notice: Some(super::encode::notice(link.notice)),
            })
        }
        .await;
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn disable_mail_redirect(
        &self,
        request: Request<proto::DisableMailRedirectRequest>,
    ) -> Result<Response<proto::DisableMailRedirectResponse>, Status> {
        let ctx = begin_call(&request);
        let now = self.state.now();
        let result = async {
            let body = request.into_inner();
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let account = mailbox_account(&self.state, lookup).await?;
            if self.state.profile_of(&account)?.activation.mail_redirect == RedirectRule::Mandatory
            {
                return Err(AppError::FailedPrecondition {
                    kind: Precondition::RedirectMandatory,
                    subject: "account".into(),
                    message:
                        "this profile must keep its mail redirected: change the address instead"
                            .into(),
                });
            }
            if account.redirect_address.is_none() {
                return Ok(proto::DisableMailRedirectResponse {
                    mail_redirect: Some(encode_redirect(&self.state, &account, now)),
                });
            }
            let account = self
                .state
                .store
                .write_account(
                    AccountWrite {
                        account: &account,
                        changes: vec![AccountChange::Redirect(Redirect::default())],
                        spend: Vec::new(),
                        revoke: vec![Purpose::RedirectChange],
                        secrets: Vec::new(),
                        messages: Vec::new(),
                        audit: ("mail_redirect.disabled", json!({})),
                        feed: vec![ChangeKind::MailRedirectChanged],
                    },
                    &ctx,
                    now,
                )
                .await?;
            Ok(proto::DisableMailRedirectResponse {
                mail_redirect: Some(encode_redirect(&self.state, &account, now)),
            })
        }
        .await;
        reply(result, &ctx)
    }
}
