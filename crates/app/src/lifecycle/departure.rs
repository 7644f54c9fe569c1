//! The end of activity HR and the enrolment system report, and locks an
//! administrator sets.

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::Account;
use domain::account::AccountStatus;
use domain::duplicates::{LinkedProfile, account_end};
use domain::ids::parse_date;
use domain::retention::{first_notice_on, retention_end, state_after_departure};
use domain::supann::ChangeKind;
use serde_json::json;
use store::account_fields::AccountChange;
use store::accounts::AccountLookup;
use store::profiles::ProfileEnd;
use store::secrets::Purpose;
use store::self_service::AccountWrite;

use super::{bounded_text, expired_precondition};
use crate::error::AppError;
use crate::{App, CallContext};

/// A departure as reported: the last day and why.
#[derive(Debug, Clone, Copy)]
pub struct Departure<'a> {
    /// The last day of activity, `YYYY-MM-DD`.
    pub end_date: &'a str,
    pub reason: &'a str,
}

/// A departure reported for an account of several profiles.
struct ProfileDeparture<'a> {
    /// How the report named the account: a profile's own id ends that
    /// profile; any other name, every profile.
    lookup: AccountLookup<'a>,
    last_day: NaiveDate,
    reason: &'a str,
}

/// What a departure changes: the dates, and the state when it moves.
struct DepartureChanges {
    changes: Vec<AccountChange>,
    kind: ChangeKind,
    retention_end: NaiveDate,
    next: AccountStatus,
}

impl App {
    /// Records the last day of activity: the retention end follows from
    /// the profile's rule; the account is limited once the day has passed
    /// (or gets its full access back when the date moves later). The same
    /// report again changes nothing.
    pub async fn record_end_of_activity(
        &self,
        lookup: AccountLookup<'_>,
        departure: Departure<'_>,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let (account, last_day) = self.write_departure(lookup, departure, ctx).await?;
        // Also when the report changed nothing: guests a crash left behind
        // still end with their sponsor.
        self.end_stays_with_sponsor(&account, last_day, ctx).await?;
        Ok(account)
    }

    /// Records the departure alone (a guest's: guests sponsor nobody);
    /// the account and its last day.
    pub(crate) async fn write_departure(
        &self,
        lookup: AccountLookup<'_>,
        departure: Departure<'_>,
        ctx: &CallContext,
    ) -> Result<(Account, NaiveDate), AppError> {
        let now = self.now();
        let last_day = parse_date(departure.end_date).map_err(|e| AppError::field("end_date", e));
        let (last_day, reason) =
            AppError::both(last_day, bounded_text(departure.reason, "reason", 500))?;
        let account = self.account(lookup).await?;
        let profiles = self.store.linked_profiles(&account.id).await?;
        if !profiles.is_empty() {
            let departure = ProfileDeparture {
                lookup,
                last_day,
                reason,
            };
            let account = self
                .write_profile_departure(account, profiles, departure, ctx)
                .await?;
            return Ok((account, last_day));
        }
        let retention_end = self.retention_end_of(&account, &account.profile, last_day)?;
        let Some(planned) = self.departure_changes(&account, last_day, retention_end, now)? else {
            // The same report again: nothing changes.
            return Ok((account, last_day));
        };
        let audit = json!({
            "end_of_activity_date": last_day.to_string(),
            "retention_end_date": planned.retention_end.to_string(),
            "status": planned.next.as_str(),
            "reason": reason,
        });
        let write = AccountWrite {
            account: &account,
            changes: planned.changes,
            spend: Vec::new(),
            revoke: Vec::new(),
            secrets: Vec::new(),
            messages: Vec::new(),
            audit: ("account.end_of_activity", audit),
            feed: vec![planned.kind],
        };
        let account = self.store.write_account(write, ctx, now).await?;
        Ok((account, last_day))
    }

