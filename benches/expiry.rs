//! The expiry batch on a large PostgreSQL table: time and peak memory.
//!
//! `ENT_IDENTITY_BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres
//! cargo bench --bench expiry` seeds `ENT_IDENTITY_BENCH_ACCOUNTS` accounts
//! (default 1,000,000) in a fresh schema with one SQL statement, a fifth of
//! them due for something (expiry, notice, purge, limited access, password
//! expiry), then runs the batch as `ent-identity expire` does and reports
//! its duration, the actions per second and the process's peak resident
//! memory during the run (Linux: the high-water mark is reset before it).

use std::time::Instant;

use ent_identity::batch::{self, BatchRequest};
use ent_identity::config::Settings;
use ent_identity::store::{AuditContext, Store};
use sea_orm::{ConnectionTrait, Database};

/// Accounts per hundred due for each step (the rest have nothing due).
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

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() {
    let Ok(url) = std::env::var("ENT_IDENTITY_BENCH_DATABASE_URL") else {
        eprintln!("set ENT_IDENTITY_BENCH_DATABASE_URL to a PostgreSQL database");
        return;
    };
    let count: i64 = std::env::var("ENT_IDENTITY_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let schema = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&url).await.expect("connect");
    admin
        .execute_unprepared(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("schema");
    let institutions =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config/institutions");
    let files: Vec<_> = std::fs::read_dir(&institutions)
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .collect();
    let settings = Settings::load_with_env(
        &files,
        [
            ("ENT_IDENTITY__DATABASE__URL".to_owned(), url.clone()),
            ("ENT_IDENTITY__DATABASE__SCHEMA".to_owned(), schema.clone()),
        ],
    )
    .expect("configuration");
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
        .execute_unprepared("ANALYZE accounts")
        .await
        .expect("analyze");
    println!(
        "seeded {count} accounts in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Only the run counts towards the peak: reset the high-water mark.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = peak_rss_kib();
    let ctx = AuditContext {
        actor: "bench".into(),
        request_id: "bench".into(),
    };
    let request = BatchRequest {
        as_of: chrono::Utc::now(),
        dry_run: false,
        institution: Some("umontpellier".into()),
        chunk_size: settings.batch.chunk_size,
        max_chunks: None,
    };
    let started = Instant::now();
    let report = batch::run(&store, &settings, &request, &ctx)
        .await
        .expect("batch");
    let elapsed = started.elapsed().as_secs_f64();
    let actions = report.accounts_limited
        + report.accounts_expired
        + report.notices_sent
        + report.passwords_expired
        + report.accounts_purged
        + report.password_reminders_sent
        + report.activations_opened;
    println!(
        "batch over {count} accounts: {elapsed:.1} s, {actions} actions ({:.0}/s) in {} chunks of {}",
        f64::from(actions) / elapsed,
        report.chunks,
        request.chunk_size
    );
    println!(
        "  limited {} expired {} notices {} passwords expired {} purged {}",
        report.accounts_limited,
        report.accounts_expired,
        report.notices_sent,
        report.passwords_expired,
        report.accounts_purged
    );
    println!(
        "peak RSS during the run: {} MiB (before: {} MiB)",
        peak_rss_kib().unwrap_or(0) / 1024,
        before.unwrap_or(0) / 1024
    );
    let again = Instant::now();
    let second = batch::run(&store, &settings, &request, &ctx)
        .await
        .expect("second batch");
    println!(
        "second run: {:.1} s, {} chunks (nothing left to do: {})",
        again.elapsed().as_secs_f64(),
        second.chunks,
        second.chunks == 0
    );
    store.close().await.expect("close");
    admin
        .execute_unprepared(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop schema");
}
