//! The only code that speaks SQL. The same SeaORM code runs on SQLite (the
//! embedded default) and PostgreSQL (production).
//!
//! Writes go through [`Store::begin_write`]: on SQLite it first takes an
//! in-process lock so that write transactions never race for SQLite's single
//! writer slot (which would fail with SQLITE_BUSY instead of waiting); on
//! PostgreSQL, row locks and unique indexes do that work.

pub mod account_fields;
pub mod accounts;
pub mod activation;
pub mod audit;
pub mod batch_runs;
pub mod entities;
pub mod feed;
pub mod feed_readers;
pub mod guests;
pub mod lifecycle;
pub mod limits;
pub mod outbox;
pub mod passwords;
pub mod personal_data;
mod pool_check;
pub mod profiles;
pub mod provisioning;
pub mod retention;
pub mod secrets;
pub mod self_service;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

pub use audit::{AuditContext, AuditEntry, audit_row, record_audit};

/// Where the database is and how the pool uses it (the configuration's
/// `[database]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.sqlite` (created if missing) or
    /// `postgres://user:password@host:port/database`.
    pub url: String,
    /// PostgreSQL schema to use (its `search_path`); absent: the server's
    /// default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Connections in the pool.
    pub max_connections: u32,
    /// Apply pending migrations on `serve`. Always done for SQLite; opt-in
    /// for PostgreSQL, where `ent-identity migrate` is the usual way.
    pub auto_migrate: bool,
    /// Longest wait for a connection.
    #[serde(with = "formats::duration")]
    pub connect_timeout: Duration,
    /// How often the server checks that the database answers (and, until it
    /// is migrated, tries again), switching health between SERVING and
    /// NOT_SERVING.
    #[serde(with = "formats::duration")]
    pub health_check_interval: Duration,
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    pub fn from_url(url: &str) -> Option<DatabaseKind> {
        if url.starts_with("sqlite:") {
            Some(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(DatabaseKind::Postgres)
        } else {
            None
        }
    }
}

/// A database failure. Its text is for logs only, never for callers.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(DbErr),
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        path: String,
        source: std::io::Error,
    },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Rng(#[from] domain::secret::RngUnavailable),
}

impl From<DbErr> for StoreError {
    fn from(error: DbErr) -> StoreError {
        if db_unavailable(&error) {
            pool_check::outage_seen();
        }
        StoreError::Db(error)
    }
}

impl StoreError {
    /// Whether this is a unique-index violation (a race another call won).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(e) if matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))))
    }

    /// Whether a concurrent transaction won a race this one lost: a unique
    /// index fired, or PostgreSQL chose this transaction to end a deadlock
    /// (40P01). Redoing the work on what is now committed succeeds.
    pub fn is_lost_race(&self) -> bool {
        self.is_unique_violation() || self.sqlstate().as_deref() == Some("40P01")
    }

    /// The SQLSTATE of a database error.
    fn sqlstate(&self) -> Option<String> {
        let StoreError::Db(DbErr::Exec(runtime) | DbErr::Query(runtime)) = self else {
            return None;
        };
        match runtime {
            sea_orm::RuntimeErr::SqlxError(error) => match error.as_ref() {
                sea_orm::sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
                _ => None,
            },
            sea_orm::RuntimeErr::Internal(_) => None,
        }
    }
}

/// Whether `error`, or any of its causes, says the database cannot be
/// reached or is not answering now (down, restarting, out of connections,
/// locked): the call may succeed if retried, which callers learn as
/// `UNAVAILABLE` rather than as a failure of ours.
pub fn is_unavailable(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(error) = cause {
        if let Some(StoreError::Db(db)) = error.downcast_ref::<StoreError>()
            && db_unavailable(db)
        {
            return true;
        }
        if let Some(db) = error.downcast_ref::<DbErr>()
            && db_unavailable(db)
        {
            return true;
        }
        if let Some(sqlx) = error.downcast_ref::<sea_orm::sqlx::Error>()
            && sqlx_unavailable(sqlx)
        {
            return true;
        }
        cause = error.source();
    }
    false
}

fn db_unavailable(error: &DbErr) -> bool {
    match error {
        // No connection could be had or opened, whatever the reason (a
        // server that accepts then closes while restarting answers nothing
        // sqlx can read).
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(runtime) | DbErr::Query(runtime) => match runtime {
            sea_orm::RuntimeErr::SqlxError(sqlx) => sqlx_unavailable(sqlx),
            sea_orm::RuntimeErr::Internal(_) => false,
        },
        _ => false,
    }
}

