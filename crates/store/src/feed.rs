//! The change feed read by the LDAP sync worker, and the audit trail.

use crate::account_fields::account_of;
use chrono::{DateTime, Utc};
use domain::account::Account;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::entities::{account, account_change, audit_event};
use super::{Store, StoreError};

pub use domain::supann::ChangeKind;

/// A change to append when the transaction ends.
#[derive(Debug, Clone)]
pub struct PendingChange {
    pub account_id: String,
    pub institution: String,
    pub kind: ChangeKind,
}

/// Appends `changes` with consecutive sequence numbers. Call it last in a
/// write transaction: the counter row stays locked until commit, which
/// orders commits by sequence number.
pub async fn append_changes(
    conn: &impl ConnectionTrait,
    changes: &[PendingChange],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let count = changes.len() as i64;
    let bump = Query::update()
        .table("feed_counter")
        .value("value", Expr::col("value").add(count))
        .and_where(Expr::col("id").eq(1))
        .returning(Query::returning().column("value"))
        .to_owned();
    let row = conn
        .query_one(&bump)
        .await?
        .ok_or_else(|| StoreError::Corrupt("feed_counter row is missing".into()))?;
    let last: i64 = row.try_get("", "value")?;
    let first = last - count + 1;
    let rows = changes
        .iter()
        .enumerate()
        .map(|(i, c)| account_change::ActiveModel {
            seq: Set(first + i as i64),
            account_id: Set(c.account_id.clone()),
            institution: Set(c.institution.clone()),
            kind: Set(c.kind.as_str().to_owned()),
            occurred_at: Set(now),
        });
    super::insert_rows(conn, rows.collect()).await?;
    Ok(())
}

/// One page of audit events, newest first, after the `(occurred_at, id)` key
/// of the previous page.
pub struct AuditQuery<'a> {
    pub institution: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub before: Option<(DateTime<Utc>, String)>,
    pub limit: u64,
}

impl Store {
    /// Changes after `after`, oldest first, with the accounts as they are now.
    pub async fn list_changes(
        &self,
        after: i64,
        limit: u64,
        institution: Option<&str>,
    ) -> Result<Vec<(account_change::Model, Account)>, StoreError> {
        let mut query = account_change::Entity::find()
            .filter(account_change::Column::Seq.gt(after))
            .order_by_asc(account_change::Column::Seq)
            .limit(limit);
        if let Some(institution) = institution {
            query = query.filter(account_change::Column::Institution.eq(institution));
        }
        let changes = query.all(self.connection()).await?;
        let ids: Vec<String> = changes.iter().map(|c| c.account_id.clone()).collect();
        let accounts: std::collections::HashMap<String, account::Model> = account::Entity::find()
            .filter(account::Column::Id.is_in(ids))
            .all(self.connection())
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        changes
            .into_iter()
            .map(|c| {
                let account = accounts.get(&c.account_id).cloned().ok_or_else(|| {
                    StoreError::Corrupt(format!("change {} names a missing account", c.seq))
                })?;
                Ok((c, account_of(account)?))
            })
            .collect()
    }

    /// Audit events matching `q`, newest first.
    pub async fn list_audit_events(
        &self,
        q: AuditQuery<'_>,
    ) -> Result<Vec<audit_event::Model>, StoreError> {
        let mut query = audit_event::Entity::find()
            .order_by_desc(audit_event::Column::OccurredAt)
            .order_by_desc(audit_event::Column::Id)
            .limit(q.limit);
        if let Some(institution) = q.institution {
            query = query.filter(audit_event::Column::Institution.eq(institution));
        }
        if let Some(account_id) = q.account_id {
            query = query.filter(audit_event::Column::AccountId.eq(account_id));
        }
        if let Some((at, id)) = q.before {
            query = query.filter(
                Condition::any()
                    .add(audit_event::Column::OccurredAt.lt(at))
                    .add(
                        Condition::all()
                            .add(audit_event::Column::OccurredAt.eq(at))
                            .add(audit_event::Column::Id.lt(id)),
                    ),
            );
        }
        Ok(query.all(self.connection()).await?)
    }
}
