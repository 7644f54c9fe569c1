//! The desk (`/{code}/desk`): an agent of the IT support or the student
//! office, signed in like anyone and named in the portal's `desk.agents`,
//! finds the person in front of them (`HelpdeskService.FindPerson`), checks
//! their identity against a card, and hands over a reset link or activation
//! material, or records a new recovery address — each call named with the
//! agent's login and made with the desk's own credential.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Portal;
use crate::activation::{Posted, Refusal, value};
use crate::api::Person;
use crate::pages::{
    Frame, frame, marked_refused, message_page, person, render, signed_in_post, signed_in_session,
    to_sign_in, with_session,
};
use crate::session::{IDLE_LIMIT_SECONDS, Session, SignedIn, now_seconds};
use crate::texts::{Words, words};

/// Whether `account` is one of the desk's agents of its institution.
pub(crate) fn is_agent(portal: &Portal, account: &SignedIn) -> bool {
    portal
        .desk_agents
        .get(&account.institution)
        .is_some_and(|agents| agents.iter().any(|a| a == &account.login))
}

/// `/{code}/desk`: the search form, for a signed-in agent.
pub async fn show(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let person = person(&portal, peer, &headers);
    match signed_in_session(&portal, &code, &headers) {
        Ok(session) => desk_page(&portal, &code, &person, session, DeskOutcome::default()),
        Err(page) => *page,
    }
}

