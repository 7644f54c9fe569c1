//! The outbox: mail and SMS written in the same transaction as the state
//! change that causes them, then delivered by a sender that claims each
//! message with a lease (so two replicas never send the same one at once,
//! and a crashed sender's messages are picked up again).

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use super::entities::outbox;
use super::{Store, StoreError, new_id};

/// How a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Mail,
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Mail, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Mail => "mail",
            Channel::Sms => "sms",
        }
    }
}

/// What a message says, rendered when it is queued (in the user's
/// language). Scrubbed once sent: a mailed link's token never stays in the
/// database longer than it takes to deliver it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// Mail subject; empty for SMS.
    #[serde(default)]
    pub subject: String,
    /// Plain-text body.
    pub text: String,
}

/// The body carries links and codes: debug output shows its size only.
impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Content")
            .field("subject", &self.subject)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .finish()
    }
}

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub account_id: Option<String>,
    pub channel: Channel,
    pub recipient: String,
    /// What kind of message this is (`activation_link`, ...), for logs.
    pub template: String,
    pub content: Content,
    /// Not sent before this instant (a link mailed when activation opens).
    pub not_before: DateTime<Utc>,
}

/// Queues a message; call it inside the transaction of the state change.
pub async fn enqueue(
    conn: &impl ConnectionTrait,
    message: NewMessage,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    enqueue_all(conn, vec![message], now).await
}

