//! Which pooled PostgreSQL connections are checked before use.
//!
//! sqlx checks every connection it hands out with a round trip by default:
//! one per call besides the call's own statements (a quarter of GetAccount's
//! cost, BENCHMARKS.md). A connection can only have died if the database
//! (or something between) dropped it while it sat in the pool: after an
//! outage this process has seen, or after a long idle time (a restart nobody
//! called during, a firewall's idle timeout). Only those are checked; a dead
//! one is closed and another taken, so the first call after the database
//! comes back is served.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::sqlx::pool::{PoolConnectionMetadata, PoolOptions};
use sea_orm::sqlx::{Connection, PgConnection, Postgres};

/// A connection idle this long is checked whatever happened meanwhile.
const IDLE_CHECK: Duration = Duration::from_secs(10);
/// Slack between a failure and its report: a connection last used this
/// shortly before the outage was seen may have been the one that failed.
const REPORT_SLACK: Duration = Duration::from_secs(1);

/// When this process last saw the database unreachable, in milliseconds
/// since `epoch()` plus one (zero: never).
static LAST_OUTAGE: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn millis_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_millis()).unwrap_or(u64::MAX)
}

/// Records that a call found the database unreachable now.
pub(crate) fn outage_seen() {
    LAST_OUTAGE.fetch_max(millis_since_epoch(Instant::now()) + 1, Ordering::Relaxed);
}

/// Whether a connection idle for `idle_for` until `now` must be checked:
/// idle long, or idle since before (or just after) the last outage seen.
fn needs_check(now: Instant, idle_for: Duration) -> bool {
    if idle_for >= IDLE_CHECK {
        return true;
    }
    let outage = LAST_OUTAGE.load(Ordering::Relaxed);
    if outage == 0 {
        return false;
    }
    let last_used = millis_since_epoch(now.checked_sub(idle_for).unwrap_or_else(epoch));
    let slack = REPORT_SLACK.as_millis() as u64;
    last_used <= (outage - 1).saturating_add(slack)
}

/// The pool's options with this check instead of sqlx's check of every
/// connection.
pub(crate) fn before_acquire(options: PoolOptions<Postgres>) -> PoolOptions<Postgres> {
    // Fixed before any connection exists, so that "last used" of every
    // connection is after it.
    let _ = epoch();
    options.test_before_acquire(false).before_acquire(
        |connection: &mut PgConnection, meta: PoolConnectionMetadata| {
            Box::pin(async move {
                if needs_check(Instant::now(), meta.idle_for) {
                    // An error closes this connection; the pool opens or
                    // takes another.
                    connection.ping().await?;
                }
                Ok(true)
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_is_checked_when_idle_long_or_idle_since_an_outage() {
        let start = epoch();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        // This test alone writes the process-wide record, to a time of its
        // own making.
        assert!(needs_check(at(100), IDLE_CHECK), "idle for the whole limit");
        assert!(!needs_check(at(100), Duration::from_secs(9)), "no outage");
        LAST_OUTAGE.store(millis_since_epoch(at(50)) + 1, Ordering::Relaxed);
        assert!(
            needs_check(at(55), Duration::from_secs(6)),
            "idle since before the outage"
        );
        assert!(
            needs_check(at(55), Duration::from_millis(4_500)),
            "used just before the outage was seen"
        );
        assert!(
            !needs_check(at(55), Duration::from_secs(3)),
            "used two seconds after the outage"
        );
    }
}
