//! What the service keeps beside the accounts, forgotten by the expiry
//! batch once past its time (issue 29): audit events, messages sent or
//! given up, activation flows and one-time secrets that are over, the
//! feed's changes every reader has read (`feed_readers`), records held for
//! review once decided, and invitations refused. Each delete is idempotent
//! and two batches running at once delete each row once between them.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use super::entities::{
    activation_flow, audit_event, guest_invitation, held_record, one_time_secret, outbox,
};
use super::feed_readers::FeedForgotten;
use super::{Store, StoreError};
use domain::duplicates::HeldStatus;
use domain::guest::InvitationStatus;

/// The instant before which each kind of record is forgotten.
#[derive(Debug, Clone, Copy)]
pub struct Cutoffs {
    pub audit_events: DateTime<Utc>,
    pub sent_messages: DateTime<Utc>,
    pub finished_flows: DateTime<Utc>,
    pub feed_entries: DateTime<Utc>,
    /// Readers of the feed silent since before this no longer hold its
    /// changes back.
    pub feed_readers_since: DateTime<Utc>,
    pub decided_requests: DateTime<Utc>,
}

/// How many records of each kind a run forgot.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forgotten {
    pub audit_events: u64,
    pub sent_messages: u64,
    pub finished_flows: u64,
    pub spent_secrets: u64,
    pub feed: FeedForgotten,
    /// Held records decided, and invitations refused.
    pub decided_requests: u64,
}

impl Store {
    /// Deletes what is past `cutoffs`: audit events, messages sent or
    /// given up, flows completed or expired, and secrets used, revoked or
    /// expired (a flow's codes with it).
    pub async fn forget_old_records(&self, cutoffs: Cutoffs) -> Result<Forgotten, StoreError> {
        let (finished_flows, spent_secrets) = self.forget_finished_flows(cutoffs).await?;
        let feed = self
            .forget_feed_entries(cutoffs.feed_entries, cutoffs.feed_readers_since)
            .await?;
        let (audit_events, sent_messages) = self.forget_trail(cutoffs).await?;
        Ok(Forgotten {
            audit_events,
            sent_messages,
            finished_flows,
            spent_secrets,
            feed,
            decided_requests: self.forget_decided_requests(cutoffs).await?,
        })
    }

    /// Audit events and messages sent or given up.
    async fn forget_trail(&self, cutoffs: Cutoffs) -> Result<(u64, u64), StoreError> {
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
        Ok((audit_events, sent_messages))
    }

    /// Flows completed or expired, and secrets used, revoked or expired.
    async fn forget_finished_flows(&self, cutoffs: Cutoffs) -> Result<(u64, u64), StoreError> {
        let conn = self.connection();
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
        Ok((finished_flows, spent_secrets))
    }

    /// Records held for review once decided (the decision is audited, the
    /// record as received goes), guests' invitations refused (the guest's
    /// names, address and reason with them), and invitations still waiting
    /// whose stay ended.
    async fn forget_decided_requests(&self, cutoffs: Cutoffs) -> Result<u64, StoreError> {
        let conn = self.connection();
        let before = cutoffs.decided_requests;
        let held = held_record::Entity::delete_many()
            .filter(held_record::Column::Status.ne(HeldStatus::Pending.as_str()))
            .filter(held_record::Column::DecidedAt.lt(before))
            .exec(conn)
            .await?
            .rows_affected;
        let refused = guest_invitation::Entity::delete_many()
            .filter(guest_invitation::Column::Status.eq(InvitationStatus::Rejected.as_str()))
            .filter(guest_invitation::Column::DecidedAt.lt(before))
            .exec(conn)
            .await?
            .rows_affected;
        // An invitation nobody decided before the stay it asked for was
        // over serves nothing.
        let abandoned = guest_invitation::Entity::delete_many()
            .filter(guest_invitation::Column::Status.eq(InvitationStatus::Pending.as_str()))
            .filter(guest_invitation::Column::EndDate.lt(before.date_naive()))
            .exec(conn)
            .await?
            .rows_affected;
        Ok(held + refused + abandoned)
    }
}
