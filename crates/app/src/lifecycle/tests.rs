//! The lifecycle's use cases against a real store, the clock in hand.

use store::accounts::AccountLookup;

use super::{Departure, Page};
use crate::AppError;
use crate::testing::{call_from, provision_montpellier_staff, test_app};

async fn audit_count(t: &crate::testing::TestApp, account_id: &str) -> usize {
    let page = Page {
        size: 500,
        token: "",
    };
    let lookup = Some(AccountLookup::Id(account_id));
    let (events, _) = t
        .app
        .list_audit_events("", lookup, page)
        .await
        .expect("listed");
    events.len()
}

#[tokio::test]
async fn the_same_departure_reported_twice_changes_the_account_once() {
    let t = test_app().await;
    let account = provision_montpellier_staff(&t, "RH-9").await;
    let ctx = call_from(None);
    let departure = Departure {
        end_date: "2027-06-30",
        reason: "end of contract",
    };
    let first = t
        .app
        .record_end_of_activity(AccountLookup::Id(&account.id), departure, &ctx)
        .await
        .expect("recorded");
    assert!(first.end_of_activity_date.is_some() && first.retention_end_date.is_some());
    let events = audit_count(&t, &account.id).await;
    let again = t
        .app
        .record_end_of_activity(AccountLookup::Id(&account.id), departure, &ctx)
        .await
        .expect("the same answer");
    assert_eq!(again.retention_end_date, first.retention_end_date);
    assert_eq!(audit_count(&t, &account.id).await, events, "nothing new");

    let bad = Departure {
        end_date: "30/06/2027",
        reason: &"x".repeat(501),
    };
    let refused = t
        .app
        .record_end_of_activity(AccountLookup::Id(&account.id), bad, &ctx)
        .await;
    match refused {
        Err(AppError::InvalidArgument(v)) => assert_eq!(v.len(), 2, "both fields: {v:?}"),
        other => panic!("refused, got {other:?}"),
    }
}

#[tokio::test]
async fn a_lock_is_set_once_and_lifted_back_to_the_state_before_it() {
    let t = test_app().await;
    let account = provision_montpellier_staff(&t, "RH-10").await;
    let ctx = call_from(None);
    let id = AccountLookup::Id(&account.id);
    let locked = t
        .app
        .set_account_lock(id, true, "stolen laptop", &ctx)
        .await
        .expect("locked");
    assert_eq!(locked.status, domain::account::AccountStatus::Locked);
    let events = audit_count(&t, &account.id).await;
    t.app
        .set_account_lock(id, true, "again", &ctx)
        .await
        .expect("already locked");
    assert_eq!(audit_count(&t, &account.id).await, events, "nothing new");
    let unlocked = t
        .app
        .set_account_lock(id, false, "", &ctx)
        .await
        .expect("unlocked");
    assert_eq!(unlocked.status, account.status);
}

#[tokio::test]
async fn a_page_token_from_elsewhere_is_refused() {
    let t = test_app().await;
    let page = Page {
        size: 10,
        token: "not-a-token",
    };
    let refused = t.app.list_audit_events("umontpellier", None, page).await;
    match refused {
        Err(AppError::InvalidArgument(v)) => assert_eq!(v[0].field, "page_token"),
        other => panic!("refused, got {other:?}"),
    }
    let too_big = Page {
        size: 501,
        token: "",
    };
    assert!(
        t.app
            .list_audit_events("umontpellier", None, too_big)
            .await
            .is_err()
    );
}
