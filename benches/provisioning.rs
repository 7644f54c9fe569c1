//! Bulk provisioning throughput: streams records to a real server over gRPC
//! on loopback and reports records per second.
//!
//! `cargo bench --bench provisioning` (SQLite in a temporary folder);
//! with `ENT_IDENTITY_BENCH_DATABASE_URL=postgres://...` it runs on
//! PostgreSQL in a fresh schema. `ENT_IDENTITY_BENCH_RECORDS` sets the count
//! (default 20,000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ent_identity::clock::SystemClock;
use ent_identity::config::Settings;
use ent_identity::proto;
use ent_identity::proto::account_lifecycle_service_client::AccountLifecycleServiceClient;
use sea_orm::{ConnectionTrait, Database};

/// A family name among `FAMILIES`, as letters (names carry no digits).
fn family(n: usize) -> String {
    let mut n = n;
    let mut name = String::from("Nom");
    for _ in 0..3 {
        name.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    name
}

/// Distinct family names: with 20,000 records, about four people share each
/// family name and a few share a login stem, as in a real intake.
const FAMILIES: usize = 5_000;

fn record(i: usize) -> proto::BulkProvisionAccountsRequest {
    const GIVEN: [&str; 8] = [
        "Jean", "Marie", "Léa", "Hugo", "Chloé", "Louis", "Inès", "Noah",
    ];
    proto::BulkProvisionAccountsRequest {
        correlation_id: i.to_string(),
        record: Some(proto::ProvisionRecord {
            institution: "u-bordeaux-montaigne".into(),
            profile: "student".into(),
            student_number: format!("{:08}", 40_000_000 + i),
            given_name: GIVEN[(i / FAMILIES) % 8].into(),
            family_name: family(i % FAMILIES),
            birth_date: "2005-06-15".into(),
            ..Default::default()
        }),
    }
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("ENT_IDENTITY_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = tempfile::tempdir().expect("temporary folder");
    let institutions =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config/institutions");
    let mut env = vec![
        (
            "ENT_IDENTITY__INSTITUTIONS_DIR".to_owned(),
            institutions.display().to_string(),
        ),
        ("ENT_IDENTITY__LOG__FILTER".to_owned(), "warn".to_owned()),
    ];
    let backend = match std::env::var("ENT_IDENTITY_BENCH_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&url).await.expect("connect");
            admin
                .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("schema");
            env.push(("ENT_IDENTITY__DATABASE__URL".into(), url));
            env.push(("ENT_IDENTITY__DATABASE__SCHEMA".into(), schema));
            env.push(("ENT_IDENTITY__DATABASE__AUTO_MIGRATE".into(), "true".into()));
            "postgresql"
        }
        _ => {
            env.push((
                "ENT_IDENTITY__DATABASE__URL".into(),
                format!("sqlite://{}", dir.path().join("bench.sqlite").display()),
            ));
            "sqlite"
        }
    };
    let settings = Settings::load_with_env(&[], env).expect("configuration");
    let _telemetry =
        ent_identity::telemetry::init(&settings.log, &settings.telemetry).expect("telemetry");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(ent_identity::server::serve(
        Arc::new(settings),
        Arc::new(SystemClock),
        listener,
        std::future::pending(),
    ));
    let mut client = loop {
        if let Ok(c) = AccountLifecycleServiceClient::connect(format!("http://{addr}")).await {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Wait for the database to be migrated.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let mut responses = client
        .bulk_provision_accounts(tokio_stream::iter((0..count).map(record)))
        .await
        .expect("stream")
        .into_inner();
    let mut ok = 0usize;
    while let Some(r) = responses.message().await.expect("result") {
        if matches!(
            r.result,
            Some(proto::bulk_provision_accounts_response::Result::Provisioned(_))
        ) {
            ok += 1;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(ok, count, "every record provisioned");
    println!(
        "bulk provisioning ({backend}): {count} records in {:.2} s = {:.0} records/s",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
}
