//! AccountSettingsService: password change, recovery address, consents and staff settings. They arrive with the settings work; until then every RPC answers UNIMPLEMENTED (the
//! generated default stubs).

use super::AppState;
use crate::proto::account_settings_service_server::AccountSettingsService;

pub struct AccountSettingsApi {
    #[allow(dead_code)]
    state: AppState,
}

impl AccountSettingsApi {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl AccountSettingsService for AccountSettingsApi {}
