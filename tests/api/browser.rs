//! Issue 21: the portal's journeys in Chromium, as people go through them
//! — the pages, their forms and buttons, the strength meter, a refusal on
//! each form — each page saved under `target/portal-screenshots/` and
//! checked by axe-core (`support::browser`).

use chrono::Duration;

use crate::portal::spawn_portal;
use crate::support::browser::open_browser;
use crate::support::*;

/// Bordeaux Montaigne: the key of the enrolment certificate, a wrong one
/// first, then the three screens, with the live meter on the password.
#[tokio::test]
async fn a_bordeaux_student_activates_in_chromium() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["u-bordeaux-montaigne"]).await;
    let Some(mut browser) = open_browser(&portal, "bordeaux").await else {
        return;
    };
    let provisioned = app
        .provision(bordeaux_student("21900078", "Inès", "Lopez"))
        .await
        .expect("provision");
    let key = provisioned.activation_material.expect("key").activation_key;
    let login = provisioned.account.expect("account").login;
    app.clock.advance(Duration::hours(24));

    browser.open("/u-bordeaux-montaigne/").await;
    browser.check("home").await;
    browser.click(r#"main a[href$="/activation"]"#).await;
    browser.wait_for("Clé d'activation").await;
    browser.check("first-connection").await;
    browser.fill("key.login", &login).await;
    browser.fill("key.activation_key", "AAAA-AAAA-AAAA").await;
    browser.submit("main form").await;
    browser.wait_for("Des informations sont à corriger").await;
    browser.check("first-connection-refused").await;
    browser.fill("key.activation_key", &key).await;
    browser.submit("main form").await;

    browser.wait_for("Utilisation de la photo").await;
    browser.check("photo-and-directory").await;
    browser.click("#o-photo-use-card-reprint").await;
    browser.click("#o-directory-listing-false").await;
    browser.submit("main form").await;
    browser.wait_for("Izly").await;
    browser.check("crous").await;
    browser.click("#o-crous-sharing-true").await;
    browser.submit("main form").await;

    browser.wait_for("Charte").await;
    browser.fill("password.password", "abc").await;
    browser.wait_for("Force du mot de passe").await;
    browser.check("password-meter").await;
    // Sent without the charter: refused, the problem linked to its box.
    browser.fill("password.password", "Garonne#2026!").await;
    browser.fill("password.confirmation", "Garonne#2026!").await;
    browser.submit("main form").await;
    browser.wait_for("Acceptez la charte pour continuer.").await;
    browser.check("charter-refused").await;
    browser.click("#f-charter-accepted").await;
    browser.fill("password.password", "Garonne#2026!").await;
    browser.fill("password.confirmation", "Garonne#2026!").await;
    browser.submit("main form").await;
    // Every step shows the login: the completion is its "Votre
    // identifiant" (waiting for the login alone left before the last
    // submission was answered).
    browser.wait_for("Votre identifiant").await;
    browser.wait_for(&login).await;
    browser.check("completed").await;
    browser.close().await;
}

/// Tours: student number, INE and phone, then the code read from the SMS.
#[tokio::test]
async fn a_tours_student_activates_with_the_sms_code_in_chromium() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["univ-tours"]).await;
    let Some(mut browser) = open_browser(&portal, "tours").await else {
        return;
    };
    let ine = ine_bea(1_234_567_893);
    app.provision(tours_student("22012377", &ine, "07 88 10 25 77"))
        .await
        .expect("provision");

    browser.open("/univ-tours/activation").await;
    browser.check("first-connection").await;
    browser
        .fill("identity_match.student_number", "22012377")
        .await;
    browser.fill("identity_match.ine", &ine).await;
    browser
        .fill("identity_match.mobile_phone", "07 88 10 25 00")
        .await;
    // Staff and guests have their own form (the mailed link) on the page.
    let identity = r#"form[action$="/activation/identity_match"]"#;
    browser.submit(identity).await;
    browser.wait_for("Des informations sont à corriger").await;
    browser.check("identity-refused").await;
    browser
        .fill("identity_match.mobile_phone", "07 88 10 25 77")
        .await;
    browser.submit(identity).await;

    let sms = app.wait_for_sms(1).await;
    let code = code_in(&sms[0].1);
    browser.wait_for("+33").await;
    browser.check("code").await;
    browser.fill("code", &code).await;
    browser.submit("main form").await;
    browser.wait_for("mot de passe").await;
    browser.fill("password.password", "Loire-37-Tours").await;
    browser.wait_for("Force du mot de passe").await;
    browser.check("password").await;
    browser
        .fill("password.confirmation", "Loire-37-Tours")
        .await;
    browser.submit("main form").await;
    browser.wait_for("Continuez votre inscription ici").await;
    browser.check("completed").await;
    browser.close().await;
}

