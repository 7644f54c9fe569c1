//! RecoveryService: forgotten password and forgotten login. They arrive with the recovery work; until then every RPC answers UNIMPLEMENTED (the
//! generated default stubs).

use super::AppState;
use crate::proto::recovery_service_server::RecoveryService;

pub struct RecoveryApi {
    #[allow(dead_code)]
    state: AppState,
}

impl RecoveryApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl RecoveryService for RecoveryApi {}
