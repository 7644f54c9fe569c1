//! Password hashing and the strength meter, measured on this machine.
//!
//! `cargo bench --bench passwords` reports, at the configured argon2id
//! parameters (`deploy/config/defaults.toml`):
//! - raw argon2id hashes per second, one thread per core;
//! - password verifications per second through the service (`VerifyPassword`
//!   over gRPC on loopback, SQLite), and the ratio to the raw figure;
//! - `EvaluatePassword` latency: server-side evaluation alone (the domain
//!   function) and the whole call over loopback, p50 and p99.
//!
//! `ENT_IDENTITY_BENCH_SECONDS` sets each throughput run's length (default 5).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher as _;
use ent_identity::clock::{Clock, SystemClock};
use ent_identity::config::Settings;
use ent_identity::domain::password::{Password, PersonalData, evaluate};
use ent_identity::proto;
use ent_identity::proto::account_lifecycle_service_client::AccountLifecycleServiceClient;
use ent_identity::proto::account_settings_service_client::AccountSettingsServiceClient;
use ent_identity::proto::activation_service_client::ActivationServiceClient;

const PASSWORD: &str = "Lune&Soleil42";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Hashes per second with the argon2 crate alone, one thread per core.
fn raw_hashes_per_second(settings: &Settings, seconds: u64) -> f64 {
    let h = &settings.password_hashing;
    let params = argon2::Params::new(h.memory_kib, h.iterations, h.parallelism, None).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (stop, done, params) = (stop.clone(), done.clone(), params.clone());
            std::thread::spawn(move || {
                let argon2 = argon2::Argon2::new(
                    argon2::Algorithm::Argon2id,
                    argon2::Version::V0x13,
                    params,
                );
                while !stop.load(Ordering::Relaxed) {
                    argon2
                        .hash_password_with_salt(PASSWORD.as_bytes(), b"0123456789abcdef")
                        .unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("ENT_IDENTITY_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let dir = tempfile::tempdir().expect("temporary folder");
    let institutions =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config/institutions");
    let env = vec![
        (
            "ENT_IDENTITY__INSTITUTIONS_DIR".to_owned(),
            institutions.display().to_string(),
        ),
        ("ENT_IDENTITY__LOG__FILTER".to_owned(), "warn".to_owned()),
        (
            "ENT_IDENTITY__DATABASE__URL".to_owned(),
            format!("sqlite://{}", dir.path().join("bench.sqlite").display()),
        ),
    ];
    let settings = Arc::new(Settings::load_with_env(&[], env).expect("configuration"));
    let h = &settings.password_hashing;
    println!(
        "argon2id m={} KiB, t={}, p={}; {} cores",
        h.memory_kib,
        h.iterations,
        h.parallelism,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // Server-side evaluation alone: what each keystroke costs the server.
    let policy = settings
        .institution("umontpellier")
        .expect("example institution")
        .password_policy("staff_tenured");
    let personal = PersonalData {
        given_name: "Jane".into(),
        family_name: "Doe".into(),
        login: "jane.doe@umontpellier.fr".into(),
    };
    let mut local = Vec::new();
    for i in 0..2_000 {
        let candidate = Password::new(format!("{}{}", &PASSWORD[..1 + i % PASSWORD.len()], i));
        let started = Instant::now();
        std::hint::black_box(evaluate(&policy, &candidate, Some(&personal)));
        local.push(started.elapsed());
    }
    local.sort();
    println!(
        "evaluation (server time): p50 {:?}, p99 {:?}",
        percentile(&local, 0.5),
        percentile(&local, 0.99)
    );

    let raw = raw_hashes_per_second(&settings, seconds);
    println!("raw argon2id: {raw:.1} hashes/s");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(ent_identity::server::serve(
        settings.clone(),
        Arc::new(SystemClock),
        listener,
        std::future::pending(),
    ));
    let channel = loop {
        if let Ok(c) = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    // One active account with a password, set behind the server's back (the
    // activation journey is not what is measured here).
    let account = AccountLifecycleServiceClient::new(channel.clone())
        .provision_account(proto::ProvisionAccountRequest {
            record: Some(proto::ProvisionRecord {
                institution: "u-bordeaux-montaigne".into(),
                profile: "student".into(),
                student_number: "30000001".into(),
                given_name: "Paul".into(),
                family_name: "Martin".into(),
                birth_date: "2005-06-15".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("provision")
        .into_inner()
        .account
        .expect("account");
    activate(&settings, &account.account_id).await;

    // Meter latency over gRPC, one call at a time.
    let mut meter = ActivationServiceClient::new(channel.clone());
    let mut remote = Vec::new();
    for i in 0..2_000 {
        let started = Instant::now();
        meter
            .evaluate_password(proto::EvaluatePasswordRequest {
                candidate: format!("{}{}", &PASSWORD[..1 + i % PASSWORD.len()], i),
                context: Some(proto::evaluate_password_request::Context::Policy(
                    proto::PolicyRef {
                        institution: "umontpellier".into(),
                        profile: "staff_tenured".into(),
                    },
                )),
            })
            .await
            .expect("evaluate");
        remote.push(started.elapsed());
    }
    remote.sort();
    println!(
        "EvaluatePassword over gRPC: p50 {:?}, p99 {:?}",
        percentile(&remote, 0.5),
        percentile(&remote, 0.99)
    );

    // Verifications through the service, enough in flight to keep every
    // hashing thread busy.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let mut client = AccountSettingsServiceClient::new(channel.clone());
            let (stop, done) = (stop.clone(), done.clone());
            let login = account.login.clone();
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let ok = client
                        .verify_password(proto::VerifyPasswordRequest {
                            account: Some(proto::AccountSelector {
                                institution: "u-bordeaux-montaigne".into(),
                                identifier: Some(proto::account_selector::Identifier::Login(
                                    login.clone(),
                                )),
                            }),
                            password: PASSWORD.into(),
                        })
                        .await
                        .expect("verify")
                        .into_inner()
                        .valid;
                    assert!(ok);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let through = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!(
        "VerifyPassword through the service: {through:.1} verifications/s = {:.2} of raw",
        through / raw
    );
}

async fn activate(settings: &Settings, account_id: &str) {
    use ent_identity::store::entities::account;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let hasher = ent_identity::hashing::PasswordHasher::start(&settings.password_hashing).unwrap();
    let hash = hasher
        .hash(Arc::new(Password::new(PASSWORD.into())))
        .await
        .unwrap();
    let store = ent_identity::store::Store::connect(&settings.database)
        .await
        .unwrap();
    let now = SystemClock.now();
    store
        .set_password(
            ent_identity::store::passwords::NewPassword {
                account_id,
                replaces: None,
                hash: &hash,
                expires_at: None,
                reminder_at: None,
                history_count: 0,
                action: "password.set_by_bench",
                spend: None,
                messages: Vec::new(),
            },
            &ent_identity::store::AuditContext {
                actor: "bench".into(),
                request_id: "bench".into(),
            },
            now,
        )
        .await
        .unwrap();
    account::Entity::update_many()
        .col_expr(account::Column::Status, Expr::value("active"))
        .col_expr(account::Column::ActivatedAt, Expr::value(now))
        .filter(account::Column::Id.eq(account_id))
        .exec(store.connection())
        .await
        .unwrap();
}