/// Montpellier staff on the account page: a wrong password, then a
/// signed-in change of recovery address and a redirect, each confirmed on
/// the page its mailed link opens.
#[tokio::test]
async fn a_montpellier_staff_member_uses_the_account_page_in_chromium() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["umontpellier"]).await;
    let Some(mut browser) = open_browser(&portal, "montpellier-account").await else {
        return;
    };
    let account = app
        .active_account(montpellier_staff("R0078", "Paul", "Henry"), "Qz7#Kp2wLm9x")
        .await;

    browser.open("/umontpellier/account").await;
    browser.check("sign-in").await;
    browser.fill("login", &account.login).await;
    browser.fill("password", "not-the-password").await;
    browser.submit("main form").await;
    browser
        .wait_for("Identifiant ou mot de passe incorrect")
        .await;
    browser.check("sign-in-refused").await;
    browser.fill("login", &account.login).await;
    browser.fill("password", "Qz7#Kp2wLm9x").await;
    browser.submit("main form").await;
    browser.wait_for("Changer de mot de passe").await;
    browser.check("account").await;

    // The recovery address: a wrong password first.
    let new_address = "paul.henry@example.org";
    let recovery_form = r#"form[action$="/account/recovery-mail"]"#;
    browser
        .fill_in(recovery_form, "current_password", "not-it")
        .await;
    browser.fill("new_recovery_mail.address", new_address).await;
    browser
        .fill("new_recovery_mail.confirmation", new_address)
        .await;
    browser.submit(recovery_form).await;
    browser
        .wait_for("Le mot de passe actuel est incorrect")
        .await;
    browser.check("recovery-mail-refused").await;
    browser
        .fill_in(recovery_form, "current_password", "Qz7#Kp2wLm9x")
        .await;
    browser.fill("new_recovery_mail.address", new_address).await;
    browser
        .fill("new_recovery_mail.confirmation", new_address)
        .await;
    browser.submit(recovery_form).await;
    browser
        .wait_for("Un lien de confirmation a été envoyé")
        .await;
    let token = link_token(
        &app.wait_for_mail_to(new_address, 1).await,
        "account/recovery-mail",
    );
    browser
        .open(&format!("/umontpellier/account/recovery-mail/{token}"))
        .await;
    assert_eq!(browser.path().await, "/umontpellier/account/confirm");
    browser.check("recovery-mail-link").await;
    browser.submit("main form").await;
    browser.wait_for(new_address).await;
    browser.check("recovery-mail-confirmed").await;

    // The redirect, to another address.
    browser.open("/umontpellier/account").await;
    let outside = "paul.henry@outside.example.net";
    let redirect_form = r#"form[action$="/account/redirect"]"#;
    browser
        .fill_in(redirect_form, "current_password", "Qz7#Kp2wLm9x")
        .await;
    browser.fill("address.address", outside).await;
    browser.fill("address.confirmation", outside).await;
    browser.submit(redirect_form).await;
    browser
        .wait_for("Un lien de confirmation a été envoyé")
        .await;
    let token = link_token(&app.wait_for_mail_to(outside, 1).await, "account/redirect");
    browser
        .open(&format!("/umontpellier/account/redirect/{token}"))
        .await;
    browser.check("redirect-link").await;
    browser.submit("main form").await;
    browser.wait_for(outside).await;
    browser.check("redirect-confirmed").await;
    browser.close().await;
}

