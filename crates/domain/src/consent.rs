//! The options a person chooses among for the consents an activation
//! collects (photo use, directory listing, data sharing with the Crous),
//! and the words an institution may give them: each university names its
//! directory in its own way (Bordeaux Montaigne: "l'annuaire du bureau
//! virtuel"; Montpellier: "le futur annuaire public").

use serde::{Deserialize, Serialize};

use crate::activation::Step;
use crate::language::Language;

/// One option offered for a consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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

    /// Its name in the configuration (`consent_wording.<key>`).
    pub fn key(self) -> &'static str {
        match self {
            ConsentOption::PhotoCardReprint => "photo_card_reprint",
            ConsentOption::PhotoTutorialSheets => "photo_tutorial_sheets",
            ConsentOption::PhotoDirectory => "photo_directory",
            ConsentOption::PhotoRefuse => "photo_refuse",
            ConsentOption::DirectoryListed => "directory_listed",
            ConsentOption::DirectoryUnlisted => "directory_unlisted",
            ConsentOption::CrousSharing => "crous_sharing",
            ConsentOption::CrousNoSharing => "crous_no_sharing",
        }
    }

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

/// An institution's own words for an option.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionWording {
    pub label: Localized,
    /// What the person must know before choosing it; absent: the
    /// service's own caveat, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caveat: Option<Localized>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_those_the_configuration_reads() {
        #[derive(Deserialize)]
        struct Keyed {
            option: ConsentOption,
        }
        for option in ConsentOption::ALL {
            let read: Keyed = toml::from_str(&format!("option = {:?}", option.key())).unwrap();
            assert_eq!(read.option, option);
        }
    }

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
