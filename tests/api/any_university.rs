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

/// Verifies `code` and sets the password: the account is then active.
async fn finish(app: &TestApp, token: &str, code: &str) {
    app.activation()
        .verify_activation_code(proto::VerifyActivationCodeRequest {
            flow_token: token.into(),
            code: code.into(),
        })
        .await
        .expect("the code");
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
    let provisioned = app
        .provision(proto::ProvisionRecord {
            profile: "doctoral".into(),
            ..student("22070003")
        })
        .await
        .expect("provision");
    let account = provisioned.account.expect("account");
    assert_eq!(account.login, "d22070003");
    let key = provisioned
        .activation_material
        .expect("material")
        .activation_key;
    let started = app
        .activation()
        .start_activation(proto::StartActivationRequest {
            institution: EXEMPLE.into(),
            entry: Some(Entry::Key(proto::KeyEntry {
                login: "d22070003".into(),
                activation_key: key,
            })),
        })
        .await
        .expect("the key")
        .into_inner();
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
