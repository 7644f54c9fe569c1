//! Extensions of the retention: asked for by the person (through the
//! portal) or for them, granted at once or decided by an administrator.

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::Account;
use domain::account::AccountStatus;
use domain::institution::InstitutionSettings;
use domain::language::Language;
use domain::problem::Problem;
use domain::refusal::Precondition;
use domain::retention::{ExtensionApproval, extended_end, first_notice_on};
use domain::supann::ChangeKind;
use serde_json::json;
use store::account_fields::AccountChange;
use store::accounts::AccountLookup;
use store::entities::extension_request;
use store::lifecycle::{ExtensionDecision, ExtensionError, ExtensionState, NewExtension};
use store::outbox::{Channel, NewMessage};
use store::self_service::AccountWrite;

use super::{bounded_text, expired_precondition};
use crate::error::AppError;
use crate::texts::mail as mail_texts;
use crate::{App, CallContext};

/// A decision on an extension request.
#[derive(Debug, Clone, Copy)]
pub struct ExtensionVerdict<'a> {
    pub request_id: &'a str,
    pub approve: bool,
    pub comment: &'a str,
}

/// What an extension decides: the new retention end (none: denied) and
/// the administrator's comment.
struct Outcome<'a> {
    new_end: Option<NaiveDate>,
    comment: &'a str,
}

impl App {
    /// Asks for the retention to be extended by the profile's months;
    /// granted at once where the profile says so.
    pub async fn request_extension(
        &self,
        lookup: AccountLookup<'_>,
        reason: &str,
        ctx: &CallContext,
    ) -> Result<(extension_request::Model, Account), AppError> {
        let now = self.now();
        let reason = bounded_text(reason, "reason", 1000)?;
        let account = self.account(lookup).await?;
        let profile = self.profile_of(&account)?;
        let institution = self.institution_of(&account)?;
        let Some(months) = profile.retention.extension_months else {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::NotRenewable,
                subject: "account".into(),
                message: "the retention of this profile cannot be extended".into(),
            });
        };
        let facts = crate::batch::facts(&account);
        if matches!(
            facts.lifecycle,
            AccountStatus::Expired | AccountStatus::DataDeleted
        ) {
            return Err(expired_precondition());
        }
        if facts.lifecycle == AccountStatus::Alumni {
            // Its yearly consent renews it (`domain::alumni`).
            return Err(AppError::FailedPrecondition {
                kind: Precondition::AccountState,
                subject: "account".into(),
                message:
                    "a former student's kept account is renewed by its yearly request, not extended"
                        .into(),
            });
        }
        let Some(current_end) = account.retention_end_date else {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::NoDeparture,
                subject: "account".into(),
                message: "no end of activity is recorded for this account".into(),
            });
        };
        let today = now.with_timezone(&institution.time_zone).date_naive();
        let automatic = profile.retention.extension_approval == ExtensionApproval::Automatic;
        let new_end = extended_end(current_end, today, months);
        let outcome = Outcome {
            new_end: Some(new_end),
            comment: "",
        };
        let grant =
            automatic.then(|| extension_write(&account, institution, outcome, ctx.language, now));
        let extension = NewExtension {
            account: &account,
            reason: reason.to_owned(),
            grant,
            new_end: Some(new_end),
        };
        let row = self.store.request_extension(extension, ctx, now).await?;
        Ok((row, account))
    }

    /// Approves or denies a pending request; the person is told either
    /// way.
    pub async fn decide_extension_request(
        &self,
        verdict: ExtensionVerdict<'_>,
        ctx: &CallContext,
    ) -> Result<(extension_request::Model, Account), AppError> {
        let now = self.now();
        let id = verdict.request_id.trim();
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(AppError::field("request_id", Problem::NotAUuid));
        }
        let comment = bounded_text(verdict.comment, "comment", 1000)?;
        let pending = self
            .store
            .extension_request(id)
            .await?
            .ok_or_else(|| AppError::NotFound("no such extension request".into()))?;
        if ExtensionState::parse(&pending.state) != Some(ExtensionState::Pending) {
            return Err(ExtensionError::AlreadyDecided.into());
        }
        let account = self.account(AccountLookup::Id(&pending.account_id)).await?;
        let new_end = self.decided_end(&account, verdict.approve, now)?;
        let institution = self.institution_of(&account)?;
        let outcome = Outcome { new_end, comment };
        let write = extension_write(&account, institution, outcome, ctx.language, now);
        let decision = ExtensionDecision {
            request: &pending,
            approve: verdict.approve,
            decided_by: ctx.actor.clone(),
            comment: comment.to_owned(),
            new_end,
            write,
        };
        let row = self.store.decide_extension(decision, ctx, now).await?;
        Ok((row, account))
    }

    /// The retention end an approval gives (`None`: denied).
    fn decided_end(
        &self,
        account: &Account,
        approve: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<NaiveDate>, AppError> {
        let profile = self.profile_of(account)?;
        let institution = self.institution_of(account)?;
        let facts = crate::batch::facts(account);
        if approve && facts.lifecycle == AccountStatus::DataDeleted {
            return Err(expired_precondition());
        }
        let today = now.with_timezone(&institution.time_zone).date_naive();
        match (approve, profile.retention.extension_months) {
            (false, _) => Ok(None),
            (true, Some(months)) => Ok(Some(extended_end(
                account.retention_end_date.unwrap_or(today),
                today,
                months,
            ))),
            (true, None) => Err(AppError::FailedPrecondition {
                kind: Precondition::NotRenewable,
                subject: "request_id".into(),
                message: "the account's profile can no longer be extended".into(),
            }),
        }
    }
}

/// The account write of an extension decision: with a new end, the
/// retention moves (an expired, not yet purged account gets its limited
/// access back); either way the person is told.
fn extension_write<'a>(
    account: &'a Account,
    institution: &InstitutionSettings,
    outcome: Outcome<'_>,
    language: Language,
    now: DateTime<Utc>,
) -> AccountWrite<'a> {
    let Outcome { new_end, comment } = outcome;
    let mut changes = Vec::new();
    let mut feed = Vec::new();
    if let Some(end) = new_end {
        changes.push(AccountChange::RetentionEnd {
            end,
            first_notice_on: first_notice_on(end, &institution.lifecycle.expiry_notice_days),
        });
        let facts = crate::batch::facts(account);
        if facts.lifecycle == AccountStatus::Expired {
            changes.push(AccountChange::LifeState {
                next: AccountStatus::Grace,
                locked: facts.locked,
                at: now,
            });
            changes.push(AccountChange::NotExpired);
        }
        feed.push(ChangeKind::Extended);
    }
    let messages = account
        .notice_address()
        .map(str::to_owned)
        .map(|recipient| NewMessage {
            account_id: Some(account.id.clone()),
            channel: Channel::Mail,
            recipient,
            template: "extension_decided".into(),
            content: mail_texts::extension_decided(
                &institution.name,
                &account.login,
                new_end,
                comment,
                language,
            ),
            not_before: now,
        })
        .into_iter()
        .collect();
    let action = if new_end.is_some() {
        "extension.granted"
    } else {
        "extension.denied"
    };
    let details = json!({
        "new_retention_end_date": new_end.map(|d| d.to_string()),
        "comment": comment,
    });
    AccountWrite {
        account,
        changes,
        spend: Vec::new(),
        revoke: Vec::new(),
        secrets: Vec::new(),
        messages,
        audit: (action, details),
        feed,
    }
}
