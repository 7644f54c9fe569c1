//! The words of the first-connection forms: the profile's own, else the
//! institution's, else the service's ([`fr`], [`en`]).

pub mod en;
pub mod fr;

use domain::activation::Step;
use domain::consent::Localized;
use domain::form::{Field, FormWording, Titled};
use domain::institution::{ActivationChannel, InstitutionSettings, ProfileSettings};
use domain::language::Language;
use domain::recovery::{ResetChannel, ResetIdentifierKind};
use domain::self_service::AntispamLevel;

/// Where words are looked for, first to last.
#[derive(Debug, Clone, Copy)]
pub struct Wordings<'a> {
    profile: Option<&'a FormWording>,
    institution: &'a FormWording,
    /// The institution's consent items: the service's own items it
    /// declares are worded by their label and help.
    consents: &'a std::collections::BTreeMap<String, domain::consent_items::ConsentItem>,
}

impl<'a> Wordings<'a> {
    /// The institution's words alone (forms shown before the profile is
    /// known: the entries).
    pub fn of_institution(institution: &'a InstitutionSettings) -> Self {
        Wordings {
            profile: None,
            institution: &institution.wording,
            consents: &institution.consents,
        }
    }

    /// A profile's words over its institution's.
    pub fn of_profile(institution: &'a InstitutionSettings, profile: &'a ProfileSettings) -> Self {
        Wordings {
            profile: Some(&profile.wording),
            institution: &institution.wording,
            consents: &institution.consents,
        }
    }

    fn find<T>(&self, pick: impl Fn(&'a FormWording) -> Option<T>) -> Option<T> {
        self.profile
            .and_then(&pick)
            .or_else(|| pick(self.institution))
    }
}

/// A title and an introduction as the person reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Titles {
    pub title: String,
    pub intro: String,
}

/// A field's words as the person reads them; empty: none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldWords {
    pub label: String,
    pub help: String,
    pub example: String,
}

/// Title and introduction, each from the first wording that has it.
fn titled<'a>(
    language: Language,
    wordings: Wordings<'a>,
    own: impl Fn(&'a FormWording) -> Option<&'a Titled>,
    (title, intro): (&str, &str),
) -> Titles {
    let found_title = wordings.find(|w| own(w).and_then(|t| t.title.as_ref()));
    let found_intro = wordings.find(|w| own(w).and_then(|t| t.intro.as_ref()));
    Titles {
        title: found_title.map_or(title, |t| t.pick(language)).to_owned(),
        intro: found_intro.map_or(intro, |t| t.pick(language)).to_owned(),
    }
}

/// A step's title and introduction; a service's own consent item the
/// institution declares is worded by its label and help.
pub fn step(language: Language, wordings: Wordings<'_>, step: Step) -> Titles {
    let (title, intro) = match language {
        Language::French => fr::step(step),
        Language::English => en::step(step),
    };
    let declared = domain::consent::reserved_code(step).and_then(|c| wordings.consents.get(c));
    let service = match declared {
        Some(item) => (
            item.label.pick(language),
            item.help.as_ref().map_or("", |h| h.pick(language)),
        ),
        None => (title, intro),
    };
    titled(language, wordings, |w| w.steps.get(&step), service)
}

/// An entry form's title and introduction.
pub fn entry(language: Language, wordings: Wordings<'_>, channel: ActivationChannel) -> Titles {
    let service = match language {
        Language::French => fr::entry(channel),
        Language::English => en::entry(channel),
    };
    titled(language, wordings, |w| w.entries.get(&channel), service)
}

/// The last screen's title and introduction.
pub fn completed(language: Language, wordings: Wordings<'_>) -> Titles {
    let service = match language {
        Language::French => fr::COMPLETED,
        Language::English => en::COMPLETED,
    };
    titled(language, wordings, |w| w.completed.as_ref(), service)
}

/// What a population is called on the first-connection page.
pub fn audience(language: Language, profile: &ProfileSettings) -> String {
    profile.label.as_ref().map_or_else(
        || {
            language
                .pick(fr::audience(profile.kind), en::audience(profile.kind))
                .to_owned()
        },
        |l| l.pick(language).to_owned(),
    )
}

/// A field's label, help and example.
pub fn field(language: Language, wordings: Wordings<'_>, field: Field) -> FieldWords {
    let (label, help, example) = match language {
        Language::French => fr::field(field),
        Language::English => en::field(field),
    };
    let own = |part: fn(&domain::form::FieldWording) -> Option<&Localized>| {
        wordings.find(|w| w.fields.get(&field).and_then(part))
    };
    let word = |found: Option<&Localized>, service: &str| {
        found.map_or(service, |w| w.pick(language)).to_owned()
    };
    FieldWords {
        label: word(own(|w| w.label.as_ref()), label),
        help: word(own(|w| w.help.as_ref()), help),
        example: word(own(|w| w.example.as_ref()), example),
    }
}

/// The forms outside activation: those of a person who cannot sign in,
/// and those of the account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnForm {
    /// The forgotten-password form where resets go by mail only...
    PasswordReset,
    /// ...by SMS only...
    PasswordResetBySms,
    /// ...or as the person chooses.
    PasswordResetByChoice,
    /// Where the code sent by SMS is typed.
    ResetCode,
    LoginLookup,
    NewPassword,
    PasswordChange,
    RecoveryMailChange,
    /// The account page's recovery phone, and the code sent to it.
    RecoveryPhoneChange,
    RecoveryPhoneCode,
    RedirectChange,
    DirectoryEntry,
    Antispam,
    ExtensionRequest,
    GuestInvitation,
    AlumniClosing,
}

