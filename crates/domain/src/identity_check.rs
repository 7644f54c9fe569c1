//! Identity checks as each institution configures them: the attributes of
//! the provisioned record a person types to be recognised before a code
//! is sent to them. Tours asks for the student number, the INE and the
//! mobile phone ("saisissez les informations de votre inscription, un code
//! d'activation vous sera envoyé par SMS et par mail"); others ask a staff
//! member for the HR number, the birth date and the family name. Every
//! attribute is normalised by its parse-once type before it is compared,
//! and a mismatch never says which attribute was wrong.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::account::{Account, AccountKind};
use crate::helpdesk::family_name_matches;
use crate::ids::{HrId, Ine, MailAddress, PhoneE164, StudentNumber};

/// One attribute of the record a person types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityAttribute {
    StudentNumber,
    Ine,
    HrId,
    BirthDate,
    FamilyName,
    MobilePhone,
    PersonalMail,
}

impl IdentityAttribute {
    pub const ALL: [IdentityAttribute; 7] = [
        IdentityAttribute::StudentNumber,
        IdentityAttribute::Ine,
        IdentityAttribute::HrId,
        IdentityAttribute::BirthDate,
        IdentityAttribute::FamilyName,
        IdentityAttribute::MobilePhone,
        IdentityAttribute::PersonalMail,
    ];

    /// As the configuration writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityAttribute::StudentNumber => "student_number",
            IdentityAttribute::Ine => "ine",
            IdentityAttribute::HrId => "hr_id",
            IdentityAttribute::BirthDate => "birth_date",
            IdentityAttribute::FamilyName => "family_name",
            IdentityAttribute::MobilePhone => "mobile_phone",
            IdentityAttribute::PersonalMail => "personal_mail",
        }
    }

    /// Whether it names one record of the institution, and so finds it.
    pub fn locates(self) -> bool {
        matches!(
            self,
            IdentityAttribute::StudentNumber | IdentityAttribute::Ine | IdentityAttribute::HrId
        )
    }

    /// Whether the record holds it for accounts of `kind` (a student
    /// number and an INE are students', an HR id staff's; guests have
    /// none of them).
    pub fn held_by(self, kind: AccountKind) -> bool {
        match self {
            IdentityAttribute::StudentNumber | IdentityAttribute::Ine => {
                kind == AccountKind::Student
            }
            IdentityAttribute::HrId => kind == AccountKind::Staff,
            _ => true,
        }
    }
}

/// Tours' check, which identity matches meant before they were configured.
pub fn default_identity_check() -> Vec<IdentityAttribute> {
    vec![
        IdentityAttribute::StudentNumber,
        IdentityAttribute::Ine,
        IdentityAttribute::MobilePhone,
    ]
}

/// Why an identity check cannot be configured as written; `code_to_set`
/// says whether the profile names where its code goes (else it goes to
/// the phone or address the check compares).
pub fn check_problems(
    check: &[IdentityAttribute],
    kind: AccountKind,
    code_to_set: bool,
) -> Vec<String> {
    let mut problems = attribute_problems(check, kind);
    if !check.iter().any(|a| a.locates() && a.held_by(kind)) {
        problems.push(
            match kind {
                AccountKind::Student => {
                    "needs the student number or the INE, which find the record"
                }
                AccountKind::Staff => "needs the HR id, which finds the record",
                AccountKind::Guest => {
                    "guests have no identifier to check: they come by mailed link"
                }
            }
            .to_owned(),
        );
    }
    if check.len() < 2 {
        // An identifier alone is printed on cards and lists: anyone who
        // read it could have the code sent.
        problems.push("needs at least two attributes: an identifier alone proves nothing".into());
    }
    if !code_to_set
        && !check.iter().any(|a| {
            matches!(
                a,
                IdentityAttribute::MobilePhone | IdentityAttribute::PersonalMail
            )
        })
    {
        // Without `code_to`, the code goes to the phone and address on
        // record: the check must make the record hold one.
        problems
            .push("needs mobile_phone or personal_mail, where the code is sent, or code_to".into());
    }
    problems
}

/// Why an identity check after the entry cannot be configured as written:
/// each attribute once and on the profile's records, and not after an
/// identity match (which already checks its own).
pub fn after_entry_problems(
    check: &[IdentityAttribute],
    kind: AccountKind,
    identity_match: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    if check.is_empty() {
        return problems;
    }
    if identity_match {
        problems.push(
            "an identity match checks identity_check already: list the attributes there".into(),
        );
    }
    problems.extend(attribute_problems(check, kind));
    problems
}

