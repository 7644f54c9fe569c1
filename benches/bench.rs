//! The benchmark: the real server under the loads universities put on it,
//! each figure next to a baseline measured in the same run.
//!
//! ```text
//! cargo bench --bench bench                                   # SQLite
//! cargo bench --bench bench -- --database postgres://postgres@127.0.0.1:5432/postgres
//! cargo test --bench bench -- --size smoke --database ...     # CI: small, debug
//! ```
//!
//! It starts `ent-identity serve` as a child process (its memory and CPU are
//! its own), on a fresh SQLite file or a fresh PostgreSQL schema, with the
//! example institutions, and measures:
//!
//! 1. password setting: Bordeaux activation journeys (key, three screens,
//!    one argon2id hash each) per second vs raw argon2id hashes per second
//!    with the argon2 crate on every core;
//! 2. `GetAccount` throughput and latency, alone and while activations keep
//!    every hashing thread busy, vs the health check (the transport's floor);
//! 3. bulk provisioning through `BulkProvisionAccounts` vs `COPY` (a
//!    multi-row INSERT on SQLite) of the same account rows into an empty
//!    copy of the schema, and, on PostgreSQL, vs `COPY` of every row the
//!    stream wrote (accounts, secrets, audit, feed, outbox) on one
//!    connection per core: the database's limit for that work;
//! 4. the expiry batch (`ent-identity expire`, PostgreSQL only) over a
//!    seeded table: time vs one set-based UPDATE of the same due rows, and
//!    peak memory vs the same command with nothing to do;
//! 5. the server's peak resident memory under a mixed load (activations,
//!    reads and a bulk stream at once) vs its memory once started.
//!
//! It ends with a Markdown table (BENCHMARKS.md shows one). Targets are
//! reported, never asserted: `--size smoke` only checks that every phase
//! still runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use ent_identity::config::Settings;
use ent_identity::proto;
use ent_identity::proto::account_lifecycle_service_client::AccountLifecycleServiceClient;
use ent_identity::proto::activation_service_client::ActivationServiceClient;
use ent_identity::store::Store;
use ent_identity::store::entities::account;
use sea_orm::{ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

const TOKEN: &str = "bench-token-of-the-admin-client";
const PASSWORD: &str = "Qx7!vR2#mP9zTk";
const BORDEAUX: &str = "u-bordeaux-montaigne";

#[derive(Parser, Debug)]
#[command(about = "ent-identity benchmark")]
struct Args {
    /// `sqlite` (a file in a temporary folder) or a PostgreSQL URL (a fresh
    /// schema is created in that database and dropped at the end).
    #[arg(long, default_value = "sqlite")]
    database: String,
    /// `full` (the issue's sizes) or `smoke` (seconds, for CI).
    #[arg(long, default_value = "full")]
    size: Size,
    /// Length of each timed load phase, in seconds (default: 10, smoke 1).
    #[arg(long)]
    seconds: Option<u64>,
    /// Records of the bulk provisioning phase (default: 100,000, smoke 2,000).
    #[arg(long)]
    records: Option<usize>,
    /// Accounts of the expiry phase (default: 1,000,000, smoke 20,000).
    #[arg(long)]
    accounts: Option<u64>,
    /// Only these phases (comma-separated: passwords, reads, mixed,
    /// provisioning, expiry).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Size {
    Full,
    Smoke,
}

impl Args {
    fn runs(&self, phase: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == phase)
    }
}

// ---------------------------------------------------------------- report

/// One line of the final table.
struct Figure {
    measure: String,
    value: String,
    baseline: String,
    ratio: String,
    target: String,
    met: Option<bool>,
}

#[derive(Default)]
struct Report {
    figures: Vec<Figure>,
    notes: Vec<String>,
}

impl Report {
    fn add(
        &mut self,
        measure: impl Into<String>,
        value: impl Into<String>,
        baseline: impl Into<String>,
        ratio: Option<f64>,
        target: impl Into<String>,
        met: Option<bool>,
    ) {
        let figure = Figure {
            measure: measure.into(),
            value: value.into(),
            baseline: baseline.into(),
            ratio: ratio.map_or_else(|| "".into(), |r| format!("{r:.2}")),
            target: target.into(),
            met,
        };
        println!(
            "  {}: {} (baseline {}{}){}",
            figure.measure,
            figure.value,
            figure.baseline,
            if figure.ratio.is_empty() {
                String::new()
            } else {
                format!(", ratio {}", figure.ratio)
            },
            if figure.target.is_empty() {
                String::new()
            } else {
                format!(" target {}", figure.target)
            }
        );
        self.figures.push(figure);
    }

    fn note(&mut self, note: String) {
        println!("  {note}");
        self.notes.push(note);
    }

    fn print(&self) {
        println!("\n| measure | figure | baseline | ratio | target | met |");
        println!("|---|---|---|---|---|---|");
        for f in &self.figures {
            let met = match f.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                f.measure, f.value, f.baseline, f.ratio, f.target, met
            );
        }
        for n in &self.notes {
            println!("\n- {n}");
        }
    }
}

// ---------------------------------------------------------------- machine

/// CPU seconds used so far by process `pid` (user + system).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 (1-based), 11 and 12 here.
    let hz = clock_ticks();
    (ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0)) / hz
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

/// Busy and total CPU seconds of the whole machine so far.
fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().next() else {
        return (0.0, 0.0);
    };
    let values: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: f64 = values.iter().sum();
    // idle and iowait
    let idle = values.get(3).copied().unwrap_or(0.0) + values.get(4).copied().unwrap_or(0.0);
    let hz = clock_ticks();
    ((total - idle) / hz, total / hz)
}

/// A `/proc/PID/status` field in KiB (VmRSS, VmHWM).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Where the CPU went during a phase.
struct CpuWatch {
    started: Instant,
    server: f64,
    bench: f64,
    machine: (f64, f64),
    server_pid: u32,
}

impl CpuWatch {
    fn start(server_pid: u32) -> CpuWatch {
        CpuWatch {
            started: Instant::now(),
            server: cpu_seconds(server_pid),
            bench: cpu_seconds(std::process::id()),
            machine: machine_cpu(),
            server_pid,
        }
    }

    /// "server 1.62 cores, bench client 0.21, rest (database) 0.12 of 2".
    fn summary(&self) -> String {
        let wall = self.started.elapsed().as_secs_f64();
        let server = (cpu_seconds(self.server_pid) - self.server) / wall;
        let bench = (cpu_seconds(std::process::id()) - self.bench) / wall;
        let (busy, total) = machine_cpu();
        let cores = (total - self.machine.1) / wall;
        let busy = (busy - self.machine.0) / wall;
        format!(
            "CPU in cores: server {server:.2}, bench client {bench:.2}, everything else (database, system) {:.2}; busy {busy:.2} of {cores:.0}",
            (busy - server - bench).max(0.0)
        )
    }
}

fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, v)| v.trim())
        .to_owned();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
    format!(
        "{} cores ({model}), {memory:.0} GiB",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

// ---------------------------------------------------------------- database

/// Where the run's data lives.
struct Backend {
    /// PostgreSQL URL, or None for SQLite.
    postgres: Option<String>,
    dir: PathBuf,
    schemas: Mutex<Vec<String>>,
}

impl Backend {
    fn name(&self) -> &'static str {
        if self.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }

    /// Environment for a new, empty database named `name`.
    async fn fresh(&self, name: &str) -> Vec<(String, String)> {
        let mut env = self.database(name).await;
        // The server key, shared as replicas share it.
        let key_file = self.dir.join("secret-hashing.key");
        if !key_file.exists() {
            let key = ent_identity::domain::secret::random_key_hex(&mut rand::rngs::SysRng)
                .expect("a key");
            std::fs::write(&key_file, key).expect("key file");
        }
        env.push((
            "ENT_IDENTITY__SECRET_HASHING__KEY_FILE".into(),
            key_file.display().to_string(),
        ));
        env
    }

    async fn database(&self, name: &str) -> Vec<(String, String)> {
        match &self.postgres {
            Some(url) => {
                let schema = format!("bench_{name}_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(url).await.expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                    .await
                    .expect("create schema");
                admin.close().await.expect("close");
                self.schemas.lock().unwrap().push(schema.clone());
                vec![
                    ("ENT_IDENTITY__DATABASE__URL".into(), url.clone()),
                    ("ENT_IDENTITY__DATABASE__SCHEMA".into(), schema),
                    ("ENT_IDENTITY__DATABASE__AUTO_MIGRATE".into(), "true".into()),
                ]
            }
            None => vec![(
                "ENT_IDENTITY__DATABASE__URL".into(),
                format!(
                    "sqlite://{}",
                    self.dir.join(format!("{name}.sqlite")).display()
                ),
            )],
        }
    }

    async fn drop_schemas(&self) {
        let Some(url) = &self.postgres else { return };
        let schemas = std::mem::take(&mut *self.schemas.lock().unwrap());
        if schemas.is_empty() {
            return;
        }
        if let Ok(admin) = Database::connect(url).await {
            for schema in schemas {
                let _ = admin
                    .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
                    .await;
            }
        }
    }
}

fn institution_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config/institutions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("example institutions")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// The bench's own configuration: its client, and Bordeaux activation open
/// at once (the example waits 24 hours after enrolment).
fn bench_config(dir: &Path) -> PathBuf {
    let hash = ent_identity::domain::secret::hash_secret(
        ent_identity::domain::secret::SecretKind::Token,
        TOKEN,
    );
    let path = dir.join("bench.toml");
    std::fs::write(
        &path,
        format!(
            "[auth.clients.bench]\nroles = [\"admin\"]\ntoken_sha256 = [\"{hash}\"]\n\n\
             [institutions.{BORDEAUX}.profiles.student.activation]\ndelay = \"0s\"\n"
        ),
    )
    .expect("bench configuration");
    path
}

fn config_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = institution_files();
    files.push(bench_config(dir));
    files
}

// ---------------------------------------------------------------- server

/// One `ent-identity serve` process.
struct Server {
    child: Child,
    channel: Channel,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ent_identity(files: &[PathBuf], env: &[(String, String)], dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ent-identity"));
    for file in files {
        command.arg("--config").arg(file);
    }
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().cloned())
        .env("ENT_IDENTITY__MAIL__FOLDER", dir.join("mail"))
        .env("ENT_IDENTITY__SMS__FOLDER", dir.join("sms"))
        .env("ENT_IDENTITY__LOG__FILTER", "warn");
    command
}

impl Server {
    async fn start(files: &[PathBuf], env: &[(String, String)], dir: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = ent_identity(files, env, dir)
            .arg("serve")
            .env("ENT_IDENTITY__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .spawn()
            .expect("start ent-identity serve");
        let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .expect("endpoint")
            .tcp_nodelay(true)
            .connect_lazy();
        // Killed when dropped, whatever happens next.
        let server = Server { child, channel };
        let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel.clone());
        for _ in 0..600 {
            let serving = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .map(|r| r.into_inner().status)
                .ok();
            if serving
                == Some(tonic_health::pb::health_check_response::ServingStatus::Serving as i32)
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server never became SERVING");
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn lifecycle(&self) -> AccountLifecycleServiceClient<Conn> {
        AccountLifecycleServiceClient::new(self.conn())
    }

    fn activation(&self) -> ActivationServiceClient<Conn> {
        ActivationServiceClient::new(self.conn())
    }

    fn conn(&self) -> Conn {
        InterceptedService::new(self.channel.clone(), Bearer)
    }
}

#[derive(Clone)]
struct Bearer;

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {TOKEN}").parse().expect("ASCII"),
        );
        Ok(request)
    }
}

type Conn = InterceptedService<Channel, Bearer>;

// ---------------------------------------------------------------- records

/// Distinct family names: about twenty people share each family name at
/// 100,000 records and some share a login stem, as in a real intake.
const FAMILIES: usize = 5_000;

