//! The words of the first-connection forms, where the institution gives
//! none of its own.

use domain::account::AccountKind;
use domain::activation::Step;
use domain::form::Field;
use domain::institution::ActivationChannel;
use domain::recovery::{ResetChannel, ResetIdentifierKind};
use domain::self_service::AntispamLevel;

use super::OwnForm;

pub fn step(step: Step) -> (&'static str, &'static str) {
    match step {
        Step::VerifySecret => ("Identification", ""),
        Step::VerifyIdentity => (
            "Identity check",
            "To confirm that this link is meant for you, type the details asked for, as your record holds them.",
        ),
        Step::VerifyCode => ("Activation code", "Type the activation code you received."),
        Step::RecoveryMail => (
            "Recovery mail address",
            "This address lets you recover your access if you forget your password: give one you read regularly.",
        ),
        Step::MobilePhone => (
            "Mobile phone",
            "Give your mobile phone number: if you forget your password, a code can be sent to it by SMS.",
        ),
        Step::MobilePhoneVerification => (
            "Phone check",
            "Type the code you received by SMS on this phone.",
        ),
        Step::RecoveryMailVerification => (
            "Checking the recovery address",
            "A mail was sent to your recovery address: follow its link, or type its code, to go on.",
        ),
        Step::Charter => (
            "IT charter",
            "To go on, read the charter for the use of digital services and accept it.",
        ),
        Step::DirectoryListing => (
            "Directory",
            "Choose whether you want to appear in the directory.",
        ),
        Step::PhotoUse => (
            "Use of your photo",
            "Choose which uses of your photo you allow, or refuse them all.",
        ),
        Step::CrousSharing => (
            "Sharing your personal data with the Crous",
            "Choose whether your personal data is passed on to the Crous.",
        ),
        Step::Consents => ("Permissions", "Give your choice for each permission below."),
        Step::MailRedirect => (
            "Mail redirect",
            "You may redirect the mail your university mailbox receives to an outside address, and change this at any time.",
        ),
        Step::MailRedirectVerification => (
            "Checking the redirect address",
            "A mail was sent to the redirect address: follow its link to finish setting up the redirect.",
        ),
        Step::Names => (
            "Your identity",
            "Give your given and family names as on your identity document: the directory and the university's services show them.",
        ),
        Step::Password => (
            "Choose your password",
            "Choose a personal password, known to you alone, that follows the rules below.",
        ),
    }
}

pub fn entry(channel: ActivationChannel) -> (&'static str, &'static str) {
    match channel {
        ActivationChannel::ActivationKey => (
            "Activate with your activation key",
            "Type the login and the activation key printed on your enrolment certificate.",
        ),
        ActivationChannel::ProvisionalPassword => (
            "Activate with your provisional password",
            "Type the login and the provisional password you were given.",
        ),
        ActivationChannel::MailedLink => (
            "Activate with the link you received by mail",
            "An activation link is mailed to your personal address. If it has expired, type your login to receive a new one.",
        ),
        ActivationChannel::IdentityMatch => (
            "Identification",
            "Type the details you gave when you enrolled: an activation code will be sent to you to confirm them.",
        ),
    }
}

pub const COMPLETED: (&str, &str) = (
    "Account activated",
    "Your account is active: sign in with your login and your new password.",
);

pub fn audience(kind: AccountKind) -> &'static str {
    match kind {
        AccountKind::Student => "Students",
        AccountKind::Staff => "Staff",
        AccountKind::Guest => "Guests",
    }
}

/// Label, help and example of a field.
/// The words of the fields of the entry forms.
fn entry_field(field: Field) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match field {
        Field::KeyLogin | Field::LinkLogin => ("Login", "", ""),
        Field::ActivationKey => (
            "Activation key",
            "It is printed on your enrolment certificate, in the \"Services numériques\" box.",
            "",
        ),
        Field::ProvisionalLogin => ("Login", "", ""),
        Field::ProvisionalPassword => ("Provisional password", "", ""),
        Field::StudentNumber => ("Student number", "", "22012345"),
        Field::Ine => ("INE", "11 letters or digits.", "1234567890V"),
        Field::MobilePhone => (
            "Mobile phone number",
            "The number you gave when you enrolled.",
            "+33612345678",
        ),
        Field::IdentityHrId => ("Staff number", "The number of your HR record.", "RH-0042"),
        Field::IdentityBirthDate => ("Birth date", "As DDMMYYYY or YYYY-MM-DD.", "31011980"),
        Field::IdentityFamilyName => ("Family name", "As on your record.", "Doe"),
        Field::IdentityPersonalMail => (
            "Personal mail address",
            "The one you gave when you enrolled or were hired.",
            "jane.doe@example.org",
        ),
        _ => return None,
    })
}

