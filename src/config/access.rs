//! Who may reach the service (TLS, clients and their credentials) and how
//! fast people may guess its secrets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::app::limits::{RateLimitSettings, RateRule};

use super::ConfigProblem;

/// TLS for the gRPC server (rustls). Without it the server listens in
/// plain text, which is allowed on loopback only unless
/// `server.plaintext_beyond_loopback` says a proxy or mesh terminates TLS.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// The server's certificate chain, PEM.
    pub certificate: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// CA certificates (PEM) that client certificates must chain to. When
    /// set, clients may authenticate by certificate (mutual TLS); callers
    /// with bearer tokens still connect without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
}

/// gRPC-Web, for ENT pages that call the service from the browser.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcWebSettings {
    /// Accept gRPC-Web (over HTTP/1.1 or HTTP/2) beside gRPC.
    pub enabled: bool,
    /// Origins (`https://ent.example.edu`) whose pages may call the service
    /// (CORS). A call from one of them without credentials is admitted as
    /// the `browser` caller: a page's code is public, so it holds no token,
    /// and the browser may only reach what a secret typed or mailed to the
    /// person guards (activation, password reset, mailed links).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Reverse proxies and load balancers in front of the service. A
    /// browser's address (what rate limits count) is the connection's peer,
    /// or, when the peer is one of these, the last address in
    /// `X-Forwarded-For` that is not one of these.
    #[serde(default)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The name browser calls are audited under.
pub const BROWSER_CLIENT: &str = "browser";

impl GrpcWebSettings {
    pub(super) fn validate(&self, problems: &mut Vec<ConfigProblem>) {
        for origin in &self.allowed_origins {
            if let Err(message) = check_origin(origin) {
                problems.push(ConfigProblem {
                    key: "grpc_web.allowed_origins".into(),
                    message: format!("{origin:?}: {message}"),
                });
            }
        }
        if !self.enabled && !self.allowed_origins.is_empty() {
            problems.push(ConfigProblem {
                key: "grpc_web.allowed_origins".into(),
                message: "browsers need grpc_web.enabled = true".into(),
            });
        }
    }
}

/// An origin as browsers send it: `https://host[:port]`, nothing after;
/// plain http only for a page on this machine (development).
fn check_origin(origin: &str) -> Result<(), &'static str> {
    let uri: http::Uri = origin.parse().map_err(|_| "not an origin")?;
    let host = uri.host().ok_or("an origin has a host")?;
    if uri.path_and_query().is_some_and(|p| p.as_str() != "/") || origin.ends_with('/') {
        return Err("an origin is scheme://host[:port], without a path");
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err("an origin has no user part");
    }
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if matches!(host, "localhost" | "127.0.0.1" | "[::1]") => Ok(()),
        Some("http") => Err("pages outside this machine are served over https"),
        _ => Err("an origin starts with https://"),
    }
}

/// The callers of the service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Callers by name (the name is the audit trail's actor).
    #[serde(default)]
    pub clients: BTreeMap<String, ClientSettings>,
    /// With no client configured and a loopback listen address, `serve`
    /// makes a one-time admin token for local use and writes it here
    /// (readable by its owner only); it is replaced at each start.
    pub local_token_file: PathBuf,
}

/// One caller and how it proves who it is: any of its bearer tokens or
/// client certificates.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    pub roles: Vec<Role>,
    /// SHA-256 (hex) of each accepted bearer token, as printed by
    /// `ent-identity client-token`; two during a rotation.
    #[serde(default)]
    pub token_sha256: Vec<String>,
    /// SHA-256 (hex) fingerprints of the DER client certificates accepted
    /// for this client (mutual TLS, `server.tls.client_ca` required).
    #[serde(default)]
    pub certificate_sha256: Vec<String>,
    /// Whether this client reads people's personal data (birth date,
    /// mobile phone, personal mail) in the accounts it gets. Absent: by its
    /// roles, yes for enrolment, ldap_sync and admin, no for the portal and
    /// the batch (a portal shows what the person sees of their account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal_data: Option<bool>,
}

impl ClientSettings {
    /// Whether this client reads personal data (see `personal_data`).
    pub fn reads_personal_data(&self) -> bool {
        self.personal_data.unwrap_or_else(|| {
            self.roles
                .iter()
                .any(|r| matches!(r, Role::Enrolment | Role::LdapSync | Role::Admin))
        })
    }
}

const HEX_SHA256: usize = 64;

fn is_sha256_hex(value: &str) -> bool {
    value.len() == HEX_SHA256 && value.chars().all(|c| c.is_ascii_hexdigit())
}

