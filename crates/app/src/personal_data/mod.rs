//! The person's right of access (RGPD article 15; issue 29): everything the
//! service holds about one account — the account's fields, its consents
//! with their dates and versions, the redirect, the directory entry, the
//! extension requests, the audit events and feed entries that concern it,
//! the messages written to the person (never their bodies: links and
//! codes) — as a structured document (JSON, [`Document`]) and a readable
//! one in the person's language ([`Report`]).
//!
//! Two ways in: the person, signed in at the portal, proves they are there
//! (password or step-up token); a desk agent or an administrator answers
//! a written request, whose reference the audit trail keeps, and the
//! person is told by mail.

mod document;
mod report;

use chrono::{DateTime, Utc};
use domain::account::{Account, AccountStatus};
use domain::helpdesk::{DeskAgent, WrittenRequest};
use domain::refusal::Precondition;
use serde_json::json;
use store::AuditEntry;
use store::accounts::AccountLookup;

pub use document::{DirectoryAttribute, Document};
pub use report::{Report, ReportRow, ReportSection};

use crate::links::notice_to;
use crate::settings::PresenceProof;
use crate::texts::mail;
use crate::{App, AppError, CallContext};

/// A copy of what the service holds about one person.
pub struct PersonalData {
    pub account: Account,
    pub generated_at: DateTime<Utc>,
    /// The structured document, as JSON.
    pub json: String,
    /// The same, to read.
    pub report: Report,
}

/// The attributes the directory holds for an account, as the LDAP worker
/// writes them (computed by the adapter that serves the feed).
pub type DirectoryView<'a> = &'a (dyn Fn(&Account) -> Vec<DirectoryAttribute> + Send + Sync);

impl App {
    /// A copy of everything held about the signed-in person, who proves
    /// they are there (their password, or a step-up token).
    ///
    /// # Errors
    /// `NotFound`; `FailedPrecondition` for an account not in use;
    /// `InvalidArgument` for a missing or wrong proof.
    pub async fn export_own_data(
        &self,
        lookup: AccountLookup<'_>,
        presence: Option<PresenceProof>,
        directory: DirectoryView<'_>,
        ctx: &CallContext,
    ) -> Result<PersonalData, AppError> {
        let now = self.now();
        let mut account = self.account_in_use(lookup).await?;
        self.require_presence(&mut account, presence, ctx, now)
            .await?;
        let entry = AuditEntry {
            institution: &account.institution,
            account_id: Some(&account.id),
            action: "account.data_exported",
            details: json!({ "by": "account_holder" }),
        };
        self.store.record_event(entry, ctx, now).await?;
        self.personal_data(account, directory, ctx, now).await
    }

    /// A copy of everything held about the person `lookup` names, handed
    /// over by `agent` on the person's written request `reference`; the
    /// person is told by mail. Any account whose data is not deleted yet.
    ///
    /// # Errors
    /// `NotFound`; `FailedPrecondition` (`ACCOUNT_STATE`) for an account
    /// whose data was deleted; `ResourceExhausted` past the agent's calls
    /// per window.
    pub async fn export_on_written_request(
        &self,
        agent: &DeskAgent,
        lookup: AccountLookup<'_>,
        reference: &WrittenRequest,
        directory: DirectoryView<'_>,
        ctx: &CallContext,
    ) -> Result<PersonalData, AppError> {
        self.count_desk_call(agent, ctx).await?;
        let now = self.now();
        let account = self.account(lookup).await?;
        if account.status == AccountStatus::DataDeleted {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::AccountState,
                subject: "account".into(),
                message: "the account's personal data was deleted".into(),
            });
        }
        let institution = self.institution_of(&account)?;
        let content = mail::data_copy_notice(
            (&institution.name, &account.login),
            (now, institution.time_zone),
            reference.as_str(),
            &institution.helpdesk_url,
            ctx.language,
        );
        let messages = notice_to(&account, "desk_data_copy", content, now);
        let entry = AuditEntry {
            institution: &account.institution,
            account_id: Some(&account.id),
            action: "account.data_exported",
            details: json!({ "agent": agent.as_str(), "written_request": reference.as_str() }),
        };
        self.store.record_told(entry, messages, ctx, now).await?;
        self.personal_data(account, directory, ctx, now).await
    }

    /// The copy itself, read after the export's own audit event (which it
    /// shows).
    async fn personal_data(
        &self,
        account: Account,
        directory: DirectoryView<'_>,
        ctx: &CallContext,
        now: DateTime<Utc>,
    ) -> Result<PersonalData, AppError> {
        let records = self.store.records_about(&account.id).await?;
        let sponsor = match &account.sponsor_id {
            Some(id) => self.store.accounts_by_ids(std::slice::from_ref(id)).await?,
            None => Vec::new(),
        };
        let institution = self.institution_of(&account)?;
        let held = document::Held {
            account: &account,
            records: &records,
            sponsor_login: sponsor.first().map(|s| s.login.as_str()),
            directory: directory(&account),
            retention: &self.rules.retention,
        };
        let document = document::document(held, institution, now);
        let json = serde_json::to_string_pretty(&document).map_err(crate::error::internal)?;
        let report = report::report(&document, institution, ctx.language);
        Ok(PersonalData {
            account,
            generated_at: now,
            json,
            report,
        })
    }
}
