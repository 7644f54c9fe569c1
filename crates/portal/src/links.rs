//! The pages mailed links open. Mail scanners open links too, so opening
//! one spends nothing: the token goes into the session, the address bar
//! gets a clean URL, and only the page's button (a POST with the session's
//! CSRF token) spends it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Portal;
use crate::activation::{Posted, started};
use crate::pages::{
    Frame, error_page, frame, person, posted_session, render, served, with_session,
};
use crate::session::{LinkKind, OpenedLink, Session};

/// Where an opened link's page is, once its token is out of the URL.
fn clean_url(code: &str, kind: LinkKind) -> String {
    match kind {
        LinkKind::Start | LinkKind::Verify => format!("/{code}/activation/opened"),
        LinkKind::Reset => format!("/{code}/recovery/new-password"),
        LinkKind::RecoveryMail | LinkKind::Redirect => format!("/{code}/account/confirm"),
        LinkKind::Alumni => format!("/{code}/alumni"),
    }
}

async fn open(
    portal: Portal,
    headers: HeaderMap,
    code: String,
    kind: LinkKind,
    token: String,
) -> Response {
    if served(&portal, &code).is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut session = match portal.sessions.read(&headers) {
        Some(session) => session,
        None => match Session::new() {
            Ok(session) => session,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    };
    session.link = Some(OpenedLink {
        institution: code.clone(),
        kind,
        token,
    });
    with_session(
        &portal,
        Redirect::to(&clean_url(&code, kind)).into_response(),
        &session,
    )
}

/// `/{code}/activation/link/{token}`: the link that starts activation.
pub async fn open_start(
    State(portal): State<Portal>,
    Path((code, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    open(portal, headers, code, LinkKind::Start, token).await
}

/// `/{code}/activation/verify/{token}`: the link that verifies an address.
pub async fn open_verify(
    State(portal): State<Portal>,
    Path((code, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    open(portal, headers, code, LinkKind::Verify, token).await
}

/// `/{code}/recovery/reset/{token}`: the link that sets a new password.
pub async fn open_reset(
    State(portal): State<Portal>,
    Path((code, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    open(portal, headers, code, LinkKind::Reset, token).await
}

/// `/{code}/account/recovery-mail/{token}`: the link that confirms a new
/// recovery address.
pub async fn open_recovery_mail(
    State(portal): State<Portal>,
    Path((code, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    open(portal, headers, code, LinkKind::RecoveryMail, token).await
}

/// `/{code}/account/redirect/{token}`: the link that confirms a redirect.
pub async fn open_redirect(
    State(portal): State<Portal>,
    Path((code, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    open(portal, headers, code, LinkKind::Redirect, token).await
}

/// `/{code}/alumni/{token}`: the link of a request to keep a former
/// student's account.
pub async fn open_alumni(
    State(portal): State<Portal>,
    Path((code, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    open(portal, headers, code, LinkKind::Alumni, token).await
}

/// An activation link of institution `code`.
fn opened_here(link: &OpenedLink, code: &str) -> bool {
    link.institution == code && matches!(link.kind, LinkKind::Start | LinkKind::Verify)
}

/// The opened link's page: what it does, and the button that does it.
pub async fn show(
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
        verify: bool,
    }
    let person = person(&portal, peer, &headers);
    let Some(session) = portal.sessions.read(&headers) else {
        return Redirect::to(&format!("/{code}/activation")).into_response();
    };
    let Some(link) = session.link.as_ref().filter(|l| opened_here(l, &code)) else {
        return Redirect::to(&format!("/{code}/activation")).into_response();
    };
    let page = Page {
        frame: frame(&portal, &person, &code, None, "/activation/opened"),
        csrf: session.csrf.clone(),
        verify: link.kind == LinkKind::Verify,
    };
    render(&portal, "link_opened.html", page)
}

/// The button: the link's token is spent, and the flow goes on in this
/// browser.
pub async fn follow(
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
    let Some(link) = session.link.take().filter(|l| opened_here(l, &code)) else {
        return Redirect::to(&format!("/{code}/activation")).into_response();
    };
    let mut activation = portal.api.activation();
    let flow_token = match link.kind {
        LinkKind::Start => {
            let request = proto::StartActivationRequest {
                institution: code.clone(),
                entry: Some(proto::start_activation_request::Entry::Link(
                    proto::LinkEntry { token: link.token },
                )),
            };
            activation
                .start_activation(portal.api.request(request, &person))
                .await
                .map(|a| a.into_inner().flow_token)
        }
        LinkKind::Verify => verify(&portal, &person, link.token).await,
        LinkKind::Reset | LinkKind::RecoveryMail | LinkKind::Redirect | LinkKind::Alumni => {
            return Redirect::to(&clean_url(&code, link.kind)).into_response();
        }
    };
    match flow_token {
        Ok(token) => started(&portal, &code, session, token),
        Err(status) => {
            // The link is spent or expired: the page says so, and the
            // session forgets it.
            let page = error_page(&portal, &code, &person, &status);
            with_session(&portal, page, &session)
        }
    }
}

/// A verification link: this browser gets a flow token, then the link's
/// token is typed as the code.
async fn verify(
    portal: &Portal,
    person: &crate::api::Person,
    token: String,
) -> Result<String, tonic::Status> {
    let mut activation = portal.api.activation();
    let confirmed = activation
        .confirm_activation_link(portal.api.request(
            proto::ConfirmActivationLinkRequest {
                token: token.clone(),
            },
            person,
        ))
        .await?
        .into_inner();
    let request = proto::VerifyActivationCodeRequest {
        flow_token: confirmed.flow_token.clone(),
        code: token,
    };
    activation
        .verify_activation_code(portal.api.request(request, person))
        .await?;
    Ok(confirmed.flow_token)
}
