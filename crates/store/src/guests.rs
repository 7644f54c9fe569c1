//! Guest invitations: what a sponsor asked for, its moderation, and the
//! guest's account created in the same transaction as the approval (an
//! invitation approved twice at once creates one account).

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::Account;
use domain::guest::{InvitationStatus, ValidInvitation};
use domain::language::Language;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::account_fields::account_of;
use crate::audit::{AuditContext, AuditEntry, record_audit};
use crate::entities::{account, guest_invitation};
use crate::outbox::{NewMessage, enqueue};
use crate::provisioning::{ProvisionError, ProvisionItem, Provisioned, provision_within};
use crate::{Store, StoreError};

/// An invitation as stored, in the domain's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: String,
    pub institution: String,
    pub profile: String,
    pub sponsor_id: String,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Option<NaiveDate>,
    pub personal_mail: String,
    pub end_date: NaiveDate,
    pub reason: String,
    /// The language of the guest's mails.
    pub language: Language,
    pub status: InvitationStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub decision_comment: Option<String>,
    /// The guest's account, once approved.
    pub account_id: Option<String>,
}

pub(crate) fn invitation_of(row: guest_invitation::Model) -> Result<Invitation, StoreError> {
    let status = InvitationStatus::parse(&row.status).ok_or_else(|| {
        StoreError::Corrupt(format!("invitation {} has status {:?}", row.id, row.status))
    })?;
    Ok(Invitation {
        id: row.id,
        institution: row.institution,
        profile: row.profile,
        sponsor_id: row.sponsor_id,
        given_name: row.given_name,
        family_name: row.family_name,
        birth_date: row.birth_date,
        personal_mail: row.personal_mail,
        end_date: row.end_date,
        reason: row.reason,
        language: Language::from_code(&row.language).unwrap_or_default(),
        status,
        created_at: row.created_at,
        decided_at: row.decided_at,
        decided_by: row.decided_by,
        decision_comment: row.decision_comment,
        account_id: row.account_id,
    })
}

/// What recording or deciding an invitation writes besides it: the mails
/// (to the guest's sponsor, the moderators) and the audit event, recorded
/// on the sponsor's account.
#[derive(Debug)]
pub struct InvitationWrites<'a> {
    pub messages: Vec<NewMessage>,
    pub audit: (&'static str, serde_json::Value),
    pub ctx: &'a AuditContext,
}

/// A moderator's decision: the account to create (approval), or none
/// (rejection); who decided and why.
#[derive(Debug)]
pub struct Decision {
    pub account: Option<ProvisionItem>,
    pub decided_by: String,
    pub comment: String,
}

/// Why an invitation could not be written.
#[derive(Debug, thiserror::Error)]
pub enum InvitationError {
    /// Decided already (by another moderator meanwhile).
    #[error("this invitation was decided already")]
    Decided,
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sea_orm::DbErr> for InvitationError {
    fn from(e: sea_orm::DbErr) -> Self {
        InvitationError::Store(e.into())
    }
}

/// An invitation written, and the guest's account if it was created.
pub type InvitationWritten = (Invitation, Option<Provisioned>);

impl Store {
    /// Records `invitation` (id `id`) of `sponsor`: pending without
    /// `account`, approved with it (the guest's account created with it).
    pub async fn record_invitation(
        &self,
        (id, invitation): (&str, &ValidInvitation),
        sponsor: &Account,
        account: Option<ProvisionItem>,
        writes: InvitationWrites<'_>,
        now: DateTime<Utc>,
    ) -> Result<InvitationWritten, InvitationError> {
        let keys = self.secret_keys()?;
        let write = self.begin_write().await?;
        let approved = account.is_some();
        let mut row = new_row(id, invitation, &sponsor.id, now);
        let provisioned = match account {
            Some(item) => {
                let provisioned = provision_within(&write.txn, &item, &keys, now, writes.ctx)
                    .await?
                    .map_err(InvitationError::Provision)?;
                row.account_id = Some(provisioned.account.id.clone());
                Some(provisioned)
            }
            None => None,
        };
        row.status = if approved {
            InvitationStatus::Approved
        } else {
            InvitationStatus::Pending
        }
        .as_str()
        .to_owned();
        let stored = row
            .into_active_model()
            .reset_all()
            .insert(&write.txn)
            .await?;
        finish_writes(&write.txn, &sponsor.institution, &sponsor.id, writes, now).await?;
        write.commit().await?;
        Ok((invitation_of(stored)?, provisioned))
    }

