//! Issue 29, the right of access: a person signed in at the portal, or the
//! desk answering their written request, gets a copy of everything the
//! service holds about them, as JSON and to read, with no secret in it.

use ent_identity::proto;
use ent_identity::proto::helpdesk_service_client::HelpdeskServiceClient;
use serde_json::Value;
use tonic::Code;

use crate::support::*;

const PASSWORD: &str = "Qz7#Kp2wLm9x";

fn present(password: &str) -> Option<proto::PresenceProof> {
    Some(proto::PresenceProof {
        proof: Some(proto::presence_proof::Proof::CurrentPassword(
            password.into(),
        )),
    })
}

async fn own_copy(
    app: &TestApp,
    account_id: &str,
    presence: Option<proto::PresenceProof>,
) -> Result<proto::PersonalDataCopy, tonic::Status> {
    app.account_settings()
        .export_personal_data(proto::ExportPersonalDataRequest {
            account: by_id(account_id),
            presence,
        })
        .await
        .map(|r| r.into_inner().copy.expect("copy"))
}

fn desk_request(
    agent: &str,
    account_id: &str,
    reference: &str,
) -> proto::ExportPersonalDataOnRequestRequest {
    proto::ExportPersonalDataOnRequestRequest {
        agent: agent.into(),
        account: by_id(account_id),
        written_request: reference.into(),
    }
}

/// The readable copy as `section: label = value` lines.
fn readable(copy: &proto::PersonalDataCopy) -> Vec<String> {
    let report = copy.report.as_ref().expect("report");
    report
        .sections
        .iter()
        .flat_map(|s| {
            s.rows
                .iter()
                .map(move |r| format!("{}: {} = {}", s.title, r.label, r.value))
        })
        .collect()
}

fn actions(document: &Value) -> Vec<&str> {
    document["audit_events"]
        .as_array()
        .expect("audit events")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect()
}

#[tokio::test]
async fn a_person_gets_everything_held_about_them_and_no_secret() {
    let app = spawn_app().await;
    let provisioned = app
        .provision(bordeaux_student("22001234", "Léa", "Fournier"))
        .await
        .expect("provision");
    let key = provisioned
        .activation_material
        .as_ref()
        .expect("material")
        .activation_key
        .clone();
    app.activate(&provisioned, PASSWORD).await;
    let id = provisioned.account.expect("account").account_id;

    let missing = own_copy(&app, &id, None).await.unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument, "{missing:?}");
    let wrong = own_copy(&app, &id, present("not-my-password")).await;
    assert_eq!(
        violations(&wrong.unwrap_err()),
        ["presence.current_password"]
    );
    let copy = own_copy(&app, &id, present(PASSWORD)).await.expect("copy");

    let json = &copy.document_json;
    for secret in [PASSWORD, key.as_str(), "$argon2", "userPassword"] {
        assert!(!json.contains(secret), "{secret} in the copy: {json}");
    }
    let document: Value = serde_json::from_str(json).expect("JSON");
    let account = &document["account"];
    assert_eq!(account["given_name"], "Léa");
    assert_eq!(account["student_number"], "22001234");
    assert_eq!(account["birth_date"], "2005-06-15");
    assert_eq!(account["status"], "active");
    assert_eq!(account["password"]["set"], true);
    assert!(
        account["recovery_mail_verified_at"].is_string(),
        "{account}"
    );
    let consents = &document["consents"];
    assert!(
        consents["directory_listed"]["decided_at"].is_string(),
        "{consents}"
    );
    assert!(consents["photo"]["value"].is_array(), "{consents}");
    let events = actions(&document);
    for action in [
        "account.provisioned",
        "account.activated",
        "account.data_exported",
    ] {
        assert!(events.contains(&action), "{action} not in {events:?}");
    }
    assert!(
        !document["feed_entries"]
            .as_array()
            .expect("feed")
            .is_empty()
    );
    let messages = document["messages"].as_array().expect("messages");
    assert!(
        messages
            .iter()
            .all(|m| m.get("text").is_none() && m["kind"].is_string()),
        "{messages:?}"
    );
    let directory = document["directory"].as_array().expect("directory");
    assert!(
        directory.iter().any(|a| a["attribute"] == "uid"),
        "{directory:?}"
    );
    assert!(
        copy.file_name.starts_with("personal-data-"),
        "{}",
        copy.file_name
    );

    // The same to read, in words: no code of the service's own.
    let lines = readable(&copy);
    assert!(
        lines.iter().any(|l| l == "Votre compte: Prénom = Léa"),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Journal des opérations: ") && l.contains("Compte activé")),
        "{lines:#?}"
    );
    for line in &lines {
        for code in [
            "account.",
            "activation.",
            "_",
            "Opération sur le compte",
            "Message du service",
        ] {
            let value = line.split(" = ").nth(1).unwrap_or_default();
            assert!(
                !value.contains(code) || value.contains('@'),
                "{code} in {line}"
            );
        }
    }
}