/// Attributes listed twice, and attributes a record of `kind` lacks.
fn attribute_problems(check: &[IdentityAttribute], kind: AccountKind) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for attribute in check {
        if !seen.insert(*attribute) {
            problems.push(format!("{} is listed twice", attribute.as_str()));
        }
        if !attribute.held_by(kind) {
            problems.push(format!(
                "{} is not on a {} record",
                attribute.as_str(),
                kind.as_str()
            ));
        }
    }
    problems
}

/// The attributes of a provisioned record an identity check compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdentityOnRecord<'a> {
    pub student_number: Option<&'a str>,
    pub ine: Option<&'a str>,
    pub hr_id: Option<&'a str>,
    pub birth_date: Option<NaiveDate>,
    pub family_name: &'a str,
    pub mobile_phone: Option<&'a str>,
    pub personal_mail: Option<&'a str>,
}

impl<'a> From<&'a Account> for IdentityOnRecord<'a> {
    fn from(account: &'a Account) -> Self {
        IdentityOnRecord {
            student_number: account.student_number.as_deref(),
            ine: account.ine.as_deref(),
            hr_id: account.hr_id.as_deref(),
            birth_date: account.birth_date,
            family_name: &account.family_name,
            mobile_phone: account.mobile_phone.as_deref(),
            personal_mail: account.personal_mail.as_deref(),
        }
    }
}

/// What a person typed, each attribute parsed once (absent: not typed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypedIdentity {
    pub student_number: Option<StudentNumber>,
    pub ine: Option<Ine>,
    pub hr_id: Option<HrId>,
    pub birth_date: Option<NaiveDate>,
    pub family_name: Option<String>,
    pub mobile_phone: Option<PhoneE164>,
    pub personal_mail: Option<MailAddress>,
}

