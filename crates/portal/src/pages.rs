//! The pages: each asks the API what to show, then renders it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use crate::activation::{
    FlowPage, Posted, Refusal, flow_page, said, screen_request, start_request, started, value,
};
use crate::api::Person;
use crate::language::{self, Language};
use crate::security::person_address;
use crate::session::{Session, SignedIn};
use crate::texts::{Words, words};
use crate::{Portal, account, links, meter, recovery};

pub fn routes(portal: Portal) -> Router {
    Router::new()
        .route("/", get(institutions))
        .route("/{institution}/", get(home))
        .route("/{institution}/activation", get(first_connection))
        .route(
            "/{institution}/activation/flow",
            get(show_flow).post(submit_flow),
        )
        .route("/{institution}/activation/{entry}", post(start))
        .route(
            "/{institution}/activation/link/{token}",
            get(links::open_start),
        )
        .route(
            "/{institution}/activation/verify/{token}",
            get(links::open_verify),
        )
        .route(
            "/{institution}/activation/opened",
            get(links::show).post(links::follow),
        )
        .route("/{institution}/recovery", get(recovery::show))
        .route(
            "/{institution}/recovery/password",
            post(recovery::request_reset),
        )
        .route(
            "/{institution}/recovery/login",
            post(recovery::look_up_login),
        )
        .route("/{institution}/recovery/code", post(recovery::verify_code))
        .route(
            "/{institution}/recovery/reset/{token}",
            get(links::open_reset),
        )
        .route(
            "/{institution}/recovery/new-password",
            get(recovery::new_password).post(recovery::set_new_password),
        )
        .route("/{institution}/account", get(account::show))
        .route("/{institution}/account/sign-in", post(account::sign_in))
        .route(
            "/{institution}/account/confirm",
            get(account::show_confirmation).post(account::confirm),
        )
        .route(
            "/{institution}/account/recovery-mail/{token}",
            get(links::open_recovery_mail),
        )
        .route(
            "/{institution}/account/redirect/{token}",
            get(links::open_redirect),
        )
        .route("/{institution}/alumni/{token}", get(links::open_alumni))
        .route(
            "/{institution}/alumni",
            get(crate::alumni::show).post(crate::alumni::answer),
        )
        .route("/{institution}/desk", get(crate::desk::show))
        .route("/{institution}/desk/{action}", post(crate::desk::act))
        .route("/{institution}/account/guests", get(crate::guests::show))
        .route(
            "/{institution}/account/data",
            get(crate::data::show).post(crate::data::export),
        )
        .route(
            "/{institution}/account/guests/{action}",
            post(crate::guests::change),
        )
        .route("/{institution}/account/{form}", post(account::change))
        .route("/language/{code}", get(switch_language))
        .route("/{institution}/password-strength", post(meter::evaluate))
        .route("/static/portal.css", get(stylesheet))
        .route("/static/meter.js", get(meter::script))
        .with_state(portal)
}

/// The person a request comes from.
pub(crate) fn person(portal: &Portal, peer: SocketAddr, headers: &HeaderMap) -> Person {
    Person {
        address: person_address(peer, headers, &portal.trusted_proxies),
        language: Language::of(headers),
    }
}

/// The institution a page is for: one the portal serves.
pub(crate) fn served(portal: &Portal, code: &str) -> Option<String> {
    portal.institutions.iter().find(|c| *c == code).cloned()
}

/// What a page's frame shows.
#[derive(Serialize)]
pub(crate) struct Frame {
    t: Words,
    institution: InstitutionPage,
    /// The institution's pages start here (`/umontpellier`).
    root: String,
    /// This page's path, for the language switch to come back to.
    here: String,
}

#[derive(Serialize, Default)]
struct InstitutionPage {
    code: String,
    name: String,
    helpdesk_url: String,
    portal_url: String,
}

impl From<proto::InstitutionInfo> for InstitutionPage {
    fn from(info: proto::InstitutionInfo) -> Self {
        InstitutionPage {
            code: info.code,
            name: info.name,
            helpdesk_url: info.helpdesk_url,
            portal_url: info.portal_url,
        }
    }
}

/// The HTML `id` of the input named `name` (a request path): the one place
/// it is derived, for the input, its label, help and error, and the
/// summary's links to it.
pub(crate) fn field_id(name: &str) -> String {
    format!("f-{}", name.replace(['.', '_'], "-"))
}

