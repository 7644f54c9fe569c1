//! Rate limits and lockouts on guessable secrets, per account and per end
//! user's address, kept in the database: the same counts on every replica.

use std::time::Duration as StdDuration;

use chrono::Duration;
use ent_identity::proto;
use ent_identity::proto::activation_service_client::ActivationServiceClient;
use ent_identity::proto::start_activation_request::Entry;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

fn limits(rule: &str, max: u32) -> (String, String) {
    (
        format!("ENT_IDENTITY__RATE_LIMITS__{}__MAX", rule.to_uppercase()),
        max.to_string(),
    )
}

fn key_entry(login: &str, key: &str) -> Entry {
    Entry::Key(proto::KeyEntry {
        login: login.into(),
        activation_key: key.into(),
    })
}

async fn start_as(
    conn: Conn,
    entry: Entry,
) -> Result<proto::StartActivationResponse, tonic::Status> {
    ActivationServiceClient::new(conn)
        .start_activation(proto::StartActivationRequest {
            institution: "u-bordeaux-montaigne".into(),
            entry: Some(entry),
        })
        .await
        .map(|r| r.into_inner())
}

/// The wait a RESOURCE_EXHAUSTED status asks for.
fn retry_after(status: &tonic::Status) -> StdDuration {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo")
}

#[tokio::test]
async fn wrong_keys_past_the_free_ones_delay_the_next_attempt() {
    let app = spawn_app_with(vec![limits("guesses_per_account", 3)], true).await;
    let provisioned = app
        .provision(bordeaux_student("21900101", "Jules", "Perrin"))
        .await
        .expect("provision");
    let login = provisioned.account.clone().expect("account").login;
    let key = provisioned
        .activation_material
        .clone()
        .expect("material")
        .activation_key;
    // Each from a different address: the account's own count stops them.
    for i in 1..=3 {
        let wrong = start_as(
            app.portal_for(&format!("198.51.100.{i}")),
            key_entry(&login, "AAAA-AAAA-AAAA"),
        )
        .await
        .unwrap_err();
        assert_eq!(wrong.code(), Code::InvalidArgument, "attempt {i}");
    }
    // Past the free failures, even the right key waits, but only a second;
    // each further failure doubles the wait (never the hour it once was).
    let held = start_as(app.portal_for("198.51.100.9"), key_entry(&login, &key))
        .await
        .unwrap_err();
    assert_eq!(retry_after(&held), StdDuration::from_secs(1));
    let localized = held
        .get_error_details()
        .localized_message()
        .cloned()
        .expect("localized");
    assert!(
        localized.message.contains("réessayez dans 1 s"),
        "{}",
        localized.message
    );
    app.clock.advance(Duration::seconds(1));
    let wrong = start_as(
        app.portal_for("198.51.100.4"),
        key_entry(&login, "AAAA-AAAA-AAAA"),
    )
    .await
    .unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
    let doubled = start_as(app.portal_for("198.51.100.9"), key_entry(&login, &key))
        .await
        .unwrap_err();
    assert_eq!(retry_after(&doubled), StdDuration::from_secs(2));
    // The same holds for a login that does not exist: the limit says
    // nothing of which accounts exist.
    for _ in 1..=3 {
        let wrong = start_as(app.conn(), key_entry("nobody.here", "AAAA-AAAA-AAAA"))
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), Code::InvalidArgument);
    }
    assert_eq!(
        retry_after(
            &start_as(app.conn(), key_entry("nobody.here", "AAAA-AAAA-AAAA"))
                .await
                .unwrap_err(),
        ),
        StdDuration::from_secs(1)
    );
    // Bordeaux opens activation a day after enrolment: the key, never
    // invalidated, works then.
    app.clock.advance(Duration::hours(25));
    start_as(app.portal_for("198.51.100.9"), key_entry(&login, &key))
        .await
        .expect("the right key works once the wait is over");
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_stopped() {
    let app = spawn_app_with(vec![limits("guesses_per_address", 4)], true).await;
    for i in 0..4 {
        let wrong = start_as(
            app.portal_for("2001:db8:5:6::1"),
            key_entry(&format!("someone{i}"), "AAAA-AAAA-AAAA"),
        )
        .await
        .unwrap_err();
        assert_eq!(wrong.code(), Code::InvalidArgument);
    }
    // The same /64 is the same household.
    retry_after(
        &start_as(
            app.portal_for("2001:db8:5:6:ffff::2"),
            key_entry("someone9", "AAAA-AAAA-AAAA"),
        )
        .await
        .unwrap_err(),
    );
    // Someone else is not affected.
    let other = start_as(
        app.portal_for("203.0.113.50"),
        key_entry("someone9", "AAAA-AAAA-AAAA"),
    )
    .await
    .unwrap_err();
    assert_eq!(other.code(), Code::InvalidArgument);
    // A portal that sends no valid address is told so.
    let bad = start_as(
        app.portal_for("not-an-address"),
        key_entry("someone9", "AAAA-AAAA-AAAA"),
    )
    .await
    .unwrap_err();
    assert_eq!(violations(&bad), ["x-end-user-address"]);
}

