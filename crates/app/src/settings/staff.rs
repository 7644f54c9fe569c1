//! What staff alone set: their directory entry and their antispam level.

use domain::account::Account;
use domain::account::AccountKind;
use domain::problem::Violation;
use domain::self_service::{AntispamLevel, DirectoryEntry, edit_directory_entry};
use serde_json::json;
use store::account_fields::AccountChange;
use store::accounts::AccountLookup;
use store::feed::ChangeKind;
use store::self_service::AccountWrite;

use domain::refusal::Precondition;

use crate::error::AppError;
use crate::{App, CallContext};

impl App {
    /// A staff account in use; a student is told these settings are for
    /// staff (not refused as a caller without the right, which would send
    /// the portal's developers looking at its credentials).
    async fn staff_account(&self, lookup: AccountLookup<'_>) -> Result<Account, AppError> {
        let account = self.account_in_use(lookup).await?;
        if self.profile_of(&account)?.kind != AccountKind::Staff {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::StaffOnly,
                subject: "account".into(),
                message: "only staff have a directory entry and an antispam level".into(),
            });
        }
        Ok(account)
    }

    /// A staff member's directory entry.
    pub async fn directory_entry(
        &self,
        lookup: AccountLookup<'_>,
    ) -> Result<DirectoryEntry, AppError> {
        let account = self.staff_account(lookup).await?;
        Ok(account.directory_entry.unwrap_or_default())
    }

    /// Edits the fields of the entry the institution lets staff edit; the
    /// same entry again changes nothing.
    pub async fn update_directory_entry(
        &self,
        lookup: AccountLookup<'_>,
        typed: DirectoryEntry,
        ctx: &CallContext,
    ) -> Result<DirectoryEntry, AppError> {
        let now = self.now();
        let account = self.staff_account(lookup).await?;
        let institution = self.institution_of(&account)?;
        let current = account.directory_entry.clone().unwrap_or_default();
        let next = edit_directory_entry(
            &current,
            &typed,
            &institution.staff_settings.directory_fields,
            &institution.phone_region,
        )
        .map_err(|problems| {
            AppError::InvalidArgument(
                problems
                    .into_iter()
                    .map(|v| Violation::new(format!("entry.{}", v.field), v.problem))
                    .collect(),
            )
        })?;
        if next == current {
            return Ok(current);
        }
        let write = AccountWrite {
            account: &account,
            changes: vec![AccountChange::DirectoryEntry(next)],
            spend: Vec::new(),
            revoke: Vec::new(),
            secrets: Vec::new(),
            messages: Vec::new(),
            audit: ("directory_entry.updated", json!({})),
            feed: vec![ChangeKind::DirectoryEntryChanged],
        };
        let account = self.store.write_account(write, ctx, now).await?;
        Ok(account.directory_entry.unwrap_or_default())
    }

    /// A staff member's antispam level: their own, else the institution's
    /// default.
    pub async fn antispam_level(
        &self,
        lookup: AccountLookup<'_>,
    ) -> Result<AntispamLevel, AppError> {
        let account = self.staff_account(lookup).await?;
        Ok(self.level_of(&account))
    }

    pub(super) fn level_of(&self, account: &Account) -> AntispamLevel {
        account
            .antispam_level
            .or_else(|| {
                self.rules
                    .institution(&account.institution)
                    .map(|i| i.staff_settings.antispam_default)
            })
            .unwrap_or_default()
    }

    /// Sets a staff member's antispam level; the same level again changes
    /// nothing.
    pub async fn set_antispam_level(
        &self,
        lookup: AccountLookup<'_>,
        level: AntispamLevel,
        ctx: &CallContext,
    ) -> Result<AntispamLevel, AppError> {
        let now = self.now();
        let account = self.staff_account(lookup).await?;
        if account.antispam_level == Some(level) {
            return Ok(level);
        }
        let write = AccountWrite {
            account: &account,
            changes: vec![AccountChange::Antispam(level)],
            spend: Vec::new(),
            revoke: Vec::new(),
            secrets: Vec::new(),
            messages: Vec::new(),
            audit: ("antispam_level.set", json!({ "level": level.as_str() })),
            feed: vec![ChangeKind::DirectoryEntryChanged],
        };
        let account = self.store.write_account(write, ctx, now).await?;
        Ok(self.level_of(&account))
    }
}
