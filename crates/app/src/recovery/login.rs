//! A forgotten login, found from the student number and the birth date
//! where the institution offers it (its own limit on lookups).

use domain::account::Account;
use domain::ids::{BirthDate, StudentNumber};
use domain::problem::Problem;
use domain::provisioning::Violation;
use domain::refusal::Precondition;
use serde_json::json;
use store::AuditEntry;
use store::accounts::AccountLookup;

use crate::error::AppError;
use crate::limits::{Counters, RateRule};
use crate::{App, CallContext};

/// What a person types to find their login.
#[derive(Debug, Clone, Copy)]
pub struct LoginLookup<'a> {
    pub institution: &'a str,
    pub student_number: &'a str,
    pub birth_date: &'a str,
}

impl App {
    /// The account whose student number and birth date are the typed
    /// ones; each lookup counts against the institution's limit.
    pub async fn recover_login(
        &self,
        typed: LoginLookup<'_>,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let code = typed.institution.trim();
        let institution = self
            .rules
            .institution(code)
            .ok_or_else(|| AppError::field("institution", Problem::UnknownInstitution))?;
        let rule = &institution.recovery.login_lookup;
        if !rule.enabled {
            return Err(AppError::FailedPrecondition {
                kind: Precondition::NotOffered,
                subject: "institution".into(),
                message: "this institution does not offer login lookup: see its helpdesk".into(),
            });
        }
        let today = now.with_timezone(&institution.time_zone).date_naive();
        let mut problems = Vec::new();
        let mut bad = |field: &str, problem: Problem| problems.push(Violation::new(field, problem));
        let number = StudentNumber::parse(typed.student_number, institution.student_number_length)
            .map_err(|e| bad("student_number", e))
            .ok();
        let birth = BirthDate::parse(typed.birth_date, today)
            .map_err(|e| bad("birth_date", e))
            .ok();
        let (Some(number), Some(birth)) = (number, birth) else {
            return Err(AppError::InvalidArgument(problems));
        };
        let limit = RateRule {
            max: rule.max_attempts,
            window: rule.window,
        };
        let counters = Counters::login_lookups(self, ctx, &[code, number.as_str()], limit);
        let lookup = AccountLookup::StudentNumber {
            institution: code,
            number: number.as_str(),
        };
        let found = async {
            self.store
                .find_account(lookup)
                .await?
                .filter(|a| a.birth_date == Some(birth.date()) && a.purged_at.is_none())
                .ok_or_else(|| {
                    AppError::NotFound(
                        "no student matches this student number and birth date".into(),
                    )
                })
        };
        let account = self.limited(counters, now, found).await?;
        self.store
            .record_event(
                AuditEntry {
                    institution: code,
                    account_id: Some(&account.id),
                    action: "login.recovered",
                    details: json!({}),
                },
                ctx,
                now,
            )
            .await?;
        Ok(account)
    }
}
