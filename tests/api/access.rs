//! Caller authentication and authorisation: the access table walked for
//! every caller, audit actors, TLS and mutual TLS, localized errors, and no
//! secret in the logs.

use ent_identity::auth::{ACCESS_TABLE, Access, Role};
use ent_identity::proto;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_types::StatusExt;

use crate::support::*;

/// Calls `path` with an empty message over any kind of stream and returns
/// the status the server answered with (OK when it started answering).
async fn call(conn: Conn, path: &'static str) -> Code {
    let mut grpc = tonic::client::Grpc::new(conn);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let request = tonic::Request::new(tokio_stream::once(()));
    match grpc
        .streaming(request, http::uri::PathAndQuery::from_static(path), codec)
        .await
    {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

fn path_of(service: &str, method: &str) -> &'static str {
    Box::leak(format!("/{service}/{method}").into_boxed_str())
}

#[tokio::test]
async fn every_rpc_refuses_unknown_callers_and_roles_it_does_not_allow() {
    let app = spawn_app().await;
    let anonymous = || InterceptedService::new(app.channel.clone(), Credentials::default());
    let forged = || authed(&app.channel, "someone-else", None);
    let mut checked = 0;
    for (service, method, access) in ACCESS_TABLE {
        let path = path_of(service, method);
        match access {
            Access::Public => {
                assert_ne!(
                    call(anonymous(), path).await,
                    Code::Unauthenticated,
                    "{path}"
                );
            }
            Access::Roles(allowed) => {
                assert_eq!(
                    call(anonymous(), path).await,
                    Code::Unauthenticated,
                    "{path}"
                );
                assert_eq!(call(forged(), path).await, Code::Unauthenticated, "{path}");
                for role in Role::ALL {
                    let code = call(authed(&app.channel, role.name(), None), path).await;
                    if allowed.contains(&role) {
                        assert!(
                            !matches!(code, Code::PermissionDenied | Code::Unauthenticated),
                            "{path} as {}: {code:?}",
                            role.name()
                        );
                    } else {
                        assert_eq!(code, Code::PermissionDenied, "{path} as {}", role.name());
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(
        checked,
        67 * Role::ALL.len(),
        "every API method, every role"
    );
    // A method the table does not know is refused like any other.
    assert_eq!(
        call(
            authed(&app.channel, "portal", None),
            "/ent.identity.v1.ActivationService/Unknown"
        )
        .await,
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn pages_in_the_browser_reach_only_the_flows_a_secret_guards() {
    let page = "https://ent.example.edu";
    let app = spawn_app_configured(TestConfig {
        toml: format!("[grpc_web]\nallowed_origins = [\"{page}\"]\n"),
        wait: true,
        ..TestConfig::default()
    })
    .await;
    let mut reachable = Vec::new();
    for (service, method, access) in ACCESS_TABLE {
        let Access::Roles(allowed) = access else {
            continue;
        };
        let path = path_of(service, method);
        let code = call(from_page(&app.channel, page), path).await;
        if allowed.contains(&Role::Browser) {
            assert!(
                !matches!(code, Code::PermissionDenied | Code::Unauthenticated),
                "{path}: {code:?}"
            );
            reachable.push(*method);
        } else {
            assert_eq!(code, Code::PermissionDenied, "{path}");
        }
        // An origin not configured is nobody.
        assert_eq!(
            call(from_page(&app.channel, "https://evil.example.com"), path).await,
            Code::Unauthenticated,
            "{path}"
        );
    }
    reachable.sort_unstable();
    assert_eq!(
        reachable,
        [
            "AnswerAlumniOffer",
            "CompletePasswordReset",
            "ConfirmActivationLink",
            "ConfirmRecoveryMailChange",
            "DescribeFirstConnection",
            "DescribeRecovery",
            "EvaluatePassword",
            "GetActivationFlow",
            "GetAlumniOffer",
            "GetPasswordReset",
            "RecoverLogin",
            "RequestActivationLink",
            "RequestPasswordReset",
            "ResendActivationMessage",
            "StartActivation",
            "SubmitActivationScreen",
            "VerifyActivationCode",
            "VerifyActivationIdentity",
            "VerifyMailRedirect",
            "VerifyResetCode",
        ]
    );
}

#[tokio::test]
async fn audit_events_name_the_calling_client() {
    let app = spawn_app().await;
    let provisioned = proto::account_lifecycle_service_client::AccountLifecycleServiceClient::new(
        authed(&app.channel, "enrolment", None),
    )
    .provision_account(proto::ProvisionAccountRequest {
        reissue_pending_material: false,
        record: Some(montpellier_staff("RH77", "Anne", "Martin")),
    })
    .await
    .expect("the enrolment client provisions")
    .into_inner();
    let id = provisioned.account.expect("account").account_id;
    let events = app
        .lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            account: by_id(&id),
            ..Default::default()
        })
        .await
        .expect("events")
        .into_inner()
        .events;
    let provisioning = events
        .iter()
        .find(|e| e.action == "account.provisioned")
        .expect("provisioning event");
    assert_eq!(provisioning.actor, "enrolment");
}

#[tokio::test]
async fn errors_speak_the_callers_language_and_hide_internals() {
    let app = spawn_app().await;
    let start = |language: &'static str| {
        let mut client = app.activation();
        async move {
            let mut request = tonic::Request::new(proto::StartActivationRequest {
                institution: "u-bordeaux-montaigne".into(),
                entry: Some(proto::start_activation_request::Entry::Key(
                    proto::KeyEntry {
                        login: "nobody".into(),
                        activation_key: "AAAA-BBBB-CCCC".into(),
                    },
                )),
            });
            request
                .metadata_mut()
                .insert("accept-language", language.parse().expect("ascii"));
            client.start_activation(request).await.unwrap_err()
        }
    };
    let french = start("fr-FR,fr;q=0.9").await;
    let english = start("en-GB,en;q=0.9").await;
    for (status, locale, words) in [
        (&french, "fr-FR", "ne correspondent pas"),
        (&english, "en-GB", "do not match"),
    ] {
        assert_eq!(status.code(), Code::InvalidArgument);
        let localized = status
            .get_error_details()
            .localized_message()
            .cloned()
            .expect("a localized message");
        assert_eq!(localized.locale, locale);
        assert!(localized.message.contains(words), "{}", localized.message);
        // Issue 20: people never read the request's field paths.
        for field in violations(status) {
            assert!(
                !localized.message.contains(&field),
                "{field} in {}",
                localized.message
            );
        }
        // Issue 20: each violation is worded in the caller's language too,
        // for the page to show next to its field.
        let bad_request = status.get_error_details().bad_request().cloned();
        let descriptions: Vec<String> = bad_request
            .expect("bad request")
            .field_violations
            .into_iter()
            .map(|v| v.description)
            .collect();
        assert!(
            descriptions.iter().all(|d| d.contains(words)),
            "{descriptions:?}"
        );
        assert!(status.metadata().get("x-request-id").is_some());
    }

    // An unauthenticated call is localized too.
    let mut anonymous = proto::activation_service_client::ActivationServiceClient::new(
        InterceptedService::new(app.channel.clone(), Credentials::default()),
    );
    let refused = anonymous
        .evaluate_password(proto::EvaluatePasswordRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(refused.get_error_details().localized_message().is_some());

    // A database failure reaches the caller as a request id, never as SQL.
    let store = app.store().await;
    sea_orm::ConnectionTrait::execute_unprepared(store.connection(), "DROP TABLE guess_counters")
        .await
        .expect("break the database");
    let broken = start("en").await;
    assert_eq!(broken.code(), Code::Internal);
    let message = broken.message().to_lowercase();
    for word in ["guess_counters", "sql", "table", "select", "insert", "/"] {
        assert!(!message.contains(word), "{message}");
    }
    assert!(message.contains("request id"));
}

/// A CA, a server certificate for localhost and a client certificate.
pub(crate) struct Pki {
    pub(crate) ca: String,
    pub(crate) server_cert: String,
    pub(crate) server_key: String,
    client_cert: String,
    client_key: String,
    client_der: Vec<u8>,
}

pub(crate) fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().expect("key");
    let server = CertificateParams::new(vec!["localhost".into()])
        .expect("params")
        .signed_by(&server_key, &issuer)
        .expect("server certificate");
    let client_key = KeyPair::generate().expect("key");
    let client = CertificateParams::new(vec!["ldap-sync.example.org".into()])
        .expect("params")
        .signed_by(&client_key, &issuer)
        .expect("client certificate");
    Pki {
        ca: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
        client_der: client.der().to_vec(),
    }
}

#[tokio::test]
async fn tls_with_client_certificates_or_tokens() {
    let pki = pki();
    let dir = tempfile::tempdir().expect("temp");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    let fingerprint = ent_identity::auth::certificate_fingerprint(&pki.client_der);
    let toml = format!(
        "[server.tls]\ncertificate = {:?}\nkey = {:?}\nclient_ca = {:?}\n\n[auth.clients.ldap-worker]\nroles = [\"ldap_sync\"]\ncertificate_sha256 = [\"{fingerprint}\"]\n",
        write("server.crt", &pki.server_cert),
        write("server.key", &pki.server_key),
        write("ca.crt", &pki.ca),
    );
    let client_tls = || {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&pki.ca))
            .domain_name("localhost")
    };
    let app = spawn_app_configured(TestConfig {
        toml,
        wait: true,
        tls: Some(client_tls()),
        ..TestConfig::default()
    })
    .await;
    let address = app.channel_address();

    // The certificate names the LDAP worker: the feed is open to it, the
    // rest is not, and the audit trail would say "ldap-worker".
    let with_certificate = Channel::from_shared(format!("https://{address}"))
        .expect("endpoint")
        .tls_config(client_tls().identity(Identity::from_pem(&pki.client_cert, &pki.client_key)))
        .expect("tls")
        .connect()
        .await
        .expect("mutual TLS");
    let conn = InterceptedService::new(with_certificate, Credentials::default());
    assert_eq!(
        call(
            conn.clone(),
            "/ent.identity.v1.AccountLifecycleService/ListChanges"
        )
        .await,
        Code::Ok
    );
    assert_eq!(
        call(
            conn,
            "/ent.identity.v1.AccountLifecycleService/ProvisionAccount"
        )
        .await,
        Code::PermissionDenied
    );

    // The LDAP worker reaches it the same way: the CA in its file, its
    // certificate and key.
    let worker = ent_identity::ldap_sync::Worker::new(ent_identity::ldap_sync::LdapSyncSettings {
        api_url: format!("https://localhost:{}", address.port()),
        api_token_file: write("token", &test_token("ldap_sync")).into(),
        api_ca_file: Some(write("ca-for-worker.crt", &pki.ca).into()),
        api_client_certificate_file: Some(write("worker.crt", &pki.client_cert).into()),
        api_client_key_file: Some(write("worker.key", &pki.client_key).into()),
        url: "ldap://127.0.0.1:1".into(),
        bind_password_file: write("bind", "unused").into(),
        ..worker_settings_example()
    })
    .expect("worker");
    worker
        .api_position()
        .await
        .expect("the worker reaches the API over mutual TLS");
    // And the portal, trusting the CA in its api_ca_file.
    let api = ent_identity::portal::ApiClient::with_tls(
        &format!("https://localhost:{}", address.port()),
        &test_token("portal"),
        ent_identity::portal::ClientTls {
            ca_pem: Some(pki.ca.clone()),
            identity_pem: None,
        },
    )
    .expect("portal client");
    let portal = crate::portal::spawn_portal_on(api, &["univ-tours"]).await;
    let (status, _, html) =
        crate::portal::page(&format!("{portal}/univ-tours/activation"), "en").await;
    assert_eq!(status, 200, "the portal reaches the API over TLS: {html}");

    // Without a certificate: a token works, nothing else does.
    assert_eq!(
        call(
            authed(&app.channel, "ldap_sync", None),
            "/ent.identity.v1.AccountLifecycleService/ListChanges"
        )
        .await,
        Code::Ok
    );
    assert_eq!(
        call(
            InterceptedService::new(app.channel.clone(), Credentials::default()),
            "/ent.identity.v1.AccountLifecycleService/ListChanges"
        )
        .await,
        Code::Unauthenticated
    );

    // Plain text is not spoken at all.
    let plain = Channel::from_shared(format!("http://{address}"))
        .expect("endpoint")
        .connect_timeout(std::time::Duration::from_secs(2))
        .connect()
        .await;
    if let Ok(plain) = plain {
        let code = call(
            authed(&plain, "admin", None),
            "/ent.identity.v1.AccountLifecycleService/ListChanges",
        )
        .await;
        assert_ne!(code, Code::Ok);
    }
}

/// The example worker configuration, for the fields a test does not set.
fn worker_settings_example() -> ent_identity::ldap_sync::LdapSyncSettings {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    ent_identity::config::Settings::load_with_env(
        &[root.join("deploy/config/ldap-sync.example.toml")],
        Vec::new(),
    )
    .expect("example")
    .ldap_sync
    .expect("ldap_sync")
}

/// Every 64-hex-digit token and 8-digit code in `text`.
fn secrets_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let hex = word.len() == 64 && word.chars().all(|c| c.is_ascii_hexdigit());
        let code = word.len() == 8 && word.chars().all(|c| c.is_ascii_digit());
        if hex || code {
            found.push(word.to_owned());
        }
    }
    found
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let app = spawn_app().await;
    let mut secrets = Vec::new();
    let records = [
        bordeaux_student("21900001", "Zoé", "Lambert"),
        montpellier_staff("RH9001", "Paul", "Renard"),
        tours_student("22019001", &ine_bea(19001), "+33612349001"),
    ];
    for (i, record) in records.into_iter().enumerate() {
        let password = format!("Qx7!vR2#mP9{i}zTk");
        let provisioned = app.provision(record).await.expect("provision");
        let material = provisioned.activation_material.clone().unwrap_or_default();
        secrets.push(material.activation_key);
        secrets.push(material.provisional_password);
        secrets.push(app.activate(&provisioned, &password).await);
        secrets.push(password);
    }
    // A reset through the mailed link, and a wrong current password.
    let account = app
        .get_account(
            "umontpellier",
            proto::account_selector::Identifier::HrId("RH9001".into()),
        )
        .await
        .expect("account");
    app.recovery()
        .request_password_reset(proto::RequestPasswordResetRequest {
            channel: proto::ResetChannel::Unspecified as i32,
            institution: "umontpellier".into(),
            identifier: Some(proto::request_password_reset_request::Identifier::Login(
                account.login.clone(),
            )),
        })
        .await
        .expect("reset requested");
    let recovery = format!("recovery.{}@example.net", account.account_id);
    let mail = app.wait_for_mail_to(&recovery, 2).await;
    let reset_token = link_token(&mail, "recovery/reset");
    let new_password = "Wb4%nH8@jL3yCq";
    app.recovery()
        .complete_password_reset(proto::CompletePasswordResetRequest {
            token: reset_token.clone(),
            new_password: Some(proto::PasswordInput {
                password: new_password.into(),
                confirmation: new_password.into(),
            }),
        })
        .await
        .expect("reset");
    secrets.push(reset_token);
    secrets.push(new_password.into());
    let wrong = "Mauvais-Mot-De-Passe-Tape";
    let _ = app
        .account_settings()
        .change_password(proto::ChangePasswordRequest {
            account: by_id(&account.account_id),
            current_password: wrong.into(),
            new_password: Some(proto::PasswordInput {
                password: "Zr5^tG1*kW6uVm".into(),
                confirmation: "Zr5^tG1*kW6uVm".into(),
            }),
        })
        .await
        .unwrap_err();
    secrets.push(wrong.into());
    for mail in app.mails() {
        secrets.extend(secrets_in(&decoded(&mail)));
    }
    for (_, text) in app.sms() {
        secrets.extend(secrets_in(&text));
    }
    secrets.push(test_token("admin"));
    secrets.retain(|s| !s.is_empty());
    assert!(secrets.len() >= 15, "the journeys' secrets: {secrets:?}");
    // Give the mail sender's log lines time to land.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logs = crate::logs::captured();
    assert!(logs.contains("ent_identity"), "the capture works");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret was logged: {secret}"
        );
    }
}

