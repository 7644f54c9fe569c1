//! Guests (`GuestService`): a Montpellier staff member invites a visiting
//! researcher, the IT department approves, the guest activates through the
//! mailed link, and the stay ends at its end date, is renewed, or ends
//! with the sponsor's.

use chrono::{Days, NaiveDate};
use ent_identity::app::clock::Clock;
use ent_identity::proto;
use ent_identity::proto::guest_service_client::GuestServiceClient;
use tonic::Code;

use crate::support::*;

const MODERATORS: &str = "invitations-dsin@umontpellier.fr";
const GUEST_MAIL: &str = "ada.lovelace@example.org";

fn sponsor_side(app: &TestApp) -> GuestServiceClient<Conn> {
    GuestServiceClient::new(authed(&app.channel, "portal", None))
}

fn moderator_side(app: &TestApp) -> GuestServiceClient<Conn> {
    GuestServiceClient::new(authed(&app.channel, "admin", None))
}

/// Today in Montpellier, `days` later.
fn in_days(app: &TestApp, days: u64) -> NaiveDate {
    let today = app
        .clock
        .now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    today.checked_add_days(Days::new(days)).expect("date")
}

fn ada(end: NaiveDate) -> proto::GuestDetails {
    proto::GuestDetails {
        profile: "guest".into(),
        given_name: "Ada".into(),
        family_name: "Lovelace".into(),
        birth_date: String::new(),
        personal_mail: GUEST_MAIL.into(),
        end_date: end.to_string(),
        reason: "Chercheuse invitée au LIRMM".into(),
        language: "en".into(),
    }
}

/// An activated Montpellier tenured staff member, who may sponsor.
async fn sponsor(app: &TestApp, hr_id: &str) -> proto::Account {
    app.active_account(montpellier_staff(hr_id, "Marie", "Curie"), "Qz7#Kp2wLm9x")
        .await
}

async fn invite(
    app: &TestApp,
    sponsor_id: &str,
    guest: proto::GuestDetails,
) -> Result<proto::GuestInvitation, tonic::Status> {
    sponsor_side(app)
        .invite_guest(proto::InviteGuestRequest {
            sponsor: by_id(sponsor_id),
            guest: Some(guest),
        })
        .await
        .map(|r| r.into_inner().invitation.expect("invitation"))
}

async fn decide(
    app: &TestApp,
    invitation_id: &str,
    approve: bool,
) -> Result<proto::GuestInvitation, tonic::Status> {
    moderator_side(app)
        .decide_invitation(proto::DecideInvitationRequest {
            invitation_id: invitation_id.into(),
            moderator: "dsin-jdupont".into(),
            approve,
            comment: if approve {
                String::new()
            } else {
                "Pas de convention d'accueil".into()
            },
        })
        .await
        .map(|r| r.into_inner().invitation.expect("invitation"))
}

/// A guest invited by `sponsor_id` until `end` and approved.
async fn approved_guest(app: &TestApp, sponsor_id: &str, end: NaiveDate) -> proto::GuestAccount {
    let invited = invite(app, sponsor_id, ada(end)).await.expect("invited");
    decide(app, &invited.invitation_id, true)
        .await
        .expect("approved")
        .account
        .expect("account")
}

async fn my_guests(app: &TestApp, sponsor_id: &str) -> Vec<proto::GuestInvitation> {
    sponsor_side(app)
        .list_sponsored_guests(proto::ListSponsoredGuestsRequest {
            sponsor: by_id(sponsor_id),
        })
        .await
        .expect("listed")
        .into_inner()
        .invitations
}

