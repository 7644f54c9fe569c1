//! Every sentence a person reads in an answer of the service, one module
//! per language ([`fr`], [`en`]) with the same functions; callers ask here
//! with the caller's language. Mail and SMS bodies are in [`mail`],
//! password rule explanations in the domain's `password::messages`; the
//! wording that differs between universities comes from their
//! configuration.

pub mod en;
pub mod forms;
pub mod fr;
pub mod mail;
pub mod records;

use std::time::Duration;

use domain::activation::Step;
use domain::consent::{ConsentOption, reserved_code};
use domain::institution::InstitutionSettings;
use domain::language::Language;
use domain::password::policy::DictionaryMode;
use domain::password::{PasswordPolicy, Violation};
use domain::refusal::{Exhausted, Precondition};
use domain::self_service::ConsentEffects;

/// What a person is told when the state of things refuses a request.
pub fn precondition(language: Language, refusal: Precondition) -> &'static str {
    match language {
        Language::French => fr::precondition(refusal),
        Language::English => en::precondition(refusal),
    }
}

/// A refusal about `subject` (the field or step it concerns), as a person
/// reads it: a wait for a code speaks of the code, not of a link.
pub fn precondition_about(
    language: Language,
    refusal: Precondition,
    subject: &str,
) -> &'static str {
    match (refusal, subject, language) {
        (Precondition::AwaitingVerification, "code", Language::French) => fr::AWAITING_CODE,
        (Precondition::AwaitingVerification, "code", Language::English) => en::AWAITING_CODE,
        _ => precondition(language, refusal),
    }
}

/// A refused password rule, as the person typing reads it.
pub fn password_violation(language: Language, violation: &Violation) -> String {
    match language {
        Language::French => fr::password_violation(violation),
        Language::English => en::password_violation(violation),
    }
}

/// Why a field is refused, as the person reads it next to the field.
pub fn problem(language: Language, problem: &domain::problem::Problem) -> String {
    match language {
        Language::French => fr::problem(problem),
        Language::English => en::problem(problem),
    }
}

/// The shortest passwords that reach `min_bits` from the four classes, from
/// letters and digits, and from lowercase letters: the examples the
/// entropy rule's sentence gives.
fn entropy_lengths(min_bits: u32) -> [usize; 3] {
    use domain::password::entropy::{ExampleAlphabet, shortest_length};
    [
        ExampleAlphabet::AllFour,
        ExampleAlphabet::LettersAndDigits,
        ExampleAlphabet::Lowercase,
    ]
    .map(|alphabet| shortest_length(min_bits, alphabet))
}

/// A rule of a password policy that no refusal words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRule {
    NotADictionaryWord,
    NoDictionaryWord,
    NoPersonalData,
    /// Not one of the last `n`.
    NotRecent(usize),
    MaxAgeDays(u64),
}

/// The rules of `policy` as sentences, for the screen that asks for a
/// password (the same wording as the refusals).
pub fn password_rules(language: Language, policy: &PasswordPolicy) -> Vec<String> {
    let mut checks = vec![Violation::TooShort {
        min: policy.min_length,
    }];
    checks.extend(
        policy
            .required_classes
            .iter()
            .map(|c| Violation::MissingClass(*c)),
    );
    if policy.min_non_alphabetic > 0 {
        checks.push(Violation::TooFewNonAlphabetic {
            min: policy.min_non_alphabetic,
        });
    }
    if !policy.forbidden_characters.is_empty() {
        checks.push(Violation::ForbiddenCharacter {
            characters: policy.forbidden_characters.chars().collect(),
        });
    }
    if policy.no_accented_characters {
        checks.push(Violation::AccentedCharacter);
    }
    if let Some(min_bits) = policy.cnil_2022.min_bits() {
        checks.push(Violation::LowEntropy { min_bits });
    }
    let mut rules = Vec::new();
    match policy.dictionary.mode {
        DictionaryMode::Off => {}
        DictionaryMode::Whole => rules.push(PolicyRule::NotADictionaryWord),
        DictionaryMode::Contains => rules.push(PolicyRule::NoDictionaryWord),
    }
    if policy.no_personal_data {
        rules.push(PolicyRule::NoPersonalData);
    }
    if policy.history_count > 0 {
        rules.push(PolicyRule::NotRecent(policy.history_count));
    }
    if let Some(age) = policy.max_age {
        rules.push(PolicyRule::MaxAgeDays(age.as_secs() / 86_400));
    }
    let policy_rule = |rule| match language {
        Language::French => fr::policy_rule(rule),
        Language::English => en::policy_rule(rule),
    };
    checks
        .iter()
        .map(|v| password_violation(language, v))
        .chain(rules.into_iter().map(policy_rule))
        .collect()
}

/// What the person must know after changing consents (the photo is
/// deleted; the Crous keeps what it already received).
pub fn consent_notices(language: Language, effects: &ConsentEffects) -> Vec<String> {
    let notice = match language {
        Language::French => fr::consent_notice,
        Language::English => en::consent_notice,
    };
    [
        (effects.photo_deletion, ConsentNotice::PhotoDeleted),
        (effects.crous_revoked, ConsentNotice::CrousRevoked),
    ]
    .into_iter()
    .filter(|(applies, _)| *applies)
    .map(|(_, which)| notice(which).to_owned())
    .collect()
}

