//! The desk (`HelpdeskService`): an agent finds the person in front of
//! them, sees what checking an identity needs and nothing more, and every
//! lookup is audited with the agent's name and counted per agent.

use ent_identity::app::clock::Clock;
use ent_identity::proto;
use ent_identity::proto::account_selector::Identifier;
use ent_identity::proto::find_person_request::Search;
use ent_identity::proto::helpdesk_service_client::HelpdeskServiceClient;
use tonic::Code;

use crate::support::*;

const BORDEAUX: &str = "u-bordeaux-montaigne";

fn desk(app: &TestApp) -> HelpdeskServiceClient<Conn> {
    HelpdeskServiceClient::new(authed(&app.channel, "helpdesk", None))
}

fn by(identifier: Identifier) -> Option<Search> {
    Some(Search::Account(proto::AccountSelector {
        institution: BORDEAUX.into(),
        identifier: Some(identifier),
    }))
}

fn by_name(family_name: &str, birth_date: &str) -> Option<Search> {
    Some(Search::NameAndBirthDate(proto::NameAndBirthDate {
        institution: BORDEAUX.into(),
        family_name: family_name.into(),
        birth_date: birth_date.into(),
    }))
}

async fn find(
    app: &TestApp,
    agent: &str,
    search: Option<Search>,
) -> Result<Vec<proto::PersonAtDesk>, tonic::Status> {
    desk(app)
        .find_person(proto::FindPersonRequest {
            agent: agent.into(),
            search,
        })
        .await
        .map(|r| r.into_inner().people)
}

/// The audit events of `account_id` with `action`.
async fn events(app: &TestApp, account_id: &str, action: &str) -> Vec<proto::AuditEvent> {
    app.lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            account: by_id(account_id),
            ..Default::default()
        })
        .await
        .expect("events")
        .into_inner()
        .events
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// Élise Lefèvre, Bordeaux student 22012345, activated with
/// `Correct-Horse-Battery-9` and a verified recovery address.
async fn elise(app: &TestApp) -> proto::Account {
    app.active_account(
        bordeaux_student("22012345", "Élise", "Lefèvre"),
        "Correct-Horse-Battery-9",
    )
    .await
}

#[tokio::test]
async fn an_agent_finds_a_person_by_an_identifier_with_what_checking_their_identity_needs() {
    let app = spawn_app().await;
    let account = elise(&app).await;

    let people = find(
        &app,
        "mdupont",
        by(Identifier::StudentNumber("22012345".into())),
    )
    .await
    .expect("found");
    assert_eq!(people.len(), 1);
    let person = &people[0];
    assert_eq!(person.account_id, account.account_id);
    assert_eq!(person.login, account.login);
    assert_eq!(
        (person.given_name.as_str(), person.family_name.as_str()),
        ("Élise", "Lefèvre")
    );
    assert_eq!(person.birth_date, "2005-06-15");
    assert_eq!(person.student_number, "22012345");
    assert_eq!(person.status, proto::AccountStatus::Active as i32);
    assert!(person.activated);
    // The recovery address is shown masked, never whole.
    let recovery = &account.recovery_mail;
    assert!(!recovery.is_empty());
    assert!(!person.masked_recovery_mail.is_empty());
    assert_ne!(&person.masked_recovery_mail, recovery);
    assert!(person.masked_recovery_mail.contains('*'));

    // By login too; the audit trail names the client and the agent, and
    // what was searched by — not the value typed.
    let by_login = find(
        &app,
        "mdupont",
        by(Identifier::Login(account.login.clone())),
    )
    .await
    .expect("found");
    assert_eq!(by_login[0].account_id, account.account_id);
    let found = events(&app, &account.account_id, "helpdesk.person_found").await;
    assert_eq!(found.len(), 2, "one event per lookup");
    assert!(found.iter().all(|e| e.actor == "helpdesk"));
    assert!(found.iter().all(|e| e.details["agent"] == "mdupont"));
    let mut searched_by: Vec<&str> = found.iter().map(|e| e.details["by"].as_str()).collect();
    searched_by.sort_unstable();
    assert_eq!(searched_by, ["login", "student_number"]);
    assert!(found.iter().all(|e| e.details.len() == 2), "{found:?}");
}

