//! Checks a candidate password against a policy and rates its strength for
//! the meter. Pure and fast: it runs on every keystroke. The history rule
//! needs stored hashes and is checked by the caller.

use super::entropy;
use super::policy::{DictionaryMode, MAX_MAX_LENGTH, PasswordPolicy};
use super::words::{self, fold, readings};
use super::{CharClass, Password};
use zeroize::Zeroizing;

/// Who the password is for, so that it may not contain them.
#[derive(Debug, Clone, Default)]
pub struct PersonalData {
    pub given_name: String,
    pub family_name: String,
    pub login: String,
}

/// Which piece of personal data a password contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalPart {
    GivenName,
    FamilyName,
    Login,
}

impl PersonalPart {
    pub fn name(self) -> &'static str {
        match self {
            PersonalPart::GivenName => "given_name",
            PersonalPart::FamilyName => "family_name",
            PersonalPart::Login => "login",
        }
    }
}

/// A rule the candidate breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    MissingClass(CharClass),
    TooFewNonAlphabetic {
        min: usize,
    },
    /// The refused characters found, in order of appearance.
    ForbiddenCharacter {
        characters: Vec<char>,
    },
    AccentedCharacter,
    /// The word found, folded.
    DictionaryWord {
        word: String,
    },
    ContainsPersonalData {
        part: PersonalPart,
    },
    /// Among the last `count` passwords.
    Reused {
        count: usize,
    },
    CommonPassword,
    ConfirmationMismatch,
    TooWeak {
        min_score: u8,
    },
    /// Found in a public breach.
    BreachedPassword,
    /// Below the entropy of the CNIL's rule (`min_bits`).
    LowEntropy {
        min_bits: u32,
    },
}

impl Violation {
    /// The stable code programs read (the API's `PasswordViolationCode`
    /// without its prefix).
    pub fn code(&self) -> &'static str {
        match self {
            Violation::TooShort { .. } => "TOO_SHORT",
            Violation::TooLong { .. } => "TOO_LONG",
            Violation::MissingClass(_) => "MISSING_CLASS",
            Violation::TooFewNonAlphabetic { .. } => "TOO_FEW_NON_ALPHABETIC",
            Violation::ForbiddenCharacter { .. } => "FORBIDDEN_CHARACTER",
            Violation::AccentedCharacter => "ACCENTED_CHARACTER",
            Violation::DictionaryWord { .. } => "DICTIONARY_WORD",
            Violation::ContainsPersonalData { .. } => "CONTAINS_PERSONAL_DATA",
            Violation::Reused { .. } => "REUSED",
            Violation::CommonPassword => "COMMON_PASSWORD",
            Violation::ConfirmationMismatch => "CONFIRMATION_MISMATCH",
            Violation::TooWeak { .. } => "TOO_WEAK",
            Violation::BreachedPassword => "BREACHED_PASSWORD",
            Violation::LowEntropy { .. } => "LOW_ENTROPY",
        }
    }
}

/// The meter's level, as the seeds' portals show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// Faible.
    Weak,
    /// Moyen.
    Medium,
    /// Fort.
    Strong,
}

/// What the meter shows for a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Every rule broken, in a stable order.
    pub violations: Vec<Violation>,
    /// zxcvbn score, 0 to 4.
    pub score: u8,
    pub strength: Strength,
}

