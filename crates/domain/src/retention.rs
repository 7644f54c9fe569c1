//! What happens after people leave: how long each profile keeps its account
//! (a number of calendar months, or until a day of the year after the
//! academic year of departure), extensions, when expiry notices and password
//! reminders are due, and what the expiry batch does to one account as of a
//! day. Pure rules: dates in, dates and decisions out.

use std::fmt;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::account::AccountStatus;
use super::alumni::{AlumniAnswer, AlumniTerms, request_due};

/// A day of the year, `MM-DD` in configuration (`12-31`, `09-01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MonthDay {
    pub month: u32,
    pub day: u32,
}

impl MonthDay {
    /// Reads `MM-DD`; 29 February is refused (it does not exist every year).
    pub fn parse(text: &str) -> Option<MonthDay> {
        let (m, d) = text.trim().split_once('-')?;
        if m.len() != 2 || d.len() != 2 {
            return None;
        }
        let (month, day) = (m.parse().ok()?, d.parse().ok()?);
        // 2023 is not a leap year: a day valid then is valid every year.
        NaiveDate::from_ymd_opt(2023, month, day)?;
        Some(MonthDay { month, day })
    }

    /// This day in `year`.
    pub fn in_year(self, year: i32) -> NaiveDate {
        NaiveDate::from_ymd_opt(year, self.month, self.day)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month, 28))
            .unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for MonthDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}-{:02}", self.month, self.day)
    }
}

impl Serialize for MonthDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MonthDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        MonthDay::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not a day of the year as MM-DD"))
        })
    }
}

/// How long an account is kept after the last day of activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionRule {
    /// This many calendar months after the last day of activity (staff:
    /// 12, 6 or 3).
    Months(u32),
    /// Until this day of the year that follows the end of the academic
    /// year in which activity ended (students: 31 December; a student who
    /// leaves during academic year 2026-2027 keeps the account until
    /// 31/12/2027).
    AfterAcademicYear(MonthDay),
}

/// The academic year containing `date`, named by the calendar year it
/// starts in (`2026` for 2026-2027).
pub fn academic_year(date: NaiveDate, start: MonthDay) -> i32 {
    if date >= start.in_year(date.year()) {
        date.year()
    } else {
        date.year() - 1
    }
}

/// Adds calendar months, ending on the month's last day when the day does
/// not exist (31 August + 6 months = 28 or 29 February).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// The last day of retention for a person whose last day of activity is
/// `last_day`.
pub fn retention_end(rule: RetentionRule, last_day: NaiveDate, year_start: MonthDay) -> NaiveDate {
    match rule {
        RetentionRule::Months(months) => add_months(last_day, months),
        RetentionRule::AfterAcademicYear(until) => {
            // The academic year ends the day before the next one starts.
            let next_start = year_start.in_year(academic_year(last_day, year_start) + 1);
            let candidate = until.in_year(next_start.year());
            if candidate >= next_start.pred_opt().unwrap_or(next_start) {
                candidate
            } else {
                until.in_year(next_start.year() + 1)
            }
        }
    }
}

/// How an extension request is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionApproval {
    /// Granted at once by policy.
    Automatic,
    /// Waits for an administrator.
    #[default]
    Administrator,
}

/// The retention end after a granted extension: the profile's period added
/// to the current end, or to today when the account already expired.
pub fn extended_end(current_end: NaiveDate, today: NaiveDate, months: u32) -> NaiveDate {
    add_months(current_end.max(today), months)
}

/// When the first expiry notice is due: `days` (for example `[30, 7]`)
/// before the retention end, the earliest of them. `None` without notices.
pub fn first_notice_on(retention_end: NaiveDate, days: &[u32]) -> Option<NaiveDate> {
    days.iter()
        .max()
        .and_then(|d| retention_end.checked_sub_days(chrono::Days::new(u64::from(*d))))
}

/// When the next notice is due once one was sent on `today`: the nearest
/// notice day still ahead, so a batch that did not run for weeks sends one
/// notice, not every one it missed.
pub fn next_notice_on(
    retention_end: NaiveDate,
    days: &[u32],
    today: NaiveDate,
) -> Option<NaiveDate> {
    days.iter()
        .filter_map(|d| retention_end.checked_sub_days(chrono::Days::new(u64::from(*d))))
        .filter(|on| *on > today)
        .min()
}

