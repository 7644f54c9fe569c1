//! Login identifiers and institutional mail addresses, built from the
//! person's names by the scheme the profile configures. Names are folded to
//! ASCII (accents dropped), lowercased, apostrophes removed, and spaces
//! turned into hyphens. The store picks the first candidate nobody holds;
//! the database's unique index settles races between concurrent calls.

use serde::{Deserialize, Serialize};

use super::account::AccountKind;
pub use crate::name_template::NameTemplate;

/// How a profile's login identifier is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum LoginScheme {
    /// First letter of the given name, the family name, and a sequence
    /// number: `jmartin001`, then `jmartin002`.
    InitialFamilySequence {
        /// Digits of the sequence number (1 to 6).
        digits: u8,
        /// Longest family-name part kept; longer names are cut.
        #[serde(default = "default_max_family_length")]
        max_family_length: usize,
    },
    /// The institutional mail address is the login (`jane.doe@umontpellier.fr`).
    InstitutionalMail,
    /// The student number followed by a suffix: `22012345T`.
    StudentNumberSuffix {
        /// Text appended to the student number.
        suffix: String,
    },
    /// Written as a template: name parts, record numbers, fixed text and a
    /// sequence number at the end (see [`NameTemplate`]).
    Template { template: NameTemplate },
}

fn default_max_family_length() -> usize {
    20
}

/// How a profile's institutional mail address is built:
/// `prenom.nom@<domain>`, then `prenom.nom2@<domain>` on a collision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailScheme {
    /// The mail domain, for example `etu.umontpellier.fr`.
    pub domain: String,
    /// The local part as a template (`{given:1}.{family}{seq?}`); absent:
    /// `prenom.nom`, then `prenom.nom2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_part: Option<NameTemplate>,
}

/// What a login is built from.
#[derive(Debug, Clone)]
pub struct NameParts<'a> {
    pub given_name: &'a str,
    pub family_name: &'a str,
    pub student_number: Option<&'a str>,
    pub hr_id: Option<&'a str>,
}

/// Folds a name to lowercase ASCII words joined by `-`: `N'Guessan Éloïse`
/// → `nguessan-eloise`.
pub fn fold_name(name: &str) -> String {
    let ascii = deunicode::deunicode(name).to_ascii_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            ' ' | '-' | '_' | '.' if !out.is_empty() && !out.ends_with('-') => out.push('-'),
            // Apostrophes and anything else vanish: d'Artagnan → dartagnan.
            _ => {}
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// The longest mail stem: 64 characters of local part, less the homonym
/// number (`u32` attempts: at most 10 digits).
const MAX_STEM: usize = 54;

/// `text` cut to at most `max` characters (ASCII), without a trailing `-`.
fn cut(text: &str, max: usize) -> &str {
    let cut = &text[..text.len().min(max)];
    cut.trim_end_matches('-')
}

impl MailScheme {
    /// Problems of this scheme's configuration.
    pub fn check(&self) -> Result<(), String> {
        let d = &self.domain;
        let ok = !d.is_empty()
            && d.len() <= 253
            && d.contains('.')
            && d.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            });
        if ok {
            Ok(())
        } else {
            Err(format!("domain {d:?} is not a lowercase DNS name"))
        }
    }

    /// Problems of this scheme for a profile of `kind`.
    pub fn problems(&self, kind: AccountKind) -> Vec<String> {
        let mut problems: Vec<String> = self.check().err().into_iter().collect();
        if let Some(template) = &self.local_part {
            problems.extend(template.problems(kind));
        }
        problems
    }

    /// The local-part stem shared by every candidate: `jane.doe`.
    pub fn stem(&self, names: &NameParts<'_>) -> Option<String> {
        if let Some(template) = &self.local_part {
            return template.stem(names).ok();
        }
        let given = fold_name(names.given_name);
        let family = fold_name(names.family_name);
        if given.is_empty() || family.is_empty() {
            return None;
        }
        // A local part has at most 64 characters (RFC 5321); the number of
        // a homonym takes up to ten. Very long names are cut, the family
        // name keeping at least half.
        let given = cut(&given, MAX_STEM / 2 - 1);
        let family = cut(&family, MAX_STEM - 1 - given.len());
        Some(format!("{given}.{family}"))
    }

    /// Candidate `attempt` (0-based): `jane.doe@d`, `jane.doe2@d`, ...;
    /// `None` once a template's sequence is spent.
    pub fn candidate(&self, stem: &str, attempt: u32) -> Option<String> {
        if let Some(template) = &self.local_part {
            return template
                .candidate(stem, attempt)
                .map(|local| format!("{local}@{}", self.domain));
        }
        Some(match attempt {
            0 => format!("{stem}@{}", self.domain),
            n => format!("{stem}{}@{}", u64::from(n) + 1, self.domain),
        })
    }
}

