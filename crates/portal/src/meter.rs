//! The live strength meter: the page's script posts what is being typed
//! to the portal, which asks the API (`EvaluatePassword`) in the context
//! the session holds — the flow, the reset link or the signed-in account —
//! so that no token ever reaches the page. Without the script the forms
//! work the same; the API checks the password when the form is sent.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Portal;
use crate::activation::{Posted, value};
use crate::pages::{person, posted_session};
use crate::session::Session;
use crate::texts::words;

/// What the script shows: every word is the server's.
#[derive(Serialize)]
struct Meter {
    /// zxcvbn's score, 0 to 4, for the `<meter>`.
    score: u32,
    /// "Faible", "Moyen" or "Fort", after `title`.
    title: &'static str,
    label: &'static str,
    acceptable: bool,
    /// The rules the candidate breaks, in the person's language.
    problems: Vec<String>,
}

/// The context of the password being chosen, from the session: `for` is
/// the form's (`flow`, `reset`, `account`).
fn context(
    session: &Session,
    code: &str,
    purpose: &str,
) -> Option<proto::evaluate_password_request::Context> {
    use proto::evaluate_password_request::Context;
    match purpose {
        "flow" => session.flow_token(code).map(Context::FlowToken),
        "reset" => session.reset_token(code).map(Context::ResetToken),
        "account" => session
            .signed_in(code)
            .map(|a| Context::Account(crate::account::selector(a))),
        _ => None,
    }
}

/// `POST /{code}/password-strength`: `csrf`, `for` and `candidate`.
pub async fn evaluate(
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
    let Some(context) = context(&session, &code, value(&posted, "for")) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let request = proto::EvaluatePasswordRequest {
        candidate: value(&posted, "candidate").to_owned(),
        context: Some(context),
    };
    let request = portal.api.request(request, &person);
    let Ok(answer) = portal.api.activation().evaluate_password(request).await else {
        // The form still works: the meter just stays as it was.
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let answer = answer.into_inner();
    let t = words(person.language);
    let meter = Meter {
        score: answer.score,
        title: t.strength,
        label: match proto::PasswordStrength::try_from(answer.strength) {
            Ok(proto::PasswordStrength::Strong) => t.strength_strong,
            Ok(proto::PasswordStrength::Medium) => t.strength_medium,
            _ => t.strength_weak,
        },
        acceptable: answer.acceptable,
        problems: answer.violations.into_iter().map(|v| v.message).collect(),
    };
    match serde_json::to_string(&meter) {
        Ok(json) => ([(http::header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The script, the institution's if it gives one.
pub async fn script(State(portal): State<Portal>) -> Response {
    match portal.templates.render("meter.js", ()) {
        Ok(js) => (
            [(http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            js,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}