/// One input of a form, as the templates render it.
#[derive(Debug, Serialize)]
pub struct FieldPage {
    name: String,
    /// The HTML `id`, derived from the name.
    id: String,
    /// The `<input type>`.
    input_type: &'static str,
    label: String,
    help: String,
    example: String,
    required: bool,
    min_length: u32,
    max_length: u32,
    pattern: String,
    autocomplete: String,
    /// A choice's options (radio buttons), in a form of its own.
    options: Vec<OptionPage>,
}

/// One option of a choice in a form of its own.
#[derive(Debug, Serialize)]
struct OptionPage {
    id: String,
    value: String,
    label: String,
}

impl FieldPage {
    /// The same input in the form `form` of a page with several forms that
    /// share input names (the account page's current password).
    pub(crate) fn within(mut self, form: &str) -> Self {
        self.id = format!("{form}-{}", self.id);
        self
    }
}

impl From<&proto::FormField> for FieldPage {
    fn from(field: &proto::FormField) -> Self {
        use proto::FieldKind as K;
        let input_type = match K::try_from(field.kind).unwrap_or(K::Text) {
            K::Email => "email",
            K::Password => "password",
            K::Phone => "tel",
            K::Checkbox => "checkbox",
            K::Choice if !field.options.is_empty() => "radio",
            K::Code | K::Text | K::Choice | K::Unspecified => "text",
        };
        let id = field_id(&field.name);
        let options = field
            .options
            .iter()
            .map(|option| OptionPage {
                id: format!("{id}-{}", option.value.replace(['.', '_'], "-")),
                value: option.value.clone(),
                label: option.label.clone(),
            })
            .collect();
        FieldPage {
            options,
            id,
            name: field.name.clone(),
            input_type,
            label: field.label.clone(),
            help: field.help.clone(),
            example: field.example.clone(),
            required: field.required,
            min_length: field.min_length,
            max_length: field.max_length,
            pattern: field.pattern.clone(),
            autocomplete: field.autocomplete.clone(),
        }
    }
}

/// One way in, as the first-connection page shows it.
#[derive(Serialize)]
struct EntryPage {
    /// Which entry: `key`, `provisional_password`, `link`, `identity_match`.
    entry: &'static str,
    /// The HTML id of its heading, unique on the page.
    anchor: String,
    title: String,
    intro: String,
    audiences: Vec<String>,
    fields: Vec<FieldPage>,
}

/// The entries of a first-connection page, the HTML ids of a second form
/// of the same way in (two identity checks: students', staff's) told
/// apart from the first's.
fn entry_pages(entries: &[proto::EntryForm]) -> Vec<EntryPage> {
    let mut pages: Vec<EntryPage> = Vec::new();
    for entry in entries {
        let mut page = entry_page(entry);
        let before = pages.iter().filter(|p| p.entry == page.entry).count();
        page.anchor = format!("entry-{}", page.entry);
        if before > 0 {
            let form = format!("{}-{}", page.entry, before + 1).replace('_', "-");
            page.anchor = format!("entry-{form}");
            page.fields = page.fields.into_iter().map(|f| f.within(&form)).collect();
        }
        pages.push(page);
    }
    pages
}

fn entry_page(entry: &proto::EntryForm) -> EntryPage {
    use proto::ActivationChannel as C;
    EntryPage {
        entry: match C::try_from(entry.channel).unwrap_or(C::Unspecified) {
            C::ActivationKey => "key",
            C::ProvisionalPassword => "provisional_password",
            C::MailedLink => "link",
            C::IdentityMatch => "identity_match",
            C::Unspecified => "unknown",
        },
        anchor: String::new(),
        title: entry.title.clone(),
        intro: entry.intro.clone(),
        audiences: entry.audiences.iter().map(|a| a.label.clone()).collect(),
        fields: entry.fields.iter().map(FieldPage::from).collect(),
    }
}

