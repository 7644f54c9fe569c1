//! One person, one account. The enrolment system and HR often hold the same
//! person under different ids (a student who becomes a *vacataire*, a
//! re-enrolment under a new student number); SupAnn's "verrou technique"
//! and comptex's "c'est la même personne" answer it by hand. Here an
//! institution says which facts make two records the same person, and a
//! record that would create a second account for them is linked to the
//! first instead: one account, several profiles, each with its own end.

use serde::{Deserialize, Serialize};

use crate::account::AccountKind;
use crate::login::fold_name;
use crate::provisioning::ValidRecord;

/// A fact that makes a new record the same person as an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateMatch {
    /// The same given and family names (folded: case, accents, hyphens
    /// and spaces aside) and the same birth date.
    NamesAndBirthDate,
    /// The same personal mail and the same given name: a mail shared in a
    /// family (parents' address for two children) does not make siblings
    /// one person, a changed family name (marriage) does not part one.
    PersonalMail,
    /// The same mobile phone and the same given name, for the same reasons.
    MobilePhone,
}

impl DuplicateMatch {
    /// The name configuration and audit events use.
    pub fn name(self) -> &'static str {
        match self {
            DuplicateMatch::NamesAndBirthDate => "names_and_birth_date",
            DuplicateMatch::PersonalMail => "personal_mail",
            DuplicateMatch::MobilePhone => "mobile_phone",
        }
    }

    /// The fact of a name (as stored with a held record).
    pub fn parse(name: &str) -> Option<DuplicateMatch> {
        [
            DuplicateMatch::NamesAndBirthDate,
            DuplicateMatch::PersonalMail,
            DuplicateMatch::MobilePhone,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// What provisioning does with a record that names a person who already
/// has an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicateAction {
    /// Add the record's profile to the existing account.
    Link,
    /// Create nothing: keep the record for an administrator, who merges it
    /// into the existing account or creates an account for it
    /// (`ListHeldRecords`, `ResolveHeldRecord`).
    Hold,
}

/// `[institutions.<code>.duplicates]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateSettings {
    /// The facts compared, any one sufficing; empty: records with other ids
    /// are other people (the default).
    #[serde(default)]
    pub match_on: Vec<DuplicateMatch>,
    #[serde(default = "default_action")]
    pub action: DuplicateAction,
}

fn default_action() -> DuplicateAction {
    DuplicateAction::Link
}

impl Default for DuplicateSettings {
    fn default() -> Self {
        DuplicateSettings {
            match_on: Vec::new(),
            action: default_action(),
        }
    }
}

impl DuplicateSettings {
    /// Whether records are compared at all.
    pub fn enabled(&self) -> bool {
        !self.match_on.is_empty()
    }
}

/// What an administrator decides of a held record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldResolution {
    /// The same person: the record's profile joins the existing account.
    Merge,
    /// Another person: the record gets an account of its own.
    Create,
}

/// Where a held record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldStatus {
    Pending,
    Merged,
    Created,
}

impl HeldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HeldStatus::Pending => "pending",
            HeldStatus::Merged => "merged",
            HeldStatus::Created => "created",
        }
    }

    pub fn parse(text: &str) -> Option<HeldStatus> {
        [HeldStatus::Pending, HeldStatus::Merged, HeldStatus::Created]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// What an account holds of its person, as the comparison reads it.
#[derive(Debug, Clone, Copy)]
pub struct PersonOnRecord<'a> {
    pub kind: AccountKind,
    pub person_key: Option<&'a str>,
    pub given_name: &'a str,
    pub personal_mail: Option<&'a str>,
    pub mobile_phone: Option<&'a str>,
}

/// The key two records of one person share under `names_and_birth_date`:
/// folded names and the birth date; `None` without a birth date.
pub fn person_key(
    given_name: &str,
    family_name: &str,
    birth_date: Option<chrono::NaiveDate>,
) -> Option<String> {
    let born = birth_date?;
    Some(format!(
        "{}|{}|{born}",
        fold_name(given_name),
        fold_name(family_name)
    ))
}

/// The key of a record.
pub fn record_person_key(record: &ValidRecord) -> Option<String> {
    person_key(
        record.given_name.as_str(),
        record.family_name.as_str(),
        record.birth_date.map(|b| b.date()),
    )
}

/// Which configured fact, if any, makes `record` the person of `account`.
/// Guests are never linked: a sponsor's invitation is not a record the
/// person's institution keeps.
pub fn same_person(
    settings: &DuplicateSettings,
    record: &ValidRecord,
    account: &PersonOnRecord<'_>,
) -> Option<DuplicateMatch> {
    if record.kind == AccountKind::Guest || account.kind == AccountKind::Guest {
        return None;
    }
    let same_given = fold_name(record.given_name.as_str()) == fold_name(account.given_name);
    settings.match_on.iter().copied().find(|fact| match fact {
        DuplicateMatch::NamesAndBirthDate => {
            let key = record_person_key(record);
            key.is_some() && key.as_deref() == account.person_key
        }
        DuplicateMatch::PersonalMail => {
            same_given
                && record
                    .personal_mail
                    .as_ref()
                    .is_some_and(|m| Some(m.as_str()) == account.personal_mail)
        }
        DuplicateMatch::MobilePhone => {
            same_given
                && record
                    .mobile_phone
                    .as_ref()
                    .is_some_and(|p| Some(p.as_str()) == account.mobile_phone)
        }
    })
}

