//! Everything kept about one account beside its row, for the person's right
//! of access (issue 29): the audit trail, the feed's entries, the messages
//! the outbox holds, the extension requests, the invitation that made a
//! guest's account, the records held against it, the passwords remembered.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::entities::{
    account_change, audit_event, extension_request, guest_invitation, held_record, outbox,
    password_history,
};
use crate::guests::{Invitation, invitation_of};
use crate::{Store, StoreError};

/// One entry of the change feed, without the account's copy it carries
/// (that copy is the account as the export shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub seq: i64,
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
}

/// One message of the outbox, without its body: a sent message's body is
/// scrubbed, a pending one's holds links and codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    pub channel: String,
    pub recipient: String,
    pub template: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// What the service keeps about one account beside the account itself,
/// oldest first.
#[derive(Debug, Clone, Default)]
pub struct RecordsAbout {
    pub audit_events: Vec<audit_event::Model>,
    pub feed_entries: Vec<FeedEntry>,
    pub messages: Vec<MessageRecord>,
    pub extension_requests: Vec<extension_request::Model>,
    pub invitations: Vec<Invitation>,
    pub held_records: Vec<held_record::Model>,
    /// How many former passwords' hashes are kept (never the hashes).
    pub previous_passwords: u64,
}

impl Store {
    /// Everything kept about `account_id` beside its row.
    pub async fn records_about(&self, account_id: &str) -> Result<RecordsAbout, StoreError> {
        let conn = self.connection();
        let audit_events = audit_event::Entity::find()
            .filter(audit_event::Column::AccountId.eq(account_id))
            .order_by_asc(audit_event::Column::OccurredAt)
            .order_by_asc(audit_event::Column::Id)
            .all(conn)
            .await?;
        let feed_entries = account_change::Entity::find()
            .select_only()
            .columns([
                account_change::Column::Seq,
                account_change::Column::Kind,
                account_change::Column::OccurredAt,
            ])
            .filter(account_change::Column::AccountId.eq(account_id))
            .order_by_asc(account_change::Column::Seq)
            .into_tuple::<(i64, String, DateTime<Utc>)>()
            .all(conn)
            .await?
            .into_iter()
            .map(|(seq, kind, occurred_at)| FeedEntry {
                seq,
                kind,
                occurred_at,
            })
            .collect();
        let extension_requests = extension_request::Entity::find()
            .filter(extension_request::Column::AccountId.eq(account_id))
            .order_by_asc(extension_request::Column::RequestedAt)
            .all(conn)
            .await?;
        let previous_passwords = password_history::Entity::find()
            .filter(password_history::Column::AccountId.eq(account_id))
            .count(conn)
            .await?;
        Ok(RecordsAbout {
            audit_events,
            feed_entries,
            messages: self.messages_about(account_id).await?,
            extension_requests,
            invitations: self.invitations_about(account_id).await?,
            held_records: self.held_records_about(account_id).await?,
            previous_passwords,
        })
    }

    async fn messages_about(&self, account_id: &str) -> Result<Vec<MessageRecord>, StoreError> {
        Ok(outbox::Entity::find()
            .filter(outbox::Column::AccountId.eq(account_id))
            .order_by_asc(outbox::Column::CreatedAt)
            .all(self.connection())
            .await?
            .into_iter()
            .map(|m| MessageRecord {
                channel: m.channel,
                recipient: m.recipient,
                template: m.template,
                created_at: m.created_at,
                sent_at: m.sent_at,
                failed_at: m.failed_at,
            })
            .collect())
    }

    async fn invitations_about(&self, account_id: &str) -> Result<Vec<Invitation>, StoreError> {
        guest_invitation::Entity::find()
            .filter(guest_invitation::Column::AccountId.eq(account_id))
            .order_by_asc(guest_invitation::Column::CreatedAt)
            .all(self.connection())
            .await?
            .into_iter()
            .map(invitation_of)
            .collect()
    }

    async fn held_records_about(
        &self,
        account_id: &str,
    ) -> Result<Vec<held_record::Model>, StoreError> {
        Ok(held_record::Entity::find()
            .filter(
                Condition::any()
                    .add(held_record::Column::CandidateId.eq(account_id))
                    .add(held_record::Column::AccountId.eq(account_id)),
            )
            .order_by_asc(held_record::Column::HeldAt)
            .all(self.connection())
            .await?)
    }
}
