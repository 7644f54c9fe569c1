//! The forms a page renders for a first connection: which fields each entry
//! and each step of the journey asks for, under which request path (the
//! path a refusal names), of which kind and with which constraints. The
//! words (labels, help, examples, titles) come from the institution's
//! configuration, else the service's texts; only the shapes live here.

use serde::{Deserialize, Serialize};

use crate::activation::{RecoveryMailRule, RedirectRule, Step};
use crate::consent::Localized;
use crate::identity_check::IdentityAttribute;
use crate::institution::{ActivationChannel, InstitutionSettings, ProfileSettings};
use crate::password::PasswordPolicy;
use crate::self_service::DirectoryField;

/// One field a person fills, named as the configuration names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The login typed with an activation key.
    KeyLogin,
    ActivationKey,
    /// The login typed with a provisional password.
    ProvisionalLogin,
    ProvisionalPassword,
    /// The login typed to be mailed a new activation link ("1ère
    /// connexion").
    LinkLogin,
    StudentNumber,
    Ine,
    MobilePhone,
    /// The other attributes an identity check may ask for.
    IdentityHrId,
    IdentityBirthDate,
    IdentityFamilyName,
    IdentityPersonalMail,
    /// A code received by SMS or mail.
    Code,
    RecoveryMail,
    RecoveryMailConfirmation,
    /// The mobile phone a person gives during activation.
    RecoveryPhone,
    CharterAccepted,
    DirectoryListed,
    PhotoUses,
    PhotoAcknowledged,
    CrousSharing,
    /// The answer to one of the institution's own consent items; its
    /// request path is `consents.<code>`
    /// ([`crate::consent_items::field_of`]).
    ConsentChoice,
    RedirectEnabled,
    RedirectAddress,
    RedirectConfirmation,
    RedirectKeepCopy,
    Password,
    PasswordConfirmation,
    /// What a person typed to be sent a reset: their login, INE or
    /// institutional mail, as the institution accepts.
    ResetIdentifier,
    /// How a reset should reach the person (mail or SMS), where the
    /// institution offers both.
    ResetChannel,
    /// The student number and birth date of a forgotten login.
    LookupStudentNumber,
    LookupBirthDate,
    /// A new password chosen outside activation (reset link, account
    /// page), typed twice.
    NewPassword,
    NewPasswordConfirmation,
    /// The password a signed-in person types again.
    CurrentPassword,
    /// A new recovery phone typed on the account page (empty: none).
    NewRecoveryPhone,
    /// A new recovery address typed on the account page, twice.
    NewRecoveryMail,
    NewRecoveryMailConfirmation,
    /// A redirect set on the account page: the address typed twice, and
    /// whether to keep a copy.
    NewRedirectAddress,
    NewRedirectConfirmation,
    NewRedirectKeepCopy,
    /// A staff member's directory entry, as they may edit it.
    DirectoryOfficePhone,
    DirectoryOfficeLocation,
    DirectoryJobTitle,
    DirectoryPostalAddress,
    DirectoryWebPage,
    /// Why a person who left asks to keep their account longer.
    ExtensionReason,
    /// A guest a sponsor invites: names, birth date (optional), the
    /// address their link goes to, the stay's last day, why.
    GuestGivenName,
    GuestFamilyName,
    GuestBirthDate,
    GuestPersonalMail,
    GuestEndDate,
    GuestReason,
    /// The names a person types at activation (the names step).
    GivenName,
    FamilyName,
}