#[tokio::test]
async fn a_sponsor_invites_a_guest_who_activates_through_the_mailed_link_once_approved() {
    let app = spawn_app().await;
    let marie = sponsor(&app, "RH-100").await;
    let end = in_days(&app, 90);

    // Montpellier moderates: the invitation waits, the moderators hear.
    let invited = invite(&app, &marie.account_id, ada(end))
        .await
        .expect("invited");
    assert_eq!(invited.status, proto::InvitationStatus::Pending as i32);
    assert!(invited.account.is_none());
    let to_moderate = decoded(&app.wait_for_mail_to(MODERATORS, 1).await);
    assert!(
        to_moderate.contains("Ada Lovelace") && to_moderate.contains("LIRMM"),
        "{to_moderate}"
    );
    assert!(
        app.mails_to(GUEST_MAIL).is_empty(),
        "nothing before approval"
    );
    let pending = moderator_side(&app)
        .list_pending_invitations(proto::ListPendingInvitationsRequest {
            institution: "umontpellier".into(),
        })
        .await
        .expect("pending")
        .into_inner()
        .invitations;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].invitation_id, invited.invitation_id);
    assert_eq!(pending[0].sponsor_account_id, marie.account_id);

    // Approved: the account exists, its stay ends on the end date and is
    // kept a month more (the guest profile's retention).
    let approved = decide(&app, &invited.invitation_id, true)
        .await
        .expect("approved");
    assert_eq!(approved.status, proto::InvitationStatus::Approved as i32);
    let account = approved.account.expect("account");
    assert_eq!(account.end_date, end.to_string());
    assert!(account.retention_end_date > account.end_date);
    assert!(!account.activated);
    let again = decide(&app, &invited.invitation_id, false)
        .await
        .expect_err("decided once");
    assert_eq!(precondition(&again), "INVITATION_DECIDED");
    let told = decoded(&app.wait_for_mail_to(&marie.recovery_mail, 2).await);
    assert!(told.contains("Ada Lovelace"), "{told}");

    // The guest follows the mailed link (in English, as the sponsor
    // asked), accepts the charter and chooses a password.
    let link_mail = decoded(&app.wait_for_mail_to(GUEST_MAIL, 1).await);
    assert!(link_mail.contains("activate"), "{link_mail}");
    let guest = app
        .get_account(
            "",
            proto::account_selector::Identifier::AccountId(account.account_id.clone()),
        )
        .await
        .expect("guest");
    assert_eq!(guest.kind, proto::AccountKind::Guest as i32);
    // The guest types her names as on her passport.
    let typed = proto::Account {
        given_name: "Augusta Ada".into(),
        family_name: "King-Lovelace".into(),
        ..guest
    };
    let provisioned = proto::ProvisionAccountResponse {
        account: Some(typed),
        activation_material: Some(proto::ActivationMaterial {
            channel: proto::ActivationChannel::MailedLink as i32,
            ..Default::default()
        }),
        ..Default::default()
    };
    app.activate(&provisioned, "Qx7!vR2#mP9zTk").await;
    assert!(
        app.password_valid(&account.account_id, "Qx7!vR2#mP9zTk")
            .await
    );
    let active = app
        .get_account(
            "",
            proto::account_selector::Identifier::AccountId(account.account_id.clone()),
        )
        .await
        .expect("guest");
    assert_eq!(
        (active.given_name.as_str(), active.family_name.as_str()),
        ("Augusta Ada", "King-Lovelace")
    );

    // The sponsor's list shows the guest active.
    let listed = my_guests(&app, &marie.account_id).await;
    assert_eq!(listed.len(), 1);
    // The portal reads no personal data: the guest's address masked.
    let shown = listed[0].guest.clone().expect("details");
    assert!(
        !shown.personal_mail.is_empty() && shown.personal_mail != GUEST_MAIL,
        "{shown:?}"
    );
    let listed_account = listed[0].account.clone().expect("account");
    assert!(listed_account.activated);
    assert_eq!(listed_account.status, proto::AccountStatus::Active as i32);
}

