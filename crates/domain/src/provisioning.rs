//! Provisioning records from the enrolment system and HR: what a record must
//! carry for its institution and profile, parsed once into a [`ValidRecord`].

use crate::problem::Problem;
use chrono::{DateTime, Duration, Utc};

use super::account::AccountKind;
use super::guest::ValidInvitation;
use super::ids::{BirthDate, HrId, Ine, MailAddress, PersonName, PhoneE164, StudentNumber};
use super::institution::{
    ActivationChannel, CodeChannel, InstitutionSettings, Institutions, ProfileSettings,
};

/// A record as received, before any check (kept so, as JSON, while an
/// administrator reviews it: `duplicates.action = "hold"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProvisionInput {
    pub institution: String,
    pub profile: String,
    pub student_number: String,
    pub ine: String,
    pub hr_id: String,
    pub given_name: String,
    pub family_name: String,
    pub birth_date: String,
    pub mobile_phone: String,
    pub personal_mail: String,
}

/// The identifier a record is matched on: student number for students, HR
/// id for staff; a guest's record is their invitation, and creates an
/// account once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalId {
    StudentNumber(StudentNumber),
    HrId(HrId),
    Invitation(String),
}

/// A record that passed every check of its institution and profile.
#[derive(Debug, Clone)]
pub struct ValidRecord {
    pub institution: String,
    pub profile: String,
    pub kind: AccountKind,
    pub external_id: ExternalId,
    pub ine: Option<Ine>,
    pub given_name: PersonName,
    pub family_name: PersonName,
    /// Always given by enrolment and HR; a guest's sponsor may not know it.
    pub birth_date: Option<BirthDate>,
    pub mobile_phone: Option<PhoneE164>,
    pub personal_mail: Option<MailAddress>,
}

impl ValidRecord {
    /// The record of the guest an approved invitation (`invitation_id`)
    /// brings.
    pub fn of_invitation(invitation: &ValidInvitation, invitation_id: &str) -> ValidRecord {
        ValidRecord {
            institution: invitation.institution.clone(),
            profile: invitation.profile.clone(),
            kind: AccountKind::Guest,
            external_id: ExternalId::Invitation(invitation_id.to_owned()),
            ine: None,
            given_name: invitation.given_name.clone(),
            family_name: invitation.family_name.clone(),
            birth_date: invitation.birth_date,
            mobile_phone: None,
            personal_mail: Some(invitation.personal_mail.clone()),
        }
    }

    pub fn student_number(&self) -> Option<&str> {
        match &self.external_id {
            ExternalId::StudentNumber(n) => Some(n.as_str()),
            ExternalId::HrId(_) | ExternalId::Invitation(_) => None,
        }
    }

    pub fn hr_id(&self) -> Option<&str> {
        match &self.external_id {
            ExternalId::HrId(id) => Some(id.as_str()),
            ExternalId::StudentNumber(_) | ExternalId::Invitation(_) => None,
        }
    }
}

pub use crate::problem::Violation;

/// Checks `input` against the configuration, as of `now` in the
/// institution's time zone. `prefix` is the request path of the record
/// (`record`), used in field names.
pub fn parse_record(
    input: &ProvisionInput,
    institutions: &Institutions,
    now: DateTime<Utc>,
    prefix: &str,
) -> Result<ValidRecord, Vec<Violation>> {
    let mut violations = Vec::new();
    let mut bad = |field: &str, problem: Problem| {
        violations.push(Violation::new(format!("{prefix}.{field}"), problem))
    };
    let Some((institution, profile)) = population(input, institutions, &mut bad) else {
        return Err(violations);
    };
    let today = now.with_timezone(&institution.time_zone).date_naive();
    let external_id = external_id(input, institution, profile.kind, &mut bad);
    let needs = required_fields(profile);
    let ine = optional(&input.ine, needs.ine, "ine", Ine::parse, &mut bad);
    let mobile_phone = optional(
        &input.mobile_phone,
        needs.mobile_phone,
        "mobile_phone",
        |raw| PhoneE164::parse(raw, &institution.phone_region),
        &mut bad,
    );
    let personal_mail = optional(
        &input.personal_mail,
        needs.personal_mail,
        "personal_mail",
        MailAddress::parse,
        &mut bad,
    );
    if needs.phone_or_mail
        && input.mobile_phone.trim().is_empty()
        && input.personal_mail.trim().is_empty()
    {
        bad("personal_mail", Problem::NeededForActivation);
    }
    let given_name = PersonName::parse(&input.given_name)
        .map_err(|e| bad("given_name", e))
        .ok();
    let family_name = PersonName::parse(&input.family_name)
        .map_err(|e| bad("family_name", e))
        .ok();
    let birth_date = BirthDate::parse(&input.birth_date, today)
        .map_err(|e| bad("birth_date", e))
        .ok();
    match (external_id, given_name, family_name, birth_date) {
        (Some(external_id), Some(given_name), Some(family_name), Some(birth_date))
            if violations.is_empty() =>
        {
            Ok(ValidRecord {
                institution: input.institution.trim().to_owned(),
                profile: input.profile.trim().to_owned(),
                kind: profile.kind,
                external_id,
                ine: ine.flatten(),
                given_name,
                family_name,
                birth_date: Some(birth_date),
                mobile_phone: mobile_phone.flatten(),
                personal_mail: personal_mail.flatten(),
            })
        }
        _ => Err(violations),
    }
}

