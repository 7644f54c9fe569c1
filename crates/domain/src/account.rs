//! Account kinds and states, and how the states read in SupAnn.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::self_service::{AntispamLevel, ConsentState, DirectoryEntry, Redirect};

/// Student, staff or guest; each configured profile belongs to one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    #[default]
    Student,
    Staff,
    /// Invited by a sponsor (a visiting researcher, a speaker, a
    /// contractor): no enrolment or HR record, an end date from the start.
    Guest,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Student => "student",
            AccountKind::Staff => "staff",
            AccountKind::Guest => "guest",
        }
    }

    pub fn parse(text: &str) -> Option<AccountKind> {
        match text {
            "student" => Some(AccountKind::Student),
            "staff" => Some(AccountKind::Staff),
            "guest" => Some(AccountKind::Guest),
            _ => None,
        }
    }
}

/// The life of an account. One-to-one with SupAnn's account states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// Provisioned, activation not open yet.
    PreCreated,
    /// Activation open, not activated.
    Created,
    /// Activated.
    Active,
    /// After the end of activity, within retention: limited access.
    Grace,
    /// A former student's account kept on their consent past its
    /// retention end (`domain::alumni`): the configured services only.
    Alumni,
    /// Retention over: no access, data kept until the purge.
    Expired,
    /// Personal data purged; a tombstone remains.
    DataDeleted,
    /// Locked.
    Locked,
}

impl AccountStatus {
    /// Whether an account in this state may be activated: provisioned and
    /// never activated (opened or not yet).
    pub fn awaits_activation(self) -> bool {
        matches!(self, AccountStatus::PreCreated | AccountStatus::Created)
    }

