//! Caller authentication and authorisation, before any service runs: a
//! bearer token or a client certificate names a configured client, and the
//! access table says whether its roles may call the method. The admitted
//! [`Caller`] travels in the request's extensions to the services (audit
//! actor, end user's address for rate limits).

pub mod roles;

use crate::domain::problem::Problem;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::Either;
use subtle::ConstantTimeEq;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

pub use roles::{ACCESS_TABLE, Access, Role, access_of, entry_of};

use crate::app::AppError;
pub use crate::call::Caller;
use crate::config::{AuthSettings, BROWSER_CLIENT, ClientSettings, GrpcWebSettings, Settings};
pub use crate::domain::end_user::EndUserAddress;
use crate::domain::secret::{self, SecretKind};
use ipnet::IpNet;

/// Metadata key in which the portal passes the end user's IP address.
pub const END_USER_ADDRESS_HEADER: &str = "x-end-user-address";

struct Client {
    name: Arc<str>,
    roles: Vec<Role>,
    personal_data: bool,
}

/// The configured clients, ready to recognise credentials.
pub struct Clients {
    clients: Vec<Client>,
    /// (SHA-256 hex of a token, index into `clients`).
    tokens: Vec<(String, usize)>,
    /// (SHA-256 hex of a DER certificate, index into `clients`).
    certificates: Vec<(String, usize)>,
    /// Origins whose pages are admitted as [`Clients::browser`].
    browser_origins: Vec<String>,
    browser: Client,
    /// Proxies whose `X-Forwarded-For` names a browser's address.
    trusted_proxies: Vec<IpNet>,
}

impl Clients {
    pub fn from_settings(auth: &AuthSettings, grpc_web: &GrpcWebSettings) -> Clients {
        let mut clients = Vec::new();
        let mut tokens = Vec::new();
        let mut certificates = Vec::new();
        for (index, (name, client)) in auth.clients.iter().enumerate() {
            clients.push(Client {
                name: Arc::from(name.as_str()),
                roles: client.roles.clone(),
                personal_data: client.reads_personal_data(),
            });
            tokens.extend(
                client
                    .token_sha256
                    .iter()
                    .map(|h| (h.to_ascii_lowercase(), index)),
            );
            certificates.extend(
                client
                    .certificate_sha256
                    .iter()
                    .map(|h| (h.to_ascii_lowercase(), index)),
            );
        }
        Clients {
            clients,
            tokens,
            certificates,
            browser_origins: if grpc_web.enabled {
                grpc_web.allowed_origins.clone()
            } else {
                Vec::new()
            },
            browser: Client {
                name: Arc::from(BROWSER_CLIENT),
                roles: vec![Role::Browser],
                personal_data: false,
            },
            trusted_proxies: grpc_web.trusted_proxies.clone(),
        }
    }