fn family(n: usize) -> String {
    let mut n = n;
    let mut name = String::from("Nom");
    for _ in 0..3 {
        name.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    name
}

/// Bordeaux student number `first + i`.
fn record(first: usize, i: usize) -> proto::BulkProvisionAccountsRequest {
    const GIVEN: [&str; 8] = [
        "Jean", "Marie", "Léa", "Hugo", "Chloé", "Louis", "Inès", "Noah",
    ];
    proto::BulkProvisionAccountsRequest {
        reissue_pending_material: false,
        correlation_id: i.to_string(),
        record: Some(proto::ProvisionRecord {
            institution: BORDEAUX.into(),
            profile: "student".into(),
            student_number: format!("{:08}", first + i),
            given_name: GIVEN[(i / FAMILIES) % 8].into(),
            family_name: family(i % FAMILIES),
            birth_date: "2005-06-15".into(),
            ..Default::default()
        }),
    }
}

/// A login and the key printed for it.
#[derive(Clone)]
struct Material {
    login: String,
    key: String,
}

/// Streams `count` records from student number `first`; returns the
/// accounts' materials and the elapsed time.
async fn bulk_provision(server: &Server, first: usize, count: usize) -> (Vec<Material>, Duration) {
    let started = Instant::now();
    let mut responses = server
        .lifecycle()
        .bulk_provision_accounts(tokio_stream::iter(
            (0..count).map(move |i| record(first, i)),
        ))
        .await
        .expect("bulk stream")
        .into_inner();
    let mut materials = Vec::with_capacity(count);
    while let Some(r) = responses.message().await.expect("bulk result") {
        match r.result {
            Some(proto::bulk_provision_accounts_response::Result::Provisioned(p)) => {
                let login = p.account.map(|a| a.login).unwrap_or_default();
                let key = p
                    .activation_material
                    .map(|m| m.activation_key)
                    .unwrap_or_default();
                materials.push(Material { login, key });
            }
            other => panic!("record {} not provisioned: {other:?}", r.correlation_id),
        }
    }
    assert_eq!(materials.len(), count, "every record provisioned");
    (materials, started.elapsed())
}

// ---------------------------------------------------------------- loads

/// Raw argon2id hashes per second with the argon2 crate, one thread per
/// core, at the configured parameters, each thread reusing its memory (the
/// crate's fastest way, and the service's).
fn raw_hashes_per_second(settings: &Settings, seconds: u64) -> f64 {
    let h = &settings.password_hashing;
    let params = argon2::Params::new(h.memory_kib, h.iterations, h.parallelism, None)
        .expect("argon2 parameters");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (stop, done, params) = (stop.clone(), done.clone(), params.clone());
            std::thread::spawn(move || {
                let mut memory = vec![argon2::Block::default(); params.block_count()];
                let argon2 = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    params,
                );
                let mut out = [0u8; 32];
                while !stop.load(Ordering::Relaxed) {
                    argon2
                        .hash_password_into_with_memory(
                            PASSWORD.as_bytes(),
                            b"0123456789abcdef",
                            &mut out,
                            &mut memory,
                        )
                        .expect("hash");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("hashing thread");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// An activation flow in progress.
struct Flow {
    token: String,
    flow: proto::ActivationFlow,
    recovery: String,
}

/// Starts a Bordeaux activation with the printed key.
async fn start_flow(client: &mut ActivationServiceClient<Conn>, material: &Material) -> Flow {
    let started = client
        .start_activation(proto::StartActivationRequest {
            institution: BORDEAUX.into(),
            entry: Some(proto::start_activation_request::Entry::Key(
                proto::KeyEntry {
                    login: material.login.clone(),
                    activation_key: material.key.clone(),
                },
            )),
        })
        .await
        .expect("start activation")
        .into_inner();
    Flow {
        token: started.flow_token,
        flow: started.flow.expect("flow"),
        recovery: format!("{}@example.net", material.login),
    }
}

impl Flow {
    fn done(&self) -> bool {
        self.flow.completion.is_some()
    }

    fn current_steps(&self) -> &[i32] {
        self.flow
            .screens
            .get(self.flow.current_screen as usize)
            .map_or(&[], |s| s.steps.as_slice())
    }

    /// Whether the current screen asks for the password.
    fn at_password(&self) -> bool {
        self.current_steps()
            .contains(&(proto::ActivationStep::Password as i32))
    }

    /// Answers the current screen as a student would.
    async fn submit(&mut self, client: &mut ActivationServiceClient<Conn>) {
        use proto::ActivationStep as S;
        let mut request = proto::SubmitActivationScreenRequest {
            flow_token: self.token.clone(),
            ..Default::default()
        };
        for step in self.current_steps() {
            match S::try_from(*step).expect("step") {
                S::RecoveryMail => {
                    request.recovery_mail = Some(proto::MailInput {
                        address: self.recovery.clone(),
                        confirmation: self.recovery.clone(),
                    })
                }
                S::Charter => {
                    request.charter = Some(proto::CharterAcceptance {
                        version: self.flow.charter.clone().expect("charter").version,
                        accepted: true,
                    })
                }
                S::DirectoryListing => request.directory_listed = Some(false),
                S::PhotoUse => {
                    request.photo = Some(proto::PhotoChoice {
                        uses: vec![proto::PhotoUse::CardReprint as i32],
                        ..Default::default()
                    })
                }
                S::CrousSharing => request.crous_sharing = Some(true),
                S::Password => {
                    request.password = Some(proto::PasswordInput {
                        password: PASSWORD.into(),
                        confirmation: PASSWORD.into(),
                    })
                }
                other => panic!("the bench does not answer {other:?}"),
            }
        }
        self.flow = client
            .submit_activation_screen(request)
            .await
            .expect("submit screen")
            .into_inner()
            .flow
            .expect("flow");
    }
}

/// One whole Bordeaux activation journey: the key, then every screen
/// (photo uses and directory; Crous; charter, password and recovery
/// address).
async fn activate(client: &mut ActivationServiceClient<Conn>, material: &Material) {
    let mut flow = start_flow(client, material).await;
    while !flow.done() {
        flow.submit(client).await;
    }
}

/// Flows brought to their password screen, `workers` at a time.
async fn flows_at_password(server: &Server, materials: Vec<Material>, workers: usize) -> Vec<Flow> {
    let queue = Arc::new(Mutex::new(materials));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let queue = queue.clone();
            let mut client = server.activation();
            tokio::spawn(async move {
                let mut flows = Vec::new();
                loop {
                    let Some(material) = queue.lock().unwrap().pop() else {
                        return flows;
                    };
                    let mut flow = start_flow(&mut client, &material).await;
                    while !flow.at_password() {
                        flow.submit(&mut client).await;
                    }
                    flows.push(flow);
                }
            })
        })
        .collect();
    let mut flows = Vec::new();
    for t in tasks {
        flows.extend(t.await.expect("flow worker"));
    }
    flows
}

/// Activation journeys by `workers` concurrent people until stopped.
struct ActivationLoad {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl ActivationLoad {
    fn start(server: &Server, pool: &Arc<Mutex<Vec<Material>>>, workers: usize) -> ActivationLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU64::new(0));
        let tasks = (0..workers)
            .map(|_| {
                let (stop, done, pool) = (stop.clone(), done.clone(), pool.clone());
                let mut client = server.activation();
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let material = pool
                            .lock()
                            .unwrap()
                            .pop()
                            .expect("enough accounts to activate (the pool is sized from the raw hash rate)");
                        activate(&mut client, &material).await;
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        ActivationLoad { stop, done, tasks }
    }

    fn completed(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    async fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await.expect("activation worker");
        }
        self.done.load(Ordering::Relaxed)
    }
}

/// Closed-loop calls by `workers` callers for `seconds`: calls per second
/// and sorted latencies.
async fn closed_loop<F, Fut>(workers: usize, seconds: f64, call: F) -> (f64, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut i = w;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    call(i).await;
                    latencies.push(t.elapsed());
                    i += workers;
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("caller"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (all.len() as f64 / elapsed, all)
}

fn get_account_call(
    server: &Server,
    logins: Arc<Vec<String>>,
) -> impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
+ Send
+ Sync
+ 'static {
    let client = server.lifecycle();
    move |i| {
        let mut client = client.clone();
        let login = logins[i % logins.len()].clone();
        Box::pin(async move {
            client
                .get_account(proto::GetAccountRequest {
                    account: Some(proto::AccountSelector {
                        institution: BORDEAUX.into(),
                        identifier: Some(proto::account_selector::Identifier::Login(login)),
                    }),
                })
                .await
                .expect("GetAccount");
        })
    }
}

// ---------------------------------------------------------------- phases

struct Run {
    args: Args,
    seconds: u64,
    backend: Backend,
    files: Vec<PathBuf>,
    dir: PathBuf,
    report: Report,
}

/// Concurrent activation journeys: enough to keep every hashing thread
/// busy with a queue behind it.
const ACTIVATION_WORKERS: usize = 16;
/// Concurrent `GetAccount` callers (a portal's connection pool).
const READERS: usize = 8;

impl Run {
    async fn settings(&self, env: Vec<(String, String)>) -> Settings {
        Settings::load_with_env(&self.files, env).expect("configuration")
    }

    async fn server_phases(&mut self) {
        let env = self.backend.fresh("server").await;
        let settings = self.settings(env.clone()).await;
        let seconds = self.seconds;
        let wants_hashing =
            self.args.runs("passwords") || self.args.runs("reads") || self.args.runs("mixed");

        let raw = if wants_hashing {
            println!("\n## raw argon2id ({seconds} s)");
            let h = &settings.password_hashing;
            let raw = raw_hashes_per_second(&settings, seconds);
            println!(
                "  argon2id m={} KiB t={} p={}, one thread per core: {raw:.1} hashes/s",
                h.memory_kib, h.iterations, h.parallelism
            );
            raw
        } else {
            0.0
        };

        let server = Server::start(&self.files, &env, &self.dir).await;
        let idle_rss = status_kib(server.pid(), "VmRSS:").unwrap_or(0);
        println!(
            "\nserver started ({}), {:.1} MiB resident",
            self.backend.name(),
            mib(idle_rss)
        );

        // Accounts to activate: more than the phases can use at the raw rate.
        let phases_seconds = 4 * seconds + 6;
        let pool_size = (raw * phases_seconds as f64 * 1.3) as usize + 4 * ACTIVATION_WORKERS;
        let (pool, _) = if wants_hashing {
            bulk_provision(&server, 30_000_000, pool_size).await
        } else {
            (Vec::new(), Duration::ZERO)
        };
        let logins = Arc::new(
            pool.iter()
                .map(|m| m.login.clone())
                .take(2_000)
                .collect::<Vec<_>>(),
        );
        let pool = Arc::new(Mutex::new(pool));

        // The issue's targets are looser on PostgreSQL, whose backends
        // share the two cores with hashing.
        let sqlite = self.backend.postgres.is_none();
        if self.args.runs("passwords") {
            println!(
                "\n## password setting: Bordeaux password screens, {ACTIVATION_WORKERS} at a time ({seconds} s)"
            );
            // Flows brought to their last screen beforehand (not timed), as
            // many as the raw rate could finish in the phase and more.
            let wanted = (raw * (seconds + 1) as f64 * 1.3) as usize + ACTIVATION_WORKERS;
            let materials: Vec<Material> = {
                let mut pool = pool.lock().unwrap();
                let at = pool.len().saturating_sub(wanted);
                pool.split_off(at)
            };
            let flows = Arc::new(Mutex::new(
                flows_at_password(&server, materials, ACTIVATION_WORKERS).await,
            ));
            let stop = Arc::new(AtomicBool::new(false));
            let done = Arc::new(AtomicU64::new(0));
            let cpu = CpuWatch::start(server.pid());
            let tasks: Vec<_> = (0..ACTIVATION_WORKERS)
                .map(|_| {
                    let (stop, done, flows) = (stop.clone(), done.clone(), flows.clone());
                    let mut client = server.activation();
                    tokio::spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            let mut flow = flows
                                .lock()
                                .unwrap()
                                .pop()
                                .expect("enough flows (sized from the raw hash rate)");
                            flow.submit(&mut client).await;
                            assert!(flow.done(), "the password screen completes the journey");
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            tokio::time::sleep(Duration::from_secs(1)).await;
            let before = done.load(Ordering::Relaxed);
            let started = Instant::now();
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            let rate =
                (done.load(Ordering::Relaxed) - before) as f64 / started.elapsed().as_secs_f64();
            stop.store(true, Ordering::Relaxed);
            for t in tasks {
                t.await.expect("password worker");
            }
            let screen_cpu = cpu.summary();
            self.report.add(
                "password setting: SubmitActivationScreen with the password, calls/s",
                format!("{rate:.1}/s"),
                format!("{raw:.1} raw argon2id hashes/s"),
                Some(rate / raw),
                if sqlite { "≥ 0.9" } else { "≥ 0.85" },
                Some(rate / raw >= if sqlite { 0.9 } else { 0.85 }),
            );
            self.report.note(format!("password setting — {screen_cpu}"));

            println!(
                "\n## whole activation journeys, {ACTIVATION_WORKERS} at a time ({seconds} s)"
            );
            let cpu = CpuWatch::start(server.pid());
            let load = ActivationLoad::start(&server, &pool, ACTIVATION_WORKERS);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let before = load.completed();
            let started = Instant::now();
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            let journeys = (load.completed() - before) as f64 / started.elapsed().as_secs_f64();
            load.stop().await;
            self.report.add(
                "whole activation journeys/s (key + 3 screens, 1 argon2id hash each)",
                format!("{journeys:.1}/s"),
                format!("{raw:.1} raw argon2id hashes/s"),
                Some(journeys / raw),
                "≥ 0.75",
                Some(journeys / raw >= 0.75),
            );
            self.report
                .note(format!("whole journeys — {}", cpu.summary()));
        }

        if self.args.runs("reads") {
            println!("\n## GetAccount, {READERS} callers ({seconds} s each)");
            let health = tonic_health::pb::health_client::HealthClient::new(server.conn());
            let (health_rate, health_lat) = closed_loop(READERS, seconds as f64, move |_| {
                let mut health = health.clone();
                async move {
                    health
                        .check(tonic_health::pb::HealthCheckRequest::default())
                        .await
                        .expect("health");
                }
            })
            .await;
            let cpu = CpuWatch::start(server.pid());
            let (alone_rate, alone) = closed_loop(
                READERS,
                seconds as f64,
                get_account_call(&server, logins.clone()),
            )
            .await;
            let alone_cpu = cpu.summary();
            self.report.add(
                "GetAccount alone: calls/s",
                format!("{alone_rate:.0}/s"),
                format!("{health_rate:.0}/s health checks"),
                Some(alone_rate / health_rate),
                "≥ 0.30",
                Some(alone_rate / health_rate >= 0.30),
            );
            self.report.add(
                "GetAccount alone: p50 / p99",
                format!(
                    "{} / {}",
                    ms(percentile(&alone, 0.5)),
                    ms(percentile(&alone, 0.99))
                ),
                format!(
                    "{} / {} health checks",
                    ms(percentile(&health_lat, 0.5)),
                    ms(percentile(&health_lat, 0.99))
                ),
                None,
                "",
                None,
            );
            self.report.note(format!("GetAccount alone — {alone_cpu}"));

            let load = ActivationLoad::start(&server, &pool, ACTIVATION_WORKERS);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let cpu = CpuWatch::start(server.pid());
            let before = load.completed();
            let started = Instant::now();
            let (busy_rate, busy) = closed_loop(
                READERS,
                seconds as f64,
                get_account_call(&server, logins.clone()),
            )
            .await;
            let activations = (load.completed() - before) as f64 / started.elapsed().as_secs_f64();
            let busy_cpu = cpu.summary();
            load.stop().await;
            let p99 = percentile(&busy, 0.99);
            self.report.add(
                "GetAccount under hashing: calls/s",
                format!("{busy_rate:.0}/s"),
                format!("{alone_rate:.0}/s alone"),
                Some(busy_rate / alone_rate),
                "",
                None,
            );
            self.report.add(
                "GetAccount under hashing: p50 / p99",
                format!("{} / {}", ms(percentile(&busy, 0.5)), ms(p99)),
                format!(
                    "{} / {} alone",
                    ms(percentile(&alone, 0.5)),
                    ms(percentile(&alone, 0.99))
                ),
                None,
                "p99 < 5 ms",
                Some(p99 < Duration::from_millis(5)),
            );
            self.report.note(format!(
                "GetAccount under hashing — activations meanwhile {activations:.1}/s ({:.2} of raw hashing); {busy_cpu}",
                activations / raw.max(f64::MIN_POSITIVE)
            ));
        }

        if self.args.runs("mixed") {
            println!("\n## mixed load ({seconds} s): activations, reads and a bulk stream at once");
            let load = ActivationLoad::start(&server, &pool, ACTIVATION_WORKERS);
            let records = match self.args.size {
                Size::Full => 20_000,
                Size::Smoke => 500,
            };
            let bulk = bulk_provision(&server, 50_000_000, records);
            let reads = closed_loop(
                READERS,
                seconds as f64,
                get_account_call(&server, logins.clone()),
            );
            let ((_, bulk_time), (read_rate, _)) = tokio::join!(bulk, reads);
            let activations = load.stop().await;
            let peak = status_kib(server.pid(), "VmHWM:").unwrap_or(0);
            self.report.add(
                "server peak RSS under the mixed load",
                format!("{:.1} MiB", mib(peak)),
                format!("{:.1} MiB once started", mib(idle_rss)),
                Some(mib(peak) / mib(idle_rss).max(1.0)),
                "< 150 MiB",
                Some(mib(peak) < 150.0),
            );
            self.report.note(format!(
                "mixed load: {activations} activations, GetAccount {read_rate:.0}/s and {records} records streamed in {:.1} s, together",
                bulk_time.as_secs_f64()
            ));
        }

        if self.args.runs("provisioning") {
            let count = self.args.records.unwrap_or(match self.args.size {
                Size::Full => 100_000,
                Size::Smoke => 2_000,
            });
            println!(
                "\n## bulk provisioning: {count} records through BulkProvisionAccounts ({})",
                self.backend.name()
            );
            let cpu = CpuWatch::start(server.pid());
            let (_, elapsed) = bulk_provision(&server, 40_000_000, count).await;
            let cpu = cpu.summary();
            let rate = count as f64 / elapsed.as_secs_f64();
            let rows = self.provisioned_rows(&settings, 40_000_000, count).await;
            let insert = self.insert_baseline(&rows).await;
            let insert_rate = count as f64 / insert.as_secs_f64();
            // The physical limit: COPY on PostgreSQL, the multi-row INSERT
            // on SQLite (which has no faster path).
            let (baseline, how) = if self.backend.postgres.is_some() {
                (self.copy_baseline(&rows).await, "COPY")
            } else {
                (insert, "multi-row INSERT")
            };
            let baseline_rate = count as f64 / baseline.as_secs_f64();
            let every_row = if self.backend.postgres.is_some() {
                Some(self.copy_all_baseline(&settings, 40_000_000, count).await)
            } else {
                None
            };
            let (target, target_rate) = if self.backend.postgres.is_some() {
                ("≥ 20,000/s", 20_000.0)
            } else {
                ("≥ 15,000/s", 15_000.0)
            };
            self.report.add(
                format!(
                    "bulk provisioning, {count} accounts ({})",
                    self.backend.name()
                ),
                format!("{rate:.0} accounts/s ({:.1} s)", elapsed.as_secs_f64()),
                format!(
                    "{baseline_rate:.0} rows/s {how} ({:.1} s)",
                    baseline.as_secs_f64()
                ),
                Some(rate / baseline_rate),
                target,
                Some(rate >= target_rate),
            );
            self.report.note(format!(
                "bulk provisioning — {cpu}; the same rows by multi-row INSERT: {insert_rate:.0} rows/s ({:.1} s)",
                insert.as_secs_f64()
            ));
            if let Some(every_row) = every_row {
                self.report.note(format!(
                    "bulk provisioning's physical limit — every row the stream wrote for its {count} accounts (accounts, secrets, audit, feed, outbox: {} rows) by `COPY` on {} connections at once: {:.0} accounts/s ({:.1} s)",
                    every_row.rows,
                    every_row.lanes,
                    count as f64 / every_row.elapsed.as_secs_f64(),
                    every_row.elapsed.as_secs_f64()
                ));
            }
        }

        let final_peak = status_kib(server.pid(), "VmHWM:").unwrap_or(0);
        self.report.note(format!(
            "server peak RSS over the whole run: {:.1} MiB",
            mib(final_peak)
        ));
        drop(server);
    }

    /// The account rows the stream created (students `first..first +
    /// count`), as the service wrote them.
    async fn provisioned_rows(
        &self,
        settings: &Settings,
        first: usize,
        count: usize,
    ) -> Vec<account::Model> {
        let store = Store::connect(&settings.database).await.expect("store");
        let numbers = (format!("{:08}", first), format!("{:08}", first + count - 1));
        let rows = account::Entity::find()
            .filter(account::Column::StudentNumber.between(numbers.0, numbers.1))
            .all(store.connection())
            .await
            .expect("read the provisioned rows");
        assert_eq!(rows.len(), count, "the stream's accounts");
        store.close().await.expect("close");
        rows
    }

    /// An empty, migrated copy of the schema.
    async fn empty_schema(&self, name: &str) -> Store {
        let env = self.backend.fresh(name).await;
        let copy = Store::connect(&self.settings(env).await.database)
            .await
            .expect("baseline store");
        copy.migrate().await.expect("migrate the baseline");
        copy
    }

    /// Times a plain multi-row INSERT of `rows` into an empty, migrated
    /// copy of the schema: the rows as they are, no planning, one statement
    /// per as many rows as the database takes.
    async fn insert_baseline(&self, rows: &[account::Model]) -> Duration {
        use sea_orm::{IntoActiveModel, Iterable};
        let copy = self.empty_schema("baseline").await;
        let max_parameters = if self.backend.postgres.is_some() {
            65_535
        } else {
            32_766
        };
        let per_statement = max_parameters / account::Column::iter().count();
        let models: Vec<account::ActiveModel> =
            rows.iter().map(|r| r.clone().into_active_model()).collect();
        let started = Instant::now();
        for chunk in models.chunks(per_statement) {
            account::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(copy.connection())
                .await
                .expect("baseline INSERT");
        }
        let elapsed = started.elapsed();
        copy.close().await.expect("close");
        elapsed
    }

    /// Times PostgreSQL's `COPY` of `rows` into an empty, migrated copy of
    /// the schema, in one transaction: the physical limit of writing the
    /// account rows (every index of `accounts` maintained, nothing else).
    async fn copy_baseline(&self, rows: &[account::Model]) -> Duration {
        use sea_orm::Iterable;
        use sea_orm::sqlx::Acquire;
        let copy = self.empty_schema("copy").await;
        let names: Vec<&str> = account::Column::iter()
            .map(|c| sea_orm::IdenStatic::as_str(&c))
            .collect();
        let columns: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
        let data = csv_rows(rows, &names);
        let pool = copy.connection().get_postgres_connection_pool().clone();
        let mut conn = pool.acquire().await.expect("a connection");
        let started = Instant::now();
        let mut txn = conn.begin().await.expect("begin");
        let raw = txn.acquire().await.expect("the transaction's connection");
        let mut sink = raw
            .copy_in_raw(&format!(
                "COPY accounts ({}) FROM STDIN (FORMAT csv)",
                columns.join(", ")
            ))
            .await
            .expect("COPY");
        for piece in data.chunks(1 << 20) {
            sink.send(piece).await.expect("COPY data");
        }
        sink.finish().await.expect("COPY end");
        txn.commit().await.expect("commit");
        let elapsed = started.elapsed();
        drop(conn);
        copy.close().await.expect("close");
        elapsed
    }

    /// Times PostgreSQL's `COPY` of every row the stream wrote for
    /// students `first..first + count` — in every table, as the service
    /// wrote them — into an empty, migrated copy of the schema, on one
    /// connection per core at once (each a transaction holding the rows of
    /// half of the accounts): what the database needs, with the server's
    /// work left out, to store what bulk provisioning stores.
    async fn copy_all_baseline(&self, settings: &Settings, first: usize, count: usize) -> EveryRow {
        let lanes = std::thread::available_parallelism().map_or(2, |n| n.get());
        let source = Store::connect(&settings.database).await.expect("store");
        let pool = source.connection().get_postgres_connection_pool().clone();
        let mut data = Vec::new();
        let mut rows = 0;
        for lane in 0..lanes {
            let mut tables = Vec::new();
            for (table, key) in STUDENT_TABLES {
                let query = format!(
                    "COPY (SELECT * FROM {table} WHERE {key} IN (SELECT id FROM accounts \
                     WHERE student_number BETWEEN '{:08}' AND '{:08}' \
                     AND mod(abs(hashtext(id)), {lanes}) = {lane})) TO STDOUT",
                    first,
                    first + count - 1
                );
                let bytes = copy_out(&pool, &query).await;
                rows += bytes.iter().filter(|b| **b == b'\n').count();
                tables.push((table, bytes));
            }
            data.push(tables);
        }
        source.close().await.expect("close");
        let copy = self.empty_schema("copyall").await;
        let pool = copy.connection().get_postgres_connection_pool().clone();
        let started = Instant::now();
        futures::future::join_all(data.into_iter().map(|tables| copy_in(&pool, tables))).await;
        let elapsed = started.elapsed();
        copy.close().await.expect("close");
        EveryRow {
            rows,
            lanes,
            elapsed,
        }
    }

    async fn expiry_phase(&mut self) {
        if self.backend.postgres.is_none() {
            self.report
                .note("expiry batch: skipped (it is measured on PostgreSQL)".into());
            return;
        }
        let count = self.args.accounts.unwrap_or(match self.args.size {
            Size::Full => 1_000_000,
            Size::Smoke => 20_000,
        });
        println!("\n## expiry batch over {count} accounts (PostgreSQL)");
        let env = self.backend.fresh("expiry").await;
        let settings = self.settings(env.clone()).await;
        let store = Store::connect(&settings.database).await.expect("store");
        store.migrate().await.expect("migrate");
        let started = Instant::now();
        store
            .connection()
            .execute_unprepared(&SEED.replace("$1", &count.to_string()))
            .await
            .expect("seed");
        store
            .connection()
            .execute_unprepared("VACUUM ANALYZE accounts")
            .await
            .expect("analyze");
        println!(
            "  seeded {count} accounts in {:.1} s",
            started.elapsed().as_secs_f64()
        );

        // Baseline: one set-based UPDATE writing each due row once (no
        // audit, feed or mail), rolled back. Both it and the batch start
        // right after a checkpoint: each pays the same full-page writes
        // (otherwise whichever runs nearer the seed's checkpoint pays more).
        checkpoint(&store).await;
        let started = Instant::now();
        store
            .connection()
            .execute_unprepared(BASELINE_UPDATE)
            .await
            .expect("baseline update");
        let baseline = started.elapsed();
        store
            .connection()
            .execute_unprepared("VACUUM ANALYZE accounts")
            .await
            .expect("vacuum");
        checkpoint(&store).await;
        store.close().await.expect("close");

        let run = |dir: &Path| {
            let mut command = ent_identity(&self.files, &env, dir);
            command.args(["expire", "--institution", "umontpellier"]);
            command
        };
        let (elapsed, peak, output) = timed_child(run(&self.dir));
        println!("  {}", output.trim());
        let (again, idle_peak, again_output) = timed_child(run(&self.dir));
        println!("  second run: {}", again_output.trim());
        self.report.add(
            format!("expiry batch, {count} accounts ({} due)", count / 5),
            format!("{:.1} s", elapsed.as_secs_f64()),
            format!("{:.1} s one set-based UPDATE", baseline.as_secs_f64()),
            Some(baseline.as_secs_f64() / elapsed.as_secs_f64()),
            "< 30 s",
            Some(elapsed < Duration::from_secs(30)),
        );
        self.report.add(
            "expiry batch: peak RSS of `ent-identity expire`",
            format!("{:.1} MiB", mib(peak)),
            format!("{:.1} MiB with nothing to do", mib(idle_peak)),
            Some(mib(peak) / mib(idle_peak).max(1.0)),
            "< 100 MiB",
            Some(mib(peak) < 100.0),
        );
        self.report.note(format!(
            "expiry batch: the second run finds nothing to do in {:.1} s",
            again.as_secs_f64()
        ));
        self.retention_phase(count, &env).await;
    }

    /// Issue 29: a million accounts' history (audit events, feed entries,
    /// messages), more than half of it past `[retention]`, forgotten by a
    /// run that has nothing else to do; baseline: the same deletes in one
    /// transaction, rolled back.
    async fn retention_phase(&mut self, count: u64, env: &[(String, String)]) {
        let settings = self.settings(env.to_vec()).await;
        let store = Store::connect(&settings.database).await.expect("store");
        let started = Instant::now();
        store
            .connection()
            .execute_unprepared(&HISTORY.replace("$1", &count.to_string()))
            .await
            .expect("history");
        println!(
            "  seeded {} history rows in {:.1} s",
            count * 9,
            started.elapsed().as_secs_f64()
        );
        checkpoint(&store).await;
        let started = Instant::now();
        store
            .connection()
            .execute_unprepared(FORGET_BASELINE)
            .await
            .expect("baseline deletes");
        let baseline = started.elapsed();
        checkpoint(&store).await;
        store.close().await.expect("close");
        let mut command = ent_identity(&self.files, env, &self.dir);
        command.args(["expire", "--institution", "umontpellier"]);
        let (elapsed, _, output) = timed_child(command);
        println!("  {}", output.trim());
        self.report.add(
            format!(
                "expiry batch forgetting {count} accounts' history ({} rows past retention)",
                count * 5
            ),
            format!("{:.1} s", elapsed.as_secs_f64()),
            format!(
                "{:.1} s the same deletes, rolled back",
                baseline.as_secs_f64()
            ),
            Some(baseline.as_secs_f64() / elapsed.as_secs_f64()),
            "< 60 s",
            Some(elapsed < Duration::from_secs(60)),
        );
    }
}

/// Each account's history: four audit events (two older than a year),
/// three feed entries (two older than a month), two messages sent (one
/// older than a month). The feed's numbers follow time, as the service
/// writes them: the changes the expiry runs made move after the history.
const HISTORY: &str = r#"
UPDATE account_changes SET seq = seq + 100000000;
INSERT INTO audit_events (id, occurred_at, institution, account_id, action, actor, request_id, details)
SELECT md5('a' || i || '-' || j)::uuid::text,
  CASE WHEN j < 2 THEN now() - interval '400 days' ELSE now() - interval '10 days' END,
  'umontpellier', md5(i::text)::uuid::text, 'account.updated', 'enrolment', 'bench', '{}'
FROM generate_series(1, $1) AS i, generate_series(0, 3) AS j;
INSERT INTO account_changes (seq, account_id, institution, kind, occurred_at)
SELECT 10000000 + j * $1 + i, md5(i::text)::uuid::text, 'umontpellier', 'updated',
  CASE WHEN j < 2 THEN now() - interval '60 days' ELSE now() - interval '1 day' END
FROM generate_series(1, $1) AS i, generate_series(0, 2) AS j;
UPDATE feed_counter SET value = (SELECT max(seq) FROM account_changes) WHERE id = 1;
INSERT INTO outbox (id, account_id, channel, recipient, template, payload, created_at, not_before, sent_at, attempts)
SELECT md5('o' || i || '-' || j)::uuid::text, md5(i::text)::uuid::text, 'mail',
  'bench.' || i || '@example.org', 'password_changed', '{"text":""}',
  now() - interval '40 days' * (1 - j), now() - interval '40 days' * (1 - j),
  now() - interval '40 days' * (1 - j) + interval '1 minute', 1
FROM generate_series(1, $1) AS i, generate_series(0, 1) AS j;
ANALYZE audit_events;
ANALYZE account_changes;
ANALYZE outbox;
"#;

/// What the batch deletes of that history, in one transaction, undone.
const FORGET_BASELINE: &str = r#"
BEGIN;
DELETE FROM audit_events WHERE occurred_at < now() - interval '365 days';
DELETE FROM account_changes WHERE occurred_at < now() - interval '30 days';
DELETE FROM outbox WHERE sent_at < now() - interval '30 days';
ROLLBACK;
"#;

/// Writes every dirty page of PostgreSQL to disk now.
async fn checkpoint(store: &Store) {
    store
        .connection()
        .execute_unprepared("CHECKPOINT")
        .await
        .expect("checkpoint");
}

/// Runs `command` to the end: wall time, peak resident memory (KiB) and
/// standard output. The peak is the child's own high-water mark (VmHWM),
/// read until it exits: `wait4`'s `ru_maxrss` would count the pages the
/// child shared with this process before `exec`.
fn timed_child(mut command: Command) -> (Duration, u64, String) {
    let output = tempfile::NamedTempFile::new().expect("output file");
    command.stdout(output.reopen().expect("output"));
    let started = Instant::now();
    let mut child = command.spawn().expect("start ent-identity expire");
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = status_kib(pid, "VmHWM:") {
            peak = peak.max(kib);
        }
        match child.try_wait().expect("wait for the child") {
            Some(status) => break status,
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let elapsed = started.elapsed();
    assert!(status.success(), "ent-identity expire failed");
    let text = std::fs::read_to_string(output.path()).unwrap_or_default();
    (elapsed, peak, text)
}

/// Montpellier staff, a fifth of them due for something: 3 % limited
/// access, 5 % expiry, 5 % notices, 2 % purge, 5 % password expiry.
const SEED: &str = r#"
INSERT INTO accounts (
  id, institution, profile, kind, status, status_changed_at, status_before_lock,
  login, login_key, institutional_mail, given_name, family_name,
  activation_available_at, activated_at, password_hash, password_changed_at,
  password_expires_at, password_must_change, photo_uses, photo_refused,
  redirect_keep_copy, end_of_activity_date, retention_end_date,
  next_expiry_notice_on, expired_at, created_at, updated_at)
SELECT
  md5(i::text)::uuid::text, 'umontpellier', 'staff_other', 'staff',
  CASE WHEN i % 100 < 10 THEN 'grace' WHEN i % 100 < 12 THEN 'expired' ELSE 'active' END,
  now() - interval '400 days', NULL,
  'bench.' || i || '@umontpellier.fr', 'bench.' || i || '@umontpellier.fr',
  'bench.' || i || '@umontpellier.fr', 'Camille', 'Bench',
  now() - interval '400 days', now() - interval '400 days', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA',
  now() - interval '400 days',
  CASE WHEN i % 100 BETWEEN 15 AND 19 THEN now() - interval '1 day' ELSE now() + interval '300 days' END,
  false, '', false, false,
  CASE WHEN i % 100 < 15 THEN current_date - 40 ELSE NULL END,
  CASE WHEN i % 100 < 5 THEN current_date - 2
       WHEN i % 100 < 15 THEN current_date + 20 ELSE NULL END,
  CASE WHEN i % 100 BETWEEN 5 AND 9 THEN current_date - 1 ELSE NULL END,
  CASE WHEN i % 100 IN (10, 11) THEN now() - interval '200 days' ELSE NULL END,
  now() - interval '400 days', now() - interval '400 days'
FROM generate_series(1, $1) AS i
"#;

/// Every due row of the seed written once, in one statement, then undone.
const BASELINE_UPDATE: &str = r#"
BEGIN;
UPDATE accounts SET updated_at = now()
WHERE end_of_activity_date IS NOT NULL OR password_expires_at < now();
ROLLBACK;
"#;

// ---------------------------------------------------------------- main

fn main() {
    let args = Args::parse();
    let seconds = args.seconds.unwrap_or(match args.size {
        Size::Full => 10,
        Size::Smoke => 1,
    });
    let dir = tempfile::tempdir().expect("temporary folder");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let postgres = (args.database != "sqlite").then(|| args.database.clone());
        let backend = Backend {
            postgres,
            dir: dir.path().to_owned(),
            schemas: Mutex::new(Vec::new()),
        };
        let files = config_files(dir.path());
        let mut run = Run {
            args,
            seconds,
            backend,
            files,
            dir: dir.path().to_owned(),
            report: Report::default(),
        };
        println!("# ent-identity benchmark");
        println!("machine: {}", machine_description());
        if let Some(url) = &run.backend.postgres {
            let admin = Database::connect(url).await.expect("connect to PostgreSQL");
            let version: Option<String> = admin
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT version()",
                ))
                .await
                .ok()
                .flatten()
                .and_then(|row| row.try_get_by_index(0).ok());
            println!("database: {}", version.unwrap_or_default());
        } else {
            println!("database: SQLite (bundled), file in a temporary folder");
        }
        let outcome = async {
            run.server_phases().await;
            if run.args.runs("expiry") {
                run.expiry_phase().await;
            }
        };
        outcome.await;
        run.backend.drop_schemas().await;
        run.report.print();
    });
}

/// The tables where bulk provisioning writes a student's rows, with the
/// column naming the account.
const STUDENT_TABLES: [(&str, &str); 5] = [
    ("accounts", "id"),
    ("one_time_secrets", "account_id"),
    ("audit_events", "account_id"),
    ("account_changes", "account_id"),
    ("outbox", "account_id"),
];

/// What [`Run::copy_all_baseline`] measured.
struct EveryRow {
    rows: usize,
    lanes: usize,
    elapsed: Duration,
}

/// The text-format data of a `COPY … TO STDOUT`.
async fn copy_out(pool: &sea_orm::sqlx::PgPool, query: &str) -> Vec<u8> {
    use futures::StreamExt;
    use sea_orm::sqlx::postgres::PgPoolCopyExt;
    let mut stream = pool.copy_out_raw(query).await.expect("COPY TO STDOUT");
    let mut out = Vec::new();
    while let Some(piece) = stream.next().await {
        out.extend_from_slice(&piece.expect("COPY data"));
    }
    out
}

/// Writes each table's text-format rows with `COPY … FROM STDIN`, in one
/// transaction (accounts first, as the foreign keys want).
async fn copy_in(pool: &sea_orm::sqlx::PgPool, tables: Vec<(&str, Vec<u8>)>) {
    use sea_orm::sqlx::Acquire;
    let mut conn = pool.acquire().await.expect("a connection");
    let mut txn = conn.begin().await.expect("begin");
    for (table, bytes) in tables {
        let raw = txn.acquire().await.expect("the transaction's connection");
        let mut sink = raw
            .copy_in_raw(&format!("COPY {table} FROM STDIN"))
            .await
            .expect("COPY FROM STDIN");
        for piece in bytes.chunks(1 << 20) {
            sink.send(piece).await.expect("COPY data");
        }
        sink.finish().await.expect("COPY end");
    }
    txn.commit().await.expect("commit");
}

/// Rows in PostgreSQL's CSV `COPY` format, in the order of `columns`:
/// NULL (a field the row's JSON leaves out) unquoted and empty, every value
/// quoted (an empty string stays a string), quotes doubled.
fn csv_rows(rows: &[account::Model], columns: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows.len() * 600);
    for row in rows {
        let fields = serde_json::to_value(row).expect("a row as JSON");
        let line: Vec<String> = columns
            .iter()
            // An unset field is left out of the row's JSON: NULL.
            .map(|column| match fields.get(column) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(text)) => {
                    format!("\"{}\"", text.replace('"', "\"\""))
                }
                Some(other) => format!("\"{other}\""),
            })
            .collect();
        out.extend_from_slice(line.join(",").as_bytes());
        out.push(b'\n');
    }
    out
}