/// The typed attribute that finds the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator<'a> {
    StudentNumber(&'a str),
    Ine(&'a str),
    HrId(&'a str),
}

impl TypedIdentity {
    /// The attributes typed.
    pub fn attributes(&self) -> Vec<IdentityAttribute> {
        use IdentityAttribute as A;
        [
            (A::StudentNumber, self.student_number.is_some()),
            (A::Ine, self.ine.is_some()),
            (A::HrId, self.hr_id.is_some()),
            (A::BirthDate, self.birth_date.is_some()),
            (A::FamilyName, self.family_name.is_some()),
            (A::MobilePhone, self.mobile_phone.is_some()),
            (A::PersonalMail, self.personal_mail.is_some()),
        ]
        .into_iter()
        .filter_map(|(attribute, typed)| typed.then_some(attribute))
        .collect()
    }

    /// What finds the record: the student number, else the INE, else the
    /// HR id.
    pub fn locator(&self) -> Option<Locator<'_>> {
        if let Some(number) = &self.student_number {
            return Some(Locator::StudentNumber(number.as_str()));
        }
        if let Some(ine) = &self.ine {
            return Some(Locator::Ine(ine.as_str()));
        }
        self.hr_id.as_ref().map(|id| Locator::HrId(id.as_str()))
    }

    /// Whether the record is the person its profile's `check` asks for:
    /// exactly the attributes of the check typed, each equal to the
    /// record's.
    pub fn matches(&self, check: &[IdentityAttribute], record: IdentityOnRecord<'_>) -> bool {
        let mut typed = self.attributes();
        let mut wanted = check.to_vec();
        typed.sort();
        wanted.sort();
        typed == wanted && check.iter().all(|a| self.same(*a, record))
    }

    fn same(&self, attribute: IdentityAttribute, record: IdentityOnRecord<'_>) -> bool {
        let text = |typed: Option<&str>, record: Option<&str>| typed.is_some() && typed == record;
        match attribute {
            IdentityAttribute::StudentNumber => text(
                self.student_number.as_ref().map(StudentNumber::as_str),
                record.student_number,
            ),
            IdentityAttribute::Ine => text(self.ine.as_ref().map(Ine::as_str), record.ine),
            IdentityAttribute::HrId => self
                .hr_id
                .as_ref()
                .zip(record.hr_id)
                .is_some_and(|(typed, record)| typed.as_str().eq_ignore_ascii_case(record)),
            IdentityAttribute::BirthDate => {
                self.birth_date.is_some() && self.birth_date == record.birth_date
            }
            IdentityAttribute::FamilyName => self
                .family_name
                .as_deref()
                .is_some_and(|typed| family_name_matches(record.family_name, typed)),
            IdentityAttribute::MobilePhone => text(
                self.mobile_phone.as_ref().map(PhoneE164::as_str),
                record.mobile_phone,
            ),
            IdentityAttribute::PersonalMail => self
                .personal_mail
                .as_ref()
                .zip(record.personal_mail)
                .is_some_and(|(typed, record)| typed.as_str().eq_ignore_ascii_case(record)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdentityAttribute as A;

    fn tours_student() -> IdentityOnRecord<'static> {
        IdentityOnRecord {
            student_number: Some("22012345"),
            ine: Some("2345678901E"),
            hr_id: None,
            birth_date: NaiveDate::from_ymd_opt(2007, 3, 2),
            family_name: "N'Guessan-Éloïse",
            mobile_phone: Some("+33788102599"),
            personal_mail: Some("Lea.Dubois@example.org"),
        }
    }

    fn typed() -> TypedIdentity {
        TypedIdentity {
            student_number: Some(StudentNumber::parse("22012345", Some(8)).expect("number")),
            ine: Some(Ine::parse("2345678901e").expect("ine")),
            mobile_phone: Some(PhoneE164::parse("07 88 10 25 99", "FR").expect("phone")),
            ..TypedIdentity::default()
        }
    }

    #[test]
    fn every_attribute_of_the_check_must_be_the_records() {
        let account = tours_student();
        assert!(typed().matches(&default_identity_check(), account));
        let mut wrong_phone = typed();
        wrong_phone.mobile_phone = Some(PhoneE164::parse("0612345678", "FR").expect("phone"));
        assert!(!wrong_phone.matches(&default_identity_check(), account));
        // What the check does not ask for is not typed, and what it asks
        // for is.
        let mut more = typed();
        more.birth_date = NaiveDate::from_ymd_opt(2007, 3, 2);
        assert!(!more.matches(&default_identity_check(), account));
        let mut less = typed();
        less.ine = None;
        assert!(!less.matches(&default_identity_check(), account));
    }

    #[test]
    fn names_mails_and_hr_ids_compare_as_people_type_them() {
        let account = IdentityOnRecord {
            student_number: None,
            ine: None,
            hr_id: Some("RH-0042"),
            ..tours_student()
        };
        let check = [A::HrId, A::BirthDate, A::FamilyName, A::PersonalMail];
        let typed = TypedIdentity {
            hr_id: Some(HrId::parse(" rh-0042 ").expect("hr id")),
            birth_date: NaiveDate::from_ymd_opt(2007, 3, 2),
            family_name: Some("nguessan eloise".into()),
            personal_mail: Some(MailAddress::parse("lea.dubois@EXAMPLE.org").expect("mail")),
            ..TypedIdentity::default()
        };
        assert!(typed.matches(&check, account));
        assert_eq!(typed.locator(), Some(Locator::HrId("rh-0042")));
        let other_day = TypedIdentity {
            birth_date: NaiveDate::from_ymd_opt(2007, 3, 3),
            ..typed.clone()
        };
        assert!(!other_day.matches(&check, account));
    }

    #[test]
    fn a_check_finds_the_record_and_reaches_the_person() {
        use AccountKind::{Staff, Student};
        let problems = |check: &[IdentityAttribute], kind| check_problems(check, kind, false);
        assert!(problems(&default_identity_check(), Student).is_empty());
        assert!(problems(&[A::HrId, A::BirthDate, A::PersonalMail], Staff).is_empty());
        assert!(!problems(&[A::BirthDate, A::MobilePhone], Student).is_empty());
        assert!(!problems(&[A::StudentNumber, A::MobilePhone], Staff).is_empty());
        assert!(!problems(&[A::StudentNumber], Student).is_empty());
        assert!(!problems(&[A::StudentNumber, A::BirthDate], Student).is_empty());
        assert!(!problems(&[A::Ine, A::Ine, A::MobilePhone], Student).is_empty());
        // Where code_to says where the code goes, the check need not.
        assert!(check_problems(&[A::StudentNumber, A::BirthDate], Student, true).is_empty());
    }
}
