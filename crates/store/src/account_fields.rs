//! An account's own settings in the domain's terms: read from its row, and
//! changed by saying what changes — the store decides which columns hold
//! it.

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::AccountStatus;
use domain::activation::{PhotoDecision, PhotoUse};
use domain::self_service::{AntispamLevel, ConsentState, DirectoryEntry, Redirect};
use sea_orm::Set;

use super::StoreError;
use super::entities::account;

/// One change of an account's own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// A recovery address, verified at that time.
    RecoveryMail {
        address: String,
        verified_at: DateTime<Utc>,
    },
    /// Every consent, as now decided.
    Consents(ConsentState),
    /// The mail redirect, as now set.
    Redirect(Redirect),
    /// The directory entry a staff member edits.
    DirectoryEntry(DirectoryEntry),
    Antispam(AntispamLevel),
    /// The last day of activity the enrolment system or HR reported.
    EndOfActivity(NaiveDate),
    /// When the account ends, and when the first notice of it is due.
    RetentionEnd {
        end: NaiveDate,
        first_notice_on: Option<NaiveDate>,
    },
    /// The account moves to a life state (grace, expired, back to active);
    /// under a lock, the hidden state moves and the lock stays.
    LifeState {
        next: AccountStatus,
        locked: bool,
        at: DateTime<Utc>,
    },
    /// Locked, remembering the state it was in.
    Lock {
        was: AccountStatus,
        at: DateTime<Utc>,
    },
    /// Unlocked, back to the state it was in.
    Unlock {
        back: AccountStatus,
        at: DateTime<Utc>,
    },
    /// No longer counted as expired (an extension gave it time again).
    NotExpired,
}

/// The columns `changes` set; the others are left as they are.
pub(crate) fn columns(changes: &[AccountChange]) -> Result<account::ActiveModel, StoreError> {
    let mut row = account::ActiveModel::default();
    for change in changes {
        apply(&mut row, change)?;
    }
    Ok(row)
}

fn apply(row: &mut account::ActiveModel, change: &AccountChange) -> Result<(), StoreError> {
    match change {
        AccountChange::RecoveryMail {
            address,
            verified_at,
        } => {
            row.recovery_mail = Set(Some(address.clone()));
            row.recovery_mail_verified_at = Set(Some(*verified_at));
        }
        AccountChange::Consents(consents) => set_consents(row, consents),
        AccountChange::Redirect(redirect) => {
            row.redirect_address = Set(redirect.address.clone());
            row.redirect_keep_copy = Set(redirect.keep_copy);
            row.redirect_verified_at = Set(redirect.verified_at);
        }
        AccountChange::DirectoryEntry(entry) => {
            let stored = serde_json::to_string(entry)
                .map_err(|e| StoreError::Corrupt(format!("directory entry: {e}")))?;
            row.directory_entry = Set(Some(stored));
        }
        AccountChange::Antispam(level) => {
            row.antispam_level = Set(Some(level.as_str().to_owned()));
        }
        AccountChange::EndOfActivity(last_day) => row.end_of_activity_date = Set(Some(*last_day)),
        AccountChange::RetentionEnd {
            end,
            first_notice_on,
        } => {
            row.retention_end_date = Set(Some(*end));
            row.next_expiry_notice_on = Set(*first_notice_on);
        }
        AccountChange::LifeState { next, locked, at } => {
            if *locked {
                row.status_before_lock = Set(Some(next.as_str().to_owned()));
            } else {
                row.status = Set(next.as_str().to_owned());
                row.status_changed_at = Set(*at);
            }
        }
        AccountChange::Lock { was, at } => {
            row.status = Set(AccountStatus::Locked.as_str().to_owned());
            row.status_before_lock = Set(Some(was.as_str().to_owned()));
            row.status_changed_at = Set(*at);
        }
        AccountChange::Unlock { back, at } => {
            row.status = Set(back.as_str().to_owned());
            row.status_before_lock = Set(None);
            row.status_changed_at = Set(*at);
        }
        AccountChange::NotExpired => row.expired_at = Set(None),
    }
    Ok(())
}

fn set_consents(row: &mut account::ActiveModel, c: &ConsentState) {
    let (uses, refused) = match &c.photo {
        Some((PhotoDecision::Allow(uses), _)) => (
            uses.iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(","),
            false,
        ),
        Some((PhotoDecision::Refuse, _)) => (String::new(), true),
        None => (String::new(), false),
    };
    row.directory_listed = Set(c.directory_listed.map(|d| d.0));
    row.directory_decided_at = Set(c.directory_listed.map(|d| d.1));
    row.photo_uses = Set(uses);
    row.photo_refused = Set(refused);
    row.photo_decided_at = Set(c.photo.as_ref().map(|p| p.1));
    row.crous_sharing = Set(c.crous_sharing.map(|s| s.0));
    row.crous_decided_at = Set(c.crous_sharing.map(|s| s.1));
}

/// The consents of an account as the rules see them.
pub fn consents(a: &account::Model) -> ConsentState {
    let photo = a.photo_decided_at.map(|at| {
        let decision = if a.photo_refused {
            PhotoDecision::Refuse
        } else {
            PhotoDecision::Allow(
                a.photo_uses
                    .split(',')
                    .filter_map(PhotoUse::parse)
                    .collect(),
            )
        };
        (decision, at)
    });
    ConsentState {
        directory_listed: a.directory_listed.zip(a.directory_decided_at),
        photo,
        crous_sharing: a.crous_sharing.zip(a.crous_decided_at),
    }
}

/// The mail redirect of an account.
pub fn redirect(a: &account::Model) -> Redirect {
    Redirect {
        address: a.redirect_address.clone(),
        keep_copy: a.redirect_keep_copy,
        verified_at: a.redirect_verified_at,
    }
}

/// The directory entry of an account (empty until edited).
pub fn directory_entry(a: &account::Model) -> Result<DirectoryEntry, StoreError> {
    match &a.directory_entry {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("stored directory entry: {e}"))),
        None => Ok(DirectoryEntry::default()),
    }
}