impl Field {
    pub const ALL: [Field; 55] = [
        Field::KeyLogin,
        Field::ActivationKey,
        Field::ProvisionalLogin,
        Field::ProvisionalPassword,
        Field::LinkLogin,
        Field::StudentNumber,
        Field::Ine,
        Field::MobilePhone,
        Field::IdentityHrId,
        Field::IdentityBirthDate,
        Field::IdentityFamilyName,
        Field::IdentityPersonalMail,
        Field::Code,
        Field::RecoveryMail,
        Field::RecoveryMailConfirmation,
        Field::RecoveryPhone,
        Field::CharterAccepted,
        Field::DirectoryListed,
        Field::PhotoUses,
        Field::PhotoAcknowledged,
        Field::CrousSharing,
        Field::ConsentChoice,
        Field::RedirectEnabled,
        Field::RedirectAddress,
        Field::RedirectConfirmation,
        Field::RedirectKeepCopy,
        Field::Password,
        Field::PasswordConfirmation,
        Field::ResetIdentifier,
        Field::ResetChannel,
        Field::LookupStudentNumber,
        Field::LookupBirthDate,
        Field::NewPassword,
        Field::NewPasswordConfirmation,
        Field::CurrentPassword,
        Field::NewRecoveryPhone,
        Field::NewRecoveryMail,
        Field::NewRecoveryMailConfirmation,
        Field::NewRedirectAddress,
        Field::NewRedirectConfirmation,
        Field::NewRedirectKeepCopy,
        Field::DirectoryOfficePhone,
        Field::DirectoryOfficeLocation,
        Field::DirectoryJobTitle,
        Field::DirectoryPostalAddress,
        Field::DirectoryWebPage,
        Field::ExtensionReason,
        Field::GuestGivenName,
        Field::GuestFamilyName,
        Field::GuestBirthDate,
        Field::GuestPersonalMail,
        Field::GuestEndDate,
        Field::GuestReason,
        Field::GivenName,
        Field::FamilyName,
    ];

    /// The field's path in its request, as refusals name it.
    pub fn path(self) -> &'static str {
        match self {
            Field::KeyLogin => "key.login",
            Field::ActivationKey => "key.activation_key",
            Field::ProvisionalLogin => "provisional_password.login",
            Field::ProvisionalPassword => "provisional_password.provisional_password",
            Field::LinkLogin => "login",
            Field::StudentNumber => "identity_match.student_number",
            Field::Ine => "identity_match.ine",
            Field::MobilePhone => "identity_match.mobile_phone",
            Field::IdentityHrId => "identity_match.hr_id",
            Field::IdentityBirthDate => "identity_match.birth_date",
            Field::IdentityFamilyName => "identity_match.family_name",
            Field::IdentityPersonalMail => "identity_match.personal_mail",
            Field::Code => "code",
            Field::RecoveryMail => "recovery_mail.address",
            Field::RecoveryMailConfirmation => "recovery_mail.confirmation",
            Field::RecoveryPhone => "mobile_phone",
            Field::CharterAccepted => "charter.accepted",
            Field::DirectoryListed => "directory_listed",
            Field::PhotoUses => "photo.uses",
            Field::PhotoAcknowledged => "photo.irreversibility_acknowledged",
            Field::CrousSharing => "crous_sharing",
            Field::ConsentChoice => "consents",
            Field::RedirectEnabled => "mail_redirect.enabled",
            Field::RedirectAddress => "mail_redirect.address.address",
            Field::RedirectConfirmation => "mail_redirect.address.confirmation",
            Field::RedirectKeepCopy => "mail_redirect.keep_copy",
            Field::Password => "password.password",
            Field::PasswordConfirmation => "password.confirmation",
            Field::ResetIdentifier => "typed_identifier",
            Field::ResetChannel => "channel",
            Field::LookupStudentNumber => "student_number",
            Field::LookupBirthDate => "birth_date",
            Field::NewPassword => "new_password.password",
            Field::NewPasswordConfirmation => "new_password.confirmation",
            Field::CurrentPassword => "current_password",
            Field::NewRecoveryPhone => "new_phone",
            Field::NewRecoveryMail => "new_recovery_mail.address",
            Field::NewRecoveryMailConfirmation => "new_recovery_mail.confirmation",
            Field::NewRedirectAddress => "address.address",
            Field::NewRedirectConfirmation => "address.confirmation",
            Field::NewRedirectKeepCopy => "keep_copy",
            Field::DirectoryOfficePhone => "entry.office_phone",
            Field::DirectoryOfficeLocation => "entry.office_location",
            Field::DirectoryJobTitle => "entry.job_title",
            Field::DirectoryPostalAddress => "entry.postal_address",
            Field::DirectoryWebPage => "entry.web_page",
            Field::ExtensionReason => "reason",
            Field::GuestGivenName => "guest.given_name",
            Field::GuestFamilyName => "guest.family_name",
            Field::GuestBirthDate => "guest.birth_date",
            Field::GuestPersonalMail => "guest.personal_mail",
            Field::GuestEndDate => "guest.end_date",
            Field::GuestReason => "guest.reason",
            Field::GivenName => "names.given_name",
            Field::FamilyName => "names.family_name",
        }
    }
}