/// Why no login can be built for a person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("the names give no letters to build a login from")]
    NoLetters,
    #[error("the scheme needs a student number")]
    NoStudentNumber,
    #[error("the scheme needs an institutional mail address")]
    NoMailScheme,
    #[error("the scheme needs an HR id")]
    NoHrId,
}

impl LoginScheme {
    /// Problems of this scheme's configuration for a profile of `kind`.
    pub fn problems(&self, kind: AccountKind, has_mail_scheme: bool) -> Vec<String> {
        let mut problems = Vec::new();
        match self {
            LoginScheme::InitialFamilySequence {
                digits,
                max_family_length,
            } => {
                if !(1..=6).contains(digits) {
                    problems.push("digits must be between 1 and 6".to_owned());
                }
                if !(2..=64).contains(max_family_length) {
                    problems.push("max_family_length must be between 2 and 64".to_owned());
                }
            }
            LoginScheme::InstitutionalMail => {
                if !has_mail_scheme {
                    problems.push(
                        "scheme institutional_mail needs the profile's institutional_mail"
                            .to_owned(),
                    );
                }
            }
            LoginScheme::StudentNumberSuffix { suffix } => {
                if kind != AccountKind::Student {
                    problems.push("scheme student_number_suffix is for students only".to_owned());
                }
                if suffix.len() > 8 || !suffix.chars().all(|c| c.is_ascii_alphanumeric()) {
                    problems.push("suffix has at most 8 letters or digits".to_owned());
                }
            }
            LoginScheme::Template { template } => problems.extend(template.problems(kind)),
        }
        problems
    }

    /// The stem every candidate starts with (used to find the ones taken),
    /// or `None` when the login is the institutional mail.
    pub fn stem(&self, names: &NameParts<'_>) -> Result<Option<String>, LoginError> {
        match self {
            LoginScheme::InitialFamilySequence {
                max_family_length, ..
            } => {
                let given = fold_name(names.given_name).replace('-', "");
                let family: String = fold_name(names.family_name)
                    .replace('-', "")
                    .chars()
                    .take(*max_family_length)
                    .collect();
                let initial = given.chars().next().ok_or(LoginError::NoLetters)?;
                if family.is_empty() {
                    return Err(LoginError::NoLetters);
                }
                Ok(Some(format!("{initial}{family}")))
            }
            LoginScheme::InstitutionalMail => Ok(None),
            LoginScheme::StudentNumberSuffix { suffix } => {
                let number = names.student_number.ok_or(LoginError::NoStudentNumber)?;
                Ok(Some(format!("{number}{suffix}")))
            }
            LoginScheme::Template { template } => template.stem(names).map(Some),
        }
    }

    /// Candidate `attempt` (0-based) from `stem`; `None` when the scheme has
    /// no more (sequence exhausted, or a scheme with one candidate only).
    pub fn candidate(&self, stem: &str, attempt: u32) -> Option<String> {
        match self {
            LoginScheme::InitialFamilySequence { digits, .. } => {
                let n = u64::from(attempt) + 1;
                let width = usize::from(*digits);
                (n < 10u64.pow(u32::from(*digits))).then(|| format!("{stem}{n:0width$}"))
            }
            LoginScheme::InstitutionalMail => None,
            LoginScheme::StudentNumberSuffix { .. } => (attempt == 0).then(|| stem.to_owned()),
            LoginScheme::Template { template } => template.candidate(stem, attempt),
        }
    }
}

