//! `spawn_app`: one server per test, on an ephemeral port, with its own
//! database and a manual clock.

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
    for role in ["enrolment", "portal", "ldap_sync", "batch", "admin"] {
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

/// A Bordeaux Montaigne student record.
pub fn bordeaux_student(number: &str, given: &str, family: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: "u-bordeaux-montaigne".into(),
        profile: "student".into(),
        student_number: number.into(),
        given_name: given.into(),
        family_name: family.into(),
        birth_date: "2005-06-15".into(),
        ..Default::default()
    }
}

/// A Montpellier staff record.
pub fn montpellier_staff(hr_id: &str, given: &str, family: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: "umontpellier".into(),
        profile: "staff_tenured".into(),
        hr_id: hr_id.into(),
        given_name: given.into(),
        family_name: family.into(),
        birth_date: "1980-01-31".into(),
        personal_mail: format!(
            "{}.{}@example.org",
            given.to_lowercase(),
            family.to_lowercase()
        ),
        ..Default::default()
    }
}

/// A valid INE-BEA for `number` (10 digits + key letter).
pub fn ine_bea(number: u64) -> String {
    const KEYS: &[u8; 23] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
    format!("{number:010}{}", KEYS[(number % 23) as usize] as char)
}

/// A Tours student record.
pub fn tours_student(number: &str, ine: &str, phone: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: "univ-tours".into(),
        profile: "student".into(),
        student_number: number.into(),
        ine: ine.into(),
        given_name: "Léa".into(),
        family_name: "Dubois".into(),
        birth_date: "2007-03-02".into(),
        mobile_phone: phone.into(),
        ..Default::default()
    }
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
}

/// The field violations of an INVALID_ARGUMENT status.
/// An account selector by account id.
pub fn by_id(id: &str) -> Option<proto::AccountSelector> {
    Some(proto::AccountSelector {
        institution: String::new(),
        identifier: Some(proto::account_selector::Identifier::AccountId(id.into())),
    })
}

pub fn violations(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

impl TestApp {
    /// The mail files written so far, as text.
    pub fn mails(&self) -> Vec<String> {
        // Oldest first: tests count the mails an address received.
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.mail_folder)
            .map(|dir| {
                dir.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|(_, p)| p)
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|p| std::fs::read_to_string(p).expect("readable mail"))
            .collect()
    }

    /// Waits until `count` mails were written (at most five seconds).
    pub async fn wait_for_mails(&self, count: usize) -> Vec<String> {
        for _ in 0..100 {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} mails, found {}", self.mails().len());
    }

    /// The test's database, behind the server's back.
    pub async fn store(&self) -> ent_identity::store::Store {
        ent_identity::store::Store::connect(&self.database)
            .await
            .expect("connect to the test database")
    }
}

impl TestApp {
    /// The address the server listens on.
    pub fn channel_address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// A connection as the admin client (every RPC).
    pub fn conn(&self) -> Conn {
        authed(&self.channel, "admin", None)
    }

    /// A connection as the portal, acting for the end user at `address`.
    pub fn portal_for(&self, address: &str) -> Conn {
        authed(&self.channel, "portal", Some(address))
    }

    pub fn activation(&self) -> ActivationServiceClient<Conn> {
        ActivationServiceClient::new(self.conn())
    }

    pub fn account_settings(&self) -> AccountSettingsServiceClient<Conn> {
        AccountSettingsServiceClient::new(self.conn())
    }

    pub fn recovery(&self) -> proto::recovery_service_client::RecoveryServiceClient<Conn> {
        proto::recovery_service_client::RecoveryServiceClient::new(self.conn())
    }

    pub fn redirection(
        &self,
    ) -> proto::mail_redirection_service_client::MailRedirectionServiceClient<Conn> {
        proto::mail_redirection_service_client::MailRedirectionServiceClient::new(self.conn())
    }

    /// A provisioned account taken through its real activation journey;
    /// its verified recovery address is `recovery.<account id>@example.net`.
    pub async fn active_account(
        &self,
        record: proto::ProvisionRecord,
        password: &str,
    ) -> proto::Account {
        let provisioned = self.provision(record).await.expect("provision");
        self.activate(&provisioned, password).await;
        let id = provisioned.account.expect("account").account_id;
        self.get_account("", proto::account_selector::Identifier::AccountId(id))
            .await
            .expect("account")
    }

