//! The account page: sign-in with the login and password (checked by the
//! API's `VerifyPassword`), then the forms `DescribeAccount` describes —
//! password, recovery address, redirect — and the pages the links mailed
//! by the last two open. A change that needs the person present sends the
//! password typed in its form to `ConfirmPresence` first.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Portal;
use crate::activation::{
    ItemPage, OptionPage, Posted, Refusal, consent_answers, item_page, mail_input, password_input,
    photo_choice, photo_use_value, posted_steps, said, value, yes_no,
};
use crate::api::Person;
use crate::pages::{
    Frame, SessionOfPage, error_page, frame, marked_refused, message_page, person, posted_session,
    render, served, signed_in_post, to_sign_in, with_session,
};
use crate::recovery::FormPage;
use crate::session::{IDLE_LIMIT_SECONDS, LinkKind, Session, SignedIn, now_seconds, random_token};
use crate::texts::words;

/// The selector of the signed-in account.
pub(crate) fn selector(signed_in: &SignedIn) -> proto::AccountSelector {
    proto::AccountSelector {
        institution: signed_in.institution.clone(),
        identifier: Some(proto::account_selector::Identifier::Login(
            signed_in.login.clone(),
        )),
    }
}

/// What one page of the account shows after a change or a refusal.
#[derive(Default, Serialize)]
pub(crate) struct Outcome {
    /// What a change did, in the person's words.
    pub done: String,
    /// The form refused (`password`, `consents`...), and why.
    pub refused_form: String,
    pub refusal: Refusal,
}

/// `/{code}/account`: the account page, or the sign-in form.
pub async fn show(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let person = person(&portal, peer, &headers);
    if served(&portal, &code).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    match portal.sessions.read(&headers) {
        Some(session) if session.signed_in(&code).is_some() => {
            account_page(&portal, &code, &person, session, Outcome::default()).await
        }
        _ => sign_in_form(&portal, &code, &person, &headers, String::new()),
    }
}

/// The sign-in form, with why the last attempt failed.
fn sign_in_form(
    portal: &Portal,
    code: &str,
    person: &Person,
    headers: &HeaderMap,
    failed: String,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        csrf: String,
        failed: String,
    }
    let Some(session) = SessionOfPage::of(portal, headers) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let refused = !failed.is_empty();
    let page = Page {
        frame: frame(portal, person, code, None, "/account"),
        csrf: session.session.csrf.clone(),
        failed,
    };
    let response = render(portal, "sign_in.html", page);
    session.form_page(portal, response, refused)
}

/// The sign-in form posted: the API checks the password; a new session
/// (a new CSRF token) starts signed in.
pub async fn sign_in(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    let person = person(&portal, peer, &headers);
    if let Err(page) = posted_session(&portal, &code, &person, &headers, &posted) {
        return *page;
    }
    let login = value(&posted, "login").trim().to_owned();
    let account = SignedIn {
        institution: code.clone(),
        login,
        until: now_seconds() + IDLE_LIMIT_SECONDS,
        must_change: false,
    };
    let request = proto::VerifyPasswordRequest {
        account: Some(selector(&account)),
        password: value(&posted, "password").to_owned(),
    };
    let request = portal.api.request(request, &person);
    let t = words(person.language);
    let failed = match portal.api.settings().verify_password(request).await {
        Ok(answer) if answer.get_ref().valid => {
            let must_change = answer.get_ref().must_change;
            return signed_in(
                &portal,
                &code,
                SignedIn {
                    must_change,
                    ..account
                },
            );
        }
        // Unknown login, wrong password, account not in use: one answer,
        // which tells nobody which logins exist.
        Ok(_) => t.sign_in_failed.to_owned(),
        Err(status) => match status.code() {
            tonic::Code::ResourceExhausted | tonic::Code::Unavailable => {
                said(&status, t.unavailable)
            }
            _ => t.sign_in_failed.to_owned(),
        },
    };
    sign_in_form(&portal, &code, &person, &headers, failed)
}

/// A new session, signed in, and on to the account page.
fn signed_in(portal: &Portal, code: &str, account: SignedIn) -> Response {
    let Ok(mut session) = Session::new() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    session.account = Some(account);
    let response = Redirect::to(&format!("/{code}/account")).into_response();
    with_session(portal, response, &session)
}

