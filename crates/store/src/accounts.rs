//! Accounts: lookups and activation material.

use crate::AuditEntry;
use crate::account_fields::account_of;
use chrono::{DateTime, Utc};
use domain::account::Account;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;

use super::entities::{account, account_profile};
use super::provisioning::IssuedMaterial;
use super::secrets::{SecretScope, SecretSpec, issue_secret, printed_secret, revoke_live};
use super::{AuditContext, Store, StoreError, record_audit};
use domain::account::AccountStatus;
use domain::institution::{ActivationChannel, ProfileSettings};
use domain::provisioning::material_expires_at;

/// How to find one account.
#[derive(Debug, Clone, Copy)]
pub enum AccountLookup<'a> {
    Id(&'a str),
    Login {
        institution: &'a str,
        login: &'a str,
    },
    InstitutionalMail {
        institution: &'a str,
        mail: &'a str,
    },
    StudentNumber {
        institution: &'a str,
        number: &'a str,
    },
    Ine {
        institution: &'a str,
        ine: &'a str,
    },
    HrId {
        institution: &'a str,
        hr_id: &'a str,
    },
    /// An HR id as a person typed it, compared without regard to case: HR
    /// numbers print as `RH-0042`, people type `rh-0042`.
    TypedHrId {
        institution: &'a str,
        hr_id: &'a str,
    },
}

/// Why activation material could not be reissued.
#[derive(Debug, thiserror::Error)]
pub enum ReissueError {
    #[error("no such account")]
    NotFound,
    #[error("the account is already activated")]
    AlreadyActivated,
    /// Expired, purged or locked: no new material until its state changes.
    #[error("the account is not awaiting activation")]
    NotAwaitingActivation,
    #[error("this profile activates without printed material ({0:?})")]
    NoMaterial(ActivationChannel),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Finds one account.
    pub async fn find_account(
        &self,
        lookup: AccountLookup<'_>,
    ) -> Result<Option<Account>, StoreError> {
        find(self.connection(), lookup)
            .await?
            .map(account_of)
            .transpose()
    }

    /// The accounts of these ids (those that exist).
    pub async fn accounts_by_ids(&self, ids: &[String]) -> Result<Vec<Account>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        account::Entity::find()
            .filter(account::Column::Id.is_in(ids.to_vec()))
            .all(self.connection())
            .await?
            .into_iter()
            .map(account_of)
            .collect()
    }

    /// The accounts of `institution` whose birth date is `born`, oldest
    /// first, at most `limit` (a desk narrows them by family name: a date
    /// is shared by a few hundred people at most in a university).
    pub async fn accounts_born_on(
        &self,
        institution: &str,
        born: chrono::NaiveDate,
        limit: u64,
    ) -> Result<Vec<Account>, StoreError> {
        use sea_orm::{QueryOrder, QuerySelect};
        account::Entity::find()
            .filter(account::Column::Institution.eq(institution))
            .filter(account::Column::BirthDate.eq(born))
            .order_by_asc(account::Column::CreatedAt)
            .order_by_asc(account::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?
            .into_iter()
            .map(account_of)
            .collect()
    }

    /// Opens an account's activation at `now`, before its delay: the
    /// account, the material waiting for the opening (printed secrets, the
    /// mailed link) and the mail carrying a link, in one transaction.
    pub async fn open_activation(
        &self,
        account: &Account,
        reason: &str,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<Account, crate::self_service::AccountWriteError> {
        use crate::account_fields::AccountChange;
        use crate::entities::{one_time_secret, outbox};
        use crate::feed::ChangeKind;
        use sea_orm::sea_query::Expr;
        let write = self.begin_write().await?;
        let opened = crate::self_service::AccountWrite {
            account,
            changes: vec![AccountChange::ActivationOpened { at: now }],
            spend: Vec::new(),
            revoke: Vec::new(),
            secrets: Vec::new(),
            messages: Vec::new(),
            audit: (
                "account.activation_opened_early",
                json!({ "reason": reason, "was_due_at": account.activation_available_at }),
            ),
            feed: vec![ChangeKind::ActivationOpened],
        };
        let opened = crate::self_service::apply_account_write(&write.txn, opened, ctx, now).await?;
        one_time_secret::Entity::update_many()
            .col_expr(one_time_secret::Column::NotBefore, Expr::value(now))
            .filter(one_time_secret::Column::AccountId.eq(&account.id))
            .filter(one_time_secret::Column::NotBefore.gt(now))
            .filter(one_time_secret::Column::UsedAt.is_null())
            .filter(one_time_secret::Column::RevokedAt.is_null())
            .exec(&write.txn)
            .await?;
        outbox::Entity::update_many()
            .col_expr(outbox::Column::NotBefore, Expr::value(now))
            .filter(outbox::Column::AccountId.eq(&account.id))
            .filter(outbox::Column::NotBefore.gt(now))
            .filter(outbox::Column::Template.eq(super::secrets::Purpose::ActivationLink.as_str()))
            .filter(outbox::Column::SentAt.is_null())
            .exec(&write.txn)
            .await?;
        write.commit().await?;
        Ok(opened)
    }

    /// Issues new activation material, revoking what was issued before.
    pub async fn reissue_material(
        &self,
        lookup: AccountLookup<'_>,
        profile: &ProfileSettings,
        now: DateTime<Utc>,
        ctx: &AuditContext,
    ) -> Result<(Account, IssuedMaterial), ReissueError> {
        let write = self.begin_write().await?;
        let account = find(&write.txn, lookup)
            .await
            .map_err(StoreError::from)?
            .ok_or(ReissueError::NotFound)?;
        // The use case decided on the account it read; an activation that
        // completed meanwhile still refuses the reissue.
        if account.activated_at.is_some() {
            return Err(ReissueError::AlreadyActivated);
        }
        let awaiting =
            AccountStatus::parse(&account.status).is_some_and(AccountStatus::awaits_activation);
        if !awaiting {
            return Err(ReissueError::NotAwaitingActivation);
        }
        let Some((kind, purpose)) = printed_secret(profile.activation.channel) else {
            return Err(ReissueError::NoMaterial(profile.activation.channel));
        };
        revoke_live(
            &write.txn,
            SecretScope::Account(&account.id),
            &[purpose],
            now,
        )
        .await?;
        let expires_at = material_expires_at(profile, now);
        let keys = self.secret_keys()?;
        let spec = SecretSpec {
            kind,
            purpose,
            not_before: Some(account.activation_available_at),
            expires_at,
            keys: &keys,
        };
        let secret = issue_secret(&write.txn, &account.id, spec, now).await?;
        record_audit(
            &write.txn,
            ctx,
            AuditEntry {
                institution: &account.institution,
                account_id: Some(&account.id),
                action: "activation.material_reissued",
                details: json!({ "channel": purpose.as_str() }),
            },
            now,
        )
        .await?;
        write.commit().await?;
        let available_at = account.activation_available_at;
        Ok((
            account_of(account)?,
            IssuedMaterial {
                channel: profile.activation.channel,
                secret: Some(secret),
                available_at,
                expires_at,
            },
        ))
    }
}

async fn find(
    conn: &impl ConnectionTrait,
    lookup: AccountLookup<'_>,
) -> Result<Option<account::Model>, sea_orm::DbErr> {
    if let Some(found) = find_own(conn, lookup).await? {
        return Ok(Some(found));
    }
    // A linked profile's id names the account it was added to.
    let linked = match lookup {
        AccountLookup::StudentNumber {
            institution,
            number,
        } => {
            profile_holder(
                conn,
                institution,
                account_profile::Column::StudentNumber,
                number,
            )
            .await?
        }
        AccountLookup::HrId { institution, hr_id } => {
            profile_holder(conn, institution, account_profile::Column::HrId, hr_id).await?
        }
        AccountLookup::TypedHrId { institution, hr_id } => {
            typed_hr_id_holder(conn, institution, hr_id).await?
        }
        _ => None,
    };
    match linked {
        Some(id) => find_own(conn, AccountLookup::Id(&id)).await,
        None => Ok(None),
    }
}

/// The account a linked profile with this id belongs to.
async fn profile_holder(
    conn: &impl ConnectionTrait,
    institution: &str,
    column: account_profile::Column,
    id: &str,
) -> Result<Option<String>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    account_profile::Entity::find()
        .select_only()
        .column(account_profile::Column::AccountId)
        .filter(account_profile::Column::Institution.eq(institution))
        .filter(column.eq(id.trim()))
        .into_tuple()
        .one(conn)
        .await
}

