//! ActivationService: the first-login journey. Its flows arrive with the activation work; until then every RPC answers UNIMPLEMENTED (the
//! generated default stubs).

use super::AppState;
use crate::proto::activation_service_server::ActivationService;

pub struct ActivationApi {
    #[allow(dead_code)]
    state: AppState,
}

impl ActivationApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl ActivationService for ActivationApi {}
