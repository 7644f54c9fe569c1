//! The texts in English.

use super::{Refused, Wait};
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
            "A verification is waiting: follow the link you received."
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
        Exhausted::TooManyGuesses => {
            format!("Too many unsuccessful attempts: try again in {minutes} min.")
        }
        Exhausted::TooManyRequests => format!("Too many requests: try again in {minutes} min."),
    }
}

pub fn refused(refusal: Refused<'_>) -> String {
    match refusal {
        Refused::Invalid { summary, .. } => format!("Some information is invalid: {summary}."),
        Refused::NotFound { detail } => format!("Not found: {detail}."),
        Refused::Unauthenticated => "The calling service is not authenticated.".into(),
        Refused::PermissionDenied { detail } => format!("Access denied: {detail}."),
        Refused::Aborted { detail } => detail.to_owned(),
        Refused::DeadlineExceeded { detail } => format!("Deadline exceeded: {detail}."),
        Refused::AlreadyExists { detail, .. } => detail.to_owned(),
        Refused::Internal { request_id } => {
            format!("Internal error: give the helpdesk the reference {request_id}.")
        }
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
