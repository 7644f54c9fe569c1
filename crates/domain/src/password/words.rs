//! Word lists (see `wordlists/README.md`) and the folding that makes a
//! password comparable with them: case, accents and common character
//! substitutions (`p@ssw0rd`) do not hide a word.

use std::sync::LazyLock;

use fst::raw::Fst;
use serde::{Deserialize, Serialize};

/// A dictionary shipped with the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dictionary {
    /// French words (about 319,000 forms, conjugations included).
    French,
    /// English words (about 275,000 forms).
    English,
}

static FRENCH: LazyLock<Fst<&'static [u8]>> = LazyLock::new(|| embedded(FRENCH_BYTES));
static ENGLISH: LazyLock<Fst<&'static [u8]>> = LazyLock::new(|| embedded(ENGLISH_BYTES));
static COMMON_PASSWORDS: LazyLock<Fst<&'static [u8]>> =
    LazyLock::new(|| embedded(COMMON_PASSWORD_BYTES));

const FRENCH_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fr.fst"));
const ENGLISH_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/en.fst"));
const COMMON_PASSWORD_BYTES: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/common-passwords.fst"));
static BREACHED_PASSWORDS: LazyLock<Fst<&'static [u8]>> =
    LazyLock::new(|| embedded(BREACHED_PASSWORD_BYTES));
const BREACHED_PASSWORD_BYTES: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/breached-passwords.fst"));

fn embedded(bytes: &'static [u8]) -> Fst<&'static [u8]> {
    // build.rs wrote these bytes with the same fst version: they always load.
    Fst::new(bytes).expect("word list built by build.rs")
}

impl Dictionary {
    fn set(self) -> &'static Fst<&'static [u8]> {
        match self {
            Dictionary::French => &FRENCH,
            Dictionary::English => &ENGLISH,
        }
    }

    /// Whether `word` (folded) is in the dictionary.
    pub fn contains(self, word: &str) -> bool {
        self.set().contains_key(word)
    }

    /// The longest word of at least `min_len` bytes that occurs in `text`
    /// (folded), if any.
    pub fn longest_embedded(self, text: &str, min_len: usize) -> Option<&str> {
        longest_embedded(self.set(), text, min_len)
    }
}

/// Loads the word lists now rather than on the first password evaluated.
pub fn warm_up() {
    LazyLock::force(&FRENCH);
    LazyLock::force(&ENGLISH);
    LazyLock::force(&COMMON_PASSWORDS);
    LazyLock::force(&BREACHED_PASSWORDS);
}

/// Whether `folded` (lowercase) was found in a public breach.
pub fn is_breached_password(folded: &str) -> bool {
    BREACHED_PASSWORDS.contains_key(folded)
}

/// Whether `folded` is one of the most common passwords.
pub fn is_common_password(folded: &str) -> bool {
    COMMON_PASSWORDS.contains_key(folded)
}

fn longest_embedded<'t>(
    set: &Fst<&'static [u8]>,
    text: &'t str,
    min_len: usize,
) -> Option<&'t str> {
    let bytes = text.as_bytes();
    let mut best: Option<(usize, usize)> = None;
    for start in 0..bytes.len() {
        if !text.is_char_boundary(start) {
            continue;
        }
        // Walk the automaton from this position while it has a transition.
        let mut node = set.root();
        for (offset, &byte) in bytes[start..].iter().enumerate() {
            let Some(index) = node.find_input(byte) else {
                break;
            };
            node = set.node(node.transition(index).addr);
            let len = offset + 1;
            if node.is_final() && len >= min_len && best.is_none_or(|(_, l)| len > l) {
                best = Some((start, len));
            }
        }
    }
    best.map(|(start, len)| &text[start..start + len])
}

/// Lowercases and strips accents (`É` → `e`, `œ` → `oe`) letter by letter;
/// other characters stay as they are when ASCII and become a space
/// otherwise, so that a symbol never turns into a word.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c.is_alphabetic() {
            match deunicode::deunicode_char(c) {
                Some(ascii)
                    if !ascii.is_empty() && ascii.chars().all(|a| a.is_ascii_alphabetic()) =>
                {
                    out.extend(ascii.chars().map(|a| a.to_ascii_lowercase()))
                }
                _ => out.push(' '),
            }
        } else {
            out.push(' ');
        }
    }
    out
}

/// The readings of a folded password with look-alike characters replaced by
/// the letters they stand for (`p@ssw0rd` → `password`); `1` and `|` read
/// both as `i` and as `l`. The folded text itself comes first.
pub fn readings(folded: &str) -> Vec<String> {
    let mut out = vec![folded.to_owned()];
    if !folded.chars().any(|c| substitute(c, 'i').is_some()) {
        return out;
    }
    for one in ['i', 'l'] {
        let reading: String = folded
            .chars()
            .map(|c| substitute(c, one).unwrap_or(c))
            .collect();
        if !out.contains(&reading) {
            out.push(reading);
        }
    }
    out
}

fn substitute(c: char, one: char) -> Option<char> {
    Some(match c {
        '0' => 'o',
        '1' | '|' => one,
        '!' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '8' => 'b',
        '9' => 'g',
        _ => return None,
    })
}

/// `folded` without the non-letters at either end (`bonjour2024!` →
/// `bonjour`): what a user means by "the password is a word".
pub fn core(folded: &str) -> &str {
    folded.trim_matches(|c: char| !c.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_load_and_answer() {
        assert!(Dictionary::French.contains("soleil"));
        assert!(Dictionary::French.contains("ete"));
        assert!(Dictionary::English.contains("password"));
        assert!(!Dictionary::French.contains("xkqzwv"));
        assert!(is_common_password("azerty"));
        assert!(is_common_password("123456"));
        assert!(!is_common_password("vq7!kd02;lm"));
    }

    #[test]
    fn finds_the_longest_embedded_word() {
        assert_eq!(
            Dictionary::French.longest_embedded("xx9soleilzz", 5),
            Some("soleil")
        );
        assert_eq!(Dictionary::French.longest_embedded("q7#vkz", 4), None);
        assert_eq!(Dictionary::French.longest_embedded("", 4), None);
    }

    #[test]
    fn folds_case_accents_and_look_alikes() {
        assert_eq!(fold("ÉtéŒuvre!"), "eteoeuvre!");
        assert_eq!(fold("a😀b"), "a b");
        assert_eq!(readings("p@ssw0rd"), vec!["p@ssw0rd", "password"]);
        assert_eq!(readings("abc"), vec!["abc"]);
        assert_eq!(readings("1ou1ou"), vec!["1ou1ou", "iouiou", "loulou"]);
        assert_eq!(core("2024bonjour!!"), "bonjour");
        assert_eq!(core("1234"), "");
    }
}
