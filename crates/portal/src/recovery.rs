//! The pages of a person who cannot sign in: a forgotten password (a reset
//! link, or a new activation key, as the institution sends), a forgotten
//! login, and the page a reset link opens. The forms are the API's
//! (`DescribeRecovery`, `GetPasswordReset`); only the frame is the
//! portal's.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Portal;
use crate::activation::{Posted, Refusal, password_input, value};
use crate::api::Person;
use crate::pages::{
    FieldPage, Frame, SessionOfPage, error_page, frame, marked_refused, person, posted_session,
    render, served, with_session,
};
use crate::session::{LinkKind, OpenedLink, Session};
use crate::texts::words;

/// A form of the API's, as a page renders it.
#[derive(Serialize)]
pub(crate) struct FormPage {
    title: String,
    intro: String,
    fields: Vec<FieldPage>,
    /// What its inputs show as they stand (the directory entry's values).
    pub values: std::collections::BTreeMap<String, String>,
}

impl FormPage {
    /// The form, its inputs' ids prefixed by `form` (a page with several
    /// forms).
    pub(crate) fn within(mut self, form: &str) -> Self {
        self.fields = self.fields.into_iter().map(|f| f.within(form)).collect();
        self
    }
}

impl From<proto::Form> for FormPage {
    fn from(form: proto::Form) -> Self {
        FormPage {
            values: Default::default(),
            fields: form.fields.iter().map(FieldPage::from).collect(),
            title: form.title,
            intro: form.intro,
        }
    }
}

/// `/{code}/recovery`: the forgotten-password and forgotten-login forms.
pub async fn show(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let person = person(&portal, peer, &headers);
    recovery_forms(&portal, &code, &person, &headers, Refusal::default()).await
}

/// The recovery page, with what a refused form said.
async fn recovery_forms(
    portal: &Portal,
    code: &str,
    person: &Person,
    headers: &HeaderMap,
    refusal: Refusal,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        password_reset: Option<FormPage>,
        login_lookup: Option<FormPage>,
        csrf: String,
        refusal: Refusal,
    }
    if served(portal, code).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let request = proto::DescribeRecoveryRequest {
        institution: code.to_owned(),
    };
    let request = portal.api.request(request, person);
    let described = match portal.api.recovery().describe_recovery(request).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return error_page(portal, code, person, &status),
    };
    let Some(session) = SessionOfPage::of(portal, headers) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let refused = !refusal.summary.is_empty();
    let page = Page {
        frame: frame(portal, person, code, described.institution, "/recovery"),
        password_reset: described.password_reset.map(FormPage::from),
        login_lookup: described.login_lookup.map(FormPage::from),
        csrf: session.session.csrf.clone(),
        refusal,
    };
    let response = render(portal, "recovery.html", page);
    session.form_page(portal, response, refused)
}

/// The forgotten-password form posted: the same answer whether or not the
/// account exists; a reset by SMS goes on to the form of its code.
pub async fn request_reset(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        destination: String,
        check_spam_folder: bool,
        /// A new activation key was sent, not a link.
        activation_key: bool,
        helpdesk_url: String,
    }
    let person = person(&portal, peer, &headers);
    let session = match posted_session(&portal, &code, &person, &headers, &posted) {
        Ok(session) => session,
        Err(page) => return *page,
    };
    use proto::request_password_reset_request::Identifier;
    let typed = value(&posted, "typed_identifier").to_owned();
    // The form's options (`DescribeRecovery`): `mail`, `sms`.
    let channel = match value(&posted, "channel") {
        "mail" => proto::ResetChannel::Mail,
        "sms" => proto::ResetChannel::Sms,
        _ => proto::ResetChannel::Unspecified,
    };
    let request = proto::RequestPasswordResetRequest {
        institution: code.clone(),
        identifier: Some(Identifier::TypedIdentifier(typed.clone())),
        channel: channel as i32,
    };
    let request = portal.api.request(request, &person);
    let answer = match portal.api.recovery().request_password_reset(request).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return refused(&portal, &code, &person, &headers, &status, &posted).await,
    };
    let notice = answer.notice.unwrap_or_default();
    if answer.channel == proto::ResetChannel::Sms as i32 {
        let sent = CodeSent {
            typed_identifier: typed,
            destination: notice.masked_destination,
            helpdesk_url: notice.helpdesk_url,
        };
        return code_form(
            (&portal, &code),
            &person,
            &session,
            sent,
            Refusal::default(),
        )
        .await;
    }
    let page = Page {
        frame: frame(&portal, &person, &code, None, "/recovery"),
        destination: notice.masked_destination,
        check_spam_folder: notice.check_spam_folder,
        activation_key: answer.method == proto::ResetMethod::ActivationKey as i32,
        helpdesk_url: notice.helpdesk_url,
    };
    render(&portal, "reset_sent.html", page)
}

/// A code sent by SMS, as its form recalls it.
#[derive(Serialize)]
struct CodeSent {
    /// What the person typed to ask for it, posted back with the code.
    typed_identifier: String,
    /// Where it went, masked; empty once the form was refused.
    destination: String,
    helpdesk_url: String,
}

/// The form of the code a reset sent by SMS, with what a refused code said.
async fn code_form(
    (portal, code): (&Portal, &str),
    person: &Person,
    session: &Session,
    sent: CodeSent,
    refusal: Refusal,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        #[serde(flatten)]
        sent: CodeSent,
        form: Option<FormPage>,
        csrf: String,
        refusal: Refusal,
    }
    let request = proto::DescribeRecoveryRequest {
        institution: code.to_owned(),
    };
    let request = portal.api.request(request, person);
    let described = match portal.api.recovery().describe_recovery(request).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => return error_page(portal, code, person, &status),
    };
    let refused = !refusal.summary.is_empty();
    let page = Page {
        frame: frame(portal, person, code, described.institution, "/recovery"),
        sent,
        form: described.reset_code.map(FormPage::from),
        csrf: session.csrf.clone(),
        refusal,
    };
    marked_refused(render(portal, "reset_code.html", page), refused)
}

