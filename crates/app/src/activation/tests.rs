//! The journey's use cases against a real store, the clock in hand.

use domain::activation::Step;
use domain::ids::MailAddress;

use super::{Entry, ScreenInput};
use crate::AppError;
use crate::testing::{
    TestApp, call_from, mailed_codes, provision_montpellier_staff_with_passport, test_app,
};

fn passport(login: &str, password: &str) -> Entry {
    Entry::ProvisionalPassword {
        login: login.to_owned(),
        password: password.to_owned(),
    }
}

fn recovery_mail(address: &str) -> ScreenInput {
    let mut input = ScreenInput::default();
    input.submission.recovery_mail = Some(MailAddress::parse(address).expect("an address"));
    input
}

async fn started(t: &TestApp) -> (String, super::FlowView) {
    let (account, printed) = provision_montpellier_staff_with_passport(t, "RH-7").await;
    let ctx = call_from(Some("198.51.100.7"));
    let started = t
        .app
        .start_activation("umontpellier", passport(&account.login, &printed), &ctx)
        .await
        .expect("the printed password opens the journey");
    (started.flow_token, started.flow)
}

#[tokio::test]
async fn a_wrong_printed_password_starts_nothing_and_the_right_one_opens_the_first_screen() {
    let t = test_app().await;
    let (account, printed) = provision_montpellier_staff_with_passport(&t, "RH-7").await;
    let ctx = call_from(Some("198.51.100.7"));
    let wrong = t
        .app
        .start_activation(
            "umontpellier",
            passport(&account.login, "not-it-1234"),
            &ctx,
        )
        .await;
    match wrong {
        Err(AppError::InvalidArgument(v)) => assert_eq!(v[0].field, "provisional_password"),
        other => panic!("refused as a wrong detail, got {other:?}"),
    }
    let started = t
        .app
        .start_activation("umontpellier", passport(&account.login, &printed), &ctx)
        .await
        .expect("started");
    let flow = started.flow;
    assert_eq!(flow.login, account.login);
    assert!(flow.screens[0].done && flow.screens[0].steps == [Step::VerifySecret]);
    assert_eq!(
        flow.screens[flow.current_screen].steps,
        [Step::RecoveryMail]
    );
    assert!(flow.completion.is_none() && flow.pending_verification.is_none());
    assert!(!started.flow_token.is_empty());
}

#[tokio::test]
async fn a_recovery_address_is_verified_by_the_mailed_code_and_a_resend_waits_its_cooldown() {
    let t = test_app().await;
    let (token, _) = started(&t).await;
    let ctx = call_from(Some("198.51.100.7"));
    let submitted = t
        .app
        .submit_activation_screen(&token, recovery_mail("ada@example.org"), &ctx)
        .await
        .expect("the address is taken");
    let notice = submitted
        .notice
        .expect("the person is told where the link went");
    assert_ne!(notice.masked_destination, "ada@example.org");
    let pending = submitted
        .flow
        .pending_verification
        .expect("waits for the code");
    assert_eq!(pending.step, Step::RecoveryMailVerification);

    let too_soon = t
        .app
        .resend_activation_message(&token, (Some(Step::RecoveryMailVerification), None), &ctx)
        .await;
    assert!(matches!(too_soon, Err(AppError::ResourceExhausted { .. })));
    let wrong_kind = t
        .app
        .resend_activation_message(&token, (Some(Step::VerifyCode), None), &ctx)
        .await;
    assert!(matches!(
        wrong_kind,
        Err(AppError::FailedPrecondition { .. })
    ));

    let wrong = t.app.verify_activation_code(&token, "00000000", &ctx).await;
    assert!(matches!(wrong, Err(AppError::InvalidArgument(_))));
    let code = mailed_codes(&t).await.pop().expect("a code was mailed");
    let flow = t
        .app
        .verify_activation_code(&token, &code, &ctx)
        .await
        .expect("the mailed code verifies the address");
    assert!(flow.pending_verification.is_none());
    assert_eq!(flow.screens[flow.current_screen].steps, [Step::Charter]);
}

#[tokio::test]
async fn a_screen_submitted_twice_answers_the_same_and_sends_nothing_more() {
    let t = test_app().await;
    let (token, _) = started(&t).await;
    let ctx = call_from(Some("198.51.100.7"));
    let first = t
        .app
        .submit_activation_screen(&token, recovery_mail("ada@example.org"), &ctx)
        .await
        .expect("taken");
    let sent = t.app.store.outbox_messages().await.expect("outbox").len();
    let again = t
        .app
        .submit_activation_screen(&token, recovery_mail("ada@example.org"), &ctx)
        .await
        .expect("the same answer");
    assert_eq!(again.flow.current_screen, first.flow.current_screen);
    assert!(again.notice.is_none());
    let after = t.app.store.outbox_messages().await.expect("outbox").len();
    assert_eq!(after, sent, "no second mail");
}

#[tokio::test]
async fn a_password_and_a_different_confirmation_change_nothing() {
    let t = test_app().await;
    let (token, before) = started(&t).await;
    let ctx = call_from(Some("198.51.100.7"));
    let input = ScreenInput {
        password: Some(("Long enough pass 42!".into(), "Long enough pass 43!".into())),
        ..ScreenInput::default()
    };
    let refused = t.app.submit_activation_screen(&token, input, &ctx).await;
    // The mismatch is reported with the screen's other problems (the
    // password is not asked on this screen).
    match refused {
        Err(AppError::InvalidArgument(violations)) => {
            let fields: Vec<&str> = violations.iter().map(|v| v.field.as_str()).collect();
            assert!(fields.contains(&"password"), "{fields:?}");
        }
        other => panic!("expected every problem at once: {other:?}"),
    }
    let now = t
        .app
        .activation_flow(&token, &ctx)
        .await
        .expect("still there");
    assert_eq!(now.current_screen, before.current_screen);
}

#[tokio::test]
async fn the_last_screen_activates_the_account_with_everything_chosen() {
    let t = test_app().await;
    let account = crate::testing::activate_montpellier_staff(&t, "RH-8").await;
    assert_eq!(account.status, domain::account::AccountStatus::Active);
    assert!(account.activated_at.is_some() && account.password_hash.is_some());
    assert_eq!(account.recovery_mail.as_deref(), Some("ada@example.org"));
    assert!(account.recovery_mail_verified_at.is_some());
    assert!(account.redirect.address.is_none());
}
