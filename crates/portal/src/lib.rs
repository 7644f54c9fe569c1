//! The portal students and staff use: server-rendered pages over the
//! public gRPC API, as the `portal` caller passing the person's address.
//! Everything it shows of an institution comes from the API's descriptions
//! (`DescribeFirstConnection`, the flows' screens): its templates hold no
//! university's words, and an institution overrides any template from a
//! folder of its own.

mod account;
mod activation;
mod alumni;
mod api;
mod data;
mod desk;
mod guests;
mod language;
mod links;
mod meter;
mod pages;
mod recovery;
mod security;
mod session;
mod templates;
mod texts;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use api::{ApiClient, ClientTls};

/// How the portal runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalSettings {
    /// Where the portal listens.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The gRPC API, for example `https://identity.example.fr`; empty: the
    /// server the portal runs in (quick start).
    #[serde(default)]
    pub api_url: String,
    /// A file holding the portal's bearer token (`ent-identity
    /// client-token` makes one; the API's configuration gives the
    /// `portal` role to its hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_file: Option<PathBuf>,
    /// With an `https://` API: a CA (PEM) its certificate may chain to,
    /// besides the system's trust store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_ca_file: Option<PathBuf>,
    /// The institutions this portal serves, each under `/{code}/` (an
    /// institution's `portal_url` names that address).
    pub institutions: Vec<String>,
    /// A folder whose templates replace the built-in ones of the same
    /// name (`base.html` for the university's logo and colours, ...).
    #[serde(default)]
    pub templates_dir: Option<PathBuf>,
    /// A file holding the key that seals sessions (128 hex digits; `openssl
    /// rand -hex 64`); every replica of a portal shares it. Absent: a new
    /// key at each start, which ends the sessions in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key_file: Option<PathBuf>,
    /// Session cookies only over HTTPS (`Secure`, `__Host-`). Only a portal
    /// listening on loopback (the quick start, over plain HTTP) may turn it
    /// off.
    #[serde(default = "yes")]
    pub secure_cookies: bool,
    /// Proxies whose `X-Forwarded-For` is believed; from anyone else the
    /// connection's own address is the person's.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The desk (`/{code}/desk`) for the agents of the IT support and the
    /// student office; absent: no desk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<DeskSettings>,
}

/// The desk: who may use it, and the credential it calls the API's
/// `HelpdeskService` with.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskSettings {
    /// A file holding the bearer token of a client with the `helpdesk`
    /// role (`ent-identity client-token` makes one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_file: Option<PathBuf>,
    /// The agents, by institution: the logins that reach the desk once
    /// signed in to the account page (`umontpellier = ["mdupont"]`).
    #[serde(default)]
    pub agents: std::collections::BTreeMap<String, Vec<String>>,
}

fn yes() -> bool {
    true
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// What every page handler shares.
#[derive(Clone)]
struct Portal {
    api: ApiClient,
    institutions: Arc<[String]>,
    templates: Arc<templates::Templates>,
    trusted_proxies: Arc<[ipnet::IpNet]>,
    sessions: session::SessionKey,
    known: pages::KnownInstitutions,
    /// The desk's agents, by institution (none: no desk).
    desk_agents: Arc<std::collections::BTreeMap<String, Vec<String>>>,
}

/// Why the portal could not start.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    #[error("the templates folder {0}: {1}")]
    Templates(PathBuf, String),
    #[error("the portal's address {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("the portal stopped: {0}")]
    Serve(std::io::Error),
    #[error("the session key file {0}: {1}")]
    SessionKey(PathBuf, String),
    #[error("portal.secure_cookies = false is only for a portal listening on loopback")]
    InsecureCookies,
}

/// The key that seals sessions: the configured one, else a new one.
fn session_key(settings: &PortalSettings) -> Result<session::SessionKey, PortalError> {
    let secure = settings.secure_cookies;
    if !secure && !settings.listen.ip().is_loopback() {
        return Err(PortalError::InsecureCookies);
    }
    let Some(path) = &settings.session_key_file else {
        tracing::warn!("no portal.session_key_file: sessions end when the portal stops");
        return session::SessionKey::generate(secure)
            .map_err(|e| PortalError::SessionKey(PathBuf::new(), e.to_string()));
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| PortalError::SessionKey(path.clone(), e.to_string()))?;
    session::SessionKey::from_hex(&text, secure)
        .ok_or_else(|| PortalError::SessionKey(path.clone(), "not 128 hex digits".into()))
}

/// The portal's routes, ready to serve.
pub fn router(settings: &PortalSettings, api: ApiClient) -> Result<axum::Router, PortalError> {
    let templates = templates::Templates::new(settings.templates_dir.as_deref())?;
    let portal = Portal {
        api,
        institutions: settings
            .institutions
            .iter()
            .map(|code| code.trim().to_owned())
            .collect(),
        templates: Arc::new(templates),
        trusted_proxies: settings.trusted_proxies.clone().into(),
        sessions: session_key(settings)?,
        known: pages::KnownInstitutions::default(),
        desk_agents: Arc::new(
            settings
                .desk
                .as_ref()
                .map(|d| d.agents.clone())
                .unwrap_or_default(),
        ),
    };
    Ok(pages::routes(portal).layer(axum::middleware::from_fn(security::headers)))
}

/// Serves the portal on `listener` until `shutdown` completes.
pub async fn serve(
    router: axum::Router,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), PortalError> {
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(PortalError::Serve)
}

/// Binds the portal's address.
pub async fn bind(settings: &PortalSettings) -> Result<tokio::net::TcpListener, PortalError> {
    tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| PortalError::Listen(settings.listen, e))
}
