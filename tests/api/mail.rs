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
