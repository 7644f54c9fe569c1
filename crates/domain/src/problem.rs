//! Why one field of a request is refused, as a value: the texts module
//! words it in the reader's language (a page shows it next to the field as
//! it comes), the log and the status message in English. Never a sentence
//! here: the words live in the texts modules.

use crate::password;

/// Why one field is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    // Any field.
    /// Empty where something is needed.
    Missing,
    /// Longer than `max` characters.
    TooLong {
        max: usize,
    },
    /// Longer than `max` bytes (a password).
    TooManyBytes {
        max: usize,
    },
    /// A number above `max`.
    AboveMaximum {
        max: u64,
    },
    /// Control characters (line breaks in a one-line field).
    ControlCharacters,
    /// A web address that is not `http(s)://…`.
    NotAWebAddress,
    /// Not one of the values the API names.
    UnknownValue,

    // Identifiers and personal data.
    IneShape,
    IneRepeatedDigit,
    IneCheckLetter,
    IneCheckDigit,
    IneUnknownFormat,
    NotAPhoneNumber,
    PhoneNumberDoesNotExist,
    MailTooLong,
    NotAMailAddress,
    /// A birth date not written `YYYY-MM-DD` or `DDMMYYYY`.
    BirthDateFormat,
    BirthDateImplausible,
    /// A date not written `YYYY-MM-DD`.
    DateFormat,
    StudentNumberDigits,
    /// This institution's student numbers have `length` digits.
    StudentNumberLength {
        length: usize,
    },
    /// Student numbers have 4 to 20 digits.
    StudentNumberRange,
    HrIdShape,
    NameCharacters,
    NameWithoutLetter,
    /// An end-user address that is not an IP address.
    NotAnIpAddress,

    // Records from enrolment and HR.
    UnknownInstitution,
    /// The institution has other profiles, listed.
    UnknownProfile {
        known: String,
    },
    /// Students are matched on their student number.
    StudentWithHrId,
    /// Staff are matched on their HR id.
    StaffWithStudentNumber,
    StaffWithIne,
    /// Needed by the profile's way of activating.
    NeededForActivation,
    /// The names give no letters to build a login from.
    NoLoginFromName,
    /// A guest profile named in a provisioning record: guests are invited.
    GuestsAreInvited,

    // Guests.
    /// A profile that is not one for guests.
    NotAGuestProfile,
    /// A stay's last day that is today or earlier.
    EndDateNotAfterToday,
    /// A stay longer than the institution grants.
    EndDateTooFar {
        max_months: u32,
    },

    // Forms a person fills.
    /// The address and its confirmation differ.
    AddressesDiffer,
    CharterNotAccepted,
    /// The charter shown is not the one in force.
    CharterVersion {
        current: String,
    },
    PhotoRefusalWithUses,
    PhotoRefusalNotAcknowledged,
    NoPhotoUseChosen,
    /// The photo was refused, for good.
    PhotoRefused,
    NotOnThisScreen,
    RequiredOnThisScreen,
    /// A refusal chosen together with other answers.
    RefusalWithOthers,
    /// Several answers where the item takes one.
    OneChoiceOnly,
    /// A refusal the institution makes final, recorded already.
    RefusedForGood,
    /// A recovery address inside the university.
    RecoveryMailInside,
    /// The recovery address already recorded.
    SameRecoveryMail,
    RedirectMandatory,
    /// A redirect to the university mailbox itself.
    RedirectToItself,
    /// Identity details that match no record (never which one).
    DetailsDoNotMatch,
    /// An identifier the institution does not take for this request.
    IdentifierNotAccepted,
    /// A code that is not the one sent.
    WrongCode,
    /// A password-reset code that is wrong, spent or expired, or that no
    /// code was sent for (the same answer, whether or not the account
    /// exists).
    ResetCodeRefused,
    /// A channel the institution does not send resets by.
    ChannelNotOffered,
    WrongCurrentPassword,
    NoConsentChanged,
    ConsentNotCollected,
    /// A change that needs the password typed again.
    PresenceNeeded,
    StepUpTokenInvalid,
    /// A directory field the institution does not let staff edit.
    DirectoryFieldLocked,
    /// A secret typed that no secret can be (the wrong length).
    SecretShape,
    /// A password rule the candidate breaks.
    Password(password::Violation),

    // What programs send.
    /// An identifier that should be a UUID.
    NotAUuid,
    NotAPageToken,
    NotACursor,
    NotATimestamp,
    /// Neither an institution nor an account named.
    InstitutionOrAccount,
    /// The institution is needed with this identifier.
    InstitutionNeeded,
    /// A batch that changes things cannot run as of a later date.
    AheadOfTime,
}

/// One refused field: its path in the request, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub problem: Problem,
}

impl Violation {
    pub fn new(field: impl Into<String>, problem: Problem) -> Violation {
        Violation {
            field: field.into(),
            problem,
        }
    }
}
