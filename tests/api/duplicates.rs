//! One person, one account (issue 25): Montpellier links a record naming a
//! person who already has an account (same folded names and birth date)
//! to that account instead of creating a second; the account lives until
//! the last of its profiles ends, and closes with the latest retention.

use ent_identity::proto;
use ent_identity::proto::account_selector::Identifier;

use crate::support::*;

const UM: &str = "umontpellier";

fn student(number: &str, given: &str, born: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: UM.into(),
        profile: "student".into(),
        student_number: number.into(),
        given_name: given.into(),
        family_name: "Lambert".into(),
        birth_date: born.into(),
        personal_mail: "ines.lambert@example.net".into(),
        ..Default::default()
    }
}

fn vacataire(hr_id: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: UM.into(),
        profile: "vacataire".into(),
        hr_id: hr_id.into(),
        // The HR system writes the names its own way.
        given_name: "INES".into(),
        family_name: "LAMBERT".into(),
        birth_date: "2001-05-06".into(),
        personal_mail: "i.lambert@example.org".into(),
        ..Default::default()
    }
}

async fn depart(app: &TestApp, identifier: Identifier, end: &str) -> proto::Account {
    app.lifecycle
        .clone()
        .record_end_of_activity(proto::RecordEndOfActivityRequest {
            account: Some(proto::AccountSelector {
                institution: UM.into(),
                identifier: Some(identifier),
            }),
            end_date: end.into(),
            reason: "fin".into(),
        })
        .await
        .expect("end of activity")
        .into_inner()
        .account
        .expect("account")
}