#[tokio::test]
async fn namesakes_born_the_same_day_are_found_by_family_name_without_accents_or_case() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for (number, given) in [("22012345", "Élise"), ("22012346", "Marc")] {
        let provisioned = app
            .provision(bordeaux_student(number, given, "Lefèvre"))
            .await
            .expect("provision");
        ids.push(provisioned.account.expect("account").account_id);
    }
    let mut other_day = bordeaux_student("22012347", "Jeanne", "Lefèvre");
    other_day.birth_date = "2005-06-16".into();
    app.provision(other_day).await.expect("provision");
    app.provision(bordeaux_student("22012348", "Paul", "Lefort"))
        .await
        .expect("provision");

    let people = find(&app, "mdupont", by_name("LEFEVRE", "2005-06-15"))
        .await
        .expect("found");
    let mut found: Vec<&str> = people.iter().map(|p| p.account_id.as_str()).collect();
    found.sort_unstable();
    ids.sort_unstable();
    assert_eq!(found, ids, "both namesakes born that day, nobody else");
    assert!(people.iter().all(|p| !p.activated));
    assert!(people.iter().all(|p| p.masked_recovery_mail.is_empty()));

    // Nobody: an empty answer, audited all the same.
    let nobody = find(&app, "mdupont", by_name("Lefèvre", "1999-01-01"))
        .await
        .expect("answered");
    assert!(nobody.is_empty());
    let unknown = find(&app, "mdupont", by(Identifier::Login("nobody".into())))
        .await
        .expect("answered");
    assert!(unknown.is_empty());
    let nobody_found = app
        .lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            institution: BORDEAUX.into(),
            ..Default::default()
        })
        .await
        .expect("events")
        .into_inner()
        .events
        .into_iter()
        .filter(|e| e.action == "helpdesk.nobody_found")
        .count();
    assert_eq!(nobody_found, 2);
}

#[tokio::test]
async fn a_lookup_with_bad_fields_names_every_one_and_records_nothing() {
    let app = spawn_app().await;
    let status = find(&app, " ", by_name("L3fèvre", "15/06/2005"))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    let mut fields = violations(&status);
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "agent",
            "name_and_birth_date.birth_date",
            "name_and_birth_date.family_name"
        ]
    );
    let status = find(&app, "mdupont", None).await.expect_err("refused");
    assert_eq!(violations(&status), ["search"]);
    let mut elsewhere = by_name("Lefèvre", "2005-06-15");
    if let Some(Search::NameAndBirthDate(search)) = &mut elsewhere {
        search.institution = "univ-nowhere".into();
    }
    let status = find(&app, "mdupont", elsewhere).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(violations(&status), ["name_and_birth_date.institution"]);
    let status = find(
        &app,
        "mdupont",
        by(Identifier::AccountId("not-a-uuid".into())),
    )
    .await
    .expect_err("refused");
    assert_eq!(violations(&status), ["account.account_id"]);
}

#[tokio::test]
async fn each_agent_has_a_limit_of_lookups_and_other_agents_keep_theirs() {
    let app = spawn_app_with(
        vec![(
            "ENT_IDENTITY__RATE_LIMITS__DESK_REQUESTS_PER_AGENT__MAX".into(),
            "2".into(),
        )],
        true,
    )
    .await;
    let search = || by(Identifier::Login("nobody".into()));
    for _ in 0..2 {
        find(&app, "mdupont", search())
            .await
            .expect("within the limit");
    }
    let status = find(&app, "mdupont", search()).await.expect_err("limited");
    assert_eq!(status.code(), Code::ResourceExhausted);
    find(&app, "adurand", search())
        .await
        .expect("another agent of the desk");
}

#[tokio::test]
async fn a_desk_client_inventing_agents_does_not_multiply_its_limit() {
    let app = spawn_app_with(
        vec![(
            "ENT_IDENTITY__RATE_LIMITS__DESK_REQUESTS_PER_CLIENT__MAX".into(),
            "3".into(),
        )],
        true,
    )
    .await;
    let search = || by(Identifier::Login("nobody".into()));
    for agent in ["agent-1", "agent-2", "agent-3"] {
        find(&app, agent, search())
            .await
            .expect("within the client's limit");
    }
    let status = find(&app, "agent-4", search()).await.expect_err("limited");
    assert_eq!(status.code(), Code::ResourceExhausted);
}