/// One profile of an account that holds several, with its own end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedProfile {
    pub id: String,
    pub profile: String,
    pub kind: AccountKind,
    pub student_number: Option<String>,
    pub hr_id: Option<String>,
    pub end_of_activity_date: Option<chrono::NaiveDate>,
    pub retention_end_date: Option<chrono::NaiveDate>,
}

/// The end of an account of several profiles: the last day and retention
/// end of the last of them to end; `None` while one of them is active.
pub fn account_end(profiles: &[LinkedProfile]) -> Option<(chrono::NaiveDate, chrono::NaiveDate)> {
    profiles.iter().try_fold(None, |latest, p| {
        let (last_day, retention_end) = (p.end_of_activity_date?, p.retention_end_date?);
        Some(Some(match latest {
            Some((l, r)) => (std::cmp::max(l, last_day), std::cmp::max(r, retention_end)),
            None => (last_day, retention_end),
        }))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{BirthDate, HrId, MailAddress, PersonName};
    use crate::provisioning::ExternalId;

    fn record(given: &str, family: &str, mail: &str) -> ValidRecord {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).expect("date");
        ValidRecord {
            institution: "demo".into(),
            profile: "staff".into(),
            kind: AccountKind::Staff,
            external_id: ExternalId::HrId(HrId::parse("RH-1").expect("hr id")),
            ine: None,
            given_name: PersonName::parse(given).expect("given name"),
            family_name: PersonName::parse(family).expect("family name"),
            birth_date: Some(BirthDate::parse("2001-02-03", today).expect("birth date")),
            mobile_phone: None,
            personal_mail: Some(MailAddress::parse(mail).expect("mail")),
        }
    }

    fn on_record<'a>(key: &'a str, given: &'a str, mail: &'a str) -> PersonOnRecord<'a> {
        PersonOnRecord {
            kind: AccountKind::Student,
            person_key: Some(key),
            given_name: given,
            personal_mail: Some(mail),
            mobile_phone: None,
        }
    }

    #[test]
    fn names_and_birth_date_match_folded() {
        let settings = DuplicateSettings {
            match_on: vec![DuplicateMatch::NamesAndBirthDate],
            ..DuplicateSettings::default()
        };
        let new = record("Éloïse", "Le Gall", "e@example.org");
        assert!(matches!(new.external_id, ExternalId::HrId(_)));
        let key = person_key(
            "eloise",
            "LE-GALL",
            chrono::NaiveDate::from_ymd_opt(2001, 2, 3),
        )
        .expect("key");
        let same = on_record(&key, "Eloise", "other@example.org");
        assert_eq!(
            same_person(&settings, &new, &same),
            Some(DuplicateMatch::NamesAndBirthDate)
        );
        let other_key = person_key(
            "eloise",
            "le gall",
            chrono::NaiveDate::from_ymd_opt(2001, 2, 4),
        )
        .expect("key");
        assert_eq!(
            same_person(&settings, &new, &on_record(&other_key, "Eloise", "x@y.org")),
            None
        );
    }

    #[test]
    fn an_account_of_several_profiles_ends_with_the_last() {
        let day = |d| chrono::NaiveDate::from_ymd_opt(2027, 6, d).expect("date");
        let profile = |end: Option<u32>, retention: u32| LinkedProfile {
            id: String::new(),
            profile: "student".into(),
            kind: AccountKind::Student,
            student_number: None,
            hr_id: None,
            end_of_activity_date: end.map(day),
            retention_end_date: end.map(|_| day(retention)),
        };
        assert_eq!(account_end(&[]), None);
        assert_eq!(account_end(&[profile(Some(1), 20), profile(None, 0)]), None);
        assert_eq!(
            account_end(&[profile(Some(10), 12), profile(Some(5), 28)]),
            Some((day(10), day(28)))
        );
    }

    #[test]
    fn a_shared_mail_needs_the_same_given_name() {
        let settings = DuplicateSettings {
            match_on: vec![DuplicateMatch::PersonalMail],
            ..DuplicateSettings::default()
        };
        let new = record("Paul", "Martin", "famille.martin@example.org");
        let brother = on_record("x", "Pierre", "famille.martin@example.org");
        assert_eq!(same_person(&settings, &new, &brother), None);
        let married = on_record("x", "Paul", "famille.martin@example.org");
        assert_eq!(
            same_person(&settings, &new, &married),
            Some(DuplicateMatch::PersonalMail)
        );
        let off = DuplicateSettings::default();
        assert!(!off.enabled());
        assert_eq!(same_person(&off, &new, &married), None);
    }
}