#[tokio::test]
async fn a_campus_network_can_be_exempt_from_address_limits() {
    let app = spawn_app_configured(TestConfig {
        env: vec![
            limits("guesses_per_address", 2),
            limits("guesses_per_account", 3),
        ],
        toml: "[rate_limits]\nexempt_networks = [\"192.0.2.0/24\"]\n".into(),
        wait: true,
        ..TestConfig::default()
    })
    .await;
    // Many people mistyping behind the campus NAT: no address lock.
    for i in 0..5 {
        let wrong = start_as(
            app.portal_for("192.0.2.17"),
            key_entry(&format!("student{i}"), "AAAA-AAAA-AAAA"),
        )
        .await
        .unwrap_err();
        assert_eq!(wrong.code(), Code::InvalidArgument, "attempt {i}");
    }
    // Each account still is limited.
    for _ in 0..3 {
        let wrong = start_as(app.portal_for("192.0.2.17"), key_entry("student9", "A"))
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), Code::InvalidArgument);
    }
    retry_after(
        &start_as(app.portal_for("192.0.2.18"), key_entry("student9", "A"))
            .await
            .unwrap_err(),
    );
    // Outside the network, the address limit applies.
    for i in 0..2 {
        start_as(
            app.portal_for("198.51.100.7"),
            key_entry(&format!("other{i}"), "A"),
        )
        .await
        .unwrap_err();
    }
    retry_after(
        &start_as(app.portal_for("198.51.100.7"), key_entry("other9", "A"))
            .await
            .unwrap_err(),
    );
}

#[tokio::test]
async fn codes_are_limited_per_account_across_resends() {
    let app = spawn_app_with(vec![limits("guesses_per_account", 3)], true).await;
    let ine = ine_bea(1234500001);
    app.provision(tours_student("22010001", &ine, "+33788100001"))
        .await
        .expect("provision");
    let started = ActivationServiceClient::new(app.conn())
        .start_activation(proto::StartActivationRequest {
            institution: "univ-tours".into(),
            entry: Some(Entry::IdentityMatch(proto::IdentityMatchEntry {
                student_number: "22010001".into(),
                ine,
                mobile_phone: "+33788100001".into(),
                ..Default::default()
            })),
        })
        .await
        .expect("start")
        .into_inner();
    let code = code_in(&app.wait_for_sms(1).await[0].1);
    let verify = |code: String| {
        let mut client = app.activation();
        let flow_token = started.flow_token.clone();
        async move {
            client
                .verify_activation_code(proto::VerifyActivationCodeRequest { flow_token, code })
                .await
        }
    };
    for _ in 1..=3 {
        let wrong = verify("11111111".into()).await.unwrap_err();
        assert_eq!(wrong.code(), Code::InvalidArgument);
    }
    retry_after(&verify(code.clone()).await.unwrap_err());
    app.clock.advance(Duration::minutes(61));
    // The code itself expired meanwhile; what matters is that the limit no
    // longer stands in the way.
    let after = verify(code).await;
    assert!(
        !matches!(&after, Err(s) if s.code() == Code::ResourceExhausted),
        "{after:?}"
    );
}

