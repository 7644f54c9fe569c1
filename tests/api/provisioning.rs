//! Provisioning: creation, idempotency, updates, identifier schemes, bad
//! input, collisions under concurrency.

use chrono::Duration;
use ent_identity::proto;
use ent_identity::proto::account_selector::Identifier;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn bordeaux_student_gets_login_key_and_is_idempotent() {
    let app = spawn_app().await;
    let record = proto::ProvisionRecord {
        ine: ine_bea(1234567890),
        ..bordeaux_student("21004567", "Jean", "Martin")
    };
    let first = app.provision(record.clone()).await.expect("provisioned");
    assert_eq!(first.outcome(), proto::ProvisionOutcome::Created);
    let account = first.account.expect("account");
    assert_eq!(account.login, "jmartin001");
    assert_eq!(
        account.institutional_mail,
        "jean.martin@etu.u-bordeaux-montaigne.fr"
    );
    assert_eq!(account.status(), proto::AccountStatus::PreCreated);
    assert_eq!(
        account.supann_ressource_etat_date,
        "{COMPTE}I:SupannPrecree:20260901:"
    );
    assert_eq!(account.kind(), proto::AccountKind::Student);
    let material = first.activation_material.expect("material");
    assert_eq!(material.channel(), proto::ActivationChannel::ActivationKey);
    assert_eq!(material.activation_key.len(), 14, "XXXX-XXXX-XXXX");
    assert!(material.provisional_password.is_empty());
    // Activation opens 24 h after enrolment.
    let opens = material.available_at.expect("available_at");
    assert_eq!(opens.seconds - start_time().timestamp(), 24 * 3600);

    // The same record again changes nothing and issues nothing.
    let again = app
        .provision(record.clone())
        .await
        .expect("provisioned again");
    assert_eq!(again.outcome(), proto::ProvisionOutcome::Unchanged);
    assert!(again.activation_material.is_none());
    assert_eq!(
        again.account.expect("account").account_id,
        account.account_id
    );

    // New data updates the account; the login never changes.
    let moved = proto::ProvisionRecord {
        family_name: "Martin-Durand".into(),
        personal_mail: "jean@example.org".into(),
        ..record
    };
    let updated = app.provision(moved).await.expect("updated");
    assert_eq!(updated.outcome(), proto::ProvisionOutcome::Updated);
    let updated = updated.account.expect("account");
    assert_eq!(updated.login, "jmartin001");
    assert_eq!(updated.family_name, "Martin-Durand");
    assert_eq!(updated.personal_mail, "jean@example.org");
}

#[tokio::test]
async fn activation_opens_after_the_configured_delay() {
    let app = spawn_app().await;
    app.provision(bordeaux_student("21000001", "Anne", "Petit"))
        .await
        .expect("provisioned");
    let by_login = || {
        app.get_account(
            "u-bordeaux-montaigne",
            Identifier::Login("apetit001".into()),
        )
    };
    assert_eq!(
        by_login().await.expect("found").status(),
        proto::AccountStatus::PreCreated
    );
    app.clock
        .advance(Duration::hours(24) - Duration::seconds(1));
    assert_eq!(
        by_login().await.expect("found").status(),
        proto::AccountStatus::PreCreated
    );
    app.clock.advance(Duration::seconds(1));
    let opened = by_login().await.expect("found");
    assert_eq!(opened.status(), proto::AccountStatus::Created);
    assert_eq!(
        opened.supann_ressource_etat_date,
        "{COMPTE}I:SupannCree:20260902:"
    );
}

#[tokio::test]
async fn accounts_are_found_by_every_identifier() {
    let app = spawn_app().await;
    let ine = ine_bea(2345678901);
    let created = app
        .provision(tours_student("22012345", &ine, "07 88 10 25 99"))
        .await
        .expect("provisioned")
        .account
        .expect("account");
    assert_eq!(created.login, "22012345T");
    assert_eq!(created.mobile_phone, "+33788102599");
    assert_eq!(created.institutional_mail, "lea.dubois@etu.univ-tours.fr");
    for identifier in [
        Identifier::AccountId(created.account_id.clone()),
        Identifier::Login("22012345t".into()),
        Identifier::InstitutionalMail("Lea.Dubois@etu.univ-tours.fr".into()),
        Identifier::StudentNumber("22012345".into()),
        Identifier::Ine(ine.to_lowercase()),
    ] {
        let found = app
            .get_account("univ-tours", identifier.clone())
            .await
            .unwrap_or_else(|e| panic!("{identifier:?}: {e}"));
        assert_eq!(found.account_id, created.account_id, "{identifier:?}");
    }
    let missing = app
        .get_account("univ-tours", Identifier::StudentNumber("99999999".into()))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let other_institution = app
        .get_account("umontpellier", Identifier::StudentNumber("22012345".into()))
        .await
        .unwrap_err();
    assert_eq!(other_institution.code(), Code::NotFound);
    let bad_id = app
        .get_account("", Identifier::AccountId("not-a-uuid".into()))
        .await
        .unwrap_err();
    assert_eq!(bad_id.code(), Code::InvalidArgument);
    assert_eq!(violations(&bad_id), ["account.account_id"]);
    let no_institution = app
        .get_account("", Identifier::Login("22012345T".into()))
        .await
        .unwrap_err();
    assert_eq!(violations(&no_institution), ["account.institution"]);
}

