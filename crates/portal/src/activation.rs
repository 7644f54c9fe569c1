//! The first connection's pages after the entry form: starting a flow
//! (or asking for a new mailed link), then each screen of the flow as the
//! API describes it.

use std::collections::BTreeMap;

use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;
use tonic_types::StatusExt;

use crate::session::{FlowHandle, Session};

/// A form as posted: its fields by request path (a name may repeat:
/// the photo's uses).
pub type Posted = Vec<(String, String)>;

/// The first value of a posted field; empty when absent.
pub fn value<'a>(posted: &'a Posted, name: &str) -> &'a str {
    posted
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The fields a page may show again as typed: never a secret.
const SHOWN_AGAIN: &[&str] = &[
    "names.given_name",
    "names.family_name",
    "guest.given_name",
    "guest.family_name",
    "guest.birth_date",
    "guest.personal_mail",
    "guest.end_date",
    "guest.reason",
    "key.login",
    "provisional_password.login",
    "login",
    "identity_match.student_number",
    "identity_match.ine",
    "identity_match.mobile_phone",
    "identity_match.hr_id",
    "identity_match.birth_date",
    "identity_match.family_name",
    "identity_match.personal_mail",
    "recovery_mail.address",
    "recovery_mail.confirmation",
    "mail_redirect.address.address",
    "mail_redirect.address.confirmation",
    "typed_identifier",
    "student_number",
    "birth_date",
    "new_recovery_mail.address",
    "new_recovery_mail.confirmation",
    "address.address",
    "address.confirmation",
    "entry.office_phone",
    "entry.office_location",
    "entry.job_title",
    "entry.postal_address",
    "entry.web_page",
    "reason",
];

/// What a refused form shows: the API's words for the whole and for each
/// field, and what was typed (secrets excepted).
#[derive(Debug, Default, Serialize)]
pub struct Refusal {
    pub summary: String,
    pub errors: BTreeMap<String, String>,
    /// The summary's list: each field's error with its input's `id`.
    pub links: Vec<(String, String)>,
    pub values: BTreeMap<String, String>,
}

/// What the API said of a refusal in the person's language; `unavailable`
/// when it could not say (out of reach, a failure of its own).
pub fn said(status: &tonic::Status, unavailable: &str) -> String {
    use tonic::Code as C;
    match status.code() {
        C::Unavailable | C::Unknown | C::DeadlineExceeded => unavailable.to_owned(),
        _ => status
            .get_details_localized_message()
            .map(|m| m.message)
            .unwrap_or_else(|| unavailable.to_owned()),
    }
}

impl Refusal {
    /// The refusal of the form `form` of a page with several forms: its
    /// summary links to that form's inputs.
    pub fn within(mut self, form: &str) -> Self {
        for (id, _) in &mut self.links {
            *id = format!("{form}-{id}");
        }
        self
    }

