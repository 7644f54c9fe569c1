//! What a refused password's rules say, in French (the default) or English,
//! with the parameters a portal needs to write its own text.

use super::evaluate::{PersonalPart, Violation};
use super::policy::CharClass;
use crate::language::Language;

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
            Violation::AccentedCharacter
            | Violation::CommonPassword
            | Violation::ConfirmationMismatch => Vec::new(),
        }
    }

    /// The rule as a sentence for the person typing.
    pub fn message(&self, language: Language) -> String {
        let fr = language == Language::French;
        match self {
            Violation::TooShort { min } => if fr {
                format!("Le mot de passe doit comporter au moins {min} caractères.")
            } else {
                format!("The password must be at least {min} characters long.")
            },
            Violation::TooLong { max } => if fr {
                format!("Le mot de passe doit comporter au plus {max} caractères.")
            } else {
                format!("The password must be at most {max} characters long.")
            },
            Violation::MissingClass(class) => {
                let (fr_class, en_class) = match class {
                    CharClass::Letter => ("une lettre", "a letter"),
                    CharClass::Digit => ("un chiffre", "a digit"),
                    CharClass::Lower => ("une lettre minuscule", "a lowercase letter"),
                    CharClass::Upper => ("une lettre majuscule", "an uppercase letter"),
                    CharClass::Special => (
                        "un caractère spécial (ponctuation, symbole)",
                        "a special character (punctuation, symbol)",
                    ),
                };
                if fr {
                    format!("Le mot de passe doit comporter au moins {fr_class}.")
                } else {
                    format!("The password must contain at least {en_class}.")
                }
            }
            Violation::TooFewNonAlphabetic { min } => if fr {
                format!(
                    "Le mot de passe doit comporter au moins {min} caractères non alphabétiques \
                     (chiffres ou signes de ponctuation)."
                )
            } else {
                format!(
                    "The password must contain at least {min} non-alphabetic characters \
                     (digits or punctuation)."
                )
            },
            Violation::ForbiddenCharacter { characters } => if fr {
                format!("Ces caractères sont refusés : {}.", shown(characters))
            } else {
                format!("These characters are not allowed: {}.", shown(characters))
            },
            Violation::AccentedCharacter => language
                .pick(
                    "Le mot de passe ne doit pas comporter de caractères accentués.",
                    "The password must not contain accented characters.",
                )
                .to_owned(),
            Violation::DictionaryWord { word } => if fr {
                format!("Le mot de passe ne doit pas être ni contenir un mot du dictionnaire (« {word} »).")
            } else {
                format!("The password must not be or contain a dictionary word (\"{word}\").")
            },
            Violation::ContainsPersonalData { part } => {
                let (fr_part, en_part) = match part {
                    PersonalPart::GivenName => ("votre prénom", "your given name"),
                    PersonalPart::FamilyName => ("votre nom", "your family name"),
                    PersonalPart::Login => ("votre identifiant", "your login"),
                };
                if fr {
                    format!("Le mot de passe ne doit pas contenir {fr_part}.")
                } else {
                    format!("The password must not contain {en_part}.")
                }
            }
            Violation::Reused { count } => match (fr, *count) {
                (true, 1) => "Ce mot de passe est celui que vous utilisez déjà.".to_owned(),
                (true, n) => format!(
                    "Ce mot de passe a déjà été utilisé : choisissez-en un différent de vos {n} derniers."
                ),
                (false, 1) => "This is the password you already use.".to_owned(),
                (false, n) => format!(
                    "This password was used before: choose one different from your last {n}."
                ),
            },
            Violation::CommonPassword => language
                .pick(
                    "Ce mot de passe fait partie des plus courants : choisissez-en un autre.",
                    "This password is one of the most common: choose another one.",
                )
                .to_owned(),
            Violation::ConfirmationMismatch => language
                .pick(
                    "Les deux saisies du mot de passe ne sont pas identiques.",
                    "The two entries of the password do not match.",
                )
                .to_owned(),
            Violation::TooWeak { .. } => language
                .pick(
                    "Le mot de passe est trop facile à deviner : allongez-le ou mélangez davantage.",
                    "The password is too easy to guess: make it longer or less predictable.",
                )
                .to_owned(),
        }
    }
}

/// Characters as a person can read them: control characters by code point.
fn shown(characters: &[char]) -> String {
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

/// The rules of a policy as sentences, for the screen that asks for a
/// password (the same wording as the refusals).
pub fn rule_descriptions(policy: &super::PasswordPolicy, language: Language) -> Vec<String> {
    use super::policy::DictionaryMode;
    let mut rules = vec![Violation::TooShort {
        min: policy.min_length,
    }];
    rules.extend(
        policy
            .required_classes
            .iter()
            .map(|c| Violation::MissingClass(*c)),
    );
    if policy.min_non_alphabetic > 0 {
        rules.push(Violation::TooFewNonAlphabetic {
            min: policy.min_non_alphabetic,
        });
    }
    if !policy.forbidden_characters.is_empty() {
        rules.push(Violation::ForbiddenCharacter {
            characters: policy.forbidden_characters.chars().collect(),
        });
    }
    if policy.no_accented_characters {
        rules.push(Violation::AccentedCharacter);
    }
    let mut out: Vec<String> = rules.iter().map(|r| r.message(language)).collect();
    match policy.dictionary.mode {
        DictionaryMode::Off => {}
        DictionaryMode::Whole => out.push(
            language
                .pick(
                    "Le mot de passe ne doit pas être un mot du dictionnaire.",
                    "The password must not be a dictionary word.",
                )
                .to_owned(),
        ),
        DictionaryMode::Contains => out.push(
            language
                .pick(
                    "Le mot de passe ne doit pas contenir un mot du dictionnaire.",
                    "The password must not contain a dictionary word.",
                )
                .to_owned(),
        ),
    }
    if policy.no_personal_data {
        out.push(
            language
                .pick(
                    "Le mot de passe ne doit pas contenir votre nom, votre prénom ni votre identifiant.",
                    "The password must not contain your name or your login.",
                )
                .to_owned(),
        );
    }
    if policy.history_count > 0 {
        let n = policy.history_count;
        out.push(if language == Language::French {
            format!("Le mot de passe ne doit pas être l'un de vos {n} derniers.")
        } else {
            format!("The password must not be one of your last {n}.")
        });
    }
    if let Some(age) = policy.max_age {
        let days = age.as_secs() / 86_400;
        out.push(if language == Language::French {
            format!("Le mot de passe devra être changé au plus tard {days} jours après son choix.")
        } else {
            format!("The password must be changed at most {days} days after it is chosen.")
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_in_both_languages() {
        let v = Violation::TooShort { min: 10 };
        assert_eq!(
            v.message(Language::French),
            "Le mot de passe doit comporter au moins 10 caractères."
        );
        assert_eq!(
            v.message(Language::English),
            "The password must be at least 10 characters long."
        );
        let f = Violation::ForbiddenCharacter {
            characters: vec!['<', '\t'],
        };
        assert_eq!(f.params(), vec![("characters", "< U+0009".to_owned())]);
    }
}