/// The account a linked profile with this HR id, whatever its case,
/// belongs to.
async fn typed_hr_id_holder(
    conn: &impl ConnectionTrait,
    institution: &str,
    hr_id: &str,
) -> Result<Option<String>, sea_orm::DbErr> {
    use sea_orm::QuerySelect;
    let lowered = Func::lower(Expr::col(account_profile::Column::HrId));
    account_profile::Entity::find()
        .select_only()
        .column(account_profile::Column::AccountId)
        .filter(account_profile::Column::Institution.eq(institution))
        .filter(Expr::expr(lowered).eq(hr_id.trim().to_lowercase()))
        .into_tuple()
        .one(conn)
        .await
}

/// An account by its own ids.
async fn find_own(
    conn: &impl ConnectionTrait,
    lookup: AccountLookup<'_>,
) -> Result<Option<account::Model>, sea_orm::DbErr> {
    use account::Column as C;
    let query = account::Entity::find();
    let query = match lookup {
        AccountLookup::Id(id) => query.filter(C::Id.eq(id)),
        AccountLookup::Login { institution, login } => query
            .filter(C::Institution.eq(institution))
            .filter(C::LoginKey.eq(login.trim().to_lowercase())),
        AccountLookup::InstitutionalMail { institution, mail } => query
            .filter(C::Institution.eq(institution))
            .filter(C::InstitutionalMail.eq(mail.trim().to_lowercase())),
        AccountLookup::StudentNumber {
            institution,
            number,
        } => query
            .filter(C::Institution.eq(institution))
            .filter(C::StudentNumber.eq(number.trim())),
        AccountLookup::Ine { institution, ine } => query
            .filter(C::Institution.eq(institution))
            .filter(C::Ine.eq(ine.trim().to_uppercase())),
        AccountLookup::HrId { institution, hr_id } => query
            .filter(C::Institution.eq(institution))
            .filter(C::HrId.eq(hr_id.trim())),
        AccountLookup::TypedHrId { institution, hr_id } => query
            .filter(C::Institution.eq(institution))
            .filter(Expr::expr(Func::lower(Expr::col(C::HrId))).eq(hr_id.trim().to_lowercase())),
    };
    query.one(conn).await
}