impl Evaluation {
    /// Whether the policy accepts the candidate.
    pub fn acceptable(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Characters the strength estimator looks at: its cost grows quickly with
/// length, and a longer prefix only strengthens the estimate.
const ESTIMATOR_MAX_CHARS: usize = 64;
/// Shortest login piece refused in a password: shorter ones (`001`) occur
/// by chance.
const MIN_LOGIN_PART: usize = 4;
/// Shortest name piece refused in a password.
const MIN_NAME_PART: usize = 3;

/// Evaluates `password` under `policy`; `personal` enables the personal-data
/// rule. Never panics, whatever the text.
/// The rules on what the password is made of: length, classes,
/// characters.
fn composition_violations(policy: &PasswordPolicy, text: &str, length: usize) -> Vec<Violation> {
    let mut violations = Vec::new();
    if length < policy.min_length {
        violations.push(Violation::TooShort {
            min: policy.min_length,
        });
    }
    if length > policy.max_length {
        violations.push(Violation::TooLong {
            max: policy.max_length,
        });
    }
    for &class in &policy.required_classes {
        if !text.chars().any(|c| class.matches(c)) {
            violations.push(Violation::MissingClass(class));
        }
    }
    let non_alphabetic = text
        .chars()
        .filter(|c| !c.is_alphabetic() && !c.is_control())
        .count();
    if non_alphabetic < policy.min_non_alphabetic {
        violations.push(Violation::TooFewNonAlphabetic {
            min: policy.min_non_alphabetic,
        });
    }
    let forbidden = forbidden_characters(policy, text);
    if !forbidden.is_empty() {
        violations.push(Violation::ForbiddenCharacter {
            characters: forbidden,
        });
    }
    if policy.no_accented_characters && text.chars().any(is_accented) {
        violations.push(Violation::AccentedCharacter);
    }
    if let Some(min_bits) = policy.cnil_2022.min_bits()
        && !entropy::meets(policy.cnil_2022, text)
    {
        violations.push(Violation::LowEntropy { min_bits });
    }
    violations
}

pub fn evaluate(
    policy: &PasswordPolicy,
    password: &Password,
    personal: Option<&PersonalData>,
) -> Evaluation {
    let length = password.char_count();
    // Past the longest allowed password the rest adds nothing to check.
    let text: Zeroizing<String> =
        Zeroizing::new(password.expose().chars().take(MAX_MAX_LENGTH + 1).collect());
    let mut violations = composition_violations(policy, &text, length);

    // Every copy of the password is wiped when evaluation ends.
    let folded = Zeroizing::new(fold(&text));
    let readings = Zeroizing::new(readings(&folded));
    if policy.common_passwords
        && readings
            .iter()
            .any(|r| words::is_common_password(r) || words::is_common_password(r.trim()))
    {
        violations.push(Violation::CommonPassword);
    } else if policy.breached_passwords
        // A breach list holds what people typed, so it is searched as
        // typed (case aside), not through look-alike readings; a common
        // password is not told twice.
        && (words::is_breached_password(&folded) || words::is_breached_password(folded.trim()))
    {
        violations.push(Violation::BreachedPassword);
    }
    if let Some(word) = dictionary_word(policy, &folded, &readings) {
        violations.push(Violation::DictionaryWord { word });
    }
    if policy.no_personal_data
        && let Some(personal) = personal
    {
        violations.extend(
            personal_parts_found(personal, &readings)
                .into_iter()
                .map(|part| Violation::ContainsPersonalData { part }),
        );
    }

    let score = estimate(&text, personal, policy);
    if policy.min_score > 0 && score < policy.min_score {
        violations.push(Violation::TooWeak {
            min_score: policy.min_score,
        });
    }
    let mut strength = match score {
        0 | 1 => Strength::Weak,
        2 => Strength::Medium,
        _ => Strength::Strong,
    };
    if policy.recommended_length > 0 && length < policy.recommended_length {
        strength = strength.min(Strength::Medium);
    }
    Evaluation {
        violations,
        score,
        strength,
    }
}

/// An accented (or otherwise non-ASCII Latin-transliterable) letter.
pub fn is_accented(c: char) -> bool {
    !c.is_ascii()
        && c.is_alphabetic()
        && deunicode::deunicode_char(c)
            .is_some_and(|a| !a.is_empty() && a.chars().all(|x| x.is_ascii_alphabetic()))
}

fn forbidden_characters(policy: &PasswordPolicy, text: &str) -> Vec<char> {
    let mut found = Vec::new();
    for c in text.chars() {
        let refused = c.is_control()
            || policy.forbidden_characters.contains(c)
            // Accented letters have their own rule when the policy has it.
            || (policy.ascii_only
                && !c.is_ascii()
                && !(policy.no_accented_characters && is_accented(c)));
        if refused && !found.contains(&c) {
            found.push(c);
        }
    }
    found
}

fn dictionary_word(policy: &PasswordPolicy, folded: &str, readings: &[String]) -> Option<String> {
    let rule = &policy.dictionary;
    let mut best: Option<String> = None;
    let mut consider = |word: &str| {
        if best.as_ref().is_none_or(|b| word.len() > b.len()) {
            best = Some(word.to_owned());
        }
    };
    if rule.mode != DictionaryMode::Off {
        // Symbols at the ends are trimmed before look-alikes are read, so
        // that `s0le1l!!` is `soleil`, not `soleilii`.
        for core in Zeroizing::new(words::readings(words::core(folded))).iter() {
            if core.len() >= 3 && rule.languages.iter().any(|d| d.contains(core)) {
                consider(core);
            }
        }
        for reading in readings {
            if rule.mode == DictionaryMode::Contains {
                for dictionary in &rule.languages {
                    if let Some(word) = dictionary.longest_embedded(reading, rule.min_word_length) {
                        consider(word);
                    }
                }
            }
        }
    }
    for banned in &policy.banned_words {
        let banned = compact(&fold(banned));
        if readings.iter().any(|r| compact(r).contains(&banned)) {
            consider(&banned);
        }
    }
    best
}

/// Letters and digits only: `Jean-Pierre.2024` → `jeanpierre2024`.
fn compact(folded: &str) -> String {
    folded.chars().filter(char::is_ascii_alphanumeric).collect()
}

fn tokens(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
}

fn personal_parts_found(personal: &PersonalData, readings: &[String]) -> Vec<PersonalPart> {
    let compact_readings: Zeroizing<Vec<String>> =
        Zeroizing::new(readings.iter().map(|r| compact(r)).collect());
    let found = |parts: Vec<String>| {
        parts
            .iter()
            .any(|p| compact_readings.iter().any(|r| r.contains(p.as_str())))
    };
    let mut out = Vec::new();
    if found(name_parts(&personal.given_name)) {
        out.push(PersonalPart::GivenName);
    }
    if found(name_parts(&personal.family_name)) {
        out.push(PersonalPart::FamilyName);
    }
    if found(login_parts(&personal.login)) {
        out.push(PersonalPart::Login);
    }
    out
}

/// `Jean-Pierre` → `jean`, `pierre`.
fn name_parts(name: &str) -> Vec<String> {
    tokens(&fold(name))
        .filter(|t| t.len() >= MIN_NAME_PART)
        .map(str::to_owned)
        .collect()
}

/// `jmartin001` → `jmartin001`, `jmartin`; `jane.doe@umontpellier.fr` →
/// `jane`; `22012345T` → `22012345t`, `22012345`.
fn login_parts(login: &str) -> Vec<String> {
    let folded = fold(login);
    let local = folded.split('@').next().unwrap_or("");
    let mut parts = Vec::new();
    for token in tokens(local) {
        parts.push(token.to_owned());
        let mut run = String::new();
        let mut chars = token.chars().peekable();
        while let Some(c) = chars.next() {
            run.push(c);
            let next_same_kind = chars
                .peek()
                .is_some_and(|n| n.is_ascii_digit() == c.is_ascii_digit());
            if !next_same_kind {
                parts.push(std::mem::take(&mut run));
            }
        }
    }
    parts.retain(|p| p.len() >= MIN_LOGIN_PART);
    parts.sort();
    parts.dedup();
    parts
}

fn estimate(text: &str, personal: Option<&PersonalData>, policy: &PasswordPolicy) -> u8 {
    let prefix: Zeroizing<String> =
        Zeroizing::new(text.chars().take(ESTIMATOR_MAX_CHARS).collect());
    let mut inputs: Vec<String> = policy.banned_words.iter().map(|w| fold(w)).collect();
    if let Some(p) = personal {
        for field in [&p.given_name, &p.family_name, &p.login] {
            inputs.extend(tokens(&fold(field)).map(str::to_owned));
        }
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    zxcvbn::zxcvbn(&prefix, &inputs).score().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::policy::DictionaryRule;

    fn eval(policy: &PasswordPolicy, text: &str) -> Evaluation {
        evaluate(policy, &Password::new(text.to_owned()), None)
    }

    #[test]
    fn login_and_name_parts() {
        assert_eq!(login_parts("jmartin001"), vec!["jmartin", "jmartin001"]);
        assert_eq!(login_parts("22012345T"), vec!["22012345", "22012345t"]);
        assert_eq!(login_parts("jane.doe@umontpellier.fr"), vec!["jane"]);
        assert_eq!(
            name_parts("Jean-Pierre d'Ormesson"),
            vec!["jean", "pierre", "ormesson"]
        );
    }

    #[test]
    fn personal_data_is_found_through_case_accents_and_look_alikes() {
        let policy = PasswordPolicy::default();
        let who = PersonalData {
            given_name: "Hélène".into(),
            family_name: "Dupont".into(),
            login: "hdupont001".into(),
        };
        let parts = |text: &str| -> Vec<Violation> {
            evaluate(&policy, &Password::new(text.into()), Some(&who))
                .violations
                .into_iter()
                .filter(|v| matches!(v, Violation::ContainsPersonalData { .. }))
                .collect()
        };
        assert_eq!(
            parts("x9HELENE!q2w#"),
            vec![Violation::ContainsPersonalData {
                part: PersonalPart::GivenName
            }]
        );
        assert_eq!(parts("Dup0nt-4ever!").len(), 1);
        assert_eq!(parts("hdupont001!!").len(), 2, "family name and login");
        assert!(parts("Vq7#kd02;lmZ").is_empty());
    }

    #[test]
    fn dictionary_modes() {
        let whole = PasswordPolicy {
            dictionary: DictionaryRule {
                mode: DictionaryMode::Whole,
                ..DictionaryRule::default()
            },
            common_passwords: false,
            ..PasswordPolicy::default()
        };
        let contains = PasswordPolicy {
            dictionary: DictionaryRule {
                mode: DictionaryMode::Contains,
                ..DictionaryRule::default()
            },
            ..whole.clone()
        };
        let word = |p: &PasswordPolicy, text: &str| {
            eval(p, text).violations.into_iter().find_map(|v| match v {
                Violation::DictionaryWord { word } => Some(word),
                _ => None,
            })
        };
        assert_eq!(word(&whole, "Bonjour2024!"), Some("bonjour".into()));
        assert_eq!(word(&whole, "S0le1l!!"), Some("soleil".into()));
        assert_eq!(word(&whole, "ÉTÉ-2024-été"), None, "not one word");
        assert_eq!(word(&whole, "Xsoleil#9qq"), None);
        assert_eq!(word(&contains, "Xsoleil#9qq"), Some("soleil".into()));
        assert_eq!(word(&contains, "q7#Vkz;2Lp0"), None);
    }

    #[test]
    fn strength_follows_the_estimator_and_the_recommended_length() {
        let policy = PasswordPolicy::default();
        assert_eq!(eval(&policy, "azerty").strength, Strength::Weak);
        assert_eq!(eval(&policy, "").strength, Strength::Weak);
        let strong = eval(&policy, "correct-Horse-battery-Staple-91");
        assert_eq!(strong.strength, Strength::Strong);
        let capped = PasswordPolicy {
            recommended_length: 40,
            ..policy.clone()
        };
        assert_eq!(
            eval(&capped, "correct-Horse-battery-Staple-91").strength,
            Strength::Medium
        );
        let demanding = PasswordPolicy {
            min_score: 4,
            ..policy
        };
        assert!(
            eval(&demanding, "Azerty12!Azerty12!")
                .violations
                .contains(&Violation::TooWeak { min_score: 4 })
        );
    }

    #[test]
    fn control_and_non_ascii_characters() {
        let policy = PasswordPolicy {
            ascii_only: true,
            no_accented_characters: true,
            ..PasswordPolicy::default()
        };
        let v = eval(&policy, "Été\u{7}€mot-de-passe-très-long").violations;
        assert!(v.contains(&Violation::AccentedCharacter));
        assert!(v.contains(&Violation::ForbiddenCharacter {
            characters: vec!['\u{7}', '€']
        }));
    }

    mod properties {
        use super::*;
        use crate::password::policy::DictionaryRule;
        use proptest::prelude::*;

        fn strict() -> PasswordPolicy {
            PasswordPolicy {
                min_length: 10,
                recommended_length: 14,
                required_classes: vec![
                    CharClass::Letter,
                    CharClass::Digit,
                    CharClass::Lower,
                    CharClass::Upper,
                    CharClass::Special,
                ],
                min_non_alphabetic: 2,
                forbidden_characters: "<>\"'$*,".into(),
                no_accented_characters: true,
                ascii_only: true,
                dictionary: DictionaryRule {
                    mode: DictionaryMode::Contains,
                    ..DictionaryRule::default()
                },
                banned_words: vec!["montpellier".into()],
                min_score: 3,
                ..PasswordPolicy::default()
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]

            /// Any Unicode text, with any personal data: no panic, and the
            /// answer is consistent.
            #[test]
            fn evaluation_never_panics(
                text in "\\PC{0,80}|.{0,300}",
                given in "\\PC{0,12}",
                family in "\\PC{0,12}",
                login in "\\PC{0,16}",
            ) {
                let personal = PersonalData { given_name: given, family_name: family, login };
                for policy in [PasswordPolicy::default(), strict()] {
                    let password = Password::new(text.clone());
                    let e = evaluate(&policy, &password, Some(&personal));
                    prop_assert!(e.score <= 4);
                    prop_assert_eq!(e.acceptable(), e.violations.is_empty());
                    let short = text.chars().count() < policy.min_length;
                    prop_assert_eq!(
                        short,
                        e.violations.contains(&Violation::TooShort { min: policy.min_length })
                    );
                    for v in &e.violations {
                        prop_assert!(!v.code().is_empty());
                    }
                }
            }
        }
    }
}
