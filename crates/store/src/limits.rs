//! Attempt counters, in the database so that every replica counts together.
//! A counter covers a fixed window that starts with its first attempt.
//! Attempts are counted *before* they are judged, in one atomic statement,
//! so concurrent guesses on several replicas cannot slip past the limit;
//! a successful attempt is then forgiven.

use chrono::{DateTime, Utc};
use domain::guessing::{Admission, GuessPolicy, GuessRecord};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use sha2::{Digest, Sha256};

use super::entities::{attempt_counter, guess_counter};
use super::{Store, StoreError};

/// What is being counted: the scope (`guesses`, ...) and the subject (an
/// institution and a login, an address, ...). Only its hash is stored.
pub fn counter_key(scope: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    for part in parts {
        hasher.update([0u8]);
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Attempts counted in the current window, and when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempts {
    pub count: u32,
    pub window_ends_at: DateTime<Utc>,
}

impl Store {
    /// Counts one attempt of `key` and returns the count: one more in the
    /// current window, or one in a new window if the last one ended.
    pub async fn count_attempt(
        &self,
        key: &str,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Attempts, StoreError> {
        use attempt_counter::Column as C;
        let live = Expr::col((attempt_counter::Entity, C::WindowStartedAt)).gt(now - window);
        let count = CaseStatement::new()
            .case(
                live.clone(),
                Expr::col((attempt_counter::Entity, C::Count)).add(1),
            )
            .finally(1);
        let started = CaseStatement::new()
            .case(
                live,
                Expr::col((attempt_counter::Entity, C::WindowStartedAt)),
            )
            .finally(now);
        let row = attempt_counter::Entity::insert(attempt_counter::ActiveModel {
            key: Set(key.to_owned()),
            window_started_at: Set(now),
            count: Set(1),
        })
        .on_conflict(
            OnConflict::column(C::Key)
                .value(C::Count, count)
                .value(C::WindowStartedAt, started)
                .to_owned(),
        )
        .exec_with_returning(self.connection())
        .await?;
        Ok(Attempts {
            count: u32::try_from(row.count).unwrap_or(0),
            window_ends_at: row.window_started_at + window,
        })
    }

    /// Takes back one attempt of `key` (it succeeded).
    pub async fn forgive_attempt(&self, key: &str) -> Result<(), StoreError> {
        use attempt_counter::Column as C;
        attempt_counter::Entity::update_many()
            .col_expr(C::Count, Expr::col(C::Count).sub(1))
            .filter(C::Key.eq(key))
            .filter(C::Count.gt(0))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Deletes the counters whose window started before `before`; returns
    /// how many.
    pub async fn delete_stale_counters(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(attempt_counter::Entity::delete_many()
            .filter(attempt_counter::Column::WindowStartedAt.lt(before))
            .exec(self.connection())
            .await?
            .rows_affected)
    }
}

/// What reserving an attempt on several guess counters came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// Every counter took the attempt: judge it, then settle it.
    Granted,
    /// Some counter has every allowed attempt being judged: ask again.
    Wait,
    /// Some counter refuses until `retry_at` (the latest of them).
    Refused { retry_at: DateTime<Utc> },
}

fn record_of(row: &guess_counter::Model) -> GuessRecord {
    GuessRecord {
        failures: u32::try_from(row.failures).unwrap_or(0),
        last_failure_at: row.last_failure_at,
        pending: u32::try_from(row.pending).unwrap_or(0),
        pending_until: row.pending_until,
    }
}

fn row_of(key: &str, record: GuessRecord) -> guess_counter::ActiveModel {
    guess_counter::ActiveModel {
        key: Set(key.to_owned()),
        failures: Set(i32::try_from(record.failures).unwrap_or(i32::MAX)),
        last_failure_at: Set(record.last_failure_at),
        pending: Set(i32::try_from(record.pending).unwrap_or(i32::MAX)),
        pending_until: Set(record.pending_until),
    }
}

impl Store {
    /// The guess counters of `keys`, created if missing and locked for the
    /// transaction (row locks on PostgreSQL; SQLite's write lock), in key
    /// order so that two calls never wait on each other crosswise.
    async fn lock_guess_counters(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        keys: &[(String, GuessPolicy)],
    ) -> Result<Vec<(GuessPolicy, String, GuessRecord)>, StoreError> {
        let fresh = keys
            .iter()
            .map(|(key, _)| row_of(key, GuessRecord::default()));
        guess_counter::Entity::insert_many(fresh)
            .on_conflict_do_nothing_on([guess_counter::Column::Key])
            .exec(txn)
            .await?;
        let rows = guess_counter::Entity::find()
            .filter(guess_counter::Column::Key.is_in(keys.iter().map(|(k, _)| k.as_str())))
            .order_by_asc(guess_counter::Column::Key)
            .lock_exclusive()
            .all(txn)
            .await?;
        rows.iter()
            .map(|row| {
                let policy = keys
                    .iter()
                    .find(|(k, _)| *k == row.key)
                    .map(|(_, p)| *p)
                    .ok_or_else(|| StoreError::Corrupt("guess counter of no key".into()))?;
                Ok((policy, row.key.clone(), record_of(row)))
            })
            .collect()
    }

    /// Reserves one attempt on every counter of `keys`, or none of them.
    pub async fn reserve_guess(
        &self,
        keys: &[(String, GuessPolicy)],
        now: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        let write = self.begin_write().await?;
        let counters = self.lock_guess_counters(&write.txn, keys).await?;
        let mut verdict = Reservation::Granted;
        for (policy, _, record) in &counters {
            verdict = match (verdict, record.admit(policy, now)) {
                (Reservation::Refused { retry_at: a }, Admission::Refuse { retry_at: b }) => {
                    Reservation::Refused {
                        retry_at: Ord::max(a, b),
                    }
                }
                (refused @ Reservation::Refused { .. }, _) => refused,
                (_, Admission::Refuse { retry_at }) => Reservation::Refused { retry_at },
                (_, Admission::WaitForPending) => Reservation::Wait,
                (so_far, Admission::Judge) => so_far,
            };
        }
        if verdict == Reservation::Granted {
            for (policy, key, record) in counters {
                let reserved = record.reserved(&policy, now);
                guess_counter::Entity::update(row_of(&key, reserved))
                    .exec(&write.txn)
                    .await?;
            }
        }
        write.commit().await?;
        Ok(verdict)
    }

    /// Settles an attempt reserved with [`Store::reserve_guess`]: a right
    /// one gives its places back, a wrong one is a failure on every
    /// counter.
    pub async fn settle_guess(
        &self,
        keys: &[(String, GuessPolicy)],
        right: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let write = self.begin_write().await?;
        for (policy, key, record) in self.lock_guess_counters(&write.txn, keys).await? {
            let settled = record.settled(&policy, right, now);
            guess_counter::Entity::update(row_of(&key, settled))
                .exec(&write.txn)
                .await?;
        }
        write.commit().await
    }

    /// Deletes the guess counters with no failure since `before` and no
    /// reservation; returns how many.
    pub async fn delete_stale_guess_counters(
        &self,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        use guess_counter::Column as C;
        let quiet = Condition::any()
            .add(C::LastFailureAt.is_null())
            .add(C::LastFailureAt.lt(before));
        let free = Condition::any()
            .add(C::PendingUntil.is_null())
            .add(C::PendingUntil.lt(before));
        Ok(guess_counter::Entity::delete_many()
            .filter(quiet)
            .filter(free)
            .exec(self.connection())
            .await?
            .rows_affected)
    }
}
