//! A university that is none of the seeds' (tests/institutions/
//! univ-exemple.toml), configured without code: its journeys end to end
//! over gRPC (issue 28).

use ent_identity::proto;
use ent_identity::proto::start_activation_request::Entry;
use tonic::Code;

use crate::support::*;

const EXEMPLE: &str = "univ-exemple";

pub(crate) async fn spawn_exemple() -> TestApp {
    spawn_app_configured(TestConfig {
        toml: include_str!("../institutions/univ-exemple.toml").to_owned(),
        wait: true,
        ..TestConfig::default()
    })
    .await
}

fn student(number: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: EXEMPLE.into(),
        profile: "student".into(),
        student_number: number.into(),
        given_name: "Inès".into(),
        family_name: "Benali".into(),
        birth_date: "2006-09-14".into(),
        personal_mail: "ines.benali@example.org".into(),
        ..Default::default()
    }
}

pub(crate) fn staff(hr_id: &str) -> proto::ProvisionRecord {
    proto::ProvisionRecord {
        institution: EXEMPLE.into(),
        profile: "staff".into(),
        hr_id: hr_id.into(),
        given_name: "Hélène".into(),
        family_name: "D'Argent-Lévy".into(),
        birth_date: "1979-04-30".into(),
        mobile_phone: "06 12 34 56 78".into(),
        ..Default::default()
    }
}

async fn start(app: &TestApp, typed: proto::IdentityMatchEntry) -> Result<String, tonic::Status> {
    app.activation()
        .start_activation(proto::StartActivationRequest {
            institution: EXEMPLE.into(),
            entry: Some(Entry::IdentityMatch(typed)),
        })
        .await
        .map(|r| r.into_inner().flow_token)
}

/// Verifies `code`, gives the institution's consents where the journey
/// asks them, and sets the password: the account is then active.
async fn finish(app: &TestApp, token: &str, code: &str) {
    let verified = app
        .activation()
        .verify_activation_code(proto::VerifyActivationCodeRequest {
            flow_token: token.into(),
            code: code.into(),
        })
        .await
        .expect("the code")
        .into_inner();
    let flow = verified.flow.expect("flow");
    let screen = &flow.screens[flow.current_screen as usize];
    if screen
        .steps
        .contains(&(proto::ActivationStep::Consents as i32))
    {
        give_consents(
            app,
            token,
            &[("sms_university", &["yes"]), ("photo_places", &["website"])],
        )
        .await
        .expect("the consents");
    }
    choose_password(app, token).await;
}

/// Answers the institution's consent items on the current screen.
async fn give_consents(
    app: &TestApp,
    token: &str,
    answers: &[(&str, &[&str])],
) -> Result<proto::SubmitActivationScreenResponse, tonic::Status> {
    app.activation()
        .submit_activation_screen(proto::SubmitActivationScreenRequest {
            flow_token: token.into(),
            consents: consent_answers(answers),
            crous_sharing: Some(true),
            ..Default::default()
        })
        .await
        .map(|r| r.into_inner())
}

fn consent_answers(answers: &[(&str, &[&str])]) -> Vec<proto::ConsentAnswerInput> {
    answers
        .iter()
        .map(|(item, choices)| proto::ConsentAnswerInput {
            item: (*item).into(),
            choices: choices.iter().map(|c| (*c).into()).collect(),
        })
        .collect()
}

/// Sets the password, the last screen: the account is then active.
async fn choose_password(app: &TestApp, token: &str) {
    let done = app
        .activation()
        .submit_activation_screen(proto::SubmitActivationScreenRequest {
            flow_token: token.into(),
            password: Some(proto::PasswordInput {
                password: "Garonne+Lot47".into(),
                confirmation: "Garonne+Lot47".into(),
            }),
            ..Default::default()
        })
        .await
        .expect("the password")
        .into_inner();
    assert!(done.flow.expect("flow").completion.is_some());
}

/// Provisions a doctoral student and types the printed key: the account
/// and the started flow.
async fn start_doctoral(
    app: &TestApp,
    record: proto::ProvisionRecord,
) -> (proto::Account, proto::StartActivationResponse) {
    let provisioned = app
        .provision(proto::ProvisionRecord {
            profile: "doctoral".into(),
            ..record
        })
        .await
        .expect("provision");
    let account = provisioned.account.expect("account");
    let key = provisioned
        .activation_material
        .expect("material")
        .activation_key;
    let started = app
        .activation()
        .start_activation(proto::StartActivationRequest {
            institution: EXEMPLE.into(),
            entry: Some(Entry::Key(proto::KeyEntry {
                login: account.login.clone(),
                activation_key: key,
            })),
        })
        .await
        .expect("the key")
        .into_inner();
    (account, started)
}