#[tokio::test]
async fn the_desk_role_reaches_the_desk_and_nothing_else() {
    let app = spawn_app().await;
    let provisioned = app
        .provision(bordeaux_student("22012345", "Élise", "Lefèvre"))
        .await
        .expect("provision");
    let id = provisioned.account.expect("account").account_id;
    // The desk cannot read whole accounts, nor provision, nor act for a
    // person through the portal's services.
    let lifecycle = proto::account_lifecycle_service_client::AccountLifecycleServiceClient::new(
        authed(&app.channel, "helpdesk", None),
    );
    let denied = lifecycle
        .clone()
        .get_account(proto::GetAccountRequest {
            account: by_id(&id),
        })
        .await
        .expect_err("refused");
    assert_eq!(denied.code(), Code::PermissionDenied);
    // The other roles cannot use the desk.
    for role in ["enrolment", "portal", "ldap_sync", "batch"] {
        let status = HelpdeskServiceClient::new(authed(&app.channel, role, None))
            .find_person(proto::FindPersonRequest {
                agent: "mdupont".into(),
                search: by(Identifier::AccountId(id.clone())),
            })
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{role}");
    }
}

async fn desk_reset(
    app: &TestApp,
    agent: &str,
    account_id: &str,
) -> Result<proto::IssueDeskPasswordResetResponse, tonic::Status> {
    desk(app)
        .issue_desk_password_reset(proto::IssueDeskPasswordResetRequest {
            agent: agent.into(),
            account: by_id(account_id),
        })
        .await
        .map(|r| r.into_inner())
}