/// The institution and profile a record names, if both are configured.
fn population<'i>(
    input: &ProvisionInput,
    institutions: &'i Institutions,
    bad: &mut impl FnMut(&str, Problem),
) -> Option<(&'i InstitutionSettings, &'i ProfileSettings)> {
    let Some(institution) = institutions.get(input.institution.trim()) else {
        bad("institution", Problem::UnknownInstitution);
        return None;
    };
    let Some(profile) = institution.profiles.get(input.profile.trim()) else {
        let known: Vec<&str> = institution.profiles.keys().map(String::as_str).collect();
        bad(
            "profile",
            Problem::UnknownProfile {
                known: known.join(", "),
            },
        );
        return None;
    };
    Some((institution, profile))
}

/// What the record is matched on: students by student number, staff by HR
/// id (and nothing of the other kind).
fn external_id(
    input: &ProvisionInput,
    institution: &InstitutionSettings,
    kind: AccountKind,
    bad: &mut impl FnMut(&str, Problem),
) -> Option<ExternalId> {
    let present = |s: &str| !s.trim().is_empty();
    match kind {
        AccountKind::Student => {
            if present(&input.hr_id) {
                bad("hr_id", Problem::StudentWithHrId);
            }
            StudentNumber::parse(&input.student_number, institution.student_number_length)
                .map(ExternalId::StudentNumber)
                .map_err(|e| bad("student_number", e))
                .ok()
        }
        AccountKind::Staff => {
            if present(&input.student_number) {
                bad("student_number", Problem::StaffWithStudentNumber);
            }
            if present(&input.ine) {
                bad("ine", Problem::StaffWithIne);
            }
            HrId::parse(&input.hr_id)
                .map(ExternalId::HrId)
                .map_err(|e| bad("hr_id", e))
                .ok()
        }
        AccountKind::Guest => {
            bad("profile", Problem::GuestsAreInvited);
            None
        }
    }
}

/// Which optional fields a profile's activation channel makes mandatory.
struct Needs {
    ine: bool,
    mobile_phone: bool,
    personal_mail: bool,
    /// One of the two, where the person chooses where the code goes.
    phone_or_mail: bool,
}

fn required_fields(profile: &ProfileSettings) -> Needs {
    use crate::identity_check::IdentityAttribute;
    let activation = &profile.activation;
    // An identity match compares what its check lists with the record; so
    // does a check after the entry.
    let checks = |attribute| {
        (activation.channel == ActivationChannel::IdentityMatch
            && activation.identity_check.contains(&attribute))
            || activation.identity_check_after_entry.contains(&attribute)
    };
    // A code sent where the profile says goes to what the record holds;
    // where the person chooses, to one of them at least.
    let sent_to = |channel| {
        !activation.code_choice
            && activation
                .code_to
                .as_ref()
                .is_some_and(|channels| channels.contains(&channel))
    };
    Needs {
        phone_or_mail: activation.code_choice,
        ine: checks(IdentityAttribute::Ine),
        mobile_phone: checks(IdentityAttribute::MobilePhone) || sent_to(CodeChannel::Sms),
        personal_mail: activation.channel == ActivationChannel::MailedLink
            || checks(IdentityAttribute::PersonalMail)
            || sent_to(CodeChannel::Mail),
    }
}

