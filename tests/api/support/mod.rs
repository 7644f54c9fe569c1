//! `spawn_app`: one server per test, on an ephemeral port, with its own
//! database and a manual clock; the rest of the support by concern:
//! [`records`] (provisioning records, selectors), [`statuses`] (reading
//! refusals), [`journeys`] (clients and whole journeys), [`messages`] (mail
//! and SMS written by the server), [`sinks`] (SMTP and HTTP stand-ins),
//! [`process`] (the real binary).

pub mod browser;
mod journeys;
mod messages;
mod outage;
mod process;
mod records;
mod sinks;
pub mod slapd;
mod statuses;

pub use messages::*;
pub use outage::*;
pub use process::*;
pub use records::*;
pub use sinks::*;
pub use statuses::*;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ent_identity::app::clock::ManualClock;
use ent_identity::config::Settings;
use ent_identity::proto;
use ent_identity::proto::account_lifecycle_service_client::AccountLifecycleServiceClient;
use ent_identity::proto::account_settings_service_client::AccountSettingsServiceClient;
use ent_identity::proto::activation_service_client::ActivationServiceClient;
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// The moment every test starts at: the first day of enrolment week.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 9, 1, 8, 0, 0)
        .single()
        .expect("valid instant")
}

/// Credentials a test client sends: a configured client's bearer token and,
/// for portal calls, the end user's address.
#[derive(Clone, Default)]
pub struct Credentials {
    token: Option<String>,
    end_user: Option<String>,
    /// The `origin` a browser would send (gRPC-Web pages).
    origin: Option<String>,
}

impl tonic::service::Interceptor for Credentials {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.token {
            let value = format!("Bearer {token}").parse().expect("ascii token");
            request.metadata_mut().insert("authorization", value);
        }
        if let Some(address) = &self.end_user {
            let value = address.parse().expect("ascii address");
            request.metadata_mut().insert("x-end-user-address", value);
        }
        if let Some(origin) = &self.origin {
            let value = origin.parse().expect("ascii origin");
            request.metadata_mut().insert("origin", value);
        }
        Ok(request)
    }
}

/// A connection to the test server that authenticates as one client.
pub type Conn = InterceptedService<Channel, Credentials>;

/// A tool a test needs is missing: a failure in CI (`CI=true`), a notice
/// on a developer's machine.
pub fn tool_missing(message: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}");
    }
    eprintln!("SKIPPED (not run on this machine): {message}");
}

pub fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// Noon in Paris on a day.
pub fn noon(day: chrono::NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(11, 0, 0).expect("time"))
}

/// A free port on loopback, for a helper process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The bearer token of the test configuration's client named `client`
/// (one client per role, named after it, plus `admin`).
pub fn test_token(client: &str) -> String {
    format!("test-token-of-{client}")
}

/// Writes the test clients' configuration into `dir`; returns its path.
pub fn write_clients(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("clients.toml");
    std::fs::write(&path, clients_toml()).expect("clients file");
    path
}

/// The test clients: one per role, named after it.
fn clients_toml() -> String {
    let mut text = String::new();
    for role in [
        "enrolment",
        "portal",
        "ldap_sync",
        "batch",
        "admin",
        "helpdesk",
    ] {
        let hash = ent_identity::domain::secret::hash_secret(
            ent_identity::domain::secret::SecretKind::Token,
            &test_token(role),
        );
        text.push_str(&format!(
            "[auth.clients.{role}]\nroles = [\"{role}\"]\ntoken_sha256 = [\"{hash}\"]\n\n"
        ));
    }
    text
}

