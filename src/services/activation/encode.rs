//! The activation flow in the API's terms.

use crate::app::activation::{CompletionView, FlowView, PendingView, ScreenView};
use crate::app::error::AppError;
use crate::app::forms::{
    ChoiceRule, EntryView, FieldView, FirstConnection, FormView, InstitutionView, ItemView,
};
use crate::app::texts;
use crate::app::texts::ConsentChoice;
use crate::app::texts::forms::Titles;
use crate::domain::activation::Step;
use crate::domain::form::FieldKind;
use crate::domain::institution::CodeChannel;
use crate::domain::language::Language;
use crate::domain::password::policy::DictionaryMode;
use crate::domain::password::{Evaluation, PasswordPolicy, Strength};
use crate::domain::problem::Problem;
use crate::proto;
use crate::services::encode::{notice, timestamp, violation_code};

/// The message a verification step waits for.
pub fn message_kind(step: Step) -> proto::ActivationMessageKind {
    match step {
        Step::VerifyCode => proto::ActivationMessageKind::IdentityCode,
        Step::RecoveryMailVerification => proto::ActivationMessageKind::RecoveryMailVerification,
        Step::MailRedirectVerification => proto::ActivationMessageKind::MailRedirectVerification,
        Step::MobilePhoneVerification => proto::ActivationMessageKind::MobilePhoneVerification,
        _ => proto::ActivationMessageKind::Unspecified,
    }
}

/// The verification step a message kind belongs to.
pub fn step_of_message(kind: i32) -> Option<Step> {
    match proto::ActivationMessageKind::try_from(kind).ok()? {
        proto::ActivationMessageKind::IdentityCode => Some(Step::VerifyCode),
        proto::ActivationMessageKind::RecoveryMailVerification => {
            Some(Step::RecoveryMailVerification)
        }
        proto::ActivationMessageKind::MailRedirectVerification => {
            Some(Step::MailRedirectVerification)
        }
        proto::ActivationMessageKind::MobilePhoneVerification => {
            Some(Step::MobilePhoneVerification)
        }
        proto::ActivationMessageKind::Unspecified => None,
    }
}

pub fn step_code(step: Step) -> proto::ActivationStep {
    use proto::ActivationStep as P;
    match step {
        Step::VerifySecret => P::VerifySecret,
        Step::VerifyCode => P::VerifyCode,
        Step::VerifyIdentity => P::VerifyIdentity,
        Step::RecoveryMail => P::RecoveryMail,
        Step::RecoveryMailVerification => P::RecoveryMailVerification,
        Step::MobilePhone => P::MobilePhone,
        Step::MobilePhoneVerification => P::MobilePhoneVerification,
        Step::Charter => P::Charter,
        Step::DirectoryListing => P::DirectoryListing,
        Step::PhotoUse => P::PhotoUse,
        Step::CrousSharing => P::CrousSharing,
        Step::Consents => P::Consents,
        Step::MailRedirect => P::MailRedirect,
        Step::MailRedirectVerification => P::MailRedirectVerification,
        Step::Password => P::Password,
        Step::Names => P::Names,
    }
}

/// The rules of a policy, with their descriptions in `language`.
pub fn password_rules(policy: &PasswordPolicy, language: Language) -> proto::PasswordRules {
    proto::PasswordRules {
        min_length: policy.min_length as u32,
        recommended_length: policy.recommended_length as u32,
        max_length: policy.max_length as u32,
        required_classes: policy
            .required_classes
            .iter()
            .map(|c| c.name().to_owned())
            .collect(),
        min_non_alphabetic: policy.min_non_alphabetic as u32,
        forbidden_characters: policy.forbidden_characters.clone(),
        no_accented_characters: policy.no_accented_characters,
        no_dictionary_words: policy.dictionary.mode != DictionaryMode::Off,
        no_personal_data: policy.no_personal_data,
        history_count: policy.history_count as u32,
        max_age_days: policy.max_age.map_or(0, |d| (d.as_secs() / 86_400) as u32),
        descriptions: texts::password_rules(language, policy),
    }
}

