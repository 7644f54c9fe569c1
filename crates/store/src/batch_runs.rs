//! The record of finished expiry batch runs, read back for the metrics.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entities::batch_run;
use super::{AuditContext, Store, StoreError, new_id};

/// The scope of a run over every institution.
pub const ALL_INSTITUTIONS: &str = "*";

/// What one run did, per step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub activations_opened: u32,
    pub accounts_limited: u32,
    pub accounts_expired: u32,
    pub notices_sent: u32,
    pub password_reminders_sent: u32,
    pub passwords_expired: u32,
    pub accounts_purged: u32,
    pub alumni_offers_sent: u32,
    pub accounts_kept_as_alumni: u32,
}

impl BatchCounts {
    /// Adds what another run (or worker) counted.
    pub fn add(&mut self, other: &BatchCounts) {
        self.activations_opened += other.activations_opened;
        self.accounts_limited += other.accounts_limited;
        self.accounts_expired += other.accounts_expired;
        self.notices_sent += other.notices_sent;
        self.password_reminders_sent += other.password_reminders_sent;
        self.passwords_expired += other.passwords_expired;
        self.accounts_purged += other.accounts_purged;
        self.alumni_offers_sent += other.alumni_offers_sent;
        self.accounts_kept_as_alumni += other.accounts_kept_as_alumni;
    }

    /// (step name as metrics label it, count).
    pub fn by_step(&self) -> [(&'static str, u32); 9] {
        [
            ("activations_opened", self.activations_opened),
            ("accounts_limited", self.accounts_limited),
            ("accounts_expired", self.accounts_expired),
            ("notices_sent", self.notices_sent),
            ("password_reminders_sent", self.password_reminders_sent),
            ("passwords_expired", self.passwords_expired),
            ("accounts_purged", self.accounts_purged),
            ("alumni_offers_sent", self.alumni_offers_sent),
            ("accounts_kept_as_alumni", self.accounts_kept_as_alumni),
        ]
    }
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRun {
    /// An institution's code, or [`ALL_INSTITUTIONS`].
    pub scope: String,
    pub as_of: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub complete: bool,
    pub chunks: u32,
    pub counts: BatchCounts,
}

/// The latest run of one scope, and when its latest complete run finished
/// (the same run, an older one, or none among those read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRuns {
    pub last: BatchRun,
    pub last_complete_at: Option<DateTime<Utc>>,
}

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

impl Store {
    /// Records a finished run.
    pub async fn record_batch_run(
        &self,
        ctx: &AuditContext,
        run: &BatchRun,
    ) -> Result<(), StoreError> {
        let c = &run.counts;
        batch_run::ActiveModel {
            id: Set(new_id()),
            scope: Set(run.scope.clone()),
            actor: Set(ctx.actor.chars().take(128).collect()),
            request_id: Set(ctx.request_id.chars().take(64).collect()),
            as_of: Set(run.as_of),
            started_at: Set(run.started_at),
            finished_at: Set(run.finished_at),
            complete: Set(run.complete),
            chunks: Set(int(run.chunks)),
            activations_opened: Set(int(c.activations_opened)),
            accounts_limited: Set(int(c.accounts_limited)),
            accounts_expired: Set(int(c.accounts_expired)),
            notices_sent: Set(int(c.notices_sent)),
            password_reminders_sent: Set(int(c.password_reminders_sent)),
            passwords_expired: Set(int(c.passwords_expired)),
            accounts_purged: Set(int(c.accounts_purged)),
            alumni_offers_sent: Set(int(c.alumni_offers_sent)),
            accounts_kept_as_alumni: Set(int(c.accounts_kept_as_alumni)),
        }
        .insert(self.connection())
        .await?;
        Ok(())
    }

    /// The latest run of each scope among the runs finished since `since`,
    /// and the latest complete one (which may be older than the latest).
    pub async fn latest_batch_runs(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<ScopeRuns>, StoreError> {
        // Nightly runs, a few scopes: a bounded read of the recent ones.
        let rows = batch_run::Entity::find()
            .filter(batch_run::Column::FinishedAt.gte(since))
            .order_by_desc(batch_run::Column::FinishedAt)
            .limit(500)
            .all(self.connection())
            .await?;
        let mut latest: Vec<ScopeRuns> = Vec::new();
        for row in rows {
            match latest.iter_mut().find(|s| s.last.scope == row.scope) {
                Some(scope) => {
                    if scope.last_complete_at.is_none() && row.complete {
                        scope.last_complete_at = Some(row.finished_at);
                    }
                }
                None => latest.push(ScopeRuns {
                    last_complete_at: row.complete.then_some(row.finished_at),
                    last: BatchRun {
                        scope: row.scope,
                        as_of: row.as_of,
                        started_at: row.started_at,
                        finished_at: row.finished_at,
                        complete: row.complete,
                        chunks: count(row.chunks),
                        counts: BatchCounts {
                            activations_opened: count(row.activations_opened),
                            accounts_limited: count(row.accounts_limited),
                            accounts_expired: count(row.accounts_expired),
                            notices_sent: count(row.notices_sent),
                            password_reminders_sent: count(row.password_reminders_sent),
                            passwords_expired: count(row.passwords_expired),
                            accounts_purged: count(row.accounts_purged),
                            alumni_offers_sent: count(row.alumni_offers_sent),
                            accounts_kept_as_alumni: count(row.accounts_kept_as_alumni),
                        },
                    },
                }),
            }
        }
        Ok(latest)
    }
}