/// What kind of input a field is, for the page to pick its widget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Email,
    Password,
    Phone,
    /// A code received by SMS or mail.
    Code,
    Checkbox,
    /// One or several of the options the flow lists for the step.
    Choice,
}

/// The shape of one field: everything but its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldShape {
    pub field: Field,
    pub kind: FieldKind,
    pub required: bool,
    /// Length bounds in characters; 0: none.
    pub min_length: u32,
    pub max_length: u32,
    /// A pattern the value matches (the HTML `pattern` attribute's
    /// syntax), once spaces are taken out; empty: none.
    pub pattern: String,
    /// The HTML `autocomplete` token that lets browsers and password
    /// managers help.
    pub autocomplete: &'static str,
}

/// The longest mail address (RFC 5321).
const MAIL_MAX: u32 = 254;
/// The longest login or typed secret the service reads.
const TYPED_MAX: u32 = 254;

fn shape(field: Field, kind: FieldKind, required: bool) -> FieldShape {
    let autocomplete = match kind {
        FieldKind::Email => "email",
        FieldKind::Code => "one-time-code",
        FieldKind::Phone => "tel",
        _ => "off",
    };
    FieldShape {
        field,
        kind,
        required,
        min_length: 0,
        max_length: 0,
        pattern: String::new(),
        autocomplete,
    }
}

fn bounded(mut shape: FieldShape, min: u32, max: u32) -> FieldShape {
    shape.min_length = min;
    shape.max_length = max;
    shape
}

fn login(field: Field) -> FieldShape {
    FieldShape {
        autocomplete: "username",
        ..bounded(shape(field, FieldKind::Text, true), 1, TYPED_MAX)
    }
}

/// The fields of an entry form, and of the form that mails a new link
/// where the entry is a mailed link; an identity match asks for what its
/// `check` lists.
pub fn entry_fields(
    channel: ActivationChannel,
    institution: &InstitutionSettings,
    check: &[IdentityAttribute],
) -> Vec<FieldShape> {
    match channel {
        ActivationChannel::ActivationKey => vec![
            login(Field::KeyLogin),
            bounded(shape(Field::ActivationKey, FieldKind::Text, true), 1, 64),
        ],
        ActivationChannel::ProvisionalPassword => vec![
            login(Field::ProvisionalLogin),
            FieldShape {
                autocomplete: "current-password",
                ..bounded(
                    shape(Field::ProvisionalPassword, FieldKind::Password, true),
                    1,
                    64,
                )
            },
        ],
        ActivationChannel::MailedLink => vec![login(Field::LinkLogin)],
        ActivationChannel::IdentityMatch => check
            .iter()
            .map(|&attribute| identity_field(attribute, institution))
            .collect(),
    }
}

/// A student number, of the institution's length if it fixes one.
fn student_number(field: Field, institution: &InstitutionSettings) -> FieldShape {
    match institution.student_number_length {
        Some(n) => FieldShape {
            pattern: format!("[0-9]{{{n}}}"),
            ..bounded(shape(field, FieldKind::Text, true), n as u32, n as u32)
        },
        None => FieldShape {
            pattern: "[0-9]{4,20}".to_owned(),
            ..bounded(shape(field, FieldKind::Text, true), 4, 20)
        },
    }
}

/// One attribute of an identity check (Tours' first screen: student
/// number, INE and mobile phone).
fn identity_field(attribute: IdentityAttribute, institution: &InstitutionSettings) -> FieldShape {
    use IdentityAttribute as A;
    match attribute {
        A::StudentNumber => student_number(Field::StudentNumber, institution),
        A::Ine => FieldShape {
            pattern: "[0-9A-Za-z]{11}".to_owned(),
            ..bounded(shape(Field::Ine, FieldKind::Text, true), 11, 11)
        },
        A::MobilePhone => FieldShape {
            pattern: "\\+?[0-9]{6,15}".to_owned(),
            ..bounded(shape(Field::MobilePhone, FieldKind::Phone, true), 6, 20)
        },
        A::HrId => bounded(shape(Field::IdentityHrId, FieldKind::Text, true), 1, 64),
        A::BirthDate => FieldShape {
            autocomplete: "bday",
            ..bounded(
                shape(Field::IdentityBirthDate, FieldKind::Text, true),
                8,
                10,
            )
        },
        A::FamilyName => FieldShape {
            autocomplete: "family-name",
            ..bounded(
                shape(Field::IdentityFamilyName, FieldKind::Text, true),
                1,
                100,
            )
        },
        A::PersonalMail => bounded(
            shape(Field::IdentityPersonalMail, FieldKind::Email, true),
            3,
            MAIL_MAX,
        ),
    }
}

