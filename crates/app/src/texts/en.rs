//! The texts in English.

use domain::password::Violation;
use domain::password::evaluate::PersonalPart;
use domain::password::params::shown;
use domain::password::policy::CharClass;

use super::{ConsentNotice, PolicyRule, Refused, Wait};
use domain::consent::ConsentOption;
use domain::refusal::{Exhausted, Precondition};

pub fn precondition(refusal: Precondition) -> &'static str {
    match refusal {
        Precondition::AccountState => {
            "This account does not allow this in its current state: contact the helpdesk."
        }
        Precondition::AccountExpired => "This account has expired.",
        Precondition::ActivationNotOpen => "Activation of this account is not open yet.",
        Precondition::ActivationChannel => {
            "This profile does not activate with a printed document."
        }
        Precondition::AlreadyActive => {
            "This account is already activated: log in, or use password recovery."
        }
        Precondition::AwaitingVerification => {
            "A verification is waiting: follow the link you received by mail, or type its code."
        }
        Precondition::CodeExpired => "This code has expired: ask for a new one.",
        Precondition::Configuration => {
            "The service is not configured for this account: contact the helpdesk."
        }
        Precondition::ConsentNotOffered => "Your institution does not ask for this consent.",
        Precondition::ExtensionDecided => "This request has already been handled.",
        Precondition::ExtensionPending => "An extension request is already waiting.",
        Precondition::FlowCompleted => "This activation is already complete.",
        Precondition::LinkExpired => "This link has expired: ask for a new one.",
        Precondition::Login => "No login is available for this person: contact the helpdesk.",
        Precondition::NoDeparture => "No end of activity is recorded for this account.",
        Precondition::NoMailbox => "This account has no mailbox at the institution.",
        Precondition::NoPhone => "No phone number is known for this account.",
        Precondition::NotOffered => "Your institution does not offer this service.",
        Precondition::StaffOnly => "This setting is for the institution's staff only.",
        Precondition::NotRenewable => "This account cannot be kept longer.",
        Precondition::NothingToResend => "There is no message to send again.",
        Precondition::NothingToVerify => "There is nothing to verify.",
        Precondition::Password => "The password was changed meanwhile: start again.",
        Precondition::PhotoRefusalIrreversible => {
            "Refusing the use of your photo cannot be undone here."
        }
        Precondition::RedirectMandatory => "Mail redirection is mandatory for this profile.",
        Precondition::TooManyAttempts => {
            "Too many wrong entries: this code no longer works, ask for a new one."
        }
    }
}

pub fn exhausted(limit: Exhausted, wait: Wait) -> String {
    let Wait { seconds, minutes } = wait;
    match limit {
        Exhausted::Busy => "The service is very busy: retry in a moment.".into(),
        Exhausted::ResendTooSoon => {
            format!("A message was sent moments ago: wait {seconds} s before asking for another.")
        }
        Exhausted::TooManyGuesses if seconds < 60 => {
            format!("Too many unsuccessful attempts: try again in {seconds} s.")
        }
        Exhausted::TooManyGuesses => {
            format!("Too many unsuccessful attempts: try again in {minutes} min.")
        }
        Exhausted::TooManyRequests => format!("Too many requests: try again in {minutes} min."),
    }
}

pub fn refused(refusal: Refused<'_>) -> String {
    match refusal {
        Refused::Invalid { descriptions } => {
            format!("Some information is invalid: {descriptions}.")
        }
        Refused::NotFound { detail } => format!("Not found: {detail}."),
        Refused::Unauthenticated => "The calling service is not authenticated.".into(),
        Refused::PermissionDenied { detail } => format!("Access denied: {detail}."),
        Refused::Aborted { detail } => detail.to_owned(),
        Refused::DeadlineExceeded { detail } => format!("Deadline exceeded: {detail}."),
        Refused::AlreadyExists { detail, .. } => detail.to_owned(),
        Refused::Internal { request_id } => {
            format!("Internal error: give the helpdesk the reference {request_id}.")
        }
        Refused::Unavailable => {
            "The service is unavailable for a moment: try again shortly.".into()
        }
        Refused::Undecodable => "The request could not be read: nothing was done.".into(),
    }
}

