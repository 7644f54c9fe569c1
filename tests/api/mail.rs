//! The outbox sender: queued mail is written by the file transport when due,
//! once, and scrubbed from the database; undeliverable mail is given up.

use chrono::Duration;
use ent_identity::store::outbox::{Channel, Content, NewMessage};

use crate::support::*;

fn message(
    recipient: &str,
    subject: &str,
    not_before: chrono::DateTime<chrono::Utc>,
) -> NewMessage {
    NewMessage {
        account_id: None,
        channel: Channel::Mail,
        recipient: recipient.into(),
        template: "test_notice".into(),
        content: Content {
            subject: subject.into(),
            text: format!("Bonjour,\n\n{subject}.\n"),
        },
        not_before,
    }
}

#[tokio::test]
async fn queued_mail_is_written_when_due_and_then_scrubbed() {
    let app = spawn_app().await;
    let store = app.store().await;
    store
        .enqueue_message(
            message(
                "jane.doe@example.org",
                "Votre compte est prêt",
                start_time(),
            ),
            start_time(),
        )
        .await
        .expect("queued");
    store
        .enqueue_message(
            message(
                "later@example.org",
                "Activation ouverte",
                start_time() + Duration::hours(1),
            ),
            start_time(),
        )
        .await
        .expect("queued");

    let mails = app.wait_for_mails(1).await;
    assert!(
        mails[0].contains("To: jane.doe@example.org"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains("Bonjour"), "{}", mails[0]);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mails().len(), 1, "the second mail is not due yet");

    app.clock.advance(Duration::hours(1));
    let mails = app.wait_for_mails(2).await;
    assert!(mails.iter().any(|m| m.contains("To: later@example.org")));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.mails().len(), 2, "each mail is sent once");

    let rows = store.outbox_messages().await.expect("outbox");
    assert!(rows.iter().all(|r| r.sent_at.is_some() && r.attempts == 1));
    assert!(
        rows.iter().all(|r| !r.payload.contains("Bonjour")),
        "bodies are scrubbed once sent"
    );
}

#[tokio::test]
async fn an_undeliverable_address_is_given_up() {
    let app = spawn_app().await;
    let store = app.store().await;
    store
        .enqueue_message(
            message("not an address", "Perdu", start_time()),
            start_time(),
        )
        .await
        .expect("queued");
    for _ in 0..100 {
        let rows = store.outbox_messages().await.expect("outbox");
        if rows[0].failed_at.is_some() {
            assert!(rows[0].sent_at.is_none());
            assert!(
                rows[0]
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("recipient"))
            );
            assert!(!rows[0].payload.contains("Perdu"));
            assert!(app.mails().is_empty());
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the message was never given up");
}

/// The test database's settings, from the environment a server gets.
fn database_of(env: &[(String, String)]) -> ent_identity::config::DatabaseSettings {
    let get = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    ent_identity::config::DatabaseSettings {
        url: get("ENT_IDENTITY__DATABASE__URL").expect("a database"),
        schema: get("ENT_IDENTITY__DATABASE__SCHEMA"),
        max_connections: 2,
        auto_migrate: false,
        connect_timeout: std::time::Duration::from_secs(5),
        health_check_interval: std::time::Duration::from_secs(5),
    }
}

/// A relay that accepts connections and never answers: a send hangs.
async fn stalled_relay() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    port
}

