//! The seeds' activation journeys end to end over gRPC, reading the
//! delivered mail and SMS, and every refusal on the way.

use chrono::Duration;
use ent_identity::proto;
use ent_identity::proto::ActivationStep as S;
use ent_identity::proto::account_selector::Identifier;
use ent_identity::proto::start_activation_request::Entry;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

fn minutes(m: i64) -> Duration {
    Duration::minutes(m)
}

async fn start(
    app: &TestApp,
    institution: &str,
    entry: Entry,
) -> Result<proto::StartActivationResponse, tonic::Status> {
    start_on(app.conn(), institution, entry).await
}

async fn start_on(
    conn: Conn,
    institution: &str,
    entry: Entry,
) -> Result<proto::StartActivationResponse, tonic::Status> {
    proto::activation_service_client::ActivationServiceClient::new(conn)
        .start_activation(proto::StartActivationRequest {
            institution: institution.into(),
            entry: Some(entry),
        })
        .await
        .map(|r| r.into_inner())
}

async fn submit(
    app: &TestApp,
    request: proto::SubmitActivationScreenRequest,
) -> Result<proto::SubmitActivationScreenResponse, tonic::Status> {
    app.activation()
        .submit_activation_screen(request)
        .await
        .map(|r| r.into_inner())
}

async fn verify(
    app: &TestApp,
    token: &str,
    code: &str,
) -> Result<proto::ActivationFlow, tonic::Status> {
    app.activation()
        .verify_activation_code(proto::VerifyActivationCodeRequest {
            flow_token: token.into(),
            code: code.into(),
        })
        .await
        .map(|r| r.into_inner().flow.expect("flow"))
}

fn screen(flow: &proto::ActivationFlow) -> Vec<S> {
    flow.screens[flow.current_screen as usize]
        .steps
        .iter()
        .map(|s| S::try_from(*s).expect("step"))
        .collect()
}

/// Tours' first connection: student number, INE and mobile phone.
fn tours_entry(student_number: &str, ine: &str, mobile_phone: &str) -> Entry {
    Entry::IdentityMatch(proto::IdentityMatchEntry {
        student_number: student_number.into(),
        ine: ine.into(),
        mobile_phone: mobile_phone.into(),
        ..Default::default()
    })
}

fn mail(address: &str) -> Option<proto::MailInput> {
    Some(proto::MailInput {
        address: address.into(),
        confirmation: address.into(),
    })
}

fn password(p: &str) -> Option<proto::PasswordInput> {
    Some(proto::PasswordInput {
        password: p.into(),
        confirmation: p.into(),
    })
}

fn charter(version: &str) -> Option<proto::CharterAcceptance> {
    Some(proto::CharterAcceptance {
        version: version.into(),
        accepted: true,
    })
}

async fn account(app: &TestApp, institution: &str, id: &str) -> proto::Account {
    app.get_account(institution, Identifier::AccountId(id.into()))
        .await
        .expect("account")
}

