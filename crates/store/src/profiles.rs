//! The profiles of an account that holds several (one person, one
//! account): read, and ended one by one as departures are reported.

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::{Account, AccountKind};
use domain::duplicates::{HeldStatus, LinkedProfile};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::{account_profile, held_record};
use super::self_service::{AccountWrite, AccountWriteError, apply_account_write};
use super::{AuditContext, Store, StoreError};

/// A profile's new end, as a departure sets it.
#[derive(Debug, Clone, Copy)]
pub struct ProfileEnd<'a> {
    pub profile_row: &'a str,
    pub last_day: NaiveDate,
    pub retention_end: NaiveDate,
}

pub(crate) fn linked_of(row: account_profile::Model) -> Result<LinkedProfile, StoreError> {
    let kind = AccountKind::parse(&row.kind).ok_or_else(|| {
        StoreError::Corrupt(format!("profile row {} has kind {:?}", row.id, row.kind))
    })?;
    Ok(LinkedProfile {
        id: row.id,
        profile: row.profile,
        kind,
        student_number: row.student_number,
        hr_id: row.hr_id,
        end_of_activity_date: row.end_of_activity_date,
        retention_end_date: row.retention_end_date,
    })
}

impl Store {
    /// The profiles of an account, first linked first; empty for an
    /// account of one profile.
    pub async fn linked_profiles(
        &self,
        account_id: &str,
    ) -> Result<Vec<LinkedProfile>, StoreError> {
        account_profile::Entity::find()
            .filter(account_profile::Column::AccountId.eq(account_id))
            .order_by_asc(account_profile::Column::LinkedAt)
            .order_by_asc(account_profile::Column::Id)
            .all(self.connection())
            .await?
            .into_iter()
            .map(linked_of)
            .collect()
    }

    /// Ends profiles of an account and writes what that changes of the
    /// account (nothing but the audit while another profile is active), in
    /// one transaction.
    pub async fn end_profiles(
        &self,
        ends: &[ProfileEnd<'_>],
        write: AccountWrite<'_>,
        ctx: &AuditContext,
        now: DateTime<Utc>,
    ) -> Result<Account, AccountWriteError> {
        let account_id = write.account.id.clone();
        let txn = self.begin_write().await?;
        for end in ends {
            account_profile::Entity::update_many()
                .col_expr(
                    account_profile::Column::EndOfActivityDate,
                    end.last_day.into(),
                )
                .col_expr(
                    account_profile::Column::RetentionEndDate,
                    end.retention_end.into(),
                )
                .filter(account_profile::Column::Id.eq(end.profile_row))
                .filter(account_profile::Column::AccountId.eq(account_id.as_str()))
                .exec(&txn.txn)
                .await
                .map_err(StoreError::from)?;
        }
        let account = apply_account_write(&txn.txn, write, ctx, now).await?;
        txn.commit().await?;
        Ok(account)
    }
}

/// A held record with the account it seems to name.
pub type HeldWithCandidate = (held_record::Model, Account);

impl Store {
    /// Pending held records of an institution, oldest first, after the
    /// page key `after`, with their candidate accounts.
    pub async fn pending_held_records(
        &self,
        institution: &str,
        after: Option<(DateTime<Utc>, String)>,
        limit: u64,
    ) -> Result<Vec<HeldWithCandidate>, StoreError> {
        use held_record::Column as C;
        use sea_orm::{Condition, QuerySelect};
        let mut query = held_record::Entity::find()
            .filter(C::Institution.eq(institution))
            .filter(C::Status.eq(HeldStatus::Pending.as_str()))
            .order_by_asc(C::HeldAt)
            .order_by_asc(C::Id)
            .limit(limit);
        if let Some((at, id)) = after {
            query = query.filter(
                Condition::any()
                    .add(C::HeldAt.gt(at))
                    .add(Condition::all().add(C::HeldAt.eq(at)).add(C::Id.gt(id))),
            );
        }
        let rows = query.all(self.connection()).await?;
        let ids: Vec<String> = rows.iter().map(|r| r.candidate_id.clone()).collect();
        let accounts = self.accounts_by_ids(&ids).await?;
        rows.into_iter()
            .map(|row| {
                let account = accounts
                    .iter()
                    .find(|a| a.id == row.candidate_id)
                    .cloned()
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "held record {} names a missing account",
                            row.id
                        ))
                    })?;
                Ok((row, account))
            })
            .collect()
    }

    /// One held record.
    pub async fn held_record(&self, id: &str) -> Result<Option<held_record::Model>, StoreError> {
        Ok(held_record::Entity::find_by_id(id)
            .one(self.connection())
            .await?)
    }
}
