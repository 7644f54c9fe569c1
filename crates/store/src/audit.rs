//! The audit trail: who did what to which account, written in the same
//! transaction as the change it records.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::{StoreError, entities, new_id};

/// Who did something, for the audit trail.
#[derive(Debug, Clone)]
pub struct AuditContext {
    /// The calling client.
    pub actor: String,
    /// The request id of the call.
    pub request_id: String,
}

/// What an audit event says: of which institution and account, what was
/// done, with which details.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub institution: &'a str,
    pub account_id: Option<&'a str>,
    pub action: &'a str,
    pub details: serde_json::Value,
}

/// One audit event, ready to insert (alone or in a batch).
pub fn audit_row(
    ctx: &AuditContext,
    entry: AuditEntry<'_>,
    now: DateTime<Utc>,
) -> entities::audit_event::ActiveModel {
    use sea_orm::Set;
    entities::audit_event::ActiveModel {
        id: Set(new_id()),
        occurred_at: Set(now),
        institution: Set(entry.institution.to_owned()),
        account_id: Set(entry.account_id.map(str::to_owned)),
        action: Set(entry.action.to_owned()),
        actor: Set(ctx.actor.clone()),
        request_id: Set(ctx.request_id.clone()),
        details: Set(entry.details.to_string()),
    }
}

/// Inserts one audit event.
pub async fn record_audit(
    conn: &impl ConnectionTrait,
    ctx: &AuditContext,
    entry: AuditEntry<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    use sea_orm::ActiveModelTrait;
    audit_row(ctx, entry, now).insert(conn).await?;
    Ok(())
}
