//! A password policy as an institution configures it, with the per-profile
//! overrides merged over it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::entropy::{self, CnilRule};
use super::words::Dictionary;

/// A character class a policy may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CharClass {
    /// Any letter.
    Letter,
    /// 0 to 9.
    Digit,
    /// A lowercase letter.
    Lower,
    /// An uppercase letter.
    Upper,
    /// Anything but a letter or a digit (punctuation, symbols, space).
    Special,
}

impl CharClass {
    /// The stable name used in configuration and violation parameters.
    pub fn name(self) -> &'static str {
        match self {
            CharClass::Letter => "letter",
            CharClass::Digit => "digit",
            CharClass::Lower => "lower",
            CharClass::Upper => "upper",
            CharClass::Special => "special",
        }
    }

    /// Whether `c` belongs to the class.
    pub fn matches(self, c: char) -> bool {
        match self {
            CharClass::Letter => c.is_alphabetic(),
            CharClass::Digit => c.is_numeric(),
            CharClass::Lower => c.is_lowercase(),
            CharClass::Upper => c.is_uppercase(),
            CharClass::Special => !c.is_alphanumeric() && !c.is_control(),
        }
    }
}

/// How dictionary words are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DictionaryMode {
    /// Dictionary words are allowed.
    Off,
    /// The password may not be a word, give or take digits and symbols at
    /// its ends (`bonjour2024!`) and look-alike characters (`s0le1l`).
    Whole,
    /// Like `whole`, and the password may not contain a word of at least
    /// `min_word_length` letters anywhere (`Xsoleil#9`).
    Contains,
}

/// The dictionary rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DictionaryRule {
    pub mode: DictionaryMode,
    /// Shipped word lists to check against.
    pub languages: Vec<Dictionary>,
    /// Shortest word refused inside a longer password (`contains` mode):
    /// shorter words occur by chance in random strings.
    pub min_word_length: usize,
}

impl Default for DictionaryRule {
    fn default() -> Self {
        DictionaryRule {
            mode: DictionaryMode::Off,
            languages: vec![Dictionary::French, Dictionary::English],
            min_word_length: 5,
        }
    }
}

/// An institution's password rules. Every field has a default, so a
/// configuration names only what differs from it, or from the `preset` it
/// starts from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "PasswordPolicyOverride")]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_length: usize,
    /// Length the portal recommends (Montpellier: 12); below it the meter
    /// shows at most "medium". 0: none.
    pub recommended_length: usize,
    /// Most characters; at least 64.
    pub max_length: usize,
    /// Classes the password must contain.
    pub required_classes: Vec<CharClass>,
    /// Fewest characters that are not letters (Bordeaux: 2).
    pub min_non_alphabetic: usize,
    /// Characters refused (control characters always are).
    pub forbidden_characters: String,
    /// Refuse accented letters (`é`, `ç`, `œ`).
    pub no_accented_characters: bool,
    /// Refuse every character outside printable ASCII ("characters too
    /// particular are refused").
    pub ascii_only: bool,
    pub dictionary: DictionaryRule,
    /// Words the institution refuses anywhere in a password (its own name,
    /// say), compared like dictionary words.
    pub banned_words: Vec<String>,
    /// Refuse the person's given name, family name and login.
    pub no_personal_data: bool,
    /// Refuse the current and previous passwords, this many in all; 0: no
    /// history kept.
    pub history_count: usize,
    /// Age after which the password expires and must be changed.
    #[serde(
        default,
        with = "formats::duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_age: Option<Duration>,
    /// Why passwords expire (`max_age`): the CNIL's recommendation asks
    /// for no periodic renewal of ordinary users' passwords, so an expiry
    /// states its reason (a document, privileged accounts).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub renewal_reason: String,
    /// Refuse the most common passwords.
    pub common_passwords: bool,
    /// Refuse passwords found in public breaches (the offline list of
    /// `wordlists/README.md`).
    pub breached_passwords: bool,
    /// The CNIL's entropy rule (délibération 2022-100) and its case.
    pub cnil_2022: CnilRule,
    /// Lowest zxcvbn score (0 to 4) accepted; 0: any.
    pub min_score: u8,
}

impl Default for PasswordPolicy {
    /// ANSSI-style defaults for an institution that states nothing.
    fn default() -> Self {
        PasswordPolicy {
            min_length: 12,
            recommended_length: 0,
            max_length: 128,
            required_classes: Vec::new(),
            min_non_alphabetic: 0,
            forbidden_characters: String::new(),
            no_accented_characters: false,
            ascii_only: false,
            dictionary: DictionaryRule::default(),
            banned_words: Vec::new(),
            no_personal_data: true,
            history_count: 0,
            max_age: None,
            renewal_reason: String::new(),
            common_passwords: true,
            breached_passwords: true,
            // The service restricts guesses after failures (case 2).
            cnil_2022: CnilRule::RestrictedAccess,
            min_score: 0,
        }
    }
}