/// A notice after a consent change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentNotice {
    PhotoDeleted,
    CrousRevoked,
}

/// The label of the link a completed activation shows when the profile
/// names no page of its own.
pub fn sign_in_to_portal(language: Language) -> &'static str {
    language.pick(fr::SIGN_IN_TO_PORTAL, en::SIGN_IN_TO_PORTAL)
}

/// A consent option as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChoice {
    /// The journey item it answers.
    pub step: Step,
    /// The institution's consent item it answers (`consents` items);
    /// empty for the service's own.
    pub consent: String,
    /// What a client sends for it.
    pub value: String,
    pub label: String,
    /// What to know before choosing it; empty: nothing.
    pub caveat: String,
}

/// The choices of the institution's own consent items, in its words; on
/// the account page (`withdrawing`), a refusal of a withdrawable item
/// carries the item's withdrawal caveat unless it has its own.
pub fn item_choices(
    language: Language,
    offered: &domain::consent_items::Offered<'_>,
    withdrawing: bool,
) -> Vec<ConsentChoice> {
    let mut choices = Vec::new();
    for (code, item) in offered {
        let withdraw_caveat = item.withdraw_caveat.as_ref().filter(|_| withdrawing);
        choices.extend(item.choices.iter().map(|choice| {
            let caveat = withdraw_caveat
                .filter(|_| choice.refusal)
                .or(choice.caveat.as_ref());
            ConsentChoice {
                step: Step::Consents,
                consent: (*code).to_owned(),
                value: choice.code.clone(),
                label: choice.label.pick(language).to_owned(),
                caveat: caveat
                    .map(|c| c.pick(language).to_owned())
                    .unwrap_or_default(),
            }
        }));
    }
    choices
}

/// The options of the consents `steps` collect, in the institution's words
/// where it declares the item (`consents.photo_use`, ...), else the
/// service's; on the account page (`withdrawing`), a refusal carries the
/// item's withdrawal caveat unless it has its own.
pub fn consent_choices(
    language: Language,
    steps: &[Step],
    institution: &InstitutionSettings,
    withdrawing: bool,
) -> Vec<ConsentChoice> {
    ConsentOption::ALL
        .into_iter()
        .filter(|option| steps.contains(&option.step()))
        .map(|option| {
            let (label, caveat) = match language {
                Language::French => fr::consent_option(option),
                Language::English => en::consent_option(option),
            };
            let item = reserved_code(option.step()).and_then(|c| institution.consents.get(c));
            let own = item.and_then(|i| i.choice(option.value()));
            let withdraw_caveat = item
                .and_then(|i| i.withdraw_caveat.as_ref())
                .filter(|_| withdrawing && option.is_refusal());
            ConsentChoice {
                step: option.step(),
                consent: String::new(),
                value: option.value().to_owned(),
                label: own.map_or(label, |w| w.label.pick(language)).to_owned(),
                caveat: withdraw_caveat
                    .or(own.and_then(|w| w.caveat.as_ref()))
                    .map_or(caveat, |c| c.pick(language))
                    .to_owned(),
            }
        })
        .collect()
}

/// What a person is told when a limit is reached; `wait` is how long until
/// a new try may work.
pub fn exhausted(language: Language, limit: Exhausted, wait: Duration) -> String {
    let wait = Wait {
        seconds: wait.as_secs().max(1),
        minutes: wait.as_secs().div_ceil(60).max(1),
    };
    match language {
        Language::French => fr::exhausted(limit, wait),
        Language::English => en::exhausted(limit, wait),
    }
}

/// A wait, rounded up, as both texts say it.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub seconds: u64,
    pub minutes: u64,
}

/// The other refusals of a call, each with what the person is told.
#[derive(Debug, Clone, Copy)]
pub enum Refused<'a> {
    /// Some fields are invalid: why, each in the reader's language (never
    /// the fields' paths, which people never read).
    Invalid {
        descriptions: &'a str,
    },
    NotFound {
        detail: &'a str,
    },
    Unauthenticated,
    PermissionDenied {
        detail: &'a str,
    },
    /// Changed meanwhile by another request.
    Aborted {
        detail: &'a str,
    },
    DeadlineExceeded {
        detail: &'a str,
    },
    AlreadyExists {
        field: &'a str,
        detail: &'a str,
    },
    /// A failure of ours: the person gives the helpdesk the request id.
    Internal {
        request_id: &'a str,
    },
    /// The database is out of reach for now: trying again later works.
    Unavailable,
    /// The request could not be read (not a message of the API).
    Undecodable,
}

