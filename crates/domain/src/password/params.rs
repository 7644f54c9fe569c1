//! The parameters of a refused password rule, for a portal writing its own
//! text (the service's sentences are in the app's texts).

use super::evaluate::Violation;

impl Violation {
    /// Parameters of the rule, by name (`min` = `10`).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Violation::TooShort { min } | Violation::TooFewNonAlphabetic { min } => {
                vec![("min", min.to_string())]
            }
            Violation::TooLong { max } => vec![("max", max.to_string())],
            Violation::MissingClass(class) => vec![("class", class.name().to_owned())],
            Violation::ForbiddenCharacter { characters } => {
                vec![("characters", shown(characters))]
            }
            Violation::DictionaryWord { word } => vec![("word", word.clone())],
            Violation::ContainsPersonalData { part } => vec![("part", part.name().to_owned())],
            Violation::Reused { count } => vec![("count", count.to_string())],
            Violation::TooWeak { min_score } => vec![("score", min_score.to_string())],
            Violation::LowEntropy { min_bits } => vec![("min_bits", min_bits.to_string())],
            Violation::AccentedCharacter
            | Violation::CommonPassword
            | Violation::BreachedPassword
            | Violation::ConfirmationMismatch => Vec::new(),
        }
    }
}

/// Characters as a person can read them: control characters by code point.
pub fn shown(characters: &[char]) -> String {
    characters
        .iter()
        .map(|&c| {
            if c.is_control() || c.is_whitespace() {
                format!("U+{:04X}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_by_code_point() {
        let f = Violation::ForbiddenCharacter {
            characters: vec!['<', '\t'],
        };
        assert_eq!(f.params(), vec![("characters", "< U+0009".to_owned())]);
    }
}
