//! Logins and institutional mail local parts written as templates, so that
//! a university whose logins are not one of the three built-in schemes
//! configures its own: name parts folded as every login is
//! (`{given}`, `{family}`, their `_compact` forms without hyphens, each cut
//! with `:N`), numbers from the record (`{student_number}`, `{hr_id}`),
//! fixed text, and a sequence number for namesakes at the end (`{seq:3}`:
//! `001`, `002`…; `{seq?}`: nothing, then `2`, `3`…). `jmartin001` is
//! `{given_compact:1}{family_compact:20}{seq:3}`, `22012345T`
//! `{student_number}t`, and `jane.doe@…`'s local part `{given}.{family}{seq?}`.

use serde::{Deserialize, Serialize};

use crate::account::AccountKind;
use crate::login::{LoginError, NameParts, fold_name};

/// The longest login or local part a template may make (a mail local part
/// has at most 64 characters; the sequence takes up to 10).
const MAX_STEM: usize = 54;

/// A template, parsed when the configuration is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NameTemplate {
    written: String,
    parts: Vec<Part>,
    sequence: Sequence,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Given { compact: bool, max: Option<usize> },
    Family { compact: bool, max: Option<usize> },
    StudentNumber,
    HrId,
}

/// How namesakes are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sequence {
    /// No number: one candidate only (the record's number makes it unique).
    None,
    /// Always a number of this many digits, from 1.
    Padded(u8),
    /// The first without a number, then 2, 3…
    AfterFirst,
}

impl TryFrom<String> for NameTemplate {
    type Error = String;

    fn try_from(written: String) -> Result<Self, String> {
        let (parts, sequence) = parse(&written)?;
        Ok(NameTemplate {
            written,
            parts,
            sequence,
        })
    }
}

impl From<NameTemplate> for String {
    fn from(template: NameTemplate) -> String {
        template.written
    }
}

fn parse(written: &str) -> Result<(Vec<Part>, Sequence), String> {
    let mut parts = Vec::new();
    let mut sequence = None;
    let mut rest = written;
    while !rest.is_empty() {
        if sequence.is_some() {
            return Err("{seq} comes last".into());
        }
        if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').ok_or("a { is not closed")?;
            let (placeholder, after) = (&inner[..end], &inner[end + 1..]);
            match placeholder_of(placeholder)? {
                Placeholder::Part(part) => parts.push(part),
                Placeholder::Sequence(s) => sequence = Some(s),
            }
            rest = after;
        } else {
            let end = rest.find('{').unwrap_or(rest.len());
            let text = &rest[..end];
            if !text.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')
            }) {
                return Err(format!(
                    "fixed text {text:?} may hold only a-z, 0-9, '.', '-' and '_'"
                ));
            }
            parts.push(Part::Text(text.to_owned()));
            rest = &rest[end..];
        }
    }
    if !parts.iter().any(|p| !matches!(p, Part::Text(_))) {
        return Err("needs a name part or a number of the record".into());
    }
    Ok((parts, sequence.unwrap_or(Sequence::None)))
}

enum Placeholder {
    Part(Part),
    Sequence(Sequence),
}

fn placeholder_of(written: &str) -> Result<Placeholder, String> {
    let (name, width) = match written.split_once(':') {
        Some((name, width)) => {
            let width: usize = width
                .parse()
                .map_err(|_| format!("{{{written}}}: the length after ':' is a number"))?;
            (name, Some(width))
        }
        None => (written, None),
    };
    let cut = |max: Option<usize>| match max {
        Some(n) if !(1..=MAX_STEM).contains(&n) => {
            Err(format!("{{{written}}}: a length between 1 and {MAX_STEM}"))
        }
        _ => Ok(max),
    };
    let part = match name {
        "given" => Part::Given {
            compact: false,
            max: cut(width)?,
        },
        "given_compact" => Part::Given {
            compact: true,
            max: cut(width)?,
        },
        "family" => Part::Family {
            compact: false,
            max: cut(width)?,
        },
        "family_compact" => Part::Family {
            compact: true,
            max: cut(width)?,
        },
        "student_number" if width.is_none() => Part::StudentNumber,
        "hr_id" if width.is_none() => Part::HrId,
        "seq" => {
            return match width {
                Some(d @ 1..=6) => Ok(Placeholder::Sequence(Sequence::Padded(d as u8))),
                Some(_) => Err("{seq:N}: N between 1 and 6".into()),
                None => Ok(Placeholder::Sequence(Sequence::Padded(1))),
            };
        }
        "seq?" if width.is_none() => return Ok(Placeholder::Sequence(Sequence::AfterFirst)),
        _ => {
            return Err(format!(
                "{{{written}}} is none of given, family, given_compact, family_compact \
                 (each with an optional :N), student_number, hr_id, seq, seq:N, seq?"
            ));
        }
    };
    Ok(Placeholder::Part(part))
}

impl NameTemplate {
    /// Problems of this template for a profile of `kind`.
    pub fn problems(&self, kind: AccountKind) -> Vec<String> {
        let mut problems = Vec::new();
        let has = |wanted: &Part| self.parts.iter().any(|p| p == wanted);
        if has(&Part::StudentNumber) && kind != AccountKind::Student {
            problems.push("{student_number} is on students' records only".to_owned());
        }
        if has(&Part::HrId) && kind != AccountKind::Staff {
            problems.push("{hr_id} is on staff records only".to_owned());
        }
        if self.sequence == Sequence::None && !has(&Part::StudentNumber) && !has(&Part::HrId) {
            problems.push(
                "namesakes need a {seq} at the end, unless a number of the record is in it"
                    .to_owned(),
            );
        }
        problems
    }