#[tokio::test]
async fn an_invitation_is_checked_field_by_field_and_only_sponsors_invite() {
    let app = spawn_app().await;
    let marie = sponsor(&app, "RH-101").await;
    let bad = invite(
        &app,
        &marie.account_id,
        proto::GuestDetails {
            profile: "staff_tenured".into(),
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            birth_date: "1815-13-10".into(),
            personal_mail: "not a mail".into(),
            end_date: in_days(&app, 0).to_string(),
            reason: String::new(),
            language: "de".into(),
        },
    )
    .await
    .expect_err("refused");
    let mut fields = violations(&bad);
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "guest.birth_date",
            "guest.end_date",
            "guest.language",
            "guest.personal_mail",
            "guest.profile",
            "guest.reason"
        ]
    );
    let too_long = invite(&app, &marie.account_id, ada(in_days(&app, 400)))
        .await
        .expect_err("refused");
    assert_eq!(violations(&too_long), ["guest.end_date"]);
    assert!(my_guests(&app, &marie.account_id).await.is_empty());

    // A teaching vacataire is not among Montpellier's sponsors.
    let mut record = montpellier_staff("RH-102", "Paul", "Langevin");
    record.profile = "vacataire".into();
    let provisioned = app.provision(record).await.expect("provision");
    let paul = provisioned.account.expect("account");
    let refused = invite(&app, &paul.account_id, ada(in_days(&app, 30)))
        .await
        .expect_err("not a sponsor");
    assert_eq!(precondition(&refused), "NOT_A_SPONSOR");
    // Nor do enrolment records bring guests.
    let mut record = montpellier_staff("RH-103", "Ada", "Lovelace");
    record.profile = "guest".into();
    let provisioned = app.provision(record).await.expect_err("refused");
    assert_eq!(violations(&provisioned), ["record.profile"]);

    // A rejection creates nothing and tells the sponsor why.
    let invited = invite(&app, &marie.account_id, ada(in_days(&app, 30)))
        .await
        .expect("invited");
    let rejected = decide(&app, &invited.invitation_id, false)
        .await
        .expect("rejected");
    assert_eq!(rejected.status, proto::InvitationStatus::Rejected as i32);
    assert!(rejected.account.is_none());
    let told = decoded(&app.wait_for_mail_to(&marie.recovery_mail, 2).await);
    assert!(told.contains("convention"), "{told}");
    assert!(app.mails_to(GUEST_MAIL).is_empty());

    // A month on, the refused invitation (Ada's names, address, reason)
    // is forgotten by the expiry batch (`retention.decided_requests`); one
    // nobody decides goes a month after the end of the stay it asked for.
    invite(&app, &marie.account_id, ada(in_days(&app, 30)))
        .await
        .expect("invited, never decided");
    assert_eq!(my_guests(&app, &marie.account_id).await.len(), 2);
    let (month, two_months) = (in_days(&app, 31), in_days(&app, 62));
    let forgotten =
        |r: proto::RunExpiryBatchResponse| r.records_forgotten.expect("counts").decided_requests;
    assert_eq!(forgotten(app.batch_on(&month.to_string()).await), 1);
    assert_eq!(my_guests(&app, &marie.account_id).await.len(), 1);
    assert_eq!(forgotten(app.batch_on(&two_months.to_string()).await), 1);
    assert!(my_guests(&app, &marie.account_id).await.is_empty());
}

#[tokio::test]
async fn a_stay_is_renewed_by_its_sponsor_and_ends_with_the_sponsor() {
    let app = spawn_app().await;
    let marie = sponsor(&app, "RH-104").await;
    let other = sponsor(&app, "RH-105").await;
    let guest = approved_guest(&app, &marie.account_id, in_days(&app, 30)).await;

    // Renewed for six months; beyond twelve is refused; another staff
    // member cannot touch someone else's guest.
    let renewed = sponsor_side(&app)
        .renew_guest(proto::RenewGuestRequest {
            sponsor: by_id(&marie.account_id),
            guest_account_id: guest.account_id.clone(),
            end_date: in_days(&app, 180).to_string(),
        })
        .await
        .expect("renewed")
        .into_inner()
        .account
        .expect("account");
    assert_eq!(renewed.end_date, in_days(&app, 180).to_string());
    let too_far = sponsor_side(&app)
        .renew_guest(proto::RenewGuestRequest {
            sponsor: by_id(&marie.account_id),
            guest_account_id: guest.account_id.clone(),
            end_date: in_days(&app, 400).to_string(),
        })
        .await
        .expect_err("too far");
    assert_eq!(violations(&too_far), ["end_date"]);
    let not_theirs = sponsor_side(&app)
        .renew_guest(proto::RenewGuestRequest {
            sponsor: by_id(&other.account_id),
            guest_account_id: guest.account_id.clone(),
            end_date: in_days(&app, 60).to_string(),
        })
        .await
        .expect_err("not theirs");
    assert_eq!(not_theirs.code(), Code::NotFound);

    // HR reports the sponsor's departure in ten days: the stay ends then.
    app.depart(&marie.account_id, &in_days(&app, 10).to_string())
        .await
        .expect("departure");
    let listed = my_guests(&app, &marie.account_id).await;
    let capped = listed[0].account.clone().expect("account");
    assert_eq!(capped.end_date, in_days(&app, 10).to_string());

    // The sponsor ends the stay now: limited at once.
    let ended = sponsor_side(&app)
        .end_guest(proto::EndGuestRequest {
            sponsor: by_id(&marie.account_id),
            guest_account_id: guest.account_id.clone(),
        })
        .await
        .expect("ended")
        .into_inner()
        .account
        .expect("account");
    assert_eq!(
        ended.end_date,
        in_days(&app, 0).pred_opt().unwrap().to_string()
    );
    let audited = app
        .lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            account: by_id(&marie.account_id),
            ..Default::default()
        })
        .await
        .expect("events")
        .into_inner()
        .events;
    assert!(audited.iter().any(|e| e.action == "guest.invited"));
}

