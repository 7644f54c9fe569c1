//! Guests: people no enrolment or HR record brings (visiting researchers,
//! speakers, contractors, partner staff), invited by a sponsor — a staff
//! member — for a stay with an end date (SupAnn's `supannParrainDN` names
//! the sponsor). What an institution configures for them, and an
//! invitation as typed, parsed once.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::account::AccountKind;
use crate::ids::{BirthDate, MailAddress, PersonName, parse_date};
use crate::institution::{InstitutionSettings, Institutions};
use crate::language::Language;
use crate::problem::{Problem, Violation};
use crate::retention::add_months;

/// Who decides an invitation before the guest hears of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestModeration {
    /// The sponsor's word is enough: the guest is mailed at once.
    #[default]
    None,
    /// An administrator approves or rejects each invitation first.
    Administrator,
}

/// An institution's rules for guests (`[institutions.<code>.guests]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestSettings {
    /// The profiles whose members may invite; empty: every staff profile.
    #[serde(default)]
    pub sponsor_profiles: Vec<String>,
    /// Whether invitations wait for an administrator.
    #[serde(default)]
    pub moderation: GuestModeration,
    /// Where an invitation waiting for a decision is announced (the
    /// moderators' shared mailbox); absent: nobody is mailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderator_mail: Option<String>,
    /// The longest stay an invitation or a renewal grants, in months from
    /// the day it is made.
    #[serde(default = "default_max_months")]
    pub max_months: u32,
    /// Whether a guest's stay ends with their sponsor's activity when the
    /// sponsor leaves first (COmanage ties expiry to the sponsor too).
    #[serde(default = "default_end_with_sponsor")]
    pub end_with_sponsor: bool,
}

impl Default for GuestSettings {
    fn default() -> Self {
        GuestSettings {
            sponsor_profiles: Vec::new(),
            moderation: GuestModeration::None,
            moderator_mail: None,
            max_months: default_max_months(),
            end_with_sponsor: default_end_with_sponsor(),
        }
    }
}

fn default_max_months() -> u32 {
    12
}

fn default_end_with_sponsor() -> bool {
    true
}

impl GuestSettings {
    /// Whether a member of `profile`, of `kind`, may invite guests.
    pub fn may_sponsor(&self, profile: &str, kind: AccountKind) -> bool {
        if self.sponsor_profiles.is_empty() {
            kind == AccountKind::Staff
        } else {
            self.sponsor_profiles.iter().any(|p| p == profile)
        }
    }

    /// The last day a stay decided on `today` may have.
    pub fn latest_end(&self, today: NaiveDate) -> NaiveDate {
        add_months(today, self.max_months)
    }

    /// Checks a stay's last day as of `today`: after today, and within
    /// the longest stay.
    pub fn check_end_date(&self, end: NaiveDate, today: NaiveDate) -> Result<(), Problem> {
        if end <= today {
            return Err(Problem::EndDateNotAfterToday);
        }
        if end > self.latest_end(today) {
            return Err(Problem::EndDateTooFar {
                max_months: self.max_months,
            });
        }
        Ok(())
    }
}

/// An invitation as the sponsor typed it.
#[derive(Debug, Clone, Default)]
pub struct InvitationInput<'a> {
    pub institution: &'a str,
    pub profile: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    /// Optional: a sponsor rarely knows it.
    pub birth_date: &'a str,
    /// Where the guest receives the activation link.
    pub personal_mail: &'a str,
    /// The stay's last day, `YYYY-MM-DD`.
    pub end_date: &'a str,
    /// Why the guest needs an account (for the moderator and the audit).
    pub reason: &'a str,
    /// The language of the guest's mails: `fr` (or empty) or `en`.
    pub language: &'a str,
}

/// An invitation that passed every check of its institution.
#[derive(Debug, Clone)]
pub struct ValidInvitation {
    pub institution: String,
    pub profile: String,
    pub given_name: PersonName,
    pub family_name: PersonName,
    pub birth_date: Option<BirthDate>,
    pub personal_mail: MailAddress,
    pub end_date: NaiveDate,
    pub reason: String,
    /// The language of the guest's mails.
    pub language: Language,
}

/// The longest reason kept.
pub const MAX_REASON_CHARS: usize = 500;