#[tokio::test]
async fn the_desk_hands_a_copy_over_on_a_written_request_and_the_person_is_told() {
    let app = spawn_app().await;
    let staff = app
        .active_account(montpellier_staff("S7301", "Anne", "Leroy"), PASSWORD)
        .await;
    let id = &staff.account_id;
    let mut desk = HelpdeskServiceClient::new(authed(&app.channel, "helpdesk", None));

    let refused = desk
        .export_personal_data_on_request(desk_request(" ", id, ""))
        .await;
    assert_eq!(
        violations(&refused.unwrap_err()),
        ["agent", "written_request"]
    );
    // A portal may not answer written requests; the desk may not ask as the
    // person.
    let mut portal = HelpdeskServiceClient::new(authed(&app.channel, "portal", None));
    let denied = portal
        .export_personal_data_on_request(desk_request("mdupont", id, "DPO-2026-118"))
        .await;
    assert_eq!(denied.unwrap_err().code(), Code::PermissionDenied);
    let mut as_desk = proto::account_settings_service_client::AccountSettingsServiceClient::new(
        authed(&app.channel, "helpdesk", None),
    );
    let denied = as_desk
        .export_personal_data(proto::ExportPersonalDataRequest {
            account: by_id(id),
            presence: present(PASSWORD),
        })
        .await;
    assert_eq!(denied.unwrap_err().code(), Code::PermissionDenied);

    let answer = desk
        .export_personal_data_on_request(desk_request("mdupont", id, "DPO-2026-118"))
        .await
        .expect("copy")
        .into_inner();
    assert_eq!(answer.person.expect("person").login, staff.login);
    let document: Value =
        serde_json::from_str(&answer.copy.expect("copy").document_json).expect("JSON");
    assert_eq!(document["account"]["hr_id"], "S7301");
    let exported = document["audit_events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["action"] == "account.data_exported")
        .expect("the export is in the trail");
    assert_eq!(exported["details"]["written_request"], "DPO-2026-118");
    assert_eq!(exported["details"]["agent"], "mdupont");
    // The person is told, with the request's reference (once the outbox
    // has sent it: a few polls).
    let mut told = false;
    for _ in 0..100 {
        told = (app.mails_to(&staff.recovery_mail).iter())
            .any(|m| decoded(m).contains("DPO-2026-118"));
        if told {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(told, "{:?}", app.mails_to(&staff.recovery_mail));

    // An account not activated yet holds personal data too.
    let waiting = app
        .provision(montpellier_staff("S7302", "Paul", "Leroy"))
        .await
        .expect("provision")
        .account
        .expect("account")
        .account_id;
    let copy = desk
        .export_personal_data_on_request(desk_request("mdupont", &waiting, "DPO-2026-119"))
        .await
        .expect("copy of a waiting account");
    assert!(
        copy.into_inner()
            .copy
            .expect("copy")
            .document_json
            .contains("S7302")
    );
    let nobody = desk
        .export_personal_data_on_request(desk_request(
            "mdupont",
            "00000000-0000-0000-0000-000000000000",
            "DPO-2026-120",
        ))
        .await;
    assert_eq!(nobody.unwrap_err().code(), Code::NotFound);
}
