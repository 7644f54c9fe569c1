//! Former students' accounts kept on consent (Bordeaux Montaigne's example
//! configuration: a request 60 days before 31 December, a "yes" keeps the
//! account one more year): the request and its link, the answer, the yearly
//! renewal, the deletion of an account whose request went unanswered, the
//! closing of a kept account at its holder's request, and two batches at
//! once.

use chrono::{Days, Months, NaiveDate};
use ent_identity::proto;
use tonic::Code;

use crate::support::*;

const PASSWORD: &str = "Qz7#Kp2wLm9x";

/// An activated Bordeaux Montaigne student who left on 31 August 2026:
/// limited access until 31 December 2026.
async fn former_student(app: &TestApp, number: &str, family: &str) -> proto::Account {
    let account = app
        .active_account(bordeaux_student(number, "Lou", family), PASSWORD)
        .await;
    let left = app
        .depart(&account.account_id, "2026-08-31")
        .await
        .expect("departure");
    assert_eq!(left.status(), proto::AccountStatus::Grace);
    assert_eq!(left.retention_end_date, "2026-12-31");
    left
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn recovery_address(account: &proto::Account) -> String {
    format!("recovery.{}@example.net", account.account_id)
}

/// The token of the `n`th request mailed to the account (its other mails
/// aside: the verification of its recovery address).
async fn last_request(app: &TestApp, account: &proto::Account, n: usize) -> String {
    let address = recovery_address(account);
    for _ in 0..100 {
        let requests: Vec<String> = app
            .mails_to(&address)
            .into_iter()
            .filter(|m| decoded(m).contains("/alumni/"))
            .collect();
        if requests.len() >= n {
            let mail = &requests[n - 1];
            assert!(
                decoded(mail).contains("la messagerie"),
                "the services kept: {mail}"
            );
            return link_token(mail, "mon-compte/alumni");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no request {n} to {address}");
}

async fn offer(app: &TestApp, token: &str) -> Result<proto::GetAlumniOfferResponse, tonic::Status> {
    app.account_settings()
        .get_alumni_offer(proto::GetAlumniOfferRequest {
            token: token.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn answer(
    app: &TestApp,
    token: &str,
    keep: bool,
) -> Result<proto::AnswerAlumniOfferResponse, tonic::Status> {
    app.account_settings()
        .answer_alumni_offer(proto::AnswerAlumniOfferRequest {
            token: token.into(),
            keep,
        })
        .await
        .map(|r| r.into_inner())
}

async fn close(
    app: &TestApp,
    account_id: &str,
    password: Option<&str>,
) -> Result<proto::Account, tonic::Status> {
    let presence = password.map(|p| proto::PresenceProof {
        proof: Some(proto::presence_proof::Proof::CurrentPassword(p.into())),
    });
    app.account_settings()
        .close_alumni_account(proto::CloseAlumniAccountRequest {
            account: by_id(account_id),
            presence,
        })
        .await
        .map(|r| r.into_inner().account.expect("account"))
}

/// A former student who says "yes" keeps a reduced account a year later;
/// one year on, without an answer to the renewal, the account is deleted on
/// time.
#[tokio::test]
async fn a_former_student_who_consents_is_kept_a_year_and_deleted_without_an_answer() {
    let app = spawn_app().await;
    let lou = former_student(&app, "23100501", "Martin").await;
    let end = date("2026-12-31");
    let ask_on = end.checked_sub_days(Days::new(60)).unwrap();

    // The request waits for its day, then goes once.
    let early = app.batch_on(&day(ask_on.pred_opt().unwrap())).await;
    assert_eq!(early.alumni_offers_sent, 0);
    let asked = app.batch_on(&day(ask_on)).await;
    assert_eq!(asked.alumni_offers_sent, 1, "{asked:?}");
    assert_eq!(app.batch_on(&day(ask_on)).await.alumni_offers_sent, 0);
    let token = last_request(&app, &lou, 1).await;

    let shown = offer(&app, &token).await.expect("offer");
    assert_eq!(shown.login, lou.login);
    assert_eq!(shown.services, "la messagerie");
    assert!(!shown.renewal);
    assert_eq!(shown.period_end, "2026-12-31");
    assert_eq!(shown.kept_until, "2027-12-31");
    let unknown = offer(&app, &"0".repeat(64)).await.unwrap_err();
    assert_eq!(precondition(&unknown), "LINK_EXPIRED");

    let kept = answer(&app, &token, true).await.expect("answer");
    assert_eq!(kept.kept_until, "2027-12-31");
    // The link is spent.
    let again = answer(&app, &token, false).await.unwrap_err();
    assert_eq!(precondition(&again), "LINK_EXPIRED");

    // The last day of the period is still a limited one; the next day the
    // account is a former student's, for a year.
    let last_day = app.batch_on("2026-12-31").await;
    assert_eq!(last_day.accounts_kept_as_alumni, 0);
    let next_day = app.batch_on("2027-01-01").await;
    assert_eq!(next_day.accounts_kept_as_alumni, 1, "{next_day:?}");
    assert_eq!(next_day.accounts_expired, 0);
    let alumnus = app.account_by_id(&lou.account_id).await;
    assert_eq!(alumnus.status(), proto::AccountStatus::Alumni);
    assert_eq!(alumnus.retention_end_date, "2027-12-31");
    assert_eq!(
        alumnus.supann_ressource_etat_date,
        "{COMPTE}A:AncienEtudiant:20270101:20271231"
    );
    assert!(app.password_valid(&lou.account_id, PASSWORD).await);
    // The enrolment system's export reports the departure again: the kept
    // account stays as the person chose.
    let reported = app
        .depart(&lou.account_id, "2026-08-31")
        .await
        .expect("the same departure");
    assert_eq!(reported.status(), proto::AccountStatus::Alumni);
    assert_eq!(reported.retention_end_date, "2027-12-31");
    let kinds: Vec<i32> = app
        .changes_of(&lou.account_id)
        .await
        .iter()
        .map(|c| c.kind)
        .collect();
    assert!(kinds.contains(&(proto::ChangeKind::KeptAsAlumni as i32)));

    // A year later: the renewal request, unanswered.
    let renew_on = date("2027-12-31").checked_sub_days(Days::new(60)).unwrap();
    let renewal = app.batch_on(&day(renew_on)).await;
    assert_eq!(renewal.alumni_offers_sent, 1);
    let token = last_request(&app, &lou, 2).await;
    assert!(offer(&app, &token).await.expect("renewal").renewal);
    assert_eq!(app.batch_on("2027-12-31").await.accounts_expired, 0);
    let closed = app.batch_on("2028-01-01").await;
    assert_eq!(closed.accounts_expired, 1, "{closed:?}");
    assert_eq!(closed.accounts_kept_as_alumni, 0);
    let expired = app.account_by_id(&lou.account_id).await;
    assert_eq!(expired.status(), proto::AccountStatus::Expired);
    let refused = app
        .account_settings()
        .verify_password(proto::VerifyPasswordRequest {
            account: by_id(&lou.account_id),
            password: PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&refused), "ACCOUNT_STATE");
    // The link of an unanswered request no longer works.
    assert_eq!(
        precondition(&offer(&app, &token).await.unwrap_err()),
        "LINK_EXPIRED"
    );
    // Deleted after the institution's purge delay, within a year of the
    // request.
    let purge_on = date("2028-01-01")
        .checked_add_months(Months::new(3))
        .unwrap();
    let purged = app.batch_on(&day(purge_on)).await;
    assert_eq!(purged.accounts_purged, 1, "{purged:?}");
    assert!(purge_on < renew_on.checked_add_months(Months::new(12)).unwrap());
}

/// Without a "yes" the account closes on its retention end as before; a
/// kept account is closed whenever its holder asks, never anyone else's.
#[tokio::test]
async fn a_refusal_or_silence_closes_on_time_and_a_kept_account_closes_on_request() {
    let app = spawn_app().await;
    let silent = former_student(&app, "23100502", "Bernard").await;
    let refusing = former_student(&app, "23100503", "Petit").await;
    let keeping = former_student(&app, "23100504", "Robert").await;
    assert_eq!(app.batch_on("2026-11-15").await.alumni_offers_sent, 3);
    let no = answer(&app, &last_request(&app, &refusing, 1).await, false)
        .await
        .expect("no");
    assert_eq!(no.kept_until, "");
    assert_eq!(no.period_end, "2026-12-31");
    answer(&app, &last_request(&app, &keeping, 1).await, true)
        .await
        .expect("yes");

    // A limited account is not closed on request: it closes on its day.
    let err = close(&app, &keeping.account_id, Some(PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "ACCOUNT_STATE");

    let run = app.batch_on("2027-01-01").await;
    assert_eq!(run.accounts_expired, 2, "{run:?}");
    assert_eq!(run.accounts_kept_as_alumni, 1);
    for gone in [&silent, &refusing] {
        let account = app.account_by_id(&gone.account_id).await;
        assert_eq!(account.status(), proto::AccountStatus::Expired);
    }

    // Closing needs the person there; then their data is gone at once.
    let err = close(&app, &keeping.account_id, None).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(violations(&err), ["presence"]);
    let err = close(&app, &keeping.account_id, Some("Not-the-password-1"))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), ["presence.current_password"]);
    assert_eq!(
        app.account_by_id(&keeping.account_id).await.status(),
        proto::AccountStatus::Alumni
    );
    let closed = close(&app, &keeping.account_id, Some(PASSWORD))
        .await
        .expect("closed");
    assert_eq!(closed.status(), proto::AccountStatus::DataDeleted);
    assert_eq!(closed.given_name, "");
    let purged = app
        .changes_of(&keeping.account_id)
        .await
        .into_iter()
        .filter(|c| c.kind == proto::ChangeKind::Purged as i32)
        .count();
    assert_eq!(purged, 1);
    let err = close(&app, &keeping.account_id, Some(PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(precondition(&err), "ACCOUNT_STATE");
}

/// Two batches at once send each request once and keep each account once.
#[tokio::test]
async fn two_batches_at_once_ask_and_keep_each_former_student_once() {
    let app = spawn_app().await;
    let mut students = Vec::new();
    for n in 0..6 {
        let family = format!("Durand{}", ["a", "b", "c", "d", "e", "f"][n]);
        students.push(former_student(&app, &format!("2310060{n}"), &family).await);
    }
    let at_once = |on: &'static str| {
        let app = &app;
        async move {
            let at = noon(date(on));
            app.clock.set(at);
            tokio::join!(app.batch_as_of(at, 2), app.batch_as_of(at, 2))
        }
    };
    let (a, b) = at_once("2026-11-20").await;
    assert_eq!(
        a.alumni_offers_sent + b.alumni_offers_sent,
        6,
        "{a:?} {b:?}"
    );
    for student in &students {
        let token = last_request(&app, student, 1).await;
        answer(&app, &token, true).await.expect("yes");
        let requests = app
            .mails_to(&recovery_address(student))
            .into_iter()
            .filter(|m| decoded(m).contains("/alumni/"))
            .count();
        assert_eq!(requests, 1);
    }
    let (a, b) = at_once("2027-01-02").await;
    assert_eq!(
        a.accounts_kept_as_alumni + b.accounts_kept_as_alumni,
        6,
        "{a:?} {b:?}"
    );
    for student in &students {
        let kept = app
            .changes_of(&student.account_id)
            .await
            .into_iter()
            .filter(|c| c.kind == proto::ChangeKind::KeptAsAlumni as i32)
            .count();
        assert_eq!(kept, 1);
        let account = app.account_by_id(&student.account_id).await;
        assert_eq!(account.retention_end_date, "2027-12-31");
    }
}