fn sqlx_unavailable(error: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error;
    match error {
        Error::Io(_)
        | Error::Tls(_)
        | Error::PoolTimedOut
        | Error::PoolClosed
        | Error::WorkerCrashed => true,
        Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// PostgreSQL's SQLSTATE of a server going away or refusing connections
/// (class 08 connection exceptions; admin, crash and "cannot connect now"
/// shutdowns; too many connections), and SQLite's busy and locked codes
/// (primary or extended).
fn unavailable_code(code: &str) -> bool {
    const POSTGRES: [&str; 5] = ["57P01", "57P02", "57P03", "53300", "08006"];
    if code.starts_with("08") || POSTGRES.contains(&code) {
        return true;
    }
    code.parse::<u32>()
        .is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6))
}

/// Write transactions a bulk job runs at once (a bulk provisioning chunk's
/// lanes, the expiry batch's workers): on PostgreSQL two per core (while
/// one lane's statements run, another's rows are planned: bulk
/// provisioning went from 6,700 accounts/s with one per core to 8,000,
/// BENCHMARKS.md), leaving half the pool to other calls; one on SQLite,
/// which has one writer at a time.
fn write_lanes(kind: DatabaseKind, max_connections: u32) -> usize {
    if kind != DatabaseKind::Postgres {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * 2).min(max_connections as usize / 2).max(1)
}

/// The database.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    kind: DatabaseKind,
    write_lock: Arc<Mutex<()>>,
    /// Rows this process inserted, for refreshing planner statistics.
    load: Arc<std::sync::Mutex<LoadTracker>>,
    /// The keys that hash low-entropy secrets (`None`: this store only
    /// reads, or writes nothing secret).
    secret_keys: Option<Arc<domain::secret::SecretKeys>>,
    /// Write transactions a bulk job runs at once.
    write_lanes: usize,
}

/// A write transaction, holding the SQLite write lock while it lives.
pub struct WriteTxn<'s> {
    pub txn: DatabaseTransaction,
    _guard: Option<MutexGuard<'s, ()>>,
}

impl WriteTxn<'_> {
    pub async fn commit(self) -> Result<(), StoreError> {
        self.txn.commit().await?;
        Ok(())
    }
}

impl Store {
    /// Connects (creating the SQLite file and its folder if missing).
    pub async fn connect(settings: &DatabaseSettings) -> Result<Store, StoreError> {
        let kind = DatabaseKind::from_url(&settings.url)
            .ok_or_else(|| StoreError::Corrupt("unsupported database URL".into()))?;
        let mut options = ConnectOptions::new(settings.url.clone());
        options
            .max_connections(settings.max_connections)
            .min_connections(1)
            .connect_timeout(settings.connect_timeout)
            .acquire_timeout(settings.connect_timeout)
            .sqlx_logging(false)
            // A check of every connection handed out is a round trip per
            // call (BENCHMARKS.md): only those that may have died are checked.
            .test_before_acquire(false)
            // The server starts, and reports NOT_SERVING, even while the
            // database is down; the pool connects on first use.
            .connect_lazy(true);
        if let Some(schema) = &settings.schema {
            options.set_schema_search_path(schema.clone());
        }
        if kind == DatabaseKind::Postgres {
            options.map_sqlx_postgres_pool_opts(pool_check::before_acquire);
        }
        if kind == DatabaseKind::Sqlite {
            if let Some(folder) = sqlite_folder(&settings.url) {
                std::fs::create_dir_all(&folder).map_err(|source| StoreError::Folder {
                    path: folder.display().to_string(),
                    source,
                })?;
            }
            options.map_sqlx_sqlite_opts(|opts| {
                use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
            });
        }
        let db = Database::connect(options).await?;
        Ok(Store {
            db,
            kind,
            write_lock: Arc::new(Mutex::new(())),
            load: Arc::new(std::sync::Mutex::new(LoadTracker::default())),
            secret_keys: None,
            write_lanes: write_lanes(kind, settings.max_connections),
        })
    }

    /// This store, hashing the secrets it issues under `keys`.
    pub fn with_secret_keys(mut self, keys: Arc<domain::secret::SecretKeys>) -> Store {
        self.secret_keys = Some(keys);
        self
    }