pub fn field(field: Field) -> (&'static str, &'static str, &'static str) {
    if let Some(words) = entry_field(field) {
        return words;
    }
    match field {
        Field::Code => ("Code received", "", ""),
        Field::RecoveryMail => ("Recovery mail address", "", "jane.doe@example.org"),
        Field::RecoveryMailConfirmation => ("Confirm the recovery mail address", "", ""),
        Field::RecoveryPhone => (
            "Mobile phone",
            "A code will be sent to it by SMS to verify it; it will serve to reset your password.",
            "06 12 34 56 78",
        ),
        Field::CharterAccepted => ("I accept the institution's IT charter.", "", ""),
        Field::DirectoryListed => ("Directory", "", ""),
        Field::PhotoUses => ("Uses of the photo", "", ""),
        Field::PhotoAcknowledged => (
            "I understand that this refusal cannot be undone: the photo will be deleted for good.",
            "",
            "",
        ),
        Field::CrousSharing => ("Sharing with the Crous", "", ""),
        Field::ConsentChoice => ("Your choice", "", ""),
        Field::RedirectEnabled => ("I set up a redirect of my mail.", "", ""),
        Field::RedirectAddress => ("Redirect address", "", "jane.doe@example.org"),
        Field::RedirectConfirmation => ("Confirm the redirect address", "", ""),
        Field::RedirectKeepCopy => (
            "I want to keep a copy of my mail in my university mailbox.",
            "",
            "",
        ),
        Field::Password => ("New password", "", ""),
        Field::PasswordConfirmation => ("Confirm the new password", "", ""),
        Field::GivenName => ("Given name", "", ""),
        Field::FamilyName => ("Family name", "", ""),
        _ => own_field(field),
    }
}

/// What the one field of the forgotten-password form takes.
pub fn reset_identifier(accepted: &[ResetIdentifierKind]) -> String {
    let names: Vec<&str> = accepted
        .iter()
        .map(|kind| match kind {
            ResetIdentifierKind::Login => "login",
            ResetIdentifierKind::Ine => "INE",
            ResetIdentifierKind::InstitutionalMail => "institutional mail address",
        })
        .collect();
    super::capitalized(&super::listed(&names, "or"))
}

pub fn own_form(form: OwnForm) -> (&'static str, &'static str) {
    match form {
        OwnForm::PasswordReset => (
            "Forgotten password",
            "Type your login: a mail will be sent to your recovery mail address. Remember to check your spam folder.",
        ),
        OwnForm::PasswordResetBySms => (
            "Forgotten password",
            "Type your login: a code will be sent by SMS to the mobile phone verified when your account was activated.",
        ),
        OwnForm::PasswordResetByChoice => (
            "Forgotten password",
            "Type your login and choose how to reset your password: by mail to your recovery address, or by a code sent by SMS to the mobile phone verified at activation.",
        ),
        OwnForm::ResetCode => (
            "Code received by SMS",
            "Type the code you received by SMS to choose a new password. If nothing arrives, your phone may not have been verified: ask for a mail or contact the helpdesk.",
        ),
        OwnForm::LoginLookup => (
            "Forgotten login",
            "Students: find your login with your student number and birth date.",
        ),
        OwnForm::NewPassword => (
            "New password",
            "Choose a new password that only you know, under the rules below.",
        ),
        OwnForm::PasswordChange => (
            "Change my password",
            "Type your current password, then the new one twice.",
        ),
        OwnForm::RecoveryMailChange => (
            "Change my recovery mail address",
            "A confirmation link will be sent to the new address: it replaces the old one once confirmed.",
        ),
        OwnForm::RecoveryPhoneChange => (
            "Recovery phone",
            "If you forget your password, a code can be sent to this phone by SMS. Keep it current: an abandoned number is one day given to someone else.",
        ),
        OwnForm::RecoveryPhoneCode => (
            "Code received on the new phone",
            "Type the code sent by SMS to the new number: it is used only then.",
        ),
        OwnForm::RedirectChange => (
            "Mail redirection",
            "You can redirect the mail of your university mailbox to an outside address. A confirmation link will be sent to it.",
        ),
        OwnForm::DirectoryEntry => (
            "My directory entry",
            "Staff only: change your details in the institution's directory.",
        ),
        OwnForm::Antispam => (
            "Antispam level",
            "Staff only: set how strictly your university mailbox filters spam.",
        ),
        OwnForm::ExtensionRequest => (
            "Keeping my account longer",
            "Your activity at the university has ended: you may ask to keep your account longer.",
        ),
        OwnForm::AlumniClosing => (
            "Closing my former student's account",
            "Your account is kept at your request. You may close it at any time: its data is deleted at once, for good. Type your password to confirm.",
        ),
        OwnForm::GuestInvitation => (
            "Inviting a guest",
            "A visiting researcher, a speaker, a partner: give their names as on their identity document and the address where they receive the link to activate their account. Their account closes after the stay; you can renew it.",
        ),
    }
}

