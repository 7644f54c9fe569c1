//! An account's own settings in the domain's terms: read from its row, and
//! changed by saying what changes — the store decides which columns hold
//! it.

use chrono::{DateTime, NaiveDate, Utc};
use domain::account::{Account, AccountKind, AccountStatus};
use domain::activation::{PhotoDecision, PhotoUse};
use domain::consent_items::ConsentAnswers;
use domain::self_service::{AntispamLevel, ConsentState, DirectoryEntry, Redirect};
use sea_orm::Set;

use super::StoreError;
use super::entities::account;
use domain::duplicates::LinkedProfile;

/// One change of an account's own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    /// A recovery address, verified at that time.
    RecoveryMail {
        address: String,
        verified_at: DateTime<Utc>,
    },
    /// The recovery phone: a number verified at that time, or none.
    RecoveryPhone(Option<(String, DateTime<Utc>)>),
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
    /// Activation opens at that time, before the profile's delay.
    ActivationOpened {
        at: DateTime<Utc>,
    },
    /// The profiles of an account of several, as they now stand.
    LinkedProfiles(Vec<LinkedProfile>),
    /// The former student's answer to the request for the period ending
    /// on the day given: kept past it, or not (`domain::alumni`).
    AlumniAnswer {
        period_end: NaiveDate,
        keep: bool,
    },
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
        AccountChange::RecoveryPhone(phone) => {
            row.recovery_phone = Set(phone.as_ref().map(|p| p.0.clone()));
            row.recovery_phone_verified_at = Set(phone.as_ref().map(|p| p.1));
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
        AccountChange::ActivationOpened { at } => {
            row.activation_available_at = Set(*at);
            row.status = Set(AccountStatus::Created.as_str().to_owned());
            row.status_changed_at = Set(*at);
        }
        AccountChange::LinkedProfiles(profiles) => {
            row.linked_profiles = Set(Some(linked_profiles_text(profiles)?));
        }
        AccountChange::AlumniAnswer { period_end, keep } => {
            row.alumni_kept_for = Set(keep.then_some(*period_end));
            if *keep {
                // The account goes on: no notice says it closes.
                row.next_expiry_notice_on = Set(None);
            }
        }
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
    row.consent_answers = Set(answers_text(&c.items));
    row.crous_sharing = Set(c.crous_sharing.map(|s| s.0));
    row.crous_decided_at = Set(c.crous_sharing.map(|s| s.1));
}

/// The account a row holds, in the domain's terms; a row the domain
/// cannot read (an unknown state, a broken directory entry) is corrupt.
pub(crate) fn account_of(a: account::Model) -> Result<Account, StoreError> {
    let corrupt = |what: &str, value: &str| {
        StoreError::Corrupt(format!("account {} has {what} {value:?}", a.id))
    };
    let status = AccountStatus::parse(&a.status).ok_or_else(|| corrupt("status", &a.status))?;
    let kind = AccountKind::parse(&a.kind).ok_or_else(|| corrupt("kind", &a.kind))?;
    let status_before_lock = match a.status_before_lock.as_deref() {
        Some(text) => {
            Some(AccountStatus::parse(text).ok_or_else(|| corrupt("hidden status", text))?)
        }
        None => None,
    };
    let antispam_level = match a.antispam_level.as_deref() {
        Some(text) => {
            Some(AntispamLevel::parse(text).ok_or_else(|| corrupt("antispam level", text))?)
        }
        None => None,
    };
    let directory_entry = directory_entry(&a)?;
    let profiles = linked_profiles(&a)?;
    let consents = consents(&a)?;
    let redirect = Redirect {
        address: a.redirect_address.clone(),
        keep_copy: a.redirect_keep_copy,
        verified_at: a.redirect_verified_at,
    };
    Ok(Account {
        charter: a.charter_version.clone().zip(a.charter_accepted_at),
        id: a.id,
        institution: a.institution,
        profile: a.profile,
        profiles,
        kind,
        status,
        status_changed_at: a.status_changed_at,
        status_before_lock,
        login: a.login,
        institutional_mail: a.institutional_mail,
        student_number: a.student_number,
        ine: a.ine,
        hr_id: a.hr_id,
        given_name: a.given_name,
        family_name: a.family_name,
        birth_date: a.birth_date,
        mobile_phone: a.mobile_phone,
        mobile_phone_verified_at: a.mobile_phone_verified_at,
        personal_mail: a.personal_mail,
        recovery_mail: a.recovery_mail,
        recovery_mail_verified_at: a.recovery_mail_verified_at,
        recovery_phone: a.recovery_phone,
        recovery_phone_verified_at: a.recovery_phone_verified_at,
        activation_available_at: a.activation_available_at,
        activated_at: a.activated_at,
        password_hash: a.password_hash,
        password_changed_at: a.password_changed_at,
        password_expires_at: a.password_expires_at,
        password_must_change: a.password_must_change,
        next_password_reminder_at: a.next_password_reminder_at,
        consents,
        redirect,
        antispam_level,
        directory_entry,
        end_of_activity_date: a.end_of_activity_date,
        retention_end_date: a.retention_end_date,
        next_expiry_notice_on: a.next_expiry_notice_on,
        alumni: domain::alumni::AlumniAnswer {
            asked_for: a.alumni_asked_for,
            kept_for: a.alumni_kept_for,
        },
        expired_at: a.expired_at,
        purged_at: a.purged_at,
        created_at: a.created_at,
        updated_at: a.updated_at,
        sponsor_id: a.sponsor_id,
    })
}

/// Answers to the institution's own items as stored: JSON, none when
/// there are none.
pub(crate) fn answers_text(answers: &ConsentAnswers) -> Option<String> {
    (!answers.is_empty()).then(|| serde_json::to_string(answers).unwrap_or_default())
}

/// The consents of an account row as the rules see them.
fn consents(a: &account::Model) -> Result<ConsentState, StoreError> {
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
    let items = match a.consent_answers.as_deref() {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("stored consent answers: {e}")))?,
        None => ConsentAnswers::new(),
    };
    Ok(ConsentState {
        directory_listed: a.directory_listed.zip(a.directory_decided_at),
        photo,
        crous_sharing: a.crous_sharing.zip(a.crous_decided_at),
        items,
    })
}

/// The profiles of an account row of several.
fn linked_profiles(a: &account::Model) -> Result<Vec<LinkedProfile>, StoreError> {
    match a.linked_profiles.as_deref() {
        Some(text) => serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("stored linked profiles: {e}"))),
        None => Ok(Vec::new()),
    }
}

/// The stored form of an account's profiles.
pub(crate) fn linked_profiles_text(profiles: &[LinkedProfile]) -> Result<String, StoreError> {
    serde_json::to_string(profiles)
        .map_err(|e| StoreError::Corrupt(format!("linked profiles: {e}")))
}

/// The directory entry of an account row (`None` until edited).
fn directory_entry(a: &account::Model) -> Result<Option<DirectoryEntry>, StoreError> {
    a.directory_entry
        .as_deref()
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|e| StoreError::Corrupt(format!("stored directory entry: {e}")))
        })
        .transpose()
}