/// When the first reminder of a password expiring at `expires_at` is due
/// (`days` before it); `None` when it never expires or nothing is reminded.
pub fn first_password_reminder(
    expires_at: Option<DateTime<Utc>>,
    days: &[u32],
) -> Option<DateTime<Utc>> {
    let expires_at = expires_at?;
    days.iter()
        .max()
        .and_then(|d| expires_at.checked_sub_signed(chrono::Duration::days(i64::from(*d))))
}

/// The next password reminder after one sent at `now`.
pub fn next_password_reminder(
    expires_at: DateTime<Utc>,
    days: &[u32],
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    days.iter()
        .filter_map(|d| expires_at.checked_sub_signed(chrono::Duration::days(i64::from(*d))))
        .filter(|at| *at > now)
        .min()
}

/// The steps of the expiry batch, in the order it runs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchStep {
    /// A pre-created account whose activation opened becomes created.
    OpenActivation,
    /// The last day of activity passed: limited access (grace).
    Limit,
    /// The retention end passed and the former student said "yes": the
    /// account is kept for another period (`domain::alumni`).
    KeepAsAlumni,
    /// The retention end passed: access removed.
    Expire,
    /// An expiry notice is due.
    Notice,
    /// The request to keep a former student's account is due.
    AlumniOffer,
    /// A password reminder is due.
    PasswordReminder,
    /// The password passed its maximum age: it must be changed.
    PasswordExpire,
    /// Expired longer than the purge delay: personal data deleted.
    Purge,
}

impl BatchStep {
    pub const ALL: [BatchStep; 9] = [
        BatchStep::OpenActivation,
        BatchStep::Limit,
        BatchStep::KeepAsAlumni,
        BatchStep::Expire,
        BatchStep::Notice,
        BatchStep::AlumniOffer,
        BatchStep::PasswordReminder,
        BatchStep::PasswordExpire,
        BatchStep::Purge,
    ];

    /// The action name the batch reports (`ExpiryAction.action`).
    pub fn action(self) -> &'static str {
        match self {
            BatchStep::OpenActivation => "activation_opened",
            BatchStep::Limit => "account_limited",
            BatchStep::KeepAsAlumni => "kept_as_alumni",
            BatchStep::Expire => "account_expired",
            BatchStep::Notice => "notice_sent",
            BatchStep::AlumniOffer => "alumni_offer_sent",
            BatchStep::PasswordReminder => "password_reminder_sent",
            BatchStep::PasswordExpire => "password_expired",
            BatchStep::Purge => "data_purged",
        }
    }

    /// The life states a step applies to, and whether it applies under a
    /// lock too (a lock hides the state; departure, expiry, notices and the
    /// purge go on beneath it, activation and password rules wait).
    pub fn applies_to(self) -> (&'static [AccountStatus], bool) {
        use AccountStatus::*;
        match self {
            BatchStep::OpenActivation => (&[PreCreated], false),
            BatchStep::Limit => (&[PreCreated, Created, Active], true),
            // A lock hides the consent's life too: a kept account stays
            // kept, but no request goes to a locked one (its link would
            // not open).
            BatchStep::KeepAsAlumni | BatchStep::Expire => (&[Grace, Alumni], true),
            BatchStep::AlumniOffer => (&[Grace, Alumni], false),
            BatchStep::Notice => (&[PreCreated, Created, Active, Grace], true),
            BatchStep::PasswordReminder | BatchStep::PasswordExpire => (&[Active, Grace], false),
            BatchStep::Purge => (&[Expired], true),
        }
    }
}

/// What the batch knows of one account: its lifecycle state (under a lock,
/// the state the lock hides) and its dates.
#[derive(Debug, Clone)]
pub struct AccountFacts {
    /// The state of the account's life, the lock aside.
    pub lifecycle: AccountStatus,
    pub locked: bool,
    pub activation_available_at: DateTime<Utc>,
    pub end_of_activity: Option<NaiveDate>,
    pub retention_end: Option<NaiveDate>,
    pub next_notice_on: Option<NaiveDate>,
    pub password_expires_at: Option<DateTime<Utc>>,
    pub password_must_change: bool,
    pub next_password_reminder_at: Option<DateTime<Utc>>,
    pub expired_at: Option<DateTime<Utc>>,
    /// Whether the person ever activated the account: a request to keep it
    /// goes only to someone who used it.
    pub ever_activated: bool,
    /// The profile's offer to keep former students' accounts, if any.
    pub alumni_terms: Option<AlumniTerms>,
    pub alumni: AlumniAnswer,
}

