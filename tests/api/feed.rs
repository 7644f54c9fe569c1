//! The change feed (cursor paging, commit order) and the audit trail.

use ent_identity::proto;
use ent_identity::proto::account_selector::Identifier;
use tonic::Code;

use crate::support::*;

#[tokio::test]
async fn the_change_feed_pages_with_a_cursor() {
    let app = spawn_app().await;
    for i in 0..5 {
        app.provision(bordeaux_student(&format!("2300000{i}"), "Marie", "Curie"))
            .await
            .expect("provisioned");
    }
    // An update is a change too; an identical record is not.
    app.provision(proto::ProvisionRecord {
        personal_mail: "marie@example.org".into(),
        ..bordeaux_student("23000000", "Marie", "Curie")
    })
    .await
    .expect("updated");
    app.provision(proto::ProvisionRecord {
        personal_mail: "marie@example.org".into(),
        ..bordeaux_student("23000000", "Marie", "Curie")
    })
    .await
    .expect("unchanged");

    let mut client = app.lifecycle.clone();
    let first = client
        .list_changes(proto::ListChangesRequest {
            after_cursor: String::new(),
            page_size: 4,
            institution: "u-bordeaux-montaigne".into(),
        })
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(first.changes.len(), 4);
    assert!(
        first
            .changes
            .iter()
            .all(|c| c.kind() == proto::ChangeKind::Created)
    );
    let second = client
        .list_changes(proto::ListChangesRequest {
            after_cursor: first.next_cursor.clone(),
            page_size: 4,
            institution: String::new(),
        })
        .await
        .expect("page 2")
        .into_inner();
    let kinds: Vec<_> = second.changes.iter().map(|c| c.kind()).collect();
    assert_eq!(
        kinds,
        [proto::ChangeKind::Created, proto::ChangeKind::Updated]
    );
    let updated = second.changes[1].account.as_ref().expect("account");
    assert_eq!(updated.personal_mail, "marie@example.org");
    let cursors: Vec<i64> = first
        .changes
        .iter()
        .chain(&second.changes)
        .map(|c| c.cursor.parse().expect("numeric cursor"))
        .collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");

    let empty = client
        .list_changes(proto::ListChangesRequest {
            after_cursor: second.next_cursor.clone(),
            page_size: 0,
            institution: String::new(),
        })
        .await
        .expect("page 3")
        .into_inner();
    assert!(empty.changes.is_empty());
    assert_eq!(empty.next_cursor, second.next_cursor, "cursor stays put");

    let other = client
        .list_changes(proto::ListChangesRequest {
            after_cursor: String::new(),
            page_size: 10,
            institution: "univ-tours".into(),
        })
        .await
        .expect("filtered")
        .into_inner();
    assert!(other.changes.is_empty());

    for (cursor, size) in [("abc", 10), ("-4", 10), ("", 5000)] {
        let status = client
            .list_changes(proto::ListChangesRequest {
                after_cursor: cursor.into(),
                page_size: size,
                institution: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{cursor} {size}");
    }
}

#[tokio::test]
async fn provisioning_is_audited() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.provision(montpellier_staff(&format!("RH{i}"), "Jane", "Doe"))
            .await
            .expect("provisioned");
    }
    let mut client = app.lifecycle.clone();
    let first = client
        .list_audit_events(proto::ListAuditEventsRequest {
            institution: "umontpellier".into(),
            account: None,
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .expect("audit page 1")
        .into_inner();
    assert_eq!(first.events.len(), 2);
    assert!(!first.next_page_token.is_empty());
    let second = client
        .list_audit_events(proto::ListAuditEventsRequest {
            institution: "umontpellier".into(),
            account: None,
            page_size: 2,
            page_token: first.next_page_token.clone(),
        })
        .await
        .expect("audit page 2")
        .into_inner();
    assert_eq!(second.events.len(), 1);
    let all: Vec<_> = first.events.iter().chain(&second.events).collect();
    assert!(all.iter().all(|e| e.action == "account.provisioned"));
    let ids: std::collections::HashSet<_> = all.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(ids.len(), 3);
    assert!(
        all.iter()
            .all(|e| !e.request_id.is_empty() && !e.actor.is_empty())
    );

    let one = client
        .list_audit_events(proto::ListAuditEventsRequest {
            institution: String::new(),
            account: Some(proto::AccountSelector {
                institution: "umontpellier".into(),
                identifier: Some(Identifier::Login("jane.doe2@umontpellier.fr".into())),
            }),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("account audit")
        .into_inner();
    assert_eq!(one.events.len(), 1);
    assert_eq!(
        one.events[0].details.get("login").map(String::as_str),
        Some("jane.doe2@umontpellier.fr")
    );

    let status = client
        .list_audit_events(proto::ListAuditEventsRequest {
            institution: "umontpellier".into(),
            account: None,
            page_size: 10,
            page_token: "garbage".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

/// Issue 20: a photo refused while activating (the only place Bordeaux's
/// document offers it) never reached the feed; only a refusal made later
/// from the account page did.
#[tokio::test]
async fn a_photo_refused_while_activating_reaches_the_feed() {
    let app = spawn_app().await;
    let provisioned = app
        .provision(bordeaux_student("21900999", "Paul", "Sansphoto"))
        .await
        .expect("provision");
    let id = provisioned.account.clone().expect("account").account_id;
    app.activate_answering(&provisioned, "Garonne#2026!", true)
        .await;
    let kinds: Vec<i32> = app.changes_of(&id).await.iter().map(|c| c.kind).collect();
    assert!(
        kinds.contains(&(proto::ChangeKind::PhotoDeletionRequested as i32)),
        "{kinds:?}"
    );
}

/// A resync reads every account of an institution a page at a time, with
/// the feed's position noted before the first page.
#[tokio::test]
async fn ldap_entries_page_through_an_institution() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.provision(bordeaux_student(&format!("2310000{i}"), "Ada", "Lovelace"))
            .await
            .expect("provisioned");
    }
    app.provision(montpellier_staff("RH-77", "Alan", "Turing"))
        .await
        .expect("provisioned");
    let mut client = app.lifecycle.clone();
    let page = |token: &str, size| proto::ListLdapEntriesRequest {
        institution: "u-bordeaux-montaigne".into(),
        page_size: size,
        page_token: token.into(),
    };
    let first = client
        .list_ldap_entries(page("", 2))
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(first.entries.len(), 2);
    let position = app.last_cursor().await;
    assert_eq!(first.feed_cursor, position);
    // A change made during the resync is after the noted position.
    app.provision(bordeaux_student("23100009", "Grace", "Hopper"))
        .await
        .expect("provisioned");
    let second = client
        .list_ldap_entries(page(&first.next_page_token, 2))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(second.feed_cursor, position);
    let uids: Vec<String> = first
        .entries
        .iter()
        .chain(&second.entries)
        .map(|e| {
            let uid = e.entry.iter().find(|a| a.name == "uid").expect("uid");
            assert!(!e.password_usable);
            uid.values[0].clone()
        })
        .collect();
    assert_eq!(uids.len(), 4, "{uids:?}");
    for (institution, token, size) in [
        ("u-bordeaux-montaigne", "nonsense", 10),
        ("u-bordeaux-montaigne", "", 5000),
        ("nowhere", "", 10),
    ] {
        let status = client
            .list_ldap_entries(proto::ListLdapEntriesRequest {
                institution: institution.into(),
                page_size: size,
                page_token: token.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{institution} {token}"
        );
    }
}

/// Issue 29: the expiry batch forgets the feed's old entries only once
/// every reader has read them; a reader silent for a month no longer holds
/// them back, and a cursor older than what is kept is refused.
#[tokio::test]
async fn old_changes_are_forgotten_once_every_reader_has_read_them() {
    let app = spawn_app().await;
    for i in 0..4 {
        app.provision(bordeaux_student(&format!("2397000{i}"), "Jean", "Moulin"))
            .await
            .expect("provisioned");
    }
    let mut worker = proto::account_lifecycle_service_client::AccountLifecycleServiceClient::new(
        authed(&app.channel, "ldap_sync", None),
    );
    let read = |after: &str| proto::ListChangesRequest {
        after_cursor: after.into(),
        page_size: 2,
        institution: String::new(),
    };
    let first = worker
        .list_changes(read(""))
        .await
        .expect("page")
        .into_inner();
    let second_cursor = first.next_cursor.clone();
    // An administrator's tool reads everything, then says nothing for
    // weeks: it holds nothing back.
    let last = app.last_cursor().await;

    // Five weeks on, the worker asks for the changes after its second.
    app.clock.set(noon(date("2026-10-08")));
    worker
        .list_changes(read(&second_cursor))
        .await
        .expect("page 2");
    let forgotten = app
        .batch_on("2026-10-08")
        .await
        .records_forgotten
        .expect("counts");
    assert_eq!(forgotten.feed_entries, 2, "the two it has read");
    assert_eq!(forgotten.feed_entries_kept_for_readers, 2, "{forgotten:?}");

    // Its cursor still reads every change after it; a cursor before what
    // is kept does not.
    let rest = worker
        .list_changes(read(&second_cursor))
        .await
        .expect("the rest")
        .into_inner();
    assert_eq!(rest.changes.len(), 2);
    let missed = worker.list_changes(read("1")).await.unwrap_err();
    assert_eq!(precondition(&missed), "CURSOR_EXPIRED");
    let oldest = worker
        .list_changes(read(""))
        .await
        .expect("from the oldest kept");
    assert_eq!(
        oldest.into_inner().changes[0].cursor,
        rest.changes[0].cursor
    );

    // Once it has read them all, they go too; twice at once, once.
    worker.list_changes(read(&last)).await.expect("caught up");
    let (a, b) = tokio::join!(app.batch_on("2026-10-09"), app.batch_on("2026-10-09"));
    let counts = |r: proto::RunExpiryBatchResponse| {
        let f = r.records_forgotten.expect("counts");
        (f.feed_entries, f.feed_entries_kept_for_readers)
    };
    let (a, b) = (counts(a), counts(b));
    assert_eq!(a.0 + b.0, 2, "{a:?} {b:?}");
    assert_eq!((a.1, b.1), (0, 0));
}