/// The first candidate for which `taken` is false, trying at most `limit`.
pub fn first_free(
    mut candidate: impl FnMut(u32) -> Option<String>,
    taken: impl Fn(&str) -> bool,
    limit: u32,
) -> Option<String> {
    (0..limit)
        .map_while(&mut candidate)
        .find(|c| !taken(&c.to_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn very_long_names_still_give_valid_mail_addresses() {
        let scheme = MailScheme {
            domain: "umontpellier.fr".into(),
            local_part: None,
        };
        let given = "Marie-Thérèse Léocadie Amélie Joséphine";
        let family = "de La Tour d'Auvergne-Lauraguais-Montmorency-Laval";
        let stem = scheme.stem(&names(given, family)).expect("stem");
        assert!(stem.len() <= MAX_STEM, "{stem}");
        assert!(stem.starts_with("marie-therese-leocadie-ame"), "{stem}");
        assert!(stem.contains(".de-la-tour-dauvergne"), "{stem}");
        let last = scheme.candidate(&stem, u32::MAX).expect("a candidate");
        let local = last.split('@').next().expect("local part");
        assert!(local.len() <= 64, "{last}");
    }

    fn names<'a>(given: &'a str, family: &'a str) -> NameParts<'a> {
        NameParts {
            given_name: given,
            family_name: family,
            student_number: Some("22012345"),
            hr_id: None,
        }
    }

    #[test]
    fn folding_removes_accents_apostrophes_and_case() {
        assert_eq!(fold_name("Éloïse"), "eloise");
        assert_eq!(fold_name("N'Guessan"), "nguessan");
        assert_eq!(fold_name("De La  Fontaine"), "de-la-fontaine");
        assert_eq!(fold_name("Jean-Pierre"), "jean-pierre");
        assert_eq!(fold_name("Ødegård"), "odegard");
        assert_eq!(fold_name("'''"), "");
    }

    #[test]
    fn initial_family_sequence() {
        let scheme = LoginScheme::InitialFamilySequence {
            digits: 3,
            max_family_length: 20,
        };
        let stem = scheme.stem(&names("Jean", "Martin")).unwrap().unwrap();
        assert_eq!(stem, "jmartin");
        assert_eq!(scheme.candidate(&stem, 0).unwrap(), "jmartin001");
        assert_eq!(scheme.candidate(&stem, 41).unwrap(), "jmartin042");
        assert_eq!(scheme.candidate(&stem, 998).unwrap(), "jmartin999");
        assert_eq!(scheme.candidate(&stem, 999), None);
        let stem = scheme
            .stem(&names("Élodie", "Le Bihan-D'Arc"))
            .unwrap()
            .unwrap();
        assert_eq!(stem, "elebihandarc");
        assert_eq!(
            scheme.stem(&names("'", "Martin")),
            Err(LoginError::NoLetters)
        );
    }

    #[test]
    fn mail_scheme_with_collision_suffix() {
        let scheme = MailScheme {
            domain: "etu.umontpellier.fr".into(),
            local_part: None,
        };
        let stem = scheme.stem(&names("Jane", "Doe")).unwrap();
        assert_eq!(
            scheme.candidate(&stem, 0).as_deref(),
            Some("jane.doe@etu.umontpellier.fr")
        );
        assert_eq!(
            scheme.candidate(&stem, 1).as_deref(),
            Some("jane.doe2@etu.umontpellier.fr")
        );
        let stem = scheme.stem(&names("Hélène", "D'Argent")).unwrap();
        assert_eq!(stem, "helene.dargent");
        assert!(scheme.check().is_ok());
        assert!(
            MailScheme {
                domain: "Bad Domain".into(),
                local_part: None,
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn student_number_suffix() {
        let scheme = LoginScheme::StudentNumberSuffix { suffix: "T".into() };
        let stem = scheme.stem(&names("A", "B")).unwrap().unwrap();
        assert_eq!(scheme.candidate(&stem, 0).unwrap(), "22012345T");
        assert_eq!(scheme.candidate(&stem, 1), None);
    }

    #[test]
    fn first_free_skips_taken() {
        let scheme = LoginScheme::InitialFamilySequence {
            digits: 3,
            max_family_length: 20,
        };
        let taken = ["jmartin001", "jmartin002"];
        let got = first_free(
            |n| scheme.candidate("jmartin", n),
            |c| taken.contains(&c),
            1000,
        );
        assert_eq!(got.as_deref(), Some("jmartin003"));
    }
}