/// The account page, from the API's description, with what the last
/// change did or why it was refused; each page moves the idle limit on.
async fn account_page(
    portal: &Portal,
    code: &str,
    person: &Person,
    mut session: Session,
    outcome: Outcome,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        login: String,
        institutional_mail: String,
        recovery_mail: String,
        /// The verified recovery phone, masked, where the institution
        /// resets by SMS (`None`: it does not).
        recovery_phone: Option<String>,
        password_rules: Vec<String>,
        forms: Vec<(&'static str, FormPage)>,
        consents: Vec<ItemPage>,
        photo_refused: bool,
        must_change: bool,
        antispam: Option<AntispamPage>,
        retention_end_date: String,
        /// Whether the person may invite guests ("Mes invités").
        sponsor: bool,
        /// Whether the person is one of the desk's agents.
        agent: bool,
        csrf: String,
        #[serde(flatten)]
        outcome: Outcome,
    }
    let Some(account) = session.account.as_mut() else {
        return to_sign_in(code);
    };
    account.until = now_seconds() + IDLE_LIMIT_SECONDS;
    let must_change = account.must_change;
    let agent = crate::desk::is_agent(portal, account);
    let request = proto::DescribeAccountRequest {
        account: Some(selector(account)),
    };
    let request = portal.api.request(request, person);
    let mut described = match portal.api.settings().describe_account(request).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return error_page(portal, code, person, &status),
    };
    let consents = consent_items(&described);
    let photo_refused = described.consents.as_ref().is_some_and(|c| c.photo_refused);
    let antispam = described.antispam.clone().map(AntispamPage::from);
    let refused = !outcome.refusal.summary.is_empty();
    let recovery_phone = described
        .recovery_phone_change
        .is_some()
        .then(|| described.recovery_phone.clone());
    let forms = account_forms(&mut described);
    let page = Page {
        frame: frame(portal, person, code, described.institution, "/account"),
        login: described.login,
        institutional_mail: described.institutional_mail,
        recovery_mail: described.recovery_mail,
        recovery_phone,
        password_rules: described
            .password_rules
            .map(|r| r.descriptions)
            .unwrap_or_default(),
        forms,
        consents,
        photo_refused,
        must_change,
        antispam,
        retention_end_date: described.retention_end_date,
        sponsor: described.guest_invitation.is_some(),
        agent,
        csrf: session.csrf.clone(),
        outcome,
    };
    let response = marked_refused(render(portal, "account.html", page), refused);
    with_session(portal, response, &session)
}

/// The forms of the account page, by the action they post to, the
/// directory entry's showing its values.
fn account_forms(described: &mut proto::DescribeAccountResponse) -> Vec<(&'static str, FormPage)> {
    let mut entry = described.directory_entry.clone().unwrap_or_default();
    let directory_values: std::collections::BTreeMap<String, String> = directory_slots(&mut entry)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.clone()))
        .collect();
    [
        ("password", described.password_change.take()),
        ("recovery-mail", described.recovery_mail_change.take()),
        ("recovery-phone", described.recovery_phone_change.take()),
        ("recovery-phone-code", described.recovery_phone_code.take()),
        ("redirect", described.redirect_change.take()),
        ("directory", described.directory_entry_form.take()),
        ("extension", described.extension_request.take()),
        ("close-alumni", described.alumni_closing.take()),
    ]
    .into_iter()
    .filter_map(|(action, form)| {
        let mut page = FormPage::from(form?).within(action);
        if action == "directory" {
            page.values = directory_values.clone();
        }
        Some((action, page))
    })
    .collect()
}