#[tokio::test]
async fn montpellier_staff_get_mail_logins_with_collision_suffix_and_provisional_password() {
    let app = spawn_app().await;
    let jane = app
        .provision(montpellier_staff("RH001", "Jane", "Doe"))
        .await
        .expect("jane");
    let account = jane.account.expect("account");
    assert_eq!(account.login, "jane.doe@umontpellier.fr");
    assert_eq!(account.institutional_mail, "jane.doe@umontpellier.fr");
    assert_eq!(account.kind(), proto::AccountKind::Staff);
    assert_eq!(
        account.status(),
        proto::AccountStatus::Created,
        "no delay for staff"
    );
    let material = jane.activation_material.expect("material");
    assert_eq!(
        material.channel(),
        proto::ActivationChannel::ProvisionalPassword
    );
    assert_eq!(material.provisional_password.len(), 12);
    assert!(material.activation_key.is_empty());

    let other = app
        .provision(montpellier_staff("RH002", "Jàne", "DOE"))
        .await
        .expect("second jane");
    assert_eq!(
        other.account.expect("account").login,
        "jane.doe2@umontpellier.fr"
    );

    // Montpellier students: the link channel prints nothing; it opens 15 min later.
    let student = app
        .provision(proto::ProvisionRecord {
            institution: "umontpellier".into(),
            profile: "student".into(),
            student_number: "21912345".into(),
            given_name: "Jane".into(),
            family_name: "Doe".into(),
            birth_date: "2006-01-01".into(),
            personal_mail: "jane@edu.com".into(),
            ..Default::default()
        })
        .await
        .expect("student");
    let account = student.account.expect("account");
    assert_eq!(account.login, "jane.doe@etu.umontpellier.fr");
    let material = student.activation_material.expect("material");
    assert_eq!(material.channel(), proto::ActivationChannel::MailedLink);
    assert!(material.activation_key.is_empty() && material.provisional_password.is_empty());
    assert_eq!(
        material.available_at.expect("available").seconds - start_time().timestamp(),
        15 * 60
    );
}