/// "Mot de passe oublié" at Montpellier, then the mailed link's page.
#[tokio::test]
async fn a_forgotten_password_is_reset_in_chromium() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["umontpellier"]).await;
    let Some(mut browser) = open_browser(&portal, "reset").await else {
        return;
    };
    let account = app
        .active_account(montpellier_staff("R0079", "Lina", "Morel"), "Qz7#Kp2wLm9x")
        .await;
    let recovery = format!("recovery.{}@example.net", account.account_id);
    let before = app.mails_to(&recovery).len();

    browser.open("/umontpellier/").await;
    browser.click(r#"main a[href$="/recovery"]"#).await;
    browser.wait_for("Identifiant oublié").await;
    browser.check("recovery").await;
    browser.submit("main form").await;
    browser.wait_for("Des informations sont à corriger").await;
    browser.check("recovery-refused").await;
    browser
        .fill("typed_identifier", &account.institutional_mail)
        .await;
    browser.submit("main form").await;
    browser.wait_for("xxxxxxxxxxxx@xxxxxxxx").await;
    browser.check("reset-sent").await;

    // The forgotten login: details that match no student.
    browser.open("/umontpellier/recovery").await;
    let lookup = r#"form[action$="/recovery/login"]"#;
    browser.fill_in(lookup, "student_number", "22099999").await;
    browser.fill_in(lookup, "birth_date", "31012004").await;
    browser.submit(lookup).await;
    browser.wait_for("Des informations sont à corriger").await;
    browser.check("login-lookup-refused").await;

    let token = link_token(
        &app.wait_for_mail_to(&recovery, before + 1).await,
        "recovery/reset",
    );
    browser
        .open(&format!("/umontpellier/recovery/reset/{token}"))
        .await;
    assert_eq!(browser.path().await, "/umontpellier/recovery/new-password");
    browser.fill("new_password.password", "Hj6@Wd9sPk2f").await;
    browser.wait_for("Force du mot de passe").await;
    browser.check("new-password").await;
    browser
        .fill("new_password.confirmation", "Hj6@Wd9sPk2g")
        .await;
    browser.submit("main form").await;
    browser.wait_for("ne sont pas identiques").await;
    browser.check("new-password-refused").await;
    browser.fill("new_password.password", "Hj6@Wd9sPk2f").await;
    browser
        .fill("new_password.confirmation", "Hj6@Wd9sPk2f")
        .await;
    browser.submit("main form").await;
    browser.wait_for("Mot de passe changé").await;
    browser.check("password-changed").await;
    browser.close().await;
}

/// A Montpellier staff member's first connection: the provisional
/// password, the recovery address and the redirect each confirmed on the
/// page its mailed link opens, then the password.
#[tokio::test]
async fn a_montpellier_staff_member_activates_through_mailed_links_in_chromium() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["umontpellier"]).await;
    let Some(mut browser) = open_browser(&portal, "montpellier-activation").await else {
        return;
    };
    let provisioned = app
        .provision(montpellier_staff("R0080", "Marc", "Petit"))
        .await
        .expect("provision");
    let account = provisioned.account.expect("account");
    let provisional = provisioned
        .activation_material
        .expect("material")
        .provisional_password;
    app.clock.advance(Duration::days(2));

    browser.open("/umontpellier/activation").await;
    browser.check("first-connection").await;
    browser
        .fill("provisional_password.login", &account.login)
        .await;
    browser
        .fill("provisional_password.provisional_password", &provisional)
        .await;
    browser
        .submit(r#"form[action$="/activation/provisional_password"]"#)
        .await;

    // A typo first: the verification page lets the address be corrected.
    let typo = "marc.petti@example.org";
    browser.fill("recovery_mail.address", typo).await;
    browser.fill("recovery_mail.confirmation", typo).await;
    browser.check("recovery-mail").await;
    browser.submit("main form").await;
    browser.wait_for("Un message a été envoyé à").await;
    browser.check("recovery-mail-sent").await;
    browser.click("main details summary").await;
    let recovery = "marc.petit@example.org";
    browser.fill("recovery_mail.address", recovery).await;
    browser.fill("recovery_mail.confirmation", recovery).await;
    browser.submit("main details form").await;
    browser.wait_for("Un message a été envoyé à").await;
    let token = link_token(&app.wait_for_mail_to(recovery, 1).await, "verify");
    browser
        .open(&format!("/umontpellier/activation/verify/{token}"))
        .await;
    assert_eq!(browser.path().await, "/umontpellier/activation/opened");
    browser.check("recovery-mail-link").await;
    browser.submit("main form").await;

    browser.wait_for("charte").await;
    browser.click("#f-charter-accepted").await;
    browser.submit("main form").await;
    browser.wait_for("annuaire").await;
    browser.click("#o-directory-listing-true").await;
    browser.submit("main form").await;

    let outside = "marc.petit@outside.example.net";
    browser.wait_for("redirection").await;
    browser.click("#f-mail-redirect-enabled").await;
    browser.fill("mail_redirect.address.address", outside).await;
    browser
        .fill("mail_redirect.address.confirmation", outside)
        .await;
    browser.check("redirect").await;
    browser.submit("main form").await;
    let token = link_token(&app.wait_for_mail_to(outside, 1).await, "verify");
    browser
        .open(&format!("/umontpellier/activation/verify/{token}"))
        .await;
    browser.check("redirect-link").await;
    browser.submit("main form").await;

    browser.fill("password.password", "Vb4!Tn8rXq3j").await;
    browser.wait_for("Force du mot de passe").await;
    browser.fill("password.confirmation", "Vb4!Tn8rXq3j").await;
    browser.check("password").await;
    browser.submit("main form").await;
    // Every step shows the login: the completion is its "Votre
    // identifiant" (waiting for the login alone left before the last
    // submission was answered).
    browser.wait_for("Votre identifiant").await;
    browser.wait_for(&account.login).await;
    browser.check("completed").await;
    browser.close().await;
}