/// Each field of a directory entry under its name in the form
/// (`UpdateDirectoryEntryRequest`'s paths).
fn directory_slots(entry: &mut proto::DirectoryEntry) -> [(&'static str, &mut String); 5] {
    [
        ("entry.office_phone", &mut entry.office_phone),
        ("entry.office_location", &mut entry.office_location),
        ("entry.job_title", &mut entry.job_title),
        ("entry.postal_address", &mut entry.postal_address),
        ("entry.web_page", &mut entry.web_page),
    ]
}

/// The antispam part of the account page.
#[derive(Serialize)]
struct AntispamPage {
    title: String,
    intro: String,
    /// The levels, valued by the API's names, the one in force checked.
    levels: Vec<OptionPage>,
}

impl From<proto::AntispamSetting> for AntispamPage {
    fn from(setting: proto::AntispamSetting) -> Self {
        let levels = setting
            .choices
            .into_iter()
            .map(|choice| {
                let name = proto::AntispamLevel::try_from(choice.level)
                    .unwrap_or_default()
                    .as_str_name();
                OptionPage {
                    id: format!("o-antispam-{}", name.to_ascii_lowercase().replace('_', "-")),
                    value: name.to_owned(),
                    label: choice.label,
                    caveat: String::new(),
                    checked: choice.level == setting.level,
                }
            })
            .collect();
        AntispamPage {
            title: setting.title,
            intro: setting.intro,
            levels,
        }
    }
}

/// The values a consent item stands at, as its options name them.
fn chosen_values(page: &ItemPage, consents: &proto::Consents) -> Vec<String> {
    let yes_no = |value: Option<bool>| value.map(|v| v.to_string()).into_iter().collect();
    match page.step.as_str() {
        "consents" => consents
            .items
            .iter()
            .filter(|answer| answer.item == page.consent)
            .flat_map(|answer| answer.choices.clone())
            .collect(),
        "directory_listing" => yes_no(consents.directory_listed),
        "crous_sharing" => yes_no(consents.crous_sharing),
        "photo_use" if consents.photo_refused => vec!["refuse".to_owned()],
        "photo_use" => consents
            .photo_uses
            .iter()
            .filter_map(|u| proto::PhotoUse::try_from(*u).ok())
            .map(photo_use_value)
            .collect(),
        _ => Vec::new(),
    }
}

/// The consent items of the account page, their options chosen as the
/// consents stand.
fn consent_items(described: &proto::DescribeAccountResponse) -> Vec<ItemPage> {
    let current = described.consents.clone().unwrap_or_default();
    described
        .consent_items
        .iter()
        .map(|item| {
            let mut page = item_page(item, &described.consent_choices).within("consents");
            let chosen = chosen_values(&page, &current);
            for option in &mut page.options {
                option.checked = chosen.contains(&option.value);
            }
            page
        })
        .collect()
}

/// A change posted from the account page: `form` names which.
pub async fn change(
    State(portal): State<Portal>,
    Path((code, form)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    let person = person(&portal, peer, &headers);
    // Signed out meanwhile (idle too long): back to the sign-in form.
    let (mut session, account) =
        match signed_in_post((&portal, &code), &person, (&headers, &posted)) {
            Ok(signed_in) => signed_in,
            Err(page) => return *page,
        };
    let done = match form.as_str() {
        "password" => change_password(&portal, &person, &account, &posted).await,
        "recovery-mail" => change_recovery_mail(&portal, &person, &account, &posted).await,
        "recovery-phone" => change_recovery_phone(&portal, &person, &account, &posted).await,
        "recovery-phone-code" => confirm_recovery_phone(&portal, &person, &account, &posted).await,
        "redirect" => change_redirect(&portal, &person, &account, &posted).await,
        "consents" => change_consents(&portal, &person, &account, &posted).await,
        "directory" => change_directory(&portal, &person, &account, &posted).await,
        "antispam" => change_antispam(&portal, &person, &account, &posted).await,
        "extension" => request_extension(&portal, &person, &account, &posted).await,
        "close-alumni" => match close_alumni(&portal, &person, &account, &posted).await {
            // Nothing is left to show: signed out, the page says so.
            Ok(message) => return closed(&portal, (&code, &person), session, message),
            Err(status) => Err(status),
        },
        "sign-out" => return signed_out(&portal, &code, session),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let t = words(person.language);
    if done.is_ok()
        && form == "password"
        && let Some(signed) = session.account.as_mut()
    {
        signed.must_change = false;
    }
    let outcome = match done {
        Ok(done) => Outcome {
            done,
            ..Outcome::default()
        },
        Err(status) => Outcome {
            done: String::new(),
            refusal: Refusal::of(&status, &posted, t.unavailable).within(&form),
            refused_form: form,
        },
    };
    account_page(&portal, &code, &person, session, outcome).await
}

/// A former student's kept account closed at their request.
async fn close_alumni(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let request = proto::CloseAlumniAccountRequest {
        account: Some(selector(account)),
        presence: Some(presence(portal, person, account, posted).await?),
    };
    let request = portal.api.request(request, person);
    portal.api.settings().close_alumni_account(request).await?;
    Ok(words(person.language).alumni_closed.to_owned())
}

/// The page after an account was closed: the session signed out.
fn closed(
    portal: &Portal,
    (code, person): (&str, &Person),
    mut session: Session,
    message: String,
) -> Response {
    session.account = None;
    let frame = frame(portal, person, code, None, "/account");
    let page = message_page(portal, frame, message, StatusCode::OK);
    with_session(portal, page, &session)
}

fn signed_out(portal: &Portal, code: &str, mut session: Session) -> Response {
    session.account = None;
    if let Ok(csrf) = random_token() {
        session.csrf = csrf;
    }
    let response = Redirect::to(&format!("/{code}/")).into_response();
    with_session(portal, response, &session)
}

async fn change_password(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let request = proto::ChangePasswordRequest {
        account: Some(selector(account)),
        current_password: value(posted, "current_password").to_owned(),
        new_password: Some(password_input(posted, "new_password")),
    };
    let request = portal.api.request(request, person);
    portal.api.settings().change_password(request).await?;
    Ok(words(person.language).password_changed_intro.to_owned())
}

/// The step-up token the current password typed in a form buys.
async fn presence(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<proto::PresenceProof, tonic::Status> {
    let request = proto::ConfirmPresenceRequest {
        account: Some(selector(account)),
        current_password: value(posted, "current_password").to_owned(),
    };
    let request = portal.api.request(request, person);
    let token = portal
        .api
        .settings()
        .confirm_presence(request)
        .await?
        .into_inner()
        .step_up_token;
    Ok(proto::PresenceProof {
        proof: Some(proto::presence_proof::Proof::StepUpToken(token)),
    })
}

/// What a page says of a mailed confirmation link.
fn link_sent(person: &Person, notice: Option<proto::DeliveryNotice>) -> String {
    let t = words(person.language);
    let destination = notice.map(|n| n.masked_destination).unwrap_or_default();
    format!("{} {destination}. {}", t.confirmation_sent_to, t.check_spam)
}

async fn change_recovery_mail(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let presence = presence(portal, person, account, posted).await?;
    let request = proto::RequestRecoveryMailChangeRequest {
        account: Some(selector(account)),
        new_recovery_mail: Some(mail_input(posted, "new_recovery_mail")),
        presence: Some(presence),
    };
    let request = portal.api.request(request, person);
    let answer = portal
        .api
        .settings()
        .request_recovery_mail_change(request)
        .await?;
    Ok(link_sent(person, answer.into_inner().notice))
}

async fn change_recovery_phone(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let presence = presence(portal, person, account, posted).await?;
    let request = proto::RequestRecoveryPhoneChangeRequest {
        account: Some(selector(account)),
        new_phone: value(posted, "new_phone").to_owned(),
        presence: Some(presence),
    };
    let request = portal.api.request(request, person);
    let answer = portal
        .api
        .settings()
        .request_recovery_phone_change(request)
        .await?;
    let t = words(person.language);
    Ok(match answer.into_inner().notice {
        Some(notice) => format!("{} {}.", t.code_sent_to, notice.masked_destination),
        None => t.recovery_phone_removed.to_owned(),
    })
}

async fn confirm_recovery_phone(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let request = proto::ConfirmRecoveryPhoneChangeRequest {
        account: Some(selector(account)),
        code: value(posted, "code").to_owned(),
    };
    let request = portal.api.request(request, person);
    let answer = portal
        .api
        .settings()
        .confirm_recovery_phone_change(request)
        .await?;
    let t = words(person.language);
    Ok(format!(
        "{} {}.",
        t.recovery_phone_now_is,
        answer.into_inner().recovery_phone
    ))
}

async fn change_redirect(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let presence = presence(portal, person, account, posted).await?;
    let request = proto::SetMailRedirectRequest {
        account: Some(selector(account)),
        address: Some(mail_input(posted, "address")),
        keep_copy: value(posted, "keep_copy") == "true",
        presence: Some(presence),
    };
    let request = portal.api.request(request, person);
    let answer = portal.api.redirection().set_mail_redirect(request).await?;
    let answer = answer.into_inner();
    let t = words(person.language);
    Ok(match answer.notice {
        Some(notice) => link_sent(person, Some(notice)),
        None => t.redirect_in_force.to_owned(),
    })
}

async fn change_consents(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let steps = posted_steps(posted);
    let has = |step: &str| steps.contains(&step);
    // The password is asked only for a refusal of the photo's uses.
    let presence = if value(posted, "current_password").is_empty() {
        None
    } else {
        Some(presence(portal, person, account, posted).await?)
    };
    let request = proto::UpdateConsentsRequest {
        account: Some(selector(account)),
        directory_listed: yes_no(posted, "directory_listed").filter(|_| has("directory_listing")),
        photo: has("photo_use").then(|| photo_choice(posted)),
        crous_sharing: yes_no(posted, "crous_sharing").filter(|_| has("crous_sharing")),
        presence,
        items: consent_answers(posted, false),
    };
    let request = portal.api.request(request, person);
    let answer = portal.api.settings().update_consents(request).await?;
    let notices = answer.into_inner().notices;
    let t = words(person.language);
    Ok(if notices.is_empty() {
        t.consents_saved.to_owned()
    } else {
        notices.join(" ")
    })
}

/// The directory entry: the fields posted over the entry as it stands
/// (those the institution keeps are not in the form).
async fn change_directory(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let request = proto::GetDirectoryEntryRequest {
        account: Some(selector(account)),
    };
    let request = portal.api.request(request, person);
    let current = portal.api.settings().get_directory_entry(request).await?;
    let mut entry = current.into_inner().entry.unwrap_or_default();
    for (name, slot) in directory_slots(&mut entry) {
        if let Some((_, typed)) = posted.iter().find(|(n, _)| n == name) {
            *slot = typed.clone();
        }
    }
    let request = proto::UpdateDirectoryEntryRequest {
        account: Some(selector(account)),
        entry: Some(entry),
    };
    let request = portal.api.request(request, person);
    portal
        .api
        .settings()
        .update_directory_entry(request)
        .await?;
    Ok(words(person.language).saved.to_owned())
}

async fn change_antispam(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let level = proto::AntispamLevel::from_str_name(value(posted, "level")).unwrap_or_default();
    let request = proto::SetAntispamLevelRequest {
        account: Some(selector(account)),
        level: level as i32,
    };
    let request = portal.api.request(request, person);
    portal.api.settings().set_antispam_level(request).await?;
    Ok(words(person.language).saved.to_owned())
}

async fn request_extension(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<String, tonic::Status> {
    let request = proto::RequestExtensionRequest {
        account: Some(selector(account)),
        reason: value(posted, "reason").to_owned(),
    };
    let request = portal.api.request(request, person);
    let answer = portal.api.lifecycle().request_extension(request).await?;
    let decided = answer
        .into_inner()
        .request
        .is_some_and(|r| r.state == proto::ExtensionState::Approved as i32);
    let t = words(person.language);
    Ok(if decided {
        t.extension_granted
    } else {
        t.extension_requested
    }
    .to_owned())
}

/// The link of an account-page confirmation that the session holds.
fn confirmation_link(session: &Session, code: &str) -> Option<(LinkKind, String)> {
    session
        .link
        .as_ref()
        .filter(|l| l.institution == code)
        .filter(|l| matches!(l.kind, LinkKind::RecoveryMail | LinkKind::Redirect))
        .map(|l| (l.kind, l.token.clone()))
}

/// `/{code}/account/confirm`: the page of a confirmation link, whose
/// button spends it.
pub async fn show_confirmation(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        csrf: String,
        redirect: bool,
    }
    let person = person(&portal, peer, &headers);
    let session = portal.sessions.read(&headers);
    let Some((session, (kind, _))) =
        session.and_then(|s| confirmation_link(&s, &code).map(|l| (s, l)))
    else {
        return Redirect::to(&format!("/{code}/")).into_response();
    };
    let page = Page {
        frame: frame(&portal, &person, &code, None, "/account/confirm"),
        csrf: session.csrf.clone(),
        redirect: kind == LinkKind::Redirect,
    };
    render(&portal, "account_link.html", page)
}

/// The confirmation's button: the link is spent, the page says what it
/// did.
pub async fn confirm(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    let person = person(&portal, peer, &headers);
    let mut session = match posted_session(&portal, &code, &person, &headers, &posted) {
        Ok(session) => session,
        Err(page) => return *page,
    };
    let Some((kind, token)) = confirmation_link(&session, &code) else {
        return Redirect::to(&format!("/{code}/")).into_response();
    };
    session.link = None;
    let t = words(person.language);
    let confirmed = match kind {
        LinkKind::Redirect => {
            let request = portal
                .api
                .request(proto::VerifyMailRedirectRequest { token }, &person);
            let answer = portal.api.redirection().verify_mail_redirect(request).await;
            answer.map(|a| {
                let address = a.into_inner().mail_redirect.unwrap_or_default().address;
                format!("{} {address}.", t.completed_redirect)
            })
        }
        _ => {
            let request = portal
                .api
                .request(proto::ConfirmRecoveryMailChangeRequest { token }, &person);
            let answer = portal
                .api
                .settings()
                .confirm_recovery_mail_change(request)
                .await;
            answer.map(|a| {
                format!(
                    "{} {}.",
                    t.recovery_mail_confirmed,
                    a.into_inner().recovery_mail
                )
            })
        }
    };
    let page = match confirmed {
        Ok(message) => {
            let frame = frame(&portal, &person, &code, None, "/account/confirm");
            message_page(&portal, frame, message, StatusCode::OK)
        }
        Err(status) => error_page(&portal, &code, &person, &status),
    };
    with_session(&portal, page, &session)
}
