//! Counters of wrong guesses, in the database so that every replica sees
//! the same count. A counter covers a fixed window that starts with its
//! first failure.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

use super::entities::attempt_counter;
use super::{Store, StoreError};

/// What is being counted: the scope (`forgot_login`, ...) and the subject
/// (an institution and a student number, ...). Only its hash is stored.
pub fn counter_key(scope: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(scope.as_bytes());
    for part in parts {
        hasher.update([0u8]);
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Failures counted in the current window, and when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub window_ends_at: DateTime<Utc>,
}

impl Store {
    /// The failures of `key` in its current window (none once it ended).
    pub async fn failures(
        &self,
        key: &str,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Failures>, StoreError> {
        Ok(attempt_counter::Entity::find_by_id(key)
            .one(self.connection())
            .await?
            .map(|row| Failures {
                count: u32::try_from(row.count).unwrap_or(0),
                window_ends_at: row.window_started_at + window,
            })
            .filter(|f| f.window_ends_at > now))
    }

    /// Counts one more failure of `key`; a counter whose window ended
    /// starts again at one.
    pub async fn record_failure(
        &self,
        key: &str,
        window: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Failures, StoreError> {
        use attempt_counter::Column as C;
        let write = self.begin_write().await?;
        // The increment is one statement, so two replicas counting at once
        // both count.
        let bumped = attempt_counter::Entity::update_many()
            .col_expr(C::Count, Expr::col(C::Count).add(1))
            .filter(C::Key.eq(key))
            .filter(C::WindowStartedAt.gt(now - window))
            .exec(&write.txn)
            .await?
            .rows_affected;
        if bumped == 0 {
            attempt_counter::Entity::insert(attempt_counter::ActiveModel {
                key: Set(key.to_owned()),
                window_started_at: Set(now),
                count: Set(1),
            })
            .on_conflict(
                OnConflict::column(C::Key)
                    .update_columns([C::WindowStartedAt, C::Count])
                    .to_owned(),
            )
            .exec(&write.txn)
            .await?;
        }
        let row = attempt_counter::Entity::find_by_id(key)
            .one(&write.txn)
            .await?
            .ok_or_else(|| StoreError::Corrupt("attempt counter vanished".into()))?;
        write.commit().await?;
        Ok(Failures {
            count: u32::try_from(row.count).unwrap_or(0),
            window_ends_at: row.window_started_at + window,
        })
    }
}
