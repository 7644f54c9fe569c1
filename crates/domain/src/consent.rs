//! The options a person chooses among for the three consents the service
//! itself knows (photo use, directory listing, data sharing with the
//! Crous): the API carries their answers in fields of their own, and their
//! effects are the service's (a refused photo is deleted, an unlisted
//! person is `supannListeRouge`). An institution declares them like its
//! other consent items (`consents.photo_use`, ...: words, LDAP values,
//! withdrawal), under these reserved codes and with these choices: each
//! university names its directory in its own way (Bordeaux Montaigne:
//! "l'annuaire du bureau virtuel"; Montpellier: "le futur annuaire
//! public").

use serde::{Deserialize, Serialize};

use crate::activation::Step;
use crate::language::Language;

/// One option offered for a consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConsentOption {
    /// Keep the photo to reprint the student card.
    PhotoCardReprint,
    /// The photo on tutorial (TD) sheets.
    PhotoTutorialSheets,
    /// The photo in the teachers' photo directory.
    PhotoDirectory,
    /// No use of the photo at all (it is deleted).
    PhotoRefuse,
    DirectoryListed,
    DirectoryUnlisted,
    CrousSharing,
    CrousNoSharing,
}

impl ConsentOption {
    /// Every option, in the order they are shown.
    pub const ALL: [ConsentOption; 8] = [
        ConsentOption::PhotoCardReprint,
        ConsentOption::PhotoTutorialSheets,
        ConsentOption::PhotoDirectory,
        ConsentOption::PhotoRefuse,
        ConsentOption::DirectoryListed,
        ConsentOption::DirectoryUnlisted,
        ConsentOption::CrousSharing,
        ConsentOption::CrousNoSharing,
    ];

    /// The journey item it answers.
    pub fn step(self) -> Step {
        match self {
            ConsentOption::PhotoCardReprint
            | ConsentOption::PhotoTutorialSheets
            | ConsentOption::PhotoDirectory
            | ConsentOption::PhotoRefuse => Step::PhotoUse,
            ConsentOption::DirectoryListed | ConsentOption::DirectoryUnlisted => {
                Step::DirectoryListing
            }
            ConsentOption::CrousSharing | ConsentOption::CrousNoSharing => Step::CrousSharing,
        }
    }

    /// The value a client sends back for it.
    pub fn value(self) -> &'static str {
        match self {
            ConsentOption::PhotoCardReprint => "card_reprint",
            ConsentOption::PhotoTutorialSheets => "tutorial_sheets",
            ConsentOption::PhotoDirectory => "photo_directory",
            ConsentOption::PhotoRefuse => "refuse",
            ConsentOption::DirectoryListed | ConsentOption::CrousSharing => "true",
            ConsentOption::DirectoryUnlisted | ConsentOption::CrousNoSharing => "false",
        }
    }
}

/// The code under `consents` that declares the service's own item `step`
/// (its step's name); none for other steps.
pub fn reserved_code(step: Step) -> Option<&'static str> {
    match step {
        Step::DirectoryListing => Some("directory_listing"),
        Step::PhotoUse => Some("photo_use"),
        Step::CrousSharing => Some("crous_sharing"),
        _ => None,
    }
}

/// The service's own item a reserved consent code declares.
pub fn reserved_step(code: &str) -> Option<Step> {
    [Step::DirectoryListing, Step::PhotoUse, Step::CrousSharing]
        .into_iter()
        .find(|s| reserved_code(*s) == Some(code))
}

/// The options of the service's own item `step`.
pub fn options_of(step: Step) -> impl Iterator<Item = ConsentOption> {
    ConsentOption::ALL
        .into_iter()
        .filter(move |o| o.step() == step)
}

impl ConsentOption {
    /// Whether choosing it refuses its item (`refuse`, `false`).
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            ConsentOption::PhotoRefuse
                | ConsentOption::DirectoryUnlisted
                | ConsentOption::CrousNoSharing
        )
    }
}

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub fr: String,
    pub en: String,
}

impl Localized {
    pub fn pick(&self, language: Language) -> &str {
        language.pick(&self.fr, &self.en)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_those_clients_send_back() {
        let photo: Vec<&str> = ConsentOption::ALL
            .iter()
            .filter(|o| o.step() == Step::PhotoUse)
            .map(|o| o.value())
            .collect();
        assert_eq!(
            photo,
            [
                "card_reprint",
                "tutorial_sheets",
                "photo_directory",
                "refuse"
            ]
        );
        for option in ConsentOption::ALL {
            if option.step() == Step::PhotoUse && option != ConsentOption::PhotoRefuse {
                assert!(crate::activation::PhotoUse::parse(option.value()).is_some());
            }
        }
    }
}