    /// Stable text stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::PreCreated => "pre_created",
            AccountStatus::Created => "created",
            AccountStatus::Active => "active",
            AccountStatus::Grace => "grace",
            AccountStatus::Alumni => "alumni",
            AccountStatus::Expired => "expired",
            AccountStatus::DataDeleted => "data_deleted",
            AccountStatus::Locked => "locked",
        }
    }

    pub fn parse(text: &str) -> Option<AccountStatus> {
        Some(match text {
            "pre_created" => AccountStatus::PreCreated,
            "created" => AccountStatus::Created,
            "active" => AccountStatus::Active,
            "grace" => AccountStatus::Grace,
            "alumni" => AccountStatus::Alumni,
            "expired" => AccountStatus::Expired,
            "data_deleted" => AccountStatus::DataDeleted,
            "locked" => AccountStatus::Locked,
            _ => return None,
        })
    }

    /// SupAnn's class and state, as in `supannRessourceEtatDate`
    /// (`{COMPTE}A:SupannActif:20261124:`).
    pub fn supann(self) -> (&'static str, &'static str) {
        match self {
            AccountStatus::PreCreated => ("I", "SupannPrecree"),
            AccountStatus::Created => ("I", "SupannCree"),
            AccountStatus::Active => ("A", "SupannActif"),
            AccountStatus::Grace => ("A", "SupannSursis"),
            // SupAnn 2021 has no sub-state for a former student's account
            // and leaves the names without its `Supann` prefix to the
            // institutions: an operational (A) one of our own.
            AccountStatus::Alumni => ("A", "AncienEtudiant"),
            AccountStatus::Expired => ("I", "SupannExpire"),
            AccountStatus::DataDeleted => ("I", "SupannSupprDonnees"),
            AccountStatus::Locked => ("S", "SupannVerrouille"),
        }
    }

    /// The value of SupAnn's `supannRessourceEtatDate` for the account
    /// resource: `{COMPTE}<class>:<state>:<since>:<until>` with dates as
    /// `YYYYMMDD` (`until` empty when open-ended), for example
    /// `{COMPTE}A:SupannSursis:20260901:20270831`.
    pub fn supann_ressource_etat_date(self, since: NaiveDate, until: Option<NaiveDate>) -> String {
        let (class, state) = self.supann();
        let until = until
            .map(|d| d.format("%Y%m%d").to_string())
            .unwrap_or_default();
        format!(
            "{{COMPTE}}{class}:{state}:{}:{until}",
            since.format("%Y%m%d")
        )
    }

    /// The status as of `now`: a pre-created account becomes created when
    /// its activation opens, without anyone writing it.
    pub fn as_of(
        self,
        activation_available_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> AccountStatus {
        match self {
            AccountStatus::PreCreated if now >= activation_available_at => AccountStatus::Created,
            other => other,
        }
    }

    /// The status a newly provisioned account starts in.
    pub fn initial(activation_available_at: DateTime<Utc>, now: DateTime<Utc>) -> AccountStatus {
        AccountStatus::PreCreated.as_of(activation_available_at, now)
    }

    /// The status a returning person (re-enrolment, re-hiring) gets back:
    /// full access if they had activated, activation again otherwise.
    /// `None` when the status is not one a return changes.
    pub fn on_return(self, ever_activated: bool) -> Option<AccountStatus> {
        match self {
            AccountStatus::Grace | AccountStatus::Alumni | AccountStatus::Expired => {
                Some(if ever_activated {
                    AccountStatus::Active
                } else {
                    AccountStatus::Created
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn statuses_round_trip() {
        for s in [
            AccountStatus::PreCreated,
            AccountStatus::Created,
            AccountStatus::Active,
            AccountStatus::Grace,
            AccountStatus::Alumni,
            AccountStatus::Expired,
            AccountStatus::DataDeleted,
            AccountStatus::Locked,
        ] {
            assert_eq!(AccountStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AccountStatus::Grace.supann(), ("A", "SupannSursis"));
    }

    #[test]
    fn supann_resource_state_values() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(
            AccountStatus::Active.supann_ressource_etat_date(d(2026, 11, 24), None),
            "{COMPTE}A:SupannActif:20261124:"
        );
        assert_eq!(
            AccountStatus::Grace.supann_ressource_etat_date(d(2026, 9, 1), Some(d(2027, 8, 31))),
            "{COMPTE}A:SupannSursis:20260901:20270831"
        );
    }

    #[test]
    fn pre_created_opens_with_time() {
        let now = Utc::now();
        let opens = now + Duration::minutes(15);
        assert_eq!(
            AccountStatus::initial(opens, now),
            AccountStatus::PreCreated
        );
        assert_eq!(AccountStatus::initial(now, now), AccountStatus::Created);
        assert_eq!(
            AccountStatus::PreCreated.as_of(opens, opens + Duration::seconds(1)),
            AccountStatus::Created
        );
        assert_eq!(
            AccountStatus::Active.as_of(opens, now),
            AccountStatus::Active
        );
    }

    #[test]
    fn return_restores_access() {
        assert_eq!(
            AccountStatus::Grace.on_return(true),
            Some(AccountStatus::Active)
        );
        assert_eq!(
            AccountStatus::Grace.on_return(false),
            Some(AccountStatus::Created)
        );
        assert_eq!(AccountStatus::Active.on_return(true), None);
        assert_eq!(AccountStatus::Locked.on_return(true), None);
    }
}

/// A person's account, as the rules read it: its state and kind typed,
/// its consents, redirect and directory entry in the domain's terms. The
/// store maps its rows to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub institution: String,
    /// The profile the account was created for (its rules: activation,
    /// password policy).
    pub profile: String,
    /// Every profile of an account that holds several, each with its own
    /// end; empty for an account of one profile.
    pub profiles: Vec<crate::duplicates::LinkedProfile>,
    pub kind: AccountKind,
    pub status: AccountStatus,
    pub status_changed_at: DateTime<Utc>,
    /// Under a lock, the state the lock hides (its life goes on under it).
    pub status_before_lock: Option<AccountStatus>,
    pub login: String,
    pub institutional_mail: Option<String>,
    pub student_number: Option<String>,
    pub ine: Option<String>,
    pub hr_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: Option<NaiveDate>,
    pub mobile_phone: Option<String>,
    /// When the phone on record was proven by a code sent to it alone; a
    /// reset code may go to it only then.
    pub mobile_phone_verified_at: Option<DateTime<Utc>>,
    pub personal_mail: Option<String>,
    /// The recovery address; it serves recovery once verified.
    pub recovery_mail: Option<String>,
    pub recovery_mail_verified_at: Option<DateTime<Utc>>,
    /// The mobile phone the person gave during activation; it serves
    /// recovery once verified.
    pub recovery_phone: Option<String>,
    pub recovery_phone_verified_at: Option<DateTime<Utc>>,
    pub activation_available_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub password_hash: Option<String>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub password_expires_at: Option<DateTime<Utc>>,
    pub password_must_change: bool,
    pub next_password_reminder_at: Option<DateTime<Utc>>,
    /// The charter version accepted, and when.
    pub charter: Option<(String, DateTime<Utc>)>,
    pub consents: ConsentState,
    pub redirect: Redirect,
    /// The staff member's own level; `None`: the institution's default.
    pub antispam_level: Option<AntispamLevel>,
    /// Staff: what they show in the directory; `None` until edited.
    pub directory_entry: Option<DirectoryEntry>,
    pub end_of_activity_date: Option<NaiveDate>,
    pub retention_end_date: Option<NaiveDate>,
    pub next_expiry_notice_on: Option<NaiveDate>,
    /// Where the account stands with the request to keep it as a former
    /// student's (`domain::alumni`).
    pub alumni: crate::alumni::AlumniAnswer,
    pub expired_at: Option<DateTime<Utc>>,
    pub purged_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A guest's sponsor: the account that invited them.
    pub sponsor_id: Option<String>,
}

impl Account {
    /// The verified recovery address, the one recovery may use.
    pub fn verified_recovery_mail(&self) -> Option<&str> {
        self.recovery_mail_verified_at
            .and(self.recovery_mail.as_deref())
    }

    /// The phone a reset code by SMS goes to: the one the person gave and
    /// verified, else the record's once a code sent to it alone proved it.
    pub fn reset_phone(&self) -> Option<&str> {
        self.recovery_phone_verified_at
            .and(self.recovery_phone.as_deref())
            .or(self
                .mobile_phone_verified_at
                .and(self.mobile_phone.as_deref()))
    }

    /// Where notices about the account go (password changed, expiry,
    /// reminders): the verified recovery address; else the personal address
    /// given at enrolment (Tours collects no recovery address, and a
    /// student may never read the university mailbox); else that mailbox.
    pub fn notice_address(&self) -> Option<&str> {
        self.verified_recovery_mail()
            .or(self.personal_mail.as_deref())
            .or(self.institutional_mail.as_deref())
    }

    /// The state of its life, whether locked or not: under a lock, the
    /// state the lock hides.
    pub fn life_state(&self) -> AccountStatus {
        match self.status {
            AccountStatus::Locked => self.status_before_lock.unwrap_or(AccountStatus::Active),
            status => status,
        }
    }

    /// Whether it was ever activated and is neither purged nor expired, nor
    /// locked: active, limited after departure, or kept as a former
    /// student's. Its password may be used or changed.
    pub fn password_usable(&self) -> bool {
        matches!(
            self.status,
            AccountStatus::Active | AccountStatus::Grace | AccountStatus::Alumni
        )
    }

    /// Whether it waits for its first activation.
    pub fn awaits_activation(&self) -> bool {
        self.status.awaits_activation() && self.activated_at.is_none()
    }
}
