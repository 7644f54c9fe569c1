//! Chosen passwords: the account's current hash, its history (hashes only)
//! and expiry, and the accounts a flow or reset token stands for.

use crate::AuditEntry;
use crate::account_fields::account_of;
use chrono::{DateTime, Utc};
use domain::account::Account;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde_json::json;

use super::entities::{account, one_time_secret, password_history};
use super::feed::{ChangeKind, PendingChange, append_changes};
use super::outbox::{NewMessage, enqueue};
use super::secrets::{Purpose, SecretScope, revoke_live};
use super::{AuditContext, Store, StoreError, new_id, record_audit};

/// A new password to store.
pub struct NewPassword<'a> {
    pub account_id: &'a str,
    /// The hash the account had when the change was decided (checked, so a
    /// concurrent change is not silently overwritten); `None` for a first
    /// password.
    pub replaces: Option<&'a str>,
    /// argon2id PHC string of the new password.
    pub hash: &'a str,
    /// When it expires under the policy.
    pub expires_at: Option<DateTime<Utc>>,
    /// When the expiry batch first reminds the owner to change it.
    pub reminder_at: Option<DateTime<Utc>>,
    /// Passwords to keep in the history, this one included.
    pub history_count: usize,
    /// Audit action (`password.changed`, `password.reset`, ...).
    pub action: &'a str,
    /// The reset secret this change uses up (it must still be unused).
    pub spend: Option<&'a str>,
    /// The notice that the password changed, for example.
    pub messages: Vec<NewMessage>,
}

/// Why a password could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum SetPasswordError {
    #[error("no such account")]
    NotFound,
    /// The password changed between the decision and the write.
    #[error("the password was changed meanwhile")]
    Conflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for SetPasswordError {
    fn from(e: sea_orm::DbErr) -> Self {
        SetPasswordError::Store(e.into())
    }
}

impl Store {
    /// Hashes of the account's last `limit` passwords, newest (the current
    /// one) first.
    pub async fn password_history(
        &self,
        account_id: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        Ok(password_history::Entity::find()
            .select_only()
            .column(password_history::Column::PasswordHash)
            .filter(password_history::Column::AccountId.eq(account_id))
            .order_by_desc(password_history::Column::CreatedAt)
            .order_by_desc(password_history::Column::Id)
            .limit(limit as u64)
            .into_tuple::<String>()
            .all(self.connection())
            .await?)
    }

    /// Stores a new password: the account's hash and dates, the history
    /// trimmed to its length, an audit event and a change for the feed, in
    /// one transaction.
    pub async fn set_password(
        &self,
        new: NewPassword<'_>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<Account, SetPasswordError> {
        let write = self.begin_write().await?;
        let account = write_password(&write.txn, new, ctx, now).await?;
        write.commit().await?;
        Ok(account_of(account)?)
    }

