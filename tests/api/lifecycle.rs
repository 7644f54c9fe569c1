//! After people leave: end of activity and each profile's retention,
//! extensions, locks, the expiry batch (a year of departures, re-runs, a run
//! cut short, two runs at once) and what the LDAP sync worker reads.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use ent_identity::proto;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::*;

/// For tests that read back the feed of months gone by, which no reader
/// read meanwhile: `[retention] feed_entries` beyond them.
fn feed_kept_ten_years() -> (String, String) {
    (
        "ENT_IDENTITY__RETENTION__FEED_ENTRIES".into(),
        "3650days".into(),
    )
}

const UM: &str = "umontpellier";

fn um_record(profile: &str, n: u32) -> proto::ProvisionRecord {
    let mut record = montpellier_staff(
        &format!("RH-{profile}-{n}"),
        "Camille",
        &format!("Durand{}", letters(n)),
    );
    record.profile = profile.into();
    record
}

fn um_student(n: u32) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: UM.into(),
        profile: "student".into(),
        student_number: format!("{:08}", 21_000_000 + n),
        given_name: "Léa".into(),
        family_name: format!("Martin{}", letters(n)),
        birth_date: "2005-04-12".into(),
        personal_mail: format!("lea.{n}@example.net"),
        ..Default::default()
    }
}

/// Distinct family names without digits (logins are built from names).
fn letters(mut n: u32) -> String {
    let mut s = String::new();
    loop {
        s.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

impl TestApp {
    /// The batch for Montpellier as of the server's clock.
    async fn batch_now(&self) -> proto::RunExpiryBatchResponse {
        self.batch(proto::RunExpiryBatchRequest {
            institution: UM.into(),
            ..Default::default()
        })
        .await
    }

    async fn request_extension(&self, id: &str) -> Result<proto::ExtensionRequest, tonic::Status> {
        self.lifecycle
            .clone()
            .request_extension(proto::RequestExtensionRequest {
                account: by_id(id),
                reason: "fin de thèse en cours".into(),
            })
            .await
            .map(|r| r.into_inner().request.expect("request"))
    }

    async fn decide(
        &self,
        request_id: &str,
        approve: bool,
    ) -> Result<proto::ExtensionRequest, tonic::Status> {
        self.lifecycle
            .clone()
            .decide_extension_request(proto::DecideExtensionRequestRequest {
                request_id: request_id.into(),
                approve,
                comment: "vu avec le service RH".into(),
            })
            .await
            .map(|r| r.into_inner().request.expect("request"))
    }
}

fn status(account: &proto::Account) -> proto::AccountStatus {
    proto::AccountStatus::try_from(account.status).expect("status")
}

fn total(r: &proto::RunExpiryBatchResponse) -> u32 {
    r.activations_opened
        + r.accounts_limited
        + r.accounts_expired
        + r.notices_sent
        + r.password_reminders_sent
        + r.passwords_expired
        + r.accounts_purged
}

#[tokio::test]
async fn each_profile_keeps_its_account_for_its_rule() {
    let app = spawn_app().await;
    // (profile, last day, retention end) from the seed: 12, 3, 6, 6 months;
    // students until 31 December after their academic year.
    let cases = [
        ("staff_tenured", "2026-06-30", "2027-06-30"),
        ("staff_other", "2026-11-30", "2027-02-28"),
        ("vacataire", "2026-08-31", "2027-02-28"),
        ("hosted_education", "2027-03-31", "2027-09-30"),
        ("student", "2027-08-31", "2027-12-31"),
        ("student", "2027-09-01", "2028-12-31"),
        ("student", "2026-10-15", "2027-12-31"),
    ];
    for (n, (profile, end, kept_until)) in cases.iter().enumerate() {
        let record = if *profile == "student" {
            um_student(n as u32)
        } else {
            um_record(profile, n as u32)
        };
        let provisioned = app
            .provision(record)
            .await
            .expect("provision")
            .account
            .expect("account");
        let account = app
            .depart(&provisioned.account_id, end)
            .await
            .expect("end of activity");
        assert_eq!(account.end_of_activity_date, *end, "{profile}");
        assert_eq!(
            account.retention_end_date, *kept_until,
            "{profile} leaving {end}"
        );
        // The clock is 2026-09-01: a past last day limits access at once,
        // a future one waits for the batch.
        let expected = if date(end) < date("2026-09-01") {
            proto::AccountStatus::Grace
        } else {
            status(&provisioned)
        };
        assert_eq!(status(&account), expected, "{profile} leaving {end}");
        if expected == proto::AccountStatus::Grace {
            assert_eq!(
                account.supann_ressource_etat_date,
                format!(
                    "{{COMPTE}}A:SupannSursis:20260901:{}",
                    kept_until.replace('-', "")
                )
            );
        }
    }

    // The same report twice changes nothing; a correction moves the dates.
    let id = app
        .provision(um_record("staff_other", 50))
        .await
        .expect("provision")
        .account
        .expect("account")
        .account_id;
    app.depart(&id, "2026-06-30").await.expect("first");
    let before = app.all_changes().await.len();
    let again = app.depart(&id, "2026-06-30").await.expect("again");
    assert_eq!(app.all_changes().await.len(), before);
    assert_eq!(again.retention_end_date, "2026-09-30");
    let corrected = app
        .depart(&id, "2026-12-31")
        .await
        .expect("corrected forwards");
    assert_eq!(status(&corrected), proto::AccountStatus::Created);
    assert_eq!(corrected.retention_end_date, "2027-03-31");

    // Bad input changes nothing.
    let err = app.depart(&id, "31/12/2026").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), ["end_date"]);
    let err = app
        .depart("01900000-0000-7000-8000-000000000000", "2026-12-31")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(
        app.account_by_id(&id).await.end_of_activity_date,
        "2026-12-31"
    );

    // Every step is in the account's audit trail.
    let events = app
        .lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            account: by_id(&id),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "account.end_of_activity",
            "account.end_of_activity",
            "account.provisioned"
        ]
    );
    assert!(events.iter().all(|e| !e.request_id.is_empty()));
}

