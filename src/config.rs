//! Configuration: compiled-in defaults, then TOML files (`--config`, in the
//! order given), then the TOML files of `institutions_dir`, then environment
//! variables `ENT_IDENTITY__SECTION__KEY`. Validated once at start: every bad
//! value is reported with its key, and the process exits non-zero.
//!
//! Institution rules (profiles, login schemes, activation channels and
//! delays) live here, not in code.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod access;
pub use access::{
    AuthSettings, BROWSER_CLIENT, ClientSettings, GrpcWebSettings, RateLimitSettings, RateRule,
    Role, TlsSettings,
};

pub use crate::app::{BatchSettings, FeedSettings};
pub use crate::domain::institution::{
    ActivationChannel, ActivationSettings, CharterSettings, InstitutionSettings, Institutions,
    LifecycleSettings, LoginLookupSettings, NextDestination, ProfileSettings, RecoverySettings,
    RetentionSettings, StaffSettings,
};
pub use crate::hashing::PasswordHashingSettings;
pub use crate::store::DatabaseSettings;

use crate::domain::institution_checks::is_code;

/// Defaults compiled into the binary; every key a deployment may set appears
/// here or in [`InstitutionSettings`].
pub const DEFAULTS: &str = include_str!("../deploy/config/defaults.toml");

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub mail: MailSettings,
    pub log: LogSettings,
    pub telemetry: TelemetrySettings,
    pub password_hashing: PasswordHashingSettings,
    pub sms: SmsSettings,
    /// The expiry batch.
    pub batch: BatchSettings,
    /// The change feed's streaming watch.
    pub feed: FeedSettings,
    /// How long records beside the accounts are kept.
    #[serde(default)]
    pub retention: crate::app::RecordRetention,
    /// The Prometheus endpoint.
    pub metrics: MetricsSettings,
    /// gRPC-Web for browser pages.
    pub grpc_web: GrpcWebSettings,
    /// The callers and their credentials.
    pub auth: AuthSettings,
    /// Limits on guessing secrets, shared by every replica.
    pub rate_limits: RateLimitSettings,
    /// The server key of the keyed hash of codes, activation keys and
    /// provisional passwords.
    pub secret_hashing: crate::secret_keys::SecretHashingSettings,
    /// A folder whose `*.toml` files are read as more configuration (one file
    /// per institution, typically). Relative to the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub institutions_dir: Option<PathBuf>,
    /// Institutions by code.
    #[serde(default)]
    pub institutions: Institutions,
    /// The web portal (`ent-identity portal`, or with the server in the
    /// quick start); absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<portal::PortalSettings>,
    /// The LDAP sync worker (`ent-identity ldap-sync`); absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_sync: Option<ldap_sync::LdapSyncSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address the gRPC server listens on.
    pub listen: SocketAddr,
    /// A second, plain-text listener serving only the health service (for
    /// Kubernetes' gRPC probes, which cannot use TLS); absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_listen: Option<SocketAddr>,
    /// Longest time one RPC may take before it is cancelled.
    #[serde(with = "formats::duration")]
    pub request_timeout: Duration,
    /// Largest request or response message, in bytes.
    pub max_message_bytes: usize,
    /// RPCs served at once on one connection.
    pub concurrency_limit_per_connection: usize,
    /// RPCs served at once by the whole server; more wait for a free slot
    /// (within their deadline).
    pub max_concurrent_requests: usize,
    /// TLS (and mutual TLS); absent: plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
    /// Allows plain text on a non-loopback address, for a TLS-terminating
    /// proxy or service mesh in front. Off: such a configuration is refused.
    #[serde(default)]
    pub plaintext_beyond_loopback: bool,
    /// Time given to running RPCs to finish after SIGTERM or SIGINT.
    #[serde(with = "formats::duration")]
    pub shutdown_grace: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTransportKind {
    /// Each mail is written as an `.eml` file into `mail.folder`.
    File,
    /// Mail is sent to an SMTP relay.
    Smtp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub transport: MailTransportKind,
    /// Folder for the `file` transport.
    pub folder: PathBuf,
    /// Sender address.
    pub from: String,
    /// How often the sender looks for due mail when idle.
    #[serde(with = "formats::duration")]
    pub poll_interval: Duration,
    /// How long a sender holds the messages it claimed before another
    /// replica may take them; extended every third of it while a send goes
    /// on, given back when the server stops.
    #[serde(with = "formats::duration")]
    pub lease: Duration,
    /// Attempts before a message is given up.
    pub max_attempts: u32,
    pub smtp: SmtpSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub username: String,
    /// Secret: redacted by `check-config`.
    pub password: String,
    /// `starttls`, `tls` or `none`.
    pub security: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsTransportKind {
    /// Each SMS is written as a `.json` file into `sms.folder`.
    File,
    /// Each SMS is POSTed as JSON to `sms.webhook.url` (the provider's
    /// gateway or a relay in front of it).
    Webhook,
}

/// How SMS leave the service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    pub transport: SmsTransportKind,
    /// Folder for the `file` transport.
    pub folder: PathBuf,
    /// Sender name shown by providers that support one.
    pub sender: String,
    pub webhook: WebhookSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// `https://...` endpoint receiving `{"to","from","text"}`.
    pub url: String,
    /// Sent as `Authorization: Bearer ...` when not empty. Secret: redacted
    /// by `check-config`.
    pub token: String,
    #[serde(with = "formats::duration")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter such as `info,ent_identity=debug`; `RUST_LOG`
    /// overrides it.
    pub filter: String,
}