/// What the API says of the institution's first connection, or the page
/// that says why it could not be asked.
async fn describe(
    portal: &Portal,
    code: &str,
    person: &Person,
) -> Result<proto::DescribeFirstConnectionResponse, Response> {
    if served(portal, code).is_none() {
        return Err(StatusCode::NOT_FOUND.into_response());
    }
    let request = portal.api.request(
        proto::DescribeFirstConnectionRequest {
            institution: code.to_owned(),
        },
        person,
    );
    match portal
        .api
        .activation()
        .describe_first_connection(request)
        .await
    {
        Ok(answer) => Ok(answer.into_inner()),
        Err(status) => Err(error_page(portal, code, person, &status)),
    }
}

/// The frame of a page of institution `code` (empty: the portal's root),
/// at `here` under the institution's pages: `info` as the API just gave
/// it, else as it last gave it.
pub(crate) fn frame(
    portal: &Portal,
    person: &Person,
    code: &str,
    info: Option<proto::InstitutionInfo>,
    here: &str,
) -> Frame {
    let root = if code.is_empty() {
        String::new()
    } else {
        format!("/{code}")
    };
    let info = match info {
        Some(info) => {
            portal.known.remember(&info);
            Some(info)
        }
        None => portal.known.get(code),
    };
    Frame {
        t: words(person.language),
        here: format!("{root}{here}"),
        root,
        institution: info.map(InstitutionPage::from).unwrap_or_default(),
    }
}

/// What the API says of institution `code`: as it last said it, else asked
/// again (and remembered); `None` when it cannot be asked.
pub(crate) async fn institution_info(
    portal: &Portal,
    code: &str,
    person: &Person,
) -> Option<proto::InstitutionInfo> {
    if let Some(info) = portal.known.get(code) {
        return Some(info);
    }
    let info = describe(portal, code, person).await.ok()?.institution?;
    portal.known.remember(&info);
    Some(info)
}

/// What the API last said of each institution, for the frames of pages
/// that do not ask it again (a form's answer, an error); forgotten after
/// a while, so that a renamed institution shows its new name.
#[derive(Clone, Default)]
pub(crate) struct KnownInstitutions(
    Arc<RwLock<HashMap<String, (Instant, proto::InstitutionInfo)>>>,
);

impl KnownInstitutions {
    const KEPT: Duration = Duration::from_secs(300);

    fn remember(&self, info: &proto::InstitutionInfo) {
        if let Ok(mut known) = self.0.write() {
            known.insert(info.code.clone(), (Instant::now(), info.clone()));
        }
    }

    fn get(&self, code: &str) -> Option<proto::InstitutionInfo> {
        let known = self.0.read().ok()?;
        let (when, info) = known.get(code)?;
        (when.elapsed() < Self::KEPT).then(|| info.clone())
    }
}