/// Queues messages in as few statements as possible; call it inside the
/// transaction of the state change.
pub async fn enqueue_all(
    conn: &impl ConnectionTrait,
    messages: Vec<NewMessage>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let rows = messages
        .into_iter()
        .map(|message| {
            let payload = serde_json::to_string(&message.content)
                .map_err(|e| StoreError::Corrupt(format!("cannot encode message: {e}")))?;
            Ok(outbox::ActiveModel {
                id: Set(new_id()),
                account_id: Set(message.account_id),
                channel: Set(message.channel.as_str().to_owned()),
                recipient: Set(message.recipient),
                template: Set(message.template),
                payload: Set(payload),
                created_at: Set(now),
                not_before: Set(message.not_before),
                sent_at: Set(None),
                attempts: Set(0),
                last_error: Set(None),
                failed_at: Set(None),
                claimed_until: Set(None),
                claimed_by: Set(None),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    super::insert_rows(conn, rows).await?;
    Ok(())
}

/// The state of one channel's outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Messages waiting for delivery (due or in retry backoff).
    pub pending: u64,
    /// When the oldest of them was queued.
    pub oldest_pending_at: Option<DateTime<Utc>>,
    /// Messages whose delivery was given up (kept for the operators).
    pub given_up: u64,
}

/// A message claimed for sending.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    /// The account it is about, when there is one (its institution signs
    /// the mail).
    pub account_id: Option<String>,
    pub recipient: String,
    pub template: String,
    pub content: Content,
    pub attempts: i32,
}

/// Who claims messages, and for how long at a time.
#[derive(Debug, Clone, Copy)]
pub struct Lease<'a> {
    /// The sender process (an id of its own, chosen when it starts).
    pub owner: &'a str,
    pub length: Duration,
}

impl Store {
    /// Claims up to `limit` due messages of `channel` for `lease.owner`
    /// until `now + lease.length`. A message is claimed by whoever flips
    /// its lease first; others skip it.
    pub async fn claim_due_messages(
        &self,
        channel: Channel,
        now: DateTime<Utc>,
        lease: Lease<'_>,
        limit: u64,
    ) -> Result<Vec<Claimed>, StoreError> {
        let free = || {
            Condition::any()
                .add(outbox::Column::ClaimedUntil.is_null())
                .add(outbox::Column::ClaimedUntil.lt(now))
        };
        let due = outbox::Entity::find()
            .filter(outbox::Column::Channel.eq(channel.as_str()))
            .filter(outbox::Column::SentAt.is_null())
            .filter(outbox::Column::FailedAt.is_null())
            .filter(outbox::Column::NotBefore.lte(now))
            .filter(free())
            .order_by_asc(outbox::Column::NotBefore)
            .limit(limit)
            .all(self.connection())
            .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for message in due {
            let won = outbox::Entity::update_many()
                .col_expr(
                    outbox::Column::ClaimedUntil,
                    Expr::value(now + lease.length),
                )
                .col_expr(outbox::Column::ClaimedBy, Expr::value(lease.owner))
                .filter(outbox::Column::Id.eq(&message.id))
                .filter(outbox::Column::SentAt.is_null())
                .filter(free())
                .exec(self.connection())
                .await?
                .rows_affected
                == 1;
            if !won {
                continue;
            }
            match serde_json::from_str::<Content>(&message.payload) {
                Ok(content) => claimed.push(Claimed {
                    id: message.id,
                    account_id: message.account_id,
                    recipient: message.recipient,
                    template: message.template,
                    content,
                    attempts: message.attempts,
                }),
                Err(e) => {
                    self.message_failed(
                        &message.id,
                        now,
                        message.attempts + 1,
                        &format!("unreadable payload: {e}"),
                        None,
                    )
                    .await?
                }
            }
        }
        Ok(claimed)
    }

    /// Extends the leases `owner` holds on unsent messages to `until` (a
    /// long send goes on: nobody else may take them meanwhile).
    pub async fn extend_claims(
        &self,
        owner: &str,
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(outbox::Entity::update_many()
            .col_expr(outbox::Column::ClaimedUntil, Expr::value(until))
            .filter(outbox::Column::ClaimedBy.eq(owner))
            .filter(outbox::Column::SentAt.is_null())
            .filter(outbox::Column::ClaimedUntil.is_not_null())
            .exec(self.connection())
            .await?
            .rows_affected)
    }

    /// Gives back every lease `owner` holds on unsent messages (the sender
    /// stops: another replica sends them at once, not after the lease).
    pub async fn release_claims(&self, owner: &str) -> Result<u64, StoreError> {
        Ok(outbox::Entity::update_many()
            .col_expr(
                outbox::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                outbox::Column::ClaimedBy,
                Expr::value(Option::<String>::None),
            )
            .filter(outbox::Column::ClaimedBy.eq(owner))
            .filter(outbox::Column::SentAt.is_null())
            .exec(self.connection())
            .await?
            .rows_affected)
    }

    /// Records a delivery and scrubs the body.
    pub async fn message_sent(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::SentAt, Expr::value(now))
            .col_expr(outbox::Column::Payload, Expr::value("{\"text\":\"\"}"))
            .col_expr(
                outbox::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                outbox::Column::Attempts,
                Expr::col(outbox::Column::Attempts).add(1),
            )
            .filter(outbox::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Records a failed attempt: retried at `retry_at`, or given up (and the
    /// body scrubbed) when `None`.
    pub async fn message_failed(
        &self,
        id: &str,
        now: DateTime<Utc>,
        attempts: i32,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut update = outbox::Entity::update_many()
            .col_expr(outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(
                outbox::Column::LastError,
                Expr::value(error.chars().take(500).collect::<String>()),
            )
            .col_expr(
                outbox::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
        update = match retry_at {
            Some(at) => update.col_expr(outbox::Column::NotBefore, Expr::value(at)),
            None => update
                .col_expr(outbox::Column::FailedAt, Expr::value(now))
                .col_expr(outbox::Column::Payload, Expr::value("{\"text\":\"\"}")),
        };
        update
            .filter(outbox::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Queues one message on its own (outside any other change).
    pub async fn enqueue_message(
        &self,
        message: NewMessage,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let write = self.begin_write().await?;
        enqueue(&write.txn, message, now).await?;
        write.commit().await
    }

    /// What waits in the outbox of `channel`: the messages still to deliver
    /// (the oldest's creation time) and those given up. Reads only unsent
    /// rows, through the index the sender uses.
    pub async fn outbox_backlog(&self, channel: Channel) -> Result<Backlog, StoreError> {
        let unsent = || {
            outbox::Entity::find()
                .filter(outbox::Column::Channel.eq(channel.as_str()))
                .filter(outbox::Column::SentAt.is_null())
        };
        let pending = || unsent().filter(outbox::Column::FailedAt.is_null());
        let oldest = pending()
            .order_by_asc(outbox::Column::CreatedAt)
            .one(self.connection())
            .await?;
        Ok(Backlog {
            pending: pending().count(self.connection()).await?,
            oldest_pending_at: oldest.map(|m| m.created_at),
            given_up: unsent()
                .filter(outbox::Column::FailedAt.is_not_null())
                .count(self.connection())
                .await?,
        })
    }

    /// Every outbox row, oldest first (for operators and tests).
    pub async fn outbox_messages(&self) -> Result<Vec<outbox::Model>, StoreError> {
        Ok(outbox::Entity::find()
            .order_by_asc(outbox::Column::CreatedAt)
            .all(self.connection())
            .await?)
    }
}