#[tokio::test]
async fn each_profile_is_recognised_by_the_attributes_its_institution_chose() {
    let app = spawn_exemple().await;
    // The first-connection page asks each population for its own.
    let described = app
        .activation()
        .describe_first_connection(proto::DescribeFirstConnectionRequest {
            institution: EXEMPLE.into(),
        })
        .await
        .expect("described")
        .into_inner();
    let fields: Vec<Vec<String>> = described
        .entries
        .iter()
        .map(|e| e.fields.iter().map(|f| f.name.clone()).collect())
        .collect();
    assert_eq!(
        fields,
        vec![
            vec!["key.login", "key.activation_key"],
            vec!["login"],
            vec![
                "identity_match.student_number",
                "identity_match.birth_date",
                "identity_match.personal_mail"
            ],
            vec![
                "identity_match.hr_id",
                "identity_match.birth_date",
                "identity_match.family_name",
                "identity_match.mobile_phone"
            ],
        ]
    );

    // A student: student number, birth date as typed on a form, the
    // personal address in other case; the code comes by mail alone.
    let provisioned = app.provision(student("22070001")).await.expect("provision");
    let account = provisioned.account.expect("account");
    assert_eq!(
        (account.login.as_str(), account.institutional_mail.as_str()),
        ("benalii01", "i.benali@etu.univ-exemple.fr")
    );
    let namesake = app.provision(student("22070009")).await.expect("provision");
    let namesake = namesake.account.expect("account");
    assert_eq!(
        (
            namesake.login.as_str(),
            namesake.institutional_mail.as_str()
        ),
        ("benalii02", "i.benali2@etu.univ-exemple.fr")
    );
    let typed = proto::IdentityMatchEntry {
        student_number: "22070001".into(),
        birth_date: "14092006".into(),
        personal_mail: "Ines.Benali@EXAMPLE.org".into(),
        ..Default::default()
    };
    let token = start(&app, typed).await.expect("recognised");
    let mailed = app.wait_for_mail_to("ines.benali@example.org", 1).await;
    assert!(app.sms().is_empty(), "no phone: no SMS");
    finish(&app, &token, &code_in(&mailed)).await;

    // A staff member: HR number, birth date, family name without its
    // accents and apostrophe, the phone in national form; by SMS.
    let provisioned = app.provision(staff("2231")).await.expect("provision");
    let account = provisioned.account.expect("account");
    assert_eq!(
        (account.login.as_str(), account.institutional_mail.as_str()),
        ("p2231", "helene.dargent-levy@univ-exemple.fr")
    );
    let typed = proto::IdentityMatchEntry {
        hr_id: "2231".into(),
        birth_date: "1979-04-30".into(),
        family_name: "dargent levy".into(),
        mobile_phone: "+33612345678".into(),
        ..Default::default()
    };
    let token = start(&app, typed).await.expect("recognised");
    let sms = app.wait_for_sms(1).await;
    assert_eq!(sms[0].0, "+33612345678");
    finish(&app, &token, &code_in(&sms[0].1)).await;
}

#[tokio::test]
async fn a_mismatch_is_refused_alike_whatever_was_wrong() {
    let app = spawn_exemple().await;
    app.provision(student("22070002")).await.expect("provision");
    let right = proto::IdentityMatchEntry {
        student_number: "22070002".into(),
        birth_date: "2006-09-14".into(),
        personal_mail: "ines.benali@example.org".into(),
        ..Default::default()
    };
    let wrong = [
        proto::IdentityMatchEntry {
            birth_date: "2006-09-15".into(),
            ..right.clone()
        },
        proto::IdentityMatchEntry {
            personal_mail: "ines@example.org".into(),
            ..right.clone()
        },
        // More than the check asks for is not the check either.
        proto::IdentityMatchEntry {
            mobile_phone: "+33612345678".into(),
            ..right.clone()
        },
        proto::IdentityMatchEntry {
            student_number: "22079999".into(),
            ..right.clone()
        },
    ];
    let mut refusals = Vec::new();
    for typed in wrong {
        let refused = start(&app, typed).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        refusals.push((refused.message().to_owned(), refused.details().to_vec()));
    }
    assert!(
        refusals.windows(2).all(|pair| pair[0] == pair[1]),
        "{refusals:?}"
    );
    // A badly written attribute is named, as any field is.
    let unreadable = start(
        &app,
        proto::IdentityMatchEntry {
            birth_date: "14/09/2006".into(),
            ..right.clone()
        },
    )
    .await
    .unwrap_err();
    assert!(unreadable.message().contains("identity_match.birth_date"));
    assert!(app.mails_to("ines.benali@example.org").is_empty());
    start(&app, right).await.expect("recognised");
}

