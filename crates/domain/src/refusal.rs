//! Why the state of things refuses a valid request: one enum, so that every
//! refusal has a stable code for programs and a sentence in every language
//! for people (the service's texts module words them; a new refusal does
//! not compile until it is worded).

/// A precondition that a request does not meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precondition {
    /// The account's state refuses this (locked, purged, not awaiting
    /// activation, ...).
    AccountState,
    AccountExpired,
    /// Activation opens later (Montpellier: 15 minutes after enrolment).
    ActivationNotOpen,
    /// The profile does not activate with printed material.
    ActivationChannel,
    AlreadyActive,
    /// A mailed verification link is waiting to be followed.
    AwaitingVerification,
    CodeExpired,
    /// A feed cursor older than the oldest change the feed still holds
    /// (the rest was forgotten after its retention): the reader resyncs.
    CursorExpired,
    /// The institution or profile of the account is no longer configured.
    Configuration,
    /// The profile is never asked this consent.
    ConsentNotOffered,
    ExtensionDecided,
    ExtensionPending,
    FlowCompleted,
    /// A held provisioning record decided already.
    HeldRecordDecided,
    /// A guest invitation decided already.
    InvitationDecided,
    LinkExpired,
    /// No login identifier is free for this person.
    Login,
    /// No end of activity is recorded.
    NoDeparture,
    NoMailbox,
    NoPhone,
    /// The account may not invite guests.
    NotASponsor,
    /// The institution does not offer this service.
    NotOffered,
    NotRenewable,
    NothingToResend,
    NothingToVerify,
    /// The password changed meanwhile.
    Password,
    PhotoRefusalIrreversible,
    /// A consent the institution does not let people take back.
    ConsentNotWithdrawable,
    /// A refusal the institution makes final.
    ConsentRefusalFinal,
    RedirectMandatory,
    /// A setting only staff have (directory entry, antispam level).
    StaffOnly,
    /// Too many wrong entries: the secret no longer works.
    TooManyAttempts,
}

impl Precondition {
    /// Every refusal, for exhaustive checks.
    pub const ALL: [Precondition; 32] = [
        Precondition::AccountState,
        Precondition::AccountExpired,
        Precondition::ActivationNotOpen,
        Precondition::ActivationChannel,
        Precondition::AlreadyActive,
        Precondition::AwaitingVerification,
        Precondition::CodeExpired,
        Precondition::CursorExpired,
        Precondition::Configuration,
        Precondition::ConsentNotOffered,
        Precondition::ExtensionDecided,
        Precondition::ExtensionPending,
        Precondition::FlowCompleted,
        Precondition::HeldRecordDecided,
        Precondition::InvitationDecided,
        Precondition::LinkExpired,
        Precondition::Login,
        Precondition::NoDeparture,
        Precondition::NoMailbox,
        Precondition::NoPhone,
        Precondition::NotASponsor,
        Precondition::NotOffered,
        Precondition::NotRenewable,
        Precondition::NothingToResend,
        Precondition::NothingToVerify,
        Precondition::Password,
        Precondition::PhotoRefusalIrreversible,
        Precondition::ConsentNotWithdrawable,
        Precondition::ConsentRefusalFinal,
        Precondition::RedirectMandatory,
        Precondition::StaffOnly,
        Precondition::TooManyAttempts,
    ];

    /// The stable code programs read (`PreconditionFailure.violations.type`).
    pub fn code(self) -> &'static str {
        match self {
            Precondition::AccountState => "ACCOUNT_STATE",
            Precondition::AccountExpired => "ACCOUNT_EXPIRED",
            Precondition::ActivationNotOpen => "ACTIVATION_NOT_OPEN",
            Precondition::ActivationChannel => "ACTIVATION_CHANNEL",
            Precondition::AlreadyActive => "ALREADY_ACTIVE",
            Precondition::AwaitingVerification => "AWAITING_VERIFICATION",
            Precondition::CodeExpired => "CODE_EXPIRED",
            Precondition::CursorExpired => "CURSOR_EXPIRED",
            Precondition::Configuration => "CONFIGURATION",
            Precondition::ConsentNotOffered => "CONSENT_NOT_OFFERED",
            Precondition::ExtensionDecided => "EXTENSION_DECIDED",
            Precondition::ExtensionPending => "EXTENSION_PENDING",
            Precondition::FlowCompleted => "FLOW_COMPLETED",
            Precondition::HeldRecordDecided => "HELD_RECORD_DECIDED",
            Precondition::InvitationDecided => "INVITATION_DECIDED",
            Precondition::LinkExpired => "LINK_EXPIRED",
            Precondition::Login => "LOGIN",
            Precondition::NoDeparture => "NO_DEPARTURE",
            Precondition::NoMailbox => "NO_MAILBOX",
            Precondition::NoPhone => "NO_PHONE",
            Precondition::NotASponsor => "NOT_A_SPONSOR",
            Precondition::NotOffered => "NOT_OFFERED",
            Precondition::NotRenewable => "NOT_RENEWABLE",
            Precondition::NothingToResend => "NOTHING_TO_RESEND",
            Precondition::NothingToVerify => "NOTHING_TO_VERIFY",
            Precondition::Password => "PASSWORD",
            Precondition::PhotoRefusalIrreversible => "PHOTO_REFUSAL_IRREVERSIBLE",
            Precondition::ConsentNotWithdrawable => "CONSENT_NOT_WITHDRAWABLE",
            Precondition::ConsentRefusalFinal => "CONSENT_REFUSAL_FINAL",
            Precondition::RedirectMandatory => "REDIRECT_MANDATORY",
            Precondition::StaffOnly => "STAFF_ONLY",
            Precondition::TooManyAttempts => "TOO_MANY_ATTEMPTS",
        }
    }
}

/// Which limit a request ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// Password hashing is saturated.
    Busy,
    /// A message was sent moments ago.
    ResendTooSoon,
    /// Too many wrong secrets (for the account, or from the address).
    TooManyGuesses,
    /// Too many requests that mail a secret.
    TooManyRequests,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn codes_are_distinct() {
        let codes: BTreeSet<&str> = Precondition::ALL.iter().map(|p| p.code()).collect();
        assert_eq!(codes.len(), Precondition::ALL.len());
    }
}