    pub fn of(status: &tonic::Status, posted: &Posted, unavailable: &str) -> Refusal {
        let summary = said(status, unavailable);
        let mut errors = BTreeMap::new();
        for violation in status
            .get_details_bad_request()
            .map(|b| b.field_violations)
            .unwrap_or_default()
        {
            errors
                .entry(violation.field)
                .and_modify(|e: &mut String| {
                    e.push(' ');
                    e.push_str(&violation.description);
                })
                .or_insert(violation.description);
        }
        let values = posted
            .iter()
            .filter(|(name, _)| SHOWN_AGAIN.contains(&name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        let links = errors
            .iter()
            .map(|(name, error)| (crate::pages::field_id(name), error.clone()))
            .collect();
        Refusal {
            summary,
            errors,
            links,
            values,
        }
    }
}

/// The identity details a form posted (an identity match, or the check
/// after an entry).
pub fn identity_entry(posted: &Posted) -> proto::IdentityMatchEntry {
    let v = |name| value(posted, name).to_owned();
    proto::IdentityMatchEntry {
        student_number: v("identity_match.student_number"),
        ine: v("identity_match.ine"),
        mobile_phone: v("identity_match.mobile_phone"),
        hr_id: v("identity_match.hr_id"),
        birth_date: v("identity_match.birth_date"),
        family_name: v("identity_match.family_name"),
        personal_mail: v("identity_match.personal_mail"),
    }
}

/// The `StartActivation` request of an entry form, or `None` for an entry
/// that is not one.
pub fn start_request(
    institution: &str,
    entry: &str,
    posted: &Posted,
) -> Option<proto::StartActivationRequest> {
    use proto::start_activation_request::Entry;
    let v = |name| value(posted, name).to_owned();
    let entry = match entry {
        "key" => Entry::Key(proto::KeyEntry {
            login: v("key.login"),
            activation_key: v("key.activation_key"),
        }),
        "provisional_password" => Entry::ProvisionalPassword(proto::ProvisionalPasswordEntry {
            login: v("provisional_password.login"),
            provisional_password: v("provisional_password.provisional_password"),
        }),
        "identity_match" => Entry::IdentityMatch(identity_entry(posted)),
        _ => return None,
    };
    Some(proto::StartActivationRequest {
        institution: institution.to_owned(),
        entry: Some(entry),
    })
}

/// After a flow starts: the flow in the session, and on to its page (a
/// redirect, so that reloading never posts the secret again).
pub fn started(
    portal: &crate::Portal,
    institution: &str,
    mut session: Session,
    flow_token: String,
) -> Response {
    session.flow = Some(FlowHandle {
        institution: institution.to_owned(),
        token: flow_token,
    });
    let response = Redirect::to(&format!("/{institution}/activation/flow")).into_response();
    crate::pages::with_session(portal, response, &session)
}

/// Which items a posted screen carried (unchecked boxes are not posted:
/// a hidden `step` field names each item of the screen).
pub fn posted_steps(posted: &Posted) -> Vec<&str> {
    posted
        .iter()
        .filter(|(n, _)| n == "step")
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The answers to the institution's own consent items a form carried:
/// each item it showed (a hidden `consent` field names it), with the
/// options ticked under `consents.<code>`. `unanswered`: an item with
/// nothing ticked is sent empty (a journey screen, which needs every
/// answer); otherwise it is left out (the account page changes only what
/// was answered).
pub fn consent_answers(posted: &Posted, unanswered: bool) -> Vec<proto::ConsentAnswerInput> {
    let shown = posted.iter().filter(|(n, _)| n == "consent");
    let answers = shown.map(|(_, item)| {
        let name = format!("consents.{item}");
        let ticked = posted.iter().filter(|(n, _)| *n == name);
        proto::ConsentAnswerInput {
            item: item.clone(),
            choices: ticked.map(|(_, v)| v.clone()).collect(),
        }
    });
    answers
        .filter(|a| unanswered || !a.choices.is_empty())
        .collect()
}

pub fn yes_no(posted: &Posted, name: &str) -> Option<bool> {
    match value(posted, name) {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The address typed twice under `prefix` (`recovery_mail`, ...).
pub fn mail_input(posted: &Posted, prefix: &str) -> proto::MailInput {
    proto::MailInput {
        address: value(posted, &format!("{prefix}.address")).to_owned(),
        confirmation: value(posted, &format!("{prefix}.confirmation")).to_owned(),
    }
}

/// The password typed twice under `prefix` (`password`, `new_password`).
pub fn password_input(posted: &Posted, prefix: &str) -> proto::PasswordInput {
    proto::PasswordInput {
        password: value(posted, &format!("{prefix}.password")).to_owned(),
        confirmation: value(posted, &format!("{prefix}.confirmation")).to_owned(),
    }
}

/// A photo use as the form's options name it (`card_reprint`).
pub fn photo_use_value(photo_use: proto::PhotoUse) -> String {
    photo_use
        .as_str_name()
        .trim_start_matches("PHOTO_USE_")
        .to_ascii_lowercase()
}

pub fn photo_choice(posted: &Posted) -> proto::PhotoChoice {
    let chosen: Vec<&str> = posted
        .iter()
        .filter(|(n, _)| n == "photo.uses")
        .map(|(_, v)| v.as_str())
        .collect();
    proto::PhotoChoice {
        uses: chosen
            .iter()
            .filter_map(|v| {
                proto::PhotoUse::from_str_name(&format!("PHOTO_USE_{}", v.to_ascii_uppercase()))
            })
            .map(|u| u as i32)
            .collect(),
        refuse: chosen.contains(&"refuse"),
        irreversibility_acknowledged: value(posted, "photo.irreversibility_acknowledged") == "true",
    }
}

fn redirect_input(posted: &Posted) -> proto::RedirectInput {
    let address = mail_input(posted, "mail_redirect.address");
    let enabled = value(posted, "mail_redirect.enabled") == "true"
        || value(posted, "mail_redirect.mandatory") == "true";
    proto::RedirectInput {
        enabled,
        address: (enabled || !address.address.is_empty()).then_some(address),
        keep_copy: value(posted, "mail_redirect.keep_copy") == "true",
    }
}

/// The `SubmitActivationScreen` request of a posted screen: each item the
/// screen showed, as typed.
pub fn screen_request(flow_token: &str, posted: &Posted) -> proto::SubmitActivationScreenRequest {
    let steps = posted_steps(posted);
    let has = |step: &str| steps.contains(&step);
    let recovery_mail = mail_input(posted, "recovery_mail");
    proto::SubmitActivationScreenRequest {
        flow_token: flow_token.to_owned(),
        // An optional address left empty is left out (Bordeaux Montaigne).
        recovery_mail: (has("recovery_mail")
            && !(recovery_mail.address.is_empty() && recovery_mail.confirmation.is_empty()))
        .then_some(recovery_mail),
        charter: has("charter").then(|| proto::CharterAcceptance {
            version: value(posted, "charter.version").to_owned(),
            accepted: value(posted, "charter.accepted") == "true",
        }),
        directory_listed: if has("directory_listing") {
            yes_no(posted, "directory_listed")
        } else {
            None
        },
        photo: has("photo_use").then(|| photo_choice(posted)),
        crous_sharing: if has("crous_sharing") {
            yes_no(posted, "crous_sharing")
        } else {
            None
        },
        mail_redirect: has("mail_redirect").then(|| redirect_input(posted)),
        password: has("password").then(|| password_input(posted, "password")),
        names: has("names").then(|| proto::NamesInput {
            given_name: value(posted, "names.given_name").to_owned(),
            family_name: value(posted, "names.family_name").to_owned(),
        }),
        mobile_phone: if has("mobile_phone") {
            value(posted, "mobile_phone").to_owned()
        } else {
            String::new()
        },
        consents: consent_answers(posted, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        pairs
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_screen_posts_its_items_and_only_them() {
        let form = posted(&[
            ("step", "photo_use"),
            ("step", "directory_listing"),
            ("photo.uses", "card_reprint"),
            ("photo.uses", "photo_directory"),
            ("directory_listed", "false"),
            ("password.password", "not on this screen"),
        ]);
        let request = screen_request("t", &form);
        let photo = request.photo.expect("photo");
        assert_eq!(photo.uses.len(), 2);
        assert!(!photo.refuse);
        assert_eq!(request.directory_listed, Some(false));
        assert!(request.password.is_none() && request.charter.is_none());
    }

    #[test]
    fn an_optional_address_left_empty_is_left_out() {
        let form = posted(&[
            ("step", "charter"),
            ("step", "recovery_mail"),
            ("charter.version", "2025-09"),
            ("recovery_mail.address", ""),
            ("recovery_mail.confirmation", ""),
        ]);
        let request = screen_request("t", &form);
        assert!(request.recovery_mail.is_none());
        // An unchecked charter is posted as refused, for the API to say so.
        assert_eq!(request.charter.map(|c| c.accepted), Some(false));
    }
}

/// A flow's current screen, as the templates render it.
#[derive(Debug, Serialize)]
pub struct FlowPage {
    pub login: String,
    pub title: String,
    pub intro: String,
    pub items: Vec<ItemPage>,
    /// The screen waits for a mailed link or a code.
    pub verification: Option<VerificationPage>,
    /// On such a screen, the item that gave the address, to give another
    /// (a typo, a mailbox that does not receive).
    pub change_address: Option<ItemPage>,
    pub completion: Option<CompletionPage>,
    pub charter_version: String,
    pub charter_url: String,
    pub password_rules: Vec<String>,
    pub redirect_mandatory: bool,
    pub redirect_default: String,
    /// This screen's number and how many there are, for "2 / 4".
    pub number: usize,
    pub total: usize,
}

#[derive(Debug, Serialize)]
pub struct ItemPage {
    pub step: String,
    /// The institution's consent item it asks (`consents`); empty
    /// otherwise.
    pub consent: String,
    /// What names it in the page's ids: the step, or `consents-<code>`.
    pub key: String,
    pub title: String,
    pub intro: String,
    /// The inputs other than the item's choice.
    pub fields: Vec<crate::pages::FieldPage>,
    /// The choice's field name and options, when the item is a choice.
    pub choice: String,
    /// The choice's `id`, for its error.
    pub choice_id: String,
    pub options: Vec<OptionPage>,
    pub multiple: bool,
}

#[derive(Debug, Serialize)]
pub struct OptionPage {
    pub value: String,
    pub id: String,
    pub label: String,
    pub caveat: String,
    /// Chosen already (the account page shows the consents as they stand).
    pub checked: bool,
}

#[derive(Debug, Serialize)]
pub struct VerificationPage {
    pub destination: String,
    pub also_sent_to: Vec<String>,
    pub check_spam_folder: bool,
    /// A code may be typed (SMS code, the recovery mail's code).
    pub code: bool,
    /// What `ResendActivationMessage` sends again.
    pub kind: &'static str,
    /// Where the person may have the code sent (value, masked
    /// destination), when the profile lets them choose.
    pub choices: Vec<CodeChoicePage>,
}

/// One destination the person may choose for the code.
#[derive(Debug, Serialize)]
pub struct CodeChoicePage {
    /// `sms` or `mail`, as posted.
    pub value: &'static str,
    pub destination: String,
}

#[derive(Debug, Serialize)]
pub struct CompletionPage {
    pub login: String,
    pub institutional_mail: String,
    pub redirect: String,
    pub next_url: String,
    pub next_label: String,
}

impl ItemPage {
    /// The item in the form `form` of a page with several forms.
    pub fn within(mut self, form: &str) -> Self {
        self.fields = self.fields.into_iter().map(|f| f.within(form)).collect();
        self.choice_id = format!("{form}-{}", self.choice_id);
        self
    }
}

/// A step's name in forms and templates (`photo_use`).
fn step_name(step: i32) -> String {
    proto::ActivationStep::try_from(step)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("ACTIVATION_STEP_")
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

pub fn item_page(item: &proto::ScreenItem, choices: &[proto::ActivationChoice]) -> ItemPage {
    let choice = item
        .fields
        .iter()
        .find(|f| f.kind == proto::FieldKind::Choice as i32);
    let step = step_name(item.step);
    let key = match item.consent.as_str() {
        "" => step.clone(),
        code => format!("{step}-{code}"),
    };
    ItemPage {
        options: choices
            .iter()
            .filter(|c| c.step == item.step && c.consent == item.consent)
            .map(|c| OptionPage {
                id: format!("o-{}-{}", key.replace('_', "-"), c.value.replace('_', "-")),
                value: c.value.clone(),
                label: c.label.clone(),
                caveat: c.caveat.clone(),
                checked: false,
            })
            .collect(),
        step,
        consent: item.consent.clone(),
        key,
        title: item.title.clone(),
        intro: item.intro.clone(),
        fields: item
            .fields
            .iter()
            .filter(|f| f.kind != proto::FieldKind::Choice as i32)
            .map(crate::pages::FieldPage::from)
            .collect(),
        choice: choice.map(|f| f.name.clone()).unwrap_or_default(),
        choice_id: choice
            .map(|f| crate::pages::field_id(&f.name))
            .unwrap_or_default(),
        multiple: item.choice.as_ref().is_some_and(|c| c.multiple),
    }
}

fn verification_page(flow: &proto::ActivationFlow) -> Option<VerificationPage> {
    let pending = flow.pending_verification.as_ref()?;
    let sent = pending.notice.is_some();
    let notice = pending.notice.clone().unwrap_or_default();
    let choices = pending
        .code_choices
        .iter()
        .filter_map(|choice| {
            let value = match proto::CodeChannel::try_from(choice.channel).ok()? {
                proto::CodeChannel::Sms => "sms",
                proto::CodeChannel::Mail => "mail",
                proto::CodeChannel::Unspecified => return None,
            };
            Some(CodeChoicePage {
                value,
                destination: choice.masked_destination.clone(),
            })
        })
        .collect();
    Some(VerificationPage {
        choices,
        destination: notice.masked_destination,
        also_sent_to: notice.also_sent_to,
        check_spam_folder: notice.check_spam_folder,
        code: sent && pending.kind != proto::ActivationMessageKind::MailRedirectVerification as i32,
        kind: proto::ActivationMessageKind::try_from(pending.kind)
            .unwrap_or_default()
            .as_str_name(),
    })
}

fn completion_page(flow: &proto::ActivationFlow) -> Option<CompletionPage> {
    let done = flow.completion.as_ref()?;
    Some(CompletionPage {
        login: done.login.clone(),
        institutional_mail: done.institutional_mail.clone(),
        redirect: done
            .mail_redirect
            .as_ref()
            .map(|r| r.address.clone())
            .unwrap_or_default(),
        next_url: done.next_url.clone(),
        next_label: done.next_label.clone(),
    })
}

/// The item whose address a verification screen waits on, from the
/// screen before it.
fn change_address(
    flow: &proto::ActivationFlow,
    screen: &proto::ActivationScreen,
) -> Option<ItemPage> {
    use proto::ActivationStep as S;
    let waiting = screen.items.first()?.step;
    let gave = match S::try_from(waiting).ok()? {
        S::RecoveryMailVerification => S::RecoveryMail,
        S::MobilePhoneVerification => S::MobilePhone,
        S::MailRedirectVerification => S::MailRedirect,
        _ => return None,
    } as i32;
    let item = flow
        .screens
        .iter()
        .flat_map(|s| s.items.iter())
        .find(|item| item.step == gave)?;
    Some(item_page(item, &flow.choices))
}

/// The current screen of `flow`.
pub fn flow_page(flow: &proto::ActivationFlow) -> FlowPage {
    let current = flow.current_screen as usize;
    let screen = flow.screens.get(current).cloned().unwrap_or_default();
    FlowPage {
        login: flow.login.clone(),
        title: screen.title.clone(),
        intro: screen.intro.clone(),
        items: screen
            .items
            .iter()
            .map(|item| item_page(item, &flow.choices))
            .collect(),
        verification: verification_page(flow),
        change_address: change_address(flow, &screen),
        completion: completion_page(flow),
        charter_version: flow
            .charter
            .as_ref()
            .map(|c| c.version.clone())
            .unwrap_or_default(),
        charter_url: flow
            .charter
            .as_ref()
            .map(|c| c.url.clone())
            .unwrap_or_default(),
        password_rules: flow
            .password_rules
            .as_ref()
            .map(|r| r.descriptions.clone())
            .unwrap_or_default(),
        redirect_mandatory: flow.mail_redirect_mandatory,
        redirect_default: flow.mail_redirect_default_address.clone(),
        number: current + 1,
        total: flow.screens.len(),
    }
}
