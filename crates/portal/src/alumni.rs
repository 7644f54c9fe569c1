//! The page of a request to keep a former student's account: the link the
//! expiry batch mails opens it (`links`), the page says what a kept account
//! gives access to, and one of its two buttons answers.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Portal;
use crate::activation::{Posted, value};
use crate::pages::{
    Frame, error_page, frame, message_page, person, posted_session, render, with_session,
};
use crate::session::LinkKind;
use crate::texts::words;

/// `/{code}/alumni`: what keeping the account means, and the answer's two
/// buttons.
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
        renewal: bool,
        services: String,
        period_end: String,
    }
    let person = person(&portal, peer, &headers);
    let session = portal.sessions.read(&headers);
    let Some((session, token)) =
        session.and_then(|s| s.link_token(&code, LinkKind::Alumni).map(|t| (s, t)))
    else {
        return Redirect::to(&format!("/{code}/")).into_response();
    };
    let request = portal
        .api
        .request(proto::GetAlumniOfferRequest { token }, &person);
    let offer = match portal.api.settings().get_alumni_offer(request).await {
        Ok(offer) => offer.into_inner(),
        Err(status) => return error_page(&portal, &code, &person, &status),
    };
    let page = Page {
        frame: frame(&portal, &person, &code, None, "/alumni"),
        csrf: session.csrf.clone(),
        renewal: offer.renewal,
        services: offer.services,
        period_end: offer.period_end,
    };
    render(&portal, "alumni.html", page)
}

/// The answer: the link is spent, the page says what becomes of the
/// account.
pub async fn answer(
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
    let Some(token) = session.link_token(&code, LinkKind::Alumni) else {
        return Redirect::to(&format!("/{code}/")).into_response();
    };
    session.link = None;
    let keep = value(&posted, "keep") == "yes";
    let request = portal
        .api
        .request(proto::AnswerAlumniOfferRequest { token, keep }, &person);
    let t = words(person.language);
    let page = match portal.api.settings().answer_alumni_offer(request).await {
        Ok(answered) => {
            let answered = answered.into_inner();
            let message = if answered.kept_until.is_empty() {
                format!("{} {}.", t.alumni_closes, answered.period_end)
            } else {
                format!("{} {}.", t.alumni_kept, answered.kept_until)
            };
            let frame = frame(&portal, &person, &code, None, "/alumni");
            message_page(&portal, frame, message, StatusCode::OK)
        }
        Err(status) => error_page(&portal, &code, &person, &status),
    };
    with_session(&portal, page, &session)
}