    /// Decides the pending invitation `id`: approved (its guest's account
    /// created) or rejected, once — a second decision gets
    /// [`InvitationError::Decided`] and changes nothing.
    pub async fn decide_invitation(
        &self,
        id: &str,
        decision: Decision,
        writes: InvitationWrites<'_>,
        now: DateTime<Utc>,
    ) -> Result<InvitationWritten, InvitationError> {
        let keys = self.secret_keys()?;
        let write = self.begin_write().await?;
        let status = if decision.account.is_some() {
            InvitationStatus::Approved
        } else {
            InvitationStatus::Rejected
        };
        // The pending row is taken by this update alone: a moderator
        // deciding at the same time finds it decided.
        let taken = guest_invitation::Entity::update_many()
            .col_expr(
                guest_invitation::Column::Status,
                Expr::value(status.as_str()),
            )
            .col_expr(guest_invitation::Column::DecidedAt, Expr::value(now))
            .col_expr(
                guest_invitation::Column::DecidedBy,
                Expr::value(decision.decided_by.clone()),
            )
            .col_expr(
                guest_invitation::Column::DecisionComment,
                Expr::value(decision.comment.clone()),
            )
            .filter(guest_invitation::Column::Id.eq(id))
            .filter(guest_invitation::Column::Status.eq(InvitationStatus::Pending.as_str()))
            .exec(&write.txn)
            .await?;
        if taken.rows_affected == 0 {
            return Err(InvitationError::Decided);
        }
        let row = guest_invitation::Entity::find_by_id(id)
            .one(&write.txn)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("invitation {id} vanished")))?;
        let provisioned = match decision.account {
            Some(item) => {
                let provisioned = provision_within(&write.txn, &item, &keys, now, writes.ctx)
                    .await?
                    .map_err(InvitationError::Provision)?;
                let mut linked = row.clone().into_active_model();
                linked.account_id = Set(Some(provisioned.account.id.clone()));
                linked.update(&write.txn).await?;
                Some(provisioned)
            }
            None => None,
        };
        let (institution, sponsor_id) = (row.institution.clone(), row.sponsor_id.clone());
        finish_writes(&write.txn, &institution, &sponsor_id, writes, now).await?;
        write.commit().await?;
        let mut invitation = invitation_of(row)?;
        invitation.account_id = provisioned.as_ref().map(|p| p.account.id.clone());
        Ok((invitation, provisioned))
    }

    pub async fn invitation(&self, id: &str) -> Result<Option<Invitation>, StoreError> {
        guest_invitation::Entity::find_by_id(id)
            .one(self.connection())
            .await?
            .map(invitation_of)
            .transpose()
    }

    /// The invitations `sponsor_id` made, the latest first, at most
    /// `limit`.
    pub async fn invitations_of_sponsor(
        &self,
        sponsor_id: &str,
        limit: u64,
    ) -> Result<Vec<Invitation>, StoreError> {
        guest_invitation::Entity::find()
            .filter(guest_invitation::Column::SponsorId.eq(sponsor_id))
            .order_by_desc(guest_invitation::Column::CreatedAt)
            .limit(limit)
            .all(self.connection())
            .await?
            .into_iter()
            .map(invitation_of)
            .collect()
    }

    /// The invitations of `institution` waiting for a moderator, the
    /// oldest first, at most `limit`.
    pub async fn pending_invitations(
        &self,
        institution: &str,
        limit: u64,
    ) -> Result<Vec<Invitation>, StoreError> {
        guest_invitation::Entity::find()
            .filter(guest_invitation::Column::Institution.eq(institution))
            .filter(guest_invitation::Column::Status.eq(InvitationStatus::Pending.as_str()))
            .order_by_asc(guest_invitation::Column::CreatedAt)
            .limit(limit)
            .all(self.connection())
            .await?
            .into_iter()
            .map(invitation_of)
            .collect()
    }

    /// The accounts `sponsor_id` sponsors.
    pub async fn guests_of(&self, sponsor_id: &str) -> Result<Vec<Account>, StoreError> {
        account::Entity::find()
            .filter(account::Column::SponsorId.eq(sponsor_id))
            .order_by_asc(account::Column::Id)
            .all(self.connection())
            .await?
            .into_iter()
            .map(account_of)
            .collect()
    }
}

fn new_row(
    id: &str,
    invitation: &ValidInvitation,
    sponsor_id: &str,
    now: DateTime<Utc>,
) -> guest_invitation::Model {
    guest_invitation::Model {
        id: id.to_owned(),
        institution: invitation.institution.clone(),
        profile: invitation.profile.clone(),
        sponsor_id: sponsor_id.to_owned(),
        given_name: invitation.given_name.as_str().to_owned(),
        family_name: invitation.family_name.as_str().to_owned(),
        birth_date: invitation.birth_date.map(|b| b.date()),
        personal_mail: invitation.personal_mail.as_str().to_owned(),
        end_date: invitation.end_date,
        reason: invitation.reason.clone(),
        language: invitation.language.code().to_owned(),
        status: InvitationStatus::Pending.as_str().to_owned(),
        created_at: now,
        decided_at: None,
        decided_by: None,
        decision_comment: None,
        account_id: None,
    }
}

/// The audit event on the sponsor's account and the mails.
async fn finish_writes(
    conn: &impl sea_orm::ConnectionTrait,
    institution: &str,
    sponsor_id: &str,
    writes: InvitationWrites<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (action, details) = writes.audit;
    let entry = AuditEntry {
        institution,
        account_id: Some(sponsor_id),
        action,
        details,
    };
    record_audit(conn, writes.ctx, entry, now).await?;
    for message in writes.messages {
        enqueue(conn, message, now).await?;
    }
    Ok(())
}
