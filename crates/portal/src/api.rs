//! The gRPC API as the portal calls it: as the `portal` client (its bearer
//! token), on behalf of one person (their address, for the API's rate
//! limits) in their language.

use std::net::IpAddr;

use proto::account_lifecycle_service_client::AccountLifecycleServiceClient;
use proto::account_settings_service_client::AccountSettingsServiceClient;
use proto::activation_service_client::ActivationServiceClient;
pub use proto::client::ClientTls;
use proto::guest_service_client::GuestServiceClient;
use proto::helpdesk_service_client::HelpdeskServiceClient;
use proto::mail_redirection_service_client::MailRedirectionServiceClient;
use proto::recovery_service_client::RecoveryServiceClient;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;

use crate::language::Language;

/// A connection to the API and the portal's credential.
#[derive(Clone)]
pub struct ApiClient {
    channel: Channel,
    authorization: MetadataValue<tonic::metadata::Ascii>,
    /// The desk's credential (a `helpdesk` client), when the portal has a
    /// desk.
    desk_authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
}

/// Why the API could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the API address: {0}")]
    Address(String),
    #[error("the portal's token is not a header value")]
    Token,
}

impl ApiClient {
    /// A client of the API at `url` (connected lazily: the portal starts
    /// even while the API is down, and its pages say so).
    pub fn new(url: &str, token: &str) -> Result<ApiClient, ConnectError> {
        ApiClient::with_tls(url, token, ClientTls::default())
    }

    /// The same, with a CA (or a client certificate) for an `https://` API
    /// beyond the system's trust store.
    pub fn with_tls(url: &str, token: &str, tls: ClientTls) -> Result<ApiClient, ConnectError> {
        let endpoint = proto::client::endpoint(url, tls).map_err(ConnectError::Address)?;
        let authorization = format!("Bearer {}", token.trim())
            .parse()
            .map_err(|_| ConnectError::Token)?;
        Ok(ApiClient {
            channel: endpoint.connect_lazy(),
            authorization,
            desk_authorization: None,
        })
    }

    /// The same client, calling `HelpdeskService` with `token` (a
    /// `helpdesk` client's).
    pub fn with_desk_token(mut self, token: &str) -> Result<ApiClient, ConnectError> {
        let authorization = format!("Bearer {}", token.trim())
            .parse()
            .map_err(|_| ConnectError::Token)?;
        self.desk_authorization = Some(authorization);
        Ok(self)
    }

    /// A desk request: the desk's credential instead of the portal's.
    /// `None` without a desk credential.
    pub fn desk_request<T>(&self, body: T, person: &Person) -> Option<tonic::Request<T>> {
        let authorization = self.desk_authorization.clone()?;
        let mut request = self.request(body, person);
        request
            .metadata_mut()
            .insert("authorization", authorization);
        Some(request)
    }

    /// Whether the portal holds the desk's credential.
    pub fn has_desk(&self) -> bool {
        self.desk_authorization.is_some()
    }

    pub fn desk(&self) -> HelpdeskServiceClient<Channel> {
        HelpdeskServiceClient::new(self.channel.clone())
    }

    /// A request carrying the portal's credential and the person's address
    /// and language.
    pub fn request<T>(&self, body: T, person: &Person) -> tonic::Request<T> {
        let mut request = tonic::Request::new(body);
        let metadata = request.metadata_mut();
        metadata.insert("authorization", self.authorization.clone());
        if let Ok(address) = person.address.to_string().parse() {
            metadata.insert("x-end-user-address", address);
        }
        metadata.insert(
            "accept-language",
            MetadataValue::from_static(person.language.code()),
        );
        request
    }

    pub fn activation(&self) -> ActivationServiceClient<Channel> {
        ActivationServiceClient::new(self.channel.clone())
    }

    pub fn recovery(&self) -> RecoveryServiceClient<Channel> {
        RecoveryServiceClient::new(self.channel.clone())
    }

    pub fn settings(&self) -> AccountSettingsServiceClient<Channel> {
        AccountSettingsServiceClient::new(self.channel.clone())
    }

    pub fn lifecycle(&self) -> AccountLifecycleServiceClient<Channel> {
        AccountLifecycleServiceClient::new(self.channel.clone())
    }

    pub fn redirection(&self) -> MailRedirectionServiceClient<Channel> {
        MailRedirectionServiceClient::new(self.channel.clone())
    }

    pub fn guests(&self) -> GuestServiceClient<Channel> {
        GuestServiceClient::new(self.channel.clone())
    }
}

/// The person a page is served to.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub address: IpAddr,
    pub language: Language,
}