/// The code posted: traded for a reset link's token, which the session
/// keeps as if the link had been opened; the new-password form follows.
pub async fn verify_code(
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
    use proto::verify_reset_code_request::Identifier;
    let typed = value(&posted, "typed_identifier").to_owned();
    let request = proto::VerifyResetCodeRequest {
        institution: code.clone(),
        identifier: Some(Identifier::TypedIdentifier(typed.clone())),
        code: value(&posted, "code").to_owned(),
    };
    let request = portal.api.request(request, &person);
    match portal.api.recovery().verify_reset_code(request).await {
        Ok(answer) => {
            session.link = Some(OpenedLink {
                institution: code.clone(),
                kind: LinkKind::Reset,
                token: answer.into_inner().token,
            });
            let next = Redirect::to(&format!("/{code}/recovery/new-password"));
            with_session(&portal, next.into_response(), &session)
        }
        Err(status) => {
            let refusal = Refusal::of(&status, &posted, words(person.language).unavailable);
            let sent = CodeSent {
                typed_identifier: typed,
                destination: String::new(),
                helpdesk_url: String::new(),
            };
            code_form((&portal, &code), &person, &session, sent, refusal).await
        }
    }
}

/// The recovery page again, saying why a form was refused.
async fn refused(
    portal: &Portal,
    code: &str,
    person: &Person,
    headers: &HeaderMap,
    status: &tonic::Status,
    posted: &Posted,
) -> Response {
    let refusal = Refusal::of(status, posted, words(person.language).unavailable);
    recovery_forms(portal, code, person, headers, refusal).await
}

/// The forgotten-login form posted: the login, when the student number
/// and birth date match.
pub async fn look_up_login(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        login: String,
        institutional_mail: String,
    }
    let person = person(&portal, peer, &headers);
    if let Err(page) = posted_session(&portal, &code, &person, &headers, &posted) {
        return *page;
    }
    let request = proto::RecoverLoginRequest {
        institution: code.clone(),
        student_number: value(&posted, "student_number").to_owned(),
        birth_date: value(&posted, "birth_date").to_owned(),
    };
    let request = portal.api.request(request, &person);
    match portal.api.recovery().recover_login(request).await {
        Ok(answer) => {
            let answer = answer.into_inner();
            let page = Page {
                frame: frame(&portal, &person, &code, None, "/recovery"),
                login: answer.login,
                institutional_mail: answer.institutional_mail,
            };
            render(&portal, "login_found.html", page)
        }
        Err(status) => refused(&portal, &code, &person, &headers, &status, &posted).await,
    }
}

/// `/{code}/recovery/new-password`: the form of the reset link opened.
pub async fn new_password(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let person = person(&portal, peer, &headers);
    let Some(session) = portal.sessions.read(&headers) else {
        return Redirect::to(&format!("/{code}/recovery")).into_response();
    };
    new_password_form(&portal, &code, &person, session, Refusal::default()).await
}

/// The new-password form of the session's reset link, with what a refused
/// submission said; a dead link's page says so and the session forgets it.
async fn new_password_form(
    portal: &Portal,
    code: &str,
    person: &Person,
    mut session: Session,
    refusal: Refusal,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        login: String,
        form: Option<FormPage>,
        password_rules: Vec<String>,
        csrf: String,
        refusal: Refusal,
    }
    let Some(token) = session.reset_token(code) else {
        return Redirect::to(&format!("/{code}/recovery")).into_response();
    };
    let request = portal
        .api
        .request(proto::GetPasswordResetRequest { token }, person);
    let link = match portal.api.recovery().get_password_reset(request).await {
        Ok(answer) => answer.into_inner(),
        Err(status) => {
            session.link = None;
            let page = error_page(portal, code, person, &status);
            return with_session(portal, page, &session);
        }
    };
    let refused = !refusal.summary.is_empty();
    let page = Page {
        frame: frame(
            portal,
            person,
            code,
            link.institution_info,
            "/recovery/new-password",
        ),
        login: link.login,
        form: link.form.map(FormPage::from),
        password_rules: link
            .password_rules
            .map(|r| r.descriptions)
            .unwrap_or_default(),
        csrf: session.csrf.clone(),
        refusal,
    };
    marked_refused(render(portal, "new_password.html", page), refused)
}

/// The new password posted: the link is spent, the login shown.
pub async fn set_new_password(
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
    let Some(token) = session.reset_token(&code) else {
        return Redirect::to(&format!("/{code}/recovery")).into_response();
    };
    let request = proto::CompletePasswordResetRequest {
        token,
        new_password: Some(password_input(&posted, "new_password")),
    };
    let request = portal.api.request(request, &person);
    match portal.api.recovery().complete_password_reset(request).await {
        Ok(answer) => {
            session.link = None;
            let page = password_changed(&portal, &code, &person, answer.into_inner().login);
            with_session(&portal, page, &session)
        }
        Err(status) => {
            let unavailable = words(person.language).unavailable;
            let refusal = Refusal::of(&status, &posted, unavailable);
            new_password_form(&portal, &code, &person, session, refusal).await
        }
    }
}

/// The page after a new password: the login to sign in with.
fn password_changed(portal: &Portal, code: &str, person: &Person, login: String) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        login: String,
    }
    let page = Page {
        frame: frame(portal, person, code, None, "/recovery"),
        login,
    };
    render(portal, "password_changed.html", page)
}