#[tokio::test]
async fn the_guest_and_the_sponsor_hear_before_the_account_closes_and_it_expires() {
    let app = spawn_app().await;
    let marie = sponsor(&app, "RH-106").await;
    let guest = approved_guest(&app, &marie.account_id, in_days(&app, 10)).await;
    let to_sponsor = app.mails_to(&marie.recovery_mail).len();
    // The account is kept a month after the stay; the first notice goes
    // 30 days before it closes, the day the stay ends.
    app.clock.advance(chrono::Duration::days(11));
    let report = app
        .batch(proto::RunExpiryBatchRequest {
            institution: "umontpellier".into(),
            ..Default::default()
        })
        .await;
    assert!(report.notices_sent >= 1);
    // The link mailed at approval and the notice (the outbox may deliver
    // them in either order on a busy machine).
    let to_guest = app.wait_for_mails_to(GUEST_MAIL, 2).await;
    let guest_notice = to_guest
        .iter()
        .map(|m| decoded(m))
        .find(|m| m.contains("reste ouvert jusqu"))
        .expect("the guest's notice");
    assert!(
        guest_notice.contains(&guest.retention_end_date[8..10]),
        "{guest_notice}"
    );
    let sponsor_notice = decoded(
        &app.wait_for_mail_to(&marie.recovery_mail, to_sponsor + 1)
            .await,
    );
    assert!(
        sponsor_notice.contains("Ada Lovelace") && sponsor_notice.contains("invit"),
        "{sponsor_notice}"
    );

    // After the retention, the account expires like any other.
    app.clock.advance(chrono::Duration::days(40));
    app.batch(proto::RunExpiryBatchRequest {
        institution: "umontpellier".into(),
        ..Default::default()
    })
    .await;
    let listed = my_guests(&app, &marie.account_id).await;
    let expired = listed[0].account.clone().expect("account");
    assert_eq!(expired.status, proto::AccountStatus::Expired as i32);

    // The purge takes the guest's personal data out of the invitation too;
    // its dates and decision stay for the audit.
    app.clock.advance(chrono::Duration::days(91));
    let purged = app
        .batch(proto::RunExpiryBatchRequest {
            institution: "umontpellier".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(purged.accounts_purged, 1);
    let listed = my_guests(&app, &marie.account_id).await;
    let details = listed[0].guest.clone().expect("details");
    assert_eq!(
        (details.given_name.as_str(), details.personal_mail.as_str()),
        ("", "")
    );
    assert_eq!(details.end_date, guest.end_date);
}

#[tokio::test]
async fn without_moderation_the_guest_is_mailed_at_once() {
    let app = spawn_app_configured(TestConfig {
        toml: "[institutions.umontpellier.guests]\nmoderation = \"none\"\n".into(),
        wait: true,
        ..TestConfig::default()
    })
    .await;
    let marie = sponsor(&app, "RH-107").await;
    let invited = invite(&app, &marie.account_id, ada(in_days(&app, 30)))
        .await
        .expect("invited");
    assert_eq!(invited.status, proto::InvitationStatus::Approved as i32);
    let account = invited.account.expect("account at once");
    assert!(!account.login.is_empty());
    let link = decoded(&app.wait_for_mail_to(GUEST_MAIL, 1).await);
    assert!(link.contains("/activation/link/"), "{link}");
    // Nobody moderates: no invitation waits, no moderators' mail.
    let pending = moderator_side(&app)
        .list_pending_invitations(proto::ListPendingInvitationsRequest {
            institution: "umontpellier".into(),
        })
        .await
        .expect("pending")
        .into_inner()
        .invitations;
    assert!(pending.is_empty());
    assert!(app.mails_to(MODERATORS).is_empty());
    let decided = decide(&app, &invited.invitation_id, true)
        .await
        .expect_err("nothing to decide");
    assert_eq!(precondition(&decided), "INVITATION_DECIDED");
}

/// Bordeaux Montaigne and Tours (examples without moderation): a staff
/// member invites, the guest is mailed at once and activates through the
/// link — names, (Bordeaux: the charter), a password.
#[tokio::test]
async fn every_example_university_has_guests_their_staff_invite() {
    let app = spawn_app().await;
    for (institution, hr_id, guest_mail) in [
        (
            "u-bordeaux-montaigne",
            "RH-B-1",
            "guest.bordeaux@example.org",
        ),
        ("univ-tours", "RH-T-1", "guest.tours@example.org"),
    ] {
        let staff = proto::ProvisionRecord {
            institution: institution.into(),
            profile: "staff".into(),
            hr_id: hr_id.into(),
            given_name: "Claire".into(),
            family_name: "Parrain".into(),
            birth_date: "1975-04-12".into(),
            personal_mail: format!("claire.{hr_id}@example.org").to_lowercase(),
            ..Default::default()
        };
        let sponsor = app.active_account(staff, "Qz7#Kp2wLm9x").await;
        let invited = invite(
            &app,
            &sponsor.account_id,
            proto::GuestDetails {
                personal_mail: guest_mail.into(),
                ..ada(in_days(&app, 60))
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{institution}: {e:?}"));
        assert_eq!(
            invited.status,
            proto::InvitationStatus::Approved as i32,
            "{institution}"
        );
        let account = invited.account.expect("account");
        let guest = app
            .get_account(
                "",
                proto::account_selector::Identifier::AccountId(account.account_id.clone()),
            )
            .await
            .expect("guest");
        let provisioned = proto::ProvisionAccountResponse {
            account: Some(guest),
            activation_material: Some(proto::ActivationMaterial {
                channel: proto::ActivationChannel::MailedLink as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        app.activate(&provisioned, "Qx7!vR2#mP9zTk").await;
        assert!(
            app.password_valid(&account.account_id, "Qx7!vR2#mP9zTk")
                .await,
            "{institution}"
        );
    }
}

/// A staff sponsor who also enrols (one person, one account at
/// Montpellier): the end of the student profile leaves the guests' stays
/// alone; the end of the staff profile caps them.
#[tokio::test]
async fn only_the_end_of_a_staff_profile_ends_the_stays_it_sponsors() {
    let app = spawn_app().await;
    let marie = sponsor(&app, "RH-140").await;
    let staff_record = montpellier_staff("RH-140", "Marie", "Curie");
    let enrolled = app
        .provision(proto::ProvisionRecord {
            institution: "umontpellier".into(),
            profile: "student".into(),
            student_number: "22140140".into(),
            given_name: "Marie".into(),
            family_name: "Curie".into(),
            birth_date: staff_record.birth_date.clone(),
            personal_mail: staff_record.personal_mail.clone(),
            ..Default::default()
        })
        .await
        .expect("enrolled");
    assert_eq!(enrolled.outcome(), proto::ProvisionOutcome::Linked);
    let guest = approved_guest(&app, &marie.account_id, in_days(&app, 30)).await;
    let end_of =
        |selector: proto::account_selector::Identifier| proto::RecordEndOfActivityRequest {
            account: Some(proto::AccountSelector {
                institution: "umontpellier".into(),
                identifier: Some(selector),
            }),
            end_date: in_days(&app, 10).to_string(),
            reason: "fin".into(),
        };
    use proto::account_selector::Identifier;
    app.lifecycle
        .clone()
        .record_end_of_activity(end_of(Identifier::StudentNumber("22140140".into())))
        .await
        .expect("student profile ends");
    let stay = my_guests(&app, &marie.account_id).await[0]
        .account
        .clone()
        .expect("account");
    assert_eq!(stay.end_date, in_days(&app, 30).to_string());
    app.lifecycle
        .clone()
        .record_end_of_activity(end_of(Identifier::HrId("RH-140".into())))
        .await
        .expect("staff profile ends");
    let stay = my_guests(&app, &marie.account_id).await[0]
        .account
        .clone()
        .expect("account");
    assert_eq!(stay.end_date, in_days(&app, 10).to_string());
    assert_eq!(stay.account_id, guest.account_id);
}
