//! "Mes données": a signed-in person gets a copy of everything the service
//! holds about them (`AccountSettingsService.ExportPersonalData`, right of
//! access), shown on the page or downloaded as JSON or text, once they
//! have typed their password again.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;

use crate::Portal;
use crate::account::selector;
use crate::activation::{Posted, value};
use crate::api::Person;
use crate::pages::{
    Frame, error_page, frame, marked_refused, person, render, signed_in_post, signed_in_session,
    to_sign_in, with_session,
};
use crate::session::{IDLE_LIMIT_SECONDS, Session, now_seconds};
use crate::texts::words;

/// `/{code}/account/data`: the form, or the way to sign in.
pub async fn show(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let person = person(&portal, peer, &headers);
    match signed_in_session(&portal, &code, &headers) {
        Ok(session) => data_page(&portal, (&code, &person), session, Shown::Form),
        Err(page) => *page,
    }
}

/// The form posted: the copy on the page, or as a file to download
/// (`format` = `page`, `json` or `text`).
pub async fn export(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    let person = person(&portal, peer, &headers);
    let (session, account) = match signed_in_post((&portal, &code), &person, (&headers, &posted)) {
        Ok(signed_in) => signed_in,
        Err(page) => return *page,
    };
    let request = proto::ExportPersonalDataRequest {
        account: Some(selector(&account)),
        presence: Some(proto::PresenceProof {
            proof: Some(proto::presence_proof::Proof::CurrentPassword(
                value(&posted, "current_password").to_owned(),
            )),
        }),
    };
    let request = portal.api.request(request, &person);
    let copy = match portal.api.settings().export_personal_data(request).await {
        Ok(answer) => answer.into_inner().copy.unwrap_or_default(),
        Err(status) if status.code() == tonic::Code::InvalidArgument => {
            return data_page(&portal, (&code, &person), session, Shown::WrongPassword);
        }
        Err(status) => return error_page(&portal, &code, &person, &status),
    };
    match value(&posted, "format") {
        "json" => download(&portal, &session, copy.document_json, &copy.file_name),
        "text" => {
            let name = copy.file_name.replace(".json", ".txt");
            let colon = words(person.language).colon;
            let text = as_text(copy.report.unwrap_or_default(), colon);
            download(&portal, &session, text, &name)
        }
        _ => data_page(&portal, (&code, &person), session, Shown::Copy(copy)),
    }
}

/// What the page shows under its form.
enum Shown {
    Form,
    WrongPassword,
    Copy(proto::PersonalDataCopy),
}

#[derive(Serialize)]
struct ReportPage {
    title: String,
    intro: String,
    generated: String,
    sections: Vec<SectionPage>,
}

#[derive(Serialize)]
struct SectionPage {
    title: String,
    rows: Vec<RowPage>,
}

#[derive(Serialize)]
struct RowPage {
    label: String,
    value: String,
}

impl From<proto::PersonalDataReport> for ReportPage {
    fn from(r: proto::PersonalDataReport) -> ReportPage {
        ReportPage {
            title: r.title,
            intro: r.intro,
            generated: r.generated,
            sections: r
                .sections
                .into_iter()
                .map(|s| SectionPage {
                    title: s.title,
                    rows: s
                        .rows
                        .into_iter()
                        .map(|r| RowPage {
                            label: r.label,
                            value: r.value,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The page: its form, and the copy or why it was refused; each page
/// moves the idle limit on.
fn data_page(
    portal: &Portal,
    (code, person): (&str, &Person),
    mut session: Session,
    shown: Shown,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        csrf: String,
        failed: &'static str,
        report: Option<ReportPage>,
    }
    let Some(account) = session.account.as_mut() else {
        return to_sign_in(code);
    };
    account.until = now_seconds() + IDLE_LIMIT_SECONDS;
    let t = words(person.language);
    let (failed, report) = match shown {
        Shown::Form => ("", None),
        Shown::WrongPassword => (t.data_wrong_password, None),
        Shown::Copy(copy) => ("", copy.report.map(ReportPage::from)),
    };
    let page = Page {
        frame: frame(portal, person, code, None, "/account/data"),
        csrf: session.csrf.clone(),
        failed,
        report,
    };
    let response = marked_refused(render(portal, "data.html", page), !failed.is_empty());
    with_session(portal, response, &session)
}

/// A file to save, named `name`.
fn download(portal: &Portal, session: &Session, body: String, name: &str) -> Response {
    let kind = if name.ends_with(".json") {
        "application/json; charset=utf-8"
    } else {
        "text/plain; charset=utf-8"
    };
    // The name is the API's (login and date); anything else is left out
    // of the header.
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let disposition = format!("attachment; filename=\"{safe}\"");
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    match HeaderValue::from_str(&disposition) {
        Ok(value) => headers.insert(header::CONTENT_DISPOSITION, value),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    with_session(portal, response, session)
}

/// The readable copy as plain text: title, what it is, then each section
/// with its rows.
fn as_text(report: proto::PersonalDataReport, colon: &str) -> String {
    let mut text = format!(
        "{}\n\n{}\n{}\n",
        report.title, report.intro, report.generated
    );
    for section in report.sections {
        text.push_str(&format!(
            "\n{}\n{}\n",
            section.title,
            "=".repeat(section.title.chars().count())
        ));
        for row in section.rows {
            text.push_str(&format!("{}{colon} {}\n", row.label, row.value));
        }
    }
    text
}