/// Label, help and example of a field of the forms outside activation.
fn own_field(field: Field) -> (&'static str, &'static str, &'static str) {
    match field {
        Field::ResetIdentifier => ("Login", "", ""),
        Field::ResetChannel => (
            "Send by",
            "By mail to your recovery address, or by SMS to the mobile phone verified at activation.",
            "",
        ),
        Field::LookupStudentNumber => (
            "Student number",
            "It is on your student card and your enrolment certificate.",
            "22012345",
        ),
        Field::LookupBirthDate => ("Birth date", "As DDMMYYYY or YYYY-MM-DD.", "31012004"),
        Field::NewPassword => ("New password", "", ""),
        Field::NewPasswordConfirmation => ("Confirm the new password", "", ""),
        Field::CurrentPassword => ("Current password", "", ""),
        Field::NewRecoveryPhone => (
            "New mobile phone",
            "A code will be sent to it by SMS to verify it. Leave it empty to remove your recovery phone.",
            "06 12 34 56 78",
        ),
        Field::NewRecoveryMail => ("New recovery mail address", "", "first.last@example.org"),
        Field::NewRecoveryMailConfirmation => ("Confirm the new address", "", ""),
        Field::NewRedirectAddress => ("Redirect address", "", "first.last@example.org"),
        Field::NewRedirectConfirmation => ("Confirm the redirect address", "", ""),
        Field::NewRedirectKeepCopy => ("Keep a copy of the mail in my university mailbox.", "", ""),
        Field::DirectoryOfficePhone => ("Office phone", "", "+33467143000"),
        Field::DirectoryOfficeLocation => ("Office", "Building and room number.", ""),
        Field::DirectoryJobTitle => ("Job title", "As the directory shows it.", ""),
        Field::DirectoryPostalAddress => ("Postal address of the workplace", "", ""),
        Field::DirectoryWebPage => ("Personal web page", "", "https://"),
        Field::ExtensionReason => (
            "Reason for the request",
            "Explain why you need your account longer.",
            "",
        ),
        Field::GuestGivenName => ("Guest's given name", "", ""),
        Field::GuestFamilyName => ("Guest's family name", "", ""),
        Field::GuestBirthDate => ("Birth date (optional)", "YYYY-MM-DD.", "1990-12-10"),
        Field::GuestPersonalMail => (
            "Guest's mail address",
            "The activation link is sent there.",
            "first.last@example.org",
        ),
        Field::GuestEndDate => ("Last day of the stay", "YYYY-MM-DD.", "2027-06-30"),
        Field::GuestReason => (
            "Reason for the invitation",
            "For the IT department: the guest's role, the lab or project.",
            "",
        ),
        _ => ("", "", ""),
    }
}

/// How an antispam level is offered.
/// The options of the reset channel's choice.
pub fn reset_channel(channel: ResetChannel) -> &'static str {
    match channel {
        ResetChannel::Mail => "Mail, to your recovery address",
        ResetChannel::Sms => "SMS, to your mobile phone",
    }
}

pub fn antispam_level(level: AntispamLevel) -> &'static str {
    match level {
        AntispamLevel::Off => "Off: no mail is filtered",
        AntispamLevel::Low => "Low: only obvious spam is filtered",
        AntispamLevel::Medium => "Medium: the institution's setting",
        AntispamLevel::High => "High: strict filtering, which may set aside legitimate mail",
    }
}
