//! The CNIL's password rule (délibération n° 2022-100 of 21 July 2022,
//! which replaced 2017-012): "tout responsable de traitement utilisant des
//! mots de passe doit garantir un niveau minimal de sécurité reposant [...]
//! sur une longueur et une complexité suffisantes, équivalentes à une
//! entropie de 80 bits sans mesure complémentaire". Where access is
//! restricted after failures (delays, limited attempts: case 2) 50 bits
//! suffice. Entropy is computed as the recommendation does: the length
//! times log2 of the alphabet the password actually draws from, each class
//! used adding its size (26 lowercase, 26 uppercase, 10 digits and the "au
//! moins 37 caractères spéciaux" of its first example).

use serde::{Deserialize, Serialize};

use super::PasswordPolicy;
use super::policy::CharClass;

/// Size of each class of the recommendation's alphabet.
const LOWERCASE: u32 = 26;
const UPPERCASE: u32 = 26;
const DIGITS: u32 = 10;
/// "Des caractères spéciaux à choisir dans une liste d'au moins 37
/// caractères spéciaux possibles" (example 1). Anything that is not an
/// ASCII letter or digit counts here.
const SPECIALS: u32 = 37;

/// Which case of the recommendation a policy enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CnilRule {
    /// The rule is not applied (the institution's own rules stand alone).
    Off,
    /// Case 1, "mot de passe seul": 80 bits.
    PasswordAlone,
    /// Case 2, "mot de passe et restriction d'accès au compte" (delays or
    /// a limit on attempts after failures, as this service applies to every
    /// secret it checks): 50 bits.
    RestrictedAccess,
}

impl CnilRule {
    /// The name configuration uses.
    pub fn name(self) -> &'static str {
        match self {
            CnilRule::Off => "off",
            CnilRule::PasswordAlone => "password_alone",
            CnilRule::RestrictedAccess => "restricted_access",
        }
    }

    /// The entropy the case requires, in bits; `None` when off.
    pub fn min_bits(self) -> Option<u32> {
        match self {
            CnilRule::Off => None,
            CnilRule::PasswordAlone => Some(80),
            CnilRule::RestrictedAccess => Some(50),
        }
    }
}

/// Size of the alphabet `text` draws from, as the recommendation counts it.
fn alphabet_size(text: &str) -> u32 {
    let has = |test: fn(char) -> bool| text.chars().any(test);
    [
        (has(|c| c.is_ascii_lowercase()), LOWERCASE),
        (has(|c| c.is_ascii_uppercase()), UPPERCASE),
        (has(|c| c.is_ascii_digit()), DIGITS),
        (has(|c| !c.is_ascii_alphanumeric()), SPECIALS),
    ]
    .into_iter()
    .filter(|(used, _)| *used)
    .map(|(_, size)| size)
    .sum()
}

/// Entropy of a password of `length` characters over an alphabet of
/// `alphabet` characters, in bits.
fn bits(length: usize, alphabet: u32) -> f64 {
    if alphabet == 0 {
        return 0.0;
    }
    length as f64 * f64::from(alphabet).log2()
}

/// Whether `bits` reaches `min_bits`, rounded to the nearest bit as the
/// recommendation's own examples are: 12 characters from the four classes
/// compute to 79.55 bits, which it gives as meeting 80.
fn reaches(bits: f64, min_bits: u32) -> bool {
    bits.round() >= f64::from(min_bits)
}

/// Entropy of `text` as the recommendation computes it, in bits.
pub fn password_bits(text: &str) -> f64 {
    bits(text.chars().count(), alphabet_size(text))
}

/// Whether `text` has the entropy `rule` asks for (always, when off).
pub fn meets(rule: CnilRule, text: &str) -> bool {
    rule.min_bits()
        .is_none_or(|min| reaches(password_bits(text), min))
}

/// The alphabets the rule's wording gives as examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExampleAlphabet {
    /// Lowercase letters only (26).
    Lowercase,
    /// Lowercase, uppercase and digits (62).
    LettersAndDigits,
    /// The four classes (99).
    AllFour,
}

impl ExampleAlphabet {
    fn size(self) -> u32 {
        match self {
            ExampleAlphabet::Lowercase => LOWERCASE,
            ExampleAlphabet::LettersAndDigits => LOWERCASE + UPPERCASE + DIGITS,
            ExampleAlphabet::AllFour => LOWERCASE + UPPERCASE + DIGITS + SPECIALS,
        }
    }
}

/// The fewest characters from `alphabet` that reach `min_bits`: with 80
/// bits, 12 from the four classes and 14 from letters and digits, the
/// recommendation's examples 1 and 2.
pub fn shortest_length(min_bits: u32, alphabet: ExampleAlphabet) -> usize {
    (1..=super::policy::MAX_MAX_LENGTH)
        .find(|&length| reaches(bits(length, alphabet.size()), min_bits))
        .unwrap_or(super::policy::MAX_MAX_LENGTH)
}