impl AuthSettings {
    pub(super) fn validate(&self, tls: Option<&TlsSettings>, problems: &mut Vec<ConfigProblem>) {
        let mut bad = |key: String, message: &str| {
            problems.push(ConfigProblem {
                key,
                message: message.to_owned(),
            })
        };
        let mut seen_tokens = BTreeMap::new();
        for (name, client) in &self.clients {
            let key = format!("auth.clients.{name}");
            if name.is_empty()
                || name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                bad(key.clone(), "a client name is 1 to 64 of a-z, 0-9, - _ .");
            }
            if client.roles.is_empty() {
                bad(format!("{key}.roles"), "give the client at least one role");
            }
            if client.roles.contains(&Role::Browser) || name == BROWSER_CLIENT {
                bad(
                    key.clone(),
                    "browser callers are admitted by their page's origin (grpc_web.allowed_origins), not configured as clients",
                );
            }
            if client.token_sha256.is_empty() && client.certificate_sha256.is_empty() {
                bad(
                    key.clone(),
                    "give the client a token_sha256 or a certificate_sha256",
                );
            }
            for hash in &client.token_sha256 {
                if !is_sha256_hex(hash) {
                    bad(
                        format!("{key}.token_sha256"),
                        "each is 64 hex digits (see `ent-identity client-token`)",
                    );
                } else if let Some(other) =
                    seen_tokens.insert(hash.to_ascii_lowercase(), name.clone())
                {
                    bad(
                        format!("{key}.token_sha256"),
                        &format!("the same token is also given to client {other}"),
                    );
                }
            }
            for hash in &client.certificate_sha256 {
                if !is_sha256_hex(hash) {
                    bad(
                        format!("{key}.certificate_sha256"),
                        "each is 64 hex digits: the SHA-256 of the DER certificate",
                    );
                }
            }
            if !client.certificate_sha256.is_empty()
                && tls.and_then(|t| t.client_ca.as_ref()).is_none()
            {
                bad(
                    format!("{key}.certificate_sha256"),
                    "client certificates need server.tls.client_ca",
                );
            }
        }
    }
}

pub(super) fn validate_rate_limits(limits: &RateLimitSettings, problems: &mut Vec<ConfigProblem>) {
    validate_networks(limits, problems);
    let delays = limits.guess_delays;
    // A ceiling under a minute lets a patient script guess on; over a day
    // shuts the person out for good.
    if delays.first.is_zero() || delays.first > delays.max {
        problems.push(ConfigProblem {
            key: "rate_limits.guess_delays.first".into(),
            message: "must be positive and at most guess_delays.max".into(),
        });
    }
    if delays.max < Duration::from_secs(60) || delays.max > Duration::from_secs(86400) {
        problems.push(ConfigProblem {
            key: "rate_limits.guess_delays.max".into(),
            message: "must be between 1 minute and 1 day".into(),
        });
    }
    for (name, rule) in limits.rules() {
        if !(1..=100_000).contains(&rule.max) {
            problems.push(ConfigProblem {
                key: format!("rate_limits.{name}.max"),
                message: "must be between 1 and 100000".into(),
            });
        }
        if rule.window < Duration::from_secs(1) || rule.window > Duration::from_secs(7 * 86400) {
            problems.push(ConfigProblem {
                key: format!("rate_limits.{name}.window"),
                message: "must be between 1 second and 7 days".into(),
            });
        }
    }
}

fn validate_networks(limits: &RateLimitSettings, problems: &mut Vec<ConfigProblem>) {
    for network in &limits.exempt_networks {
        if let ipnet::IpNet::V6(v6) = network
            && v6.prefix_len() > 64
        {
            problems.push(ConfigProblem {
                key: "rate_limits.exempt_networks".into(),
                message: format!(
                    "{network}: IPv6 addresses are counted per /64, give networks of /64 or shorter"
                ),
            });
        }
    }
}

/// The kinds of callers of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The enrolment system and HR feeds: provisioning, departures.
    Enrolment,
    /// ENT portal frontends, acting for the person signed in: activation,
    /// recovery, redirection, settings, extension requests.
    Portal,
    /// The LDAP sync worker: the change feed and account reads.
    LdapSync,
    /// The end-of-activity batch: departures and the expiry run.
    Batch,
    /// The IT team's tools: everything, e.g. extension decisions and locks.
    Admin,
    /// The desk tools of the IT support and the student office, for their
    /// agents helping someone in person: finding a person to check their
    /// identity, handing over a reset link or new activation material,
    /// replacing a dead recovery address. Nothing else of the API.
    Helpdesk,
    /// An ENT page calling from the browser (gRPC-Web): admitted by its
    /// origin, without credentials, to the flows a secret guards. Not a
    /// role configured clients hold.
    Browser,
}

impl Role {
    /// The roles configured clients hold.
    pub const ALL: [Role; 6] = [
        Role::Enrolment,
        Role::Portal,
        Role::LdapSync,
        Role::Batch,
        Role::Admin,
        Role::Helpdesk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Enrolment => "enrolment",
            Role::Portal => "portal",
            Role::LdapSync => "ldap_sync",
            Role::Batch => "batch",
            Role::Admin => "admin",
            Role::Helpdesk => "helpdesk",
            Role::Browser => "browser",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_read_as_browsers_send_them() {
        for good in [
            "https://ent.u-bordeaux-montaigne.fr",
            "https://ent.example.edu:8443",
            "http://localhost:5173",
        ] {
            assert_eq!(check_origin(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "ent.example.edu",
            "https://ent.example.edu/",
            "https://ent.example.edu/portal",
            "http://ent.example.edu",
            "https://user@ent.example.edu",
            "ftp://ent.example.edu",
            "*",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn browsers_are_not_configured_clients() {
        let mut problems = Vec::new();
        let mut auth = AuthSettings::default();
        auth.clients.insert(
            "browser".into(),
            ClientSettings {
                roles: vec![Role::Portal],
                token_sha256: vec!["a".repeat(64)],
                certificate_sha256: Vec::new(),
                personal_data: None,
            },
        );
        auth.clients.insert(
            "page".into(),
            ClientSettings {
                roles: vec![Role::Browser],
                token_sha256: vec!["b".repeat(64)],
                certificate_sha256: Vec::new(),
                personal_data: None,
            },
        );
        auth.validate(None, &mut problems);
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["auth.clients.browser", "auth.clients.page"]);
    }
}