/// Trace export.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// OTLP/gRPC collector, for example `http://127.0.0.1:4317`; empty: no
    /// trace export.
    pub otlp_endpoint: String,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// Which spans are exported (a `tracing` filter, apart from the logs').
    pub filter: String,
}

/// The Prometheus endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// Address of the HTTP listener that serves `GET /metrics` (plain
    /// HTTP, for the scraper inside the cluster or on the host); absent:
    /// no endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
}

/// A configuration problem, named by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("cannot read institutions_dir {path}: {source}")]
    InstitutionsDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ConfigProblem>),
    #[error("{0}: a list is written as a JSON array of strings, numbers or booleans")]
    EnvironmentList(String),
    /// A value its key cannot take, named by the key (`mail.transport:
    /// unknown variant `smtps`, expected `file` or `smtp``).
    #[error("{key}: {message}")]
    Setting { key: String, message: String },
}

const ENV_PREFIX: &str = "ENT_IDENTITY";

/// The environment's variables, by name.
type Environment = std::collections::HashMap<String, String>;
/// The lists the environment sets, by key (`grpc_web.allowed_origins`).
type EnvironmentLists = Vec<(String, Vec<String>)>;

/// The environment's settings, lists apart: a value written as a JSON
/// array (`ENT_IDENTITY__GRPC_WEB__ALLOWED_ORIGINS='["https://ent.example.edu"]'`)
/// is a list, which `config::Environment` cannot express; it becomes an
/// override of its key (`grpc_web.allowed_origins`). JSON, not commas: a
/// value may hold a comma (an institution's name, a filter).
fn environment_lists(env: &Environment) -> Result<(Environment, EnvironmentLists), ConfigError> {
    let mut scalars = Environment::new();
    let mut lists = Vec::new();
    for (name, value) in env {
        let key = name.strip_prefix(&format!("{ENV_PREFIX}__"));
        match key.filter(|_| value.trim_start().starts_with('[')) {
            Some(key) => {
                let path = key
                    .split("__")
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>()
                    .join(".");
                lists.push((
                    path,
                    json_list(value).ok_or_else(|| ConfigError::EnvironmentList(name.clone()))?,
                ));
            }
            None => {
                scalars.insert(name.clone(), value.clone());
            }
        }
    }
    Ok((scalars, lists))
}

/// The settings the layers make. Read strictly first, so that a refusal
/// names its key and, for a choice, the values allowed (serde's words: the
/// `config` crate's own name the Rust type and not the choices); a value
/// only the `config` crate's lenient reading accepts (a number given for a
/// text by an environment variable: a numeric token) is then read that way.
fn settings_of(layers: config::Config) -> Result<Settings, ConfigError> {
    let tree: serde_json::Value = layers.clone().try_deserialize()?;
    match serde_path_to_error::deserialize::<_, Settings>(&tree) {
        Ok(settings) => Ok(settings),
        Err(strict) => layers.try_deserialize().map_err(|_| ConfigError::Setting {
            key: strict.path().to_string(),
            message: strict.into_inner().to_string(),
        }),
    }
}