/// Issue 29, minimisation: the logs name a person by their account id,
/// never by their names, identifiers or contact data; the metrics name
/// no one.
#[tokio::test]
async fn no_personal_data_reaches_the_logs() {
    let app = spawn_app().await;
    let records = [
        bordeaux_student("21977001", "Zéphyrine", "Quenneville"),
        montpellier_staff("RH9771", "Anatole", "Vaugirardin"),
        tours_student("22977001", &ine_bea(977001), "+33612977001"),
    ];
    let mut personal = Vec::new();
    for record in records {
        personal.extend([
            record.given_name.clone(),
            record.family_name.clone(),
            record.student_number.clone(),
            record.ine.clone(),
            record.hr_id.clone(),
            record.personal_mail.clone(),
            record.mobile_phone.clone(),
        ]);
        let provisioned = app.provision(record).await.expect("provision");
        app.activate(&provisioned, "Qx7!vR2#mP9zTk-977").await;
        let account = provisioned.account.expect("account");
        personal.push(format!("recovery.{}@example.net", account.account_id));
        personal.extend([account.login.clone(), account.institutional_mail]);
        // A forgotten password, and someone else's login mistyped.
        for login in [account.login, "vaugirardin.anatole.x".to_owned()] {
            app.recovery()
                .request_password_reset(proto::RequestPasswordResetRequest {
                    channel: proto::ResetChannel::Unspecified as i32,
                    institution: account.institution.clone(),
                    identifier: Some(proto::request_password_reset_request::Identifier::Login(
                        login,
                    )),
                })
                .await
                .expect("the same answer either way");
        }
    }
    personal.retain(|value| !value.is_empty());
    assert!(personal.len() >= 15, "{personal:?}");
    // Give the mail sender's log lines time to land.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let logs = crate::logs::captured();
    assert!(logs.contains("ent_identity"), "the capture works");
    // The calls themselves are logged, with what they may say.
    assert!(logs.contains("RecoveryService/RequestPasswordReset"));
    for value in &personal {
        assert!(
            !logs.contains(value.as_str()),
            "personal data was logged: {value}"
        );
    }
    // Nor do the metrics.
    let metrics = crate::telemetry::scrape(&app).await;
    assert!(metrics.contains("# TYPE"), "the scrape works");
    for value in &personal {
        assert!(!metrics.contains(value.as_str()), "in the metrics: {value}");
    }
}