/// The service's words for a consent option: its label and the caveat the
/// person must read before choosing it (empty: none).
pub fn consent_option(option: ConsentOption) -> (&'static str, &'static str) {
    match option {
        ConsentOption::PhotoCardReprint => (
            "I allow my photo to be kept to reprint my student card if needed.",
            "",
        ),
        ConsentOption::PhotoTutorialSheets => ("I allow my photo on tutorial (TD) sheets.", ""),
        ConsentOption::PhotoDirectory => ("I allow my photo in the teachers' photo directory.", ""),
        ConsentOption::PhotoRefuse => (
            "I refuse any use of my photo, for the card and the photo directories.",
            "This cannot be undone. The photo will be deleted for good; a new photo will be needed to renew the card.",
        ),
        ConsentOption::DirectoryListed => ("I want to be listed in the directory.", ""),
        ConsentOption::DirectoryUnlisted => ("I do not want to be listed in the directory.", ""),
        ConsentOption::CrousSharing => (
            "I allow my personal data to be shared with the Crous.",
            "Needed for student prices in Crous restaurants and for Izly payment. If you later withdraw, the university stops sending your data, but you must ask the Crous to delete what it already holds.",
        ),
        ConsentOption::CrousNoSharing => (
            "I do not allow my personal data to be shared with the Crous.",
            "Without it, no Izly account linked to your student card.",
        ),
    }
}

/// A refused password rule, as the person typing reads it.
pub fn password_violation(v: &Violation) -> String {
    match v {
        Violation::TooShort { min } => {
            format!("The password must be at least {min} characters long.")
        }
        Violation::TooLong { max } => {
            format!("The password must be at most {max} characters long.")
        }
        Violation::MissingClass(class) => {
            let class = match class {
                CharClass::Letter => "a letter",
                CharClass::Digit => "a digit",
                CharClass::Lower => "a lowercase letter",
                CharClass::Upper => "an uppercase letter",
                CharClass::Special => "a special character (punctuation, symbol)",
            };
            format!("The password must contain at least {class}.")
        }
        Violation::TooFewNonAlphabetic { min } => format!(
            "The password must contain at least {min} non-alphabetic characters \
             (digits or punctuation)."
        ),
        Violation::ForbiddenCharacter { characters } => {
            format!("These characters are not allowed: {}.", shown(characters))
        }
        Violation::AccentedCharacter => "The password must not contain accented characters.".into(),
        Violation::DictionaryWord { word } => {
            format!("The password must not be or contain a dictionary word (\"{word}\").")
        }
        Violation::ContainsPersonalData { part } => {
            let part = match part {
                PersonalPart::GivenName => "your given name",
                PersonalPart::FamilyName => "your family name",
                PersonalPart::Login => "your login",
            };
            format!("The password must not contain {part}.")
        }
        Violation::Reused { count: 1 } => "This is the password you already use.".into(),
        Violation::Reused { count } => {
            format!("This password was used before: choose one different from your last {count}.")
        }
        Violation::CommonPassword => {
            "This password is one of the most common: choose another one.".into()
        }
        Violation::ConfirmationMismatch => "The two entries of the password do not match.".into(),
        Violation::TooWeak { .. } => {
            "The password is too easy to guess: make it longer or less predictable.".into()
        }
    }
}

/// A rule of a password policy that no refusal words, as the screen that
/// asks for a password lists it.
pub fn policy_rule(rule: PolicyRule) -> String {
    match rule {
        PolicyRule::NotADictionaryWord => "The password must not be a dictionary word.".into(),
        PolicyRule::NoDictionaryWord => "The password must not contain a dictionary word.".into(),
        PolicyRule::NoPersonalData => {
            "The password must not contain your name or your login.".into()
        }
        PolicyRule::NotRecent(n) => format!("The password must not be one of your last {n}."),
        PolicyRule::MaxAgeDays(days) => {
            format!("The password must be changed at most {days} days after it is chosen.")
        }
    }
}

pub const WRONG_CURRENT_PASSWORD: &str = "the current password is wrong";

pub fn consent_notice(notice: ConsentNotice) -> &'static str {
    match notice {
        ConsentNotice::PhotoDeleted => {
            "Your photo will be deleted. This refusal is final: a new photo will be needed for any card renewal."
        }
        ConsentNotice::CrousRevoked => {
            "The university will no longer send your data to the Crous. Data already sent is not deleted: ask the Crous directly."
        }
    }
}

/// Where a completed activation leads when the profile names no page.
pub const SIGN_IN_TO_PORTAL: &str = "Sign in to the portal";

/// Submitting a screen before typing the code sent by SMS and mail.
pub const AWAITING_CODE: &str = "First type the code you received by SMS (and mail) to go on.";