#[tokio::test]
async fn bordeaux_montaigne_student_activates_with_the_key_of_the_certificate() {
    let app = spawn_app().await;
    let provisioned = app
        .provision(bordeaux_student("21900001", "Jeanne", "Martin"))
        .await
        .expect("provision");
    let id = provisioned.account.expect("account").account_id;
    let key = provisioned
        .activation_material
        .expect("material")
        .activation_key;
    let login = "jmartin001";
    let entry = |k: &str| {
        Entry::Key(proto::KeyEntry {
            login: login.into(),
            activation_key: k.into(),
        })
    };

    // "attendu 24 heures": refused before, saying when it opens.
    let early = start(&app, "u-bordeaux-montaigne", entry(&key))
        .await
        .unwrap_err();
    assert_eq!(precondition(&early), "ACTIVATION_NOT_OPEN");
    assert!(
        early.message().contains("2026-09-02T08:00:00Z"),
        "{}",
        early.message()
    );
    // Issue 20: the person reads when, in Bordeaux's time, in French.
    let localized = early
        .get_details_localized_message()
        .expect("localized")
        .message;
    assert_eq!(
        localized,
        "L'activation de ce compte ouvrira le 02/09/2026 à 10h00."
    );
    app.clock.advance(Duration::hours(24));

    let wrong = start(&app, "u-bordeaux-montaigne", entry("AAAA-AAAA-AAAA"))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);

    // The key is typed loosely (lower case, spaces).
    let started = start(
        &app,
        "u-bordeaux-montaigne",
        entry(&key.to_lowercase().replace('-', " ")),
    )
    .await
    .expect("start");
    let token = started.flow_token;
    let flow = started.flow.expect("flow");
    assert_eq!(flow.login, login);
    assert_eq!(flow.screens.len(), 4);
    assert_eq!(screen(&flow), vec![S::PhotoUse, S::DirectoryListing]);
    // Issue 20: everything a page renders comes with the flow, in
    // Bordeaux Montaigne's words.
    let info = flow.institution_info.clone().expect("institution");
    assert_eq!(info.name, "Université Bordeaux Montaigne");
    assert_eq!(info.time_zone, "Europe/Paris");
    assert!(info.helpdesk_url.starts_with("https://"));
    let first = &flow.screens[flow.current_screen as usize];
    assert_eq!(first.title, "Utilisation de la photo");
    let photo = &first.items[0];
    let rule = photo.choice.clone().expect("photo choice rule");
    assert!(rule.multiple);
    assert_eq!(rule.exclusive_values, ["refuse"]);
    assert_eq!(
        rule.acknowledgement_field,
        "photo.irreversibility_acknowledged"
    );
    assert!(
        photo
            .fields
            .iter()
            .any(|f| f.name == rule.acknowledgement_field && f.label.contains("irréversible"))
    );
    let last = &flow.screens[3];
    let recovery = last
        .items
        .iter()
        .find(|i| i.step == S::RecoveryMail as i32)
        .expect("recovery item");
    assert!(
        recovery
            .intro
            .starts_with("Si vous possédez une adresse mail personnelle")
    );
    // Optional at Bordeaux: a page knows it may leave it out.
    assert!(recovery.fields.iter().all(|f| !f.required));
    let password_item = last
        .items
        .iter()
        .find(|i| i.step == S::Password as i32)
        .expect("password item");
    let typed = &password_item.fields[0];
    assert_eq!(typed.name, "password.password");
    assert_eq!(typed.min_length, 10);
    assert_eq!(typed.autocomplete, "new-password");
    assert!(
        flow.choices
            .iter()
            .any(|c| c.value == "refuse" && c.caveat.contains("irréversible"))
    );
    assert!(
        flow.choices
            .iter()
            .any(|c| c.step == S::CrousSharing as i32 && c.caveat.contains("Crous"))
    );
    // The directory in Bordeaux Montaigne's own words (its configuration).
    assert!(
        flow.choices
            .iter()
            .any(|c| c.step == S::DirectoryListing as i32
                && c.value == "true"
                && c.label.contains("annuaire du bureau virtuel"))
    );
    assert_eq!(flow.password_rules.as_ref().expect("rules").min_length, 10);

    // Out of order: the charter is on the last screen.
    let out_of_order = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            charter: charter("2025-09"),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(out_of_order.code(), Code::InvalidArgument);
    assert!(violations(&out_of_order).contains(&"charter".to_owned()));

    // Refusing the photo must be acknowledged as irreversible.
    let unacknowledged = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            photo: Some(proto::PhotoChoice {
                uses: vec![],
                refuse: true,
                irreversibility_acknowledged: false,
            }),
            directory_listed: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(violations(&unacknowledged).contains(&"photo.irreversibility_acknowledged".to_owned()));

    let flow = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            photo: Some(proto::PhotoChoice {
                uses: vec![
                    proto::PhotoUse::CardReprint as i32,
                    proto::PhotoUse::PhotoDirectory as i32,
                ],
                refuse: false,
                irreversibility_acknowledged: false,
            }),
            directory_listed: Some(false),
            ..Default::default()
        },
    )
    .await
    .expect("photo and directory")
    .flow
    .expect("flow");
    assert_eq!(screen(&flow), vec![S::CrousSharing]);
    // The same screen again (a double click) changes nothing; other answers
    // to a screen already done are refused.
    let repeated = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            photo: Some(proto::PhotoChoice {
                uses: vec![
                    proto::PhotoUse::PhotoDirectory as i32,
                    proto::PhotoUse::CardReprint as i32,
                ],
                refuse: false,
                irreversibility_acknowledged: false,
            }),
            directory_listed: Some(false),
            ..Default::default()
        },
    )
    .await
    .expect("repeated screen")
    .flow
    .expect("flow");
    assert_eq!(screen(&repeated), vec![S::CrousSharing]);
    let changed = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            directory_listed: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(changed.code(), Code::InvalidArgument);
    submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            crous_sharing: Some(true),
            ..Default::default()
        },
    )
    .await
    .expect("crous");

    // Charter, password and recovery address on one screen.
    let mismatch = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            charter: charter("2025-09"),
            password: Some(proto::PasswordInput {
                password: "Garonne#2026!".into(),
                confirmation: "Garonne#2026?".into(),
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(mismatch.code(), Code::InvalidArgument);
    // Issue 20: every problem of the screen in one answer, each worded in
    // the person's language for the page to show next to its field.
    let in_french = |request: proto::SubmitActivationScreenRequest| {
        let mut request = tonic::Request::new(request);
        request
            .metadata_mut()
            .insert("accept-language", "fr-FR".parse().expect("ascii"));
        let mut client = app.activation();
        async move { client.submit_activation_screen(request).await.unwrap_err() }
    };
    let everything_wrong = in_french(proto::SubmitActivationScreenRequest {
        flow_token: token.clone(),
        charter: Some(proto::CharterAcceptance {
            version: "2025-09".into(),
            accepted: false,
        }),
        password: Some(proto::PasswordInput {
            password: "Garonne#2026!".into(),
            confirmation: "Garonne#2026?".into(),
        }),
        recovery_mail: Some(proto::MailInput {
            address: "jeanne.martin@example.org".into(),
            confirmation: "jeanne.martin@exemple.org".into(),
        }),
        ..Default::default()
    })
    .await;
    let mut fields = violations(&everything_wrong);
    fields.sort();
    assert_eq!(
        fields,
        ["charter.accepted", "password", "recovery_mail.confirmation"]
    );
    let descriptions: Vec<String> = everything_wrong
        .get_details_bad_request()
        .expect("bad request")
        .field_violations
        .into_iter()
        .map(|v| v.description)
        .collect();
    for french in [
        "Acceptez la charte pour continuer.",
        "Les deux adresses sont différentes.",
    ] {
        assert!(descriptions.iter().any(|d| d == french), "{descriptions:?}");
    }
    // A weak password and an unchecked charter: both, the password's rules
    // named for programs.
    let weak_and_unchecked = in_french(proto::SubmitActivationScreenRequest {
        flow_token: token.clone(),
        charter: Some(proto::CharterAcceptance {
            version: "2025-09".into(),
            accepted: false,
        }),
        password: password("motdepasse"),
        ..Default::default()
    })
    .await;
    let fields = violations(&weak_and_unchecked);
    assert!(
        fields.contains(&"charter.accepted".to_owned()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"password.password".to_owned()),
        "{fields:?}"
    );
    assert_eq!(
        weak_and_unchecked
            .get_details_error_info()
            .expect("rules named")
            .reason,
        "PASSWORD_REJECTED"
    );
    let weak = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            charter: charter("2025-09"),
            password: password("motdepasse"),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(weak.code(), Code::InvalidArgument);
    let before = account(&app, "u-bordeaux-montaigne", &id).await;
    assert_eq!(before.status, proto::AccountStatus::Created as i32);

    let last = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            charter: charter("2025-09"),
            password: password("Garonne#2026!"),
            recovery_mail: mail("jeanne.martin@example.org"),
            ..Default::default()
        },
    )
    .await
    .expect("last screen");
    // The recovery address is confirmed after activation: the portal tells
    // the student a link was mailed.
    let notice = last.notice.expect("confirmation link notice");
    assert_eq!(notice.masked_destination, "j************@e******.org");
    let done = last.flow.expect("flow");
    let completion = done.completion.clone().expect("completed");
    assert_eq!(completion.login, login);
    // Issue 20: a page reading screens[current_screen] finds the
    // completed step, not the end of the list.
    assert_eq!(done.current_screen as usize, done.screens.len() - 1);
    assert_eq!(screen(&done), vec![S::Completed]);

    let active = account(&app, "u-bordeaux-montaigne", &id).await;
    assert_eq!(active.status, proto::AccountStatus::Active as i32);
    // Not a recovery address until confirmed.
    assert_eq!(active.recovery_mail, "");
    let confirmation = app.wait_for_mail_to("jeanne.martin@example.org", 1).await;
    let confirmed = app
        .account_settings()
        .confirm_recovery_mail_change(proto::ConfirmRecoveryMailChangeRequest {
            token: link_token(&confirmation, "account/recovery-mail"),
        })
        .await
        .expect("confirm")
        .into_inner();
    assert_eq!(confirmed.recovery_mail, "jeanne.martin@example.org");
    let active = account(&app, "u-bordeaux-montaigne", &id).await;
    assert_eq!(active.recovery_mail, "jeanne.martin@example.org");
    // The finished flow keeps no copy of the password hash.
    let finished = app
        .store()
        .await
        .flow_by_id(
            &done.flow_id,
            ent_identity::app::clock::Clock::now(&app.clock),
        )
        .await
        .expect("read")
        .expect("flow");
    assert!(finished.flow.completed_at.is_some());
    assert!(finished.state.password_hash.is_none());
    let consents = active.consents.expect("consents");
    assert_eq!(consents.charter_version, "2025-09");
    assert_eq!(consents.directory_listed, Some(false));
    assert_eq!(consents.crous_sharing, Some(true));
    assert_eq!(consents.photo_uses.len(), 2);
    assert!(!consents.photo_refused);

    // The key is spent: a second activation is refused, saying why.
    let again = start(&app, "u-bordeaux-montaigne", entry(&key))
        .await
        .unwrap_err();
    assert_eq!(precondition(&again), "ALREADY_ACTIVE");
    // And the password works.
    let verified = app
        .account_settings()
        .verify_password(proto::VerifyPasswordRequest {
            account: Some(proto::AccountSelector {
                institution: String::new(),
                identifier: Some(Identifier::AccountId(id.clone())),
            }),
            password: "Garonne#2026!".into(),
        })
        .await
        .expect("verify")
        .into_inner();
    assert!(verified.valid);
}