/// What a step's fields depend on in the profile's rules.
#[derive(Debug, Clone)]
pub struct StepRules<'a> {
    pub recovery_mail: &'a RecoveryMailRule,
    pub redirect: RedirectRule,
    pub password: &'a PasswordPolicy,
    /// What the identity check after the entry asks for, with the
    /// institution that shapes it (the student number's length).
    pub identity_after_entry: (&'a [IdentityAttribute], Option<&'a InstitutionSettings>),
    /// The institution's consent items the profile asks (the `consents`
    /// item shows one choice each).
    pub consents: Vec<(&'a str, &'a crate::consent_items::ConsentItem)>,
}

impl<'a> StepRules<'a> {
    pub fn of(
        institution: &'a InstitutionSettings,
        profile: &'a ProfileSettings,
        policy: &'a PasswordPolicy,
    ) -> Self {
        StepRules {
            consents: institution.offered_consents(profile),
            recovery_mail: &profile.activation.recovery_mail,
            redirect: profile.activation.mail_redirect,
            password: policy,
            identity_after_entry: (
                &profile.activation.identity_check_after_entry,
                Some(institution),
            ),
        }
    }
}

/// The fields a step asks for.
pub fn step_fields(step: Step, rules: &StepRules<'_>) -> Vec<FieldShape> {
    let mail = |field, required| bounded(shape(field, FieldKind::Email, required), 3, MAIL_MAX);
    match step {
        Step::VerifySecret => Vec::new(),
        Step::VerifyIdentity => match rules.identity_after_entry {
            (check, Some(institution)) => check
                .iter()
                .map(|&attribute| identity_field(attribute, institution))
                .collect(),
            (_, None) => Vec::new(),
        },
        Step::MobilePhone => vec![FieldShape {
            pattern: "\\+?[0-9]{6,15}".to_owned(),
            ..bounded(shape(Field::RecoveryPhone, FieldKind::Phone, true), 6, 20)
        }],
        Step::VerifyCode | Step::RecoveryMailVerification | Step::MobilePhoneVerification => {
            vec![bounded(shape(Field::Code, FieldKind::Code, true), 1, 64)]
        }
        Step::MailRedirectVerification => Vec::new(),
        Step::RecoveryMail => {
            let required = rules.recovery_mail.required;
            vec![
                mail(Field::RecoveryMail, required),
                mail(Field::RecoveryMailConfirmation, required),
            ]
        }
        Step::Charter => vec![shape(Field::CharterAccepted, FieldKind::Checkbox, true)],
        Step::DirectoryListing => vec![shape(Field::DirectoryListed, FieldKind::Choice, true)],
        Step::PhotoUse => vec![
            shape(Field::PhotoUses, FieldKind::Choice, true),
            // Required only with a refusal: the choice rule says so.
            shape(Field::PhotoAcknowledged, FieldKind::Checkbox, false),
        ],
        Step::CrousSharing => vec![shape(Field::CrousSharing, FieldKind::Choice, true)],
        // One per item the profile asks, each at its own path.
        Step::Consents => vec![shape(Field::ConsentChoice, FieldKind::Choice, true)],
        Step::MailRedirect => redirect_fields(rules.redirect),
        Step::Password => password_fields(rules.password),
        Step::Names => vec![
            FieldShape {
                autocomplete: "given-name",
                ..bounded(shape(Field::GivenName, FieldKind::Text, true), 1, 128)
            },
            FieldShape {
                autocomplete: "family-name",
                ..bounded(shape(Field::FamilyName, FieldKind::Text, true), 1, 128)
            },
        ],
    }
}