pub struct TestApp {
    pub clock: ManualClock,
    /// A connection without credentials.
    pub channel: Channel,
    /// The lifecycle service, as the admin client.
    pub lifecycle: AccountLifecycleServiceClient<Conn>,
    /// The test's database settings, to reach it behind the server's back.
    pub database: ent_identity::config::DatabaseSettings,
    /// Where the file transport writes mail.
    pub mail_folder: PathBuf,
    /// Where the file transport writes SMS.
    pub sms_folder: PathBuf,
    /// The server's configuration.
    pub settings: Arc<Settings>,
    address: std::net::SocketAddr,
    /// The metrics endpoint (`GET /metrics`).
    pub metrics_address: std::net::SocketAddr,
    /// The plain-text health endpoint (`server.health_listen`).
    pub health_address: std::net::SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

pub fn institution_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/config/institutions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("example institutions")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// The server key file in `dir` (created there, as an operator would
/// before starting replicas on PostgreSQL), as configuration.
pub fn secret_key_env(dir: &std::path::Path) -> (String, String) {
    let path = dir.join("secret-hashing.key");
    if !path.exists() {
        let key =
            ent_identity::domain::secret::random_key_hex(&mut rand::rngs::SysRng).expect("a key");
        std::fs::write(&path, key).expect("key file");
    }
    (
        "ENT_IDENTITY__SECRET_HASHING__KEY_FILE".into(),
        path.display().to_string(),
    )
}

/// Whether this run also covers PostgreSQL.
pub fn postgres_url() -> Option<String> {
    std::env::var("ENT_IDENTITY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh database for one test: an SQLite file in `dir`, or a new schema
/// in the PostgreSQL test database.
pub async fn database_env(dir: &std::path::Path) -> Vec<(String, String)> {
    match postgres_url() {
        Some(url) => {
            let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&url)
                .await
                .expect("connect to the PostgreSQL test database");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("create test schema");
            admin.close().await.expect("close");
            vec![
                ("ENT_IDENTITY__DATABASE__URL".into(), url),
                ("ENT_IDENTITY__DATABASE__SCHEMA".into(), schema),
                ("ENT_IDENTITY__DATABASE__AUTO_MIGRATE".into(), "true".into()),
            ]
        }
        None => vec![(
            "ENT_IDENTITY__DATABASE__URL".into(),
            format!("sqlite://{}", dir.join("ent-identity.sqlite").display()),
        )],
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Vec::new(), true).await
}

/// A server with more configuration (`ENT_IDENTITY__…` pairs, applied last);
/// waits until it is SERVING when `wait` says so.
pub async fn spawn_app_with(extra_env: Vec<(String, String)>, wait: bool) -> TestApp {
    spawn_app_configured(TestConfig {
        env: extra_env,
        wait,
        ..TestConfig::default()
    })
    .await
}

/// What a test changes in its server.
#[derive(Default)]
pub struct TestConfig {
    /// `ENT_IDENTITY__…` pairs, applied last.
    pub env: Vec<(String, String)>,
    /// More TOML configuration (lists and tables the environment cannot
    /// express), applied after the test clients.
    pub toml: String,
    /// Wait until the server is SERVING.
    pub wait: bool,
    /// How the test's channel speaks TLS to a server configured with it.
    pub tls: Option<tonic::transport::ClientTlsConfig>,
}

/// The general form of [`spawn_app`].
pub async fn spawn_app_configured(config: TestConfig) -> TestApp {
    // Server logs go to the test's captured output (and the log capture).
    crate::logs::install();
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut env = database_env(dir.path()).await;
    env.push((
        "ENT_IDENTITY__MAIL__FOLDER".into(),
        dir.path().join("mail").display().to_string(),
    ));
    env.push((
        "ENT_IDENTITY__SMS__FOLDER".into(),
        dir.path().join("sms").display().to_string(),
    ));
    env.push(("ENT_IDENTITY__SERVER__LISTEN".into(), "127.0.0.1:0".into()));
    env.push(secret_key_env(dir.path()));
    env.push(("ENT_IDENTITY__MAIL__POLL_INTERVAL".into(), "50ms".into()));
    // Tens of servers share the test process and its few cores: hashing
    // threads under SCHED_IDLE would wait for every other test's work.
    env.push((
        "ENT_IDENTITY__PASSWORD_HASHING__IDLE_PRIORITY".into(),
        "false".into(),
    ));
    env.push((
        "ENT_IDENTITY__DATABASE__HEALTH_CHECK_INTERVAL".into(),
        "100ms".into(),
    ));
    env.extend(config.env);
    let mut files = institution_files();
    files.push(write_clients(dir.path()));
    if !config.toml.is_empty() {
        let extra = dir.path().join("extra.toml");
        std::fs::write(&extra, &config.toml).expect("extra configuration");
        files.push(extra);
    }
    let settings = Settings::load_with_env(&files, env).expect("test configuration");
    let database = settings.database.clone();
    let mail_folder = settings.mail.folder.clone();
    let sms_folder = settings.sms.folder.clone();
    let settings = Arc::new(settings);
    let clock = ManualClock::new(start_time());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("ephemeral port");
    let addr = listener.local_addr().expect("bound address");
    let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("ephemeral port");
    let metrics_address = metrics_listener.local_addr().expect("bound address");
    let health_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("ephemeral port");
    let health_address = health_listener.local_addr().expect("bound address");
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let server = tokio::spawn({
        let clock = Arc::new(clock.clone());
        let settings = settings.clone();
        async move {
            let stop = async {
                let _ = shutdown_rx.await;
            };
            let listeners = ent_identity::server::Listeners {
                grpc: listener,
                metrics: Some(metrics_listener),
                health: Some(health_listener),
            };
            if let Err(e) = ent_identity::server::serve(settings, clock, listeners, stop).await {
                panic!("server failed: {e}");
            }
        }
    });
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let mut endpoint = Channel::from_shared(format!("{scheme}://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5));
    if let Some(tls) = config.tls {
        endpoint = endpoint.tls_config(tls).expect("client TLS");
    }
    let channel = endpoint
        .connect()
        .await
        .expect("connect to the test server");
    if config.wait {
        wait_until_serving(channel.clone()).await;
    }
    TestApp {
        clock,
        lifecycle: AccountLifecycleServiceClient::new(authed(&channel, "admin", None)),
        channel,
        database,
        mail_folder,
        sms_folder,
        settings,
        address: addr,
        metrics_address,
        health_address,
        shutdown: Some(shutdown_tx),
        server: Some(server),
        _dir: dir,
    }
}

/// `channel` authenticating as the test client `client`, for the end user at
/// `end_user` when given.
pub fn authed(channel: &Channel, client: &str, end_user: Option<&str>) -> Conn {
    InterceptedService::new(
        channel.clone(),
        Credentials {
            token: Some(test_token(client)),
            end_user: end_user.map(str::to_owned),
            origin: None,
        },
    )
}

/// `channel` calling as a page of `origin` would from the browser: no
/// token, only its origin.
pub fn from_page(channel: &Channel, origin: &str) -> Conn {
    InterceptedService::new(
        channel.clone(),
        Credentials {
            origin: Some(origin.to_owned()),
            ..Credentials::default()
        },
    )
}

pub async fn wait_until_serving(channel: Channel) {
    let mut health = HealthClient::new(channel);
    for _ in 0..200 {
        let status = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .map(|r| r.into_inner().status);
        if matches!(status, Ok(s) if s == ServingStatus::Serving as i32) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the test server never became SERVING");
}

impl TestApp {
    /// Sends the shutdown signal; whether the server then stopped on its own
    /// within five seconds.
    pub async fn stop(mut self) -> bool {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.server.take() {
            Some(server) => tokio::time::timeout(Duration::from_secs(5), server)
                .await
                .is_ok_and(|joined| joined.is_ok()),
            None => false,
        }
    }

    pub async fn provision(
        &self,
        record: proto::ProvisionRecord,
    ) -> Result<proto::ProvisionAccountResponse, tonic::Status> {
        self.lifecycle
            .clone()
            .provision_account(proto::ProvisionAccountRequest {
                reissue_pending_material: false,
                record: Some(record),
            })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn get_account(
        &self,
        institution: &str,
        identifier: proto::account_selector::Identifier,
    ) -> Result<proto::Account, tonic::Status> {
        self.lifecycle
            .clone()
            .get_account(proto::GetAccountRequest {
                account: Some(proto::AccountSelector {
                    institution: institution.into(),
                    identifier: Some(identifier),
                }),
            })
            .await
            .map(|r| r.into_inner().account.expect("account"))
    }

    /// An account that exists, by id.
    pub async fn account_by_id(&self, id: &str) -> proto::Account {
        self.get_account(
            "",
            proto::account_selector::Identifier::AccountId(id.into()),
        )
        .await
        .expect("account")
    }

    /// Every change of the feed, from the start.
    pub async fn all_changes(&self) -> Vec<proto::AccountChange> {
        let mut cursor = String::new();
        let mut all = Vec::new();
        loop {
            let page = self
                .lifecycle
                .clone()
                .list_changes(proto::ListChangesRequest {
                    after_cursor: cursor.clone(),
                    page_size: 1000,
                    institution: String::new(),
                })
                .await
                .expect("list changes")
                .into_inner();
            if page.changes.is_empty() {
                return all;
            }
            cursor = page.next_cursor;
            all.extend(page.changes);
        }
    }

    /// The cursor of the feed's last change.
    pub async fn last_cursor(&self) -> String {
        let all = self.all_changes().await;
        all.last().expect("changes").cursor.clone()
    }

    /// The changes of one account, from the start.
    pub async fn changes_of(&self, account_id: &str) -> Vec<proto::AccountChange> {
        let all = self.all_changes().await;
        all.into_iter()
            .filter(|c| {
                c.account
                    .as_ref()
                    .is_some_and(|a| a.account_id == account_id)
            })
            .collect()
    }

    /// The test's database, behind the server's back.
    pub async fn store(&self) -> ent_identity::store::Store {
        ent_identity::store::Store::connect(&self.database)
            .await
            .expect("connect to the test database")
    }
}