/// A desk form posted: `find`, `reset`, `activation` or `recovery-mail`.
pub async fn act(
    State(portal): State<Portal>,
    Path((code, action)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    let person = person(&portal, peer, &headers);
    let (session, agent) = match signed_in_post((&portal, &code), &person, (&headers, &posted)) {
        Ok(signed_in) => signed_in,
        Err(page) => return *page,
    };
    if !is_agent(&portal, &agent) {
        return not_an_agent(&portal, &code, &person);
    }
    let desk = Desk {
        portal: &portal,
        person: &person,
        agent: &agent,
        posted: &posted,
    };
    let done = match action.as_str() {
        "find" => desk.find().await,
        "reset" => desk.reset().await,
        "activation" => desk.activation().await,
        "recovery-mail" => desk.recovery_mail().await,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let t = words(person.language);
    let outcome = match done {
        Ok(outcome) => outcome,
        Err(status) => DeskOutcome {
            refusal: Refusal::of(&status, &posted, t.unavailable),
            ..DeskOutcome::default()
        },
    };
    desk_page(&portal, &code, &person, session, outcome)
}

fn not_an_agent(portal: &Portal, code: &str, person: &Person) -> Response {
    let t = words(person.language);
    let frame = frame(portal, person, code, None, "/desk");
    message_page(
        portal,
        frame,
        t.desk_not_an_agent.to_owned(),
        StatusCode::FORBIDDEN,
    )
}

/// What a desk page shows after a search or a hand-over.
#[derive(Default, Serialize)]
struct DeskOutcome {
    people: Vec<PersonRow>,
    /// What was handed over, shown once: a label and the value.
    handed_over: Vec<(String, String)>,
    done: String,
    refusal: Refusal,
}

/// One person found, as the agent sees them.
#[derive(Serialize)]
struct PersonRow {
    account_id: String,
    name: String,
    birth_date: String,
    login: String,
    numbers: String,
    profile: String,
    state: &'static str,
    activated: bool,
    recovery_mail: String,
}

impl PersonRow {
    fn of(p: proto::PersonAtDesk, t: &Words) -> PersonRow {
        let state = match proto::AccountStatus::try_from(p.status) {
            Ok(proto::AccountStatus::Active) => t.desk_active,
            Ok(proto::AccountStatus::PreCreated | proto::AccountStatus::Created) => t.desk_awaiting,
            Ok(proto::AccountStatus::Grace) => t.desk_limited,
            Ok(proto::AccountStatus::Locked) => t.desk_locked,
            _ => t.desk_closed,
        };
        let numbers = [p.student_number.as_str(), p.hr_id.as_str()]
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        PersonRow {
            name: format!("{} {}", p.given_name, p.family_name),
            account_id: p.account_id,
            birth_date: p.birth_date,
            login: p.login,
            numbers,
            profile: p.profile,
            state,
            activated: p.activated,
            recovery_mail: p.masked_recovery_mail,
        }
    }
}

/// One desk call: the agent, on behalf of the person at the desk.
struct Desk<'a> {
    portal: &'a Portal,
    person: &'a Person,
    agent: &'a SignedIn,
    posted: &'a Posted,
}

impl Desk<'_> {
    fn request<T>(&self, body: T) -> Result<tonic::Request<T>, tonic::Status> {
        self.portal
            .api
            .desk_request(body, self.person)
            .ok_or_else(|| tonic::Status::unavailable("the portal has no desk credential"))
    }

    fn selector(&self) -> Option<proto::AccountSelector> {
        Some(proto::AccountSelector {
            institution: self.agent.institution.clone(),
            identifier: Some(proto::account_selector::Identifier::AccountId(
                value(self.posted, "account_id").to_owned(),
            )),
        })
    }

    fn words(&self) -> Words {
        words(self.person.language)
    }

    /// A link's end, as the agent reads it: in the institution's time
    /// zone, to the minute (in UTC when the API cannot say which zone).
    async fn until(&self, at: Option<prost_types::Timestamp>) -> String {
        let zone =
            crate::pages::institution_info(self.portal, &self.agent.institution, self.person)
                .await
                .and_then(|info| info.time_zone.parse::<chrono_tz::Tz>().ok())
                .unwrap_or(chrono_tz::UTC);
        at.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
            .map(|t| {
                t.with_timezone(&zone)
                    .format("%Y-%m-%d %H:%M (%Z)")
                    .to_string()
            })
            .unwrap_or_default()
    }

    async fn find(&self) -> Result<DeskOutcome, tonic::Status> {
        use proto::account_selector::Identifier as I;
        use proto::find_person_request::Search;
        let typed = value(self.posted, "value").trim().to_owned();
        let institution = self.agent.institution.clone();
        let search = if typed.is_empty() {
            Search::NameAndBirthDate(proto::NameAndBirthDate {
                institution,
                family_name: value(self.posted, "family_name").to_owned(),
                birth_date: value(self.posted, "birth_date").to_owned(),
            })
        } else {
            let identifier = match value(self.posted, "by") {
                "student_number" => I::StudentNumber(typed),
                "ine" => I::Ine(typed),
                "hr_id" => I::HrId(typed),
                "institutional_mail" => I::InstitutionalMail(typed),
                _ => I::Login(typed),
            };
            Search::Account(proto::AccountSelector {
                institution,
                identifier: Some(identifier),
            })
        };
        let request = self.request(proto::FindPersonRequest {
            agent: self.agent.login.clone(),
            search: Some(search),
        })?;
        let found = self.portal.api.desk().find_person(request).await?;
        let t = self.words();
        let people: Vec<PersonRow> = found
            .into_inner()
            .people
            .into_iter()
            .map(|p| PersonRow::of(p, &t))
            .collect();
        Ok(DeskOutcome {
            done: if people.is_empty() {
                t.desk_nobody.to_owned()
            } else {
                String::new()
            },
            people,
            ..DeskOutcome::default()
        })
    }

    async fn reset(&self) -> Result<DeskOutcome, tonic::Status> {
        let request = self.request(proto::IssueDeskPasswordResetRequest {
            agent: self.agent.login.clone(),
            account: self.selector(),
        })?;
        let issued = self
            .portal
            .api
            .desk()
            .issue_desk_password_reset(request)
            .await?
            .into_inner();
        let t = self.words();
        Ok(DeskOutcome {
            done: t.desk_reset_issued.to_owned(),
            handed_over: vec![
                (t.desk_link.to_owned(), issued.reset_url),
                (t.desk_until.to_owned(), self.until(issued.expires_at).await),
            ],
            ..DeskOutcome::default()
        })
    }

    async fn activation(&self) -> Result<DeskOutcome, tonic::Status> {
        let send_to = proto::MailInput {
            address: value(self.posted, "send_to.address").trim().to_owned(),
            confirmation: value(self.posted, "send_to.confirmation").trim().to_owned(),
        };
        let request = self.request(proto::IssueDeskActivationRequest {
            agent: self.agent.login.clone(),
            account: self.selector(),
            // Left empty: handed over at the desk.
            send_to: (!send_to.address.is_empty() || !send_to.confirmation.is_empty())
                .then_some(send_to),
        })?;
        let issued = self
            .portal
            .api
            .desk()
            .issue_desk_activation(request)
            .await?
            .into_inner();
        let t = self.words();
        if let Some(sent) = issued.notice {
            return Ok(DeskOutcome {
                done: format!("{} {}", t.desk_activation_sent, sent.masked_destination),
                ..DeskOutcome::default()
            });
        }
        let login = issued.person.map(|p| p.login).unwrap_or_default();
        let mut handed_over = vec![(t.desk_login.to_owned(), login)];
        if let Some(link) = issued.activation_link {
            handed_over.push((t.desk_link.to_owned(), link.url));
            handed_over.push((t.desk_until.to_owned(), self.until(link.expires_at).await));
        }
        if let Some(material) = issued.activation_material {
            for (label, secret) in [
                (t.desk_key, material.activation_key),
                (t.desk_provisional_password, material.provisional_password),
            ] {
                if !secret.is_empty() {
                    handed_over.push((label.to_owned(), secret));
                }
            }
        }
        Ok(DeskOutcome {
            done: t.desk_activation_issued.to_owned(),
            handed_over,
            ..DeskOutcome::default()
        })
    }

    async fn recovery_mail(&self) -> Result<DeskOutcome, tonic::Status> {
        let request = self.request(proto::RequestDeskRecoveryMailChangeRequest {
            agent: self.agent.login.clone(),
            account: self.selector(),
            new_recovery_mail: Some(proto::MailInput {
                address: value(self.posted, "new_recovery_mail.address").to_owned(),
                confirmation: value(self.posted, "new_recovery_mail.confirmation").to_owned(),
            }),
        })?;
        let sent = self
            .portal
            .api
            .desk()
            .request_desk_recovery_mail_change(request)
            .await?
            .into_inner();
        let t = self.words();
        let to = sent
            .notice
            .map(|n| n.masked_destination)
            .unwrap_or_default();
        Ok(DeskOutcome {
            done: format!("{} {to}", t.desk_recovery_mail_sent),
            ..DeskOutcome::default()
        })
    }
}

/// The desk page: the search form, then what the last action found or
/// handed over; each page moves the idle limit on.
fn desk_page(
    portal: &Portal,
    code: &str,
    person: &Person,
    mut session: Session,
    outcome: DeskOutcome,
) -> Response {
    #[derive(Serialize)]
    struct Page {
        #[serde(flatten)]
        frame: Frame,
        csrf: String,
        unavailable: String,
        #[serde(flatten)]
        outcome: DeskOutcome,
    }
    let Some(account) = session.account.as_mut() else {
        return to_sign_in(code);
    };
    if !is_agent(portal, account) {
        return not_an_agent(portal, code, person);
    }
    account.until = now_seconds() + IDLE_LIMIT_SECONDS;
    let refused = !outcome.refusal.summary.is_empty();
    let page = Page {
        frame: frame(portal, person, code, None, "/desk"),
        csrf: session.csrf.clone(),
        unavailable: if portal.api.has_desk() {
            String::new()
        } else {
            words(person.language).unavailable.to_owned()
        },
        outcome,
    };
    let response = marked_refused(render(portal, "desk.html", page), refused);
    with_session(portal, response, &session)
}