    /// The keys that hash low-entropy secrets.
    pub fn secret_keys(&self) -> Result<Arc<domain::secret::SecretKeys>, StoreError> {
        self.secret_keys
            .clone()
            .ok_or_else(|| StoreError::Corrupt("no secret keys given to this store".into()))
    }

    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// Write transactions a bulk job runs at once (`write_lanes`).
    pub fn write_lanes(&self) -> usize {
        self.write_lanes
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// How many migrations are not applied yet.
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        Ok(Migrator::get_pending_migrations(&self.db).await?.len())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        Ok(())
    }

    /// Starts a write transaction.
    pub async fn begin_write(&self) -> Result<WriteTxn<'_>, StoreError> {
        let guard = match self.kind {
            DatabaseKind::Sqlite => Some(self.write_lock.lock().await),
            DatabaseKind::Postgres => None,
        };
        // IMMEDIATE takes SQLite's write lock at BEGIN, waiting up to the busy
        // timeout, so another process writing the same file cannot make this
        // transaction fail half-way.
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        Ok(WriteTxn { txn, _guard: guard })
    }

    /// After bulk loads, refreshes PostgreSQL's statistics of `accounts`
    /// each time this process has doubled what it inserted: on a young table
    /// autovacuum has not analysed yet, the planner believes the table empty
    /// and scans it whole for each lookup, so a first intake of thousands of
    /// students would slow down as it grows.
    pub async fn refresh_statistics_after_load(
        &self,
        rows_written: usize,
    ) -> Result<(), StoreError> {
        if self.kind != DatabaseKind::Postgres || rows_written == 0 {
            return Ok(());
        }
        let due = self
            .load
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(rows_written);
        if due {
            self.db.execute_unprepared("ANALYZE accounts").await?;
        }
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<(), StoreError> {
        self.db.close().await?;
        Ok(())
    }
}

/// Counts inserted rows to decide when statistics are worth refreshing.
#[derive(Debug, Default)]
struct LoadTracker {
    /// Rows inserted up to the last refresh.
    baseline: usize,
    /// Rows inserted since.
    pending: usize,
}

impl LoadTracker {
    /// Rows below which a refresh is not worth it.
    const MIN_ROWS: usize = 200;

    /// Records `rows` more; whether statistics should be refreshed now
    /// (each time the inserted total doubles).
    fn record(&mut self, rows: usize) -> bool {
        self.pending += rows;
        if self.pending < Self::MIN_ROWS.max(self.baseline) {
            return false;
        }
        self.baseline += self.pending;
        self.pending = 0;
        true
    }
}

/// The folder of an SQLite file URL, if it has one.
fn sqlite_folder(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
}

/// Bound parameters per INSERT statement: a 500-row batch of the widest
/// table (accounts) in one or two statements, under SQLite's 32,766 and
/// PostgreSQL's 65,535 limits.
const PARAMETERS_PER_INSERT: usize = 16_000;

/// Inserts `rows` in as few statements as possible (none when empty).
///
/// On PostgreSQL the rows go as one JSON parameter expanded by
/// `json_populate_recordset`: a multi-row VALUES list of thousands of
/// parameters costs PostgreSQL about 30 µs per row to bind and plan, the JSON
/// form a fraction of it (BENCHMARKS.md). Elsewhere, or for rows with unset
/// columns (whose defaults the JSON form would skip), multi-row INSERTs.
pub async fn insert_rows<A>(conn: &impl ConnectionTrait, mut rows: Vec<A>) -> Result<(), DbErr>
where
    A: sea_orm::ActiveModelTrait,
{
    use sea_orm::{EntityName, EntityTrait, IdenStatic, Iterable};
    if rows.is_empty() {
        return Ok(());
    }
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres
        && let Some(json) = rows_as_json(&rows)
    {
        let table = <A::Entity as Default>::default().table_name().to_owned();
        let columns: Vec<String> = <A::Entity as EntityTrait>::Column::iter()
            .map(|c| format!("\"{}\"", c.as_str()))
            .collect();
        let columns = columns.join(", ");
        let sql = format!(
            "INSERT INTO \"{table}\" ({columns}) SELECT {columns} \
             FROM json_populate_recordset(NULL::\"{table}\", $1::json)"
        );
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            sql,
            [sea_orm::Value::from(json)],
        ))
        .await?;
        return Ok(());
    }
    let columns = <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let per_statement = (PARAMETERS_PER_INSERT / columns).max(1);
    while !rows.is_empty() {
        let rest = rows.split_off(per_statement.min(rows.len()));
        <A::Entity as EntityTrait>::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
        rows = rest;
    }
    Ok(())
}

