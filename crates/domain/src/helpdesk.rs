//! The desk: agents of the IT support or the student office who help a
//! person in person when self-service fails ("adressez-vous au personnel
//! de l'espace numérique (K103)", Bordeaux). What they type, parsed once.

use crate::login::fold_name;
use crate::problem::Problem;

/// At most this many namesakes born the same day are shown to a desk.
pub const MAX_PEOPLE_FOUND: usize = 20;

/// The agent at the desk, as the helpdesk tool names them (their login):
/// 1 to 64 characters, none of them a control character. The audit trail
/// records it beside the calling client, and rate limits count per agent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DeskAgent(String);

impl DeskAgent {
    pub fn parse(raw: &str) -> Result<DeskAgent, Problem> {
        let agent = raw.trim();
        if agent.is_empty() {
            return Err(Problem::Missing);
        }
        if agent.chars().count() > 64 {
            return Err(Problem::TooLong { max: 64 });
        }
        if agent.chars().any(char::is_control) {
            return Err(Problem::ControlCharacters);
        }
        Ok(DeskAgent(agent.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The reference of a person's written request for a copy of their data
/// (a ticket, a letter's registration number): 1 to 128 characters, none
/// of them a control character. The right of access is answered "on
/// request" (RGPD art. 15, 12.6: the controller checks who asks); the
/// audit trail and the mail to the person name the request it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenRequest(String);

impl WrittenRequest {
    pub fn parse(raw: &str) -> Result<WrittenRequest, Problem> {
        let reference = raw.trim();
        if reference.is_empty() {
            return Err(Problem::Missing);
        }
        if reference.chars().count() > 128 {
            return Err(Problem::TooLong { max: 128 });
        }
        if reference.chars().any(char::is_control) {
            return Err(Problem::ControlCharacters);
        }
        Ok(WrittenRequest(reference.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a desk agent did for a person, as the mail telling them names it:
/// a hand-over the owner did not ask for is then noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeskAction {
    /// A link to choose a new password.
    PasswordReset,
    /// New activation material: a key, a provisional password or a link.
    Activation,
    /// A new recovery address, to be confirmed from its mailbox.
    RecoveryMailChange,
}

impl DeskAction {
    /// The outbox template of the mail that tells the person.
    pub fn template(self) -> &'static str {
        match self {
            DeskAction::PasswordReset => "desk_password_reset",
            DeskAction::Activation => "desk_activation",
            DeskAction::RecoveryMailChange => "desk_recovery_mail_change",
        }
    }
}

/// Whether the family name on record is the one `typed`, without case,
/// accents, spaces or punctuation: `N'GUESSAN` finds `N'Guessan`,
/// `Lefevre` finds `Lefèvre`.
pub fn family_name_matches(on_record: &str, typed: &str) -> bool {
    let typed = fold_name(typed);
    !typed.is_empty() && fold_name(on_record) == typed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_are_named_on_one_line_of_at_most_64_characters() {
        assert_eq!(DeskAgent::parse("  mdupont ").unwrap().as_str(), "mdupont");
        assert_eq!(DeskAgent::parse(" "), Err(Problem::Missing));
        assert_eq!(
            DeskAgent::parse(&"a".repeat(65)),
            Err(Problem::TooLong { max: 64 })
        );
        assert!(DeskAgent::parse(&"é".repeat(64)).is_ok());
        assert_eq!(
            DeskAgent::parse("m\ndupont"),
            Err(Problem::ControlCharacters)
        );
    }

    #[test]
    fn family_names_match_without_case_accents_or_punctuation() {
        let on_record = "N'Guessan-Lefèvre";
        assert!(family_name_matches(on_record, "nguessan lefevre"));
        assert!(family_name_matches(on_record, "N'GUESSAN-LEFÈVRE"));
        assert!(!family_name_matches(on_record, "Nguessan"));
        assert!(!family_name_matches(on_record, "--"));
    }
}