/// A year of departures, the batch run every day: each account is told 30
/// and 7 days before its last day, expires the day after it and is purged
/// 30 days later (this test's purge delay).
#[tokio::test]
async fn a_year_of_departures() {
    let app = spawn_app_with(
        vec![
            (
                "ENT_IDENTITY__INSTITUTIONS__UMONTPELLIER__LIFECYCLE__PURGE_AFTER".into(),
                "30days".into(),
            ),
            // The feed keeps the year this test reads back at its end.
            feed_kept_ten_years(),
        ],
        true,
    )
    .await;
    let people = [
        ("staff_other", "2026-09-15"),
        ("vacataire", "2026-10-31"),
        ("staff_tenured", "2026-09-30"),
        ("student", "2026-12-20"),
    ];
    let mut ids = Vec::new();
    for (n, (profile, end)) in people.iter().enumerate() {
        let record = if *profile == "student" {
            um_student(100 + n as u32)
        } else {
            um_record(profile, 100 + n as u32)
        };
        let provisioned = app.provision(record).await.expect("provision");
        let account = provisioned.account.expect("account");
        app.depart(&account.account_id, end)
            .await
            .expect("end of activity");
        ids.push((account.account_id.clone(), notice_to(&account)));
    }
    // Each day the batch runs; when it did something, a second run must
    // find nothing left to do.
    let mut day = date("2026-09-02");
    while day <= date("2028-02-05") {
        app.clock.set(noon(day));
        let first = app.batch_now().await;
        assert!(first.complete);
        if total(&first) > 0 {
            let second = app.batch_now().await;
            assert_eq!(
                total(&second),
                0,
                "a second run on {day} did something: {second:?}"
            );
        }
        day = day.succ_opt().expect("next day");
    }
    // The day each account expired and was purged, from the feed.
    let changes = app.all_changes().await;
    let day_of = |id: &str, kind: proto::ChangeKind| {
        let found: Vec<NaiveDate> = changes
            .iter()
            .filter(|c| {
                c.kind == kind as i32 && c.account.as_ref().is_some_and(|a| a.account_id == id)
            })
            .map(|c| {
                DateTime::from_timestamp(c.occurred_at.expect("time").seconds, 0)
                    .expect("instant")
                    .date_naive()
            })
            .collect();
        assert_eq!(found.len(), 1, "{kind:?} of {id}: {found:?}");
        found[0]
    };
    let expected = [
        ("2026-12-15", "2026-12-16"),
        ("2027-04-30", "2027-05-01"),
        ("2027-09-30", "2027-10-01"),
        ("2027-12-31", "2028-01-01"),
    ];
    for ((id, mail), (last, expires)) in ids.iter().zip(expected) {
        assert_eq!(
            day_of(id, proto::ChangeKind::Expired),
            date(expires),
            "{mail}"
        );
        assert_eq!(
            day_of(id, proto::ChangeKind::Purged),
            date(expires) + Duration::days(30),
            "{mail}"
        );
        let account = app.account_by_id(id).await;
        assert_eq!(account.given_name, "");
        assert_eq!(account.hr_id, "");
        assert_eq!(account.student_number, "");
        assert_eq!(account.retention_end_date, last);
        // Exactly two notices each: 30 and 7 days before the last day.
        // (A student's personal address also got the activation link.)
        let notices_in = |mails: Vec<String>| -> Vec<String> {
            mails
                .into_iter()
                .map(|m| decoded(&m))
                .filter(|m| m.contains("jour(s)"))
                .collect()
        };
        let mut notices = notices_in(app.mails_to(mail));
        for _ in 0..100 {
            if notices.len() >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            notices = notices_in(app.mails_to(mail));
        }
        assert_eq!(notices.len(), 2, "{mail}");
        // Both may be delivered in one poll: their order on disk is not
        // their order of sending.
        for left in ["30 jour(s)", "7 jour(s)"] {
            assert!(
                notices.iter().any(|n| n.contains(left)),
                "{left}: {notices:?}"
            );
        }
    }
    // Only tenured staff are told they may ask for more time.
    let offers = |mail: &str| {
        app.mails_to(mail)
            .iter()
            .all(|m| decoded(m).contains("prolongation"))
    };
    assert!(offers(&ids[2].1));
    assert!(
        app.mails_to(&ids[0].1)
            .iter()
            .all(|m| !decoded(m).contains("prolongation"))
    );
}