/// Checks an invitation as of `today` (in the institution's time zone);
/// every refused field is named under `prefix` (`guest`).
pub fn parse_invitation(
    input: &InvitationInput<'_>,
    institutions: &Institutions,
    today: NaiveDate,
    prefix: &str,
) -> Result<ValidInvitation, Vec<Violation>> {
    let mut violations = Vec::new();
    let mut bad = |field: &str, problem: Problem| {
        violations.push(Violation::new(format!("{prefix}.{field}"), problem))
    };
    let institution = guest_population(input, institutions, &mut bad);
    let given_name = PersonName::parse(input.given_name)
        .map_err(|e| bad("given_name", e))
        .ok();
    let family_name = PersonName::parse(input.family_name)
        .map_err(|e| bad("family_name", e))
        .ok();
    let birth_date = if input.birth_date.trim().is_empty() {
        Some(None)
    } else {
        BirthDate::parse(input.birth_date, today)
            .map(Some)
            .map_err(|e| bad("birth_date", e))
            .ok()
    };
    let personal_mail = MailAddress::parse(input.personal_mail)
        .map_err(|e| bad("personal_mail", e))
        .ok();
    let end_date = parse_date(input.end_date)
        .and_then(|end| match institution {
            Some(i) => i.guests.check_end_date(end, today).map(|()| end),
            None => Ok(end),
        })
        .map_err(|e| bad("end_date", e))
        .ok();
    let language = match input.language.trim() {
        "" => Some(Language::French),
        code => Language::from_code(code)
            .ok_or(Problem::UnknownValue)
            .map_err(|e| bad("language", e))
            .ok(),
    };
    let reason = input.reason.trim();
    if reason.is_empty() {
        bad("reason", Problem::Missing);
    } else if reason.chars().count() > MAX_REASON_CHARS {
        bad(
            "reason",
            Problem::TooLong {
                max: MAX_REASON_CHARS,
            },
        );
    }
    let names = given_name.zip(family_name);
    match (names, birth_date, personal_mail, end_date, language) {
        (
            Some((given_name, family_name)),
            Some(birth_date),
            Some(personal_mail),
            Some(end),
            Some(language),
        ) if violations.is_empty() => Ok(ValidInvitation {
            institution: input.institution.trim().to_owned(),
            profile: input.profile.trim().to_owned(),
            given_name,
            family_name,
            birth_date,
            personal_mail,
            end_date: end,
            reason: reason.to_owned(),
            language,
        }),
        _ => Err(violations),
    }
}

/// The institution, if configured and the profile is one of its guest
/// profiles.
fn guest_population<'i>(
    input: &InvitationInput<'_>,
    institutions: &'i Institutions,
    bad: &mut impl FnMut(&str, Problem),
) -> Option<&'i InstitutionSettings> {
    let Some(institution) = institutions.get(input.institution.trim()) else {
        bad("institution", Problem::UnknownInstitution);
        return None;
    };
    match institution.profiles.get(input.profile.trim()) {
        Some(profile) if profile.kind == AccountKind::Guest => {}
        _ => bad("profile", Problem::NotAGuestProfile),
    }
    Some(institution)
}

/// The state of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Waiting for a moderator.
    Pending,
    /// Approved (by policy or a moderator): the guest's account exists.
    Approved,
    /// Rejected by a moderator: no account.
    Rejected,
}

impl InvitationStatus {
    /// Stable text stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationStatus::Pending => "pending",
            InvitationStatus::Approved => "approved",
            InvitationStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<InvitationStatus> {
        Some(match text {
            "pending" => InvitationStatus::Pending,
            "approved" => InvitationStatus::Approved,
            "rejected" => InvitationStatus::Rejected,
            _ => return None,
        })
    }
}

/// The last day of a guest whose sponsor leaves: their own, or the
/// sponsor's when it comes first and the institution ties them.
pub fn end_with_sponsor(
    settings: &GuestSettings,
    guest_end: Option<NaiveDate>,
    sponsor_last_day: NaiveDate,
) -> Option<NaiveDate> {
    if !settings.end_with_sponsor {
        return None;
    }
    match guest_end {
        Some(end) if end <= sponsor_last_day => None,
        _ => Some(sponsor_last_day),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        parse_date(text).expect("date")
    }

    #[test]
    fn a_stay_ends_after_today_and_within_the_longest_stay() {
        let settings = GuestSettings::default();
        let today = day("2026-11-27");
        assert_eq!(
            settings.check_end_date(today, today),
            Err(Problem::EndDateNotAfterToday)
        );
        assert_eq!(settings.check_end_date(day("2027-11-27"), today), Ok(()));
        assert_eq!(
            settings.check_end_date(day("2027-11-28"), today),
            Err(Problem::EndDateTooFar { max_months: 12 })
        );
    }

    #[test]
    fn staff_sponsor_unless_the_institution_names_the_profiles() {
        let mut settings = GuestSettings::default();
        assert!(settings.may_sponsor("staff", AccountKind::Staff));
        assert!(!settings.may_sponsor("student", AccountKind::Student));
        assert!(!settings.may_sponsor("guest", AccountKind::Guest));
        settings.sponsor_profiles = vec!["staff_tenured".into()];
        assert!(settings.may_sponsor("staff_tenured", AccountKind::Staff));
        assert!(!settings.may_sponsor("vacataire", AccountKind::Staff));
    }

    #[test]
    fn a_guest_leaves_with_a_sponsor_who_leaves_first() {
        let mut settings = GuestSettings::default();
        let sponsor_leaves = day("2027-01-31");
        assert_eq!(
            end_with_sponsor(&settings, Some(day("2027-06-30")), sponsor_leaves),
            Some(sponsor_leaves)
        );
        assert_eq!(
            end_with_sponsor(&settings, Some(day("2026-12-31")), sponsor_leaves),
            None
        );
        settings.end_with_sponsor = false;
        assert_eq!(
            end_with_sponsor(&settings, Some(day("2027-06-30")), sponsor_leaves),
            None
        );
    }

    #[test]
    fn invitation_statuses_round_trip() {
        for status in [
            InvitationStatus::Pending,
            InvitationStatus::Approved,
            InvitationStatus::Rejected,
        ] {
            assert_eq!(InvitationStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(InvitationStatus::parse("other"), None);
    }
}
