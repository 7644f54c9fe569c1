//! What the service keeps beside the accounts, forgotten by the expiry
//! batch once past its time (issue 29): audit events, messages sent or
//! given up, activation flows and one-time secrets that are over. Each
//! delete is idempotent and two batches running at once delete each row
//! once between them.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::entities::{activation_flow, audit_event, one_time_secret, outbox};
use super::{Store, StoreError};

/// The instant before which each kind of record is forgotten.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    pub audit_events: DateTime<Utc>,
    pub sent_messages: DateTime<Utc>,
    pub finished_flows: DateTime<Utc>,
}

/// How many records of each kind a run forgot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub audit_events: u64,
    pub sent_messages: u64,
    pub finished_flows: u64,
    pub spent_secrets: u64,
}

impl Store {
    /// Deletes what is past `cutoffs`: audit events, messages sent or
    /// given up, flows completed or expired, and secrets used, revoked or
    /// expired (a flow's codes with it).
    pub async fn forget_old_records(&self, cutoffs: Cutoffs) -> Result<Forgotten, StoreError> {
        let conn = self.connection();
        let audit_events = audit_event::Entity::delete_many()
            .filter(audit_event::Column::OccurredAt.lt(cutoffs.audit_events))
            .exec(conn)
            .await?
            .rows_affected;
        let before = cutoffs.sent_messages;
        let sent_messages = outbox::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(outbox::Column::SentAt.lt(before))
                    .add(outbox::Column::FailedAt.lt(before)),
            )
            .exec(conn)
            .await?
            .rows_affected;
        let before = cutoffs.finished_flows;
        let finished_flows = activation_flow::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(activation_flow::Column::CompletedAt.lt(before))
                    .add(activation_flow::Column::ExpiresAt.lt(before)),
            )
            .exec(conn)
            .await?
            .rows_affected;
        let spent_secrets = one_time_secret::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(one_time_secret::Column::UsedAt.lt(before))
                    .add(one_time_secret::Column::RevokedAt.lt(before))
                    .add(one_time_secret::Column::ExpiresAt.lt(before)),
            )
            .exec(conn)
            .await?
            .rows_affected;
        Ok(Forgotten {
            audit_events,
            sent_messages,
            finished_flows,
            spent_secrets,
        })
    }
}
