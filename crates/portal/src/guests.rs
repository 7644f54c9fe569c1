//! "Mes invités": a signed-in staff member who may sponsor invites guests
//! (`GuestService.InviteGuest`, the form `DescribeAccount` describes), sees
//! their invitations and their guests' accounts, renews or ends a stay.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde::Serialize;

use crate::Portal;
use crate::account::{Outcome, selector};
use crate::activation::{Posted, Refusal, value};
use crate::api::Person;
use crate::pages::{
    Frame, error_page, frame, marked_refused, person, render, signed_in_post, signed_in_session,
    to_sign_in, with_session,
};
use crate::recovery::FormPage;
use crate::session::{IDLE_LIMIT_SECONDS, Session, SignedIn, now_seconds};
use crate::texts::{Words, words};

/// `/{code}/account/guests`: the sponsor's page, or the sign-in form.
pub async fn show(
    State(portal): State<Portal>,
    Path(code): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let person = person(&portal, peer, &headers);
    match signed_in_session(&portal, &code, &headers) {
        Ok(session) => guests_page(&portal, &code, &person, session, Outcome::default()).await,
        Err(page) => *page,
    }
}

/// A form of the sponsor's page posted: `action` is `invite`, `renew` or
/// `end`.
pub async fn change(
    State(portal): State<Portal>,
    Path((code, action)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(posted): Form<Posted>,
) -> Response {
    let person = person(&portal, peer, &headers);
    let (session, account) = match signed_in_post((&portal, &code), &person, (&headers, &posted)) {
        Ok(signed_in) => signed_in,
        Err(page) => return *page,
    };
    let t = words(person.language);
    let done = match action.as_str() {
        "invite" => invite(&portal, &person, &account, &posted).await,
        "renew" => renew(&portal, &person, &account, &posted).await,
        "end" => end(&portal, &person, &account, &posted).await,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let outcome = match done {
        Ok(()) => Outcome {
            done: match action.as_str() {
                "invite" => t.guests_invited,
                "renew" => t.guests_renewed,
                _ => t.guests_ended,
            }
            .to_owned(),
            ..Outcome::default()
        },
        Err(status) => Outcome {
            done: String::new(),
            refusal: Refusal::of(&status, &posted, t.unavailable).within(&action),
            refused_form: action,
        },
    };
    guests_page(&portal, &code, &person, session, outcome).await
}

async fn invite(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<(), tonic::Status> {
    let field = |name: &str| value(posted, &format!("guest.{name}")).trim().to_owned();
    let request = proto::InviteGuestRequest {
        sponsor: Some(selector(account)),
        guest: Some(proto::GuestDetails {
            profile: field("profile"),
            given_name: field("given_name"),
            family_name: field("family_name"),
            birth_date: field("birth_date"),
            personal_mail: field("personal_mail"),
            end_date: field("end_date"),
            reason: field("reason"),
            language: field("language"),
        }),
    };
    let request = portal.api.request(request, person);
    portal.api.guests().invite_guest(request).await?;
    Ok(())
}

async fn renew(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<(), tonic::Status> {
    let request = proto::RenewGuestRequest {
        sponsor: Some(selector(account)),
        guest_account_id: value(posted, "guest_account_id").to_owned(),
        end_date: value(posted, "end_date").trim().to_owned(),
    };
    let request = portal.api.request(request, person);
    portal.api.guests().renew_guest(request).await?;
    Ok(())
}

async fn end(
    portal: &Portal,
    person: &Person,
    account: &SignedIn,
    posted: &Posted,
) -> Result<(), tonic::Status> {
    let request = proto::EndGuestRequest {
        sponsor: Some(selector(account)),
        guest_account_id: value(posted, "guest_account_id").to_owned(),
    };
    let request = portal.api.request(request, person);
    portal.api.guests().end_guest(request).await?;
    Ok(())
}

/// One invitation as the page lists it.
#[derive(Serialize)]
struct GuestRow {
    name: String,
    login: String,
    state: &'static str,
    end_date: String,
    /// The guest's account, when the stay may still be renewed or ended.
    account_id: String,
}

impl GuestRow {
    fn of(invitation: proto::GuestInvitation, t: &Words) -> GuestRow {
        let decided = invitation.status();
        let guest = invitation.guest.unwrap_or_default();
        let account = invitation.account;
        let status = |a: &proto::GuestAccount| proto::AccountStatus::try_from(a.status);
        let state = match (&account, decided) {
            (_, proto::InvitationStatus::Pending) => t.guests_pending,
            (_, proto::InvitationStatus::Rejected) => t.guests_rejected,
            (Some(a), _) => match status(a) {
                Ok(proto::AccountStatus::Active) => t.guests_active,
                Ok(proto::AccountStatus::Grace) => t.guests_limited,
                Ok(proto::AccountStatus::PreCreated | proto::AccountStatus::Created) => {
                    t.guests_waiting
                }
                _ => t.guests_closed,
            },
            (None, _) => t.guests_closed,
        };
        let open = account.as_ref().is_some_and(|a| {
            !matches!(
                status(a),
                Ok(proto::AccountStatus::Expired | proto::AccountStatus::DataDeleted)
            )
        });
        GuestRow {
            name: format!("{} {}", guest.given_name, guest.family_name),
            login: account
                .as_ref()
                .map(|a| a.login.clone())
                .unwrap_or_default(),
            state,
            end_date: account
                .as_ref()
                .map(|a| a.end_date.clone())
                .unwrap_or(guest.end_date),
            account_id: account
                .filter(|_| open)
                .map(|a| a.account_id)
                .unwrap_or_default(),
        }
    }
}

/// The invitation form as the page shows it.
#[derive(Serialize)]
struct InvitationPage {
    form: FormPage,
    profiles: Vec<(String, String)>,
    latest_end_date: String,
}

/// The sponsor's page: the invitation form (for those who may invite)
/// and the invitations made; each page moves the idle limit on.
async fn guests_page(
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
        invitation: Option<InvitationPage>,
        guests: Vec<GuestRow>,
        csrf: String,
        #[serde(flatten)]
        outcome: Outcome,
    }
    let Some(account) = session.account.as_mut() else {
        return to_sign_in(code);
    };
    account.until = now_seconds() + IDLE_LIMIT_SECONDS;
    let describe = portal.api.request(
        proto::DescribeAccountRequest {
            account: Some(selector(account)),
        },
        person,
    );
    let listing = portal.api.request(
        proto::ListSponsoredGuestsRequest {
            sponsor: Some(selector(account)),
        },
        person,
    );
    let (mut described_api, mut guests_api) = (portal.api.settings(), portal.api.guests());
    let (described, listed) = tokio::join!(
        described_api.describe_account(describe),
        guests_api.list_sponsored_guests(listing)
    );
    let described = match described {
        Ok(answer) => answer.into_inner(),
        Err(status) => return error_page(portal, code, person, &status),
    };
    // A staff member who may not sponsor has no invitations to list.
    let invitations = listed
        .map(|a| a.into_inner().invitations)
        .unwrap_or_default();
    let t = words(person.language);
    let invitation = described.guest_invitation.map(|g| InvitationPage {
        form: FormPage::from(g.form.unwrap_or_default()).within("invite"),
        profiles: g
            .profiles
            .into_iter()
            .map(|p| (p.profile, p.label))
            .collect(),
        latest_end_date: g.latest_end_date,
    });
    let refused = !outcome.refusal.summary.is_empty();
    let page = Page {
        frame: frame(
            portal,
            person,
            code,
            described.institution,
            "/account/guests",
        ),
        invitation,
        guests: invitations
            .into_iter()
            .map(|i| GuestRow::of(i, &t))
            .collect(),
        csrf: session.csrf.clone(),
        outcome,
    };
    let response = marked_refused(render(portal, "guests.html", page), refused);
    with_session(portal, response, &session)
}