pub(crate) fn render(portal: &Portal, name: &str, context: impl Serialize) -> Response {
    match portal.templates.render(name, context) {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(template = name, %error, "a template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A page that only says something: a refusal, a failure, an expired
/// session (titled as an error), or what a link did.
pub(crate) fn message_page(
    portal: &Portal,
    frame: Frame,
    message: String,
    status: StatusCode,
) -> Response {
    #[derive(Serialize)]
    struct MessagePage {
        #[serde(flatten)]
        frame: Frame,
        title: &'static str,
        message: String,
    }
    let title = if status.is_success() {
        frame.t.done_title
    } else {
        frame.t.error_title
    };
    let page = MessagePage {
        frame,
        title,
        message,
    };
    let mut response = render(portal, "error.html", page);
    *response.status_mut() = status;
    response
}

/// A refusal or a failure of the API, in the person's language: the API's
/// own localized words when it gave some, else the portal's.
pub(crate) fn error_page(
    portal: &Portal,
    code: &str,
    person: &Person,
    status: &tonic::Status,
) -> Response {
    use tonic::Code as C;
    tracing::warn!(code = ?status.code(), "the API refused a page");
    let http_status = match status.code() {
        C::Unavailable | C::Unknown | C::Internal | C::DeadlineExceeded => StatusCode::BAD_GATEWAY,
        C::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        C::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = said(status, words(person.language).unavailable);
    message_page(
        portal,
        frame(portal, person, code, None, "/"),
        message,
        http_status,
    )
}

/// The portal's root: the institution's home when it serves one, else
/// the list of those it serves.
async fn institutions(
    State(portal): State<Portal>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    #[derive(Serialize)]
    struct Choice {
        code: String,
        name: String,
    }
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        institutions: Vec<Choice>,
    }
    if let [only] = &portal.institutions[..] {
        return Redirect::to(&format!("/{only}/")).into_response();
    }
    let person = person(&portal, peer, &headers);
    let mut institutions = Vec::new();
    for code in portal.institutions.iter() {
        let described = match describe(&portal, code, &person).await {
            Ok(d) => d,
            Err(page) => return page,
        };
        let name = described.institution.map(|i| i.name).unwrap_or_default();
        institutions.push(Choice {
            code: code.clone(),
            name,
        });
    }
    let frame = frame(&portal, &person, "", None, "/");
    render(
        &portal,
        "institutions.html",
        Page {
            frame,
            institutions,
        },
    )
}

async fn home(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let person = person(&portal, peer, &headers);
    let described = match describe(&portal, &code, &person).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    render(
        &portal,
        "home.html",
        frame(&portal, &person, &code, described.institution, "/"),
    )
}

async fn first_connection(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let person = person(&portal, peer, &headers);
    entry_forms(&portal, &code, &person, &headers, Refusal::default()).await
}

/// The first-connection page, with what a refused form said; it starts
/// the person's session if they have none.
async fn entry_forms(
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
        entries: Vec<EntryPage>,
        csrf: String,
        refusal: Refusal,
    }
    let described = match describe(portal, code, person).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let Some(session) = SessionOfPage::of(portal, headers) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let refused = !refusal.summary.is_empty();
    let page = Page {
        entries: entry_pages(&described.entries),
        frame: frame(portal, person, code, described.institution, "/activation"),
        csrf: session.session.csrf.clone(),
        refusal,
    };
    let response = render(portal, "first_connection.html", page);
    session.form_page(portal, response, refused)
}

/// The session of a page that shows forms: the person's, or a new one.
pub(crate) struct SessionOfPage {
    pub session: Session,
    fresh: bool,
}

impl SessionOfPage {
    /// `None` only when the system's random generator fails.
    pub fn of(portal: &Portal, headers: &HeaderMap) -> Option<SessionOfPage> {
        match portal.sessions.read(headers) {
            Some(session) => Some(SessionOfPage {
                session,
                fresh: false,
            }),
            None => Session::new().ok().map(|session| SessionOfPage {
                session,
                fresh: true,
            }),
        }
    }

    /// The rendered page: 422 when it shows a refusal, with a new session
    /// stored.
    pub fn form_page(self, portal: &Portal, response: Response, refused: bool) -> Response {
        let response = marked_refused(response, refused);
        if self.fresh {
            with_session(portal, response, &self.session)
        } else {
            response
        }
    }
}

/// A rendered form page: 422 when it shows a refusal.
pub(crate) fn marked_refused(mut response: Response, refused: bool) -> Response {
    if refused && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    response
}

/// `response` with `session` stored.
pub(crate) fn with_session(portal: &Portal, mut response: Response, session: &Session) -> Response {
    match portal.sessions.write(session) {
        Some(cookie) => {
            response
                .headers_mut()
                .append(http::header::SET_COOKIE, cookie);
            response
        }
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The session of a posted form, if its CSRF token is the session's.
fn posting_session(portal: &Portal, headers: &HeaderMap, posted: &Posted) -> Option<Session> {
    portal
        .sessions
        .read(headers)
        .filter(|s| s.accepts(value(posted, "csrf")))
}

/// A form posted to a page of institution `code`: its session, or the
/// page that says why not (an institution not served, a session expired or
/// another site's form).
pub(crate) fn posted_session(
    portal: &Portal,
    code: &str,
    person: &Person,
    headers: &HeaderMap,
    posted: &Posted,
) -> Result<Session, Box<Response>> {
    if served(portal, code).is_none() {
        return Err(Box::new(StatusCode::NOT_FOUND.into_response()));
    }
    posting_session(portal, headers, posted)
        .ok_or_else(|| Box::new(forbidden(portal, code, person)))
}

/// A form posted by a signed-in person to a page of institution `code`:
/// the session and who is signed in, or the page that says why not (see
/// [`posted_session`]) or, signed out meanwhile, the way back to the
/// sign-in form.
pub(crate) fn signed_in_post(
    (portal, code): (&Portal, &str),
    person: &Person,
    (headers, posted): (&HeaderMap, &Posted),
) -> Result<(Session, SignedIn), Box<Response>> {
    let session = posted_session(portal, code, person, headers, posted)?;
    match session.signed_in(code).cloned() {
        Some(account) => Ok((session, account)),
        None => Err(Box::new(to_sign_in(code))),
    }
}

/// A page of institution `code` for a signed-in person: their session, or
/// `NOT_FOUND` for an institution not served, or the way to the sign-in
/// form.
pub(crate) fn signed_in_session(
    portal: &Portal,
    code: &str,
    headers: &HeaderMap,
) -> Result<Session, Box<Response>> {
    if served(portal, code).is_none() {
        return Err(Box::new(StatusCode::NOT_FOUND.into_response()));
    }
    portal
        .sessions
        .read(headers)
        .filter(|s| s.signed_in(code).is_some())
        .ok_or_else(|| Box::new(to_sign_in(code)))
}

/// Back to the account page's sign-in form.
pub(crate) fn to_sign_in(code: &str) -> Response {
    Redirect::to(&format!("/{code}/account")).into_response()
}

/// A form posted without its session (expired, or another site's).
fn forbidden(portal: &Portal, code: &str, person: &Person) -> Response {
    let message = words(person.language).session_expired.to_owned();
    let frame = frame(portal, person, code, None, "/activation");
    message_page(portal, frame, message, StatusCode::FORBIDDEN)
}

/// An entry form posted: a flow starts (or a new link is mailed).
async fn start(
    State(portal): State<Portal>,
    Path((code, entry)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    let person = person(&portal, peer, &headers);
    let session = match posted_session(&portal, &code, &person, &headers, &posted) {
        Ok(session) => session,
        Err(page) => return *page,
    };
    if entry == "link" {
        return link_requested(&portal, &code, &person, &posted).await;
    }
    let Some(request) = start_request(&code, &entry, &posted) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let request = portal.api.request(request, &person);
    match portal.api.activation().start_activation(request).await {
        Ok(answer) => started(&portal, &code, session, answer.into_inner().flow_token),
        Err(status) => {
            let unavailable = words(person.language).unavailable;
            let refusal = Refusal::of(&status, &posted, unavailable);
            entry_forms(&portal, &code, &person, &headers, refusal).await
        }
    }
}

/// "1ère connexion": a new link is mailed; the page says where, masked
/// (the same whether or not the login exists).
async fn link_requested(portal: &Portal, code: &str, person: &Person, posted: &Posted) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        destination: String,
        check_spam_folder: bool,
    }
    let request = portal.api.request(
        proto::RequestActivationLinkRequest {
            institution: code.to_owned(),
            login: value(posted, "login").to_owned(),
        },
        person,
    );
    match portal
        .api
        .activation()
        .request_activation_link(request)
        .await
    {
        Ok(answer) => {
            let notice = answer.into_inner().notice.unwrap_or_default();
            let page = Page {
                frame: frame(portal, person, code, None, "/activation"),
                destination: notice.masked_destination,
                check_spam_folder: notice.check_spam_folder,
            };
            render(portal, "link_sent.html", page)
        }
        Err(status) => error_page(portal, code, person, &status),
    }
}

/// The flow of the session, for institution `code`.
fn session_flow(portal: &Portal, headers: &HeaderMap, code: &str) -> Option<(Session, String)> {
    let session = portal.sessions.read(headers)?;
    let token = session.flow_token(code)?;
    Some((session, token))
}

async fn show_flow(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let person = person(&portal, peer, &headers);
    let Some((session, token)) = session_flow(&portal, &headers, &code) else {
        return Redirect::to(&format!("/{code}/activation")).into_response();
    };
    let request = portal.api.request(
        proto::GetActivationFlowRequest { flow_token: token },
        &person,
    );
    match portal.api.activation().get_activation_flow(request).await {
        Ok(answer) => {
            let flow = answer.into_inner().flow.unwrap_or_default();
            flow_screen(&portal, &code, &person, &session, &flow, Refusal::default())
        }
        // An expired or finished flow: back to the start.
        Err(status) if status.code() == tonic::Code::NotFound => {
            Redirect::to(&format!("/{code}/activation")).into_response()
        }
        Err(status) => error_page(&portal, &code, &person, &status),
    }
}

/// The flow's current screen, with what a refused submission said.
fn flow_screen(
    portal: &Portal,
    code: &str,
    person: &Person,
    session: &Session,
    flow: &proto::ActivationFlow,
    refusal: Refusal,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        flow: FlowPage,
        csrf: String,
        refusal: Refusal,
    }
    let status = if refusal.summary.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = Page {
        frame: frame(
            portal,
            person,
            code,
            flow.institution_info.clone(),
            "/activation/flow",
        ),
        flow: flow_page(flow),
        csrf: session.csrf.clone(),
        refusal,
    };
    let mut response = render(portal, "flow.html", page);
    *response.status_mut() = status;
    response
}

/// A screen posted: a code checked, a message sent again, or the screen's
/// items submitted; then back to the flow's page.
async fn submit_flow(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    let person = person(&portal, peer, &headers);
    let session = match posted_session(&portal, &code, &person, &headers, &posted) {
        Ok(session) => session,
        Err(page) => return *page,
    };
    let Some(token) = session.flow_token(&code) else {
        return Redirect::to(&format!("/{code}/activation")).into_response();
    };
    let outcome = flow_call(&portal, &person, &token, &posted).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("/{code}/activation/flow")).into_response(),
        Err(status) => {
            let request = portal.api.request(
                proto::GetActivationFlowRequest { flow_token: token },
                &person,
            );
            let Ok(answer) = portal.api.activation().get_activation_flow(request).await else {
                return error_page(&portal, &code, &person, &status);
            };
            let flow = answer.into_inner().flow.unwrap_or_default();
            let unavailable = words(person.language).unavailable;
            let refusal = Refusal::of(&status, &posted, unavailable);
            flow_screen(&portal, &code, &person, &session, &flow, refusal)
        }
    }
}