/// Waits until every unsent message is claimed; their count.
async fn wait_until_claimed(store: &ent_identity::store::Store, count: usize) {
    let mut rows = Vec::new();
    for _ in 0..600 {
        rows = store.outbox_messages().await.expect("outbox");
        let claimed = rows
            .iter()
            .filter(|m| m.sent_at.is_none() && m.claimed_until.is_some())
            .count();
        if claimed == count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the messages were never claimed: {rows:?}");
}

/// Finding 9 of issue 19: mail claimed by a process that stopped waited
/// for its 2-minute lease before another replica sent it. A server that
/// stops gives its claims back; one that is killed loses them within its
/// (short, heartbeat-extended) lease.
#[tokio::test]
async fn a_stopped_or_killed_sender_leaves_its_mail_to_the_others_at_once() {
    let dir = tempfile::tempdir().expect("temp");
    let mut env = database_env(dir.path()).await;
    env.push(("ENT_IDENTITY__MAIL__POLL_INTERVAL".into(), "50ms".into()));
    env.push(("ENT_IDENTITY__MAIL__LEASE".into(), "2s".into()));
    let mut stuck = env.clone();
    stuck.extend([
        ("ENT_IDENTITY__MAIL__TRANSPORT".into(), "smtp".into()),
        ("ENT_IDENTITY__MAIL__SMTP__HOST".into(), "127.0.0.1".into()),
        (
            "ENT_IDENTITY__MAIL__SMTP__PORT".into(),
            stalled_relay().await.to_string(),
        ),
        ("ENT_IDENTITY__MAIL__SMTP__SECURITY".into(), "none".into()),
    ]);
    // A sender stuck on a relay that never answers, then stopped.
    let first = Process::serve(dir.path(), &stuck).await;
    let store = ent_identity::store::Store::connect(&database_of(&env))
        .await
        .expect("store");
    // Due together, once all are queued: one round claims them all.
    let now = chrono::Utc::now();
    let due = now + Duration::seconds(1);
    for n in 1..=3 {
        store
            .enqueue_message(message("a@example.org", &format!("Avis {n}"), due), now)
            .await
            .expect("queued");
    }
    wait_until_claimed(&store, 3).await;
    first.terminate().await;
    let rows = store.outbox_messages().await.expect("outbox");
    assert!(
        rows.iter()
            .all(|m| m.sent_at.is_none() && m.claimed_until.is_none()),
        "given back on shutdown: {rows:?}"
    );
    // Another stuck sender, killed outright.
    let second = Process::serve(dir.path(), &stuck).await;
    wait_until_claimed(&store, 3).await;
    drop(second);
    // A healthy replica sends all of it well within the old 2-minute lease.
    let started = std::time::Instant::now();
    let healthy = Process::serve(dir.path(), &env).await;
    let mail = dir.path().join("mail");
    loop {
        let written = std::fs::read_dir(&mail)
            .map(|d| d.filter_map(Result::ok).count())
            .unwrap_or(0);
        if written == 3 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "only {written} of 3 sent after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    drop(healthy);
}

/// Issue 20: mail had no Message-ID, no MIME-Version, no Auto-Submitted and
/// a bare From, which spam filters penalise. Mail about an account is now
/// signed by its institution.
#[tokio::test]
async fn mail_carries_the_standard_headers_and_the_institutions_name() {
    let app = spawn_app().await;
    let account = app
        .active_account(montpellier_staff("M0001", "Anne", "Entête"), "Qz7#Kp2wLm9x")
        .await;
    let mail = app
        .mails()
        .into_iter()
        .find(|m| m.contains(&format!("recovery.{}@example.net", account.account_id)))
        .expect("a mail to the recovery address");
    let header = |name: &str| {
        mail.lines()
            .take_while(|l| !l.is_empty())
            .find(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            })
            .map(|l| {
                l.split_once(':')
                    .map(|(_, v)| v.trim().to_owned())
                    .unwrap_or_default()
            })
            .unwrap_or_else(|| panic!("no {name} header in\n{mail}"))
    };
    assert_eq!(header("MIME-Version"), "1.0");
    assert_eq!(header("Auto-Submitted"), "auto-generated");
    assert!(!header("Date").is_empty());
    let id = header("Message-ID");
    assert!(
        id.starts_with('<') && id.ends_with("@ent.umontpellier.fr>"),
        "{id}"
    );
    // "Université de Montpellier", as an RFC 2047 encoded word.
    let from = header("From");
    // (base64 of the name's UTF-8)
    assert!(
        from.starts_with("=?utf-8?b?VW5pdmVyc2l0w6kgZGUgTW9udHBlbGxpZXI=?="),
        "{from}"
    );
    assert!(
        from.ends_with("<ent-identity@localhost.localdomain>"),
        "{from}"
    );
}