#[tokio::test]
async fn reset_requests_are_limited_whether_or_not_the_account_exists() {
    let app = spawn_app_with(vec![limits("mail_requests_per_account", 2)], true).await;
    let account = app
        .active_account(
            montpellier_staff("RH5001", "Claire", "Fabre"),
            "Qx7!vR2#mP9zTk",
        )
        .await;
    let request = |login: String| {
        let mut client = app.recovery();
        async move {
            client
                .request_password_reset(proto::RequestPasswordResetRequest {
                    channel: proto::ResetChannel::Unspecified as i32,
                    institution: "umontpellier".into(),
                    identifier: Some(proto::request_password_reset_request::Identifier::Login(
                        login,
                    )),
                })
                .await
        }
    };
    let recovery = format!("recovery.{}@example.net", account.account_id);
    let resets = || {
        app.mails_to(&recovery)
            .into_iter()
            .filter(|m| decoded(m).contains("recovery/reset"))
            .count()
    };
    // The reset is written after the answer; the next request waits for it,
    // or its own write could come first and look like an immediate resend.
    let sent = async |n: usize| {
        for _ in 0..100 {
            if resets() >= n {
                return;
            }
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
        panic!("expected {n} reset mails, found {}", resets());
    };
    request(account.login.clone()).await.expect("first");
    sent(1).await;
    // Past the resend cooldown, within the limit's window.
    app.clock.advance(Duration::minutes(10));
    request(account.login.clone()).await.expect("second");
    sent(2).await;
    app.clock.advance(Duration::minutes(10));
    retry_after(&request(account.login.clone()).await.unwrap_err());
    let nobody = "nobody@umontpellier.fr".to_owned();
    request(nobody.clone()).await.expect("first");
    app.clock.advance(Duration::minutes(10));
    request(nobody.clone()).await.expect("second");
    app.clock.advance(Duration::minutes(10));
    retry_after(&request(nobody).await.unwrap_err());
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    assert_eq!(resets(), 2, "two reset mails, the third request refused");
}

#[tokio::test]
async fn wrong_current_passwords_are_limited() {
    let app = spawn_app_with(vec![limits("guesses_per_account", 3)], true).await;
    let password = "Qx7!vR2#mP9zTk";
    let account = app
        .active_account(montpellier_staff("RH5002", "Marc", "Roux"), password)
        .await;
    let verify = |typed: &str| {
        let mut client = app.account_settings();
        let request = proto::VerifyPasswordRequest {
            account: by_id(&account.account_id),
            password: typed.into(),
        };
        async move {
            client
                .verify_password(request)
                .await
                .map(|r| r.into_inner())
        }
    };
    assert!(verify(password).await.expect("right").valid);
    for _ in 1..=3 {
        assert!(!verify("Wrong-Guess-123").await.expect("answered").valid);
    }
    retry_after(&verify(password).await.unwrap_err());
}

#[tokio::test]
async fn two_server_processes_share_the_limits() {
    let dir = tempfile::tempdir().expect("temp");
    let mut env = database_env(dir.path()).await;
    env.push(limits("guesses_per_account", 4));
    let first = Process::serve(dir.path(), &env).await;
    let second = Process::serve(dir.path(), &env).await;
    let connect = |replica: &Process| authed(&replica.channel(), "portal", None);
    let (a, b) = (connect(&first), connect(&second));

    // Alternating replicas: four failures in all, then the lock on both.
    for conn in [&a, &b, &a, &b] {
        let wrong = start_as(conn.clone(), key_entry("target.one", "AAAA-AAAA-AAAA"))
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), Code::InvalidArgument);
    }
    for conn in [&a, &b] {
        retry_after(
            &start_as(conn.clone(), key_entry("target.one", "AAAA-AAAA-AAAA"))
                .await
                .unwrap_err(),
        );
    }

    // Twenty guesses at once, split over both: exactly four get judged.
    let guesses = (0..20).map(|i| {
        let conn = if i % 2 == 0 { a.clone() } else { b.clone() };
        start_as(conn, key_entry("target.two", "AAAA-AAAA-AAAA"))
    });
    let results = futures::future::join_all(guesses).await;
    let judged = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::InvalidArgument))
        .count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::ResourceExhausted))
        .count();
    assert_eq!((judged, refused), (4, 16), "{results:?}");
}

/// Finding 4 of issue 19: attempts were counted before being judged, so
/// concurrent right passwords were refused ("try again in 60 min"). On two
/// server processes sharing the database: fifty right passwords at once are
/// all accepted; fifty wrong ones at once get exactly the allowed number
/// judged, the rest refused.
#[tokio::test]
async fn concurrent_right_passwords_are_all_accepted_and_wrong_ones_stop_at_the_limit() {
    let app = spawn_app().await;
    let password = "Qx7!vR2#mP9zTk";
    let provisioned = app
        .provision(montpellier_staff("RH-CONC-1", "Lise", "Marin"))
        .await
        .expect("provision");
    let account_id = provisioned.account.expect("account").account_id;
    app.plant_password(&account_id, password, app.settings.password_hashing.clone())
        .await;
    let dir = tempfile::tempdir().expect("temp");
    let mut env = vec![
        (
            "ENT_IDENTITY__DATABASE__URL".to_owned(),
            app.database.url.clone(),
        ),
        limits("guesses_per_account", 5),
    ];
    if let Some(schema) = &app.database.schema {
        env.push(("ENT_IDENTITY__DATABASE__SCHEMA".into(), schema.clone()));
    }
    let replicas = [
        Process::serve(dir.path(), &env).await,
        Process::serve(dir.path(), &env).await,
    ];
    let verify_all = |typed: &'static str| {
        let calls = (0..50).map(|i| {
            let conn = authed(&replicas[i % 2].channel(), "portal", None);
            let request = proto::VerifyPasswordRequest {
                account: by_id(&account_id),
                password: typed.into(),
            };
            async move {
                let mut client =
                    proto::account_settings_service_client::AccountSettingsServiceClient::new(conn);
                // A server short of CPU sheds load ("very busy", retry in
                // a moment): a client honours that and asks again; only
                // the guessing limit's refusals count here.
                loop {
                    match client.verify_password(request.clone()).await {
                        Err(s)
                            if s.code() == Code::ResourceExhausted
                                && s.message().contains("busy") =>
                        {
                            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        }
                        other => return other.map(|r| r.into_inner().valid),
                    }
                }
            }
        });
        futures::future::join_all(calls)
    };
    let right = verify_all(password).await;
    let accepted = right.iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(accepted, 50, "{right:?}");
    let wrong = verify_all("Wrong-Guess-123").await;
    let judged = wrong.iter().filter(|r| matches!(r, Ok(false))).count();
    let refused = wrong
        .iter()
        .filter(|r| matches!(r, Err(s) if s.code() == Code::ResourceExhausted))
        .count();
    assert_eq!((judged, refused), (5, 45), "{wrong:?}");
}
