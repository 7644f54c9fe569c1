//! What an active user changes from the account page: consents after
//! activation, the mail redirect, and (staff) their directory entry and
//! antispam level.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::activation::{PhotoDecision, Step};
use super::ids::{MailAddress, PhoneE164};
use super::problem::{Problem, Violation};

/// How strictly the university mailbox filters spam.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AntispamLevel {
    Off,
    Low,
    #[default]
    Medium,
    High,
}

impl AntispamLevel {
    pub const ALL: [AntispamLevel; 4] = [
        AntispamLevel::Off,
        AntispamLevel::Low,
        AntispamLevel::Medium,
        AntispamLevel::High,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AntispamLevel::Off => "off",
            AntispamLevel::Low => "low",
            AntispamLevel::Medium => "medium",
            AntispamLevel::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<AntispamLevel> {
        Some(match text {
            "off" => AntispamLevel::Off,
            "low" => AntispamLevel::Low,
            "medium" => AntispamLevel::Medium,
            "high" => AntispamLevel::High,
            _ => return None,
        })
    }
}

/// A field of the directory entry a staff member may be allowed to edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryField {
    OfficePhone,
    OfficeLocation,
    JobTitle,
    PostalAddress,
    WebPage,
}

impl DirectoryField {
    pub const ALL: [DirectoryField; 5] = [
        DirectoryField::OfficePhone,
        DirectoryField::OfficeLocation,
        DirectoryField::JobTitle,
        DirectoryField::PostalAddress,
        DirectoryField::WebPage,
    ];

    /// The request field (and stored key) of this field.
    pub fn name(self) -> &'static str {
        match self {
            DirectoryField::OfficePhone => "office_phone",
            DirectoryField::OfficeLocation => "office_location",
            DirectoryField::JobTitle => "job_title",
            DirectoryField::PostalAddress => "postal_address",
            DirectoryField::WebPage => "web_page",
        }
    }

    /// The longest value the field takes, in characters.
    pub fn max_chars(self) -> usize {
        match self {
            DirectoryField::PostalAddress => 300,
            DirectoryField::WebPage => 255,
            _ => 128,
        }
    }
}

/// The editable part of a staff member's directory entry, as stored
/// (JSON). Empty strings are cleared fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DirectoryEntry {
    pub office_phone: String,
    pub office_location: String,
    pub job_title: String,
    pub postal_address: String,
    pub web_page: String,
}

impl DirectoryEntry {
    pub fn get(&self, field: DirectoryField) -> &str {
        match field {
            DirectoryField::OfficePhone => &self.office_phone,
            DirectoryField::OfficeLocation => &self.office_location,
            DirectoryField::JobTitle => &self.job_title,
            DirectoryField::PostalAddress => &self.postal_address,
            DirectoryField::WebPage => &self.web_page,
        }
    }

    fn slot(&mut self, field: DirectoryField) -> &mut String {
        match field {
            DirectoryField::OfficePhone => &mut self.office_phone,
            DirectoryField::OfficeLocation => &mut self.office_location,
            DirectoryField::JobTitle => &mut self.job_title,
            DirectoryField::PostalAddress => &mut self.postal_address,
            DirectoryField::WebPage => &mut self.web_page,
        }
    }
}

/// The entry after an edit: each typed value checked and normalised
/// (phones in E.164), fields the institution does not let staff edit left
/// as they were (typing them unchanged is fine, changing them is refused).
pub fn edit_directory_entry(
    current: &DirectoryEntry,
    typed: &DirectoryEntry,
    editable: &[DirectoryField],
    phone_region: &str,
) -> Result<DirectoryEntry, Vec<Violation>> {
    let mut next = current.clone();
    let mut problems = Vec::new();
    for field in DirectoryField::ALL {
        let raw = typed.get(field).trim();
        let value = match check_field(field, raw, phone_region) {
            Ok(v) => v,
            Err(problem) => {
                problems.push(Violation::new(field.name(), problem));
                continue;
            }
        };
        if value == current.get(field) {
            continue;
        }
        if !editable.contains(&field) {
            problems.push(Violation::new(field.name(), Problem::DirectoryFieldLocked));
            continue;
        }
        *next.slot(field) = value;
    }
    if problems.is_empty() {
        Ok(next)
    } else {
        Err(problems)
    }
}

