//! Consents an institution configures itself, beyond the three the
//! service knows (directory, photo, Crous): SMS from the university, the
//! Crous or the city, the photo published in other places... Each item has
//! its words in both languages, its choices (one, or several that
//! combine), whether a refusal is final, whether a consent given can be
//! withdrawn from the account page and what the person is told then, and
//! the `supannConsentement` values each choice puts in the directory.
//! A person's answers are kept with the item's version and the time they
//! were given.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::consent::Localized;
use crate::problem::{Problem, Violation};

/// One consent item, as configured under `consents.<code>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentItem {
    /// What the person is asked.
    pub label: Localized,
    /// What they should know to answer (who receives what, for what).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Localized>,
    /// The answers offered, in the order shown.
    pub choices: Vec<ConsentChoiceSettings>,
    /// Several choices that are not refusals may be chosen together (the
    /// places a photo may appear); otherwise exactly one.
    #[serde(default)]
    pub multiple: bool,
    /// A refusal, once recorded, cannot be changed (Bordeaux Montaigne's
    /// photo: "cette opération est irréversible").
    #[serde(default)]
    pub refusal_final: bool,
    /// A consent given may be taken back from the account page.
    #[serde(default = "withdrawable_by_default")]
    pub withdrawable: bool,
    /// What the person is told when taking a consent back (what was
    /// already shared stays shared...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdraw_caveat: Option<Localized>,
    /// The wording's version, recorded with each answer: a new version
    /// tells which answers were given to which words.
    #[serde(default = "first_version")]
    pub version: String,
}

fn withdrawable_by_default() -> bool {
    true
}
fn first_version() -> String {
    "1".to_owned()
}

/// One answer offered for a consent item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentChoiceSettings {
    /// What a client sends for it (`a-z`, `0-9`, `_`).
    pub code: String,
    pub label: Localized,
    /// What the person must know before choosing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caveat: Option<Localized>,
    /// Choosing it refuses the item: it is chosen alone, and it is what
    /// `refusal_final` makes final.
    #[serde(default)]
    pub refusal: bool,
    /// `supannConsentement` values the directory holds while the choice
    /// stands (`{SMS}UNIVERSITE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ldap: Vec<String>,
}

impl ConsentItem {
    pub fn choice(&self, code: &str) -> Option<&ConsentChoiceSettings> {
        self.choices.iter().find(|c| c.code == code)
    }

    /// Whether `choices` (known codes) refuse the item.
    pub fn refuses(&self, choices: &BTreeSet<String>) -> bool {
        choices
            .iter()
            .any(|c| self.choice(c).is_some_and(|c| c.refusal))
    }

    /// The codes of its refusal choices.
    pub fn refusal_codes(&self) -> Vec<&str> {
        let refusals = self.choices.iter().filter(|c| c.refusal);
        refusals.map(|c| c.code.as_str()).collect()
    }
}

/// Codes of items and choices: they appear in requests and field names.
pub fn is_consent_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `{DOMAIN}VALUE`, the shape SupAnn gives `supannConsentement`.
pub(crate) fn is_supann_consent(value: &str) -> bool {
    let Some(rest) = value.strip_prefix('{') else {
        return false;
    };
    let Some((domain, value)) = rest.split_once('}') else {
        return false;
    };
    let printable = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic());
    printable(domain) && printable(value) && !domain.contains(['{', '}'])
}

/// A person's answer to one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentAnswer {
    /// The codes chosen.
    pub choices: BTreeSet<String>,
    /// The item's version when the answer was given.
    pub version: String,
    pub at: DateTime<Utc>,
}

/// Answers by item code.
pub type ConsentAnswers = BTreeMap<String, ConsentAnswer>;

/// Answers as a request carries them: item code → choice codes.
pub type ConsentInput = BTreeMap<String, Vec<String>>;

/// The items a profile asks, in order, with their codes.
pub type Offered<'a> = [(&'a str, &'a ConsentItem)];