/// The least entropy of a password `policy` accepts, leaving the CNIL rule
/// itself aside: its shortest length over the smallest alphabet its
/// required classes allow (a policy that requires nothing accepts digits
/// alone). Word lists and the strength estimator refuse particular
/// passwords, not whole alphabets, so they do not raise it.
pub fn policy_floor_bits(policy: &PasswordPolicy) -> f64 {
    let requires = |class: CharClass| policy.required_classes.contains(&class);
    let mut alphabet = 0;
    if requires(CharClass::Lower) || requires(CharClass::Letter) {
        alphabet += LOWERCASE;
    }
    if requires(CharClass::Upper) {
        alphabet += UPPERCASE;
    }
    let digit = requires(CharClass::Digit);
    let special = requires(CharClass::Special);
    if digit {
        alphabet += DIGITS;
    }
    if special {
        alphabet += SPECIALS;
    }
    // Non-alphabetic characters may all be digits.
    if policy.min_non_alphabetic > 0 && !digit && !special {
        alphabet += DIGITS;
    }
    if alphabet == 0 {
        alphabet = DIGITS;
    }
    bits(policy.min_length, alphabet)
}

/// Whether every password `policy` accepts has the entropy `case` asks for.
pub fn policy_meets(policy: &PasswordPolicy, case: CnilRule) -> bool {
    let enforced = policy
        .cnil_2022
        .min_bits()
        .zip(case.min_bits())
        .is_some_and(|(enforced, needed)| enforced >= needed);
    enforced
        || case
            .min_bits()
            .is_none_or(|min| reaches(policy_floor_bits(policy), min))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_is_length_times_the_alphabet_used() {
        assert_eq!(password_bits(""), 0.0);
        assert!((password_bits("abcdefgh") - 8.0 * 26f64.log2()).abs() < 1e-9);
        assert!((password_bits("Ab1!") - 4.0 * 99f64.log2()).abs() < 1e-9);
        // An accented letter is outside the four ASCII classes: special.
        assert!((password_bits("é") - 37f64.log2()).abs() < 1e-9);
    }

    #[test]
    fn the_recommendations_examples_meet_their_case() {
        // Case 1, example 1: 12 characters from the four classes.
        assert!(meets(CnilRule::PasswordAlone, "Kq7#vZ2p!mW4"));
        assert!(!meets(CnilRule::PasswordAlone, "Kq7#vZ2p!mW"));
        // Example 2: 14 characters of letters and digits.
        assert!(meets(CnilRule::PasswordAlone, "Kq7vZ2pmW4xY8r"));
        assert!(!meets(CnilRule::PasswordAlone, "Kq7vZ2pmW4xY8"));
        // Case 2: 8 characters from three classes, one of them special.
        assert!(meets(CnilRule::RestrictedAccess, "kq7#vz2p"));
        // 8 of lowercase, uppercase and digits is 47.6 bits: one more.
        assert!(!meets(CnilRule::RestrictedAccess, "Kq7vZ2pm"));
        assert!(meets(CnilRule::RestrictedAccess, "Kq7vZ2pmW"));
        assert!(meets(CnilRule::Off, "1"));
    }

    #[test]
    fn shortest_lengths_are_the_recommendations_examples() {
        use ExampleAlphabet::*;
        assert_eq!(shortest_length(80, AllFour), 12);
        assert_eq!(shortest_length(80, LettersAndDigits), 14);
        assert_eq!(shortest_length(80, Lowercase), 17);
        assert_eq!(shortest_length(50, AllFour), 8);
        assert_eq!(shortest_length(50, LettersAndDigits), 9);
        assert_eq!(shortest_length(50, Lowercase), 11);
    }

    #[test]
    fn a_policys_floor_is_its_weakest_acceptable_password() {
        let digits_only = PasswordPolicy {
            min_length: 12,
            cnil_2022: CnilRule::Off,
            ..PasswordPolicy::default()
        };
        assert!((policy_floor_bits(&digits_only) - 12.0 * 10f64.log2()).abs() < 1e-9);
        assert!(!policy_meets(&digits_only, CnilRule::RestrictedAccess));
        // Montpellier's document: 8 characters, a letter and a digit.
        let montpellier = PasswordPolicy {
            min_length: 8,
            required_classes: vec![CharClass::Letter, CharClass::Digit],
            ..digits_only.clone()
        };
        assert!(!policy_meets(&montpellier, CnilRule::RestrictedAccess));
        // Bordeaux Montaigne's: 10 characters, 2 of them not letters,
        // so 10 digits pass (33 bits).
        let bordeaux = PasswordPolicy {
            min_length: 10,
            min_non_alphabetic: 2,
            ..digits_only.clone()
        };
        assert!(!policy_meets(&bordeaux, CnilRule::RestrictedAccess));
        // Three required classes over 9 characters: 53.6 bits.
        let mixed = PasswordPolicy {
            min_length: 9,
            required_classes: vec![CharClass::Lower, CharClass::Upper, CharClass::Digit],
            ..digits_only.clone()
        };
        assert!(policy_meets(&mixed, CnilRule::RestrictedAccess));
        assert!(!policy_meets(&mixed, CnilRule::PasswordAlone));
        // The rule itself makes any policy meet its case and weaker ones.
        let enforced = PasswordPolicy {
            cnil_2022: CnilRule::PasswordAlone,
            ..digits_only
        };
        assert!(policy_meets(&enforced, CnilRule::PasswordAlone));
        assert!(policy_meets(&enforced, CnilRule::RestrictedAccess));
    }
}