#[tokio::test]
async fn wrong_keys_never_destroy_the_printed_key() {
    // Finding 2 of issue 19: five wrong keys for a predictable login, from
    // a browser, invalidated the key printed on the student's certificate.
    let app = spawn_app().await;
    let provisioned = app
        .provision(bordeaux_student("21900002", "Paul", "Durand"))
        .await
        .expect("provision");
    let key = provisioned
        .activation_material
        .expect("material")
        .activation_key;
    app.clock.advance(Duration::hours(24));
    let entry = |k: &str| {
        Entry::Key(proto::KeyEntry {
            login: "pdurand001".into(),
            activation_key: k.into(),
        })
    };
    // Thirty wrong keys from thirty addresses, each waiting out the delay
    // the previous ones imposed.
    for n in 0..30 {
        let conn = app.portal_for(&format!("198.51.100.{n}"));
        let refused = start_on(conn, "u-bordeaux-montaigne", entry("BBBB-BBBB-BBBB"))
            .await
            .unwrap_err();
        match refused.code() {
            Code::InvalidArgument => {}
            Code::ResourceExhausted => {
                let wait = refused
                    .get_details_retry_info()
                    .and_then(|r| r.retry_delay)
                    .expect("RetryInfo");
                assert!(wait <= std::time::Duration::from_secs(15 * 60), "{wait:?}");
                app.clock.advance(Duration::from_std(wait).expect("wait"));
            }
            other => panic!("attempt {n}: {other:?} {refused:?}"),
        }
    }
    // The student, once the current wait is over, still activates with
    // the key on paper.
    app.clock.advance(Duration::minutes(15));
    start(&app, "u-bordeaux-montaigne", entry(&key))
        .await
        .expect("the printed key still works");
}

/// Montpellier staff up to the redirect screen: provisional password,
/// recovery mail verified through the mailed link in another browser.
/// The flow's token, the account's id and login, and the other browser's
/// handle on the flow.
async fn montpellier_staff_until_redirect(
    app: &TestApp,
    profile: &str,
    hr_id: &str,
) -> (String, String, String, String) {
    let mut record = montpellier_staff(hr_id, "Jane", "Doe");
    record.profile = profile.into();
    let provisioned = app.provision(record).await.expect("provision");
    let account = provisioned.account.expect("account");
    let provisional = provisioned
        .activation_material
        .expect("material")
        .provisional_password;
    let started = start(
        app,
        "umontpellier",
        Entry::ProvisionalPassword(proto::ProvisionalPasswordEntry {
            login: account.login.clone(),
            provisional_password: provisional,
        }),
    )
    .await
    .expect("start");
    let token = started.flow_token;
    assert_eq!(screen(&started.flow.expect("flow")), vec![S::RecoveryMail]);

    // The two addresses must match.
    let typo = submit(
        app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            recovery_mail: Some(proto::MailInput {
                address: "jane.doe@edu.com".into(),
                confirmation: "jane.doe@edu.con".into(),
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        violations(&typo),
        vec!["recovery_mail.confirmation".to_owned()]
    );

    // A first address, then "Modifier l'adresse mail de secours" while
    // its link is pending: the new address replaces it and the first link
    // stops working.
    submit(
        app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            recovery_mail: mail("jane.doe@edu.org"),
            ..Default::default()
        },
    )
    .await
    .expect("first recovery mail");
    let sent = submit(
        app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            recovery_mail: mail("jane.doe@edu.com"),
            ..Default::default()
        },
    )
    .await
    .expect("changed recovery mail");
    let first_link = link_token(&app.wait_for_mail_to("jane.doe@edu.org", 1).await, "verify");
    let replaced = app
        .activation()
        .confirm_activation_link(proto::ConfirmActivationLinkRequest { token: first_link })
        .await
        .unwrap_err();
    assert_eq!(precondition(&replaced), "LINK_EXPIRED");
    let notice = sent.notice.expect("notice");
    assert_eq!(notice.masked_destination, "j*******@e**.com");
    // "valide le jour même jusqu'à 23h59" (Paris, summer time).
    assert_eq!(
        notice.expires_at.expect("expiry").seconds,
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 9, 1, 21, 59, 59)
            .unwrap()
            .timestamp()
    );
    let flow = sent.flow.expect("flow");
    assert_eq!(screen(&flow), vec![S::RecoveryMailVerification]);

    // Resend is rate limited.
    let resend = app
        .activation()
        .resend_activation_message(proto::ResendActivationMessageRequest {
            channel: proto::CodeChannel::Unspecified as i32,
            flow_token: token.clone(),
            kind: proto::ActivationMessageKind::RecoveryMailVerification as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(resend.code(), Code::ResourceExhausted);

    // Moving on without verifying is refused.
    let skipped = submit(
        app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            charter: charter("2024-01"),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(skipped.code(), Code::InvalidArgument);

    // The link opens in another browser: it spends nothing until confirmed.
    let mail_text = app.wait_for_mail_to("jane.doe@edu.com", 1).await;
    let link = link_token(&mail_text, "verify");
    let opened = app
        .activation()
        .confirm_activation_link(proto::ConfirmActivationLinkRequest {
            token: link.clone(),
        })
        .await
        .expect("open link")
        .into_inner();
    let again = app
        .activation()
        .confirm_activation_link(proto::ConfirmActivationLinkRequest {
            token: link.clone(),
        })
        .await
        .expect("a mail scanner opening it first does no harm");
    drop(again);
    let flow = verify(app, &opened.flow_token, &link)
        .await
        .expect("confirm");
    assert_eq!(screen(&flow), vec![S::Charter]);
    // A used link sends back to the start.
    let reused = app
        .activation()
        .confirm_activation_link(proto::ConfirmActivationLinkRequest { token: link })
        .await
        .unwrap_err();
    assert_eq!(precondition(&reused), "LINK_EXPIRED");

    submit(
        app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            charter: charter("2024-01"),
            ..Default::default()
        },
    )
    .await
    .expect("charter");
    let flow = submit(
        app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            directory_listed: Some(true),
            ..Default::default()
        },
    )
    .await
    .expect("directory")
    .flow
    .expect("flow");
    assert_eq!(screen(&flow), vec![S::MailRedirect]);
    assert_eq!(flow.mail_redirect_default_address, "jane.doe@edu.com");
    (token, account.account_id, account.login, opened.flow_token)
}

