//! An account's life as the enrolment system, HR and administrators drive
//! it: provisioning, the reissue of activation material, the end of
//! activity, locks, extensions of the retention, and the listings of the
//! change feed, the audit trail and the extension requests.

mod departure;
mod extensions;
mod held;
mod listings;
mod opening;
mod provisioning;

use domain::problem::Problem;
use domain::refusal::Precondition;

use crate::error::AppError;

pub use departure::Departure;
pub use extensions::ExtensionVerdict;
pub use held::HeldPage;
pub use listings::{ChangePage, ExtensionPage, Page, PageToken, parse_cursor};
pub use provisioning::{ChunkResults, RecordResult};

/// The refusal of an account whose retention is over.
fn expired_precondition() -> AppError {
    AppError::FailedPrecondition {
        kind: Precondition::AccountExpired,
        subject: "account".into(),
        message: "the account's retention is over (re-enrolment or re-hiring brings it back)"
            .into(),
    }
}

/// A free text of at most `max` characters, trimmed.
fn bounded_text<'a>(text: &'a str, field: &str, max: usize) -> Result<&'a str, AppError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(AppError::field(field, Problem::TooLong { max }));
    }
    Ok(text)
}

#[cfg(test)]
mod tests;