/// The field a violation about `item` names.
pub fn field_of(item: &str) -> String {
    format!("consents.{item}")
}

/// Every problem of `input` against the `offered` items; `whole`: every
/// offered item must be answered (an activation screen). `current` holds
/// the answers already recorded, which a final refusal keeps.
pub fn input_problems(
    offered: &Offered<'_>,
    input: &ConsentInput,
    current: &ConsentAnswers,
    whole: bool,
) -> Vec<Violation> {
    let mut problems = Vec::new();
    for code in input.keys() {
        if !offered.iter().any(|(c, _)| c == code) {
            problems.push(Violation::new(field_of(code), Problem::ConsentNotCollected));
        }
    }
    for (code, item) in offered {
        match input.get(*code) {
            Some(chosen) => {
                if let Some(problem) = choice_problem(item, chosen, current.get(*code)) {
                    problems.push(Violation::new(field_of(code), problem));
                }
            }
            None if whole => problems.push(Violation::new(field_of(code), Problem::Missing)),
            None => {}
        }
    }
    problems
}

/// What is wrong with the choices of one item, if anything.
fn choice_problem(
    item: &ConsentItem,
    chosen: &[String],
    current: Option<&ConsentAnswer>,
) -> Option<Problem> {
    if chosen.is_empty() {
        return Some(Problem::Missing);
    }
    if chosen.iter().any(|c| item.choice(c).is_none()) {
        return Some(Problem::UnknownValue);
    }
    let set: BTreeSet<String> = chosen.iter().cloned().collect();
    if set.len() > 1 && item.refuses(&set) {
        return Some(Problem::RefusalWithOthers);
    }
    if set.len() > 1 && !item.multiple {
        return Some(Problem::OneChoiceOnly);
    }
    let refused = current.is_some_and(|a| item.refuses(&a.choices));
    if item.refusal_final && refused && current.is_some_and(|a| a.choices != set) {
        return Some(Problem::RefusedForGood);
    }
    None
}

/// Why a change from the account page is refused though its input is
/// well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentItemError {
    /// A consent given cannot be taken back here.
    #[error("this consent cannot be withdrawn once given")]
    NotWithdrawable(String),
    /// A refusal that is final.
    #[error("this refusal is final")]
    RefusedForGood(String),
}

/// Whether the account page may change `current` as `input` says: a
/// final refusal stays, and no consent given is taken back from an item
/// that is not withdrawable.
pub fn change_allowed(
    offered: &Offered<'_>,
    current: &ConsentAnswers,
    input: &ConsentInput,
) -> Result<(), ConsentItemError> {
    for (code, item) in offered {
        if let (Some(chosen), Some(before)) = (input.get(*code), current.get(*code)) {
            let after: BTreeSet<String> = chosen.iter().cloned().collect();
            withdrawal_allowed(code, item, &before.choices, &after)?;
        }
    }
    Ok(())
}

/// The answers after `input` (checked by [`input_problems`], and on the
/// account page by [`change_allowed`]), and the items whose answer
/// changed.
pub fn record(
    offered: &Offered<'_>,
    current: &ConsentAnswers,
    input: &ConsentInput,
    now: DateTime<Utc>,
) -> (ConsentAnswers, Vec<String>) {
    let mut next = current.clone();
    let mut changed = Vec::new();
    for (code, item) in offered {
        let Some(chosen) = input.get(*code) else {
            continue;
        };
        let set: BTreeSet<String> = chosen.iter().cloned().collect();
        let before = current.get(*code);
        if before.is_some_and(|a| a.choices == set) {
            continue;
        }
        next.insert(
            (*code).to_owned(),
            ConsentAnswer {
                choices: set,
                version: item.version.clone(),
                at: now,
            },
        );
        changed.push((*code).to_owned());
    }
    (next, changed)
}