/// The redirect: mandatory profiles (teaching vacataires) always give an
/// address; the others tick a box first.
fn redirect_fields(rule: RedirectRule) -> Vec<FieldShape> {
    let mandatory = rule == RedirectRule::Mandatory;
    let mail = |field| bounded(shape(field, FieldKind::Email, mandatory), 3, MAIL_MAX);
    vec![
        shape(Field::RedirectEnabled, FieldKind::Checkbox, mandatory),
        mail(Field::RedirectAddress),
        mail(Field::RedirectConfirmation),
        shape(Field::RedirectKeepCopy, FieldKind::Checkbox, false),
    ]
}

fn password_fields(policy: &PasswordPolicy) -> Vec<FieldShape> {
    chosen_password([Field::Password, Field::PasswordConfirmation], policy)
}

/// A password being chosen, typed twice, under `policy`.
fn chosen_password(fields: [Field; 2], policy: &PasswordPolicy) -> Vec<FieldShape> {
    let (min, max) = (policy.min_length as u32, policy.max_length as u32);
    fields
        .into_iter()
        .map(|field| FieldShape {
            autocomplete: "new-password",
            ..bounded(shape(field, FieldKind::Password, true), min, max)
        })
        .collect()
}

/// The forgotten-password form: one field, whatever identifiers the
/// institution accepts (the service works out which was typed); and where
/// resets go by several channels, the one the person chooses.
pub fn reset_fields(channels: usize) -> Vec<FieldShape> {
    let mut fields = vec![login(Field::ResetIdentifier)];
    if channels > 1 {
        fields.push(shape(Field::ResetChannel, FieldKind::Choice, true));
    }
    fields
}

/// The form where a code sent by SMS for a reset is typed.
pub fn reset_code_fields() -> Vec<FieldShape> {
    vec![bounded(shape(Field::Code, FieldKind::Code, true), 1, 64)]
}

/// The forgotten-login form: student number and birth date.
pub fn login_lookup_fields(institution: &InstitutionSettings) -> Vec<FieldShape> {
    vec![
        student_number(Field::LookupStudentNumber, institution),
        FieldShape {
            autocomplete: "bday",
            ..bounded(shape(Field::LookupBirthDate, FieldKind::Text, true), 8, 10)
        },
    ]
}

/// The new password a reset link or the account page sets.
pub fn new_password_fields(policy: &PasswordPolicy) -> Vec<FieldShape> {
    chosen_password([Field::NewPassword, Field::NewPasswordConfirmation], policy)
}

/// The current password, typed again on the account page.
pub fn current_password_field() -> FieldShape {
    FieldShape {
        autocomplete: "current-password",
        ..bounded(
            shape(Field::CurrentPassword, FieldKind::Password, true),
            1,
            TYPED_MAX,
        )
    }
}

/// The account page's password change: the current password, then the
/// new one twice.
pub fn password_change_fields(policy: &PasswordPolicy) -> Vec<FieldShape> {
    let mut fields = vec![current_password_field()];
    fields.extend(new_password_fields(policy));
    fields
}

/// The account page's change of recovery address: the password (the
/// change needs the person present), then the address twice.
pub fn recovery_mail_change_fields() -> Vec<FieldShape> {
    let mail = |field| bounded(shape(field, FieldKind::Email, true), 3, MAIL_MAX);
    vec![
        current_password_field(),
        mail(Field::NewRecoveryMail),
        mail(Field::NewRecoveryMailConfirmation),
    ]
}

/// The account page's recovery phone: the password, then the new number
/// (empty removes it); and the form of the code sent to it.
pub fn recovery_phone_change_fields() -> Vec<FieldShape> {
    vec![
        current_password_field(),
        FieldShape {
            pattern: "\\+?[0-9]{6,15}".to_owned(),
            ..bounded(
                shape(Field::NewRecoveryPhone, FieldKind::Phone, false),
                0,
                20,
            )
        },
    ]
}

/// The account page's redirect: the password, the address twice and the
/// copy kept.
pub fn redirect_change_fields() -> Vec<FieldShape> {
    let mail = |field| bounded(shape(field, FieldKind::Email, true), 3, MAIL_MAX);
    vec![
        current_password_field(),
        mail(Field::NewRedirectAddress),
        mail(Field::NewRedirectConfirmation),
        shape(Field::NewRedirectKeepCopy, FieldKind::Checkbox, false),
    ]
}

