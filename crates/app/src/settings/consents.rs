//! Consents changed after activation: directory listing, photo uses,
//! sharing with the Crous.

use domain::account::Account;
use domain::consent_items::{self, ConsentItemError};
use domain::problem::Problem;
use std::collections::BTreeSet;

use domain::activation::{PhotoDecision, Step};
use domain::refusal::Precondition;
use domain::self_service::{
    ConsentChange, ConsentEffects, ConsentError, ConsentState, change_consents,
};
use serde_json::json;
use store::account_fields::AccountChange;
use store::accounts::AccountLookup;
use store::feed::ChangeKind;
use store::self_service::AccountWrite;

use super::PresenceProof;
use crate::error::AppError;
use crate::{App, CallContext};

/// The account after a consent change, and what the person should know of
/// it (a photo deleted, the Crous told), in their language.
#[derive(Debug)]
pub struct ConsentsUpdated {
    pub account: Account,
    pub notices: Vec<String>,
}

fn consent_error(e: ConsentError) -> AppError {
    match e {
        ConsentError::NotOffered(step) => AppError::FailedPrecondition {
            kind: Precondition::ConsentNotOffered,
            subject: step.field().to_owned(),
            message: "this consent is not collected for this account's profile".into(),
        },
        ConsentError::PhotoRefused => AppError::FailedPrecondition {
            kind: Precondition::PhotoRefusalIrreversible,
            subject: "photo".into(),
            message: "the photo was refused and deleted: a new photo is needed for any use (card renewal: see the student card office)".into(),
        },
    }
}

fn item_error(e: ConsentItemError) -> AppError {
    let (kind, code) = match &e {
        ConsentItemError::NotWithdrawable(code) => (Precondition::ConsentNotWithdrawable, code),
        ConsentItemError::RefusedForGood(code) => (Precondition::ConsentRefusalFinal, code),
    };
    AppError::FailedPrecondition {
        kind,
        subject: consent_items::field_of(code),
        message: e.to_string(),
    }
}

impl App {
    /// Refuses to take back a consent to one of the service's own items
    /// the institution declares not withdrawable.
    fn builtin_withdrawals_allowed(
        &self,
        account: &Account,
        current: &domain::self_service::ConsentState,
        change: &ConsentChange,
    ) -> Result<(), AppError> {
        let declared = &self.institution_of(account)?.consents;
        for step in domain::self_service::withdrawn(current, change) {
            let code = domain::consent::reserved_code(step).unwrap_or_default();
            if declared.get(code).is_some_and(|item| !item.withdrawable) {
                return Err(AppError::FailedPrecondition {
                    kind: Precondition::ConsentNotWithdrawable,
                    subject: step.field().to_owned(),
                    message: ConsentItemError::NotWithdrawable(code.to_owned()).to_string(),
                });
            }
        }
        Ok(())
    }

    /// Changes the consents named in `change` (at least one), among those
    /// the profile collects.
    pub async fn update_consents(
        &self,
        lookup: AccountLookup<'_>,
        change: ConsentChange,
        presence: Option<PresenceProof>,
        ctx: &CallContext,
    ) -> Result<ConsentsUpdated, AppError> {
        let now = self.now();
        if change == ConsentChange::default() {
            return Err(AppError::field(
                "directory_listed",
                Problem::NoConsentChanged,
            ));
        }
        let mut account = self.account_in_use(lookup).await?;
        let profile = self.profile_of(&account)?;
        let offered: BTreeSet<Step> = profile
            .activation
            .screens
            .iter()
            .flatten()
            .copied()
            .collect();
        let items = match offered.contains(&Step::Consents) {
            true => self.institution_of(&account)?.offered_consents(profile),
            false => Vec::new(),
        };
        let current = account.consents.clone();
        let problems = consent_items::input_problems(&items, &change.items, &current.items, false);
        if !problems.is_empty() {
            return Err(AppError::InvalidArgument(problems));
        }
        consent_items::change_allowed(&items, &current.items, &change.items).map_err(item_error)?;
        self.builtin_withdrawals_allowed(&account, &current, &change)?;
        let (mut next, mut effects) =
            change_consents(&current, change.clone(), &offered, now).map_err(consent_error)?;
        let (answers, items_changed) =
            consent_items::record(&items, &current.items, &change.items, now);
        next.items = answers;
        if !items_changed.is_empty() {
            effects.changed.push(Step::Consents);
        }
        // A refusal of photo uses cannot be undone: the person must be there.
        if effects.photo_deletion {
            self.require_presence(&mut account, presence, ctx, now)
                .await?;
        }
        let notices = crate::texts::consent_notices(ctx.language, &effects);
        if effects.changed.is_empty() {
            return Ok(ConsentsUpdated { account, notices });
        }
        let mut feed = vec![ChangeKind::ConsentsChanged];
        if effects.photo_deletion {
            feed.push(ChangeKind::PhotoDeletionRequested);
        }
        let details = audit_details(&next, &effects, &items_changed);
        let write = AccountWrite {
            account: &account,
            changes: vec![AccountChange::Consents(next)],
            spend: Vec::new(),
            revoke: Vec::new(),
            secrets: Vec::new(),
            messages: Vec::new(),
            audit: ("consents.updated", details),
            feed,
        };
        let account = self.store.write_account(write, ctx, now).await?;
        Ok(ConsentsUpdated { account, notices })
    }
}

/// What the audit trail keeps of a consents change: what changed and how
/// the answers now stand (each changed item's choices).
fn audit_details(
    next: &ConsentState,
    effects: &ConsentEffects,
    items_changed: &[String],
) -> serde_json::Value {
    let changed: Vec<&str> = effects.changed.iter().map(|s| s.field()).collect();
    json!({
        "changed": changed,
        "directory_listed": next.directory_listed.map(|d| d.0),
        "photo_refused": matches!(next.photo, Some((PhotoDecision::Refuse, _))),
        "photo_deletion_requested": effects.photo_deletion,
        "crous_sharing": next.crous_sharing.map(|c| c.0),
        "crous_revoked": effects.crous_revoked,
        // Each changed item's choices as they now stand.
        "items": items_changed
            .iter()
            .filter_map(|code| next.items.get_key_value(code))
            .map(|(code, answer)| (code, &answer.choices))
            .collect::<std::collections::BTreeMap<_, _>>(),
    })
}