/// The API call a posted screen asks for.
async fn flow_call(
    portal: &Portal,
    person: &Person,
    token: &str,
    posted: &Posted,
) -> Result<(), tonic::Status> {
    let mut activation = portal.api.activation();
    if !value(posted, "resend").is_empty() {
        let kind = proto::ActivationMessageKind::from_str_name(value(posted, "resend"))
            .unwrap_or_default();
        let channel = match value(posted, "channel") {
            "sms" => proto::CodeChannel::Sms,
            "mail" => proto::CodeChannel::Mail,
            _ => proto::CodeChannel::Unspecified,
        };
        let request = proto::ResendActivationMessageRequest {
            flow_token: token.to_owned(),
            kind: kind as i32,
            channel: channel as i32,
        };
        activation
            .resend_activation_message(portal.api.request(request, person))
            .await?;
    } else if crate::activation::posted_steps(posted).contains(&"verify_identity") {
        let request = proto::VerifyActivationIdentityRequest {
            flow_token: token.to_owned(),
            identity_match: Some(crate::activation::identity_entry(posted)),
        };
        activation
            .verify_activation_identity(portal.api.request(request, person))
            .await?;
    } else if posted.iter().any(|(n, _)| n == "code") {
        let request = proto::VerifyActivationCodeRequest {
            flow_token: token.to_owned(),
            code: value(posted, "code").to_owned(),
        };
        activation
            .verify_activation_code(portal.api.request(request, person))
            .await?;
    } else {
        let request = screen_request(token, posted);
        activation
            .submit_activation_screen(portal.api.request(request, person))
            .await?;
    }
    Ok(())
}

/// The stylesheet, the institution's if it gives one.
async fn stylesheet(State(portal): State<Portal>) -> Response {
    match portal.templates.render("portal.css", ()) {
        Ok(css) => (
            [(http::header::CONTENT_TYPE, "text/css; charset=utf-8")],
            css,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

/// The language switch: remembered in a cookie, then back to the page.
async fn switch_language(Path(code): Path<String>, Query(back): Query<Back>) -> Response {
    let Some(language) = Language::parse(&code) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Only a path of this portal: never an open redirect.
    let back = back
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/".to_owned());
    let cookie = format!(
        "{}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
        language::COOKIE,
        language.code()
    );
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = cookie.parse() {
        response
            .headers_mut()
            .insert(http::header::SET_COOKIE, value);
    }
    response
}
