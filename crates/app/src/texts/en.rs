//! The texts in English.

use domain::password::Violation;
use domain::password::evaluate::PersonalPart;
use domain::password::params::shown;
use domain::password::policy::CharClass;
use domain::problem::Problem;

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
        Precondition::CursorExpired => {
            "This cursor is too old: the changes after it are no longer kept. Resynchronise the directory."
        }
        Precondition::Configuration => {
            "The service is not configured for this account: contact the helpdesk."
        }
        Precondition::ConsentNotOffered => "Your institution does not ask for this consent.",
        Precondition::ExtensionDecided => "This request has already been handled.",
        Precondition::ExtensionPending => "An extension request is already waiting.",
        Precondition::FlowCompleted => "This activation is already complete.",
        Precondition::HeldRecordDecided => "This held record was decided already.",
        Precondition::InvitationDecided => "This invitation was decided already.",
        Precondition::LinkExpired => "This link has expired: ask for a new one.",
        Precondition::Login => "No login is available for this person: contact the helpdesk.",
        Precondition::NoDeparture => "No end of activity is recorded for this account.",
        Precondition::NoMailbox => "This account has no mailbox at the institution.",
        Precondition::NoPhone => "No phone number is known for this account.",
        Precondition::NotASponsor => "This account may not invite guests: contact the helpdesk.",
        Precondition::NotOffered => "Your institution does not offer this service.",
        Precondition::StaffOnly => "This setting is for the institution's staff only.",
        Precondition::NotRenewable => "This account cannot be kept longer.",
        Precondition::NothingToResend => "There is no message to send again.",
        Precondition::NothingToVerify => "There is nothing to verify.",
        Precondition::Password => "The password was changed meanwhile: start again.",
        Precondition::PhotoRefusalIrreversible => {
            "Refusing the use of your photo cannot be undone here."
        }
        Precondition::ConsentNotWithdrawable => {
            "This permission cannot be withdrawn here: contact the helpdesk."
        }
        Precondition::ConsentRefusalFinal => "You refused: this choice is final.",
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
            format!("Some information needs correcting. {descriptions}")
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
        Violation::BreachedPassword => {
            "This password appears in lists of passwords stolen in data breaches: choose another one."
                .into()
        }
        Violation::LowEntropy { min_bits } => {
            let [all_four, letters_and_digits, lowercase] = super::entropy_lengths(*min_bits);
            format!(
                "The password must be long enough for the kinds of characters it mixes: at least \
                 {all_four} characters mixing lowercase, uppercase, digits and special characters, \
                 {letters_and_digits} mixing lowercase, uppercase and digits, or {lowercase} in \
                 lowercase only (CNIL recommendation)."
            )
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

/// Submitting a screen before typing the code sent after the entry.
pub const AWAITING_CODE: &str = "First type the code you received to go on.";

/// Why a field is refused.
pub fn problem(problem: &Problem) -> String {
    use Problem as P;
    match problem {
        P::TooLong { max } => format!("At most {max} characters."),
        P::TooManyBytes { max } => format!("At most {max} bytes."),
        P::AboveMaximum { max } => format!("At most {max}."),
        P::StudentNumberLength { length } => {
            format!("A student number has {length} digits.")
        }
        P::UnknownProfile { known } => {
            format!("No such profile; this institution has: {known}.")
        }
        P::CharterVersion { current } => {
            format!("The charter in force is version {current}: read it and accept it.")
        }
        P::EndDateTooFar { max_months } => {
            format!("A stay lasts at most {max_months} months from today.")
        }
        P::Password(violation) => password_violation(violation),
        P::AddressesDiffer
        | P::CharterNotAccepted
        | P::PhotoRefusalWithUses
        | P::PhotoRefusalNotAcknowledged
        | P::NoPhotoUseChosen
        | P::PhotoRefused
        | P::NotOnThisScreen
        | P::RequiredOnThisScreen
        | P::RefusalWithOthers
        | P::OneChoiceOnly
        | P::RefusedForGood
        | P::RecoveryMailInside
        | P::SameRecoveryMail
        | P::RedirectMandatory
        | P::RedirectToItself
        | P::DetailsDoNotMatch
        | P::IdentifierNotAccepted
        | P::WrongCode
        | P::ResetCodeRefused
        | P::ChannelNotOffered
        | P::WrongCurrentPassword
        | P::NoConsentChanged
        | P::ConsentNotCollected
        | P::PresenceNeeded
        | P::StepUpTokenInvalid
        | P::DirectoryFieldLocked
        | P::SecretShape => form_problem(problem).to_owned(),
        P::NotAUuid
        | P::NotAPageToken
        | P::NotACursor
        | P::NotATimestamp
        | P::InstitutionOrAccount
        | P::InstitutionNeeded
        | P::AheadOfTime
        | P::GuestsAreInvited
        | P::NotAGuestProfile
        | P::EndDateNotAfterToday => request_problem(problem).to_owned(),
        _ => data_problem(problem).to_owned(),
    }
}

/// What a form a person fills refuses.
fn form_problem(problem: &Problem) -> &'static str {
    use Problem as P;
    match problem {
        P::AddressesDiffer => "The two addresses differ.",
        P::CharterNotAccepted => "Accept the charter to go on.",
        P::PhotoRefusalWithUses => "Refusing every use leaves no use to allow.",
        P::PhotoRefusalNotAcknowledged => {
            "Refusing deletes the photo for good: confirm that you understand."
        }
        P::NoPhotoUseChosen => "Allow at least one use, or refuse them all.",
        P::PhotoRefused => "The photo was refused and deleted: this cannot be undone.",
        P::NotOnThisScreen => "This is not asked on this page.",
        P::RequiredOnThisScreen => "This is required on this page.",
        P::RefusalWithOthers => "A refusal cannot be combined with another answer.",
        P::OneChoiceOnly => "Choose one answer only.",
        P::RefusedForGood => "You refused: this choice is final.",
        P::RecoveryMailInside => {
            "The recovery address must be outside the university: it serves when the university account cannot."
        }
        P::SameRecoveryMail => "This is already your recovery address.",
        P::RedirectMandatory => "Redirecting your mail is mandatory for your profile.",
        P::RedirectToItself => "Mail cannot be redirected to the university mailbox itself.",
        P::DetailsDoNotMatch => "These details do not match our records: check them and try again.",
        P::IdentifierNotAccepted => {
            "Your institution does not find accounts by this identifier: type another one."
        }
        P::WrongCode => "This code is not the one we sent.",
        P::ResetCodeRefused => {
            "This code is not the one we sent, or it no longer works: check it, or ask for a new one."
        }
        P::ChannelNotOffered => {
            "Your institution does not send resets this way: choose another one."
        }
        P::WrongCurrentPassword => "The current password is wrong.",
        P::NoConsentChanged => "Change at least one choice.",
        P::ConsentNotCollected => "This consent is not collected for your profile.",
        P::PresenceNeeded => "Type your current password to make this change.",
        P::StepUpTokenInvalid => "Your confirmation has expired: type your password again.",
        P::DirectoryFieldLocked => "The institution does not let you edit this field: ask HR.",
        P::SecretShape => "This does not have the length of what was sent to you.",
        _ => "This value is not accepted.",
    }
}