/// Parses an optional field: `Some(None)` when absent and allowed, `None`
/// when refused.
fn optional<T>(
    raw: &str,
    required: bool,
    field: &str,
    parse: impl FnOnce(&str) -> Result<T, Problem>,
    bad: &mut impl FnMut(&str, Problem),
) -> Option<Option<T>> {
    if raw.trim().is_empty() {
        if required {
            bad(field, Problem::NeededForActivation);
            return None;
        }
        return Some(None);
    }
    parse(raw).map(Some).map_err(|e| bad(field, e)).ok()
}

/// `at + by`, saturating instead of overflowing (configuration bounds the
/// durations; this keeps a mistake from panicking).
fn later(at: DateTime<Utc>, by: std::time::Duration) -> DateTime<Utc> {
    Duration::from_std(by)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// When activation opens for an account provisioned at `now`.
pub fn activation_opens_at(profile: &ProfileSettings, now: DateTime<Utc>) -> DateTime<Utc> {
    later(now, profile.activation.delay)
}

/// When printed or mailed material issued at `now` stops working.
pub fn material_expires_at(profile: &ProfileSettings, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let lifetime = profile.activation.material_lifetime?;
    Some(later(activation_opens_at(profile, now), lifetime))
}

/// The profile a record refers to; only valid records reach here.
pub fn profile_of<'s>(
    institutions: &'s Institutions,
    record: &ValidRecord,
) -> Option<(&'s InstitutionSettings, &'s ProfileSettings)> {
    let institution = institutions.get(&record.institution)?;
    Some((institution, institution.profiles.get(&record.profile)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Institutions {
        toml::from_str(
            r#"
            [univ-test]
            name = "Test"
            time_zone = "Europe/Paris"
            student_number_length = 8
            [univ-test.profiles.student]
            kind = "student"
            retention = { until = "12-31" }
            login = { scheme = "student_number_suffix", suffix = "T" }
            activation = { channel = "identity_match", delay = "0s", screens = [["password"]] }
            [univ-test.profiles.staff]
            kind = "staff"
            retention = { months = 3 }
            login = { scheme = "institutional_mail" }
            institutional_mail = { domain = "univ-test.fr" }
            activation = { channel = "provisional_password", delay = "15m", screens = [["password"]] }
            "#,
        )
        .expect("valid test configuration")
    }

    fn student() -> ProvisionInput {
        ProvisionInput {
            institution: "univ-test".into(),
            profile: "student".into(),
            student_number: "22012345".into(),
            ine: "123456789AB".into(),
            given_name: "Élise".into(),
            family_name: "Martin".into(),
            birth_date: "2005-03-14".into(),
            mobile_phone: "07 88 10 25 99".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_student_record_parses() {
        let record = parse_record(&student(), &settings(), Utc::now(), "record").unwrap();
        assert_eq!(record.student_number(), Some("22012345"));
        assert_eq!(record.mobile_phone.unwrap().as_str(), "+33788102599");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut input = student();
        input.student_number = "123".into();
        input.ine = "".into();
        input.birth_date = "1999-13-01".into();
        input.hr_id = "X1".into();
        let violations = parse_record(&input, &settings(), Utc::now(), "record").unwrap_err();
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "record.hr_id",
                "record.student_number",
                "record.ine",
                "record.birth_date"
            ]
        );
    }

    #[test]
    fn unknown_institution_and_profile() {
        let mut input = student();
        input.institution = "nowhere".into();
        let v = parse_record(&input, &settings(), Utc::now(), "record").unwrap_err();
        assert_eq!(v[0].field, "record.institution");
        let mut input = student();
        input.profile = "alien".into();
        let v = parse_record(&input, &settings(), Utc::now(), "record").unwrap_err();
        assert_eq!(v[0].field, "record.profile");
        assert!(
            matches!(&v[0].problem, Problem::UnknownProfile { known } if known.contains("staff, student"))
        );
    }

    #[test]
    fn staff_need_an_hr_id_and_no_student_fields() {
        let input = ProvisionInput {
            institution: "univ-test".into(),
            profile: "staff".into(),
            ine: "123456789AB".into(),
            given_name: "Jane".into(),
            family_name: "Doe".into(),
            birth_date: "1980-01-01".into(),
            ..Default::default()
        };
        let v = parse_record(&input, &settings(), Utc::now(), "record").unwrap_err();
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["record.ine", "record.hr_id"]);
    }
}