/// A JSON array of scalars, each as the text a setting reads.
fn json_list(text: &str) -> Option<Vec<String>> {
    let serde_json::Value::Array(items) = serde_json::from_str(text).ok()? else {
        return None;
    };
    items
        .into_iter()
        .map(|item| match item {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
        .collect()
}

impl Settings {
    /// Loads defaults, `files` in order, the institution files, then the
    /// environment, and validates the result.
    pub fn load(files: &[PathBuf]) -> Result<Settings, ConfigError> {
        Self::load_with_env(files, std::env::vars())
    }

    /// Like [`Settings::load`] with an explicit environment (for tests).
    pub fn load_with_env(
        files: &[PathBuf],
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let env: std::collections::HashMap<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
            .collect();
        let first = Self::build(files, &[], &env)?;
        let extra = match &first.institutions_dir {
            Some(dir) => institution_files(dir)?,
            None => Vec::new(),
        };
        let settings = if extra.is_empty() {
            first
        } else {
            Self::build(files, &extra, &env)?
        };
        settings.validate().map_err(ConfigError::Invalid)?;
        Ok(settings)
    }

    /// Parses a configuration from TOML text over the defaults (for tests and
    /// tools); validated.
    pub fn from_toml(text: &str) -> Result<Settings, ConfigError> {
        let settings = settings_of(
            config::Config::builder()
                .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
                .add_source(config::File::from_str(text, config::FileFormat::Toml))
                .build()?,
        )?;
        settings.validate().map_err(ConfigError::Invalid)?;
        Ok(settings)
    }

    fn build(
        files: &[PathBuf],
        extra: &[PathBuf],
        env: &std::collections::HashMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        for file in files.iter().chain(extra) {
            builder = builder.add_source(
                config::File::from(file.as_path())
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        let (scalars, lists) = environment_lists(env)?;
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(scalars)),
        );
        for (key, values) in lists {
            builder = builder.set_override(key, values)?;
        }
        settings_of(builder.build()?)
    }

    /// Every problem of the configuration, each named by its key.
    /// A portal serves at least one institution, and, beside a server that
    /// configures institutions, only those.
    fn portal_problems(&self, problems: &mut Vec<ConfigProblem>) {
        let Some(portal) = &self.portal else { return };
        if portal.institutions.is_empty() {
            problems.push(ConfigProblem {
                key: "portal.institutions".into(),
                message: "name the institutions the portal serves".into(),
            });
        }
        if self.institutions.is_empty() {
            return;
        }
        for code in &portal.institutions {
            if !self.institutions.contains_key(code.trim()) {
                problems.push(ConfigProblem {
                    key: "portal.institutions".into(),
                    message: format!("{code:?} is not a configured institution"),
                });
            }
        }
    }

    /// The worker's own checks, and, beside a server that configures
    /// institutions, only those.
    fn ldap_sync_problems(&self, problems: &mut Vec<ConfigProblem>) {
        let Some(sync) = &self.ldap_sync else { return };
        for (key, message) in sync.problems() {
            problems.push(ConfigProblem { key, message });
        }
        if self.institutions.is_empty() {
            return;
        }
        for code in sync.institutions.keys() {
            if !self.institutions.contains_key(code) {
                problems.push(ConfigProblem {
                    key: format!("ldap_sync.institutions.{code}"),
                    message: "not a configured institution".into(),
                });
            }
        }
    }

    /// What a valid configuration does that French recommendations advise
    /// against (the CNIL's on passwords): `check-config` prints it and the
    /// server logs it at start, neither refuses it.
    pub fn advice(&self) -> Vec<ConfigProblem> {
        self.institutions
            .iter()
            .flat_map(|(code, institution)| {
                institution
                    .advice()
                    .into_iter()
                    .map(move |(key, message)| ConfigProblem {
                        key: format!("institutions.{code}.{key}"),
                        message,
                    })
            })
            .collect()
    }

    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut bad = |key: String, message: &str| {
            problems.push(ConfigProblem {
                key,
                message: message.to_owned(),
            })
        };
        self.server_problems(&mut bad);
        self.database_problems(&mut bad);
        self.delivery_problems(&mut bad);
        self.telemetry_problems(&mut bad);
        self.batch_problems(&mut bad);
        for (key, message) in self.password_hashing.problems() {
            bad(format!("password_hashing.{key}"), &message);
        }
        for (code, institution) in &self.institutions {
            let key = format!("institutions.{code}");
            if !is_code(code) {
                bad(
                    key.clone(),
                    "institution codes are 1 to 63 characters among a-z, 0-9 and -",
                );
            }
            for (field, message) in institution.problems().into_vec() {
                bad(format!("{key}.{field}"), &message);
            }
        }
        self.portal_problems(&mut problems);
        self.ldap_sync_problems(&mut problems);
        self.auth.validate(self.server.tls.as_ref(), &mut problems);
        access::validate_rate_limits(&self.rate_limits, &mut problems);
        self.grpc_web.validate(&mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The gRPC server and who may reach it.
    fn server_problems(&self, bad: &mut impl FnMut(String, &str)) {
        if self.server.request_timeout.is_zero() {
            bad("server.request_timeout".into(), "must be more than zero");
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.server.max_message_bytes) {
            bad(
                "server.max_message_bytes".into(),
                "must be between 1024 and 67108864",
            );
        }
        if self.server.max_concurrent_requests == 0 {
            bad(
                "server.max_concurrent_requests".into(),
                "must be at least 1",
            );
        }
        if self.server.tls.is_none()
            && !self.server.listen.ip().is_loopback()
            && !self.server.plaintext_beyond_loopback
        {
            bad(
                "server.listen".into(),
                "a non-loopback address needs server.tls (or server.plaintext_beyond_loopback = true behind a TLS proxy)",
            );
        }
        if self.auth.clients.is_empty() && !self.server.listen.ip().is_loopback() {
            bad(
                "auth.clients".into(),
                "configure the callers before listening beyond loopback",
            );
        }
        if self.server.concurrency_limit_per_connection == 0 {
            bad(
                "server.concurrency_limit_per_connection".into(),
                "must be at least 1",
            );
        }
    }

    /// The database connection.
    fn database_problems(&self, bad: &mut impl FnMut(String, &str)) {
        if crate::store::DatabaseKind::from_url(&self.database.url).is_none() {
            bad(
                "database.url".into(),
                "must start with sqlite:// or postgres:// (or postgresql://)",
            );
        }
        if let Some(schema) = &self.database.schema
            && (schema.is_empty()
                || schema.len() > 63
                || !schema
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        {
            bad(
                "database.schema".into(),
                "must be 1 to 63 characters among a-z, 0-9 and _",
            );
        }
        if self.database.health_check_interval.is_zero()
            || self.database.health_check_interval > Duration::from_secs(300)
        {
            bad(
                "database.health_check_interval".into(),
                "must be between 1ms and 5 minutes",
            );
        }
        if self.database.max_connections == 0 {
            bad("database.max_connections".into(), "must be at least 1");
        }
    }

    /// The mail and SMS transports.
    fn delivery_problems(&self, bad: &mut impl FnMut(String, &str)) {
        match self.mail.transport {
            MailTransportKind::File if self.mail.folder.as_os_str().is_empty() => {
                bad("mail.folder".into(), "required by the file transport")
            }
            MailTransportKind::Smtp if self.mail.smtp.host.trim().is_empty() => {
                bad("mail.smtp.host".into(), "required by the smtp transport")
            }
            _ => {}
        }
        if !matches!(
            self.mail.smtp.security.as_str(),
            "starttls" | "tls" | "none"
        ) {
            bad(
                "mail.smtp.security".into(),
                "must be one of starttls, tls, none",
            );
        }
        if self.mail.poll_interval.is_zero() || self.mail.poll_interval > Duration::from_secs(300) {
            bad(
                "mail.poll_interval".into(),
                "must be between 1ms and 5 minutes",
            );
        }
        if self.mail.lease < Duration::from_secs(1) || self.mail.lease > Duration::from_secs(600) {
            bad(
                "mail.lease".into(),
                "must be between 1 second and 10 minutes",
            );
        }
        if !(1..=50).contains(&self.mail.max_attempts) {
            bad("mail.max_attempts".into(), "must be between 1 and 50");
        }
        match self.sms.transport {
            SmsTransportKind::File if self.sms.folder.as_os_str().is_empty() => {
                bad("sms.folder".into(), "required by the file transport")
            }
            SmsTransportKind::Webhook
                if !self.sms.webhook.url.starts_with("https://")
                    && !self.sms.webhook.url.starts_with("http://") =>
            {
                bad(
                    "sms.webhook.url".into(),
                    "required by the webhook transport: an http(s) URL",
                )
            }
            _ => {}
        }
        if self.sms.webhook.timeout.is_zero() {
            bad("sms.webhook.timeout".into(), "must be more than zero");
        }
        if crate::domain::ids::MailAddress::parse(&self.mail.from).is_err() {
            bad("mail.from".into(), "is not a valid mail address");
        }
    }

    /// Logs, traces and the extra listeners.
    fn telemetry_problems(&self, bad: &mut impl FnMut(String, &str)) {
        let endpoint = &self.telemetry.otlp_endpoint;
        if !endpoint.is_empty()
            && !endpoint.starts_with("http://")
            && !endpoint.starts_with("https://")
        {
            bad(
                "telemetry.otlp_endpoint".into(),
                "must be an http(s) URL or empty",
            );
        }
        if self.telemetry.service_name.trim().is_empty() {
            bad("telemetry.service_name".into(), "must not be empty");
        }
        for (key, filter) in [
            ("log.filter", &self.log.filter),
            ("telemetry.filter", &self.telemetry.filter),
        ] {
            if tracing_subscriber::EnvFilter::try_new(filter).is_err() {
                bad(
                    key.into(),
                    "is not a tracing filter (e.g. \"info,ent_identity=debug\")",
                );
            }
        }
        for (key, address) in [
            ("metrics.listen", self.metrics.listen),
            ("server.health_listen", self.server.health_listen),
        ] {
            if address.is_some_and(|a| a.port() != 0 && a == self.server.listen) {
                bad(key.into(), "must differ from server.listen");
            }
        }
    }

    /// The expiry batch and the change feed.
    fn batch_problems(&self, bad: &mut impl FnMut(String, &str)) {
        if !(1..=10_000).contains(&self.batch.chunk_size) {
            bad("batch.chunk_size".into(), "must be between 1 and 10000");
        }
        if self.feed.poll_interval.is_zero() || self.feed.poll_interval > Duration::from_secs(60) {
            bad(
                "feed.poll_interval".into(),
                "must be between 1ms and 1 minute",
            );
        }
    }

    /// The rules the use cases follow (a copy, made once at start).
    pub fn rules(&self) -> crate::app::Rules {
        crate::app::Rules {
            institutions: self.institutions.clone(),
            rate_limits: self.rate_limits.clone(),
            batch: self.batch.clone(),
            feed: self.feed.clone(),
            retention: self.retention.clone(),
        }
    }

    /// A copy with every secret replaced, for printing.
    pub fn redacted(&self) -> Settings {
        let mut copy = self.clone();
        copy.database.url = redact_url_password(&copy.database.url);
        if !copy.mail.smtp.password.is_empty() {
            copy.mail.smtp.password = REDACTED.to_owned();
        }
        if !copy.sms.webhook.token.is_empty() {
            copy.sms.webhook.token = REDACTED.to_owned();
        }
        for institution in copy.institutions.values_mut() {
            if !institution.recovery.decoy_key.is_empty() {
                institution.recovery.decoy_key = REDACTED.to_owned();
            }
        }
        for pepper in copy.password_hashing.peppers.values_mut() {
            *pepper = REDACTED.to_owned();
        }
        copy
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(&self.redacted())
            .unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

const REDACTED: &str = "***";

fn redact_url_password(url: &str) -> String {
    // scheme://user:password@host/... → scheme://user:***@host/...
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:{REDACTED}@{host}"),
        None => url.to_owned(),
    }
}

fn institution_files(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::InstitutionsDir {
        path: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_alone_are_valid() {
        let settings = Settings::from_toml("").expect("defaults load");
        assert!(settings.institutions.is_empty());
        assert!(settings.database.url.starts_with("sqlite://"));
    }

    #[test]
    fn redacts_database_password() {
        assert_eq!(
            redact_url_password("postgres://app:s3cret@db:5432/ident"),
            "postgres://app:***@db:5432/ident"
        );
        assert_eq!(
            redact_url_password("sqlite://data/x.sqlite"),
            "sqlite://data/x.sqlite"
        );
    }

    #[test]
    fn environment_overrides_files() {
        let settings = Settings::load_with_env(
            &[],
            [(
                "ENT_IDENTITY__SERVER__LISTEN".to_owned(),
                "127.0.0.1:6000".to_owned(),
            )],
        )
        .expect("loads");
        assert_eq!(settings.server.listen.port(), 6000);
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = Settings::from_toml(
            r#"
            [server]
            max_message_bytes = 10
            [database]
            url = "mysql://x"
            "#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("server.max_message_bytes"), "{text}");
        assert!(text.contains("database.url"), "{text}");
    }

    #[test]
    fn callers_and_tls_are_required_beyond_loopback() {
        let err = Settings::from_toml(
            r#"
            [server]
            listen = "0.0.0.0:50051"
            "#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("server.listen"), "{err}");
        assert!(err.contains("auth.clients"), "{err}");
        let hash = "a".repeat(64);
        let ok = Settings::from_toml(&format!(
            r#"
            [server]
            listen = "0.0.0.0:50051"
            plaintext_beyond_loopback = true
            [auth.clients.portal]
            roles = ["portal"]
            token_sha256 = ["{hash}"]
            "#
        ));
        assert!(ok.is_ok(), "{ok:?}");
        let err = Settings::from_toml(&format!(
            r#"
            [auth.clients.portal]
            roles = []
            token_sha256 = ["{hash}", "xyz"]
            certificate_sha256 = ["{hash}"]
            [auth.clients.other]
            roles = ["admin"]
            token_sha256 = ["{hash}"]
            [rate_limits]
            guesses_per_account = {{ max = 0, window = "1h" }}
            exempt_networks = ["10.0.0.0/8", "2001:db8::/96"]
            "#
        ))
        .unwrap_err()
        .to_string();
        for key in [
            "auth.clients.portal.roles",
            "auth.clients.portal.token_sha256",
            "auth.clients.portal.certificate_sha256",
            "also given to client other",
            "rate_limits.guesses_per_account.max",
            "2001:db8::/96: IPv6 addresses are counted per /64",
        ] {
            assert!(err.contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn institution_rules_are_checked() {
        let err = Settings::from_toml(
            r#"
            [institutions.u-test]
            name = "Test"
            time_zone = "Europe/Paris"
            [institutions.u-test.profiles.staff]
            kind = "staff"
            retention = { months = 12, until = "12-31", extension_months = 0 }
            login = { scheme = "student_number_suffix", suffix = "T" }
            activation = { channel = "identity_match", delay = "1000years", material_lifetime = "0s", screens = [["password"]] }
            [institutions.u-test.profiles.other]
            kind = "staff"
            retention = { months = 3 }
            login = { scheme = "institutional_mail" }
            institutional_mail = { domain = "Not A Domain" }
            activation = { channel = "activation_key", delay = "0s", screens = [["charter", "verify_code"], ["charter"]], max_attempts = 0, recovery_mail = { link_lifetime = "1s" } }
            [institutions.u-test.profiles.linked]
            kind = "student"
            retention = { until = "12-31" }
            login = { scheme = "institutional_mail" }
            institutional_mail = { domain = "etu.test.fr" }
            activation = { channel = "mailed_link", delay = "0s", screens = [["password"]] }
            "#,
        )
        .unwrap_err()
        .to_string();
        for key in [
            "institutions.u-test.profiles.staff.login",
            "institutions.u-test.profiles.staff.activation.identity_check",
            "institutions.u-test.profiles.staff.activation.delay",
            "institutions.u-test.profiles.staff.activation.material_lifetime",
            "institutions.u-test.profiles.other.institutional_mail",
            "institutions.u-test.profiles.other.activation.screens",
            "institutions.u-test.profiles.other.activation.max_attempts",
            "institutions.u-test.profiles.other.activation.recovery_mail.link_lifetime",
            "institutions.u-test.charter",
            "institutions.u-test.profiles.linked.activation.material_lifetime",
            "institutions.u-test.profiles.staff.retention",
            "institutions.u-test.profiles.staff.retention.extension_months",
        ] {
            assert!(err.contains(key), "{key} missing from {err}");
        }
    }

    #[test]
    fn example_configurations_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config/institutions");
        for file in institution_files(&dir).expect("examples folder") {
            let text = std::fs::read_to_string(&file).expect("readable");
            let settings = Settings::from_toml(&text)
                .unwrap_or_else(|e| panic!("{} is invalid: {e}", file.display()));
            assert_eq!(settings.institutions.len(), 1, "{}", file.display());
        }
    }
}