/// What the data itself refuses (identifiers, dates, records, what
/// programs send).
fn data_problem(problem: &Problem) -> &'static str {
    use Problem as P;
    match problem {
        P::Missing => "This field is required.",
        P::ControlCharacters => "Line breaks and control characters are not allowed here.",
        P::NotAWebAddress => "A web address starts with https:// or http://.",
        P::UnknownValue => "This value is not one of the choices.",
        P::IneShape => "An INE has 11 letters or digits.",
        P::IneRepeatedDigit => "An INE cannot be ten identical digits.",
        P::IneCheckLetter | P::IneCheckDigit => {
            "This INE is not valid: check it on your enrolment certificate."
        }
        P::IneUnknownFormat => "This is not an INE: check it on your enrolment certificate.",
        P::NotAPhoneNumber => "This is not a phone number.",
        P::PhoneNumberDoesNotExist => "This phone number does not exist.",
        P::MailTooLong => "A mail address has at most 254 characters.",
        P::NotAMailAddress => "This is not a mail address.",
        P::BirthDateFormat => "Write the date as YYYY-MM-DD or DDMMYYYY.",
        P::BirthDateImplausible => "This birth date is not plausible.",
        P::DateFormat => "Write the date as YYYY-MM-DD.",
        P::StudentNumberDigits => "A student number has only digits.",
        P::StudentNumberRange => "A student number has 4 to 20 digits.",
        P::HrIdShape => "An HR id has 1 to 64 letters, digits, '-', '_' or '.'.",
        P::NameCharacters => "A name has only letters, spaces, hyphens and apostrophes.",
        P::NameWithoutLetter => "A name has at least one letter.",
        P::NotAnIpAddress => "This is not an IPv4 or IPv6 address.",
        _ => record_problem(problem),
    }
}

/// What fields of programs' requests and of invitations refuse.
fn request_problem(problem: &Problem) -> &'static str {
    use Problem as P;
    match problem {
        P::GuestsAreInvited => "Guests are invited by a sponsor, not provisioned.",
        P::NotAGuestProfile => "This profile is not one for guests.",
        P::EndDateNotAfterToday => "The last day must be after today.",
        P::NotAUuid => "This is not an id of the service (a UUID).",
        P::NotAPageToken => "This is not a page token of this listing.",
        P::NotACursor => "This is not a cursor of this feed.",
        P::NotATimestamp => "This is not a valid timestamp.",
        P::InstitutionOrAccount => "Name an institution or an account.",
        P::InstitutionNeeded => "The institution is needed with this identifier.",
        P::AheadOfTime => "Later than now: only a dry run previews a later date.",
        _ => "This value is not accepted.",
    }
}

/// What records from enrolment and HR refuse.
fn record_problem(problem: &Problem) -> &'static str {
    use Problem as P;
    match problem {
        P::UnknownInstitution => "No such institution is configured.",
        P::StudentWithHrId => "Students are matched on their student number, not an HR id.",
        P::StaffWithStudentNumber => "Staff are matched on their HR id, not a student number.",
        P::StaffWithIne => "Staff have no INE.",
        P::NeededForActivation => "Required by this profile's way of activating.",
        P::NoLoginFromName => "The names give no letters to build a login from.",
        // Every other problem is the field's own: the record is refused
        // for it as a whole.
        _ => "This value is not accepted.",
    }
}