impl AccountFacts {
    /// Whether the former student agreed to keep the account past its
    /// retention end, under an offer still configured.
    fn kept_as_alumni(&self) -> bool {
        self.alumni_terms.is_some() && self.retention_end.is_some_and(|end| self.alumni.kept(end))
    }
}

/// The batch's clock: the instant it runs as of and that instant's day in
/// the institution's time zone.
#[derive(Debug, Clone, Copy)]
pub struct BatchTime {
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
}

/// Whether `step` is due for an account. The store selects candidates with
/// the same conditions; this is the rule they implement, checked again on
/// each locked row.
pub fn is_due(
    step: BatchStep,
    a: &AccountFacts,
    t: BatchTime,
    purge_after: chrono::Duration,
) -> bool {
    let (states, under_lock) = step.applies_to();
    if !states.contains(&a.lifecycle) || (a.locked && !under_lock) {
        return false;
    }
    match step {
        BatchStep::OpenActivation => a.activation_available_at <= t.now,
        BatchStep::Limit => a.end_of_activity.is_some_and(|d| d < t.today),
        BatchStep::KeepAsAlumni => {
            a.retention_end.is_some_and(|d| d < t.today) && a.kept_as_alumni()
        }
        BatchStep::Expire => a.retention_end.is_some_and(|d| d < t.today) && !a.kept_as_alumni(),
        BatchStep::AlumniOffer => match (a.alumni_terms, a.retention_end) {
            (Some(terms), Some(end)) => {
                a.ever_activated && request_due(terms, a.alumni, end, t.today)
            }
            _ => false,
        },
        BatchStep::Notice => {
            a.next_notice_on.is_some_and(|d| d <= t.today)
                && a.retention_end.is_some_and(|d| d >= t.today)
        }
        BatchStep::PasswordReminder => {
            !a.password_must_change
                && a.next_password_reminder_at.is_some_and(|at| at <= t.now)
                && a.password_expires_at.is_some_and(|at| at > t.now)
        }
        BatchStep::PasswordExpire => {
            !a.password_must_change && a.password_expires_at.is_some_and(|at| at <= t.now)
        }
        BatchStep::Purge => a
            .expired_at
            .and_then(|at| at.checked_add_signed(purge_after))
            .is_some_and(|due| due <= t.now),
    }
}

/// Why an end of activity cannot be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepartureRefusal {
    /// Retention is over; only re-enrolment or re-hiring brings the
    /// account back.
    AlreadyExpired,
}

/// The life state after a last day of activity `last_day` is recorded on
/// `today`: limited access once that day has passed; until then the account
/// keeps (or, when the date is corrected forwards, gets back) its access.
pub fn state_after_departure(
    lifecycle: AccountStatus,
    ever_activated: bool,
    last_day: NaiveDate,
    today: NaiveDate,
) -> Result<AccountStatus, DepartureRefusal> {
    use AccountStatus::*;
    match lifecycle {
        // A former student's kept account is past its retention: only a
        // return changes it.
        Alumni | Expired | DataDeleted => Err(DepartureRefusal::AlreadyExpired),
        _ if last_day < today => Ok(Grace),
        Grace => Ok(Grace.on_return(ever_activated).unwrap_or(Active)),
        other => Ok(other),
    }
}