    /// What every candidate starts with.
    pub fn stem(&self, names: &NameParts<'_>) -> Result<String, LoginError> {
        let mut stem = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => stem.push_str(text),
                Part::Given { compact, max } => {
                    stem.push_str(&name_part(names.given_name, *compact, *max)?);
                }
                Part::Family { compact, max } => {
                    stem.push_str(&name_part(names.family_name, *compact, *max)?);
                }
                Part::StudentNumber => {
                    stem.push_str(names.student_number.ok_or(LoginError::NoStudentNumber)?);
                }
                Part::HrId => {
                    let id = names.hr_id.ok_or(LoginError::NoHrId)?;
                    stem.push_str(&id.to_ascii_lowercase());
                }
            }
        }
        Ok(stem.chars().take(MAX_STEM).collect())
    }

    /// Candidate `attempt` (0-based); `None` once the sequence is spent.
    pub fn candidate(&self, stem: &str, attempt: u32) -> Option<String> {
        match self.sequence {
            Sequence::None => (attempt == 0).then(|| stem.to_owned()),
            Sequence::Padded(digits) => {
                let n = u64::from(attempt) + 1;
                let width = usize::from(digits);
                (n < 10u64.pow(u32::from(digits))).then(|| format!("{stem}{n:0width$}"))
            }
            Sequence::AfterFirst => Some(match attempt {
                0 => stem.to_owned(),
                n => format!("{stem}{}", u64::from(n) + 1),
            }),
        }
    }
}

/// A name folded as logins fold them, without hyphens when `compact`, cut
/// to `max` characters.
fn name_part(name: &str, compact: bool, max: Option<usize>) -> Result<String, LoginError> {
    let folded = fold_name(name);
    let folded = if compact {
        folded.replace('-', "")
    } else {
        folded
    };
    let cut: String = folded.chars().take(max.unwrap_or(usize::MAX)).collect();
    let cut = cut.trim_end_matches('-').to_owned();
    if cut.is_empty() {
        return Err(LoginError::NoLetters);
    }
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::login::LoginScheme;

    fn template(written: &str) -> NameTemplate {
        NameTemplate::try_from(written.to_owned()).expect("a template")
    }

    fn names<'a>(given: &'a str, family: &'a str) -> NameParts<'a> {
        NameParts {
            given_name: given,
            family_name: family,
            student_number: Some("22012345"),
            hr_id: Some("RH-0042"),
        }
    }

    /// The built-in schemes, written as templates, make the same logins.
    #[test]
    fn todays_schemes_are_templates() {
        let people = [
            ("Jean", "Martin"),
            ("Hélène", "D'Argent-Lévy"),
            ("Éloïse", "N'Guessan de La Tour d'Auvergne-Lauraguais"),
        ];
        let sequence = LoginScheme::InitialFamilySequence {
            digits: 3,
            max_family_length: 20,
        };
        let written = template("{given_compact:1}{family_compact:20}{seq:3}");
        let suffix = LoginScheme::StudentNumberSuffix { suffix: "T".into() };
        for (given, family) in people {
            let names = names(given, family);
            let built_in = sequence.stem(&names).expect("stem").expect("a stem");
            let stem = written.stem(&names).expect("stem");
            assert_eq!(stem, built_in);
            for attempt in [0, 1, 998, 999] {
                assert_eq!(
                    written.candidate(&stem, attempt),
                    sequence.candidate(&built_in, attempt)
                );
            }
            let numbered = template("{student_number}t").stem(&names).expect("stem");
            let built_in = suffix.stem(&names).expect("stem").expect("a stem");
            assert_eq!(numbered, built_in.to_lowercase());
        }
        let mail = template("{given}.{family}{seq?}");
        let stem = mail.stem(&names("Jane", "Doe")).expect("stem");
        assert_eq!(
            (0..3)
                .filter_map(|n| mail.candidate(&stem, n))
                .collect::<Vec<_>>(),
            ["jane.doe", "jane.doe2", "jane.doe3"]
        );
    }

    #[test]
    fn record_numbers_and_fixed_text_make_logins_too() {
        let staff = template("p{hr_id}");
        assert_eq!(staff.stem(&names("Jane", "Doe")).expect("stem"), "prh-0042");
        assert!(staff.problems(AccountKind::Staff).is_empty());
        assert!(!staff.problems(AccountKind::Student).is_empty());
        let short = template("{family_compact:8}{given_compact:1}{seq:2}");
        let stem = short.stem(&names("Inès", "Benali-Ouarda")).expect("stem");
        assert_eq!(short.candidate(&stem, 0).as_deref(), Some("benalioui01"));
        assert!(
            !template("{given}.{family}")
                .problems(AccountKind::Student)
                .is_empty()
        );
    }

    #[test]
    fn mistakes_are_told_when_the_configuration_is_read() {
        for wrong in [
            "{given}.{family",
            "{seq:3}{family}",
            "{nom}",
            "{given:0}",
            "{seq:9}",
            "Jean.{family}",
            "{student_number:4}",
            "fixed",
            "",
        ] {
            assert!(
                NameTemplate::try_from(wrong.to_owned()).is_err(),
                "{wrong:?} accepted"
            );
        }
    }
}