async fn reset_with(
    app: &TestApp,
    token: &str,
    password: &str,
) -> Result<proto::CompletePasswordResetResponse, tonic::Status> {
    app.recovery()
        .complete_password_reset(proto::CompletePasswordResetRequest {
            token: token.into(),
            new_password: Some(proto::PasswordInput {
                password: password.into(),
                confirmation: password.into(),
            }),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_person_whose_recovery_address_is_dead_gets_back_in_with_a_link_handed_over_at_the_desk()
{
    let app = spawn_app().await;
    let account = elise(&app).await;
    let id = account.account_id.clone();
    let mails_before = app.mails_to(&account.recovery_mail).len();

    // The agent finds the person, checks their card, issues the link.
    let found = find(
        &app,
        "mdupont",
        by(Identifier::StudentNumber("22012345".into())),
    )
    .await
    .expect("found");
    assert_eq!(found[0].account_id, id);
    let first = desk_reset(&app, "mdupont", &id).await.expect("issued");
    assert_eq!(first.person.expect("person").account_id, id);
    assert!(first.reset_url.ends_with(&first.reset_token));
    assert!(first.reset_url.contains("/recovery/reset/"));
    let expires = first.expires_at.expect("expiry");
    let now = app.clock.now().timestamp();
    assert_eq!(expires.seconds - now, 30 * 60, "Bordeaux keeps the default");

    // A second hand-over revokes the first link.
    let issued = desk_reset(&app, "mdupont", &id)
        .await
        .expect("issued again");
    let revoked = reset_with(&app, &first.reset_token, "Vb4!Tn8rXq3j-new")
        .await
        .expect_err("the first link no longer works");
    assert_eq!(revoked.code(), Code::FailedPrecondition);

    // The person chooses a new password through the reset page's calls.
    let done = reset_with(&app, &issued.reset_token, "Vb4!Tn8rXq3j-new")
        .await
        .expect("reset");
    assert_eq!(done.login, account.login);
    assert!(app.password_valid(&id, "Vb4!Tn8rXq3j-new").await);
    assert!(!app.password_valid(&id, "Correct-Horse-Battery-9").await);
    let replay = reset_with(&app, &issued.reset_token, "Zm5%Rc8vBn1q-other")
        .await
        .expect_err("single use");
    assert_eq!(precondition(&replay), "LINK_EXPIRED");

    // The person was told of each hand-over, without the link.
    let notices = app
        .wait_for_mails_to(&account.recovery_mail, mails_before + 2)
        .await;
    let desk_notices: Vec<String> = notices
        .iter()
        .map(|m| decoded(m))
        .filter(|m| m.contains("guichet"))
        .collect();
    assert_eq!(desk_notices.len(), 2, "{notices:?}");
    assert!(
        desk_notices
            .iter()
            .all(|m| !m.contains(&issued.reset_token))
    );

    // The audit trail names the desk client and its agent.
    let issued_events = events(&app, &id, "helpdesk.password_reset_issued").await;
    assert_eq!(issued_events.len(), 2);
    assert!(issued_events.iter().all(|e| e.actor == "helpdesk"));
    assert!(
        issued_events
            .iter()
            .all(|e| e.details["agent"] == "mdupont")
    );
}

#[tokio::test]
async fn a_desk_link_expires_and_is_refused_for_an_account_not_in_use() {
    let app = spawn_app().await;
    let account = elise(&app).await;
    let issued = desk_reset(&app, "mdupont", &account.account_id)
        .await
        .expect("issued");
    app.clock.advance(chrono::Duration::minutes(31));
    let late = reset_with(&app, &issued.reset_token, "Vb4!Tn8rXq3j-new")
        .await
        .expect_err("expired");
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert!(
        app.password_valid(&account.account_id, "Correct-Horse-Battery-9")
            .await
    );

    // Not activated yet: the desk reissues activation material instead.
    let provisioned = app
        .provision(bordeaux_student("22012346", "Marc", "Lefèvre"))
        .await
        .expect("provision");
    let waiting = provisioned.account.expect("account").account_id;
    let refused = desk_reset(&app, "mdupont", &waiting)
        .await
        .expect_err("refused");
    assert_eq!(precondition(&refused), "ACCOUNT_STATE");
    let missing = desk_reset(&app, "mdupont", &uuid::Uuid::new_v4().to_string())
        .await
        .expect_err("refused");
    assert_eq!(missing.code(), Code::NotFound);
    let bad = desk_reset(&app, "", "not-a-uuid")
        .await
        .expect_err("refused");
    let mut fields = violations(&bad);
    fields.sort_unstable();
    assert_eq!(fields, ["account.account_id", "agent"]);
}

async fn desk_new_recovery_mail(
    app: &TestApp,
    account_id: &str,
    address: &str,
) -> Result<proto::RequestDeskRecoveryMailChangeResponse, tonic::Status> {
    desk(app)
        .request_desk_recovery_mail_change(proto::RequestDeskRecoveryMailChangeRequest {
            agent: "mdupont".into(),
            account: by_id(account_id),
            new_recovery_mail: Some(proto::MailInput {
                address: address.into(),
                confirmation: address.into(),
            }),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn the_desk_replaces_a_dead_recovery_address_once_the_new_one_is_verified() {
    let app = spawn_app().await;
    let account = elise(&app).await;
    let id = account.account_id.clone();
    let dead = account.recovery_mail.clone();
    let mails_to_dead = app.mails_to(&dead).len();
    // Days later, the address is dead and the person comes to the desk.
    app.clock.advance(chrono::Duration::days(40));

    let sent = desk_new_recovery_mail(&app, &id, "elise.l@example.org")
        .await
        .expect("link sent");
    // The address in use hears of the request at once.
    let told = decoded(&app.wait_for_mail_to(&dead, mails_to_dead + 1).await);
    assert!(told.contains("guichet"), "{told}");
    assert_eq!(sent.person.expect("person").account_id, id);
    assert!(!sent.notice.expect("notice").masked_destination.is_empty());
    // Not in use before the person follows the link.
    let before = app
        .get_account("", Identifier::AccountId(id.clone()))
        .await
        .expect("account");
    assert_eq!(before.recovery_mail, dead);

    let token = link_token(
        &app.wait_for_mail_to("elise.l@example.org", 1).await,
        "account/recovery-mail",
    );
    let confirmed = app
        .account_settings()
        .confirm_recovery_mail_change(proto::ConfirmRecoveryMailChangeRequest { token })
        .await
        .expect("confirmed")
        .into_inner();
    assert_eq!(confirmed.recovery_mail, "elise.l@example.org");
    // The former address is told it was replaced.
    app.wait_for_mail_to(&dead, mails_to_dead + 2).await;
    let requested = events(&app, &id, "helpdesk.recovery_mail_change_requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0].details["agent"], "mdupont");

    // The university's own address and the one now in use are refused.
    let own = desk_new_recovery_mail(&app, &id, &account.institutional_mail)
        .await
        .expect_err("refused");
    assert_eq!(violations(&own), ["new_recovery_mail.address"]);
    let typo = desk(&app)
        .request_desk_recovery_mail_change(proto::RequestDeskRecoveryMailChangeRequest {
            agent: "mdupont".into(),
            account: by_id(&id),
            new_recovery_mail: Some(proto::MailInput {
                address: "elise.m@example.org".into(),
                confirmation: "elise.n@example.org".into(),
            }),
        })
        .await
        .expect_err("refused");
    assert_eq!(typo.code(), Code::InvalidArgument);
}

async fn desk_activation(
    app: &TestApp,
    account_id: &str,
) -> Result<proto::IssueDeskActivationResponse, tonic::Status> {
    desk(app)
        .issue_desk_activation(proto::IssueDeskActivationRequest {
            agent: "mdupont".into(),
            account: by_id(account_id),
            send_to: None,
        })
        .await
        .map(|r| r.into_inner())
}

async fn start_with_key(
    app: &TestApp,
    login: &str,
    key: &str,
) -> Result<proto::StartActivationResponse, tonic::Status> {
    app.activation()
        .start_activation(proto::StartActivationRequest {
            institution: BORDEAUX.into(),
            entry: Some(proto::start_activation_request::Entry::Key(
                proto::KeyEntry {
                    login: login.into(),
                    activation_key: key.into(),
                },
            )),
        })
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn a_person_who_lost_their_activation_letter_gets_a_new_key_at_the_desk() {
    let app = spawn_app().await;
    let provisioned = app
        .provision(bordeaux_student("22012346", "Marc", "Lefèvre"))
        .await
        .expect("provision");
    let lost_key = provisioned
        .activation_material
        .clone()
        .expect("material")
        .activation_key;
    let account = provisioned.account.expect("account");

    let issued = desk_activation(&app, &account.account_id)
        .await
        .expect("issued");
    assert_eq!(
        issued.person.expect("person").account_id,
        account.account_id
    );
    let new_key = issued.activation_material.expect("material").activation_key;
    assert!(!new_key.is_empty());
    assert_ne!(new_key, lost_key);
    start_with_key(&app, &account.login, &lost_key)
        .await
        .expect_err("the lost letter's key no longer works");
    start_with_key(&app, &account.login, &new_key)
        .await
        .expect("the new key starts the activation");
    // The person is told by mail, without the key.
    let notice = decoded(&app.wait_for_mail_to(&account.institutional_mail, 1).await);
    assert!(
        notice.contains("guichet") && !notice.contains(&new_key),
        "{notice}"
    );
    let audited = events(
        &app,
        &account.account_id,
        "helpdesk.activation_material_issued",
    )
    .await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].details["agent"], "mdupont");
}

async fn start_with_link(
    app: &TestApp,
    institution: &str,
    token: &str,
) -> Result<proto::StartActivationResponse, tonic::Status> {
    app.activation()
        .start_activation(proto::StartActivationRequest {
            institution: institution.into(),
            entry: Some(proto::start_activation_request::Entry::Link(
                proto::LinkEntry {
                    token: token.into(),
                },
            )),
        })
        .await
        .map(|r| r.into_inner())
}

/// The steps of the flow's current screen.
fn current_steps(flow: &proto::ActivationFlow) -> Vec<proto::ActivationStep> {
    flow.screens[flow.current_screen as usize]
        .steps
        .iter()
        .map(|s| proto::ActivationStep::try_from(*s).expect("step"))
        .collect()
}

#[tokio::test]
async fn where_nothing_is_printed_the_desk_hands_over_a_link_standing_for_the_identity_check() {
    let app = spawn_app().await;
    let active = elise(&app).await;
    let refused = desk_activation(&app, &active.account_id)
        .await
        .expect_err("activated already");
    assert_eq!(precondition(&refused), "ALREADY_ACTIVE");
    // Tours matches the student number, INE and phone, then sends a code
    // by SMS: a student who lost their phone comes to the desk.
    let mut record = tours_student("22012347", &ine_bea(1234567890), "+33612345678");
    record.personal_mail = "lea.dubois@example.org".into();
    let tours = app
        .provision(record)
        .await
        .expect("provision")
        .account
        .expect("account");
    let first = desk_activation(&app, &tours.account_id)
        .await
        .expect("issued");
    assert!(first.activation_material.is_none());
    let first = first.activation_link.expect("link");
    assert!(
        first
            .url
            .ends_with(&format!("/activation/link/{}", first.token)),
        "{}",
        first.url
    );
    let now = app.clock.now().timestamp();
    assert_eq!(first.expires_at.expect("expiry").seconds - now, 30 * 60);
    let issued = desk_activation(&app, &tours.account_id)
        .await
        .expect("issued again")
        .activation_link
        .expect("link");
    let revoked = start_with_link(&app, "univ-tours", &first.token)
        .await
        .expect_err("the first link no longer works");
    assert_eq!(precondition(&revoked), "LINK_EXPIRED");

    // The link stands for the identity check and its code: no SMS, the
    // journey goes on from the screens after the code.
    let started = start_with_link(&app, "univ-tours", &issued.token)
        .await
        .expect("started");
    let flow = started.flow.expect("flow");
    assert!(
        !current_steps(&flow).contains(&proto::ActivationStep::VerifyCode),
        "{flow:?}"
    );
    assert!(app.sms().is_empty());

    // The person was told of each hand-over, without the link.
    let notices = app.wait_for_mails_to("lea.dubois@example.org", 2).await;
    assert!(
        notices
            .iter()
            .map(|m| decoded(m))
            .all(|m| m.contains("guichet") && !m.contains(&issued.token)),
        "{notices:?}"
    );
    let audited = events(&app, &tours.account_id, "helpdesk.activation_link_issued").await;
    assert_eq!(audited.len(), 2);
    assert!(audited.iter().all(|e| e.details["agent"] == "mdupont"));

    // Short-lived: half an hour later a fresh link no longer starts.
    let late = desk_activation(&app, &tours.account_id)
        .await
        .expect("issued")
        .activation_link
        .expect("link");
    app.clock.advance(chrono::Duration::minutes(31));
    let expired = start_with_link(&app, "univ-tours", &late.token)
        .await
        .expect_err("expired");
    assert_eq!(precondition(&expired), "LINK_EXPIRED");
}

#[tokio::test]
async fn the_desk_mails_the_activation_link_to_an_address_the_person_gives() {
    let app = spawn_app().await;
    // A Montpellier student whose personal mailbox is dead.
    let student = app
        .provision(proto::ProvisionRecord {
            institution: "umontpellier".into(),
            profile: "student".into(),
            student_number: "22018888".into(),
            given_name: "Nina".into(),
            family_name: "Boite".into(),
            birth_date: "2006-05-06".into(),
            personal_mail: "nina.morte@example.org".into(),
            ..Default::default()
        })
        .await
        .expect("provision")
        .account
        .expect("account");
    let request = |address: &str, confirmation: &str| proto::IssueDeskActivationRequest {
        agent: "mdupont".into(),
        account: by_id(&student.account_id),
        send_to: Some(proto::MailInput {
            address: address.into(),
            confirmation: confirmation.into(),
        }),
    };
    let typo = desk(&app)
        .issue_desk_activation(request("nina.b@example.org", "nina.v@example.org"))
        .await
        .expect_err("typo");
    assert_eq!(violations(&typo), ["send_to.confirmation"]);

    let sent = desk(&app)
        .issue_desk_activation(request("nina.b@example.org", "nina.b@example.org"))
        .await
        .expect("sent")
        .into_inner();
    assert!(sent.activation_link.is_none() && sent.activation_material.is_none());
    assert!(!sent.notice.expect("notice").masked_destination.is_empty());
    let mail = app.wait_for_mail_to("nina.b@example.org", 1).await;
    let token = link_token(&mail, "link");
    let started = start_with_link(&app, "umontpellier", &token)
        .await
        .expect("started");
    let flow = started.flow.expect("flow");
    assert!(
        !current_steps(&flow).contains(&proto::ActivationStep::VerifyCode),
        "{flow:?}"
    );
    let audited = events(&app, &student.account_id, "helpdesk.activation_link_issued").await;
    assert_eq!(audited[0].details["mailed"], "true");
}