    /// The client whose hash list holds `hash`. Every entry is compared, in
    /// constant time, so timing says nothing about which (if any) matched.
    fn find(list: &[(String, usize)], hash: &str) -> Option<usize> {
        let mut found = None;
        for (stored, index) in list {
            if bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
                found = Some(*index);
            }
        }
        found
    }

    /// Admits or refuses a request for `path`.
    fn admit<B>(&self, request: &http::Request<B>) -> Result<Option<Caller>, AppError> {
        let access = access_of(request.uri().path());
        if access == Some(Access::Public) {
            return Ok(None);
        }
        let client = self.identify(request)?;
        let allowed = match access {
            Some(Access::Roles(roles)) => client.roles.iter().any(|r| roles.contains(r)),
            // Unknown methods are refused to everyone but admin tools, which
            // then get UNIMPLEMENTED.
            Some(Access::Public) | None => client.roles.contains(&Role::Admin),
        };
        if !allowed {
            tracing::warn!(client = %client.name, method = request.uri().path(), "call refused: role not allowed");
            return Err(AppError::PermissionDenied(format!(
                "client {} may not call {}",
                client.name,
                request.uri().path()
            )));
        }
        let browser = client.roles.contains(&Role::Browser);
        let end_user = match request.headers().get(END_USER_ADDRESS_HEADER) {
            // What a page sends is the person's to forge: a browser's
            // address is the connection's.
            _ if browser => self.browser_address(request),
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(EndUserAddress::parse)
                    .ok_or_else(|| {
                        AppError::field(END_USER_ADDRESS_HEADER, Problem::NotAnIpAddress)
                    })?,
            ),
        };
        tracing::Span::current().record("client", &*client.name);
        Ok(Some(Caller {
            client: client.name.clone(),
            end_user,
            browser,
            personal_data: client.personal_data,
        }))
    }

    /// A browser's address: the connection's peer or, when that is a
    /// trusted proxy, the last `X-Forwarded-For` hop that is not one.
    fn browser_address<B>(&self, request: &http::Request<B>) -> Option<EndUserAddress> {
        let extensions = request.extensions();
        let peer = extensions
            .get::<TcpConnectInfo>()
            .and_then(TcpConnectInfo::remote_addr)
            .or_else(|| {
                extensions
                    .get::<TlsConnectInfo<TcpConnectInfo>>()
                    .and_then(|i| i.get_ref().remote_addr())
            })?
            .ip()
            // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
            .to_canonical();
        let trusted = |ip: &IpAddr| self.trusted_proxies.iter().any(|n| n.contains(ip));
        let mut address = peer;
        if trusted(&peer) {
            // Each proxy appends the address it received from: read from
            // the right, stop at the first one no trusted proxy added.
            let hops: Vec<&str> = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .collect();
            for hop in hops.iter().rev() {
                match hop.trim().parse::<IpAddr>() {
                    Ok(ip) => {
                        let ip = ip.to_canonical();
                        address = ip;
                        if !trusted(&ip) {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
        }
        Some(EndUserAddress::from_ip(address))
    }

    /// The client the request's credentials name: its bearer token if it
    /// carries one, else its TLS client certificate.
    fn identify<B>(&self, request: &http::Request<B>) -> Result<&Client, AppError> {
        let unknown = || AppError::Unauthenticated("unknown or missing credentials".into());
        if let Some(value) = request.headers().get(http::header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| !t.is_empty() && t.len() <= 256)
                .ok_or_else(unknown)?;
            let hash = secret::hash_secret(SecretKind::Token, token);
            return Self::find(&self.tokens, &hash)
                .map(|i| &self.clients[i])
                .ok_or_else(unknown);
        }
        let leaf = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(|info| info.peer_certs())
            .and_then(|certs| certs.first().map(|c| certificate_fingerprint(c.as_ref())));
        if let Some(fingerprint) = leaf {
            return Self::find(&self.certificates, &fingerprint)
                .map(|i| &self.clients[i])
                .ok_or_else(unknown);
        }
        // Browsers set Origin themselves; a page cannot change it. (Any
        // other program can, and gets no more than anyone on the Internet
        // may do with a browser.)
        let origin = request
            .headers()
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        match origin {
            Some(origin) if self.browser_origins.iter().any(|o| o == origin) => Ok(&self.browser),
            _ => Err(unknown()),
        }
    }
}

/// The SHA-256 of a DER certificate, hex: how clients are pinned.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(der))
}

/// A new client token and the hash the configuration stores.
pub fn new_client_token() -> Result<(secret::Secret, String), secret::RngUnavailable> {
    let token = secret::generate(SecretKind::Token, &mut rand::rngs::SysRng)?;
    let hash = secret::hash_secret(SecretKind::Token, token.expose());
    Ok((token, hash))
}

/// Quick start: with no client configured, a one-time admin client whose
/// token is written to `auth.local_token_file` (mode 0600). The server only
/// listens on loopback then (configuration validation sees to it).
pub fn add_local_admin(settings: &mut Settings) -> Result<Option<PathBuf>, String> {
    if !settings.auth.clients.is_empty() {
        return Ok(None);
    }
    let (token, hash) = new_client_token().map_err(|e| e.to_string())?;
    let path = settings.auth.local_token_file.clone();
    write_private(&path, token.expose()).map_err(|e| format!("{}: {e}", path.display()))?;
    settings.auth.clients.insert(
        "local-admin".into(),
        ClientSettings {
            roles: vec![Role::Admin],
            token_sha256: vec![hash],
            certificate_sha256: Vec::new(),
            personal_data: None,
        },
    );
    Ok(Some(path))
}

/// Quick start: the portal running beside the server gets a `portal`
/// client of its own, whose token never leaves the process, and the links
/// the server mails for the institutions it serves point at it.
pub fn add_local_portal(settings: &mut Settings) -> Result<secret::Secret, String> {
    let (token, hash) = new_client_token().map_err(|e| e.to_string())?;
    if let Some(portal) = &settings.portal {
        for code in &portal.institutions {
            if let Some(institution) = settings.institutions.get_mut(code) {
                institution.portal_url = format!("http://{}/{code}", portal.listen);
            }
        }
    }
    // A desk beside the quick start's portal calls as the same client.
    let desk = settings.portal.as_ref().is_some_and(|p| p.desk.is_some());
    let roles = if desk {
        vec![Role::Portal, Role::Helpdesk]
    } else {
        vec![Role::Portal]
    };
    settings.auth.clients.insert(
        "local-portal".into(),
        ClientSettings {
            roles,
            token_sha256: vec![hash],
            certificate_sha256: Vec::new(),
            personal_data: None,
        },
    );
    Ok(token)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")
}

/// The tower layer that admits calls.
#[derive(Clone)]
pub struct AuthLayer {
    clients: Arc<Clients>,
}

impl AuthLayer {
    pub fn new(clients: Clients) -> AuthLayer {
        AuthLayer {
            clients: Arc::new(clients),
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            clients: self.clients.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct Authenticate<S> {
    clients: Arc<Clients>,
    inner: S,
}

impl<S, B> tower::Service<http::Request<B>> for Authenticate<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = Either<S::Future, std::future::Ready<Result<Self::Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.clients.admit(&request) {
            Ok(caller) => {
                if let Some(caller) = caller {
                    request.extensions_mut().insert(caller);
                }
                Either::Left(self.inner.call(request))
            }
            Err(error) => {
                let headers = request.headers();
                let status = crate::status::into_status(
                    error,
                    &crate::call::request_id_of(headers),
                    crate::call::language_of(headers),
                );
                Either::Right(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_user_addresses_count_ipv6_per_64() {
        let a = EndUserAddress::parse("2001:db8:1:2:aaaa::1").expect("v6");
        let b = EndUserAddress::parse(" 2001:db8:1:2:bbbb::9 ").expect("v6");
        assert_eq!(a, b);
        assert_eq!(a.counter_subject(), "2001:db8:1:2::");
        assert_ne!(a, EndUserAddress::parse("2001:db8:1:3::1").expect("v6"));
        assert_eq!(
            EndUserAddress::parse("::ffff:192.0.2.7").expect("mapped"),
            EndUserAddress::parse("192.0.2.7").expect("v4")
        );
        for bad in ["", "portal", "192.0.2.300", "10.0.0.1:443", "[::1]"] {
            assert_eq!(EndUserAddress::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn quick_start_gets_a_private_one_time_admin_token() {
        let dir = tempfile::tempdir().expect("temp");
        let mut settings = Settings::from_toml("").expect("defaults");
        settings.auth.local_token_file = dir.path().join("data/local-admin.token");
        let path = add_local_admin(&mut settings)
            .expect("written")
            .expect("a token for local use");
        let token = std::fs::read_to_string(&path).expect("token file");
        let client = &settings.auth.clients["local-admin"];
        assert_eq!(client.roles, [Role::Admin]);
        assert_eq!(
            client.token_sha256,
            [secret::hash_secret(SecretKind::Token, token.trim())]
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Configured callers: nothing is made.
        assert_eq!(add_local_admin(&mut settings).expect("nothing"), None);
    }

    #[test]
    fn tokens_name_their_client_only() {
        let (token, hash) = new_client_token().expect("rng");
        let mut auth = AuthSettings::default();
        auth.clients.insert(
            "portal".into(),
            ClientSettings {
                roles: vec![Role::Portal],
                token_sha256: vec![hash.to_ascii_uppercase()],
                certificate_sha256: Vec::new(),
                personal_data: None,
            },
        );
        let clients = Clients::from_settings(&auth, &GrpcWebSettings::default());
        let request = |path: &str, token: Option<&str>| {
            let mut builder = http::Request::builder().uri(path);
            if let Some(t) = token {
                builder = builder.header("authorization", format!("Bearer {t}"));
            }
            builder.body(()).expect("request")
        };
        let start = "/ent.identity.v1.ActivationService/StartActivation";
        let caller = clients
            .admit(&request(start, Some(token.expose())))
            .expect("admitted")
            .expect("a caller");
        assert_eq!(&*caller.client, "portal");
        assert!(matches!(
            clients.admit(&request(start, None)),
            Err(AppError::Unauthenticated(_))
        ));
        assert!(matches!(
            clients.admit(&request(start, Some(&"0".repeat(64)))),
            Err(AppError::Unauthenticated(_))
        ));
        assert!(matches!(
            clients.admit(&request(
                "/ent.identity.v1.AccountLifecycleService/SetAccountLock",
                Some(token.expose())
            )),
            Err(AppError::PermissionDenied(_))
        ));
        assert!(matches!(
            clients.admit(&request("/grpc.health.v1.Health/Check", None)),
            Ok(None)
        ));
    }
}
