//! Writes of an active account's own settings (recovery address, redirect,
//! consents, directory entry, antispam) and of recovery requests: each
//! change with its secrets, messages, audit event and feed entry in one
//! transaction.

use crate::AuditEntry;
use chrono::{DateTime, Utc};
use domain::account::Account;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::Value;

use super::account_fields::{AccountChange, account_of, columns};
use super::entities::{account, one_time_secret};
use super::feed::{ChangeKind, PendingChange, append_changes};
use super::outbox::{NewMessage, enqueue};
use super::secrets::{NewSecret, Purpose, SecretScope, revoke_live};
use super::{AuditContext, Store, StoreError, record_audit};

/// A change of one account and what goes with it.
pub struct AccountWrite<'a> {
    /// The account as read when the change was decided: the write is
    /// refused if it changed since (two tabs, a replayed link).
    pub account: &'a Account,
    /// What changes; `updated_at` is added.
    pub changes: Vec<AccountChange>,
    /// Secrets this change consumes; each must still be unused.
    pub spend: Vec<String>,
    /// Live secrets of these purposes stop working.
    pub revoke: Vec<Purpose>,
    pub secrets: Vec<NewSecret>,
    pub messages: Vec<NewMessage>,
    /// Audit action and details.
    pub audit: (&'static str, Value),
    pub feed: Vec<ChangeKind>,
}

/// Why an account write was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountWriteError {
    /// The account or a spent secret changed meanwhile.
    #[error("the account changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for AccountWriteError {
    fn from(e: sea_orm::DbErr) -> Self {
        AccountWriteError::Store(e.into())
    }
}

/// Applies an account write inside `txn` (for writes that add rows of
/// their own in the same transaction) and returns the account as stored.
pub async fn apply_account_write(
    txn: &DatabaseTransaction,
    w: AccountWrite<'_>,
    ctx: &AuditContext,
    now: DateTime<Utc>,
) -> Result<Account, AccountWriteError> {
    let id = &w.account.id;
    let mut changes = columns(&w.changes)?;
    changes.updated_at = sea_orm::Set(now);
    let updated = account::Entity::update_many()
        .set(changes)
        .filter(account::Column::Id.eq(id))
        .filter(account::Column::UpdatedAt.eq(w.account.updated_at))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AccountWriteError::Conflict);
    }
    if !w.spend.is_empty() {
        let spent = one_time_secret::Entity::update_many()
            .col_expr(one_time_secret::Column::UsedAt, Expr::value(now))
            .filter(one_time_secret::Column::Id.is_in(w.spend.clone()))
            .filter(one_time_secret::Column::AccountId.eq(id))
            .filter(one_time_secret::Column::UsedAt.is_null())
            .filter(one_time_secret::Column::RevokedAt.is_null())
            .exec(txn)
            .await?;
        if spent.rows_affected != w.spend.len() as u64 {
            return Err(AccountWriteError::Conflict);
        }
    }
    revoke_live(txn, SecretScope::Account(id), &w.revoke, now).await?;
    for secret in w.secrets {
        secret.row(now).insert(txn).await?;
    }
    for message in w.messages {
        enqueue(txn, message, now).await?;
    }
    let (action, details) = w.audit;
    record_audit(
        txn,
        ctx,
        AuditEntry {
            institution: &w.account.institution,
            account_id: Some(id),
            action,
            details,
        },
        now,
    )
    .await?;
    let feed: Vec<PendingChange> = w
        .feed
        .iter()
        .map(|kind| PendingChange {
            account_id: id.clone(),
            institution: w.account.institution.clone(),
            kind: *kind,
        })
        .collect();
    append_changes(txn, &feed, now).await?;
    let row = account::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(AccountWriteError::Conflict)?;
    Ok(account_of(row)?)
}

impl Store {
    /// Applies an account write in one transaction and returns the account
    /// as stored.
    pub async fn write_account(
        &self,
        w: AccountWrite<'_>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<Account, AccountWriteError> {
        let write = self.begin_write().await?;
        let account = apply_account_write(&write.txn, w, ctx, now).await?;
        write.commit().await?;
        Ok(account)
    }

    /// Records an audit event alone (a request that changed nothing, such
    /// as a reset asked for an unknown login).
    pub async fn record_event(
        &self,
        entry: AuditEntry<'_>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.record_events(vec![entry], ctx, now).await
    }

    /// Records audit events alone, in one transaction (a desk's lookup
    /// of several namesakes).
    pub async fn record_events(
        &self,
        entries: Vec<AuditEntry<'_>>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let rows = entries
            .into_iter()
            .map(|entry| crate::audit::audit_row(ctx, entry, now))
            .collect();
        let write = self.begin_write().await?;
        crate::insert_rows(&write.txn, rows).await?;
        write.commit().await
    }

    /// Records an audit event and queues the messages that tell the person
    /// of it, in one transaction, leaving the account as it is (a copy of
    /// their data handed over at the desk).
    pub async fn record_told(
        &self,
        entry: AuditEntry<'_>,
        messages: Vec<NewMessage>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let write = self.begin_write().await?;
        crate::insert_rows(&write.txn, vec![crate::audit::audit_row(ctx, entry, now)]).await?;
        crate::outbox::enqueue_all(&write.txn, messages, now).await?;
        write.commit().await
    }

    /// The newest secret of `purpose` issued to an account, live or not
    /// (for cooldowns).
    pub async fn last_account_secret(
        &self,
        account_id: &str,
        purpose: Purpose,
    ) -> Result<Option<one_time_secret::Model>, StoreError> {
        use sea_orm::QueryOrder;
        Ok(one_time_secret::Entity::find()
            .filter(one_time_secret::Column::AccountId.eq(account_id))
            .filter(one_time_secret::Column::Purpose.eq(purpose.as_str()))
            .order_by_desc(one_time_secret::Column::CreatedAt)
            .one(self.connection())
            .await?)
    }

    /// Issues a step-up token for the account, working until `expires_at`.
    pub async fn issue_step_up(
        &self,
        account_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<domain::secret::Secret, StoreError> {
        let keys = self.secret_keys()?;
        let spec = super::secrets::SecretSpec {
            kind: domain::secret::SecretKind::Token,
            purpose: Purpose::StepUp,
            not_before: None,
            expires_at: Some(expires_at),
            keys: &keys,
        };
        let write = self.begin_write().await?;
        let secret = super::secrets::issue_secret(&write.txn, account_id, spec, now).await?;
        write.commit().await?;
        Ok(secret)
    }

    /// Spends the account's live step-up token whose hash is `hash`;
    /// whether there was one (a token works once, for its account only).
    pub async fn spend_step_up(
        &self,
        account_id: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use one_time_secret::Column as C;
        let spent = one_time_secret::Entity::update_many()
            .col_expr(C::UsedAt, Expr::value(now))
            .filter(C::AccountId.eq(account_id))
            .filter(C::Purpose.eq(Purpose::StepUp.as_str()))
            .filter(C::SecretHash.eq(hash))
            .filter(C::UsedAt.is_null())
            .filter(C::RevokedAt.is_null())
            .filter(C::ExpiresAt.gt(now))
            .exec(self.connection())
            .await?
            .rows_affected;
        Ok(spent == 1)
    }
}