/// The meter's answer: strength, score and every broken rule.
pub fn evaluation(evaluation: &Evaluation, language: Language) -> proto::EvaluatePasswordResponse {
    proto::EvaluatePasswordResponse {
        strength: match evaluation.strength {
            Strength::Weak => proto::PasswordStrength::Weak,
            Strength::Medium => proto::PasswordStrength::Medium,
            Strength::Strong => proto::PasswordStrength::Strong,
        } as i32,
        score: u32::from(evaluation.score),
        acceptable: evaluation.acceptable(),
        violations: evaluation
            .violations
            .iter()
            .map(|v| proto::PasswordViolation {
                code: violation_code(v) as i32,
                params: v
                    .params()
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
                message: texts::password_violation(language, v),
            })
            .collect(),
    }
}

/// The flow's screens; once it is complete, a last one holding the
/// completed step, which `current_screen` then names (a page reading
/// `screens[current_screen]` always finds a screen).
fn screens(view: &FlowView) -> Vec<proto::ActivationScreen> {
    let mut screens: Vec<proto::ActivationScreen> = view.screens.iter().map(screen).collect();
    if view.current_screen >= screens.len() {
        let Titles { title, intro } = view.completed.clone();
        screens.push(proto::ActivationScreen {
            steps: vec![proto::ActivationStep::Completed as i32],
            done: true,
            title: title.clone(),
            intro: intro.clone(),
            items: vec![proto::ScreenItem {
                step: proto::ActivationStep::Completed as i32,
                title,
                intro,
                fields: Vec::new(),
                choice: None,
                consent: String::new(),
            }],
        });
    }
    screens
}

fn screen(screen: &ScreenView) -> proto::ActivationScreen {
    proto::ActivationScreen {
        steps: screen.steps.iter().map(|s| step_code(*s) as i32).collect(),
        done: screen.done,
        title: screen.titles.title.clone(),
        intro: screen.titles.intro.clone(),
        items: screen.items.iter().map(item).collect(),
    }
}

pub fn item(item: &ItemView) -> proto::ScreenItem {
    proto::ScreenItem {
        step: step_code(item.step) as i32,
        title: item.titles.title.clone(),
        intro: item.titles.intro.clone(),
        fields: item.fields.iter().map(form_field).collect(),
        choice: item.choice.as_ref().map(choice_rule),
        consent: item.consent.clone().unwrap_or_default(),
    }
}

fn choice_rule(rule: &ChoiceRule) -> proto::ChoiceRule {
    proto::ChoiceRule {
        multiple: rule.multiple,
        exclusive_values: rule.exclusive.clone(),
        acknowledgement_field: rule
            .acknowledgement
            .map(|f| f.path().to_owned())
            .unwrap_or_default(),
    }
}

fn form_field(field: &FieldView) -> proto::FormField {
    use proto::FieldKind as K;
    let shape = &field.shape;
    proto::FormField {
        name: field.path.clone(),
        kind: match shape.kind {
            FieldKind::Text => K::Text,
            FieldKind::Email => K::Email,
            FieldKind::Password => K::Password,
            FieldKind::Phone => K::Phone,
            FieldKind::Code => K::Code,
            FieldKind::Checkbox => K::Checkbox,
            FieldKind::Choice => K::Choice,
        } as i32,
        label: field.words.label.clone(),
        help: field.words.help.clone(),
        example: field.words.example.clone(),
        required: shape.required,
        min_length: shape.min_length,
        max_length: shape.max_length,
        pattern: shape.pattern.clone(),
        autocomplete: shape.autocomplete.to_owned(),
        options: field
            .options
            .iter()
            .map(|(value, label)| proto::FormOption {
                value: value.clone(),
                label: label.clone(),
            })
            .collect(),
    }
}

/// A form of its own.
pub fn form(view: FormView) -> proto::Form {
    proto::Form {
        title: view.titles.title,
        intro: view.titles.intro,
        fields: view.fields.iter().map(form_field).collect(),
    }
}