#[tokio::test]
async fn extensions_for_renewable_profiles() {
    let app = spawn_app().await;
    let tenured = app
        .provision(um_record("staff_tenured", 1))
        .await
        .expect("provision")
        .account
        .expect("account");
    let other = app
        .provision(um_record("staff_other", 2))
        .await
        .expect("provision")
        .account
        .expect("account");

    // No departure recorded yet.
    let err = app
        .request_extension(&tenured.account_id)
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "NO_DEPARTURE");
    app.depart(&tenured.account_id, "2026-08-31")
        .await
        .expect("depart");
    app.depart(&other.account_id, "2026-08-31")
        .await
        .expect("depart");
    // Other staff cannot extend.
    let err = app.request_extension(&other.account_id).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(precondition(&err), "NOT_RENEWABLE");

    // Tenured staff: an administrator decides.
    let request = app
        .request_extension(&tenured.account_id)
        .await
        .expect("request");
    assert_eq!(request.state, proto::ExtensionState::Pending as i32);
    assert_eq!(request.previous_retention_end_date, "2027-08-31");
    let err = app
        .request_extension(&tenured.account_id)
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "EXTENSION_PENDING");
    let pending = app
        .lifecycle
        .clone()
        .list_extension_requests(proto::ListExtensionRequestsRequest {
            institution: UM.into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(pending.requests.len(), 1);
    assert_eq!(pending.requests[0].login, tenured.login);
    let approved = app
        .decide(&request.request_id, true)
        .await
        .expect("approve");
    assert_eq!(approved.state, proto::ExtensionState::Approved as i32);
    assert_eq!(approved.new_retention_end_date, "2028-08-31");
    assert_eq!(
        app.account_by_id(&tenured.account_id)
            .await
            .retention_end_date,
        "2028-08-31"
    );
    let err = app.decide(&request.request_id, false).await.unwrap_err();
    assert_eq!(precondition(&err), "EXTENSION_DECIDED");
    let mail = decoded(&app.wait_for_mail_to(&notice_to(&tenured), 1).await);
    assert!(
        mail.contains("accordée") && mail.contains("31/08/2028"),
        "{mail}"
    );

    // A denial changes nothing but is told.
    let second = app
        .request_extension(&tenured.account_id)
        .await
        .expect("request");
    let denied = app.decide(&second.request_id, false).await.expect("deny");
    assert_eq!(denied.state, proto::ExtensionState::Denied as i32);
    assert_eq!(denied.new_retention_end_date, "");
    assert_eq!(
        app.account_by_id(&tenured.account_id)
            .await
            .retention_end_date,
        "2028-08-31"
    );
    let mails = app.wait_for_mails_to(&notice_to(&tenured), 2).await;
    assert!(
        mails
            .iter()
            .any(|m| decoded(m).contains("pas été accordée"))
    );
    let decided = app
        .lifecycle
        .clone()
        .list_extension_requests(proto::ListExtensionRequestsRequest {
            institution: UM.into(),
            state: proto::ExtensionState::Approved as i32,
            page_size: 1,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(decided.requests.len(), 1);
    assert_eq!(decided.requests[0].request_id, request.request_id);

    // Unknown or malformed requests.
    let err = app.decide("not-a-uuid", true).await.unwrap_err();
    assert_eq!(violations(&err), ["request_id"]);
    let err = app
        .decide("01900000-0000-7000-8000-000000000000", true)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // The feed tells the directory the new end.
    let changes = app.all_changes().await;
    let extended = changes
        .iter()
        .find(|c| c.kind == proto::ChangeKind::Extended as i32)
        .expect("extended change");
    let attribute = &extended.ldap_attributes[0];
    assert_eq!(attribute.name, "supannRessourceEtatDate");
    assert!(
        attribute.values[0].ends_with(":20280831"),
        "{:?}",
        attribute.values
    );
}

#[tokio::test]
async fn automatic_extensions_and_no_requests_after_expiry() {
    let app = spawn_app_with(
        vec![(
            "ENT_IDENTITY__INSTITUTIONS__UMONTPELLIER__PROFILES__STAFF_TENURED__RETENTION__EXTENSION_APPROVAL".into(),
            "automatic".into(),
        )],
        true,
    )
    .await;
    let a = app
        .provision(um_record("staff_tenured", 1))
        .await
        .expect("provision")
        .account
        .expect("account");
    app.depart(&a.account_id, "2025-09-30")
        .await
        .expect("depart");
    let granted = app.request_extension(&a.account_id).await.expect("request");
    assert_eq!(granted.state, proto::ExtensionState::Approved as i32);
    assert_eq!(granted.decided_by, "policy");
    assert_eq!(granted.new_retention_end_date, "2027-09-30");

    // Expired accounts cannot ask any more.
    let b = app
        .provision(um_record("staff_tenured", 2))
        .await
        .expect("provision")
        .account
        .expect("account");
    app.depart(&b.account_id, "2025-06-30")
        .await
        .expect("depart");
    let report = app.batch_now().await;
    assert_eq!(report.accounts_expired, 1);
    let err = app.request_extension(&b.account_id).await.unwrap_err();
    assert_eq!(precondition(&err), "ACCOUNT_EXPIRED");
    let err = app.depart(&b.account_id, "2026-06-30").await.unwrap_err();
    assert_eq!(precondition(&err), "ACCOUNT_EXPIRED");
}

#[tokio::test]
async fn a_run_cut_short_finishes_on_the_next_run_and_dry_runs_change_nothing() {
    let app = spawn_app().await;
    let mut mails = Vec::new();
    for n in 0..12 {
        let a = app
            .provision(um_record("staff_other", n))
            .await
            .expect("provision")
            .account
            .expect("account");
        // Four departure days: chunks end inside a day and between days.
        app.depart(&a.account_id, &format!("2026-05-{}", 25 + n % 4))
            .await
            .expect("depart");
        mails.push(notice_to(&a));
    }
    let as_of = Some(prost_types::Timestamp {
        seconds: noon(date("2026-09-10")).timestamp(),
        nanos: 0,
    });
    // Issue 20: a run that changes things cannot act ahead of time (it
    // would close accounts early and report as sent notices whose mail
    // waits for that day); a dry run previews that day.
    let ahead = app
        .lifecycle
        .clone()
        .run_expiry_batch(proto::RunExpiryBatchRequest {
            as_of,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&ahead), ["as_of"]);
    assert!(
        ahead
            .get_details_localized_message()
            .is_some_and(|m| !m.message.contains("as_of")),
        "{ahead:?}"
    );
    // A dry run reports and writes nothing.
    let dry = app
        .batch(proto::RunExpiryBatchRequest {
            as_of,
            dry_run: true,
            chunk_size: 5,
            ..Default::default()
        })
        .await;
    assert_eq!(dry.accounts_expired, 12);
    assert_eq!(dry.planned_actions.len(), 12);
    assert!(
        dry.planned_actions
            .iter()
            .all(|a| a.action == "account_expired")
    );
    let changes_before = app.all_changes().await.len();
    assert_eq!(app.all_changes().await.len(), changes_before);

    app.clock.set(noon(date("2026-09-10")));
    // Killed after two chunks of five...
    let cut = app
        .batch(proto::RunExpiryBatchRequest {
            as_of,
            chunk_size: 5,
            max_chunks: 2,
            ..Default::default()
        })
        .await;
    assert!(!cut.complete);
    assert_eq!(cut.accounts_expired, 10);
    // ...and run again: the rest, and nothing twice.
    let rest = app
        .batch(proto::RunExpiryBatchRequest {
            as_of,
            chunk_size: 5,
            ..Default::default()
        })
        .await;
    assert!(rest.complete);
    assert_eq!(rest.accounts_expired, 2);
    let again = app
        .batch(proto::RunExpiryBatchRequest {
            as_of,
            ..Default::default()
        })
        .await;
    assert_eq!(total(&again), 0);
    let expired = app
        .all_changes()
        .await
        .into_iter()
        .filter(|c| c.kind == proto::ChangeKind::Expired as i32)
        .count();
    assert_eq!(expired, 12);

    // Bad requests.
    let err = app
        .lifecycle
        .clone()
        .run_expiry_batch(proto::RunExpiryBatchRequest {
            institution: "nowhere".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["institution"]);
    let err = app
        .lifecycle
        .clone()
        .run_expiry_batch(proto::RunExpiryBatchRequest {
            chunk_size: 100_000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["chunk_size"]);
}

/// Two batches at once share the work: every account is handled once.
#[tokio::test]
async fn two_batches_at_once_never_handle_an_account_twice() {
    let app = spawn_app().await;
    let mut records = Vec::new();
    for n in 0..120 {
        records.push(um_record("staff_other", n));
    }
    let mut ids = Vec::new();
    for record in records {
        let a = app
            .provision(record)
            .await
            .expect("provision")
            .account
            .expect("account");
        app.depart(&a.account_id, "2026-04-30")
            .await
            .expect("depart");
        ids.push(a.account_id);
    }
    app.clock.set(noon(date("2026-09-10")));
    let as_of = Some(prost_types::Timestamp {
        seconds: noon(date("2026-09-10")).timestamp(),
        nanos: 0,
    });
    let run = || {
        let app = &app;
        async move {
            app.batch(proto::RunExpiryBatchRequest {
                as_of,
                chunk_size: 7,
                ..Default::default()
            })
            .await
        }
    };
    let (a, b) = tokio::join!(run(), run());
    assert_eq!(a.accounts_expired + b.accounts_expired, 120, "{a:?} {b:?}");
    let changes = app.all_changes().await;
    for id in &ids {
        let expired = changes
            .iter()
            .filter(|c| {
                c.kind == proto::ChangeKind::Expired as i32
                    && c.account.as_ref().is_some_and(|a| &a.account_id == id)
            })
            .count();
        assert_eq!(expired, 1, "{id}");
    }
}

/// The LDAP sync worker reads the feed while many requests commit at once:
/// following the cursor never skips a change (on PostgreSQL, transactions
/// commit out of order).
#[tokio::test]
async fn the_feed_cursor_never_skips_a_change_under_concurrent_writers() {
    let app = spawn_app().await;
    let writers = 6;
    let per_writer = 15;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let mut client = app.lifecycle.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut cursor = String::new();
            let mut seen = Vec::new();
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = client
                    .list_changes(proto::ListChangesRequest {
                        after_cursor: cursor.clone(),
                        page_size: 50,
                        institution: String::new(),
                    })
                    .await
                    .expect("list")
                    .into_inner();
                seen.extend(page.changes.iter().map(|c| c.cursor.clone()));
                cursor = page.next_cursor;
                if finished && page.changes.is_empty() {
                    return seen;
                }
            }
        })
    };
    let mut tasks = Vec::new();
    for w in 0..writers {
        let client = app.lifecycle.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            for i in 0..per_writer {
                let mut record = um_record("staff_other", w * 1000 + i);
                record.hr_id = format!("RH-C-{w}-{i}");
                let a = client
                    .provision_account(proto::ProvisionAccountRequest {
                        reissue_pending_material: false,
                        record: Some(record),
                    })
                    .await
                    .expect("provision")
                    .into_inner()
                    .account
                    .expect("account");
                client
                    .set_account_lock(proto::SetAccountLockRequest {
                        account: by_id(&a.account_id),
                        locked: true,
                        reason: "test".into(),
                    })
                    .await
                    .expect("lock");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer");
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.expect("reader");
    let all: Vec<String> = app
        .all_changes()
        .await
        .into_iter()
        .map(|c| c.cursor)
        .collect();
    assert_eq!(all.len(), (writers * per_writer * 2) as usize);
    assert_eq!(
        seen, all,
        "the reader following the cursor missed or reordered changes"
    );

    // A watch sends what exists, then what comes.
    let mut watch = app
        .lifecycle
        .clone()
        .watch_changes(proto::WatchChangesRequest {
            after_cursor: all[all.len() - 2].clone(),
            institution: UM.into(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("stream").expect("change");
    assert_eq!(first.change.expect("change").cursor, all[all.len() - 1]);
    let a = app
        .provision(um_record("staff_other", 99_999))
        .await
        .expect("provision");
    let next = tokio::time::timeout(std::time::Duration::from_secs(10), watch.message())
        .await
        .expect("in time")
        .expect("stream")
        .expect("change")
        .change
        .expect("change");
    assert_eq!(next.kind, proto::ChangeKind::Created as i32);
    assert_eq!(
        next.account.expect("account").account_id,
        a.account.expect("account").account_id
    );
}

/// Locks hide the account's life: the batch goes on under them.
#[tokio::test]
async fn locks_and_the_feed_the_directory_reads() {
    let app = spawn_app().await;
    let active = app
        .active_account(um_record("staff_other", 7), "Qz7#Kp2wLm9x")
        .await;
    let id = active.account_id.clone();
    let lock = |locked| proto::SetAccountLockRequest {
        account: by_id(&id),
        locked,
        reason: "compte compromis".into(),
    };
    let locked = app
        .lifecycle
        .clone()
        .set_account_lock(lock(true))
        .await
        .expect("lock")
        .into_inner()
        .account
        .expect("account");
    assert_eq!(status(&locked), proto::AccountStatus::Locked);
    assert!(
        locked
            .supann_ressource_etat_date
            .starts_with("{COMPTE}S:SupannVerrouille")
    );
    // Departure and expiry happen under the lock.
    app.depart(&id, "2026-05-31").await.expect("depart");
    app.clock.set(noon(date("2026-09-10")));
    let report = app
        .batch(proto::RunExpiryBatchRequest {
            as_of: Some(prost_types::Timestamp {
                seconds: noon(date("2026-09-10")).timestamp(),
                nanos: 0,
            }),
            institution: UM.into(),
            ..Default::default()
        })
        .await;
    assert_eq!(report.accounts_expired, 1);
    let unlocked = app
        .lifecycle
        .clone()
        .set_account_lock(lock(false))
        .await
        .expect("unlock")
        .into_inner()
        .account
        .expect("account");
    assert_eq!(status(&unlocked), proto::AccountStatus::Expired);

    // What the directory reads.
    let changes = app.changes_of(&id).await;
    let kinds: Vec<i32> = changes.iter().map(|c| c.kind).collect();
    use proto::ChangeKind as K;
    for kind in [K::Created, K::Activated, K::Locked, K::Expired, K::Unlocked] {
        assert!(
            kinds.contains(&(kind as i32)),
            "{kind:?} missing from {kinds:?}"
        );
    }
    let attr = |change: &proto::AccountChange, name: &str| {
        change
            .ldap_attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.values.clone())
    };
    let activated = changes
        .iter()
        .find(|c| c.kind == K::Activated as i32)
        .expect("activated");
    let password = attr(activated, "userPassword").expect("userPassword");
    assert!(
        password[0].starts_with("{ARGON2}$argon2id$"),
        "{password:?}"
    );
    assert_eq!(
        activated.password_hash,
        password[0].trim_start_matches("{ARGON2}")
    );
    assert_eq!(
        attr(activated, "supannMailPerso")
            .expect("mail perso")
            .len(),
        1
    );
    assert!(attr(activated, "supannListeRouge").is_some());
    let created = changes
        .iter()
        .find(|c| c.kind == K::Created as i32)
        .expect("created");
    assert_eq!(
        attr(created, "supannEmpId").expect("emp id"),
        std::slice::from_ref(&active.hr_id)
    );
    // Expired under the lock, the entry stays locked; the unlock shows the
    // expiry the lock hid.
    let of = |kind: K| {
        changes
            .iter()
            .find(|c| c.kind == kind as i32)
            .expect("change")
    };
    let expired = of(K::Expired);
    assert!(
        attr(expired, "supannRessourceEtatDate").expect("state")[0]
            .starts_with("{COMPTE}S:SupannVerrouille")
    );
    assert!(expired.password_hash.is_empty());
    assert!(
        attr(of(K::Unlocked), "supannRessourceEtatDate").expect("state")[0]
            .starts_with("{COMPTE}I:SupannExpire")
    );
}

/// Purged accounts keep a tombstone and free their identifiers: the same
/// person hired again gets a new account with a new login.
#[tokio::test]
async fn purge_keeps_a_tombstone_and_frees_identifiers() {
    let app = spawn_app().await;
    let record = um_record("staff_other", 3);
    let first = app
        .provision(record.clone())
        .await
        .expect("provision")
        .account
        .expect("account");
    app.depart(&first.account_id, "2026-01-31")
        .await
        .expect("depart");
    for day in ["2026-09-02", "2026-12-31"] {
        app.batch_on(day).await;
    }
    let tombstone = app.account_by_id(&first.account_id).await;
    assert_eq!(status(&tombstone), proto::AccountStatus::DataDeleted);
    assert_eq!(
        (
            tombstone.given_name.as_str(),
            tombstone.family_name.as_str(),
            tombstone.hr_id.as_str()
        ),
        ("", "", "")
    );
    assert_eq!(tombstone.login, first.login);
    let purged = app
        .all_changes()
        .await
        .into_iter()
        .find(|c| c.kind == proto::ChangeKind::Purged as i32)
        .expect("purged change");
    // inetOrgPerson requires `sn`: the tombstone keeps the login there.
    assert!(
        purged
            .ldap_attributes
            .iter()
            .any(|a| a.name == "sn" && a.values == [first.login.clone()])
    );

    let again = app.provision(record).await.expect("provision again");
    assert_eq!(again.outcome, proto::ProvisionOutcome::Created as i32);
    let second = again.account.expect("account");
    assert_ne!(second.account_id, first.account_id);
    assert_ne!(second.login, first.login);
    // The audit trail of the purged account remains.
    let events = app
        .lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            account: by_id(&first.account_id),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[..3],
        [
            "account.purged",
            "account.expired",
            "account.end_of_activity"
        ][..]
    );
}

/// Tours passwords live one year: reminders 14 and 3 days before, then the
/// password must be changed.
#[tokio::test]
async fn passwords_past_their_maximum_age_are_reminded_then_expired() {
    let app = spawn_app().await;
    let mut record = tours_student("22012345", &ine_bea(2012345), "07 88 10 25 99");
    record.personal_mail = "lea.perso@example.org".into();
    let account = app.active_account(record, "velo7Tours9").await;
    // Tours collects no recovery address.
    assert!(account.recovery_mail.is_empty());
    let expires: DateTime<Utc> =
        DateTime::from_timestamp(account.password_expires_at.expect("expiry").seconds, 0)
            .expect("instant");
    let run = |at: DateTime<Utc>| {
        let app = &app;
        async move {
            app.clock.set(at);
            app.batch(proto::RunExpiryBatchRequest {
                institution: "univ-tours".into(),
                ..Default::default()
            })
            .await
        }
    };
    assert_eq!(total(&run(expires - Duration::days(15)).await), 0);
    assert_eq!(
        run(expires - Duration::days(14))
            .await
            .password_reminders_sent,
        1
    );
    assert_eq!(total(&run(expires - Duration::days(10)).await), 0);
    assert_eq!(
        run(expires - Duration::days(2))
            .await
            .password_reminders_sent,
        1
    );
    assert_eq!(run(expires + Duration::hours(1)).await.passwords_expired, 1);
    assert_eq!(total(&run(expires + Duration::days(1)).await), 0);
    let after = app.account_by_id(&account.account_id).await;
    assert!(after.password_must_change);
    // Issue 20: to the personal address given at enrolment, not to the
    // university mailbox the student may never read.
    // (The activation code went there first.)
    let mails = app.wait_for_mails_to("lea.perso@example.org", 3).await;
    let reminders: Vec<&String> = mails
        .iter()
        .filter(|m| decoded(m).contains("expire"))
        .collect();
    assert_eq!(reminders.len(), 2, "{mails:?}");
    assert!(app.mails_to(&account.institutional_mail).is_empty());
    let changes = app.all_changes().await;
    let expired = changes.last().expect("change");
    assert_eq!(expired.kind, proto::ChangeKind::PasswordExpired as i32);
    assert_eq!(expired.ldap_attributes[0].name, "pwdReset");
}

/// Where notices about `account` go when it has no verified recovery
/// address: the personal address given at enrolment, else the university
/// mailbox.
fn notice_to(account: &proto::Account) -> String {
    if account.personal_mail.is_empty() {
        account.institutional_mail.clone()
    } else {
        account.personal_mail.clone()
    }
}

/// Issue 22: the feed said what each account is now, not what each change
/// left: read after the purge, the CREATED change said SupannSupprDonnees
/// and the LIMITED change did too instead of SupannSursis.
#[tokio::test]
async fn each_change_reads_as_it_left_the_account() {
    // The feed keeps the months this test reads back.
    let app = spawn_app_with(vec![feed_kept_ten_years()], true).await;
    let active = app
        .active_account(um_record("staff_other", 11), "Qz7#Kp2wLm9x")
        .await;
    let id = active.account_id.clone();
    let of = |changes: &[proto::AccountChange], kind: proto::ChangeKind| {
        changes
            .iter()
            .find(|c| c.kind == kind as i32)
            .unwrap_or_else(|| panic!("{kind:?} missing"))
            .clone()
    };
    let entry = |c: &proto::AccountChange, name: &str| {
        c.entry
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.values.clone())
            .unwrap_or_else(|| panic!("{name} missing from {:?}", c.kind()))
    };
    use proto::ChangeKind as K;
    app.depart(&id, "2026-09-30").await.expect("depart");
    for day in ["2026-10-02", "2027-01-05"] {
        app.clock.set(noon(date(day)));
        app.batch_now().await;
    }
    let changes = app.changes_of(&id).await;
    let limited = of(&changes, K::Limited);
    assert!(
        limited.ldap_attributes[0].values[0].starts_with("{COMPTE}A:SupannSursis:20261002:2026"),
        "{:?}",
        limited.ldap_attributes
    );
    // Limited access keeps the password; expiry takes it away.
    assert!(entry(&limited, "userPassword")[0].starts_with("{ARGON2}$argon2id$"));
    assert!(limited.password_usable);
    let expired = of(&changes, K::Expired);
    assert!(entry(&expired, "userPassword").is_empty());
    assert!(!expired.password_usable);

    for day in ["2027-12-31", "2028-12-31"] {
        app.clock.set(noon(date(day)));
        app.batch_now().await;
    }
    assert_eq!(
        status(&app.account_by_id(&id).await),
        proto::AccountStatus::DataDeleted
    );
    let changes = app.changes_of(&id).await;
    let state = |kind| entry(&of(&changes, kind), "supannRessourceEtat");
    assert_eq!(state(K::Created), ["{COMPTE}I:SupannCree"]);
    assert_eq!(state(K::Activated), ["{COMPTE}A:SupannActif"]);
    assert_eq!(state(K::Limited), ["{COMPTE}A:SupannSursis"]);
    assert_eq!(state(K::Expired), ["{COMPTE}I:SupannExpire"]);
    assert_eq!(state(K::Purged), ["{COMPTE}I:SupannSupprDonnees"]);
    // The purge takes the personal data out of every earlier change too,
    // and leaves a schema-valid tombstone.
    for change in &changes {
        let account = change.account.as_ref().expect("account");
        assert_eq!(
            (account.family_name.as_str(), account.hr_id.as_str()),
            ("", ""),
            "{:?}",
            change.kind()
        );
        assert_eq!(entry(change, "sn"), std::slice::from_ref(&active.login));
        assert!(entry(change, "userPassword").is_empty());
    }
    assert!(entry(&of(&changes, K::Purged), "givenName").is_empty());
}

/// Every step of the expiry batch reads its candidates from its own lane
/// index (migration 000012 keeps only the rows a step can want): the
/// first chunk and the next (after the previous chunk's last account), in
/// every lane, as the database plans them.
#[tokio::test]
async fn every_batch_query_reads_its_partial_index() {
    use ent_identity::domain::retention::BatchStep;
    use ent_identity::store::lifecycle::{CandidateQuery, lanes};
    let app = spawn_app().await;
    let created = app
        .provision(um_record("staff_other", 1))
        .await
        .expect("provisioned");
    let store = app.store().await;
    let last = store
        .find_account(ent_identity::store::accounts::AccountLookup::Id(
            &created.account.expect("account").account_id,
        ))
        .await
        .expect("read")
        .expect("account");
    let now = start_time();
    let alumni = [("student".to_owned(), now.date_naive() + Duration::days(60))];
    for step in BatchStep::ALL {
        let index = match step {
            BatchStep::OpenActivation => "ix_accounts_lane_opening",
            BatchStep::Limit => "ix_accounts_lane_departure",
            BatchStep::KeepAsAlumni | BatchStep::Expire | BatchStep::AlumniOffer => {
                "ix_accounts_lane_retention"
            }
            BatchStep::Notice => "ix_accounts_lane_notice",
            BatchStep::PasswordReminder => "ix_accounts_lane_reminder",
            BatchStep::PasswordExpire => "ix_accounts_lane_password",
            BatchStep::Purge => "ix_accounts_lane_purge",
        };
        for lane in lanes(step) {
            for after in [None, Some(&last)] {
                let query = CandidateQuery {
                    step,
                    lane,
                    institution: UM,
                    after,
                    limit: 500,
                    now,
                    today: now.date_naive(),
                    purge_before: now,
                    alumni_requests_up_to: &alumni,
                    lock: false,
                };
                let plan = store.explain_batch_candidates(&query).await.expect("plan");
                assert!(
                    plan.contains(index),
                    "{step:?} in {lane:?} (after: {}) does not read {index}:\n{plan}",
                    after.is_some()
                );
            }
        }
    }
}

/// Issue 29: the expiry batch forgets what `[retention]` no longer keeps —
/// a flow never finished a month after it ended, audit events after a year —
/// and nothing sooner; a run twice at once forgets each record once.
#[tokio::test]
async fn the_batch_forgets_records_past_their_retention() {
    let app = spawn_app().await;
    let account = app
        .active_account(
            bordeaux_student("21977201", "Odile", "Retenue"),
            "Garonne#2026!",
        )
        .await;
    let pending = app
        .provision(bordeaux_student("21977202", "Paul", "Enattente"))
        .await
        .expect("provision");
    // Once activation opens (two days after provisioning at Bordeaux).
    app.clock.set(noon(date("2026-09-04")));
    let login = pending.account.expect("account").login;
    let key = pending.activation_material.expect("key").activation_key;
    let started = app
        .start_with_key("u-bordeaux-montaigne", &login, &key)
        .await
        .expect("started");
    let events = |id: String| {
        let mut lifecycle = app.lifecycle.clone();
        async move {
            let request = proto::ListAuditEventsRequest {
                account: by_id(&id),
                page_size: 500,
                ..Default::default()
            };
            let page = lifecycle.list_audit_events(request).await.expect("events");
            page.into_inner().events.len()
        }
    };
    let before = events(account.account_id.clone()).await;
    assert!(before > 0);

    // Three weeks on, the flow (over four hours after it started) is
    // still kept.
    let early = app
        .batch_on("2026-09-22")
        .await
        .records_forgotten
        .expect("counts");
    assert_eq!((early.audit_events, early.finished_flows), (0, 0));
    // Six weeks on, it is forgotten; the events stay.
    let flows = app
        .batch_on("2026-10-15")
        .await
        .records_forgotten
        .expect("counts");
    assert_eq!(
        flows.finished_flows, 2,
        "the unfinished flow and the completed one"
    );
    assert!(flows.spent_secrets > 0, "the key used and the codes spent");
    let gone = app
        .activation()
        .get_activation_flow(proto::GetActivationFlowRequest {
            flow_token: started.flow_token,
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(events(account.account_id.clone()).await, before);

    // A year and more after them, the events are forgotten, once though
    // two runs ask at once.
    let at = noon(date("2027-10-01"));
    app.clock.set(at);
    let (one, two) = tokio::join!(app.batch_as_of(at, 0), app.batch_as_of(at, 0));
    let forgotten =
        |r: proto::RunExpiryBatchResponse| r.records_forgotten.expect("counts").audit_events;
    assert!(forgotten(one) + forgotten(two) >= before as u64);
    assert_eq!(events(account.account_id).await, 0);
}
