//! MailRedirectionService: forwarding of university mail. It arrives with the redirection work; until then every RPC answers UNIMPLEMENTED (the
//! generated default stubs).

use super::AppState;
use crate::proto::mail_redirection_service_server::MailRedirectionService;

pub struct MailRedirectionApi {
    #[allow(dead_code)]
    state: AppState,
}

impl MailRedirectionApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl MailRedirectionService for MailRedirectionApi {}