/// When activation opens, in the institution's time zone.
pub fn activation_opens(
    language: Language,
    opens_at: chrono::DateTime<chrono::Utc>,
    time_zone: chrono_tz::Tz,
) -> String {
    match language {
        Language::French => format!(
            "L'activation de ce compte ouvrira le {}.",
            mail::fr::local(opens_at, time_zone)
        ),
        Language::English => format!(
            "Activation of this account opens on {}.",
            mail::en::local(opens_at, time_zone)
        ),
    }
}

/// What a person is told of a refusal.
pub fn refused(language: Language, refusal: Refused<'_>) -> String {
    match language {
        Language::French => fr::refused(refusal),
        Language::English => en::refused(refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_is_worded_in_both_languages_differently() {
        for p in Precondition::ALL {
            let (french, english) = (fr::precondition(p), en::precondition(p));
            assert!(!french.is_empty() && !english.is_empty(), "{p:?}");
            assert_ne!(french, english, "{p:?}");
            // People never see the codes programs read.
            assert!(!french.contains(p.code()) && !english.contains(p.code()));
        }
    }

    #[test]
    fn field_problems_read_as_sentences_in_both_languages() {
        use domain::problem::Problem;
        let problems = [
            Problem::Missing,
            Problem::TooLong { max: 64 },
            Problem::AddressesDiffer,
            Problem::CharterNotAccepted,
            Problem::RedirectMandatory,
            Problem::StudentNumberLength { length: 8 },
            Problem::CharterVersion {
                current: "2025-09".into(),
            },
            Problem::Password(domain::password::Violation::ConfirmationMismatch),
            Problem::AheadOfTime,
            Problem::NotAUuid,
        ];
        for p in problems {
            let (french, english) = (fr::problem(&p), en::problem(&p));
            assert_ne!(french, english, "{p:?}");
            for text in [&french, &english] {
                assert!(text.ends_with('.'), "{text}");
                assert!(
                    text.chars().next().is_some_and(char::is_uppercase),
                    "{text}"
                );
                // No request field path (`charter.accepted`, `as_of`).
                assert!(!text.contains('_'), "{text}");
            }
        }
    }

    #[test]
    fn waits_are_rounded_up() {
        let text = exhausted(
            Language::French,
            Exhausted::TooManyGuesses,
            Duration::from_secs(61),
        );
        assert!(text.contains("2 min"), "{text}");
        let text = exhausted(
            Language::English,
            Exhausted::ResendTooSoon,
            Duration::from_millis(10),
        );
        assert!(text.contains("1 s"), "{text}");
    }
}

#[cfg(test)]
mod consent_tests {
    use domain::activation::Step;
    use domain::consent::ConsentOption;
    use domain::language::Language;

    use crate::testing::example_rules;

    fn label(institution: &str, language: Language, option: ConsentOption) -> String {
        let rules = example_rules();
        let steps = [Step::DirectoryListing, Step::PhotoUse, Step::CrousSharing];
        super::consent_choices(language, &steps, &rules.institutions[institution], false)
            .into_iter()
            .find(|c| c.step == option.step() && c.value == option.value())
            .map(|c| c.label)
            .expect("offered")
    }

    #[test]
    fn each_university_names_its_directory_in_its_own_words() {
        let listed = ConsentOption::DirectoryListed;
        assert!(label("u-bordeaux-montaigne", Language::French, listed).contains("bureau virtuel"));
        assert!(label("umontpellier", Language::French, listed).contains("annuaire public"));
        assert!(label("umontpellier", Language::English, listed).contains("public directory"));
        // Tours gives none: the service's words.
        assert_eq!(
            label("univ-tours", Language::French, listed),
            super::fr::consent_option(listed).0
        );
    }

    #[test]
    fn only_the_consents_of_the_journey_are_offered() {
        let rules = example_rules();
        let choices = super::consent_choices(
            Language::French,
            &[Step::CrousSharing],
            &rules.institutions["univ-tours"],
            false,
        );
        let options: Vec<(Step, &str)> =
            choices.iter().map(|c| (c.step, c.value.as_str())).collect();
        assert_eq!(
            options,
            [(Step::CrousSharing, "true"), (Step::CrousSharing, "false")]
        );
        assert!(choices.iter().all(|c| !c.caveat.is_empty()));
    }
}

#[cfg(test)]
mod password_tests {
    use domain::language::Language;
    use domain::password::Violation;
    use domain::password::policy::CharClass;

    #[test]
    fn refusals_in_both_languages() {
        let v = Violation::TooShort { min: 10 };
        assert_eq!(
            super::password_violation(Language::French, &v),
            "Le mot de passe doit comporter au moins 10 caractères."
        );
        assert_eq!(
            super::password_violation(Language::English, &v),
            "The password must be at least 10 characters long."
        );
        let v = Violation::MissingClass(CharClass::Digit);
        assert!(super::password_violation(Language::French, &v).contains("un chiffre"));
    }

    #[test]
    fn a_policy_reads_as_its_rules() {
        let policy = domain::password::PasswordPolicy::default();
        for language in [Language::French, Language::English] {
            let rules = super::password_rules(language, &policy);
            assert!(rules.len() >= 2, "{rules:?}");
            assert!(rules.iter().all(|r| r.ends_with('.')));
        }
    }
}