    /// Runs the account's real activation journey over gRPC with `password`,
    /// whatever its institution: the entry its profile uses (reading the
    /// mailed link or the SMS code), then every screen with ordinary answers
    /// (a recovery address, the charter, consents, no redirect unless
    /// mandatory), verifications through the delivered mail.
    /// Returns the flow's token.
    pub async fn activate(
        &self,
        provisioned: &proto::ProvisionAccountResponse,
        password: &str,
    ) -> String {
        use proto::start_activation_request::Entry;
        use proto::{ActivationMessageKind as K, ActivationStep as S};
        let account = provisioned.account.as_ref().expect("account");
        let opens = account.activation_available_at.expect("opening").seconds;
        let now = ent_identity::app::clock::Clock::now(&self.clock).timestamp();
        if now < opens {
            self.clock.advance(chrono::Duration::seconds(opens - now));
        }
        let material = provisioned.activation_material.clone().unwrap_or_default();
        let entry = match proto::ActivationChannel::try_from(material.channel) {
            Ok(proto::ActivationChannel::ActivationKey) => Entry::Key(proto::KeyEntry {
                login: account.login.clone(),
                activation_key: material.activation_key,
            }),
            Ok(proto::ActivationChannel::ProvisionalPassword) => {
                Entry::ProvisionalPassword(proto::ProvisionalPasswordEntry {
                    login: account.login.clone(),
                    provisional_password: material.provisional_password,
                })
            }
            Ok(proto::ActivationChannel::MailedLink) => {
                let mail = self.wait_for_mail_to(&account.personal_mail, 1).await;
                Entry::Link(proto::LinkEntry {
                    token: link_token(&mail, "link"),
                })
            }
            _ => Entry::IdentityMatch(proto::IdentityMatchEntry {
                student_number: account.student_number.clone(),
                ine: account.ine.clone(),
                mobile_phone: account.mobile_phone.clone(),
            }),
        };
        let mut client = self.activation();
        let started = client
            .start_activation(proto::StartActivationRequest {
                institution: account.institution.clone(),
                entry: Some(entry),
            })
            .await
            .expect("start activation")
            .into_inner();
        let token = started.flow_token;
        let mut flow = started.flow.expect("flow");
        let recovery = format!("recovery.{}@example.net", account.account_id);
        while flow.completion.is_none() {
            if let Some(pending) = &flow.pending_verification {
                let code = if pending.kind == K::IdentityCode as i32 {
                    let sms = self.wait_for_sms(1).await;
                    code_in(&sms.last().expect("sms").1)
                } else {
                    code_in(&self.wait_for_mail_to(&recovery, 1).await)
                };
                flow = client
                    .verify_activation_code(proto::VerifyActivationCodeRequest {
                        flow_token: token.clone(),
                        code,
                    })
                    .await
                    .expect("verify")
                    .into_inner()
                    .flow
                    .expect("flow");
                continue;
            }
            let mut request = proto::SubmitActivationScreenRequest {
                flow_token: token.clone(),
                ..Default::default()
            };
            let pair = |a: &str| proto::MailInput {
                address: a.into(),
                confirmation: a.into(),
            };
            for step in &flow.screens[flow.current_screen as usize].steps {
                match S::try_from(*step).expect("step") {
                    S::RecoveryMail => request.recovery_mail = Some(pair(&recovery)),
                    S::Charter => {
                        request.charter = Some(proto::CharterAcceptance {
                            version: flow.charter.clone().expect("charter").version,
                            accepted: true,
                        })
                    }
                    S::DirectoryListing => request.directory_listed = Some(true),
                    S::PhotoUse => {
                        request.photo = Some(proto::PhotoChoice {
                            uses: vec![proto::PhotoUse::CardReprint as i32],
                            ..Default::default()
                        })
                    }
                    S::CrousSharing => request.crous_sharing = Some(true),
                    S::MailRedirect => {
                        request.mail_redirect = Some(proto::RedirectInput {
                            enabled: flow.mail_redirect_mandatory,
                            address: flow
                                .mail_redirect_mandatory
                                .then(|| pair(&flow.mail_redirect_default_address)),
                            keep_copy: true,
                        })
                    }
                    S::Password => {
                        request.password = Some(proto::PasswordInput {
                            password: password.into(),
                            confirmation: password.into(),
                        })
                    }
                    other => panic!("unexpected item {other:?}"),
                }
            }
            let answer = client
                .submit_activation_screen(request)
                .await
                .expect("submit screen")
                .into_inner();
            flow = answer.flow.expect("flow");
            if flow.completion.is_some() && answer.notice.is_some() {
                // A recovery address confirmed after activation (Bordeaux):
                // follow the mailed link, as its owner would.
                let mail = self.wait_for_mail_to(&recovery, 1).await;
                self.account_settings()
                    .confirm_recovery_mail_change(proto::ConfirmRecoveryMailChangeRequest {
                        token: link_token(&mail, "account/recovery-mail"),
                    })
                    .await
                    .expect("confirm the recovery address");
            }
        }
        token
    }

