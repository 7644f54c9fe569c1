//! Attempt counters, in the database so that every replica counts together.
//! A counter covers a fixed window that starts with its first attempt.
//! Attempts are counted *before* they are judged, in one atomic statement,
//! so concurrent guesses on several replicas cannot slip past the limit;
//! a successful attempt is then forgiven.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use super::entities::attempt_counter;
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