/// A named policy a configuration starts from: `password_policy = { preset
/// = "cnil_2022_restricted_access" }`, its other fields changing the
/// preset's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyPreset {
    /// The CNIL's case 2 (access restricted after failures, as here): 50
    /// bits, at least 8 characters, common and breached passwords and the
    /// person's names refused, no periodic renewal.
    #[serde(rename = "cnil_2022_restricted_access")]
    Cnil2022RestrictedAccess,
    /// The CNIL's case 1 (the password alone, say where another system
    /// checks it without limiting guesses): 80 bits, at least 12
    /// characters, the same lists, no periodic renewal.
    #[serde(rename = "cnil_2022_password_alone")]
    Cnil2022PasswordAlone,
}

impl PolicyPreset {
    /// The policy the preset stands for.
    pub fn policy(self) -> PasswordPolicy {
        let (min_length, cnil_2022) = match self {
            PolicyPreset::Cnil2022RestrictedAccess => (8, CnilRule::RestrictedAccess),
            PolicyPreset::Cnil2022PasswordAlone => (12, CnilRule::PasswordAlone),
        };
        PasswordPolicy {
            min_length,
            cnil_2022,
            no_personal_data: true,
            common_passwords: true,
            breached_passwords: true,
            max_age: None,
            ..PasswordPolicy::default()
        }
    }
}

impl From<PasswordPolicyOverride> for PasswordPolicy {
    /// A configured policy: its preset (or the defaults) with the fields it
    /// names in place.
    fn from(fields: PasswordPolicyOverride) -> Self {
        fields.apply(&PasswordPolicy::default())
    }
}

/// A profile's changes to its institution's policy: only the fields given
/// replace the institution's; with a `preset`, they replace the preset's
/// instead (the institution's policy is then left aside).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicyOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<PolicyPreset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_classes: Option<Vec<CharClass>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_non_alphabetic: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forbidden_characters: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_accented_characters: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ascii_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dictionary: Option<DictionaryRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub banned_words: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_personal_data: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_count: Option<usize>,
    /// `"0s"` removes the institution's expiry for this profile.
    #[serde(
        default,
        with = "formats::duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_age: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_passwords: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breached_passwords: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnil_2022: Option<CnilRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_score: Option<u8>,
}

impl PasswordPolicyOverride {
    /// `base` (or the preset, when one is named) with this override's
    /// fields in place of its own.
    pub fn apply(&self, base: &PasswordPolicy) -> PasswordPolicy {
        let b = self
            .preset
            .map_or_else(|| base.clone(), PolicyPreset::policy);
        PasswordPolicy {
            min_length: self.min_length.unwrap_or(b.min_length),
            recommended_length: self.recommended_length.unwrap_or(b.recommended_length),
            max_length: self.max_length.unwrap_or(b.max_length),
            required_classes: self.required_classes.clone().unwrap_or(b.required_classes),
            min_non_alphabetic: self.min_non_alphabetic.unwrap_or(b.min_non_alphabetic),
            forbidden_characters: self
                .forbidden_characters
                .clone()
                .unwrap_or(b.forbidden_characters),
            no_accented_characters: self
                .no_accented_characters
                .unwrap_or(b.no_accented_characters),
            ascii_only: self.ascii_only.unwrap_or(b.ascii_only),
            dictionary: self.dictionary.clone().unwrap_or(b.dictionary),
            banned_words: self.banned_words.clone().unwrap_or(b.banned_words),
            no_personal_data: self.no_personal_data.unwrap_or(b.no_personal_data),
            history_count: self.history_count.unwrap_or(b.history_count),
            max_age: match self.max_age {
                Some(d) if d.is_zero() => None,
                Some(d) => Some(d),
                None => b.max_age,
            },
            renewal_reason: self.renewal_reason.clone().unwrap_or(b.renewal_reason),
            common_passwords: self.common_passwords.unwrap_or(b.common_passwords),
            breached_passwords: self.breached_passwords.unwrap_or(b.breached_passwords),
            cnil_2022: self.cnil_2022.unwrap_or(b.cnil_2022),
            min_score: self.min_score.unwrap_or(b.min_score),
        }
    }
}

/// Longest password any policy may allow: hashing and evaluation cost grow
/// with it.
pub const MAX_MAX_LENGTH: usize = 1024;
/// Shortest maximum a policy may set: passphrases must fit.
pub const MIN_MAX_LENGTH: usize = 64;
/// Most passwords a history may keep.
pub const MAX_HISTORY: usize = 24;