    /// Plants a password hashed with other argon2 parameters on an active
    /// account, behind the server's back (to test hash upgrades).
    pub async fn plant_password(
        &self,
        account_id: &str,
        password: &str,
        hashing: ent_identity::config::PasswordHashingSettings,
    ) {
        use ent_identity::domain::password::Password;
        use ent_identity::store::passwords::NewPassword;
        let hasher = ent_identity::hashing::PasswordHasher::start(&hashing).expect("hasher");
        let hash = hasher
            .hash(Arc::new(Password::new(password.to_owned())))
            .await
            .expect("hash");
        let store = self.store().await;
        let account = store
            .find_account(ent_identity::store::accounts::AccountLookup::Id(account_id))
            .await
            .expect("read")
            .expect("account");
        let policy = self
            .settings
            .institution(&account.institution)
            .expect("institution")
            .password_policy(&account.profile);
        let now = ent_identity::app::clock::Clock::now(&self.clock);
        store
            .set_password(
                NewPassword {
                    account_id,
                    replaces: None,
                    hash: &hash,
                    expires_at: ent_identity::domain::password::expires_at(&policy, now),
                    reminder_at: None,
                    history_count: policy.history_count,
                    action: "password.set_by_test",
                    spend: None,
                    messages: Vec::new(),
                },
                &ent_identity::store::AuditContext {
                    actor: "test".into(),
                    request_id: "test".into(),
                },
                now,
            )
            .await
            .expect("set password");
        use ent_identity::store::entities::account;
        use sea_orm::sea_query::Expr;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        account::Entity::update_many()
            .col_expr(account::Column::Status, Expr::value("active"))
            .col_expr(account::Column::ActivatedAt, Expr::value(now))
            .filter(account::Column::Id.eq(account_id))
            .exec(store.connection())
            .await
            .expect("activate");
    }
}