#[tokio::test]
async fn montpellier_staff_activates_with_a_verified_redirect_keeping_a_copy() {
    let app = spawn_app().await;
    let (token, id, login, other_browser) =
        montpellier_staff_until_redirect(&app, "staff_tenured", "H0001").await;
    let sent = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            mail_redirect: Some(proto::RedirectInput {
                enabled: true,
                address: mail("jane.doe@gouv.fr"),
                keep_copy: true,
            }),
            ..Default::default()
        },
    )
    .await
    .expect("redirect");
    assert_eq!(
        screen(&sent.flow.expect("flow")),
        vec![S::MailRedirectVerification]
    );
    let mail_text = app.wait_for_mail_to("jane.doe@gouv.fr", 1).await;
    let wrong = verify(&app, &token, "00000000").await.unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
    let flow = verify(&app, &token, &code_in(&mail_text))
        .await
        .expect("code");
    assert_eq!(screen(&flow), vec![S::Password]);

    // "ne doit pas contenir un mot du dictionnaire ; [...] votre nom".
    let refused = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            password: password("Soleil2026x"),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let done = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            password: password("Kq7zWx9Tbp2"),
            ..Default::default()
        },
    )
    .await
    .expect("password")
    .flow
    .expect("flow");
    let completion = done.completion.expect("completed");
    assert_eq!(completion.login, login);
    assert_eq!(completion.login, "jane.doe@umontpellier.fr");
    // The browser the verification link was opened in sees the completion
    // too: its handle lives as long as the flow.
    let seen = app
        .activation()
        .get_activation_flow(proto::GetActivationFlowRequest {
            flow_token: other_browser,
        })
        .await
        .expect("the other browser's handle still works")
        .into_inner();
    assert_eq!(
        seen.flow.and_then(|f| f.completion).map(|c| c.login),
        Some(login.clone())
    );
    let redirect = completion.mail_redirect.expect("redirect");
    assert_eq!(redirect.address, "jane.doe@gouv.fr");
    assert!(redirect.keep_copy && redirect.verified && !redirect.mandatory);

    let active = account(&app, "umontpellier", &id).await;
    assert_eq!(active.status, proto::AccountStatus::Active as i32);
    assert_eq!(active.recovery_mail, "jane.doe@edu.com");
    // Support can follow the journey in the audit trail.
    let actions: Vec<String> = app
        .lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            institution: "umontpellier".into(),
            account: Some(proto::AccountSelector {
                institution: String::new(),
                identifier: Some(Identifier::AccountId(id.clone())),
            }),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("audit")
        .into_inner()
        .events
        .into_iter()
        .map(|e| e.action)
        .collect();
    for action in [
        "activation.started",
        "activation.screen_submitted",
        "activation.verified",
        "account.activated",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} missing from {actions:?}"
        );
    }
    assert!(active.recovery_mail_verified_at.is_some());
    assert_eq!(
        active.consents.expect("consents").directory_listed,
        Some(true)
    );
    // The flow is over; resubmitting the last screen changes nothing.
    let repeat = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token,
            password: password("Kq7zWx9Tbp2"),
            ..Default::default()
        },
    )
    .await
    .expect("idempotent");
    assert!(repeat.flow.expect("flow").completion.is_some());
}

#[tokio::test]
async fn montpellier_vacataire_must_redirect() {
    let app = spawn_app().await;
    let (token, id, _, _) = montpellier_staff_until_redirect(&app, "vacataire", "V0001").await;
    let declined = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            mail_redirect: Some(proto::RedirectInput {
                enabled: false,
                address: None,
                keep_copy: false,
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(violations(&declined).contains(&"mail_redirect.enabled".to_owned()));
    // To the verified recovery address: no second link.
    let flow = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            mail_redirect: Some(proto::RedirectInput {
                enabled: true,
                address: mail("jane.doe@edu.com"),
                keep_copy: false,
            }),
            ..Default::default()
        },
    )
    .await
    .expect("redirect")
    .flow
    .expect("flow");
    assert!(flow.mail_redirect_mandatory);
    assert_eq!(screen(&flow), vec![S::Password]);
    let done = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token,
            password: password("Kq7zWx9Tbp2"),
            ..Default::default()
        },
    )
    .await
    .expect("password")
    .flow
    .expect("flow");
    let redirect = done
        .completion
        .expect("completed")
        .mail_redirect
        .expect("redirect");
    assert!(redirect.mandatory && redirect.verified);
    let stored = account(&app, "umontpellier", &id)
        .await
        .mail_redirect
        .expect("redirect");
    assert!(stored.enabled && stored.mandatory && stored.verified);
    assert_eq!(stored.address, "jane.doe@edu.com");
}

