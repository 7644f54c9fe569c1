//! Records held for an administrator because they name a person who
//! already has an account (`duplicates.action = "hold"`): listed, then
//! merged into that account or given one of their own, once.

use domain::duplicates::{DuplicateMatch, HeldResolution, HeldStatus};
use domain::problem::Problem;
use domain::provisioning::ProvisionInput;
use domain::refusal::Precondition;
use store::profiles::HeldWithCandidate;
use store::provisioning::{Provisioned, Resolution};

use super::listings::{Page, PageToken, next_token, page_size};
use crate::error::AppError;
use crate::{App, CallContext};

/// A page of held records and the next page's token.
pub type HeldPage = (Vec<HeldWithCandidate>, Option<PageToken>);

impl App {
    /// The pending held records of an institution, oldest first.
    pub async fn list_held_records(
        &self,
        institution: &str,
        page: Page<'_>,
    ) -> Result<HeldPage, AppError> {
        let institution = institution.trim();
        if self.rules.institution(institution).is_none() {
            return Err(AppError::field("institution", Problem::UnknownInstitution));
        }
        let limit = page_size(page.size, 500)?;
        let after = PageToken::parse(page.token)?;
        let rows = self
            .store
            .pending_held_records(institution, after, limit)
            .await?;
        let last = rows.last().map(|(r, _)| (r.held_at, r.id.as_str()));
        let next = next_token(rows.len() as u64 == limit, last);
        Ok((rows, next))
    }

    /// Carries out an administrator's decision on a held record: the
    /// record is provisioned again (checked against today's rules),
    /// merged into the account it named or given its own, and the held
    /// record marked decided in the same transaction.
    pub async fn resolve_held_record(
        &self,
        held_record_id: &str,
        decision: Option<HeldResolution>,
        ctx: &CallContext,
    ) -> Result<Provisioned, AppError> {
        let decision = decision.ok_or_else(|| AppError::field("resolution", Problem::Missing))?;
        let row = self
            .store
            .held_record(held_record_id.trim())
            .await?
            .ok_or_else(|| AppError::NotFound("no such held record".into()))?;
        if HeldStatus::parse(&row.status) != Some(HeldStatus::Pending) {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::HeldRecordDecided,
                subject: "held_record".into(),
                message: "this held record was decided already".into(),
            });
        }
        let input: ProvisionInput = serde_json::from_str(&row.record)
            .map_err(|_| AppError::inconsistent("a held record that does not read back"))?;
        let matched = DuplicateMatch::parse(&row.matched_on)
            .ok_or_else(|| AppError::inconsistent("a held record with an unknown match"))?;
        let now = self.now();
        let mut item = self.provision_item(Some(input), now)?;
        item.resolution = Some(Resolution {
            held_record_id: row.id.clone(),
            decision,
            candidate_id: row.candidate_id.clone(),
            matched,
        });
        let mut results = self.store.provision(&[item], now, ctx).await?;
        let result = results
            .pop()
            .ok_or_else(|| AppError::inconsistent("provisioning returned no result"))?;
        Ok(result?)
    }
}