fn check_field(field: DirectoryField, raw: &str, phone_region: &str) -> Result<String, Problem> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    if raw.chars().count() > field.max_chars() {
        return Err(Problem::TooLong {
            max: field.max_chars(),
        });
    }
    let newline_ok = field == DirectoryField::PostalAddress;
    if raw
        .chars()
        .any(|c| c.is_control() && !(newline_ok && c == '\n'))
    {
        return Err(Problem::ControlCharacters);
    }
    match field {
        DirectoryField::OfficePhone => {
            PhoneE164::parse(raw, phone_region).map(|p| p.as_str().to_owned())
        }
        DirectoryField::WebPage => {
            let ok = (raw.starts_with("https://") || raw.starts_with("http://"))
                && raw.len() > "https://".len()
                && !raw.chars().any(char::is_whitespace);
            if ok {
                Ok(raw.to_owned())
            } else {
                Err(Problem::NotAWebAddress)
            }
        }
        _ => Ok(raw.to_owned()),
    }
}

/// Consents as stored: each choice with when it was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentState {
    pub directory_listed: Option<(bool, DateTime<Utc>)>,
    pub photo: Option<(PhotoDecision, DateTime<Utc>)>,
    pub crous_sharing: Option<(bool, DateTime<Utc>)>,
    /// The answers to the institution's own consent items.
    pub items: crate::consent_items::ConsentAnswers,
}

/// A change asked for; `None` leaves a consent as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentChange {
    pub directory_listed: Option<bool>,
    pub photo: Option<PhotoDecision>,
    pub crous_sharing: Option<bool>,
    /// Answers to the institution's own items (those left out stand).
    pub items: crate::consent_items::ConsentInput,
}

/// What a change did besides the new state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentEffects {
    /// The consents that changed, by item.
    pub changed: Vec<Step>,
    /// The photo was refused just now: it must be deleted.
    pub photo_deletion: bool,
    /// Crous sharing was revoked just now: the user must ask the Crous to
    /// delete what it already received.
    pub crous_revoked: bool,
}

/// Why a consent change is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// The profile is never asked for this consent.
    #[error("this consent is not collected for this profile")]
    NotOffered(Step),
    /// Refusing the photo cannot be undone.
    #[error("the photo was refused and deleted: this cannot be undone")]
    PhotoRefused,
}

/// The service's own items `change` takes a consent back from: listed
/// then unlisted, sharing then not, a photo use allowed then not.
pub fn withdrawn(state: &ConsentState, change: &ConsentChange) -> Vec<Step> {
    let mut steps = Vec::new();
    let yes_then_no = |before: Option<(bool, DateTime<Utc>)>, after: Option<bool>| {
        before.is_some_and(|b| b.0) && after == Some(false)
    };
    if yes_then_no(state.directory_listed, change.directory_listed) {
        steps.push(Step::DirectoryListing);
    }
    if let (Some((PhotoDecision::Allow(before), _)), Some(after)) = (&state.photo, &change.photo) {
        let kept = match after {
            PhotoDecision::Allow(after) => before.is_subset(after),
            PhotoDecision::Refuse => before.is_empty(),
        };
        if !kept {
            steps.push(Step::PhotoUse);
        }
    }
    if yes_then_no(state.crous_sharing, change.crous_sharing) {
        steps.push(Step::CrousSharing);
    }
    steps
}