/// Whether going from `before` to `after` is allowed: a final refusal
/// stays, and an item that is not withdrawable keeps every consent given.
fn withdrawal_allowed(
    code: &str,
    item: &ConsentItem,
    before: &BTreeSet<String>,
    after: &BTreeSet<String>,
) -> Result<(), ConsentItemError> {
    if item.refusal_final && item.refuses(before) {
        return Err(ConsentItemError::RefusedForGood(code.to_owned()));
    }
    let given = |set: &BTreeSet<String>| -> BTreeSet<String> {
        let consents = set.iter().filter(|c| !item.refuses(&[(*c).clone()].into()));
        consents.cloned().collect()
    };
    if !item.withdrawable && !given(before).is_subset(&given(after)) {
        return Err(ConsentItemError::NotWithdrawable(code.to_owned()));
    }
    Ok(())
}

/// Whether the answer to an item takes back a consent given before (the
/// withdrawal caveat applies).
pub fn withdraws(item: &ConsentItem, before: &BTreeSet<String>, after: &BTreeSet<String>) -> bool {
    before
        .iter()
        .any(|c| !after.contains(c) && item.choice(c).is_some_and(|c| !c.refusal))
}

/// The `supannConsentement` values `answers` put in the directory, with
/// the institution's items; an answer to an item since removed from the
/// configuration puts nothing.
pub fn ldap_values(answers: &ConsentAnswers, items: &BTreeMap<String, ConsentItem>) -> Vec<String> {
    let mut values = Vec::new();
    for (code, answer) in answers {
        let Some(item) = items.get(code) else {
            continue;
        };
        for choice in answer.choices.iter().filter_map(|c| item.choice(c)) {
            values.extend(choice.ldap.iter().cloned());
        }
    }
    values.sort();
    values.dedup();
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn words(text: &str) -> Localized {
        Localized {
            fr: text.to_owned(),
            en: text.to_owned(),
        }
    }

    fn choice(code: &str, refusal: bool, ldap: &[&str]) -> ConsentChoiceSettings {
        ConsentChoiceSettings {
            code: code.to_owned(),
            label: words(code),
            caveat: None,
            refusal,
            ldap: ldap.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn sms() -> ConsentItem {
        ConsentItem {
            label: words("SMS de l'université"),
            help: None,
            choices: vec![
                choice("yes", false, &["{SMS}UNIVERSITE"]),
                choice("no", true, &[]),
            ],
            multiple: false,
            refusal_final: false,
            withdrawable: true,
            withdraw_caveat: None,
            version: "2026-09".to_owned(),
        }
    }

    fn places() -> ConsentItem {
        ConsentItem {
            choices: vec![
                choice("site", false, &["{PHOTO}SITE"]),
                choice("press", false, &["{PHOTO}PRESSE"]),
                choice("none", true, &[]),
            ],
            multiple: true,
            refusal_final: true,
            withdrawable: false,
            ..sms()
        }
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 9, 1, hour, 0, 0).unwrap()
    }

    fn input(pairs: &[(&str, &[&str])]) -> ConsentInput {
        let each = pairs.iter().map(|(item, choices)| {
            let choices = choices.iter().map(|c| (*c).to_owned()).collect();
            ((*item).to_owned(), choices)
        });
        each.collect()
    }

    #[test]
    fn an_activation_screen_answers_every_item_once() {
        let (sms, places) = (sms(), places());
        let offered = [("sms", &sms), ("places", &places)];
        let none = ConsentAnswers::new();
        let problems = |pairs: &[(&str, &[&str])]| -> Vec<(String, Problem)> {
            input_problems(&offered, &input(pairs), &none, true)
                .into_iter()
                .map(|v| (v.field, v.problem))
                .collect()
        };
        assert_eq!(
            problems(&[("sms", &["yes"]), ("places", &["site", "press"])]),
            []
        );
        assert_eq!(
            problems(&[("sms", &["yes", "no"]), ("city", &["yes"])]),
            [
                ("consents.city".to_owned(), Problem::ConsentNotCollected),
                ("consents.sms".to_owned(), Problem::RefusalWithOthers),
                ("consents.places".to_owned(), Problem::Missing),
            ]
        );
        assert_eq!(
            problems(&[("sms", &["maybe"]), ("places", &[])]),
            [
                ("consents.sms".to_owned(), Problem::UnknownValue),
                ("consents.places".to_owned(), Problem::Missing),
            ]
        );
        let one = ConsentItem {
            choices: vec![
                choice("a", false, &[]),
                choice("b", false, &[]),
                choice("no", true, &[]),
            ],
            ..sms
        };
        let offered = [("one", &one)];
        let two = input_problems(&offered, &input(&[("one", &["a", "b"])]), &none, true);
        assert_eq!(two[0].problem, Problem::OneChoiceOnly);
    }

    #[test]
    fn answers_keep_the_version_and_time_and_say_what_changed() {
        let sms = sms();
        let offered = [("sms", &sms)];
        let (first, changed) = record(
            &offered,
            &ConsentAnswers::new(),
            &input(&[("sms", &["yes"])]),
            at(1),
        );
        assert_eq!(changed, ["sms"]);
        assert_eq!(first["sms"].version, "2026-09");
        assert_eq!(first["sms"].at, at(1));
        let (same, changed) = record(&offered, &first, &input(&[("sms", &["yes"])]), at(2));
        assert!(changed.is_empty());
        assert_eq!(same, first);
        let no = input(&[("sms", &["no"])]);
        assert_eq!(change_allowed(&offered, &first, &no), Ok(()));
        let (withdrawn, _) = record(&offered, &first, &no, at(3));
        assert!(withdraws(
            &sms,
            &first["sms"].choices,
            &withdrawn["sms"].choices
        ));
    }

    #[test]
    fn a_final_refusal_stays_and_a_consent_not_withdrawable_is_kept() {
        let places = places();
        let offered = [("places", &places)];
        let given = record(
            &offered,
            &ConsentAnswers::new(),
            &input(&[("places", &["site"])]),
            at(1),
        )
        .0;
        // More is always possible; less is not.
        let more = input(&[("places", &["site", "press"])]);
        assert_eq!(change_allowed(&offered, &given, &more), Ok(()));
        assert_eq!(
            change_allowed(&offered, &given, &input(&[("places", &["press"])])),
            Err(ConsentItemError::NotWithdrawable("places".into()))
        );
        let refused = record(
            &offered,
            &ConsentAnswers::new(),
            &input(&[("places", &["none"])]),
            at(1),
        )
        .0;
        assert_eq!(
            change_allowed(&offered, &refused, &input(&[("places", &["site"])])),
            Err(ConsentItemError::RefusedForGood("places".into()))
        );
        let again = input_problems(&offered, &input(&[("places", &["site"])]), &refused, true);
        assert_eq!(again[0].problem, Problem::RefusedForGood);
    }

    #[test]
    fn directory_values_are_written_as_supann_has_them() {
        assert!(is_supann_consent("{CROUS}PARTAGE"));
        for wrong in ["SMS", "{}X", "{SMS}", "{SMS}A B", "{S{MS}X"] {
            assert!(!is_supann_consent(wrong), "{wrong}");
        }
    }

    #[test]
    fn the_directory_holds_the_values_of_the_choices_standing() {
        let items: BTreeMap<String, ConsentItem> =
            [("sms".to_owned(), sms()), ("places".to_owned(), places())].into();
        let offered: Vec<(&str, &ConsentItem)> =
            items.iter().map(|(c, i)| (c.as_str(), i)).collect();
        let answers = record(
            &offered,
            &ConsentAnswers::new(),
            &input(&[
                ("sms", &["yes"]),
                ("places", &["press", "site"]),
                ("gone", &["yes"]),
            ]),
            at(1),
        )
        .0;
        assert_eq!(
            ldap_values(&answers, &items),
            ["{PHOTO}PRESSE", "{PHOTO}SITE", "{SMS}UNIVERSITE"]
        );
    }
}
