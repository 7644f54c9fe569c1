//! The change feed read by the LDAP sync worker, and the audit trail.

use crate::account_fields::account_of;
use chrono::{DateTime, Utc};
use domain::account::Account;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

use super::entities::{account, account_change, audit_event, feed_counter};
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
    append_changes_known(conn, changes, HashMap::new(), now).await
}

/// [`append_changes`] when the caller already holds some of the changed
/// accounts' rows as this transaction leaves them (`known`: JSON by
/// account id, from [`snapshot_of`]): those are not read back.
pub async fn append_changes_known(
    conn: &impl ConnectionTrait,
    changes: &[PendingChange],
    mut known: HashMap<String, String>,
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
    let unknown: Vec<&PendingChange> = changes
        .iter()
        .filter(|c| !known.contains_key(&c.account_id))
        .collect();
    known.extend(snapshots(conn, &unknown).await?);
    let rows = changes
        .iter()
        .enumerate()
        .map(|(i, c)| account_change::ActiveModel {
            seq: Set(first + i as i64),
            account_id: Set(c.account_id.clone()),
            institution: Set(c.institution.clone()),
            kind: Set(c.kind.as_str().to_owned()),
            occurred_at: Set(now),
            account_snapshot: Set(known.get(&c.account_id).cloned()),
        });
    super::insert_rows(conn, rows.collect()).await?;
    Ok(())
}

/// The changed accounts' rows as this transaction leaves them, as JSON, by
/// account id: what each change's feed entry says, however the account
/// changes later.
async fn snapshots(
    conn: &impl ConnectionTrait,
    changes: &[&PendingChange],
) -> Result<HashMap<String, String>, StoreError> {
    let mut ids: Vec<String> = changes.iter().map(|c| c.account_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(SNAPSHOT_CHUNK) {
        let rows = account::Entity::find()
            .filter(account::Column::Id.is_in(chunk.to_vec()))
            .all(conn)
            .await?;
        for row in rows {
            out.insert(row.id.clone(), snapshot_of(&row)?);
        }
    }
    Ok(out)
}

/// The feed's snapshot of an account row.
pub fn snapshot_of(row: &account::Model) -> Result<String, StoreError> {
    serde_json::to_string(row).map_err(|e| StoreError::Corrupt(format!("account {}: {e}", row.id)))
}

/// Accounts read per query when snapshotting (under every database's limit
/// on bound parameters).
const SNAPSHOT_CHUNK: usize = 1000;

/// Takes the personal data the purge deletes out of the snapshots of these
/// accounts' earlier changes, in one statement per chunk (a JSON merge of
/// `tombstone_patch`): the feed keeps what each change did to the
/// account's state, never what the purge removed.
pub async fn purge_snapshots(
    conn: &impl ConnectionTrait,
    account_ids: &[String],
) -> Result<(), StoreError> {
    // One placeholder, written as each backend's statements number them.
    let merged = match conn.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "CAST(CAST(account_snapshot AS jsonb) || CAST($1 AS jsonb) AS text)"
        }
        _ => "json_patch(account_snapshot, ?)",
    };
    let patch = tombstone_patch().to_string();
    for chunk in account_ids.chunks(SNAPSHOT_CHUNK) {
        account_change::Entity::update_many()
            .col_expr(
                account_change::Column::AccountSnapshot,
                Expr::cust_with_values(merged, [patch.clone()]),
            )
            .filter(account_change::Column::AccountId.is_in(chunk.to_vec()))
            .filter(account_change::Column::AccountSnapshot.is_not_null())
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// What the purge deletes from an account row (`lifecycle::purge` says the
/// same in SQL), as a JSON merge patch of its snapshot: names, external
/// ids (a linked profile's too), contact data, password, consents, redirect
/// and directory entry.
fn tombstone_patch() -> serde_json::Value {
    serde_json::json!({
        "given_name": "",
        "family_name": "",
        "birth_date": null,
        "student_number": null,
        "ine": null,
        "hr_id": null,
        "mobile_phone": null,
        "mobile_phone_verified_at": null,
        "personal_mail": null,
        "recovery_mail": null,
        "recovery_mail_verified_at": null,
        "recovery_phone": null,
        "recovery_phone_verified_at": null,
        "password_hash": null,
        "directory_listed": null,
        "photo_uses": "",
        "crous_sharing": null,
        "consent_answers": null,
        "redirect_address": null,
        "redirect_keep_copy": false,
        "redirect_verified_at": null,
        "antispam_level": null,
        "directory_entry": null,
        "person_key": null,
        "linked_profiles": null,
    })
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
    /// Changes after `after`, oldest first, each with the account as the
    /// change left it (as it is now where no snapshot was kept).
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
        let ids: Vec<String> = changes
            .iter()
            .filter(|c| c.account_snapshot.is_none())
            .map(|c| c.account_id.clone())
            .collect();
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
                let row = match &c.account_snapshot {
                    Some(json) => serde_json::from_str(json).map_err(|e| {
                        StoreError::Corrupt(format!("change {} has a bad snapshot: {e}", c.seq))
                    })?,
                    None => accounts.get(&c.account_id).cloned().ok_or_else(|| {
                        StoreError::Corrupt(format!("change {} names a missing account", c.seq))
                    })?,
                };
                Ok((c, account_of(row)?))
            })
            .collect()
    }

    /// The feed's position: the sequence number of the last change
    /// committed.
    pub async fn feed_position(&self) -> Result<i64, StoreError> {
        let row = feed_counter::Entity::find_by_id(1)
            .one(self.connection())
            .await?
            .ok_or_else(|| StoreError::Corrupt("feed_counter row is missing".into()))?;
        Ok(row.value)
    }

    /// An institution's accounts after the id `after`, in id order.
    pub async fn accounts_after(
        &self,
        institution: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Account>, StoreError> {
        let mut query = account::Entity::find()
            .filter(account::Column::Institution.eq(institution))
            .order_by_asc(account::Column::Id)
            .limit(limit);
        if let Some(after) = after {
            query = query.filter(account::Column::Id.gt(after));
        }
        query
            .all(self.connection())
            .await?
            .into_iter()
            .map(account_of)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_leaves_out_unset_fields_and_reads_back_whole() {
        let at = "2026-09-01T08:30:00.123456Z";
        let row: account::Model = serde_json::from_value(serde_json::json!({
            "id": "a1", "institution": "ubm", "profile": "student", "kind": "student",
            "status": "active", "status_changed_at": at, "login": "jmartin",
            "login_key": "jmartin", "student_number": "21001234", "given_name": "Jean",
            "family_name": "Martin", "activation_available_at": at,
            "password_must_change": false, "photo_uses": "", "photo_refused": false,
            "redirect_keep_copy": false, "created_at": at, "updated_at": at,
        }))
        .expect("a row without its unset fields");
        let snapshot = snapshot_of(&row).expect("snapshot");
        assert!(!snapshot.contains("null"), "{snapshot}");
        assert!(
            snapshot.contains("\"student_number\":\"21001234\""),
            "{snapshot}"
        );
        let back: account::Model = serde_json::from_str(&snapshot).expect("read back");
        assert_eq!(back, row);
        // A snapshot the purge scrubbed names its removed fields as null.
        let mut scrubbed: serde_json::Value = serde_json::from_str(&snapshot).expect("json");
        scrubbed["student_number"] = serde_json::Value::Null;
        let scrubbed: account::Model = serde_json::from_value(scrubbed).expect("scrubbed");
        assert_eq!(scrubbed.student_number, None);
    }
}