/// Applies a change to the consents a profile collects (`offered`: the
/// consent items of its activation journey).
pub fn change_consents(
    state: &ConsentState,
    change: ConsentChange,
    offered: &BTreeSet<Step>,
    now: DateTime<Utc>,
) -> Result<(ConsentState, ConsentEffects), ConsentError> {
    let mut next = state.clone();
    let mut effects = ConsentEffects::default();
    let offer = |step: Step| {
        if offered.contains(&step) {
            Ok(())
        } else {
            Err(ConsentError::NotOffered(step))
        }
    };
    if let Some(listed) = change.directory_listed {
        offer(Step::DirectoryListing)?;
        if state.directory_listed.map(|d| d.0) != Some(listed) {
            next.directory_listed = Some((listed, now));
            effects.changed.push(Step::DirectoryListing);
        }
    }
    if let Some(photo) = change.photo {
        offer(Step::PhotoUse)?;
        let current = state.photo.as_ref().map(|p| &p.0);
        if current == Some(&PhotoDecision::Refuse) {
            if photo != PhotoDecision::Refuse {
                return Err(ConsentError::PhotoRefused);
            }
        } else if current != Some(&photo) {
            effects.photo_deletion = photo == PhotoDecision::Refuse;
            next.photo = Some((photo, now));
            effects.changed.push(Step::PhotoUse);
        }
    }
    if let Some(sharing) = change.crous_sharing {
        offer(Step::CrousSharing)?;
        if state.crous_sharing.map(|c| c.0) != Some(sharing) {
            effects.crous_revoked = !sharing && state.crous_sharing.is_some_and(|c| c.0);
            next.crous_sharing = Some((sharing, now));
            effects.changed.push(Step::CrousSharing);
        }
    }
    Ok((next, effects))
}

/// The redirect of an account as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirect {
    pub address: Option<String>,
    pub keep_copy: bool,
    pub verified_at: Option<DateTime<Utc>>,
}

/// Why a redirect is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// Forwarding the mailbox to itself would loop.
    #[error("mail cannot be redirected to the university address itself")]
    Loop,
}

