//! Accounts created or updated from the enrolment system's and HR's
//! records, and activation material issued again.

use chrono::{DateTime, Utc};
use domain::account::Account;
use domain::duplicates::DuplicateAction;
use domain::language::Language;
use domain::problem::Problem;
use domain::provisioning::{ProvisionInput, parse_record, profile_of};
use store::accounts::{AccountLookup, ReissueError};
use store::provisioning::{IssuedMaterial, ProvisionItem, ProvisionOutcome, Provisioned};

use crate::error::AppError;
use crate::texts::mail as mail_texts;
use crate::{App, CallContext};

/// The result of one record of a batch: provisioned, or refused on its
/// own (the others go on).
pub type RecordResult = Result<Provisioned, AppError>;

/// What a chunk of a bulk call did.
#[derive(Debug)]
pub struct ChunkResults {
    /// Each record's result, in order; `None` where the record's
    /// transaction failed.
    pub results: Vec<Option<RecordResult>>,
    /// The database's failure, if a transaction failed.
    pub failure: Option<AppError>,
}

impl App {
    /// Checks a record against the configuration.
    pub(super) fn provision_item(
        &self,
        input: Option<ProvisionInput>,
        now: DateTime<Utc>,
    ) -> Result<ProvisionItem, AppError> {
        let input = input.ok_or_else(|| AppError::field("record", Problem::Missing))?;
        let institutions = &self.rules.institutions;
        let record =
            parse_record(&input, institutions, now, "record").map_err(AppError::InvalidArgument)?;
        let (institution, profile) = profile_of(institutions, &record)
            .ok_or_else(|| AppError::inconsistent("parsed record has no profile"))?;
        Ok(ProvisionItem {
            profile: profile.clone(),
            record,
            // The enrolment system sends no language: French, the
            // institutions'.
            link_mail: Some(mail_texts::activation_link_mail(
                institution,
                Language::French,
            )),
            guest: None,
            duplicates: institution.duplicates.clone(),
            input: (institution.duplicates.action == DuplicateAction::Hold).then_some(input),
            resolution: None,
        })
    }

    /// Creates or updates the account of one record.
    pub async fn provision_account(
        &self,
        input: Option<ProvisionInput>,
        ctx: &CallContext,
    ) -> Result<Provisioned, AppError> {
        let now = self.now();
        let item = self.provision_item(input, now)?;
        let mut results = self.store.provision(&[item], now, ctx).await?;
        let result = results
            .pop()
            .ok_or_else(|| AppError::inconsistent("provisioning returned no result"))?;
        Ok(result?)
    }

    /// Provisions a chunk of records (on PostgreSQL over several
    /// transactions at once: `Store::provision_in_lanes`): each record's
    /// result in order, a bad record refused alone. A record without
    /// result belongs to a transaction that failed (the database's
    /// failure, in `failure`): nothing of it was written.
    pub async fn provision_records(
        &self,
        inputs: Vec<Option<ProvisionInput>>,
        ctx: &CallContext,
    ) -> ChunkResults {
        let now = self.now();
        let mut results: Vec<Option<RecordResult>> = Vec::with_capacity(inputs.len());
        let mut items = Vec::new();
        let mut item_slots = Vec::new();
        for input in inputs {
            match self.provision_item(input, now) {
                Ok(item) => {
                    item_slots.push(results.len());
                    items.push(item);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        let mut failure = None;
        if !items.is_empty() {
            let provisioned = self.store.provision_in_lanes(items, now, ctx).await;
            for (slot, result) in item_slots.into_iter().zip(provisioned.results) {
                results[slot] = result.map(|r| r.map_err(AppError::from));
            }
            failure = provisioned.failure.map(AppError::from);
        }
        if failure.is_none() && results.iter().any(Option::is_none) {
            // Only a failed transaction leaves a record without result.
            failure = Some(AppError::inconsistent("a record without result"));
        }
        ChunkResults { results, failure }
    }

    /// For a replayed record whose answer was lost: when it named an
    /// existing account that prints its material and has not activated
    /// yet, issues that material anew (the former stops working) into
    /// `provisioned`; whether it did. A new account already carries its
    /// material; a mailed link needs no reissue (the mail went out).
    pub async fn reissue_on_replay(
        &self,
        provisioned: &mut Provisioned,
        ctx: &CallContext,
    ) -> Result<bool, AppError> {
        let account = &provisioned.account;
        // A held record has no account of its own to reissue for.
        if provisioned.outcome == ProvisionOutcome::Held
            || provisioned.material.is_some()
            || account.activated_at.is_some()
            || !account.awaits_activation()
        {
            return Ok(false);
        }
        let id = account.id.clone();
        match self
            .reissue_activation_material(AccountLookup::Id(&id), ctx)
            .await
        {
            Ok((account, material)) => {
                provisioned.account = account;
                provisioned.material = Some(material);
                Ok(true)
            }
            Err(AppError::FailedPrecondition { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// New activation material (key, provisional password or link) for an
    /// account that has not activated yet; the old one stops working.
    pub async fn reissue_activation_material(
        &self,
        lookup: AccountLookup<'_>,
        ctx: &CallContext,
    ) -> Result<(Account, IssuedMaterial), AppError> {
        let now = self.now();
        let account = self.account(lookup).await?;
        let profile = self.profile_of(&account)?;
        // Material is for a first activation only: an activated account
        // recovers its password instead. The store checks again in its
        // transaction, against an activation completing meanwhile.
        if account.activated_at.is_some() {
            return Err(ReissueError::AlreadyActivated.into());
        }
        if !account.awaits_activation() {
            return Err(ReissueError::NotAwaitingActivation.into());
        }
        Ok(self
            .store
            .reissue_material(lookup, profile, now, ctx)
            .await?)
    }
}
