//! What a page needs to render a first connection without a table of its
//! own: the institution, its entry forms by population, and for each step
//! of a journey its title, introduction and fields with their words,
//! constraints and choice rules.

use domain::activation::Step;
use domain::consent_items::{self, ConsentItem};
use domain::form::{self, Field, FieldShape, StepRules};
use domain::identity_check::IdentityAttribute;
use domain::institution::{ActivationChannel, InstitutionSettings};
use domain::language::Language;
use domain::problem::Problem;
use domain::recovery::{ResetChannel, ResetMethod};

use crate::App;
use crate::error::AppError;
use crate::texts::forms::{self as words, FieldWords, OwnForm, Titles, Wordings};

/// What a page shows of an institution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstitutionView {
    pub code: String,
    pub name: String,
    /// IANA name of its time zone, for times shown in a browser.
    pub time_zone: String,
    pub helpdesk_url: String,
    pub portal_url: String,
}

/// The institution `code` names, as a page shows it.
pub fn institution_view(code: &str, institution: &InstitutionSettings) -> InstitutionView {
    InstitutionView {
        code: code.to_owned(),
        name: institution.name.clone(),
        time_zone: institution.time_zone.name().to_owned(),
        helpdesk_url: institution.helpdesk_url.clone(),
        portal_url: institution.portal_url.clone(),
    }
}

/// One field with its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldView {
    /// Its request path (`recovery_mail.address`, `consents.sms`).
    pub path: String,
    pub shape: FieldShape,
    pub words: FieldWords,
    /// A choice's options in a form of its own, as (value, label); empty
    /// for other fields (a journey's choices come with its flow).
    pub options: Vec<(String, String)>,
}

/// How the options of a consent step combine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceRule {
    /// Several options may be chosen together (the photo's uses).
    pub multiple: bool,
    /// Options chosen alone, never with another (the photo's refusal).
    pub exclusive: Vec<String>,
    /// The box to tick with an exclusive option, whose label says what
    /// the person acknowledges.
    pub acknowledgement: Option<Field>,
}

/// The choice rule of a consent step; none for other steps.
fn choice_rule(step: Step) -> Option<ChoiceRule> {
    match step {
        // "Je n'autorise pas [...] Attention, cette opération est
        // irréversible" (Bordeaux Montaigne): uses combine, refusal
        // excludes them and is acknowledged.
        Step::PhotoUse => Some(ChoiceRule {
            multiple: true,
            exclusive: vec!["refuse".to_owned()],
            acknowledgement: Some(Field::PhotoAcknowledged),
        }),
        Step::DirectoryListing | Step::CrousSharing => Some(ChoiceRule {
            multiple: false,
            exclusive: Vec::new(),
            acknowledgement: None,
        }),
        _ => None,
    }
}

/// One step of a screen as a page renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemView {
    pub step: Step,
    /// The institution's consent item it asks (`consents` items: one
    /// view each).
    pub consent: Option<String>,
    pub titles: Titles,
    pub fields: Vec<FieldView>,
    pub choice: Option<ChoiceRule>,
}

pub(crate) fn with_words(
    shapes: Vec<FieldShape>,
    language: Language,
    wordings: Wordings<'_>,
) -> Vec<FieldView> {
    shapes
        .into_iter()
        .map(|shape| FieldView {
            path: shape.field.path().to_owned(),
            words: words::field(language, wordings, shape.field),
            shape,
            options: Vec::new(),
        })
        .collect()
}

/// The steps of one screen as a page renders them; the `consents` step
/// gives one view per item the profile asks.
pub fn items(
    steps: &[Step],
    rules: &StepRules<'_>,
    wordings: Wordings<'_>,
    language: Language,
) -> Vec<ItemView> {
    let mut views = Vec::new();
    for &step in steps {
        if step == Step::Consents {
            let each = rules.consents.iter();
            views.extend(each.map(|(code, item)| consent_item(step, code, item, rules, language)));
            continue;
        }
        views.push(ItemView {
            step,
            consent: None,
            titles: words::step(language, wordings, step),
            fields: with_words(form::step_fields(step, rules), language, wordings),
            choice: choice_rule(step),
        });
    }
    views
}