/// The directory entry's fields a staff member may edit, in the order the
/// institution lists them; none is required (empty clears it).
pub fn directory_fields(editable: &[DirectoryField]) -> Vec<FieldShape> {
    editable
        .iter()
        .map(|&field| {
            let (form_field, kind) = match field {
                DirectoryField::OfficePhone => (Field::DirectoryOfficePhone, FieldKind::Phone),
                DirectoryField::OfficeLocation => (Field::DirectoryOfficeLocation, FieldKind::Text),
                DirectoryField::JobTitle => (Field::DirectoryJobTitle, FieldKind::Text),
                DirectoryField::PostalAddress => (Field::DirectoryPostalAddress, FieldKind::Text),
                DirectoryField::WebPage => (Field::DirectoryWebPage, FieldKind::Text),
            };
            bounded(shape(form_field, kind, false), 0, field.max_chars() as u32)
        })
        .collect()
}

/// The extension request: the person's reason.
pub fn extension_fields() -> Vec<FieldShape> {
    vec![bounded(
        shape(Field::ExtensionReason, FieldKind::Text, true),
        1,
        1000,
    )]
}

/// A sponsor's invitation of a guest (`InviteGuest`'s `guest`): names as
/// on an identity document, an optional birth date, the address the
/// activation link goes to, the stay's last day and why.
pub fn guest_invitation_fields() -> Vec<FieldShape> {
    let name = |field| bounded(shape(field, FieldKind::Text, true), 1, 128);
    let date = |field, required| FieldShape {
        pattern: "[0-9]{4}-[0-9]{2}-[0-9]{2}".into(),
        ..bounded(shape(field, FieldKind::Text, required), 10, 10)
    };
    vec![
        name(Field::GuestGivenName),
        name(Field::GuestFamilyName),
        date(Field::GuestBirthDate, false),
        bounded(
            shape(Field::GuestPersonalMail, FieldKind::Email, true),
            3,
            MAIL_MAX,
        ),
        date(Field::GuestEndDate, true),
        bounded(shape(Field::GuestReason, FieldKind::Text, true), 1, 500),
    ]
}

/// An institution's (or a profile's) own words for its forms, where its
/// documents word them differently from the service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormWording {
    /// Title and introduction of each step (`recovery_mail`, `password`,
    /// ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub steps: std::collections::BTreeMap<Step, Titled>,
    /// Title and introduction of each entry form (`activation_key`,
    /// `identity_match`, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub entries: std::collections::BTreeMap<ActivationChannel, Titled>,
    /// The last screen, once the account is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Titled>,
    /// The forgotten-password form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_reset: Option<Titled>,
    /// The form where a code a reset sent by SMS is typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_code: Option<Titled>,
    /// The forgotten-login form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_lookup: Option<Titled>,
    /// The form a reset link opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_password: Option<Titled>,
    /// The account page's forms: password, recovery address, redirect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_change: Option<Titled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_mail_change: Option<Titled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_phone_change: Option<Titled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_change: Option<Titled>,
    /// The account page's staff forms and the extension request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_entry: Option<Titled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub antispam: Option<Titled>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_request: Option<Titled>,
    /// The sponsor's invitation of a guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_invitation: Option<Titled>,
    /// A former student's closing of their kept account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alumni_closing: Option<Titled>,
    /// Label, help and example of each field (`student_number`,
    /// `recovery_mail`, ...).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<Field, FieldWording>,
}

/// A title and an introduction, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Titled {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Localized>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intro: Option<Localized>,
}

/// A field's words, each optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldWording {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Localized>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Localized>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Localized>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_has_its_own_request_path() {
        let mut paths: Vec<&str> = Field::ALL.iter().map(|f| f.path()).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), Field::ALL.len());
    }

    #[test]
    fn an_optional_recovery_address_is_not_required() {
        let optional = RecoveryMailRule {
            required: false,
            ..RecoveryMailRule::default()
        };
        let policy = PasswordPolicy::default();
        let rules = StepRules {
            recovery_mail: &optional,
            redirect: RedirectRule::Optional,
            password: &policy,
            identity_after_entry: (&[], None),
            consents: Vec::new(),
        };
        let fields = step_fields(Step::RecoveryMail, &rules);
        assert!(
            fields
                .iter()
                .all(|f| !f.required && f.kind == FieldKind::Email)
        );
        let password = step_fields(Step::Password, &rules);
        assert_eq!(password[0].min_length, policy.min_length as u32);
        assert_eq!(password[0].autocomplete, "new-password");
    }
}