#[tokio::test]
async fn a_printed_key_is_followed_by_a_code_mailed_to_the_personal_address() {
    let app = spawn_exemple().await;
    let (account, started) = start_doctoral(&app, student("22070003")).await;
    assert_eq!(account.login, "d22070003");
    let flow = started.flow.expect("flow");
    let pending = flow.pending_verification.expect("a code is awaited");
    assert!(
        pending
            .notice
            .expect("notice")
            .masked_destination
            .ends_with(".org"),
        "sent to the personal address"
    );
    // The password waits for the code.
    let early = app
        .activation()
        .submit_activation_screen(proto::SubmitActivationScreenRequest {
            flow_token: started.flow_token.clone(),
            password: Some(proto::PasswordInput {
                password: "Garonne+Lot47".into(),
                confirmation: "Garonne+Lot47".into(),
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::InvalidArgument);
    let mailed = app.wait_for_mail_to("ines.benali@example.org", 1).await;
    assert!(app.sms().is_empty());
    finish(&app, &started.flow_token, &code_in(&mailed)).await;
}

/// A staff member activated with the code sent by SMS to their phone
/// alone: the phone is proven.
pub(crate) async fn active_staff(app: &TestApp, hr_id: &str) -> proto::Account {
    let provisioned = app.provision(staff(hr_id)).await.expect("provision");
    let typed = proto::IdentityMatchEntry {
        hr_id: hr_id.into(),
        birth_date: "1979-04-30".into(),
        family_name: "D'Argent-Lévy".into(),
        mobile_phone: "+33612345678".into(),
        ..Default::default()
    };
    let before = app.sms().len();
    let token = start(app, typed).await.expect("recognised");
    let sms = app.wait_for_sms(before + 1).await;
    finish(app, &token, &code_in(&sms[before].1)).await;
    provisioned.account.expect("account")
}

async fn reset_by_sms(app: &TestApp, login: &str) -> proto::RequestPasswordResetResponse {
    app.recovery()
        .request_password_reset(proto::RequestPasswordResetRequest {
            institution: EXEMPLE.into(),
            identifier: Some(proto::request_password_reset_request::Identifier::Login(
                login.into(),
            )),
            channel: proto::ResetChannel::Sms as i32,
        })
        .await
        .expect("a reset request is always answered")
        .into_inner()
}

async fn verify_code(app: &TestApp, login: &str, code: &str) -> Result<String, tonic::Status> {
    use proto::verify_reset_code_request::Identifier;
    app.recovery()
        .verify_reset_code(proto::VerifyResetCodeRequest {
            institution: EXEMPLE.into(),
            identifier: Some(Identifier::TypedIdentifier(login.into())),
            code: code.into(),
        })
        .await
        .map(|r| r.into_inner().token)
}

/// Waits for the audit event of a reset request for `account` that sent
/// nothing, and says why.
async fn reset_not_sent_because(app: &TestApp, account_id: &str) -> String {
    use proto::account_selector::Identifier;
    for _ in 0..100 {
        let events = app
            .lifecycle
            .clone()
            .list_audit_events(proto::ListAuditEventsRequest {
                account: Some(proto::AccountSelector {
                    institution: String::new(),
                    identifier: Some(Identifier::AccountId(account_id.into())),
                }),
                ..Default::default()
            })
            .await
            .expect("audit")
            .into_inner()
            .events;
        let unsent = events.iter().find(|e| {
            e.action == "password_reset.requested"
                && e.details.get("sent").map(String::as_str) == Some("false")
        });
        if let Some(event) = unsent {
            return event.details.get("reason").cloned().unwrap_or_default();
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no unsent reset audited for {account_id}");
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_a_code_sent_by_sms() {
    let app = spawn_exemple().await;
    // The form lets the person choose, and has a form for the code.
    let described = app
        .recovery()
        .describe_recovery(proto::DescribeRecoveryRequest {
            institution: EXEMPLE.into(),
        })
        .await
        .expect("described")
        .into_inner();
    assert_eq!(
        described.channels,
        [
            proto::ResetChannel::Mail as i32,
            proto::ResetChannel::Sms as i32
        ]
    );
    let form = described.password_reset.expect("form");
    let channel = form
        .fields
        .iter()
        .find(|f| f.name == "channel")
        .expect("a choice");
    let options: Vec<&str> = channel.options.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(options, ["mail", "sms"]);
    let code_form = described.reset_code.expect("the code's form");
    assert_eq!(code_form.fields[0].name, "code");

    let account = active_staff(&app, "2240").await;
    let sent = app.sms().len();
    let answer = reset_by_sms(&app, &account.login).await;
    assert_eq!(answer.method, proto::ResetMethod::SmsCode as i32);
    assert_eq!(answer.channel, proto::ResetChannel::Sms as i32);
    let notice = answer.notice.expect("notice");
    assert_eq!(notice.masked_destination, "+33*****5678");
    assert!(!notice.check_spam_folder);
    // Nobody's login gets an answer of the same shape.
    let nobody = reset_by_sms(&app, "p9999").await;
    let decoy = nobody.notice.expect("notice").masked_destination;
    assert_eq!((decoy.len(), &decoy[..8]), (12, "+33*****"));
    assert_eq!(nobody.method, answer.method);

    let sms = app.wait_for_sms(sent + 1).await;
    assert_eq!(sms[sent].0, "+33612345678");
    let code = code_in(&sms[sent].1);
    // A wrong code, and any code for nobody, get one refusal.
    let wrong = verify_code(&app, &account.login, "000000")
        .await
        .unwrap_err();
    let unknown = verify_code(&app, "p9999", &code).await.unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert_eq!(violations(&wrong), ["code"]);
    assert_eq!(wrong.message(), unknown.message());

    // The right one gives a reset link's token: the new password is set
    // as from a mailed link, and the code is spent.
    let token = verify_code(&app, &account.login, &code)
        .await
        .expect("the code");
    let link = app
        .recovery()
        .get_password_reset(proto::GetPasswordResetRequest {
            token: token.clone(),
        })
        .await
        .expect("the link works")
        .into_inner();
    assert_eq!(link.login, account.login);
    let done = app
        .recovery()
        .complete_password_reset(proto::CompletePasswordResetRequest {
            token,
            new_password: Some(proto::PasswordInput {
                password: "Dordogne+Isle52".into(),
                confirmation: "Dordogne+Isle52".into(),
            }),
        })
        .await
        .expect("new password")
        .into_inner();
    assert_eq!(done.login, account.login);
    let spent = verify_code(&app, &account.login, &code).await.unwrap_err();
    assert_eq!(spent.message(), wrong.message());
}

#[tokio::test]
async fn a_reset_code_goes_only_to_a_phone_proven_by_the_person() {
    let app = spawn_exemple().await;
    // A student's activation code went by mail: no phone was proven.
    app.provision(proto::ProvisionRecord {
        mobile_phone: "+33698765432".into(),
        ..student("22070005")
    })
    .await
    .expect("provision");
    let typed = proto::IdentityMatchEntry {
        student_number: "22070005".into(),
        birth_date: "2006-09-14".into(),
        personal_mail: "ines.benali@example.org".into(),
        ..Default::default()
    };
    let token = start(&app, typed).await.expect("recognised");
    let mailed = app.wait_for_mail_to("ines.benali@example.org", 1).await;
    finish(&app, &token, &code_in(&mailed)).await;
    let student = app
        .get_account(
            EXEMPLE,
            proto::account_selector::Identifier::Login("benalii01".into()),
        )
        .await
        .expect("the student");
    reset_by_sms(&app, "benalii01").await;
    let why = reset_not_sent_because(&app, &student.account_id).await;
    assert!(why.contains("no_verified_mobile_phone"), "{why}");

    // A staff member's new number from HR was never proven.
    let account = active_staff(&app, "2241").await;
    app.provision(proto::ProvisionRecord {
        mobile_phone: "07 88 10 25 99".into(),
        ..staff("2241")
    })
    .await
    .expect("a new phone");
    reset_by_sms(&app, &account.login).await;
    let why = reset_not_sent_because(&app, &account.account_id).await;
    assert!(why.contains("no_verified_mobile_phone"), "{why}");
    assert!(app.sms().iter().all(|(to, _)| to != "+33788102599"));
}

#[tokio::test]
async fn a_mailed_link_is_followed_by_the_birth_date() {
    use proto::ActivationStep as S;
    let app = spawn_exemple().await;
    let provisioned = app
        .provision(proto::ProvisionRecord {
            profile: "lecturer".into(),
            mobile_phone: String::new(),
            personal_mail: "h.argent@example.org".into(),
            ..staff("2301")
        })
        .await
        .expect("provision");
    assert_eq!(provisioned.account.expect("account").login, "v2301");
    let mail = app.wait_for_mail_to("h.argent@example.org", 1).await;
    let started = app
        .activation()
        .start_activation(proto::StartActivationRequest {
            institution: EXEMPLE.into(),
            entry: Some(Entry::Link(proto::LinkEntry {
                token: link_token(&mail, "link"),
            })),
        })
        .await
        .expect("the link")
        .into_inner();
    let token = started.flow_token;
    // The identity screen asks for the birth date, and nothing else goes
    // before it.
    let flow = started.flow.expect("flow");
    let current = &flow.screens[flow.current_screen as usize];
    assert_eq!(current.steps, [S::VerifyIdentity as i32]);
    let names: Vec<&str> = current.items[0]
        .fields
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(names, ["identity_match.birth_date"]);
    assert!(flow.pending_verification.is_none());
    let early = app
        .activation()
        .submit_activation_screen(proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&early), "AWAITING_VERIFICATION");

    let check = |birth_date: &str, family_name: &str| {
        let mut client = app.activation();
        let request = proto::VerifyActivationIdentityRequest {
            flow_token: token.clone(),
            identity_match: Some(proto::IdentityMatchEntry {
                birth_date: birth_date.into(),
                family_name: family_name.into(),
                ..Default::default()
            }),
        };
        async move { client.verify_activation_identity(request).await }
    };
    // Another date, and more than the check asks for, are refused alike.
    let wrong = check("1979-04-29", "").await.unwrap_err();
    let more = check("1979-04-30", "D'Argent-Lévy").await.unwrap_err();
    assert_eq!(wrong.code(), Code::InvalidArgument);
    assert_eq!(wrong.message(), more.message());
    let unreadable = check("30/04/1979", "").await.unwrap_err();
    assert_eq!(violations(&unreadable), ["identity_match.birth_date"]);
    let flow = check("30041979", "")
        .await
        .expect("the record's date")
        .into_inner()
        .flow
        .expect("flow");
    let current = &flow.screens[flow.current_screen as usize];
    assert_eq!(current.steps, [S::MobilePhone as i32]);
    let again = check("30041979", "").await.unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);

    // HR has no phone of theirs: they give one, proven by the code sent to
    // it, and a forgotten password can then go there by SMS.
    let give_phone = |phone: &str| {
        let mut client = app.activation();
        let request = proto::SubmitActivationScreenRequest {
            flow_token: token.clone(),
            mobile_phone: phone.into(),
            ..Default::default()
        };
        async move { client.submit_activation_screen(request).await }
    };
    let unreadable = give_phone("12").await.unwrap_err();
    assert_eq!(violations(&unreadable), ["mobile_phone"]);
    let given = give_phone("07 88 10 25 42")
        .await
        .expect("a phone")
        .into_inner();
    let notice = given.notice.expect("notice");
    assert_eq!(notice.masked_destination, "+33*****2542");
    let sms = app.wait_for_sms(1).await;
    assert_eq!(sms[0].0, "+33788102542");
    let wrong = app
        .activation()
        .verify_activation_code(proto::VerifyActivationCodeRequest {
            flow_token: token.clone(),
            code: "00000000".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&wrong), ["code"]);
    finish(&app, &token, &code_in(&sms[0].1)).await;
    let answer = reset_by_sms(&app, "v2301").await;
    assert_eq!(
        answer.notice.expect("notice").masked_destination,
        "+33*****2542"
    );
    let sms = app.wait_for_sms(2).await;
    assert_eq!(sms[1].0, "+33788102542");
}

#[tokio::test]
async fn the_person_chooses_where_the_code_goes_and_the_sms_proves_the_phone() {
    let app = spawn_exemple().await;
    let record = proto::ProvisionRecord {
        mobile_phone: "07 88 10 25 99".into(),
        ..student("22070004")
    };
    let (account, started) = start_doctoral(&app, record).await;
    let token = started.flow_token;
    // Nothing is sent before the person chooses.
    let pending = started
        .flow
        .expect("flow")
        .pending_verification
        .expect("a code is awaited");
    assert!(pending.notice.is_none());
    let choices: Vec<(i32, &str)> = pending
        .code_choices
        .iter()
        .map(|c| (c.channel, c.masked_destination.as_str()))
        .collect();
    assert_eq!(
        choices,
        [
            (proto::CodeChannel::Sms as i32, "+33*****2599"),
            (proto::CodeChannel::Mail as i32, "i**********@e******.org"),
        ]
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(app.sms().is_empty());
    assert!(app.mails_to("ines.benali@example.org").is_empty());
    let send = |channel: proto::CodeChannel| {
        let mut client = app.activation();
        let request = proto::ResendActivationMessageRequest {
            flow_token: token.clone(),
            kind: proto::ActivationMessageKind::IdentityCode as i32,
            channel: channel as i32,
        };
        async move { client.resend_activation_message(request).await }
    };
    let unchosen = send(proto::CodeChannel::Unspecified).await.unwrap_err();
    assert_eq!(violations(&unchosen), ["channel"]);
    let notice = send(proto::CodeChannel::Sms)
        .await
        .expect("sent")
        .into_inner()
        .notice
        .expect("notice");
    assert_eq!(notice.masked_destination, "+33*****2599");
    assert!(notice.also_sent_to.is_empty());
    let sms = app.wait_for_sms(1).await;
    assert_eq!(sms[0].0, "+33788102599");
    finish(&app, &token, &code_in(&sms[0].1)).await;
    assert!(app.mails_to("ines.benali@example.org").is_empty());

    // The code went to the phone alone: a forgotten password can go there.
    let answer = reset_by_sms(&app, &account.login).await;
    assert_eq!(
        answer.notice.expect("notice").masked_destination,
        "+33*****2599"
    );
    let sms = app.wait_for_sms(2).await;
    assert!(
        verify_code(&app, &account.login, &code_in(&sms[1].1))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn the_recovery_phone_is_kept_current_on_the_account_page() {
    use proto::account_selector::Identifier;
    use proto::presence_proof::Proof;
    let app = spawn_exemple().await;
    let account = active_staff(&app, "2270").await;
    let selector = || {
        Some(proto::AccountSelector {
            institution: EXEMPLE.into(),
            identifier: Some(Identifier::Login(account.login.clone())),
        })
    };
    let described = app
        .account_settings()
        .describe_account(proto::DescribeAccountRequest {
            account: selector(),
        })
        .await
        .expect("described")
        .into_inner();
    let form = described.recovery_phone_change.expect("a phone form");
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["current_password", "new_phone"]);
    assert!(described.recovery_phone_code.is_some());
    // The record's phone, proven by the activation code sent to it alone.
    assert_eq!(described.recovery_phone, "+33*****5678");

    let request = |phone: &str, password: &str| proto::RequestRecoveryPhoneChangeRequest {
        account: selector(),
        new_phone: phone.into(),
        presence: Some(proto::PresenceProof {
            proof: Some(Proof::CurrentPassword(password.into())),
        }),
    };
    let absent = app
        .account_settings()
        .request_recovery_phone_change(request("07 88 10 25 44", "not-it"))
        .await
        .unwrap_err();
    assert_ne!(absent.code(), Code::Ok);
    let sent = app.sms().len();
    let notice = app
        .account_settings()
        .request_recovery_phone_change(request("07 88 10 25 44", "Garonne+Lot47"))
        .await
        .expect("a code")
        .into_inner()
        .notice
        .expect("notice");
    assert_eq!(notice.masked_destination, "+33*****2544");
    let sms = app.wait_for_sms(sent + 1).await;
    assert_eq!(sms[sent].0, "+33788102544");
    let confirm = |code: &str| {
        let mut client = app.account_settings();
        let request = proto::ConfirmRecoveryPhoneChangeRequest {
            account: selector(),
            code: code.into(),
        };
        async move { client.confirm_recovery_phone_change(request).await }
    };
    let wrong = confirm("00000000").await.unwrap_err();
    assert_eq!(violations(&wrong), ["code"]);
    // Until the code is typed back, resets go to the phone in use.
    let answer = reset_by_sms(&app, &account.login).await;
    assert_eq!(
        answer.notice.expect("notice").masked_destination,
        "+33*****5678"
    );
    let confirmed = confirm(&code_in(&sms[sent].1))
        .await
        .expect("the code")
        .into_inner();
    assert_eq!(confirmed.recovery_phone, "+33*****2544");
    let answer = reset_by_sms(&app, &account.login).await;
    assert_eq!(
        answer.notice.expect("notice").masked_destination,
        "+33*****2544"
    );
    // The person is told where notices go: the university mailbox.
    let told = app.wait_for_mail_to(&account.institutional_mail, 1).await;
    assert!(told.contains("+33*****2544"), "{told}");

    // Removed: resets go back to the record's proven phone.
    let removed = app
        .account_settings()
        .request_recovery_phone_change(request("", "Garonne+Lot47"))
        .await
        .expect("removed")
        .into_inner();
    assert!(removed.notice.is_none());
    let answer = reset_by_sms(&app, &account.login).await;
    assert_eq!(
        answer.notice.expect("notice").masked_destination,
        "+33*****5678"
    );
}

#[tokio::test]
async fn a_recovery_phone_is_offered_only_where_resets_go_by_sms() {
    use proto::account_selector::Identifier;
    use proto::presence_proof::Proof;
    let app = spawn_app().await;
    let account = app
        .active_account(montpellier_staff("R0281", "Paul", "Roux"), "Qz7#Kp2wLm9x")
        .await;
    let refused = app
        .account_settings()
        .request_recovery_phone_change(proto::RequestRecoveryPhoneChangeRequest {
            account: Some(proto::AccountSelector {
                institution: "umontpellier".into(),
                identifier: Some(Identifier::AccountId(account.account_id.clone())),
            }),
            new_phone: "07 88 10 25 45".into(),
            presence: Some(proto::PresenceProof {
                proof: Some(Proof::CurrentPassword("Qz7#Kp2wLm9x".into())),
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&refused), "NOT_OFFERED");
}

#[tokio::test]
async fn an_hr_number_typed_in_another_case_is_the_records() {
    let app = spawn_exemple().await;
    app.provision(staff("RH-2290")).await.expect("provision");
    let typed = proto::IdentityMatchEntry {
        hr_id: "rh-2290".into(),
        birth_date: "1979-04-30".into(),
        family_name: "D'Argent-Lévy".into(),
        mobile_phone: "+33612345678".into(),
        ..Default::default()
    };
    start(&app, typed).await.expect("recognised");
}

/// The `supannConsentement` values the last change of `kind` carries.
async fn consent_values(app: &TestApp, kind: proto::ChangeKind) -> Vec<String> {
    let changes = app
        .lifecycle
        .clone()
        .list_changes(proto::ListChangesRequest {
            institution: EXEMPLE.into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("the feed")
        .into_inner()
        .changes;
    let last = changes
        .iter()
        .rev()
        .find(|c| c.kind() == kind)
        .expect("the change");
    let consents = last.entry.iter().find(|a| a.name == "supannConsentement");
    let mut values = consents.map(|a| a.values.clone()).unwrap_or_default();
    values.sort();
    values
}

#[tokio::test]
async fn its_own_consents_are_asked_kept_and_reach_the_directory() {
    let app = spawn_exemple().await;
    let (account, started) = start_doctoral(&app, student("22070011")).await;
    let token = started.flow_token;
    let mailed = app.wait_for_mail_to("ines.benali@example.org", 1).await;
    let verified = app
        .activation()
        .verify_activation_code(proto::VerifyActivationCodeRequest {
            flow_token: token.clone(),
            code: code_in(&mailed),
        })
        .await
        .expect("the code")
        .into_inner();

    // The screen shows each item in the institution's words, with its
    // choices and how they combine.
    let flow = verified.flow.expect("flow");
    let screen = &flow.screens[flow.current_screen as usize];
    let items: Vec<(&str, &str, bool, Vec<String>)> = screen
        .items
        .iter()
        .map(|i| {
            let rule = i.choice.clone().unwrap_or_default();
            (
                i.consent.as_str(),
                i.title.as_str(),
                rule.multiple,
                rule.exclusive_values,
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            (
                "sms_university",
                "SMS de l'université",
                false,
                vec!["no".to_owned()]
            ),
            (
                "photo_places",
                "Publication de ma photo",
                true,
                vec!["none".to_owned()]
            ),
            ("", "Partage avec le Crous", false, Vec::new()),
        ]
    );
    assert_eq!(screen.items[0].fields[0].name, "consents.sms_university");
    let choices: Vec<(&str, &str, &str)> = flow
        .choices
        .iter()
        .filter(|c| c.consent == "photo_places")
        .map(|c| (c.value.as_str(), c.label.as_str(), c.caveat.as_str()))
        .collect();
    assert_eq!(
        choices,
        [
            ("website", "Sur le site de l'université", ""),
            ("press", "Dans les publications de l'université", ""),
            ("none", "Nulle part", "Ce refus est définitif."),
        ]
    );

    // Every problem at once, and nothing recorded.
    let refused = give_consents(
        &app,
        &token,
        &[("sms_university", &["yes", "no"]), ("city", &["yes"])],
    )
    .await
    .unwrap_err();
    assert_eq!(
        violations(&refused),
        [
            "consents.city",
            "consents.sms_university",
            "consents.photo_places"
        ]
    );
    let chosen = give_consents(
        &app,
        &token,
        &[
            ("sms_university", &["yes"]),
            ("photo_places", &["website", "press"]),
        ],
    )
    .await
    .expect("the consents");
    let flow = chosen.flow.expect("flow");
    let next = &flow.screens[flow.current_screen as usize].steps;
    assert_eq!(next, &[proto::ActivationStep::Password as i32]);
    choose_password(&app, &token).await;

    // Kept with the item's version and the time, and in the directory.
    let consents = app
        .account_settings()
        .get_consents(proto::GetConsentsRequest {
            account: by_id(&account.account_id),
        })
        .await
        .expect("the consents")
        .into_inner()
        .consents
        .expect("consents");
    let kept: Vec<(&str, Vec<String>, &str, bool)> = consents
        .items
        .iter()
        .map(|a| {
            (
                a.item.as_str(),
                a.choices.clone(),
                a.version.as_str(),
                a.decided_at.is_some(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (
                "photo_places",
                vec!["press".to_owned(), "website".to_owned()],
                "1",
                true
            ),
            ("sms_university", vec!["yes".to_owned()], "2027-09", true),
        ]
    );
    assert_eq!(
        consent_values(&app, proto::ChangeKind::Activated).await,
        [
            "{CROUS}DIFFUSION",
            "{PHOTO}PUBLICATIONS",
            "{PHOTO}SITEWEB",
            "{SMS}UNIVERSITE"
        ],
        "the Crous item's value is the university's"
    );

    // Text messages may be refused later; a place given stays.
    let update = |items: &[(&str, &[&str])]| {
        let mut client = app.account_settings();
        let request = proto::UpdateConsentsRequest {
            account: by_id(&account.account_id),
            items: consent_answers(items),
            ..Default::default()
        };
        async move { client.update_consents(request).await }
    };
    update(&[("sms_university", &["no"])])
        .await
        .expect("withdrawn");
    assert_eq!(
        consent_values(&app, proto::ChangeKind::ConsentsChanged).await,
        ["{CROUS}DIFFUSION", "{PHOTO}PUBLICATIONS", "{PHOTO}SITEWEB"]
    );
    let kept = update(&[("photo_places", &["website"])]).await.unwrap_err();
    assert_eq!(precondition(&kept), "CONSENT_NOT_WITHDRAWABLE");
    // The service's own Crous item, declared not withdrawable, neither.
    let crous = app
        .account_settings()
        .update_consents(proto::UpdateConsentsRequest {
            account: by_id(&account.account_id),
            crous_sharing: Some(false),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(precondition(&crous), "CONSENT_NOT_WITHDRAWABLE");
    let unknown = update(&[("photo_places", &["everywhere"])])
        .await
        .unwrap_err();
    assert_eq!(violations(&unknown), ["consents.photo_places"]);

    // The account page shows them, a withdrawal's caveat with the refusal.
    let page = app
        .account_settings()
        .describe_account(proto::DescribeAccountRequest {
            account: by_id(&account.account_id),
        })
        .await
        .expect("the page")
        .into_inner();
    let consents: Vec<&str> = page
        .consent_items
        .iter()
        .map(|i| i.title.as_str())
        .collect();
    assert_eq!(
        consents,
        [
            "Partage avec le Crous",
            "SMS de l'université",
            "Publication de ma photo"
        ]
    );
    let no = page
        .consent_choices
        .iter()
        .find(|c| c.consent == "sms_university" && c.value == "no")
        .expect("the refusal");
    assert_eq!(no.caveat, "Les alertes déjà envoyées ne sont pas retirées.");
}