/// One of the institution's consent items, in its own words: its label
/// as title and as the choice's label, its help as introduction.
fn consent_item(
    step: Step,
    code: &str,
    item: &ConsentItem,
    rules: &StepRules<'_>,
    language: Language,
) -> ItemView {
    let label = item.label.pick(language).to_owned();
    let help = item.help.as_ref().map(|h| h.pick(language).to_owned());
    let fields = form::step_fields(step, rules)
        .into_iter()
        .map(|shape| FieldView {
            path: consent_items::field_of(code),
            words: FieldWords {
                label: label.clone(),
                // The help is the item's introduction.
                help: String::new(),
                example: String::new(),
            },
            shape,
            options: Vec::new(),
        });
    let fields = fields.collect();
    ItemView {
        step,
        consent: Some(code.to_owned()),
        titles: Titles {
            title: label,
            intro: help.unwrap_or_default(),
        },
        fields,
        choice: Some(ChoiceRule {
            multiple: item.multiple,
            exclusive: item
                .refusal_codes()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            acknowledgement: None,
        }),
    }
}

/// A population a form is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience {
    pub profile: String,
    pub label: String,
}

/// One way in, for the populations that use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryView {
    pub channel: ActivationChannel,
    /// What an identity match asks for (profiles that ask for different
    /// attributes have an entry each); empty for other channels.
    pub identity_check: Vec<IdentityAttribute>,
    pub audiences: Vec<Audience>,
    pub titles: Titles,
    /// The fields of `StartActivation`'s entry; for a mailed link, those
    /// of `RequestActivationLink` (the entry itself is the link).
    pub fields: Vec<FieldView>,
}

/// An institution's first connection, as a page renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstConnection {
    pub institution: InstitutionView,
    pub entries: Vec<EntryView>,
}

impl App {
    /// How people of an institution make their first connection: its
    /// entry forms (Montpellier has two: students' mailed link, staff's
    /// provisional password), each with the populations it serves.
    pub fn describe_first_connection(
        &self,
        code: &str,
        language: Language,
    ) -> Result<FirstConnection, AppError> {
        let code = code.trim();
        let institution = self.named_institution(code)?;
        let wordings = Wordings::of_institution(institution);
        let mut entries: Vec<EntryView> = Vec::new();
        for (profile_code, profile) in &institution.profiles {
            let channel = profile.activation.channel;
            let check = match channel {
                ActivationChannel::IdentityMatch => profile.activation.identity_check.clone(),
                _ => Vec::new(),
            };
            let audience = Audience {
                profile: profile_code.clone(),
                label: words::audience(language, profile),
            };
            match entries
                .iter_mut()
                .find(|e| e.channel == channel && e.identity_check == check)
            {
                Some(entry) => entry.audiences.push(audience),
                None => entries.push(EntryView {
                    channel,
                    fields: with_words(
                        form::entry_fields(channel, institution, &check),
                        language,
                        wordings,
                    ),
                    identity_check: check,
                    audiences: vec![audience],
                    titles: words::entry(language, wordings, channel),
                }),
            }
        }
        entries.sort_by(|a, b| (a.channel, &a.identity_check).cmp(&(b.channel, &b.identity_check)));
        Ok(FirstConnection {
            institution: institution_view(code, institution),
            entries,
        })
    }
}

/// A form of its own: title, introduction and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormView {
    pub titles: Titles,
    pub fields: Vec<FieldView>,
}

/// What a person who cannot sign in is offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    pub institution: InstitutionView,
    /// What a forgotten password sends.
    pub method: ResetMethod,
    pub password_reset: FormView,
    /// None where students cannot look their login up.
    pub login_lookup: Option<FormView>,
    /// How a reset may reach the person, in the institution's order.
    pub channels: Vec<ResetChannel>,
    /// Where the code sent by SMS is typed; none without the SMS channel.
    pub reset_code: Option<FormView>,
}

/// The forgotten-password form's fields: the identifier, worded for what
/// the institution accepts, and the channel where there is a choice.
fn reset_fields(
    recovery: &domain::institution::RecoverySettings,
    language: Language,
    wordings: Wordings<'_>,
) -> Vec<FieldView> {
    let identifier = words::reset_identifier(language, wordings, &recovery.reset_identifiers);
    form::reset_fields(recovery.channels.len())
        .into_iter()
        .map(|shape| match shape.field {
            Field::ResetChannel => FieldView {
                path: shape.field.path().to_owned(),
                words: words::field(language, wordings, shape.field),
                options: words::reset_channels(language, &recovery.channels),
                shape,
            },
            _ => FieldView {
                path: shape.field.path().to_owned(),
                shape,
                words: identifier.clone(),
                options: Vec::new(),
            },
        })
        .collect()
}