/// Days from `today` to the last day of retention, that day counted (a
/// notice sent on the last day says 0 days are left after today).
pub fn days_left(retention_end: NaiveDate, today: NaiveDate) -> i64 {
    (retention_end - today).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const SEPT: MonthDay = MonthDay { month: 9, day: 1 };
    const DEC31: MonthDay = MonthDay { month: 12, day: 31 };

    #[test]
    fn month_days_parse() {
        assert_eq!(MonthDay::parse("12-31"), Some(DEC31));
        assert_eq!(MonthDay::parse("09-01"), Some(SEPT));
        for bad in ["02-29", "13-01", "12-32", "1231", "9-1", "", "aa-bb"] {
            assert_eq!(MonthDay::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn academic_years_start_on_the_configured_day() {
        assert_eq!(academic_year(d(2027, 8, 31), SEPT), 2026);
        assert_eq!(academic_year(d(2027, 9, 1), SEPT), 2027);
        assert_eq!(academic_year(d(2027, 1, 15), SEPT), 2026);
        assert_eq!(academic_year(d(2026, 12, 31), SEPT), 2026);
    }

    #[test]
    fn staff_keep_calendar_months() {
        let r = |m, last| retention_end(RetentionRule::Months(m), last, SEPT);
        assert_eq!(r(12, d(2026, 9, 30)), d(2027, 9, 30));
        assert_eq!(r(6, d(2026, 8, 31)), d(2027, 2, 28));
        assert_eq!(r(6, d(2027, 8, 31)), d(2028, 2, 29));
        assert_eq!(r(3, d(2026, 11, 30)), d(2027, 2, 28));
    }

    #[test]
    fn students_keep_until_31_december_after_their_academic_year() {
        let r = |last| retention_end(RetentionRule::AfterAcademicYear(DEC31), last, SEPT);
        // Academic year 2026-2027, whenever in it they leave.
        assert_eq!(r(d(2026, 9, 1)), d(2027, 12, 31));
        assert_eq!(r(d(2026, 12, 31)), d(2027, 12, 31));
        assert_eq!(r(d(2027, 6, 30)), d(2027, 12, 31));
        assert_eq!(r(d(2027, 8, 31)), d(2027, 12, 31));
        // One day later is academic year 2027-2028.
        assert_eq!(r(d(2027, 9, 1)), d(2028, 12, 31));
        // A day before the year's end is pushed past it.
        let june = MonthDay { month: 6, day: 30 };
        assert_eq!(
            retention_end(RetentionRule::AfterAcademicYear(june), d(2027, 3, 1), SEPT),
            d(2028, 6, 30)
        );
    }

    #[test]
    fn extensions_add_the_period_to_the_current_end() {
        assert_eq!(
            extended_end(d(2027, 9, 30), d(2027, 9, 1), 12),
            d(2028, 9, 30)
        );
        // Approved after expiry: counted from today.
        assert_eq!(
            extended_end(d(2027, 9, 30), d(2027, 10, 15), 12),
            d(2028, 10, 15)
        );
    }

    #[test]
    fn notices_are_due_by_thresholds_and_never_twice() {
        let end = d(2027, 9, 30);
        let days = [30, 7];
        assert_eq!(first_notice_on(end, &days), Some(d(2027, 8, 31)));
        assert_eq!(first_notice_on(end, &[]), None);
        // Sent on the 30-day mark: the next is the 7-day mark.
        assert_eq!(
            next_notice_on(end, &days, d(2027, 8, 31)),
            Some(d(2027, 9, 23))
        );
        // A batch that missed both sends one and no more.
        assert_eq!(next_notice_on(end, &days, d(2027, 9, 25)), None);
        assert_eq!(days_left(end, d(2027, 9, 23)), 7);
    }

    #[test]
    fn password_reminders() {
        let exp = DateTime::parse_from_rfc3339("2027-09-01T08:00:00Z")
            .unwrap()
            .to_utc();
        let first = first_password_reminder(Some(exp), &[14, 3]).unwrap();
        assert_eq!(first, exp - chrono::Duration::days(14));
        assert_eq!(
            next_password_reminder(exp, &[14, 3], first),
            Some(exp - chrono::Duration::days(3))
        );
        assert_eq!(next_password_reminder(exp, &[14, 3], exp), None);
        assert_eq!(first_password_reminder(None, &[14]), None);
    }

    fn facts() -> AccountFacts {
        let now = DateTime::parse_from_rfc3339("2027-01-01T08:00:00Z")
            .unwrap()
            .to_utc();
        AccountFacts {
            lifecycle: AccountStatus::Active,
            locked: false,
            activation_available_at: now,
            end_of_activity: None,
            retention_end: None,
            next_notice_on: None,
            password_expires_at: None,
            password_must_change: false,
            next_password_reminder_at: None,
            expired_at: None,
            ever_activated: true,
            alumni_terms: None,
            alumni: AlumniAnswer::default(),
        }
    }

    #[test]
    fn a_former_student_who_said_yes_is_kept_and_the_others_expire() {
        let today = d(2028, 1, 1);
        let t = BatchTime {
            now: DateTime::parse_from_rfc3339("2028-01-01T08:00:00Z")
                .unwrap()
                .to_utc(),
            today,
        };
        let purge = chrono::Duration::days(30);
        let end = d(2027, 12, 31);
        let mut a = facts();
        a.lifecycle = AccountStatus::Grace;
        a.retention_end = Some(end);
        a.alumni_terms = Some(AlumniTerms {
            answer_within_days: 60,
            renew_every_months: 12,
        });
        assert!(is_due(BatchStep::Expire, &a, t, purge));
        assert!(!is_due(BatchStep::KeepAsAlumni, &a, t, purge));
        a.alumni.kept_for = Some(end);
        assert!(!is_due(BatchStep::Expire, &a, t, purge));
        assert!(is_due(BatchStep::KeepAsAlumni, &a, t, purge));
        // Kept under a lock too; an offer no longer configured is not.
        a.locked = true;
        assert!(is_due(BatchStep::KeepAsAlumni, &a, t, purge));
        a.alumni_terms = None;
        assert!(is_due(BatchStep::Expire, &a, t, purge));
        assert!(!is_due(BatchStep::KeepAsAlumni, &a, t, purge));
        // The request: within its window, not under a lock, once.
        let mut b = facts();
        b.lifecycle = AccountStatus::Alumni;
        b.retention_end = Some(d(2028, 2, 15));
        b.alumni_terms = Some(AlumniTerms {
            answer_within_days: 60,
            renew_every_months: 12,
        });
        assert!(is_due(BatchStep::AlumniOffer, &b, t, purge));
        b.alumni.asked_for = b.retention_end;
        assert!(!is_due(BatchStep::AlumniOffer, &b, t, purge));
        b.alumni.asked_for = None;
        b.ever_activated = false;
        assert!(!is_due(BatchStep::AlumniOffer, &b, t, purge));
        b.ever_activated = true;
        b.locked = true;
        assert!(!is_due(BatchStep::AlumniOffer, &b, t, purge));
    }

    #[test]
    fn departures_limit_access_once_the_last_day_passed() {
        use AccountStatus::*;
        let today = d(2027, 7, 1);
        let s = |from, last| state_after_departure(from, true, last, today);
        assert_eq!(s(Active, d(2027, 6, 30)), Ok(Grace));
        assert_eq!(s(Active, d(2027, 7, 1)), Ok(Active));
        assert_eq!(s(Created, d(2027, 6, 30)), Ok(Grace));
        // A date corrected forwards gives access back.
        assert_eq!(s(Grace, d(2027, 8, 31)), Ok(Active));
        assert_eq!(
            state_after_departure(Grace, false, d(2027, 8, 31), today),
            Ok(Created)
        );
        assert_eq!(
            s(Expired, d(2027, 6, 30)),
            Err(DepartureRefusal::AlreadyExpired)
        );
        assert_eq!(
            s(Alumni, d(2027, 6, 30)),
            Err(DepartureRefusal::AlreadyExpired)
        );
    }

    #[test]
    fn what_is_due() {
        let now = DateTime::parse_from_rfc3339("2027-10-01T08:00:00Z")
            .unwrap()
            .to_utc();
        let t = BatchTime {
            now,
            today: d(2027, 10, 1),
        };
        let purge = chrono::Duration::days(30);
        let mut a = facts();
        assert!(BatchStep::ALL.iter().all(|s| !is_due(*s, &a, t, purge)));
        a.end_of_activity = Some(d(2027, 9, 30));
        a.retention_end = Some(d(2027, 10, 1));
        assert!(is_due(BatchStep::Limit, &a, t, purge));
        a.lifecycle = AccountStatus::Grace;
        assert!(!is_due(BatchStep::Limit, &a, t, purge));
        // The last day of retention is still kept.
        assert!(!is_due(BatchStep::Expire, &a, t, purge));
        a.retention_end = Some(d(2027, 9, 30));
        assert!(is_due(BatchStep::Expire, &a, t, purge));
        // Locked accounts expire too (the lock stays over them).
        a.locked = true;
        assert!(is_due(BatchStep::Expire, &a, t, purge));
        a.lifecycle = AccountStatus::Expired;
        a.expired_at = Some(now - chrono::Duration::days(29));
        assert!(!is_due(BatchStep::Purge, &a, t, purge));
        a.expired_at = Some(now - chrono::Duration::days(30));
        assert!(is_due(BatchStep::Purge, &a, t, purge));
        let mut p = facts();
        p.password_expires_at = Some(now);
        assert!(is_due(BatchStep::PasswordExpire, &p, t, purge));
        p.password_must_change = true;
        assert!(!is_due(BatchStep::PasswordExpire, &p, t, purge));
    }
}