    /// Replaces a hash by the same password hashed with current parameters,
    /// unless the password changed meanwhile. The history keeps the old
    /// hash: it still matches the same password.
    pub async fn upgrade_password_hash(
        &self,
        account_id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, StoreError> {
        let write = self.begin_write().await?;
        let updated = account::Entity::update_many()
            .col_expr(account::Column::PasswordHash, Expr::value(new))
            .filter(account::Column::Id.eq(account_id))
            .filter(account::Column::PasswordHash.eq(old))
            .exec(&write.txn)
            .await?
            .rows_affected;
        password_history::Entity::update_many()
            .col_expr(password_history::Column::PasswordHash, Expr::value(new))
            .filter(password_history::Column::AccountId.eq(account_id))
            .filter(password_history::Column::PasswordHash.eq(old))
            .exec(&write.txn)
            .await?;
        write.commit().await?;
        Ok(updated == 1)
    }

    /// The account of a password reset link still usable, by the hash of
    /// its token.
    pub async fn account_for_reset(
        &self,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Account>, StoreError> {
        let Some(secret) = one_time_secret::Entity::find()
            .filter(one_time_secret::Column::SecretHash.eq(secret_hash))
            .filter(
                one_time_secret::Column::Purpose
                    .eq(super::secrets::Purpose::PasswordReset.as_str()),
            )
            .filter(one_time_secret::Column::UsedAt.is_null())
            .filter(one_time_secret::Column::RevokedAt.is_null())
            .filter(
                Condition::any()
                    .add(one_time_secret::Column::ExpiresAt.is_null())
                    .add(one_time_secret::Column::ExpiresAt.gt(now)),
            )
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        account::Entity::find_by_id(secret.account_id)
            .one(self.connection())
            .await?
            .map(account_of)
            .transpose()
    }
}

/// Stores a new password inside a write transaction: hash and dates, the
/// history, the spent reset secret, revocation of every other recovery
/// secret, messages, an audit event and a feed entry.
pub(super) async fn write_password(
    txn: &impl sea_orm::ConnectionTrait,
    new: NewPassword<'_>,
    ctx: &AuditContext,
    now: DateTime<Utc>,
) -> Result<account::Model, SetPasswordError> {
    replace_hash(txn, &new, now).await?;
    push_history(txn, new.account_id, new.hash, new.history_count, now).await?;
    if let Some(secret) = new.spend {
        spend_secret(txn, new.account_id, secret, now).await?;
    }
    // A new password voids every way of recovering the old one: no
    // reset link or mailed key works after a change, nor a step-up proof
    // obtained with the old password.
    revoke_live(
        txn,
        SecretScope::Account(new.account_id),
        &[
            Purpose::PasswordReset,
            Purpose::ReactivationKey,
            Purpose::StepUp,
        ],
        now,
    )
    .await?;
    for message in new.messages {
        enqueue(txn, message, now).await?;
    }
    let account = account::Entity::find_by_id(new.account_id)
        .one(txn)
        .await?
        .ok_or(SetPasswordError::NotFound)?;
    record_audit(
        txn,
        ctx,
        AuditEntry {
            institution: &account.institution,
            account_id: Some(&account.id),
            action: new.action,
            details: json!({ "expires_at": new.expires_at }),
        },
        now,
    )
    .await?;
    append_changes(
        txn,
        &[PendingChange {
            account_id: account.id.clone(),
            institution: account.institution.clone(),
            kind: ChangeKind::PasswordChanged,
        }],
        now,
    )
    .await?;
    Ok(account)
}

/// The account's hash becomes the new one, if it is still the one the
/// change replaces.
async fn replace_hash(
    txn: &impl sea_orm::ConnectionTrait,
    new: &NewPassword<'_>,
    now: DateTime<Utc>,
) -> Result<(), SetPasswordError> {
    let mut update = account::Entity::update_many()
        .col_expr(account::Column::PasswordHash, Expr::value(new.hash))
        .col_expr(account::Column::PasswordChangedAt, Expr::value(now))
        .col_expr(
            account::Column::PasswordExpiresAt,
            Expr::value(new.expires_at),
        )
        .col_expr(
            account::Column::NextPasswordReminderAt,
            Expr::value(new.reminder_at),
        )
        .col_expr(account::Column::PasswordMustChange, Expr::value(false))
        .col_expr(account::Column::UpdatedAt, Expr::value(now))
        .filter(account::Column::Id.eq(new.account_id));
    update = match new.replaces {
        Some(old) => update.filter(account::Column::PasswordHash.eq(old)),
        None => update.filter(account::Column::PasswordHash.is_null()),
    };
    if update.exec(txn).await?.rows_affected != 1 {
        let exists = account::Entity::find_by_id(new.account_id)
            .one(txn)
            .await?
            .is_some();
        return Err(if exists {
            SetPasswordError::Conflict
        } else {
            SetPasswordError::NotFound
        });
    }
    Ok(())
}

/// Spends the secret the change uses up, if no one spent it first.
async fn spend_secret(
    txn: &impl sea_orm::ConnectionTrait,
    account_id: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), SetPasswordError> {
    let spent = one_time_secret::Entity::update_many()
        .col_expr(one_time_secret::Column::UsedAt, Expr::value(now))
        .filter(one_time_secret::Column::Id.eq(secret))
        .filter(one_time_secret::Column::AccountId.eq(account_id))
        .filter(one_time_secret::Column::UsedAt.is_null())
        .filter(one_time_secret::Column::RevokedAt.is_null())
        .exec(txn)
        .await?;
    if spent.rows_affected != 1 {
        return Err(SetPasswordError::Conflict);
    }
    Ok(())
}

/// Adds a new password's hash to the history and keeps only the last
/// `history_count` (none when the policy keeps no history).
pub(super) async fn push_history(
    conn: &impl sea_orm::ConnectionTrait,
    account_id: &str,
    hash: &str,
    history_count: usize,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if history_count > 0 {
        password_history::Entity::insert(password_history::ActiveModel {
            id: Set(new_id()),
            account_id: Set(account_id.to_owned()),
            password_hash: Set(hash.to_owned()),
            created_at: Set(now),
        })
        .exec(conn)
        .await?;
    }
    // Only the last `history_count` hashes are kept (none when the
    // policy keeps no history), in one statement.
    let kept = password_history::Entity::find()
        .select_only()
        .column(password_history::Column::Id)
        .filter(password_history::Column::AccountId.eq(account_id))
        .order_by_desc(password_history::Column::CreatedAt)
        .order_by_desc(password_history::Column::Id)
        .limit(history_count as u64)
        .into_query();
    password_history::Entity::delete_many()
        .filter(password_history::Column::AccountId.eq(account_id))
        .filter(password_history::Column::Id.not_in_subquery(kept))
        .exec(conn)
        .await?;
    Ok(())
}