/// The redirect after the user asks for `address`: verified at once when
/// it is the verified recovery address or the redirect already verified;
/// otherwise waiting for a link (`verified_at` is `None`).
pub fn set_redirect(
    current: &Redirect,
    address: &MailAddress,
    keep_copy: bool,
    institutional_mail: Option<&str>,
    verified_recovery_mail: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Redirect, RedirectError> {
    let same =
        |other: Option<&str>| other.is_some_and(|o| o.eq_ignore_ascii_case(address.as_str()));
    if same(institutional_mail) {
        return Err(RedirectError::Loop);
    }
    let verified_at = if same(current.address.as_deref()) && current.verified_at.is_some() {
        current.verified_at
    } else if same(verified_recovery_mail) {
        Some(now)
    } else {
        None
    };
    Ok(Redirect {
        address: Some(address.as_str().to_owned()),
        keep_copy,
        verified_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::PhotoUse;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, day, 9, 0, 0).unwrap()
    }

    fn bordeaux() -> BTreeSet<Step> {
        [Step::DirectoryListing, Step::PhotoUse, Step::CrousSharing].into()
    }

    #[test]
    fn photo_refusal_cannot_be_undone() {
        let state = ConsentState {
            photo: Some((PhotoDecision::Allow([PhotoUse::CardReprint].into()), at(1))),
            ..Default::default()
        };
        let refuse = ConsentChange {
            photo: Some(PhotoDecision::Refuse),
            ..Default::default()
        };
        let (refused, effects) =
            change_consents(&state, refuse.clone(), &bordeaux(), at(2)).unwrap();
        assert!(effects.photo_deletion);
        assert_eq!(effects.changed, [Step::PhotoUse]);
        // Refusing again changes nothing and asks no second deletion.
        let (_, again) = change_consents(&refused, refuse, &bordeaux(), at(3)).unwrap();
        assert_eq!(again, ConsentEffects::default());
        let allow = ConsentChange {
            photo: Some(PhotoDecision::Allow([PhotoUse::PhotoDirectory].into())),
            ..Default::default()
        };
        assert_eq!(
            change_consents(&refused, allow, &bordeaux(), at(3)),
            Err(ConsentError::PhotoRefused)
        );
    }

    #[test]
    fn a_withdrawal_is_a_consent_given_then_taken_back() {
        let state = ConsentState {
            directory_listed: Some((true, at(1))),
            photo: Some((
                PhotoDecision::Allow([PhotoUse::CardReprint, PhotoUse::TutorialSheets].into()),
                at(1),
            )),
            crous_sharing: Some((false, at(1))),
            ..Default::default()
        };
        let more = ConsentChange {
            photo: Some(PhotoDecision::Allow(
                [
                    PhotoUse::CardReprint,
                    PhotoUse::TutorialSheets,
                    PhotoUse::PhotoDirectory,
                ]
                .into(),
            )),
            crous_sharing: Some(true),
            directory_listed: Some(true),
            ..Default::default()
        };
        assert!(withdrawn(&state, &more).is_empty());
        let less = ConsentChange {
            photo: Some(PhotoDecision::Allow([PhotoUse::CardReprint].into())),
            directory_listed: Some(false),
            crous_sharing: Some(false),
            ..Default::default()
        };
        assert_eq!(
            withdrawn(&state, &less),
            [Step::DirectoryListing, Step::PhotoUse]
        );
        let refused = ConsentChange {
            photo: Some(PhotoDecision::Refuse),
            ..Default::default()
        };
        assert_eq!(withdrawn(&state, &refused), [Step::PhotoUse]);
    }

    #[test]
    fn crous_revocation_is_flagged_and_unoffered_consents_refused() {
        let state = ConsentState {
            crous_sharing: Some((true, at(1))),
            ..Default::default()
        };
        let revoke = ConsentChange {
            crous_sharing: Some(false),
            ..Default::default()
        };
        let (next, effects) = change_consents(&state, revoke.clone(), &bordeaux(), at(2)).unwrap();
        assert!(effects.crous_revoked);
        assert_eq!(next.crous_sharing, Some((false, at(2))));
        let montpellier_staff: BTreeSet<Step> = [Step::DirectoryListing].into();
        assert_eq!(
            change_consents(&state, revoke, &montpellier_staff, at(2)),
            Err(ConsentError::NotOffered(Step::CrousSharing))
        );
    }

    #[test]
    fn directory_edits_respect_the_editable_fields() {
        let current = DirectoryEntry {
            job_title: "Ingénieure".into(),
            ..Default::default()
        };
        let typed = DirectoryEntry {
            office_phone: "04 67 14 30 30".into(),
            job_title: "Ingénieure".into(),
            web_page: "https://example.org/~jane".into(),
            ..Default::default()
        };
        let editable = [DirectoryField::OfficePhone, DirectoryField::WebPage];
        let next = edit_directory_entry(&current, &typed, &editable, "FR").unwrap();
        assert_eq!(next.office_phone, "+33467143030");
        assert_eq!(next.job_title, "Ingénieure");
        let changed_title = DirectoryEntry {
            job_title: "Directrice".into(),
            web_page: "ftp://x".into(),
            ..Default::default()
        };
        let problems = edit_directory_entry(&current, &changed_title, &editable, "FR").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["job_title", "web_page"]);
    }

    #[test]
    fn redirects_to_verified_addresses_need_no_link() {
        let recovery = "jane@example.org";
        let none = Redirect::default();
        let typed = MailAddress::parse("Jane@Example.org").unwrap();
        let r = set_redirect(
            &none,
            &typed,
            true,
            Some("jane.doe@umontpellier.fr"),
            Some(recovery),
            at(1),
        )
        .unwrap();
        assert!(r.verified_at == Some(at(1)) && r.keep_copy);
        let other = MailAddress::parse("jd@other.net").unwrap();
        let pending = set_redirect(&r, &other, false, None, Some(recovery), at(2)).unwrap();
        assert!(pending.verified_at.is_none(), "waits for its link");
        // Changing only keep-a-copy keeps the verification.
        let same = set_redirect(&r, &typed, false, None, None, at(3)).unwrap();
        assert!(same.verified_at == Some(at(1)));
        let own = MailAddress::parse("jane.doe@umontpellier.fr").unwrap();
        assert_eq!(
            set_redirect(
                &none,
                &own,
                false,
                Some("Jane.Doe@umontpellier.fr"),
                None,
                at(1)
            ),
            Err(RedirectError::Loop)
        );
    }
}