/// A mail's text with quoted-printable soft breaks and escapes undone.
pub fn decoded(mail: &str) -> String {
    let joined = mail.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The token of the first `/activation/{kind}/<token>` link in a mail
/// (`/{kind}/<token>` when `kind` is a path such as `recovery/reset`).
pub fn link_token(mail: &str, kind: &str) -> String {
    let text = decoded(mail);
    let marker = if kind.contains('/') {
        format!("/{kind}/")
    } else {
        format!("/activation/{kind}/")
    };
    let start = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no {kind} link in {text}"))
        + marker.len();
    text[start..start + 64].to_owned()
}

/// The 8-digit code a mail's body or an SMS carries after the word "code".
pub fn code_in(text: &str) -> String {
    let text = decoded(text);
    let body = text
        .split_once("\r\n\r\n")
        .map_or(text.as_str(), |(_, b)| b);
    for (at, _) in body.match_indices("code") {
        let digits: String = body[at..]
            .chars()
            .take(40)
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if digits.len() == 8 {
            return digits;
        }
    }
    panic!("no 8-digit code in {body}");
}

impl TestApp {
    /// The SMS written so far, as (to, text), oldest first.
    pub fn sms(&self) -> Vec<(String, String)> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&self.sms_folder)
            .map(|dir| {
                dir.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json"))
                    .map(|p| {
                        (
                            std::fs::metadata(&p)
                                .and_then(|m| m.modified())
                                .expect("mtime"),
                            p,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|(_, p)| {
                let v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(p).expect("sms")).expect("json");
                (
                    v["to"].as_str().unwrap_or_default().to_owned(),
                    v["text"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// Waits until `count` SMS were written (at most five seconds).
    pub async fn wait_for_sms(&self, count: usize) -> Vec<(String, String)> {
        for _ in 0..100 {
            let sms = self.sms();
            if sms.len() >= count {
                return sms;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} SMS, found {}", self.sms().len());
    }

    /// The mails sent to `address` so far.
    pub fn mails_to(&self, address: &str) -> Vec<String> {
        self.mails()
            .into_iter()
            .filter(|m| m.contains(&format!("To: {address}")))
            .collect()
    }

    /// Waits until `address` received `n` mails; all of them so far.
    pub async fn wait_for_mails_to(&self, address: &str, n: usize) -> Vec<String> {
        self.wait_for_mail_to(address, n).await;
        self.mails_to(address)
    }

    /// Waits for the `n`-th mail (1-based) to `address`.
    pub async fn wait_for_mail_to(&self, address: &str, n: usize) -> String {
        for _ in 0..100 {
            let mails = self.mails_to(address);
            if mails.len() >= n {
                return mails[n - 1].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} mails to {address}, found {}",
            self.mails_to(address).len()
        );
    }
}

/// Mail received by [`smtp_sink`]: (recipients, message).
pub type Inbox = Arc<std::sync::Mutex<Vec<(Vec<String>, String)>>>;

/// An SMTP server on an ephemeral port that accepts every message (EHLO,
/// MAIL, RCPT, DATA, RSET, NOOP, QUIT over real TCP), so the service's SMTP
/// transport is exercised end to end. Returns its port and its inbox.
pub async fn smtp_sink() -> (u16, Inbox) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("smtp port");
    let port = listener.local_addr().expect("address").port();
    let inbox: Inbox = Arc::default();
    let kept = inbox.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let inbox = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 smtp.test ESMTP\r\n").await;
                let mut to = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-smtp.test\r\n250 8BITMIME\r\n",
                        "HELO" | "MAIL" | "RSET" | "NOOP" => b"250 OK\r\n",
                        "RCPT" => {
                            let address =
                                line.split(['<', '>']).nth(1).unwrap_or_default().to_owned();
                            to.push(address);
                            b"250 OK\r\n"
                        }
                        "DATA" => {
                            let _ = write.write_all(b"354 go on\r\n").await;
                            let mut message = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                message.push_str(line.strip_prefix('.').unwrap_or(&line));
                                message.push_str("\r\n");
                            }
                            inbox
                                .lock()
                                .expect("inbox")
                                .push((std::mem::take(&mut to), message));
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"502 unknown command\r\n",
                    };
                    if write.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, inbox)
}

/// Requests received by [`http_sink`]: (head, body).
pub type Requests = Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// An HTTP/1.1 server on an ephemeral port answering 200 to every request,
/// keeping each one (a stand-in for an SMS provider's webhook).
pub async fn http_sink() -> (u16, Requests) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("http port");
    let port = listener.local_addr().expect("address").port();
    let requests: Requests = Arc::default();
    let kept = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let requests = kept.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let Some((head, body)) = text.split_once("\r\n\r\n") else {
                        continue;
                    };
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() < length {
                        continue;
                    }
                    requests
                        .lock()
                        .expect("requests")
                        .push((head.to_owned(), body.to_owned()));
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    buf.clear();
                }
            });
        }
    });
    (port, requests)
}

/// The `PreconditionFailure` type of a FAILED_PRECONDITION status.
pub fn precondition(status: &tonic::Status) -> String {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
    status
        .get_error_details()
        .precondition_failure()
        .and_then(|p| p.violations.first().map(|v| v.r#type.clone()))
        .unwrap_or_default()
}

/// One `ent-identity serve` process (the real binary), for what is
/// process-wide (telemetry) or spans processes (replicas sharing a
/// database). Killed when dropped.
pub struct Process {
    child: std::process::Child,
    pub address: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Process {
    /// Starts `ent-identity serve` on a free port with the example
    /// institutions, the test clients and `env`; returns once it is
    /// SERVING.
    pub async fn serve(dir: &std::path::Path, env: &[(String, String)]) -> Process {
        let port = free_port();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ent-identity"));
        for file in institution_files() {
            command.arg("--config").arg(file);
        }
        command
            .arg("--config")
            .arg(write_clients(dir))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("ENT_IDENTITY__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("ENT_IDENTITY__MAIL__FOLDER", dir.join("mail"))
            .env("ENT_IDENTITY__SMS__FOLDER", dir.join("sms"))
            .env("ENT_IDENTITY__LOG__FILTER", "warn")
            .envs(env.iter().cloned());
        let child = command.spawn().expect("start ent-identity serve");
        let process = Process {
            child,
            address: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..200 {
            if let Ok(channel) = Channel::from_shared(process.address.clone())
                .expect("endpoint")
                .connect()
                .await
            {
                wait_until_serving(channel).await;
                return process;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("ent-identity serve did not start");
    }

    /// A channel to it (connects on first use).
    pub fn channel(&self) -> Channel {
        Channel::from_shared(self.address.clone())
            .expect("endpoint")
            .connect_lazy()
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn terminate(mut self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: signals our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM");
        for _ in 0..400 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "exit status {status}");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("ent-identity serve did not stop on SIGTERM");
    }
}