#[tokio::test]
async fn montpellier_student_follows_the_mailed_link_and_regenerates_it() {
    let app = spawn_app().await;
    let provisioned = app
        .provision(proto::ProvisionRecord {
            institution: "umontpellier".into(),
            profile: "student".into(),
            student_number: "22012345".into(),
            given_name: "Hugo".into(),
            family_name: "Bernard".into(),
            birth_date: "2006-04-01".into(),
            personal_mail: "hugo.bernard@example.org".into(),
            ..Default::default()
        })
        .await
        .expect("provision");
    let account_id = provisioned.account.expect("account").account_id;
    // Mailed when activation opens, 15 minutes after enrolment.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mails_to("hugo.bernard@example.org").is_empty());
    app.clock.advance(minutes(16));
    let first = link_token(
        &app.wait_for_mail_to("hugo.bernard@example.org", 1).await,
        "link",
    );

    // Valid 24 hours: afterwards, back to the start.
    app.clock.advance(Duration::hours(25));
    let expired = start(
        &app,
        "umontpellier",
        Entry::Link(proto::LinkEntry {
            token: first.clone(),
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(precondition(&expired), "LINK_EXPIRED");

    // "1ère connexion": a new link from the login; the same answer for an
    // unknown login.
    let unknown = app
        .activation()
        .request_activation_link(proto::RequestActivationLinkRequest {
            institution: "umontpellier".into(),
            login: "nobody@etu.umontpellier.fr".into(),
        })
        .await
        .expect("unknown login")
        .into_inner();
    let known = app
        .activation()
        .request_activation_link(proto::RequestActivationLinkRequest {
            institution: "umontpellier".into(),
            login: "hugo.bernard@etu.umontpellier.fr".into(),
        })
        .await
        .expect("known login")
        .into_inner();
    assert_eq!(unknown, known);
    app.wait_for_mail_to("hugo.bernard@example.org", 2).await;
    let second = app
        .mails_to("hugo.bernard@example.org")
        .iter()
        .map(|m| link_token(m, "link"))
        .find(|t| *t != first)
        .expect("a second link");
    assert_ne!(first, second);

    let started = start(
        &app,
        "umontpellier",
        Entry::Link(proto::LinkEntry {
            token: second.clone(),
        }),
    )
    .await
    .expect("start");
    let token = started.flow_token;
    let flow = started.flow.expect("flow");
    assert_eq!(screen(&flow), vec![S::Charter]);
    // The address the link went to is the verified recovery address.
    assert_eq!(
        flow.mail_redirect_default_address,
        "hugo.bernard@example.org"
    );
    // Resuming the flow.
    let resumed = app
        .activation()
        .get_activation_flow(proto::GetActivationFlowRequest {
            flow_token: token.clone(),
        })
        .await
        .expect("get")
        .into_inner()
        .flow
        .expect("flow");
    assert_eq!(resumed.flow_id, flow.flow_id);
    for request in [
        proto::SubmitActivationScreenRequest {
            charter: charter("2024-01"),
            ..Default::default()
        },
        proto::SubmitActivationScreenRequest {
            mail_redirect: Some(proto::RedirectInput {
                enabled: false,
                address: None,
                keep_copy: false,
            }),
            ..Default::default()
        },
        proto::SubmitActivationScreenRequest {
            password: password("Hibou-Lune-42"),
            ..Default::default()
        },
    ] {
        submit(
            &app,
            proto::SubmitActivationScreenRequest {
                flow_token: token.clone(),
                ..request
            },
        )
        .await
        .expect("screen");
    }
    let active = account(&app, "umontpellier", &account_id).await;
    assert_eq!(active.status, proto::AccountStatus::Active as i32);
    assert_eq!(active.recovery_mail, "hugo.bernard@example.org");
    // The link is used: following it again sends back to the start.
    let reused = start(
        &app,
        "umontpellier",
        Entry::Link(proto::LinkEntry { token: second }),
    )
    .await
    .unwrap_err();
    assert_eq!(precondition(&reused), "LINK_EXPIRED");
}

#[tokio::test]
async fn tours_student_activates_with_an_sms_code() {
    let app = spawn_app().await;
    let ine = ine_bea(1234567890);
    let mut record = tours_student("22012345", &ine, "07 88 10 25 99");
    record.personal_mail = "lea.dubois@example.org".into();
    let provisioned = app.provision(record).await.expect("provision");
    let id = provisioned.account.expect("account").account_id;
    let entry = |phone: &str| {
        Entry::IdentityMatch(proto::IdentityMatchEntry {
            student_number: "22012345".into(),
            ine: ine.clone(),
            mobile_phone: phone.into(),
            ..Default::default()
        })
    };
    // Checked for consistency with the enrolment record.
    let mismatch = start(&app, "univ-tours", entry("+33611111111"))
        .await
        .unwrap_err();
    assert_eq!(mismatch.code(), Code::InvalidArgument);
    assert!(app.sms().is_empty());

    let started = start(&app, "univ-tours", entry("+33788102599"))
        .await
        .expect("start");
    let token = started.flow_token;
    let flow = started.flow.expect("flow");
    assert_eq!(screen(&flow), vec![S::VerifyCode]);
    let pending = flow.pending_verification.expect("pending");
    let notice = pending.notice.expect("notice");
    assert_eq!(notice.masked_destination, "+33*****2599");
    // Issue 20: the code was mailed too, and the screen can say so.
    assert_eq!(notice.also_sent_to.len(), 1, "{notice:?}");
    assert!(
        notice.also_sent_to[0].ends_with(".org") && !notice.also_sent_to[0].contains("dubois"),
        "{notice:?}"
    );
    let viewed = app
        .activation()
        .get_activation_flow(proto::GetActivationFlowRequest {
            flow_token: token.clone(),
        })
        .await
        .expect("flow")
        .into_inner()
        .flow
        .expect("flow");
    assert_eq!(
        viewed
            .pending_verification
            .expect("pending")
            .notice
            .expect("notice")
            .also_sent_to,
        notice.also_sent_to
    );
    let sms = app.wait_for_sms(1).await;
    assert_eq!(sms[0].0, "+33788102599");
    let code = code_in(&sms[0].1);
    // The same code by mail.
    let mailed = app.wait_for_mail_to("lea.dubois@example.org", 1).await;
    assert_eq!(code_in(&mailed), code);

    // The password cannot come before the code.
    let early = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            password: password("Tours2026!x"),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(early.code(), Code::InvalidArgument);

    // Five wrong codes invalidate it.
    for attempt in 1..=5 {
        let wrong = verify(&app, &token, "11111111").await.unwrap_err();
        if attempt < 5 {
            assert_eq!(wrong.code(), Code::InvalidArgument);
        } else {
            assert_eq!(precondition(&wrong), "TOO_MANY_ATTEMPTS");
        }
    }
    let dead = verify(&app, &token, &code).await.unwrap_err();
    assert_eq!(precondition(&dead), "CODE_EXPIRED");

    // A new code after the cooldown.
    app.clock.advance(minutes(2));
    app.activation()
        .resend_activation_message(proto::ResendActivationMessageRequest {
            channel: proto::CodeChannel::Unspecified as i32,
            flow_token: token.clone(),
            kind: proto::ActivationMessageKind::IdentityCode as i32,
        })
        .await
        .expect("resend");
    let sms = app.wait_for_sms(2).await;
    let code = code_in(&sms[1].1);
    let flow = verify(&app, &token, &code).await.expect("code");
    assert_eq!(screen(&flow), vec![S::Password]);
    let rules = flow.password_rules.expect("rules");
    assert_eq!(
        (rules.min_length, rules.history_count, rules.max_age_days),
        (8, 5, 365)
    );
    assert!(
        rules
            .descriptions
            .contains(&"Le mot de passe ne doit pas être l'un de vos 5 derniers.".to_owned()),
        "{:?}",
        rules.descriptions
    );

    let done = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: token,
            password: password("Loire-37-Tours"),
            ..Default::default()
        },
    )
    .await
    .expect("password")
    .flow
    .expect("flow");
    // Issue 20: the last screen in Tours' own words ("Écran 4").
    let last = &done.screens[done.current_screen as usize];
    assert_eq!(last.title, "Mot de passe initialisé avec succès");
    assert!(last.intro.contains("22012345T"), "{}", last.intro);
    let completion = done.completion.expect("completed");
    assert_eq!(completion.login, "22012345T");
    assert_eq!(completion.next_url, "https://pjweb.univ-tours.fr/");
    assert_eq!(completion.next_label, "Continuez votre inscription ici");
    let active = account(&app, "univ-tours", &id).await;
    assert_eq!(active.status, proto::AccountStatus::Active as i32);
    assert!(active.password_expires_at.is_some());
}

#[tokio::test]
async fn unknown_or_expired_flows_are_not_found() {
    let app = spawn_app().await;
    let missing = app
        .activation()
        .get_activation_flow(proto::GetActivationFlowRequest {
            flow_token: "f".repeat(64),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let provisioned = app
        .provision(bordeaux_student("21900003", "Anne", "Petit"))
        .await
        .expect("provision");
    let key = provisioned
        .activation_material
        .expect("material")
        .activation_key;
    app.clock.advance(Duration::hours(24));
    let started = start(
        &app,
        "u-bordeaux-montaigne",
        Entry::Key(proto::KeyEntry {
            login: "apetit001".into(),
            activation_key: key,
        }),
    )
    .await
    .expect("start");
    app.clock.advance(Duration::hours(5));
    let expired = app
        .activation()
        .get_activation_flow(proto::GetActivationFlowRequest {
            flow_token: started.flow_token,
        })
        .await
        .unwrap_err();
    assert_eq!(expired.code(), Code::NotFound);
}

#[tokio::test]
async fn verification_mail_goes_out_over_smtp() {
    let (port, received) = smtp_sink().await;
    let app = spawn_app_with(
        vec![
            ("ENT_IDENTITY__MAIL__TRANSPORT".into(), "smtp".into()),
            ("ENT_IDENTITY__MAIL__SMTP__HOST".into(), "127.0.0.1".into()),
            ("ENT_IDENTITY__MAIL__SMTP__PORT".into(), port.to_string()),
            ("ENT_IDENTITY__MAIL__SMTP__SECURITY".into(), "none".into()),
        ],
        true,
    )
    .await;
    let provisioned = app
        .provision(montpellier_staff("H0900", "Jane", "Doe"))
        .await
        .expect("provision");
    let account = provisioned.account.expect("account");
    let started = start(
        &app,
        "umontpellier",
        Entry::ProvisionalPassword(proto::ProvisionalPasswordEntry {
            login: account.login,
            provisional_password: provisioned
                .activation_material
                .expect("material")
                .provisional_password,
        }),
    )
    .await
    .expect("start");
    submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: started.flow_token.clone(),
            recovery_mail: mail("jane.doe@edu.com"),
            ..Default::default()
        },
    )
    .await
    .expect("recovery mail");
    let mut message = None;
    for _ in 0..100 {
        if let Some(m) = received.lock().expect("inbox").first().cloned() {
            message = Some(m);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (to, text) = message.expect("a mail reached the SMTP server");
    assert_eq!(to, vec!["jane.doe@edu.com".to_owned()]);
    assert!(app.mails().is_empty(), "nothing written to the mail folder");
    let flow = verify(&app, &started.flow_token, &code_in(&text))
        .await
        .expect("the code from the SMTP message");
    assert_eq!(screen(&flow), vec![S::Charter]);
}

#[tokio::test]
async fn identity_codes_go_out_through_the_sms_webhook() {
    let (port, requests) = http_sink().await;
    let app = spawn_app_with(
        vec![
            ("ENT_IDENTITY__SMS__TRANSPORT".into(), "webhook".into()),
            (
                "ENT_IDENTITY__SMS__WEBHOOK__URL".into(),
                format!("http://127.0.0.1:{port}/sms"),
            ),
            (
                "ENT_IDENTITY__SMS__WEBHOOK__TOKEN".into(),
                "s3cret-token".into(),
            ),
        ],
        true,
    )
    .await;
    let ine = ine_bea(1234567891);
    app.provision(tours_student("22012346", &ine, "+33788102598"))
        .await
        .expect("provision");
    let started = start(
        &app,
        "univ-tours",
        tours_entry("22012346", &ine, "07 88 10 25 98"),
    )
    .await
    .expect("start");
    let mut request = None;
    for _ in 0..100 {
        if let Some(r) = requests.lock().expect("requests").first().cloned() {
            request = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (head, body) = request.expect("the webhook was called");
    assert!(head.starts_with("POST /sms "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: bearer s3cret-token")
    );
    let sms: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(sms["to"], "+33788102598");
    let code = code_in(sms["text"].as_str().expect("text"));
    assert!(app.sms().is_empty(), "nothing written to the SMS folder");
    let flow = verify(&app, &started.flow_token, &code)
        .await
        .expect("code");
    assert_eq!(screen(&flow), vec![S::Password]);
}

/// Finding 8 of issue 19: 8-digit codes were stored as plain SHA-256, so a
/// copy of the database revealed each pending code after 10⁸ tries. The
/// stored forms of codes and activation keys are keyed by the server's key
/// file: trying every code against the database alone finds nothing.
#[tokio::test]
async fn a_copy_of_the_database_does_not_reveal_codes_or_keys() {
    use ent_identity::domain::secret::{SecretKind, hash_secret};
    let app = spawn_app().await;
    let ine = ine_bea(1234567801);
    let record = tours_student("22012399", &ine, "07 88 10 25 11");
    app.provision(record).await.expect("provision");
    start(
        &app,
        "univ-tours",
        tours_entry("22012399", &ine, "+33788102511"),
    )
    .await
    .expect("start");
    let code = code_in(&app.wait_for_sms(1).await[0].1);
    let bordeaux = app
        .provision(bordeaux_student("21900777", "Anna", "Keyed"))
        .await
        .expect("provision");
    let key = bordeaux
        .activation_material
        .expect("material")
        .activation_key;
    let store = app.store().await;
    use ent_identity::store::entities::one_time_secret;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let stored: Vec<(String, String)> = one_time_secret::Entity::find()
        .filter(one_time_secret::Column::Purpose.is_in(["identity_code", "activation_key"]))
        .all(store.connection())
        .await
        .expect("read")
        .into_iter()
        .map(|s| (s.purpose, s.secret_hash))
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    // What a thief would compute for each candidate: found nowhere.
    let plain_code = hash_secret(SecretKind::Code, &code);
    let plain_key = hash_secret(SecretKind::ActivationKey, &key);
    for (purpose, hash) in &stored {
        assert!(
            hash.starts_with('k') && hash.contains(':'),
            "{purpose}: {hash}"
        );
        assert!(!hash.contains(&plain_code) && !hash.contains(&plain_key));
    }
}

/// Issue 20: the key of the certificate, or Montpellier's provisional
/// password, typed again on an account already activated answered "do not
/// match" (as a wrong key); Tours answers ALREADY_ACTIVE, as the API says.
/// A wrong key still gets the answer of a wrong key.
#[tokio::test]
async fn printed_material_typed_after_activation_says_already_active() {
    let app = spawn_app().await;
    let bordeaux = app
        .provision(bordeaux_student("21900888", "Rémi", "Actif"))
        .await
        .expect("provision");
    let key = bordeaux
        .activation_material
        .clone()
        .expect("material")
        .activation_key;
    let login = bordeaux.account.clone().expect("account").login;
    app.activate(&bordeaux, "Garonne#2026!").await;
    let entry = |k: &str| {
        Entry::Key(proto::KeyEntry {
            login: login.clone(),
            activation_key: k.into(),
        })
    };
    let again = start(&app, "u-bordeaux-montaigne", entry(&key))
        .await
        .unwrap_err();
    assert_eq!(precondition(&again), "ALREADY_ACTIVE");
    let wrong = start(&app, "u-bordeaux-montaigne", entry("AAAA-AAAA-AAAA"))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);

    let montpellier = app
        .provision(montpellier_staff("RH-ACTIF", "Lou", "Actif"))
        .await
        .expect("provision");
    let provisional = montpellier
        .activation_material
        .clone()
        .expect("material")
        .provisional_password;
    let login = montpellier.account.clone().expect("account").login;
    app.activate(&montpellier, "Qz7#Kp2wLm9x").await;
    let again = start(
        &app,
        "umontpellier",
        Entry::ProvisionalPassword(proto::ProvisionalPasswordEntry {
            login,
            provisional_password: provisional,
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(precondition(&again), "ALREADY_ACTIVE");
}

/// Issue 20: StartActivation twice within seconds for one Tours identity
/// sent two SMS; the cooldown held only for ResendActivationMessage.
#[tokio::test]
async fn starting_again_at_once_sends_no_second_code() {
    let app = spawn_app().await;
    let ine = ine_bea(1234567804);
    app.provision(tours_student("22012396", &ine, "07 88 10 25 14"))
        .await
        .expect("provision");
    let entry = || tours_entry("22012396", &ine, "+33788102514");
    start(&app, "univ-tours", entry()).await.expect("start");
    let again = start(&app, "univ-tours", entry()).await.unwrap_err();
    assert_eq!(again.code(), Code::ResourceExhausted, "{again:?}");
    assert!(again.get_details_retry_info().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.wait_for_sms(1).await.len(), 1);
    // Once the cooldown is over, a new start sends a new code.
    app.clock.advance(Duration::minutes(5));
    start(&app, "univ-tours", entry())
        .await
        .expect("started again");
    assert_eq!(app.wait_for_sms(2).await.len(), 2);
}

/// Issue 20: "1ère connexion" before Montpellier's 15-minute opening left
/// two mails at opening, the first link already expired. The link mailed at
/// provisioning is the one that goes, and it works.
#[tokio::test]
async fn asking_for_the_link_before_opening_sends_one_link_that_works() {
    let app = spawn_app().await;
    app.provision(proto::ProvisionRecord {
        institution: "umontpellier".into(),
        profile: "student".into(),
        student_number: "22012377".into(),
        given_name: "Inès".into(),
        family_name: "Avance".into(),
        birth_date: "2006-04-01".into(),
        personal_mail: "ines.avance@example.org".into(),
        ..Default::default()
    })
    .await
    .expect("provision");
    // Ten minutes after enrolment, five before the opening.
    app.clock.advance(Duration::minutes(10));
    app.activation()
        .request_activation_link(proto::RequestActivationLinkRequest {
            institution: "umontpellier".into(),
            login: "ines.avance@etu.umontpellier.fr".into(),
        })
        .await
        .expect("answered");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.clock.advance(Duration::minutes(6));
    let mail = app.wait_for_mail_to("ines.avance@example.org", 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.mails_to("ines.avance@example.org").len(), 1);
    start(
        &app,
        "umontpellier",
        Entry::Link(proto::LinkEntry {
            token: link_token(&mail, "link"),
        }),
    )
    .await
    .expect("the one link works");
}

/// Issue 20: on Tours' code screen, submitting a screen before the code
/// told the person, in French, to follow a link.
#[tokio::test]
async fn the_code_screen_speaks_of_the_code() {
    let app = spawn_app().await;
    let ine = ine_bea(1234567805);
    app.provision(tours_student("22012395", &ine, "07 88 10 25 15"))
        .await
        .expect("provision");
    let started = start(
        &app,
        "univ-tours",
        tours_entry("22012395", &ine, "+33788102515"),
    )
    .await
    .expect("start");
    let early = submit(
        &app,
        proto::SubmitActivationScreenRequest {
            flow_token: started.flow_token,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(precondition(&early), "AWAITING_VERIFICATION", "{early:?}");
    let localized = early
        .get_details_localized_message()
        .expect("localized")
        .message;
    assert!(
        localized.contains("code") && !localized.contains("lien"),
        "{localized}"
    );
}

/// Issue 20: the helpdesk opens one account's activation before its delay
/// (a student at the desk on enrolment day), audited with the reason; the
/// key in hand works at once, and a link waiting for the opening is mailed
/// now.
#[tokio::test]
async fn the_helpdesk_opens_an_activation_before_its_delay() {
    let app = spawn_app().await;
    let provisioned = app
        .provision(bordeaux_student("21900002", "Paul", "Durand"))
        .await
        .expect("provision");
    let id = provisioned.account.expect("account").account_id;
    let key = provisioned
        .activation_material
        .expect("material")
        .activation_key;
    let entry = || {
        Entry::Key(proto::KeyEntry {
            login: "pdurand001".into(),
            activation_key: key.clone(),
        })
    };
    let early = start(&app, "u-bordeaux-montaigne", entry())
        .await
        .unwrap_err();
    assert_eq!(precondition(&early), "ACTIVATION_NOT_OPEN");
    let open = |reason: &str| {
        let mut lifecycle = app.lifecycle.clone();
        let request = proto::OpenActivationRequest {
            account: Some(proto::AccountSelector {
                institution: String::new(),
                identifier: Some(Identifier::AccountId(id.clone())),
            }),
            reason: reason.into(),
        };
        async move { lifecycle.open_activation(request).await }
    };
    // The audit trail needs a reason.
    let no_reason = open(" ").await.unwrap_err();
    assert_eq!(no_reason.code(), Code::InvalidArgument);
    let opened = open("présent à l'accueil le jour de l'inscription")
        .await
        .expect("open")
        .into_inner()
        .account
        .expect("account");
    assert_eq!(opened.status, proto::AccountStatus::Created as i32);
    // Idempotent: a second call changes nothing.
    let again = open("deuxième clic").await.expect("again").into_inner();
    assert_eq!(
        again.account.expect("account").updated_at,
        opened.updated_at
    );
    let started = start(&app, "u-bordeaux-montaigne", entry())
        .await
        .expect("the key works now");
    assert!(started.flow.is_some());
    let actions: Vec<proto::AuditEvent> = app
        .lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            institution: "u-bordeaux-montaigne".into(),
            account: Some(proto::AccountSelector {
                institution: String::new(),
                identifier: Some(Identifier::AccountId(id.clone())),
            }),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    let opening: Vec<&proto::AuditEvent> = actions
        .iter()
        .filter(|e| e.action == "account.activation_opened_early")
        .collect();
    assert_eq!(opening.len(), 1, "{actions:?}");
    assert!(
        opening[0]
            .details
            .get("reason")
            .is_some_and(|r| r.contains("accueil")),
        "{:?}",
        opening[0]
    );
    // The directory hears of the opening.
    assert!(app.all_changes().await.iter().any(|c| {
        c.kind == proto::ChangeKind::ActivationOpened as i32
            && c.account.as_ref().is_some_and(|a| a.account_id == id)
    }));

    // A Montpellier student's link, due 15 minutes after enrolment, is
    // mailed at once.
    let student = app
        .provision(proto::ProvisionRecord {
            institution: "umontpellier".into(),
            profile: "student".into(),
            student_number: "22012399".into(),
            given_name: "Léa".into(),
            family_name: "Petit".into(),
            birth_date: "2006-05-01".into(),
            personal_mail: "lea.petit@example.org".into(),
            ..Default::default()
        })
        .await
        .expect("provision")
        .account
        .expect("account");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.mails_to("lea.petit@example.org").is_empty());
    app.lifecycle
        .clone()
        .open_activation(proto::OpenActivationRequest {
            account: Some(proto::AccountSelector {
                institution: String::new(),
                identifier: Some(Identifier::AccountId(student.account_id.clone())),
            }),
            reason: "accueil".into(),
        })
        .await
        .expect("open");
    let token = link_token(
        &app.wait_for_mail_to("lea.petit@example.org", 1).await,
        "link",
    );
    start(
        &app,
        "umontpellier",
        Entry::Link(proto::LinkEntry { token }),
    )
    .await
    .expect("the link works now");

    // An active account has nothing to open.
    let active = app
        .provision(bordeaux_student("21900003", "Zoé", "Roux"))
        .await
        .expect("provision");
    app.activate(&active, "Tr3s-b0n-m0t!").await;
    let refused = app
        .lifecycle
        .clone()
        .open_activation(proto::OpenActivationRequest {
            account: Some(proto::AccountSelector {
                institution: String::new(),
                identifier: Some(Identifier::AccountId(
                    active.account.expect("account").account_id,
                )),
            }),
            reason: "accueil".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&refused), "ALREADY_ACTIVE");
}