    /// A departure for an account of several profiles: the profiles it
    /// names end (each closing by its own retention rule); the account
    /// itself leaves only with the last of them, on that one's last day,
    /// and closes with the latest retention end.
    async fn write_profile_departure(
        &self,
        account: Account,
        mut profiles: Vec<LinkedProfile>,
        departure: ProfileDeparture<'_>,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let named = |p: &LinkedProfile| match departure.lookup {
            AccountLookup::StudentNumber { number, .. } => {
                p.student_number.as_deref() == Some(number.trim())
            }
            AccountLookup::HrId { hr_id, .. } => p.hr_id.as_deref() == Some(hr_id.trim()),
            _ => true,
        };
        let mut ends = Vec::new();
        for profile in profiles.iter_mut().filter(|p| named(p)) {
            let retention_end =
                self.retention_end_of(&account, &profile.profile, departure.last_day)?;
            if profile.end_of_activity_date != Some(departure.last_day)
                || profile.retention_end_date != Some(retention_end)
            {
                profile.end_of_activity_date = Some(departure.last_day);
                profile.retention_end_date = Some(retention_end);
                ends.push((profile.id.clone(), retention_end));
            }
        }
        let planned = match account_end(&profiles) {
            Some((last_day, retention_end)) => {
                self.departure_changes(&account, last_day, retention_end, now)?
            }
            None => None,
        };
        if ends.is_empty() && planned.is_none() {
            // The same report again: nothing changes.
            return Ok(account);
        }
        let ended: Vec<&str> = profiles
            .iter()
            .filter(|p| ends.iter().any(|(id, _)| *id == p.id))
            .map(|p| p.profile.as_str())
            .collect();
        let audit = json!({
            "end_of_activity_date": departure.last_day.to_string(),
            "profiles": ended,
            "status": planned.as_ref().map(|p| p.next.as_str()),
            "reason": departure.reason,
        });
        let (mut changes, feed) = match planned {
            Some(planned) => (planned.changes, vec![planned.kind]),
            None => (Vec::new(), Vec::new()),
        };
        changes.push(AccountChange::LinkedProfiles(profiles.clone()));
        let profile_ends: Vec<ProfileEnd> = ends
            .iter()
            .map(|(id, retention_end)| ProfileEnd {
                profile_row: id,
                last_day: departure.last_day,
                retention_end: *retention_end,
            })
            .collect();
        let write = AccountWrite {
            account: &account,
            changes,
            spend: Vec::new(),
            revoke: Vec::new(),
            secrets: Vec::new(),
            messages: Vec::new(),
            audit: ("account.end_of_activity", audit),
            feed,
        };
        Ok(self
            .store
            .end_profiles(&profile_ends, write, ctx, now)
            .await?)
    }

    /// When an account of `profile` leaving on `last_day` closes, by the
    /// profile's retention rule.
    fn retention_end_of(
        &self,
        account: &Account,
        profile: &str,
        last_day: NaiveDate,
    ) -> Result<NaiveDate, AppError> {
        let institution = self.institution_of(account)?;
        let rules = self.profile_named(account, profile)?;
        Ok(retention_end(
            rules.retention.rule(),
            last_day,
            institution.lifecycle.academic_year_start,
        ))
    }

    /// The changes a departure on `last_day`, closing on `retention_end`,
    /// makes; `None` when the account already says so.
    fn departure_changes(
        &self,
        account: &Account,
        last_day: NaiveDate,
        retention_end: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<DepartureChanges>, AppError> {
        let institution = self.institution_of(account)?;
        let facts = crate::batch::facts(account);
        let today = now.with_timezone(&institution.time_zone).date_naive();
        let activated = account.activated_at.is_some();
        // The enrolment system reports a former student's departure again:
        // the kept account stays as the person chose.
        if facts.lifecycle == AccountStatus::Alumni
            && account.end_of_activity_date == Some(last_day)
        {
            return Ok(None);
        }
        let next = state_after_departure(facts.lifecycle, activated, last_day, today)
            .map_err(|_| expired_precondition())?;
        let lifecycle = &institution.lifecycle;
        if account.end_of_activity_date == Some(last_day)
            && account.retention_end_date == Some(retention_end)
            && next == facts.lifecycle
        {
            return Ok(None);
        }
        let mut changes = vec![
            AccountChange::EndOfActivity(last_day),
            AccountChange::RetentionEnd {
                end: retention_end,
                first_notice_on: first_notice_on(retention_end, &lifecycle.expiry_notice_days),
            },
        ];
        let kind = if next == facts.lifecycle {
            ChangeKind::Updated
        } else {
            changes.push(AccountChange::LifeState {
                next,
                locked: facts.locked,
                at: now,
            });
            if next == AccountStatus::Grace {
                ChangeKind::Limited
            } else {
                ChangeKind::Restored
            }
        };
        Ok(Some(DepartureChanges {
            changes,
            kind,
            retention_end,
            next,
        }))
    }

    /// Locks or unlocks an account; already as asked, nothing changes. A
    /// locked account cannot be recovered by mail either.
    pub async fn set_account_lock(
        &self,
        lookup: AccountLookup<'_>,
        locked: bool,
        reason: &str,
        ctx: &CallContext,
    ) -> Result<Account, AppError> {
        let now = self.now();
        let reason = bounded_text(reason, "reason", 500)?;
        let account = self.account(lookup).await?;
        let status = account.status.as_of(account.activation_available_at, now);
        if status == AccountStatus::DataDeleted {
            return Err(expired_precondition());
        }
        if (status == AccountStatus::Locked) == locked {
            return Ok(account);
        }
        let (changes, action, kind, revoke) = if locked {
            (
                vec![AccountChange::Lock {
                    was: status,
                    at: now,
                }],
                "account.locked",
                ChangeKind::Locked,
                vec![
                    Purpose::PasswordReset,
                    Purpose::ReactivationKey,
                    Purpose::StepUp,
                ],
            )
        } else {
            let back = account.status_before_lock.unwrap_or(AccountStatus::Active);
            let unlock = vec![AccountChange::Unlock { back, at: now }];
            (unlock, "account.unlocked", ChangeKind::Unlocked, Vec::new())
        };
        let write = AccountWrite {
            account: &account,
            changes,
            spend: Vec::new(),
            revoke,
            secrets: Vec::new(),
            messages: Vec::new(),
            audit: (action, json!({ "reason": reason })),
            feed: vec![kind],
        };
        Ok(self.store.write_account(write, ctx, now).await?)
    }
}