/// Such a form's title and introduction.
pub fn own_form(language: Language, wordings: Wordings<'_>, form: OwnForm) -> Titles {
    let service = match language {
        Language::French => fr::own_form(form),
        Language::English => en::own_form(form),
    };
    titled(language, wordings, |w| own_titled(w, form), service)
}

fn own_titled(wording: &FormWording, form: OwnForm) -> Option<&Titled> {
    match form {
        OwnForm::PasswordReset | OwnForm::PasswordResetBySms | OwnForm::PasswordResetByChoice => {
            wording.password_reset.as_ref()
        }
        OwnForm::ResetCode => wording.reset_code.as_ref(),
        OwnForm::LoginLookup => wording.login_lookup.as_ref(),
        OwnForm::NewPassword => wording.new_password.as_ref(),
        OwnForm::PasswordChange => wording.password_change.as_ref(),
        OwnForm::RecoveryMailChange => wording.recovery_mail_change.as_ref(),
        OwnForm::RecoveryPhoneChange => wording.recovery_phone_change.as_ref(),
        OwnForm::RecoveryPhoneCode => None,
        OwnForm::RedirectChange => wording.redirect_change.as_ref(),
        OwnForm::DirectoryEntry => wording.directory_entry.as_ref(),
        OwnForm::Antispam => wording.antispam.as_ref(),
        OwnForm::ExtensionRequest => wording.extension_request.as_ref(),
        OwnForm::GuestInvitation => wording.guest_invitation.as_ref(),
        OwnForm::AlumniClosing => wording.alumni_closing.as_ref(),
    }
}

/// The words of the forgotten-password form's one field: the
/// institution's, else a label naming what it `accepts`.
pub fn reset_identifier(
    language: Language,
    wordings: Wordings<'_>,
    accepts: &[ResetIdentifierKind],
) -> FieldWords {
    let mut words = field(language, wordings, Field::ResetIdentifier);
    let own_label = wordings.find(|w| {
        w.fields
            .get(&Field::ResetIdentifier)
            .and_then(|f| f.label.as_ref())
    });
    if own_label.is_none() {
        words.label = match language {
            Language::French => fr::reset_identifier(accepts),
            Language::English => en::reset_identifier(accepts),
        };
    }
    words
}

/// The channels a reset may go by, each with its label.
pub fn reset_channels(language: Language, channels: &[ResetChannel]) -> Vec<(String, String)> {
    channels
        .iter()
        .map(|&channel| {
            let label = match language {
                Language::French => fr::reset_channel(channel),
                Language::English => en::reset_channel(channel),
            };
            (channel.as_str().to_owned(), label.to_owned())
        })
        .collect()
}

/// The antispam levels a staff member chooses among, with their words.
pub fn antispam_levels(language: Language) -> Vec<(AntispamLevel, &'static str)> {
    AntispamLevel::ALL
        .into_iter()
        .map(|level| {
            let label = match language {
                Language::French => fr::antispam_level(level),
                Language::English => en::antispam_level(level),
            };
            (level, label)
        })
        .collect()
}

/// `names` as a sentence lists them: `a, b or c`.
fn listed(names: &[&str], or: &str) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} {or} {last}", rest.join(", ")),
    }
}

/// `text` with its first letter in capitals.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::example_rules;

    #[test]
    fn every_step_entry_and_field_is_worded_in_both_languages() {
        for step in [
            Step::VerifyCode,
            Step::VerifyIdentity,
            Step::RecoveryMail,
            Step::MobilePhone,
            Step::MobilePhoneVerification,
            Step::Charter,
            Step::Password,
        ] {
            assert_ne!(fr::step(step), en::step(step));
            assert!(!fr::step(step).1.is_empty());
        }
        for field in Field::ALL {
            assert!(!fr::field(field).0.is_empty(), "{field:?}");
            assert!(!en::field(field).0.is_empty(), "{field:?}");
        }
    }

    #[test]
    fn a_profile_words_over_its_institution_which_words_over_the_service() {
        let rules = example_rules();
        let tours = &rules.institutions["univ-tours"];
        let student = &tours.profiles["student"];
        let wordings = Wordings::of_profile(tours, student);
        let number = field(Language::French, wordings, Field::StudentNumber);
        assert!(number.help.contains("confirmation"), "{number:?}");
        // What Tours leaves out, the service words.
        let code = field(Language::English, wordings, Field::Code);
        assert_eq!(code.label, en::field(Field::Code).0);
    }

    #[test]
    fn the_reset_field_names_what_the_institution_accepts() {
        let rules = example_rules();
        let bordeaux = &rules.institutions["u-bordeaux-montaigne"];
        let words = reset_identifier(
            Language::French,
            Wordings::of_institution(bordeaux),
            &bordeaux.recovery.reset_identifiers,
        );
        assert_eq!(words.label, "Identifiant ou numéro INE");
        let every = ResetIdentifierKind::ALL;
        let english = en::reset_identifier(&every);
        assert_eq!(english, "Login, INE or institutional mail address");
    }
}