/// The rows as a JSON array of objects keyed by column name, or `None` when
/// a column is unset or of a type this does not write. Written straight
/// into the text (a bulk chunk's rows as `serde_json::Value` maps cost the
/// server more than the statement: BENCHMARKS.md).
fn rows_as_json<A: sea_orm::ActiveModelTrait>(rows: &[A]) -> Option<String> {
    use sea_orm::{EntityTrait, IdenStatic, Iterable};
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .map(|column| (column, serde_json::to_string(column.as_str())))
        .collect();
    let mut out: Vec<u8> = Vec::with_capacity(rows.len() * 64 * columns.len().max(1));
    out.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        for (j, (column, key)) in columns.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key.as_ref().ok()?.as_bytes());
            out.push(b':');
            write_json_value(&mut out, row.get(*column).into_value()?)?;
        }
        out.push(b'}');
    }
    out.push(b']');
    String::from_utf8(out).ok()
}

/// One column's value in JSON, as `json_populate_recordset` reads it back
/// into the column's type; `None` for a type this does not write.
fn write_json_value(out: &mut Vec<u8>, value: sea_orm::Value) -> Option<()> {
    use sea_orm::Value;
    use std::io::Write;
    match value {
        Value::String(Some(s)) => serde_json::to_writer(&mut *out, &s).ok()?,
        Value::Bool(Some(b)) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::TinyInt(Some(n)) => write!(out, "{n}").ok()?,
        Value::SmallInt(Some(n)) => write!(out, "{n}").ok()?,
        Value::Int(Some(n)) => write!(out, "{n}").ok()?,
        Value::BigInt(Some(n)) => write!(out, "{n}").ok()?,
        // Microseconds, truncated, as the bound parameters are.
        Value::ChronoDateTimeUtc(Some(t)) => write!(
            out,
            "\"{}\"",
            t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        )
        .ok()?,
        Value::ChronoDate(Some(d)) => write!(out, "\"{}\"", d.format("%Y-%m-%d")).ok()?,
        Value::String(None)
        | Value::Bool(None)
        | Value::TinyInt(None)
        | Value::SmallInt(None)
        | Value::Int(None)
        | Value::BigInt(None)
        | Value::ChronoDateTimeUtc(None)
        | Value::ChronoDate(None) => out.extend_from_slice(b"null"),
        _ => return None,
    }
    Some(())
}

/// A new id for a row.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_go_to_json_as_postgresql_reads_them_back() {
        use crate::entities::account_change;
        use sea_orm::{ActiveValue::NotSet, Set};
        let at = chrono::DateTime::parse_from_rfc3339("2026-09-01T08:30:00.123456789Z")
            .expect("instant")
            .with_timezone(&chrono::Utc);
        let row = |snapshot: Option<&str>| account_change::ActiveModel {
            seq: Set(7),
            account_id: Set("a\"1\\".into()),
            institution: Set("é".into()),
            kind: Set("created".into()),
            occurred_at: Set(at),
            account_snapshot: Set(snapshot.map(str::to_owned)),
        };
        let json = rows_as_json(&[row(None), row(Some("{\"x\":1}"))]).expect("json");
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(
            parsed,
            serde_json::json!([
                {"seq": 7, "account_id": "a\"1\\", "institution": "é", "kind": "created",
                 "occurred_at": "2026-09-01T08:30:00.123456Z", "account_snapshot": null},
                {"seq": 7, "account_id": "a\"1\\", "institution": "é", "kind": "created",
                 "occurred_at": "2026-09-01T08:30:00.123456Z", "account_snapshot": "{\"x\":1}"},
            ])
        );
        let unset = account_change::ActiveModel {
            account_snapshot: NotSet,
            ..row(None)
        };
        assert!(
            rows_as_json(&[unset]).is_none(),
            "an unset column keeps its default"
        );
    }

    #[test]
    fn statistics_refresh_each_time_the_load_doubles() {
        let mut tracker = LoadTracker::default();
        let refreshed: Vec<usize> = (1..=100)
            .filter(|_| tracker.record(100))
            .map(|i| i * 100)
            .collect();
        assert_eq!(refreshed, [200, 400, 800, 1600, 3200, 6400]);
    }

    #[test]
    fn sqlite_folders() {
        assert_eq!(
            sqlite_folder("sqlite://data/ent.sqlite?mode=rwc"),
            Some("data".into())
        );
        assert_eq!(sqlite_folder("sqlite://ent.sqlite"), None);
        assert_eq!(sqlite_folder("sqlite::memory:"), None);
    }
}
