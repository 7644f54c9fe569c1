//! Opening an account's activation before its delay: the student at the
//! helpdesk desk on enrolment day, who cannot wait the 24 hours of
//! Bordeaux Montaigne ("attendu 24 heures") for a key already in hand.

use domain::account::{Account, AccountStatus};
use domain::problem::Problem;
use domain::refusal::Precondition;
use store::accounts::AccountLookup;

use super::{bounded_text, expired_precondition};
use crate::error::AppError;
use crate::{App, CallContext};

impl App {
    /// Opens the activation of an account awaiting it, now; an account
    /// whose activation is open already is returned as it is.
    pub async fn open_activation(
        &self,
        lookup: AccountLookup<'_>,
        reason: &str,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let reason = bounded_text(reason, "reason", 500)?;
        if reason.is_empty() {
            return Err(AppError::field("reason", Problem::Missing));
        }
        let account = self.account(lookup).await?;
        match account.status.as_of(account.activation_available_at, now) {
            AccountStatus::PreCreated => {}
            AccountStatus::Created => return Ok(account),
            AccountStatus::DataDeleted | AccountStatus::Expired => {
                return Err(expired_precondition());
            }
            _ if account.activated_at.is_some() => {
                return Err(AppError::FailedPrecondition {
                    kind: Precondition::AlreadyActive,
                    subject: "account".into(),
                    message: "the account is activated already".into(),
                });
            }
            _ => {
                return Err(AppError::FailedPrecondition {
                    kind: Precondition::AccountState,
                    subject: "account".into(),
                    message: "only an account awaiting activation can have it opened".into(),
                });
            }
        }
        Ok(self
            .store
            .open_activation(&account, reason, ctx, now)
            .await?)
    }
}