/// Issue 24: a Montpellier staff member invites a guest from "Mes
/// invités" (a refused date first), the IT department approves, and the
/// sponsor renews the stay, then ends it.
#[tokio::test]
async fn a_sponsor_invites_renews_and_ends_a_guest_in_chromium() {
    use ent_identity::proto;
    use ent_identity::proto::guest_service_client::GuestServiceClient;
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["umontpellier"]).await;
    let Some(mut browser) = open_browser(&portal, "montpellier-guests").await else {
        return;
    };
    let account = app
        .active_account(montpellier_staff("R0079", "Marie", "Curie"), "Qz7#Kp2wLm9x")
        .await;
    let today = ent_identity::app::clock::Clock::now(&app.clock).date_naive();
    let day = |days: i64| (today + Duration::days(days)).to_string();

    browser.open("/umontpellier/account").await;
    browser.fill("login", &account.login).await;
    browser.fill("password", "Qz7#Kp2wLm9x").await;
    browser.submit("main form").await;
    browser.wait_for("Mes invités").await;
    browser.click(r#"a[href$="/account/guests"]"#).await;
    browser.wait_for("Inviter une personne extérieure").await;
    browser.check("guests").await;

    let invite = r#"form[action$="/account/guests/invite"]"#;
    browser.fill("guest.given_name", "Ada").await;
    browser.fill("guest.family_name", "Lovelace").await;
    browser
        .fill("guest.personal_mail", "ada.lovelace@example.org")
        .await;
    browser.fill("guest.end_date", "2020-01-01").await;
    browser
        .fill("guest.reason", "Chercheuse invitée au LIRMM")
        .await;
    browser.submit(invite).await;
    browser
        .wait_for("Le dernier jour doit être postérieur à aujourd'hui.")
        .await;
    browser.check("guests-refused").await;
    browser.fill("guest.end_date", &day(90)).await;
    browser.submit(invite).await;
    browser.wait_for("Invitation enregistrée.").await;
    browser.wait_for("En attente de validation").await;
    browser.check("guests-invited").await;

    // The IT department approves, in its own tool.
    let mut moderators = GuestServiceClient::new(authed(&app.channel, "admin", None));
    let pending = moderators
        .list_pending_invitations(proto::ListPendingInvitationsRequest {
            institution: "umontpellier".into(),
        })
        .await
        .expect("pending")
        .into_inner()
        .invitations;
    moderators
        .decide_invitation(proto::DecideInvitationRequest {
            invitation_id: pending[0].invitation_id.clone(),
            moderator: "dsin".into(),
            approve: true,
            comment: String::new(),
        })
        .await
        .expect("approved");
    browser.open("/umontpellier/account/guests").await;
    browser.wait_for("pas encore activé").await;

    // The guest follows the mailed link: her names as on her passport,
    // the charter, a password.
    let mail = app.wait_for_mail_to("ada.lovelace@example.org", 1).await;
    let token = link_token(&mail, "link");
    browser
        .open(&format!("/umontpellier/activation/link/{token}"))
        .await;
    browser.submit("main form").await;
    browser.wait_for("Votre identité").await;
    browser.check("guest-names").await;
    browser.fill("names.given_name", "Augusta Ada").await;
    browser.fill("names.family_name", "King-Lovelace").await;
    browser.submit("main form").await;
    browser.wait_for("charte").await;
    browser.click("#f-charter-accepted").await;
    browser.submit("main form").await;
    browser.wait_for("mot de passe").await;
    browser.fill("password.password", "Qx7!vR2#mP9zTk").await;
    browser
        .fill("password.confirmation", "Qx7!vR2#mP9zTk")
        .await;
    browser.submit("main form").await;
    // Every step shows the login: the completion is its "Votre
    // identifiant" (waiting for the login alone left before the last
    // submission was answered).
    browser.wait_for("Votre identifiant").await;
    browser.wait_for("alovelace001").await;
    browser.check("guest-completed").await;
    browser.open("/umontpellier/account/guests").await;
    browser.wait_for("Compte actif").await;

    browser.fill("end_date", &day(180)).await;
    browser
        .submit(r#"form[action$="/account/guests/renew"]"#)
        .await;
    browser.wait_for("Le séjour est prolongé.").await;
    browser.wait_for(&day(180)).await;
    browser.check("guests-renewed").await;
    browser
        .submit(r#"form[action$="/account/guests/end"]"#)
        .await;
    browser.wait_for("Le séjour est terminé").await;
    browser.wait_for(&day(-1)).await;
    browser.check("guests-ended").await;
    browser.close().await;
}

/// Issue 24: an agent of Montpellier's desk, signed in and named in the
/// portal's `desk.agents`, finds a student who lost the mailed link by
/// student number and hands over an activation link, then finds a staff
/// member by login and hands over a new-password link; someone else
/// signed in is refused the desk.
#[tokio::test]
async fn a_desk_agent_hands_over_links_in_chromium() {
    use crate::portal::spawn_desk_portal;
    use ent_identity::proto;
    let app = spawn_app().await;
    let agent = app
        .active_account(
            montpellier_staff("R0090", "Agnès", "Guichet"),
            "Qz7#Kp2wLm9x",
        )
        .await;
    let colleague = app
        .active_account(montpellier_staff("R0091", "Paul", "Oubli"), "Qz7#Kp2wLm9x")
        .await;
    let portal = spawn_desk_portal(&app, "umontpellier", &agent.login).await;
    let Some(mut browser) = open_browser(&portal, "montpellier-desk").await else {
        return;
    };
    app.provision(proto::ProvisionRecord {
        institution: "umontpellier".into(),
        profile: "student".into(),
        student_number: "22019999".into(),
        given_name: "Léon".into(),
        family_name: "Perdu".into(),
        birth_date: "2006-02-03".into(),
        personal_mail: "leon.perdu@example.org".into(),
        ..Default::default()
    })
    .await
    .expect("provision");

    // Someone signed in who is not an agent does not reach the desk.
    browser.open("/umontpellier/account").await;
    browser.fill("login", &colleague.login).await;
    browser.fill("password", "Qz7#Kp2wLm9x").await;
    browser.submit("main form").await;
    browser.wait_for("Changer de mot de passe").await;
    browser.open("/umontpellier/desk").await;
    browser
        .wait_for("Cette page est réservée aux agents du guichet")
        .await;
    browser.open("/umontpellier/account").await;
    browser.submit(r#"form[action$="/account/sign-out"]"#).await;
    // Signed out: back on the institution's home page.
    browser.wait_for("Activer mon compte").await;
    browser.open("/umontpellier/account").await;

    browser.fill("login", &agent.login).await;
    browser.fill("password", "Qz7#Kp2wLm9x").await;
    browser.submit("main form").await;
    browser.wait_for("Guichet").await;
    browser.click(r#"a[href$="/desk"]"#).await;
    browser.wait_for("Trouver la personne").await;
    browser.check("desk").await;

    // A student number that matches nobody, then the student's.
    let find = r#"form[action$="/desk/find"]"#;
    browser
        .click(r#"#desk-by option[value="student_number"]"#)
        .await;
    browser.fill("value", "22010000").await;
    browser.submit(find).await;
    browser.wait_for("Personne ne correspond").await;
    browser
        .click(r#"#desk-by option[value="student_number"]"#)
        .await;
    browser.fill("value", "22019999").await;
    browser.submit(find).await;
    browser.wait_for("Léon Perdu").await;
    browser.check("desk-found").await;
    browser.submit(r#"form[action$="/desk/activation"]"#).await;
    browser.wait_for("À remettre maintenant").await;
    browser.wait_for("/activation/link/").await;
    browser.check("desk-activation").await;

    // A staff member whose recovery address is dead: a reset link.
    browser.fill("value", &colleague.login).await;
    browser.submit(find).await;
    browser.wait_for("Paul Oubli").await;
    browser.submit(r#"form[action$="/desk/reset"]"#).await;
    browser.wait_for("/recovery/reset/").await;
    // Its end in Montpellier's time (CET or CEST), not UTC.
    browser.wait_for("(CE").await;
    browser.check("desk-reset").await;
    let audited = app
        .lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            account: by_id(&colleague.account_id),
            ..Default::default()
        })
        .await
        .expect("events")
        .into_inner()
        .events;
    assert!(
        audited
            .iter()
            .any(|e| e.action == "helpdesk.password_reset_issued"
                && e.details["agent"] == agent.login.as_str()),
        "{audited:?}"
    );
    browser.close().await;
}

/// A Bordeaux Montaigne former student keeps the account from the mailed
/// request's page, then closes the kept account from the account page.
#[tokio::test]
async fn a_former_student_keeps_then_closes_the_account_in_chromium() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["u-bordeaux-montaigne"]).await;
    let Some(mut browser) = open_browser(&portal, "bordeaux-alumni").await else {
        return;
    };
    let password = "Qz7#Kp2wLm9x";
    let account = app
        .active_account(bordeaux_student("23100599", "Noé", "Girard"), password)
        .await;
    app.depart(&account.account_id, "2026-08-31")
        .await
        .expect("departure");
    assert_eq!(app.batch_on("2026-11-10").await.alumni_offers_sent, 1);
    let recovery = format!("recovery.{}@example.net", account.account_id);
    let mail = app.wait_for_mail_to(&recovery, 2).await;
    let token = link_token(&mail, "mon-compte/alumni");

    browser
        .open(&format!("/u-bordeaux-montaigne/alumni/{token}"))
        .await;
    assert_eq!(browser.path().await, "/u-bordeaux-montaigne/alumni");
    browser.wait_for("la messagerie").await;
    browser.check("alumni-offer").await;
    browser.click(r#"button[value="yes"]"#).await;
    browser
        .wait_for("Votre compte est conservé jusqu'au 2027-12-31")
        .await;
    browser.check("alumni-kept").await;
    assert_eq!(app.batch_on("2027-01-01").await.accounts_kept_as_alumni, 1);

    browser.open("/u-bordeaux-montaigne/account").await;
    browser.fill("login", &account.login).await;
    browser.fill("password", password).await;
    browser.submit("main form").await;
    browser
        .wait_for("Fermer mon compte d'ancien étudiant")
        .await;
    browser.check("alumni-account").await;
    let closing = r#"form[action$="/account/close-alumni"]"#;
    browser
        .fill_in(closing, "current_password", "not-the-password")
        .await;
    browser.submit(closing).await;
    browser.wait_for("Des informations sont à corriger").await;
    browser.check("alumni-close-refused").await;
    browser.fill_in(closing, "current_password", password).await;
    browser.submit(closing).await;
    browser
        .wait_for("Votre compte est fermé et ses données sont supprimées.")
        .await;
    browser.check("alumni-closed").await;
    let closed = app.account_by_id(&account.account_id).await;
    assert_eq!(
        closed.status(),
        ent_identity::proto::AccountStatus::DataDeleted
    );
    browser.close().await;
}

/// Université Exemple (a configured university, none of the seeds'): a
/// staff member chooses the SMS, types a wrong code, then the right one,
/// and sets a new password.
#[tokio::test]
async fn a_forgotten_password_is_reset_by_sms_in_chromium() {
    let app = crate::any_university::spawn_exemple().await;
    let portal = spawn_portal(&app, &["univ-exemple"]).await;
    let Some(mut browser) = open_browser(&portal, "reset-by-sms").await else {
        return;
    };
    let account = crate::any_university::active_staff(&app, "2260").await;
    let sent = app.sms().len();

    browser.open("/univ-exemple/recovery").await;
    browser.check("recovery-choice").await;
    browser.fill("typed_identifier", &account.login).await;
    browser.click("#f-channel-sms").await;
    browser
        .submit(r#"form[action$="/recovery/password"]"#)
        .await;
    browser.wait_for("Un code a été envoyé par SMS").await;
    browser.check("reset-code").await;
    let sms = app.wait_for_sms(sent + 1).await;
    let code = code_in(&sms[sent].1);

    browser.fill("code", "00000000").await;
    browser.submit("main form").await;
    browser.wait_for("ne fonctionne plus").await;
    browser.check("reset-code-refused").await;
    browser.fill("code", &code).await;
    browser.submit("main form").await;
    browser.wait_for("Nouveau mot de passe").await;
    browser
        .fill("new_password.password", "Dordogne+Isle52")
        .await;
    browser
        .fill("new_password.confirmation", "Dordogne+Isle52")
        .await;
    browser.submit("main form").await;
    browser.wait_for("Mot de passe changé").await;
    assert!(browser.text().await.contains(&account.login));
    browser.check("reset-by-sms-done").await;

    // On the account page, a new recovery phone, proven by its code.
    browser.open("/univ-exemple/account").await;
    browser.fill("login", &account.login).await;
    browser.fill("password", "Dordogne+Isle52").await;
    browser.submit("main form").await;
    browser.wait_for("Téléphone de secours").await;
    browser.check("account-phone").await;
    let phone_form = r#"form[action$="/account/recovery-phone"]"#;
    browser
        .fill_in(phone_form, "current_password", "Dordogne+Isle52")
        .await;
    browser
        .fill_in(phone_form, "new_phone", "07 88 10 25 46")
        .await;
    browser.submit(phone_form).await;
    browser.wait_for("+33*****2546").await;
    let sms = app.wait_for_sms(sent + 2).await;
    let code_form = r#"form[action$="/account/recovery-phone-code"]"#;
    browser
        .fill_in(code_form, "code", &code_in(&sms[sent + 1].1))
        .await;
    browser.submit(code_form).await;
    browser
        .wait_for("Votre téléphone de secours est désormais le")
        .await;
    browser.check("account-phone-changed").await;
    browser.close().await;
}

/// Université Exemple: a lecturer follows the mailed link, types a wrong
/// birth date, then the record's, and chooses a password.
#[tokio::test]
async fn a_mailed_link_then_the_birth_date_in_chromium() {
    let app = crate::any_university::spawn_exemple().await;
    let portal = spawn_portal(&app, &["univ-exemple"]).await;
    let Some(mut browser) = open_browser(&portal, "link-then-birth-date").await else {
        return;
    };
    app.provision(ent_identity::proto::ProvisionRecord {
        profile: "lecturer".into(),
        mobile_phone: String::new(),
        personal_mail: "h.argent@example.org".into(),
        ..crate::any_university::staff("2302")
    })
    .await
    .expect("provision");
    let token = link_token(
        &app.wait_for_mail_to("h.argent@example.org", 1).await,
        "link",
    );
    browser
        .open(&format!("/univ-exemple/activation/link/{token}"))
        .await;
    browser.submit("main form").await;
    browser.wait_for("Vérification de votre identité").await;
    browser.check("identity").await;
    browser.fill("identity_match.birth_date", "29041979").await;
    browser.submit("main form").await;
    browser.wait_for("Des informations sont à corriger").await;
    browser.check("identity-refused").await;
    browser.fill("identity_match.birth_date", "30041979").await;
    browser.submit("main form").await;
    browser.wait_for("Téléphone mobile").await;
    browser.check("mobile-phone").await;
    browser.fill("mobile_phone", "07 88 10 25 43").await;
    browser.submit("main form").await;
    browser.wait_for("+33*****2543").await;
    let code = code_in(&app.wait_for_sms(1).await[0].1);
    browser.check("mobile-phone-code").await;
    browser.fill("code", &code).await;
    browser.submit("main form").await;
    browser.wait_for("Choix du mot de passe").await;
    browser.fill("password.password", "Garonne+Lot47").await;
    browser.wait_for("Force du mot de passe").await;
    browser.fill("password.confirmation", "Garonne+Lot47").await;
    browser.submit("main form").await;
    browser.wait_for("Compte activé").await;
    browser.check("completed").await;
    browser.close().await;
}

/// The answers to the institution's own consent items an account holds,
/// as (item, choices).
async fn own_answers(app: &TestApp, account_id: &str) -> Vec<(String, Vec<String>)> {
    let consents = app
        .account_settings()
        .get_consents(ent_identity::proto::GetConsentsRequest {
            account: crate::support::by_id(account_id),
        })
        .await
        .expect("consents")
        .into_inner()
        .consents
        .expect("consents");
    let answers = consents.items.into_iter();
    answers.map(|a| (a.item, a.choices)).collect()
}

/// Université Exemple: a doctoral student types the printed key, chooses
/// to receive the code by SMS rather than by mail, types it, then answers
/// the university's own consent items.
#[tokio::test]
async fn the_code_goes_where_the_person_chooses_in_chromium() {
    let app = crate::any_university::spawn_exemple().await;
    let portal = spawn_portal(&app, &["univ-exemple"]).await;
    let Some(mut browser) = open_browser(&portal, "code-choice").await else {
        return;
    };
    let provisioned = app
        .provision(ent_identity::proto::ProvisionRecord {
            institution: "univ-exemple".into(),
            profile: "doctoral".into(),
            student_number: "22070011".into(),
            given_name: "Inès".into(),
            family_name: "Benali".into(),
            birth_date: "2006-09-14".into(),
            personal_mail: "ines.benali@example.org".into(),
            mobile_phone: "07 88 10 25 99".into(),
            ..Default::default()
        })
        .await
        .expect("provision");
    let key = provisioned.activation_material.expect("key").activation_key;
    let account_id = provisioned.account.expect("account").account_id;
    browser.open("/univ-exemple/activation").await;
    browser.fill("key.login", "d22070011").await;
    browser.fill("key.activation_key", &key).await;
    browser.submit(r#"form[action$="/activation/key"]"#).await;
    browser.wait_for("Où recevoir votre code ?").await;
    browser.check("code-choice").await;
    browser.click("#code-channel-sms").await;
    browser.submit("main form").await;
    browser.wait_for("+33*****2599").await;
    let code = code_in(&app.wait_for_sms(1).await[0].1);
    browser.check("code-sent").await;
    browser.fill("code", &code).await;
    browser.submit("main form").await;
    browser.wait_for("Publication de ma photo").await;
    browser.check("own-consents").await;
    // Nothing chosen: each item says so.
    browser.submit("main form").await;
    browser.wait_for("Ce champ est obligatoire").await;
    browser.click("#o-consents-sms-university-yes").await;
    browser.click("#o-consents-photo-places-website").await;
    browser.click("#o-consents-photo-places-press").await;
    browser.click("#o-crous-sharing-true").await;
    browser.submit("main form").await;
    browser.wait_for("Choix du mot de passe").await;
    browser.fill("password.password", "Garonne+Lot47").await;
    browser.wait_for("Force du mot de passe").await;
    browser.fill("password.confirmation", "Garonne+Lot47").await;
    browser.submit("main form").await;
    // The login shows on every screen: wait for the completion itself.
    browser.wait_for("Compte activé").await;
    assert_eq!(
        own_answers(&app, &account_id).await,
        [
            (
                "photo_places".to_owned(),
                vec!["press".to_owned(), "website".to_owned()]
            ),
            ("sms_university".to_owned(), vec!["yes".to_owned()]),
        ]
    );

    // On the account page, the text messages are refused later, with the
    // caveat of a withdrawal in view.
    browser.open("/univ-exemple/account").await;
    browser.fill("login", "d22070011").await;
    browser.fill("password", "Garonne+Lot47").await;
    browser.submit("main form").await;
    browser
        .wait_for("Les alertes déjà envoyées ne sont pas retirées.")
        .await;
    browser.check("account-own-consents").await;
    browser.click("#o-consents-sms-university-no").await;
    let consents_form = r#"form[action$="/account/consents"]"#;
    browser.submit(consents_form).await;
    browser.wait_for("Vos choix sont enregistrés.").await;
    let answers = own_answers(&app, &account_id).await;
    assert_eq!(
        answers[1],
        ("sms_university".to_owned(), vec!["no".to_owned()])
    );
    browser.close().await;
}

/// "Mes données": from the account page, a student types their password
/// again and reads everything the service holds about them.
#[tokio::test]
async fn a_student_reads_their_data_in_chromium() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["u-bordeaux-montaigne"]).await;
    let Some(mut browser) = open_browser(&portal, "data-copy").await else {
        return;
    };
    let password = "Qz7#Kp2wLm9x";
    let account = app
        .active_account(bordeaux_student("23100611", "Inès", "Morel"), password)
        .await;
    browser.open("/u-bordeaux-montaigne/account").await;
    browser.fill("login", &account.login).await;
    browser.fill("password", password).await;
    browser.submit("main form").await;
    browser.wait_for("Mes données").await;
    browser.click(r#"a[href$="/account/data"]"#).await;
    browser.wait_for("droit d'accès").await;
    browser.check("data-form").await;
    browser.fill("current_password", "not-my-password").await;
    browser.click(r#"button[value="page"]"#).await;
    browser.wait_for("n'est pas le bon").await;
    browser.check("data-refused").await;
    browser.fill("current_password", password).await;
    browser.click(r#"button[value="page"]"#).await;
    browser.wait_for("Journal des opérations").await;
    browser.wait_for("Copie de vos données remise").await;
    browser.check("data-copy").await;
    browser.close().await;
}
