//! MailRedirectionService: forwarding of university mail after activation
//! (`app::redirection`), decoded and encoded.

use tonic::{Request, Response, Status};

use super::{App, account_lookup, begin_call, encode, encode_account, reply};
use crate::app::CallContext;
use crate::app::redirection::RedirectRequest;
use crate::domain::account::Account;
use crate::proto;
use crate::proto::mail_redirection_service_server::MailRedirectionService;

pub struct MailRedirectionApi {
    state: App,
}

impl MailRedirectionApi {
    pub fn new(state: App) -> Self {
        Self { state }
    }

    /// The redirect as the API shows it.
    fn redirect(&self, account: &Account, ctx: &CallContext) -> Option<proto::MailRedirect> {
        let now = self.state.now();
        Some(
            encode_account(&self.state, account, (now, ctx))
                .mail_redirect
                .unwrap_or_default(),
        )
    }
}

#[tonic::async_trait]
impl MailRedirectionService for MailRedirectionApi {
    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn get_mail_redirect(
        &self,
        request: Request<proto::GetMailRedirectRequest>,
    ) -> Result<Response<proto::GetMailRedirectResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let lookup = account_lookup(request.get_ref().account.as_ref(), "account")?;
            let account = self.state.mailbox_account(lookup).await?;
            Ok(proto::GetMailRedirectResponse {
                mail_redirect: self.redirect(&account, &ctx),
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
        let body = request.get_ref();
        let result = async {
            let lookup = account_lookup(body.account.as_ref(), "account")?;
            let address = super::inputs::required_mail_input(body.address.as_ref(), "address")?;
            let set = self
                .state
                .set_mail_redirect(
                    lookup,
                    RedirectRequest {
                        address: &address,
                        keep_copy: body.keep_copy,
                        presence: super::inputs::presence(body.presence.as_ref()),
                    },
                    &ctx,
                )
                .await?;
            Ok(proto::SetMailRedirectResponse {
                mail_redirect: self.redirect(&set.account, &ctx),
                notice: set.notice.map(encode::notice),
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
        let result = self
            .state
            .verify_mail_redirect(&request.get_ref().token, &ctx)
            .await
            .map(|account| proto::VerifyMailRedirectResponse {
                mail_redirect: self.redirect(&account, &ctx),
            });
        reply(result, &ctx)
    }

    #[tracing::instrument(skip_all, fields(request_id, client))]
    async fn resend_mail_redirect_verification(
        &self,
        request: Request<proto::ResendMailRedirectVerificationRequest>,
    ) -> Result<Response<proto::ResendMailRedirectVerificationResponse>, Status> {
        let ctx = begin_call(&request);
        let result = async {
            let lookup = account_lookup(request.get_ref().account.as_ref(), "account")?;
            let sent = self
                .state
                .resend_mail_redirect_verification(lookup, &ctx)
                .await?;
            Ok(proto::ResendMailRedirectVerificationResponse {
                notice: Some(encode::notice(sent)),
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
        let result = async {
            let lookup = account_lookup(request.get_ref().account.as_ref(), "account")?;
            let account = self.state.disable_mail_redirect(lookup, &ctx).await?;
            Ok(proto::DisableMailRedirectResponse {
                mail_redirect: self.redirect(&account, &ctx),
            })
        }
        .await;
        reply(result, &ctx)
    }
}