impl PasswordPolicy {
    /// Problems of this policy, each as (field, message).
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(4..=MIN_MAX_LENGTH).contains(&self.min_length) {
            out.push((
                "min_length",
                format!("must be between 4 and {MIN_MAX_LENGTH}"),
            ));
        }
        if !(MIN_MAX_LENGTH..=MAX_MAX_LENGTH).contains(&self.max_length) {
            out.push((
                "max_length",
                format!("must be between {MIN_MAX_LENGTH} and {MAX_MAX_LENGTH}"),
            ));
        }
        if self.recommended_length != 0
            && !(self.min_length..=self.max_length).contains(&self.recommended_length)
        {
            out.push((
                "recommended_length",
                "must be 0 or between min_length and max_length".to_owned(),
            ));
        }
        if self.min_non_alphabetic > self.min_length {
            out.push((
                "min_non_alphabetic",
                "must not exceed min_length".to_owned(),
            ));
        }
        if self
            .forbidden_characters
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
        {
            out.push((
                "forbidden_characters",
                "list visible characters only (control characters are always refused)".to_owned(),
            ));
        }
        if self.dictionary.mode != DictionaryMode::Off && self.dictionary.languages.is_empty() {
            out.push((
                "dictionary.languages",
                "name at least one word list (french, english)".to_owned(),
            ));
        }
        if !(3..=20).contains(&self.dictionary.min_word_length) {
            out.push((
                "dictionary.min_word_length",
                "must be between 3 and 20".to_owned(),
            ));
        }
        if self
            .banned_words
            .iter()
            .any(|w| super::words::fold(w).trim().chars().count() < 3)
        {
            out.push((
                "banned_words",
                "each word needs at least 3 letters".to_owned(),
            ));
        }
        if self.history_count > MAX_HISTORY {
            out.push(("history_count", format!("must be at most {MAX_HISTORY}")));
        }
        if self.max_age.is_some_and(|d| {
            d < Duration::from_secs(86_400) || d > Duration::from_secs(5 * 366 * 86_400)
        }) {
            out.push((
                "max_age",
                "must be between 1 day and 5 years (omit it for no expiry)".to_owned(),
            ));
        }
        if self.min_score > 4 {
            out.push(("min_score", "must be between 0 and 4".to_owned()));
        }
        out
    }

    /// Where this policy falls short of the CNIL's recommendation
    /// (délibération 2022-100), each as (field, advice): weaker than the
    /// case that applies (case 2 unless the policy declares case 1, since
    /// this service restricts guesses), no blocklist, or a periodic renewal
    /// with no reason given. Advice, not errors: an institution's own
    /// document may rule otherwise.
    pub fn cnil_advice(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let case = match self.cnil_2022 {
            CnilRule::Off => CnilRule::RestrictedAccess,
            declared => declared,
        };
        let needed = case.min_bits().unwrap_or_default();
        if !entropy::policy_meets(self, case) {
            out.push((
                "cnil_2022",
                format!(
                    "accepts passwords of {:.0} bits (min_length {} over the classes it requires), \
                     below the {needed} bits of the CNIL's recommendation 2022-100 for this case; \
                     set cnil_2022 = \"{}\" or a longer min_length",
                    entropy::policy_floor_bits(self).floor(),
                    self.min_length,
                    case.name(),
                ),
            ));
        }
        if !self.common_passwords && !self.breached_passwords {
            out.push((
                "breached_passwords",
                "no blocklist: the CNIL's recommendation asks for common and breached passwords \
                 to be refused"
                    .to_owned(),
            ));
        }
        if self.max_age.is_some() && self.renewal_reason.trim().is_empty() {
            out.push((
                "max_age",
                "forces periodic renewal, which the CNIL's recommendation advises against for \
                 ordinary users; say why in renewal_reason"
                    .to_owned(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_replaces_only_what_it_names() {
        let base = PasswordPolicy {
            min_length: 8,
            max_age: Some(Duration::from_secs(365 * 86_400)),
            ..PasswordPolicy::default()
        };
        let patch = PasswordPolicyOverride {
            forbidden_characters: Some("<>".into()),
            max_age: Some(Duration::ZERO),
            ..Default::default()
        };
        let merged = patch.apply(&base);
        assert_eq!(merged.min_length, 8);
        assert_eq!(merged.forbidden_characters, "<>");
        assert_eq!(merged.max_age, None);
    }

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(PasswordPolicy::default().problems().is_empty());
        let bad = PasswordPolicy {
            min_length: 2,
            max_length: 32,
            min_score: 7,
            history_count: 100,
            ..PasswordPolicy::default()
        };
        let fields: Vec<_> = bad.problems().into_iter().map(|(f, _)| f).collect();
        for f in ["min_length", "max_length", "min_score", "history_count"] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }
}