impl App {
    /// The institution a request names, or its field's refusal.
    fn named_institution(&self, code: &str) -> Result<&InstitutionSettings, AppError> {
        self.rules
            .institution(code)
            .ok_or_else(|| AppError::field("institution", Problem::UnknownInstitution))
    }

    /// An institution as a page shows it.
    pub fn institution_view(&self, code: &str) -> Result<InstitutionView, AppError> {
        let institution = self.named_institution(code)?;
        Ok(institution_view(code, institution))
    }

    /// The forgotten-password and forgotten-login forms of an institution.
    pub fn describe_recovery(&self, code: &str, language: Language) -> Result<Recovery, AppError> {
        let code = code.trim();
        let institution = self.named_institution(code)?;
        let wordings = Wordings::of_institution(institution);
        let recovery = &institution.recovery;
        let reset_form = match recovery.channels.as_slice() {
            [ResetChannel::Mail] => OwnForm::PasswordReset,
            [ResetChannel::Sms] => OwnForm::PasswordResetBySms,
            _ => OwnForm::PasswordResetByChoice,
        };
        let password_reset = FormView {
            titles: words::own_form(language, wordings, reset_form),
            fields: reset_fields(recovery, language, wordings),
        };
        let login_lookup = recovery.login_lookup.enabled.then(|| FormView {
            titles: words::own_form(language, wordings, OwnForm::LoginLookup),
            fields: with_words(form::login_lookup_fields(institution), language, wordings),
        });
        let reset_code = recovery
            .channels
            .contains(&ResetChannel::Sms)
            .then(|| FormView {
                titles: words::own_form(language, wordings, OwnForm::ResetCode),
                fields: with_words(form::reset_code_fields(), language, wordings),
            });
        Ok(Recovery {
            institution: institution_view(code, institution),
            method: recovery.method,
            password_reset,
            login_lookup,
            channels: recovery.channels.clone(),
            reset_code,
        })
    }

    /// The form that sets a new password for a profile of an institution
    /// (a reset link's), with the profile's words.
    pub fn new_password_form(
        &self,
        code: &str,
        profile: &str,
        language: Language,
    ) -> Result<FormView, AppError> {
        let institution = self
            .rules
            .institution(code)
            .ok_or_else(|| AppError::inconsistent("institution vanished"))?;
        let settings = institution
            .profiles
            .get(profile)
            .ok_or_else(|| AppError::inconsistent("profile vanished"))?;
        let wordings = Wordings::of_profile(institution, settings);
        let policy = institution.password_policy(profile);
        Ok(FormView {
            titles: words::own_form(language, wordings, OwnForm::NewPassword),
            fields: with_words(form::new_password_fields(&policy), language, wordings),
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::institution::ActivationChannel;
    use domain::language::Language;

    use crate::testing::test_app;

    #[tokio::test]
    async fn montpellier_offers_two_ways_in_by_population() {
        let t = test_app().await;
        let described = t
            .app
            .describe_first_connection("umontpellier", Language::French)
            .expect("described");
        let channels: Vec<ActivationChannel> =
            described.entries.iter().map(|e| e.channel).collect();
        assert_eq!(
            channels,
            [
                ActivationChannel::ProvisionalPassword,
                ActivationChannel::MailedLink
            ]
        );
        let staff = &described.entries[0];
        assert!(staff.audiences.len() >= 2);
        assert!(staff.fields.iter().all(|f| !f.words.label.is_empty()));
        assert_eq!(described.institution.time_zone, "Europe/Paris");
        assert!(
            t.app
                .describe_first_connection("nowhere", Language::French)
                .is_err()
        );
    }

    #[tokio::test]
    async fn recovery_forms_follow_the_institution() {
        let t = test_app().await;
        let bordeaux = t
            .app
            .describe_recovery("u-bordeaux-montaigne", Language::English)
            .expect("described");
        assert_eq!(
            bordeaux.method,
            domain::recovery::ResetMethod::ActivationKey
        );
        assert_eq!(bordeaux.password_reset.fields.len(), 1);
        assert_eq!(
            bordeaux.password_reset.fields[0].words.label,
            "Login or INE"
        );
        let montpellier = t
            .app
            .describe_recovery("umontpellier", Language::French)
            .expect("described");
        let lookup = montpellier
            .login_lookup
            .expect("Montpellier looks logins up");
        assert_eq!(lookup.fields[0].shape.max_length, 8);
        let form = t
            .app
            .new_password_form("umontpellier", "student", Language::French)
            .expect("a profile of Montpellier");
        assert_eq!(form.fields.len(), 2);
        assert_eq!(form.fields[0].shape.min_length, 8);
    }
}