/// The pending held records of Montpellier.
async fn pending_held(app: &TestApp) -> Vec<proto::HeldRecord> {
    app.lifecycle
        .clone()
        .list_held_records(proto::ListHeldRecordsRequest {
            institution: UM.into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner()
        .records
}

/// An account's audit trail, newest first.
async fn audit_of(app: &TestApp, account_id: &str) -> Vec<proto::AuditEvent> {
    app.lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            account: by_id(account_id),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events
}

#[tokio::test]
async fn a_student_hired_as_vacataire_keeps_one_account_until_both_end() {
    let app = spawn_app().await;
    let ines = app
        .active_account(student("22000001", "Inès", "2001-05-06"), "Qz7#Kp2wLm9x")
        .await;

    // HR hires her: the record is linked, no second account, no material.
    let linked = app.provision(vacataire("RH-V-1")).await.expect("linked");
    assert_eq!(linked.outcome(), proto::ProvisionOutcome::Linked);
    assert!(linked.activation_material.is_none());
    let account = linked.account.expect("account");
    assert_eq!(account.account_id, ines.account_id);
    assert_eq!(account.login, ines.login);
    assert_eq!(account.status(), proto::AccountStatus::Active);
    assert!(app.password_valid(&ines.account_id, "Qz7#Kp2wLm9x").await);
    let by_hr = app
        .get_account(UM, Identifier::HrId("RH-V-1".into()))
        .await
        .expect("found by the linked profile's id");
    assert_eq!(by_hr.account_id, ines.account_id);
    let again = app.provision(vacataire("RH-V-1")).await.expect("again");
    assert_eq!(again.outcome(), proto::ProvisionOutcome::Unchanged);
    let profiles: Vec<(&str, &str, &str)> = by_hr
        .profiles
        .iter()
        .map(|p| {
            (
                p.profile.as_str(),
                p.student_number.as_str(),
                p.hr_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        profiles,
        [("student", "22000001", ""), ("vacataire", "", "RH-V-1")]
    );

    // A namesake born another day is another person.
    let namesake = app
        .provision(student("22000002", "Inès", "2002-01-01"))
        .await
        .expect("namesake");
    assert_eq!(namesake.outcome(), proto::ProvisionOutcome::Created);
    assert_ne!(
        namesake.account.expect("account").account_id,
        ines.account_id
    );

    // Her contract ends: she is still a student, the account stays as it
    // is. Then she leaves the university (the clock is 2026-09-01): the
    // account leaves with its last profile, on the later last day, and is
    // kept by the longer rule (vacataires 6 months: 2027-02-28; students
    // until 31 December after the academic year: 2026-12-31).
    let after_contract = depart(&app, Identifier::HrId("RH-V-1".into()), "2026-08-31").await;
    assert_eq!(after_contract.status(), proto::AccountStatus::Active);
    assert_eq!(after_contract.end_of_activity_date, "");
    let ends: Vec<(&str, &str)> = after_contract
        .profiles
        .iter()
        .map(|p| {
            (
                p.end_of_activity_date.as_str(),
                p.retention_end_date.as_str(),
            )
        })
        .collect();
    assert_eq!(ends, [("", ""), ("2026-08-31", "2027-02-28")]);
    let gone = depart(
        &app,
        Identifier::StudentNumber("22000001".into()),
        "2026-06-30",
    )
    .await;
    assert_eq!(gone.status(), proto::AccountStatus::Grace);
    assert_eq!(gone.end_of_activity_date, "2026-08-31");
    assert_eq!(gone.retention_end_date, "2027-02-28");
    let changes = app.changes_of(&ines.account_id).await.len();
    let same = depart(
        &app,
        Identifier::StudentNumber("22000001".into()),
        "2026-06-30",
    )
    .await;
    assert_eq!(same.retention_end_date, "2027-02-28");
    assert_eq!(app.changes_of(&ines.account_id).await.len(), changes);

    // Re-hired: full access again, the same account.
    let back = app.provision(vacataire("RH-V-1")).await.expect("re-hired");
    assert_eq!(back.outcome(), proto::ProvisionOutcome::Restored);
    let back = back.account.expect("account");
    assert_eq!(back.status(), proto::AccountStatus::Active);
    assert_eq!(back.end_of_activity_date, "");

    let events = audit_of(&app, &ines.account_id).await;
    let linked_event = events
        .iter()
        .find(|e| e.action == "account.profile_linked")
        .expect("the link is audited");
    assert_eq!(
        linked_event.details.get("matched_on").map(String::as_str),
        Some("names_and_birth_date")
    );
}

/// The purge frees a linked profile's ids with the account's own: the same
/// HR id later names a new account.
#[tokio::test]
async fn the_purge_frees_linked_profiles_ids() {
    let app = spawn_app().await;
    let ines = app
        .provision(student("22000003", "Inès", "2001-05-06"))
        .await
        .expect("student")
        .account
        .expect("account");
    let linked = app.provision(vacataire("RH-V-3")).await.expect("linked");
    assert_eq!(linked.outcome(), proto::ProvisionOutcome::Linked);
    depart(
        &app,
        Identifier::AccountId(ines.account_id.clone()),
        "2026-01-31",
    )
    .await;
    // One report naming the account ends both profiles: kept by the
    // student rule (2026-12-31, past the vacataire's 2026-07-31), expired
    // the day after, purged 90 days later.
    for day in ["2027-01-02", "2027-04-15"] {
        app.batch_on(day).await;
    }
    let tombstone = app
        .get_account("", Identifier::AccountId(ines.account_id.clone()))
        .await
        .expect("tombstone");
    assert_eq!(tombstone.status(), proto::AccountStatus::DataDeleted);
    assert!(tombstone.profiles.is_empty());
    // The feed's earlier entries lose the profiles' ids with the rest.
    for change in app.changes_of(&ines.account_id).await {
        let account = change.account.expect("account");
        assert!(account.profiles.is_empty(), "{:?}", account.profiles);
        assert_eq!(account.student_number, "");
    }
    let hired = app.provision(vacataire("RH-V-3")).await.expect("hired");
    assert_eq!(hired.outcome(), proto::ProvisionOutcome::Created);
    assert_ne!(hired.account.expect("account").account_id, ines.account_id);
}

/// A re-enrolment under a new student number keeps the person's INE: the
/// record is linked to the account that holds it, not refused as another
/// account's INE. Without the same person (other names), the INE stays
/// refused.
#[tokio::test]
async fn a_re_enrolment_under_a_new_number_keeps_its_ine() {
    let app = spawn_app().await;
    let ine = ine_bea(4_455_667_788);
    let first = app
        .provision(proto::ProvisionRecord {
            ine: ine.clone(),
            ..student("22000010", "Inès", "2001-05-06")
        })
        .await
        .expect("first enrolment")
        .account
        .expect("account");
    let again = app
        .provision(proto::ProvisionRecord {
            ine: ine.clone(),
            ..student("23000010", "Inès", "2001-05-06")
        })
        .await
        .expect("re-enrolment");
    assert_eq!(again.outcome(), proto::ProvisionOutcome::Linked);
    assert_eq!(again.account.expect("account").account_id, first.account_id);
    let stranger = app
        .provision(proto::ProvisionRecord {
            ine,
            ..student("23000011", "Noé", "2001-05-06")
        })
        .await
        .expect_err("another person's INE");
    assert_eq!(stranger.code(), tonic::Code::AlreadyExists);
}

/// One chunk of a bulk load naming one person three times (enrolment, a
/// re-enrolment number, HR): one account, the later records linked to the
/// account the first created, each profile recorded once.
#[tokio::test]
async fn a_bulk_chunk_naming_one_person_thrice_makes_one_account() {
    let app = spawn_app().await;
    let records = [
        student("22000020", "Inès", "2001-05-06"),
        vacataire("RH-V-20"),
        student("23000020", "Inès", "2001-05-06"),
        student("22000021", "Noé", "2001-05-06"),
    ];
    let requests: Vec<_> = records
        .into_iter()
        .enumerate()
        .map(|(i, record)| proto::BulkProvisionAccountsRequest {
            reissue_pending_material: false,
            correlation_id: i.to_string(),
            record: Some(record),
        })
        .collect();
    let mut responses = app
        .lifecycle
        .clone()
        .bulk_provision_accounts(tokio_stream::iter(requests))
        .await
        .expect("stream accepted")
        .into_inner();
    let mut answers = Vec::new();
    while let Some(response) = responses.message().await.expect("stream item") {
        match response.result.expect("result") {
            proto::bulk_provision_accounts_response::Result::Provisioned(p) => {
                let id = p.account.as_ref().expect("account").account_id.clone();
                answers.push((p.outcome(), id));
            }
            proto::bulk_provision_accounts_response::Result::Error(e) => {
                panic!("record {} refused: {e:?}", response.correlation_id)
            }
        }
    }
    let outcomes: Vec<_> = answers.iter().map(|(o, _)| *o).collect();
    use proto::ProvisionOutcome::{Created, Linked};
    assert_eq!(outcomes, [Created, Linked, Linked, Created]);
    assert!(answers[..3].iter().all(|(_, id)| *id == answers[0].1));
    assert_ne!(answers[3].1, answers[0].1);
    let account = app
        .get_account(UM, Identifier::StudentNumber("23000020".into()))
        .await
        .expect("found by the second number");
    let profiles: Vec<&str> = account
        .profiles
        .iter()
        .map(|p| p.profile.as_str())
        .collect();
    assert_eq!(profiles, ["student", "vacataire", "student"]);
}

/// An institution that holds such records instead (`action = "hold"`):
/// nothing is created; an administrator lists the held records and merges
/// one into the account it names, or creates an account for another, once.
#[tokio::test]
async fn held_records_wait_for_an_administrator_who_merges_or_creates() {
    let app = spawn_app_configured(TestConfig {
        env: vec![(
            "ENT_IDENTITY__INSTITUTIONS__UMONTPELLIER__DUPLICATES__ACTION".into(),
            "hold".into(),
        )],
        wait: true,
        ..Default::default()
    })
    .await;
    let ines = app
        .provision(student("22000030", "Inès", "2001-05-06"))
        .await
        .expect("student")
        .account
        .expect("account");
    let held = app.provision(vacataire("RH-V-30")).await.expect("held");
    assert_eq!(held.outcome(), proto::ProvisionOutcome::Held);
    assert!(held.account.is_none() && held.activation_material.is_none());
    let again = app.provision(vacataire("RH-V-30")).await.expect("again");
    assert_eq!(again.held_record_id, held.held_record_id);
    let missing = app
        .get_account(UM, Identifier::HrId("RH-V-30".into()))
        .await
        .expect_err("nothing created");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let other = app.provision(vacataire("RH-V-31")).await.expect("held too");
    assert_eq!(other.outcome(), proto::ProvisionOutcome::Held);

    let mut admin = app.lifecycle.clone();
    let pending = pending_held(&app).await;
    assert_eq!(pending.len(), 2);
    let first = &pending[0];
    assert_eq!(first.held_record_id, held.held_record_id);
    assert_eq!(
        (
            first.given_name.as_str(),
            first.hr_id.as_str(),
            first.matched_on.as_str()
        ),
        ("INES", "RH-V-30", "names_and_birth_date")
    );
    assert_eq!(first.status(), proto::HeldRecordStatus::Pending);
    assert_eq!(
        first.candidate.as_ref().expect("candidate").account_id,
        ines.account_id
    );

    let resolve =
        |id: &str, resolution: proto::HeldRecordResolution| proto::ResolveHeldRecordRequest {
            held_record_id: id.into(),
            resolution: resolution as i32,
        };
    use proto::HeldRecordResolution::{Create, Merge, Unspecified};
    let merged = admin
        .resolve_held_record(resolve(&held.held_record_id, Merge))
        .await
        .expect("merged")
        .into_inner()
        .result
        .expect("result");
    assert_eq!(merged.outcome(), proto::ProvisionOutcome::Linked);
    assert_eq!(merged.account.expect("account").account_id, ines.account_id);
    let twice = admin
        .resolve_held_record(resolve(&held.held_record_id, Create))
        .await
        .expect_err("decided once");
    assert_eq!(twice.code(), tonic::Code::FailedPrecondition);
    let created = admin
        .resolve_held_record(resolve(&other.held_record_id, Create))
        .await
        .expect("created")
        .into_inner()
        .result
        .expect("result");
    assert_eq!(created.outcome(), proto::ProvisionOutcome::Created);
    assert!(created.activation_material.is_some());
    assert_ne!(
        created.account.expect("account").account_id,
        ines.account_id
    );

    let unspecified = admin
        .resolve_held_record(resolve(&other.held_record_id, Unspecified))
        .await
        .expect_err("no decision");
    assert_eq!(violations(&unspecified), ["resolution"]);
    let unknown = admin
        .resolve_held_record(resolve("01900000-0000-7000-8000-000000000000", Merge))
        .await
        .expect_err("unknown");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let left = pending_held(&app).await;
    assert!(left.is_empty());
    let events = audit_of(&app, &ines.account_id).await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "account.record_held",
        "held_record.resolved",
        "account.profile_linked",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    // Decided, the records as received are forgotten a month on
    // (`retention.decided_requests`); the decisions stay in the trail.
    let kept = app
        .batch_on("2026-09-25")
        .await
        .records_forgotten
        .expect("counts");
    assert_eq!(kept.decided_requests, 0);
    let forgotten = app
        .batch_on("2026-10-15")
        .await
        .records_forgotten
        .expect("counts");
    assert_eq!(forgotten.decided_requests, 2, "the merged and the created");
}