/// The institution as a page shows it.
pub fn institution_info(view: InstitutionView) -> proto::InstitutionInfo {
    proto::InstitutionInfo {
        code: view.code,
        name: view.name,
        time_zone: view.time_zone,
        helpdesk_url: view.helpdesk_url,
        portal_url: view.portal_url,
    }
}

/// An institution's first connection as the API describes it.
pub fn first_connection(described: FirstConnection) -> proto::DescribeFirstConnectionResponse {
    proto::DescribeFirstConnectionResponse {
        institution: Some(institution_info(described.institution)),
        entries: described.entries.into_iter().map(entry_form).collect(),
    }
}

fn entry_form(entry: EntryView) -> proto::EntryForm {
    proto::EntryForm {
        channel: crate::services::encode::channel(entry.channel) as i32,
        audiences: entry
            .audiences
            .into_iter()
            .map(|a| proto::Audience {
                profile: a.profile,
                label: a.label,
            })
            .collect(),
        title: entry.titles.title,
        intro: entry.titles.intro,
        fields: entry.fields.iter().map(form_field).collect(),
    }
}

/// The flow as the API describes it.
pub fn flow(view: FlowView, language: Language) -> proto::ActivationFlow {
    let screens = screens(&view);
    let institution_info = Some(institution_info(view.institution_view.clone()));
    proto::ActivationFlow {
        institution_info,
        flow_id: view.flow_id,
        institution: view.institution,
        profile: view.profile,
        login: view.login,
        screens,
        current_screen: view.current_screen as u32,
        pending_verification: view.pending_verification.map(pending),
        password_rules: Some(password_rules(&view.password_policy, language)),
        charter: view.charter.map(|c| proto::CharterInfo {
            version: c.version,
            url: c.url,
        }),
        mail_redirect_mandatory: view.mail_redirect_mandatory,
        mail_redirect_default_address: view.mail_redirect_default_address,
        expires_at: Some(timestamp(view.expires_at)),
        completion: view.completion.map(completion),
        choices: view.choices.into_iter().map(choice).collect(),
    }
}

/// One option of a consent.
pub fn choice(choice: ConsentChoice) -> proto::ActivationChoice {
    proto::ActivationChoice {
        step: step_code(choice.step) as i32,
        consent: choice.consent,
        value: choice.value,
        label: choice.label,
        caveat: choice.caveat,
    }
}

fn pending(view: PendingView) -> proto::PendingVerification {
    proto::PendingVerification {
        kind: message_kind(view.step) as i32,
        notice: view.notice.map(notice),
        code_choices: view
            .code_choices
            .into_iter()
            .map(|(channel, masked)| proto::CodeChoice {
                channel: code_channel_of(channel) as i32,
                masked_destination: masked,
            })
            .collect(),
    }
}

fn code_channel_of(channel: CodeChannel) -> proto::CodeChannel {
    match channel {
        CodeChannel::Sms => proto::CodeChannel::Sms,
        CodeChannel::Mail => proto::CodeChannel::Mail,
    }
}

/// The destination a request chose for a code; `None`: the profile's.
pub fn code_channel(channel: i32) -> Result<Option<CodeChannel>, AppError> {
    match proto::CodeChannel::try_from(channel) {
        Ok(proto::CodeChannel::Unspecified) => Ok(None),
        Ok(proto::CodeChannel::Sms) => Ok(Some(CodeChannel::Sms)),
        Ok(proto::CodeChannel::Mail) => Ok(Some(CodeChannel::Mail)),
        Err(_) => Err(AppError::field("channel", Problem::UnknownValue)),
    }
}

fn completion(view: CompletionView) -> proto::ActivationCompletion {
    proto::ActivationCompletion {
        login: view.login,
        institutional_mail: view.institutional_mail,
        mail_redirect: view.mail_redirect.map(|r| proto::MailRedirect {
            enabled: true,
            address: r.address,
            keep_copy: r.keep_copy,
            verified: r.verified,
            mandatory: r.mandatory,
        }),
        next_url: view.next_url,
        next_label: view.next_label,
        activated_at: view.activated_at.map(timestamp),
    }
}