#[tokio::test]
async fn bad_records_are_refused_field_by_field_and_change_nothing() {
    let app = spawn_app().await;
    let cases: Vec<(proto::ProvisionRecord, Vec<&str>)> = vec![
        (
            proto::ProvisionRecord {
                institution: "nowhere".into(),
                ..bordeaux_student("21000001", "A", "B")
            },
            vec!["record.institution"],
        ),
        (
            proto::ProvisionRecord {
                profile: "teacher".into(),
                ..bordeaux_student("21000001", "A", "B")
            },
            vec!["record.profile"],
        ),
        (
            proto::ProvisionRecord {
                ine: "1234567890A".into(),
                birth_date: "2030-01-01".into(),
                ..bordeaux_student("21000001", "", "B")
            },
            vec!["record.ine", "record.given_name", "record.birth_date"],
        ),
        (
            proto::ProvisionRecord {
                personal_mail: "not-a-mail".into(),
                mobile_phone: "12".into(),
                ..bordeaux_student("2100000X", "A", "B")
            },
            vec![
                "record.student_number",
                "record.mobile_phone",
                "record.personal_mail",
            ],
        ),
        // Tours needs the INE and the phone for its identity match.
        (
            tours_student("22012345", "", ""),
            vec!["record.ine", "record.mobile_phone"],
        ),
        // Montpellier student numbers have 8 digits; the link needs an address.
        (
            proto::ProvisionRecord {
                institution: "umontpellier".into(),
                profile: "student".into(),
                student_number: "123".into(),
                given_name: "A".into(),
                family_name: "B".into(),
                birth_date: "2000-01-01".into(),
                ..Default::default()
            },
            vec!["record.student_number", "record.personal_mail"],
        ),
        (
            proto::ProvisionRecord {
                hr_id: "".into(),
                student_number: "21000001".into(),
                ..montpellier_staff("", "A", "B")
            },
            vec!["record.student_number", "record.hr_id"],
        ),
        (
            proto::ProvisionRecord {
                given_name: "<script>".into(),
                ..bordeaux_student("21000001", "", "B")
            },
            vec!["record.given_name"],
        ),
    ];
    for (record, expected) in cases {
        let status = app.provision(record.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{record:?}");
        assert_eq!(violations(&status), expected, "{record:?}");
    }
    let missing = app
        .lifecycle
        .clone()
        .provision_account(proto::ProvisionAccountRequest {
            reissue_pending_material: false,
            record: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&missing), ["record"]);
    assert!(app.all_changes().await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn an_ine_held_by_another_account_is_refused() {
    let app = spawn_app().await;
    let ine = ine_bea(3456789012);
    app.provision(tours_student("22000001", &ine, "+33788102599"))
        .await
        .expect("first");
    let status = app
        .provision(tours_student("22000002", &ine, "+33788102598"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert_eq!(violations(&status), ["record.ine"]);
    assert_eq!(app.all_changes().await.len(), 1);
}

#[tokio::test]
async fn concurrent_namesakes_get_distinct_logins() {
    let app = spawn_app().await;
    let calls = (0..24).map(|i| {
        let app = &app;
        async move {
            app.provision(bordeaux_student(&format!("2200{i:04}"), "Jean", "Martin"))
                .await
                .expect("provisioned")
                .account
                .expect("account")
                .login
        }
    });
    let mut logins = futures::future::join_all(calls).await;
    logins.sort();
    let expected: Vec<String> = (1..=24).map(|n| format!("jmartin{n:03}")).collect();
    assert_eq!(logins, expected);
}

#[tokio::test]
async fn concurrent_copies_of_one_record_create_one_account() {
    let app = spawn_app().await;
    let record = montpellier_staff("RH-77", "Paul", "Roux");
    let calls = (0..12).map(|_| {
        let app = &app;
        let record = record.clone();
        async move { app.provision(record).await.expect("provisioned") }
    });
    let results = futures::future::join_all(calls).await;
    let created = results
        .iter()
        .filter(|r| r.outcome() == proto::ProvisionOutcome::Created)
        .count();
    assert_eq!(created, 1);
    let ids: std::collections::HashSet<_> = results
        .iter()
        .map(|r| r.account.as_ref().expect("account").account_id.clone())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.all_changes().await.len(), 1);
}

#[tokio::test]
async fn activation_material_can_be_reissued_before_activation() {
    let app = spawn_app().await;
    let first = app
        .provision(bordeaux_student("21000042", "Zoé", "Lefèvre"))
        .await
        .expect("provisioned");
    let account = first.account.expect("account");
    assert_eq!(account.login, "zlefevre001");
    let old_key = first.activation_material.expect("material").activation_key;
    let reissued = app
        .lifecycle
        .clone()
        .reissue_activation_material(proto::ReissueActivationMaterialRequest {
            account: Some(proto::AccountSelector {
                institution: "u-bordeaux-montaigne".into(),
                identifier: Some(Identifier::Login("zlefevre001".into())),
            }),
        })
        .await
        .expect("reissued")
        .into_inner();
    let new_key = reissued
        .activation_material
        .expect("material")
        .activation_key;
    assert_eq!(new_key.len(), 14);
    assert_ne!(new_key, old_key);

    let link_student = app
        .provision(proto::ProvisionRecord {
            institution: "umontpellier".into(),
            profile: "student".into(),
            student_number: "21912399".into(),
            given_name: "Ali".into(),
            family_name: "Ben".into(),
            birth_date: "2006-01-01".into(),
            personal_mail: "ali@example.org".into(),
            ..Default::default()
        })
        .await
        .expect("student");
    let status = app
        .lifecycle
        .clone()
        .reissue_activation_material(proto::ReissueActivationMaterialRequest {
            account: Some(proto::AccountSelector {
                institution: String::new(),
                identifier: Some(Identifier::AccountId(
                    link_student.account.expect("account").account_id,
                )),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn no_material_is_reissued_for_a_locked_account() {
    let app = spawn_app().await;
    app.provision(bordeaux_student("21000077", "Paul", "Valéry"))
        .await
        .expect("provisioned");
    let store = app.store().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        store.connection(),
        "UPDATE accounts SET status = 'locked' WHERE student_number = '21000077'",
    )
    .await
    .expect("lock behind the server's back");
    let status = app
        .lifecycle
        .clone()
        .reissue_activation_material(proto::ReissueActivationMaterialRequest {
            account: Some(proto::AccountSelector {
                institution: "u-bordeaux-montaigne".into(),
                identifier: Some(Identifier::Login("pvalery001".into())),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}