/// Finding 10 of issue 19: the portal role read anyone's birth date, phone
/// and personal mail through GetAccount. Personal data now reaches only the
/// clients that need it: by default enrolment, LDAP sync and admin; a
/// client's `personal_data` setting says otherwise.
#[tokio::test]
async fn personal_data_reaches_only_the_clients_allowed_to_read_it() {
    use ent_identity::proto::account_lifecycle_service_client::AccountLifecycleServiceClient;
    let read_as = |app: &TestApp, client: &str, id: &str| {
        let mut lifecycle = AccountLifecycleServiceClient::new(authed(&app.channel, client, None));
        let request = proto::GetAccountRequest { account: by_id(id) };
        async move {
            lifecycle
                .get_account(request)
                .await
                .expect("read")
                .into_inner()
                .account
                .expect("account")
        }
    };
    let personal = |a: &proto::Account| {
        (
            a.birth_date.clone(),
            a.mobile_phone.clone(),
            a.personal_mail.clone(),
        )
    };
    let app = spawn_app().await;
    let ine = ine_bea(1234567802);
    let mut record = tours_student("22012398", &ine, "07 88 10 25 12");
    record.personal_mail = "lea.perso@example.org".into();
    let id = app
        .provision(record)
        .await
        .expect("provision")
        .account
        .expect("account")
        .account_id;
    for client in ["enrolment", "ldap_sync", "admin"] {
        let account = read_as(&app, client, &id).await;
        let (birth, phone, mail) = personal(&account);
        assert!(!birth.is_empty(), "{client}");
        assert_eq!(phone, "+33788102512", "{client}");
        assert_eq!(mail, "lea.perso@example.org", "{client}");
    }
    for client in ["portal", "batch"] {
        let account = read_as(&app, client, &id).await;
        assert_eq!(personal(&account), Default::default(), "{client}");
        // What a portal shows is still there.
        assert!(!account.login.is_empty() && !account.given_name.is_empty());
    }

    // Configured per client: this university's portal shows the phone.
    let app = spawn_app_configured(TestConfig {
        toml: "[auth.clients.portal]\npersonal_data = true\n\n[auth.clients.ldap_sync]\npersonal_data = false\n".into(),
        wait: true,
        ..TestConfig::default()
    })
    .await;
    let mut record = tours_student("22012397", &ine_bea(1234567803), "07 88 10 25 13");
    record.personal_mail = "paul.perso@example.org".into();
    let id = app
        .provision(record)
        .await
        .expect("provision")
        .account
        .expect("account")
        .account_id;
    let portal = read_as(&app, "portal", &id).await;
    assert_eq!(portal.mobile_phone, "+33788102513");
    let ldap = read_as(&app, "ldap_sync", &id).await;
    assert_eq!(personal(&ldap), Default::default());
}
