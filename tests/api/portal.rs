//! Issue 21, first pages: the portal, a client of the public API only,
//! renders an institution's first connection from `DescribeFirstConnection`
//! in the person's language, with the browser protections on every answer.

use ent_identity::portal::{ApiClient, PortalSettings};

use crate::support::*;

/// A portal in front of the test server, serving `institutions`; its
/// address.
pub(crate) async fn spawn_portal(app: &TestApp, institutions: &[&str]) -> String {
    let api = ApiClient::new(
        &format!("http://{}", app.channel_address()),
        &test_token("portal"),
    )
    .expect("client");
    spawn_portal_on(api, institutions).await
}

/// A portal with a desk whose agents are `agents` (institution, login),
/// calling `HelpdeskService` as the test's `helpdesk` client.
pub(crate) async fn spawn_desk_portal(app: &TestApp, institution: &str, agent: &str) -> String {
    let api = ApiClient::new(
        &format!("http://{}", app.channel_address()),
        &test_token("portal"),
    )
    .and_then(|api| api.with_desk_token(&test_token("helpdesk")))
    .expect("client");
    let agents =
        std::collections::BTreeMap::from([(institution.to_owned(), vec![agent.to_owned()])]);
    spawn_portal_with(api, &[institution], Some(agents)).await
}

/// A portal calling the API through `api`, serving `institutions`; its
/// address.
pub(crate) async fn spawn_portal_on(api: ApiClient, institutions: &[&str]) -> String {
    spawn_portal_with(api, institutions, None).await
}

/// The same, with the desk's agents by institution.
async fn spawn_portal_with(
    api: ApiClient,
    institutions: &[&str],
    desk_agents: Option<std::collections::BTreeMap<String, Vec<String>>>,
) -> String {
    let settings = PortalSettings {
        listen: "127.0.0.1:0".parse().expect("address"),
        api_url: String::new(),
        api_token_file: None,
        api_ca_file: None,
        institutions: institutions.iter().map(|c| (*c).to_owned()).collect(),
        templates_dir: None,
        session_key_file: None,
        secure_cookies: true,
        trusted_proxies: Vec::new(),
        desk: desk_agents.map(|agents| ent_identity::portal::DeskSettings {
            api_token_file: None,
            agents,
        }),
    };
    let router = ent_identity::portal::router(&settings, api).expect("router");
    let listener = ent_identity::portal::bind(&settings).await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(ent_identity::portal::serve(
        router,
        listener,
        std::future::pending(),
    ));
    format!("http://{address}")
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub(crate) async fn page(
    url: &str,
    language: &str,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, String) {
    let response = browser()
        .get(url)
        .header("accept-language", language)
        .send()
        .await
        .expect("page");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

#[tokio::test]
async fn the_first_connection_page_is_the_apis_description_in_the_persons_language() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["u-bordeaux-montaigne", "univ-tours"]).await;

    // Bordeaux Montaigne's form, in its certificate's words.
    let (status, headers, html) = page(
        &format!("{portal}/u-bordeaux-montaigne/activation"),
        "fr-FR,fr;q=0.9",
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"<html lang="fr">"#));
    assert!(html.contains("Clé d&#x27;activation"), "{html}");
    assert!(html.contains(r#"name="key.activation_key""#));
    assert!(
        html.contains(r#"for="f-key-login""#),
        "labels name their inputs"
    );
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert_eq!(headers["x-content-type-options"], "nosniff");

    // Tours in English: the same template, Tours' words from the API.
    let (_, _, html) = page(&format!("{portal}/univ-tours/activation"), "en-GB").await;
    assert!(html.contains(r#"<html lang="en">"#));
    assert!(html.contains("Student identification"), "{html}");
    assert!(html.contains(r#"minlength="8""#) && html.contains(r#"placeholder="+33788102599""#));

    // The root lists the institutions it serves; one it does not serve is
    // not found.
    let (_, _, html) = page(&format!("{portal}/"), "fr").await;
    assert!(html.contains("Université de Tours") && html.contains("/u-bordeaux-montaigne/"));
    let (status, _, _) = page(&format!("{portal}/umontpellier/activation"), "fr").await;
    assert_eq!(status, 404);

    // The language switch remembers the choice and goes back, never
    // elsewhere.
    let switched = browser()
        .get(format!("{portal}/language/en?back=//evil.example.com"))
        .send()
        .await
        .expect("switch");
    assert_eq!(switched.headers()["location"], "/");
    assert!(
        switched.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .starts_with("lang=en;")
    );
    let html = browser()
        .get(format!("{portal}/univ-tours/activation"))
        .header("accept-language", "fr")
        .header("cookie", "lang=en")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    assert!(html.contains("Student identification"));
}

#[tokio::test]
async fn an_api_out_of_reach_is_a_page_that_says_so() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["univ-tours"]).await;
    assert!(app.stop().await);
    let (status, _, html) = page(&format!("{portal}/univ-tours/activation"), "fr").await;
    assert_eq!(status, 502);
    assert!(html.contains("momentanément indisponible"), "{html}");
}

/// A browser's session with the portal: the cookie it keeps and the CSRF
/// token of the last page.
struct Visit {
    portal: String,
    cookie: String,
    csrf: String,
}

impl Visit {
    fn keep(&mut self, headers: &reqwest::header::HeaderMap, html: &str) {
        if let Some(set) = headers.get("set-cookie") {
            let set = set.to_str().expect("cookie");
            assert!(
                set.contains("HttpOnly")
                    && set.contains("Secure")
                    && set.contains("SameSite=Strict")
            );
            self.cookie = set.split(';').next().expect("pair").to_owned();
        }
        if let Some(start) = html.find(r#"name="csrf" value=""#) {
            let rest = &html[start + r#"name="csrf" value=""#.len()..];
            self.csrf = rest[..rest.find('"').expect("end")].to_owned();
        }
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let response = browser()
            .get(format!("{}{path}", self.portal))
            .header("cookie", &self.cookie)
            .header("accept-language", "fr")
            .send()
            .await
            .expect("page");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let html = response.text().await.expect("body");
        self.keep(&headers, &html);
        (status, html)
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let (status, _, html) = self.post_for_file(path, fields).await;
        (status, html)
    }

    /// A post whose answer may be a file: its headers too.
    async fn post_for_file(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut form: Vec<(String, String)> = vec![("csrf".into(), self.csrf.clone())];
        form.extend(
            fields
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        let response = browser()
            .post(format!("{}{path}", self.portal))
            .header("cookie", &self.cookie)
            .header("accept-language", "fr")
            .form(&form)
            .send()
            .await
            .expect("post");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let html = response.text().await.expect("body");
        self.keep(&headers, &html);
        (status, headers, html)
    }
}

#[tokio::test]
async fn a_bordeaux_student_activates_through_the_portals_forms() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["u-bordeaux-montaigne"]).await;
    let provisioned = app
        .provision(bordeaux_student("21900077", "Inès", "Lopez"))
        .await
        .expect("provision");
    let key = provisioned
        .activation_material
        .expect("material")
        .activation_key;
    let login = provisioned.account.expect("account").login;
    app.clock.advance(chrono::Duration::hours(24));
    let mut visit = Visit {
        portal,
        cookie: String::new(),
        csrf: String::new(),
    };
    let base = "/u-bordeaux-montaigne/activation";
    let (status, _) = visit.get(base).await;
    assert_eq!(status, 200);
    assert!(!visit.cookie.is_empty() && visit.csrf.len() == 64);

    // A form without its session's token changes nothing.
    let csrf = std::mem::take(&mut visit.csrf);
    let (status, _) = visit
        .post(
            &format!("{base}/key"),
            &[("key.login", &login), ("key.activation_key", &key)],
        )
        .await;
    assert_eq!(status, 403);
    visit.csrf = csrf;

    // A wrong key: the API's words, the login typed kept, never the key.
    let (status, html) = visit
        .post(
            &format!("{base}/key"),
            &[
                ("key.login", &login),
                ("key.activation_key", "AAAA-AAAA-AAAA"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains(r#"role="alert""#) && html.contains(&format!(r#"value="{login}""#)));
    assert!(!html.contains("AAAA-AAAA-AAAA"));

    let (status, _) = visit
        .post(
            &format!("{base}/key"),
            &[("key.login", &login), ("key.activation_key", &key)],
        )
        .await;
    assert_eq!(status, 303);
    let (_, html) = visit.get(&format!("{base}/flow")).await;
    assert!(html.contains("Utilisation de la photo"), "{html}");
    assert!(
        html.contains(r#"type="checkbox" id="o-photo-use-card-reprint" name="photo.uses""#),
        "{html}"
    );
    let (status, _) = visit
        .post(
            &format!("{base}/flow"),
            &[
                ("step", "photo_use"),
                ("step", "directory_listing"),
                ("photo.uses", "card_reprint"),
                ("directory_listed", "false"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (_, html) = visit.get(&format!("{base}/flow")).await;
    assert!(html.contains("Izly"), "{html}");
    visit
        .post(
            &format!("{base}/flow"),
            &[("step", "crous_sharing"), ("crous_sharing", "true")],
        )
        .await;

    // Every problem of the last screen at once, linked to its field.
    let last = [
        ("step", "charter"),
        ("step", "password"),
        ("step", "recovery_mail"),
        ("charter.version", "2025-09"),
        ("password.password", "Garonne#2026!"),
        ("password.confirmation", "Garonne#2026?"),
        ("recovery_mail.address", ""),
        ("recovery_mail.confirmation", ""),
    ];
    let (status, html) = visit.post(&format!("{base}/flow"), &last).await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("Acceptez la charte pour continuer."),
        "{html}"
    );
    assert!(html.contains(r##"href="#f-charter-accepted""##), "{html}");
    assert!(
        !html.contains("Garonne#2026"),
        "a password is never shown again"
    );

    let mut right = last.to_vec();
    right.push(("charter.accepted", "true"));
    right[5] = ("password.confirmation", "Garonne#2026!");
    let (status, _) = visit.post(&format!("{base}/flow"), &right).await;
    assert_eq!(status, 303);
    let (_, html) = visit.get(&format!("{base}/flow")).await;
    assert!(html.contains(&login), "{html}");
    let account = app
        .get_account(
            "u-bordeaux-montaigne",
            ent_identity::proto::account_selector::Identifier::Login(login),
        )
        .await
        .expect("account");
    assert_eq!(
        account.status,
        ent_identity::proto::AccountStatus::Active as i32
    );
}

/// A Montpellier student opens the mailed link: opening it (as a mail
/// scanner would) spends nothing and leaves no token in the address bar;
/// the page's button starts the flow in this browser.
#[tokio::test]
async fn a_mailed_link_lands_on_a_page_whose_button_spends_it() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["umontpellier"]).await;
    app.provision(ent_identity::proto::ProvisionRecord {
        institution: "umontpellier".into(),
        profile: "student".into(),
        student_number: "22012388".into(),
        given_name: "Noé".into(),
        family_name: "Garcia".into(),
        birth_date: "2006-02-01".into(),
        personal_mail: "noe.garcia@example.org".into(),
        ..Default::default()
    })
    .await
    .expect("provision");
    app.clock.advance(chrono::Duration::minutes(16));
    let token = link_token(
        &app.wait_for_mail_to("noe.garcia@example.org", 1).await,
        "link",
    );
    let mut scanner = Visit {
        portal: portal.clone(),
        cookie: String::new(),
        csrf: String::new(),
    };
    let landing = format!("/umontpellier/activation/link/{token}");
    let (status, _) = scanner.get(&landing).await;
    assert_eq!(status, 303);
    let (status, html) = scanner.get("/umontpellier/activation/opened").await;
    assert_eq!(status, 200, "{}", scanner.cookie);
    assert!(
        html.contains(r#"umontpellier/activation/opened">"#),
        "{html}"
    );
    assert!(!html.contains(&token), "no token in the page");

    // The person, in their own browser: the link still works.
    let mut person = Visit {
        portal,
        cookie: String::new(),
        csrf: String::new(),
    };
    let response = browser()
        .get(format!("{}{landing}", person.portal))
        .send()
        .await
        .expect("landing");
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/umontpellier/activation/opened"
    );
    person.keep(&response.headers().clone(), "");
    person.get("/umontpellier/activation/opened").await;
    let (status, _) = person.post("/umontpellier/activation/opened", &[]).await;
    assert_eq!(status, 303);
    let (_, html) = person.get("/umontpellier/activation/flow").await;
    assert!(html.contains("charter.accepted"), "{html}");
    // Followed: this browser's session no longer holds it.
    let (status, _) = person.get("/umontpellier/activation/opened").await;
    assert_eq!(status, 303);
}

/// The quick start's demo command provisions an account per way in
/// through the API and prints what to type.
#[tokio::test]
async fn the_demo_command_prints_what_to_type_for_each_university() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("temp");
    let token_file = dir.path().join("admin.token");
    std::fs::write(&token_file, test_token("admin")).expect("token");
    let api = format!("http://{}", app.channel_address());
    let output = tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ent-identity"));
        for (key, _) in std::env::vars() {
            if key.starts_with("ENT_IDENTITY") {
                command.env_remove(key);
            }
        }
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["demo", "--api", &api, "--token-file"])
            .arg(&token_file)
            .output()
            .expect("runs")
    })
    .await
    .expect("demo");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for institution in ["u-bordeaux-montaigne", "umontpellier", "univ-tours"] {
        assert!(
            printed.contains(&format!("8080/{institution}/activation")),
            "{printed}"
        );
    }
    assert!(printed.contains("Clé d'activation : ") && printed.contains("Code INE : "));
    // Their activation is open: the Bordeaux key works at once.
    let key_line = printed
        .lines()
        .find(|l| l.contains("Clé d'activation"))
        .expect("key");
    let key = key_line.rsplit(": ").next().expect("key").trim();
    let login_line = printed
        .lines()
        .find(|l| l.contains("Identifiant : "))
        .expect("login");
    let login = login_line.rsplit(": ").next().expect("login").trim();
    app.activation()
        .start_activation(ent_identity::proto::StartActivationRequest {
            institution: "u-bordeaux-montaigne".into(),
            entry: Some(ent_identity::proto::start_activation_request::Entry::Key(
                ent_identity::proto::KeyEntry {
                    login: login.into(),
                    activation_key: key.into(),
                },
            )),
        })
        .await
        .expect("the printed key works now");
}

/// "Mot de passe oublié" and "Identifiant oublié" at Montpellier: the
/// forms the API describes, the same answer for anybody, then the mailed
/// link's page, whose form sets the password once.
#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link_in_the_portal() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["umontpellier"]).await;
    let account = app
        .active_account(montpellier_staff("R0042", "Jane", "Doe"), "Qz7#Kp2wLm9x")
        .await;
    let recovery = format!("recovery.{}@example.net", account.account_id);
    let before = app.mails_to(&recovery).len();
    let mut visit = Visit {
        portal: portal.clone(),
        cookie: String::new(),
        csrf: String::new(),
    };
    let (status, html) = visit.get("/umontpellier/recovery").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="typed_identifier""#), "{html}");
    assert!(html.contains(r#"name="birth_date""#), "{html}");

    // An empty identifier: the API's words next to the field.
    let (status, html) = visit
        .post(
            "/umontpellier/recovery/password",
            &[("typed_identifier", " ")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(html.contains(r##"href="#f-typed-identifier""##), "{html}");
    let (status, html) = visit
        .post(
            "/umontpellier/recovery/password",
            &[("typed_identifier", &account.institutional_mail)],
        )
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("xxxxxxxxxxxx@xxxxxxxx"), "{html}");
    // The answer's page keeps the institution's name in its frame.
    assert!(html.contains("Université de Montpellier"), "{html}");
    let token = link_token(
        &app.wait_for_mail_to(&recovery, before + 1).await,
        "recovery/reset",
    );

    // The link lands on a clean address; the form shows the login.
    let (status, _) = visit
        .get(&format!("/umontpellier/recovery/reset/{token}"))
        .await;
    assert_eq!(status, 303);
    let (status, html) = visit.get("/umontpellier/recovery/new-password").await;
    assert_eq!(status, 200);
    assert!(html.contains(&account.login), "{html}");
    assert!(!html.contains(&token));
    // The meter asks the API in the link's context, which stays here.
    let (status, json) = visit
        .post(
            "/umontpellier/password-strength",
            &[("for", "reset"), ("candidate", "abc")],
        )
        .await;
    assert_eq!(status, 200, "{json}");
    let meter: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(meter["acceptable"], false);
    assert!(meter["problems"].as_array().is_some_and(|p| !p.is_empty()));
    let (status, _) = visit
        .post(
            "/umontpellier/password-strength",
            &[("for", "account"), ("candidate", "abc")],
        )
        .await;
    assert_eq!(status, 404, "not signed in: no account to judge for");
    let (status, html) = visit
        .post(
            "/umontpellier/recovery/new-password",
            &[
                ("new_password.password", "Hj6@Wd9sPk2f"),
                ("new_password.confirmation", "Hj6@Wd9sPk2g"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("f-new-password-password-error"), "{html}");
    let (status, html) = visit
        .post(
            "/umontpellier/recovery/new-password",
            &[
                ("new_password.password", "Hj6@Wd9sPk2f"),
                ("new_password.confirmation", "Hj6@Wd9sPk2f"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Mot de passe changé"), "{html}");
    // Spent: the form is gone from this session.
    let (status, _) = visit.get("/umontpellier/recovery/new-password").await;
    assert_eq!(status, 303);

    // A forgotten login: a wrong birth date is refused as a field's.
    let (status, html) = visit
        .post(
            "/umontpellier/recovery/login",
            &[("student_number", "1234"), ("birth_date", "31012004")],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("f-student-number-error"), "{html}");
}

/// The account page: a sign-in through the API, a refused change, a new
/// recovery address confirmed from its mailed link's page.
#[tokio::test]
async fn a_signed_in_person_changes_their_recovery_address_on_the_account_page() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["umontpellier"]).await;
    let account = app
        .active_account(montpellier_staff("R0043", "Anne", "Roux"), "Qz7#Kp2wLm9x")
        .await;
    let mut visit = Visit {
        portal,
        cookie: String::new(),
        csrf: String::new(),
    };
    let (status, html) = visit.get("/umontpellier/account").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="password""#), "{html}");
    let (status, html) = visit
        .post(
            "/umontpellier/account/sign-in",
            &[("login", &account.login), ("password", "wrong-password")],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        html.contains("Identifiant ou mot de passe incorrect"),
        "{html}"
    );
    let (status, _) = visit
        .post(
            "/umontpellier/account/sign-in",
            &[("login", &account.login), ("password", "Qz7#Kp2wLm9x")],
        )
        .await;
    assert_eq!(status, 303);
    let (status, html) = visit.get("/umontpellier/account").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&account.login), "{html}");
    assert!(
        html.contains(r#"name="new_recovery_mail.address""#),
        "{html}"
    );

    // A wrong current password: refused next to its field.
    let (status, html) = visit
        .post(
            "/umontpellier/account/password",
            &[
                ("current_password", "not-it"),
                ("new_password.password", "Hj6@Wd9sPk2f"),
                ("new_password.confirmation", "Hj6@Wd9sPk2f"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("password-f-current-password-error"), "{html}");

    let new_address = "anne.roux@example.org";
    let (status, html) = visit
        .post(
            "/umontpellier/account/recovery-mail",
            &[
                ("current_password", "Qz7#Kp2wLm9x"),
                ("new_recovery_mail.address", new_address),
                ("new_recovery_mail.confirmation", new_address),
            ],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Un lien de confirmation a été envoyé"),
        "{html}"
    );
    let token = link_token(
        &app.wait_for_mail_to(new_address, 1).await,
        "account/recovery-mail",
    );
    let (status, _) = visit
        .get(&format!("/umontpellier/account/recovery-mail/{token}"))
        .await;
    assert_eq!(status, 303);
    let (status, html) = visit.get("/umontpellier/account/confirm").await;
    assert_eq!(status, 200);
    assert!(!html.contains(&token));
    let (status, html) = visit.post("/umontpellier/account/confirm", &[]).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(new_address), "{html}");

    // Signed out: the account page asks to sign in again.
    visit.get("/umontpellier/account").await;
    let (status, _) = visit.post("/umontpellier/account/sign-out", &[]).await;
    assert_eq!(status, 303);
    let (_, html) = visit.get("/umontpellier/account").await;
    assert!(html.contains(r#"name="password""#), "{html}");
}

/// The account page's consents: the Bordeaux Montaigne student's choices as
/// they stand, a change saved, the photo's refusal only with the password,
/// then said rather than offered again.
#[tokio::test]
async fn a_student_changes_their_consents_on_the_account_page() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["u-bordeaux-montaigne"]).await;
    let account = app
        .active_account(
            bordeaux_student("21900079", "Élise", "Roy"),
            "Garonne#2026!",
        )
        .await;
    let mut visit = Visit {
        portal,
        cookie: String::new(),
        csrf: String::new(),
    };
    visit.get("/u-bordeaux-montaigne/account").await;
    visit
        .post(
            "/u-bordeaux-montaigne/account/sign-in",
            &[("login", &account.login), ("password", "Garonne#2026!")],
        )
        .await;
    let (status, html) = visit.get("/u-bordeaux-montaigne/account").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"name="crous_sharing""#), "{html}");
    assert!(
        html.contains("checked"),
        "the choices as they stand: {html}"
    );

    let consents = [
        ("step", "directory_listing"),
        ("step", "crous_sharing"),
        ("directory_listed", "true"),
        ("crous_sharing", "true"),
    ];
    let (status, html) = visit
        .post("/u-bordeaux-montaigne/account/consents", &consents)
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Vos choix sont enregistrés"), "{html}");
    let revoked = [("step", "crous_sharing"), ("crous_sharing", "false")];
    let (_, html) = visit
        .post("/u-bordeaux-montaigne/account/consents", &revoked)
        .await;
    assert!(html.contains("ne transmettra plus"), "the caveat: {html}");

    // Refusing the photo needs the password.
    let refusal = [
        ("step", "photo_use"),
        ("photo.uses", "refuse"),
        ("photo.irreversibility_acknowledged", "true"),
    ];
    let (status, html) = visit
        .post("/u-bordeaux-montaigne/account/consents", &refusal)
        .await;
    assert_eq!(status, 422, "{html}");
    let mut with_password = refusal.to_vec();
    with_password.push(("current_password", "Garonne#2026!"));
    let (status, html) = visit
        .post("/u-bordeaux-montaigne/account/consents", &with_password)
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("définitif"), "{html}");
    assert!(!html.contains(r#"name="photo.uses""#), "{html}");
}

/// Staff on the account page: the directory entry shown as it stands and
/// edited, the antispam level, and after a departure the extension
/// request.
#[tokio::test]
async fn staff_edit_their_directory_entry_and_ask_to_keep_their_account() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["umontpellier"]).await;
    let account = app
        .active_account(montpellier_staff("R0044", "Rémi", "Faure"), "Qz7#Kp2wLm9x")
        .await;
    let mut visit = Visit {
        portal,
        cookie: String::new(),
        csrf: String::new(),
    };
    visit.get("/umontpellier/account").await;
    visit
        .post(
            "/umontpellier/account/sign-in",
            &[("login", &account.login), ("password", "Qz7#Kp2wLm9x")],
        )
        .await;
    let (_, html) = visit.get("/umontpellier/account").await;
    assert!(html.contains(r#"name="entry.job_title""#), "{html}");
    assert!(
        html.contains("Niveau d&#x27;antispam") || html.contains("Niveau d'antispam"),
        "{html}"
    );
    assert!(
        !html.contains(r#"name="reason""#),
        "no departure yet: {html}"
    );

    let (status, html) = visit
        .post(
            "/umontpellier/account/directory",
            &[
                ("entry.job_title", "Ingénieur d'études"),
                ("entry.office_phone", "not a phone"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(
        html.contains("directory-f-entry-office-phone-error"),
        "{html}"
    );
    let (status, html) = visit
        .post(
            "/umontpellier/account/directory",
            &[
                ("entry.job_title", "Ingénieur d'études"),
                ("entry.office_phone", "04 67 14 30 00"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("+33467143000"), "the entry as stored: {html}");
    let (status, html) = visit
        .post(
            "/umontpellier/account/antispam",
            &[("level", "ANTISPAM_LEVEL_HIGH")],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(r#"value="ANTISPAM_LEVEL_HIGH" checked"#),
        "{html}"
    );

    // After the end of activity: the request to keep the account.
    let today = ent_identity::app::clock::Clock::now(&app.clock).date_naive();
    app.lifecycle
        .clone()
        .record_end_of_activity(ent_identity::proto::RecordEndOfActivityRequest {
            account: Some(ent_identity::proto::AccountSelector {
                institution: String::new(),
                identifier: Some(
                    ent_identity::proto::account_selector::Identifier::AccountId(
                        account.account_id.clone(),
                    ),
                ),
            }),
            end_date: today.to_string(),
            reason: "fin de contrat".into(),
        })
        .await
        .expect("departure");
    let (_, html) = visit.get("/umontpellier/account").await;
    assert!(html.contains(r#"name="reason""#), "{html}");
    let (status, html) = visit
        .post(
            "/umontpellier/account/extension",
            &[("reason", "Je termine l'encadrement d'une thèse.")],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Votre demande de prolongation est enregistrée"),
        "{html}"
    );
}

/// A university that is none of the seeds' (issue 28): each population's
/// identity form as its configuration chose, on one page with unique ids,
/// and a staff member recognised through the portal's form.
#[tokio::test]
async fn a_configured_identity_check_is_a_portal_form() {
    let app = crate::any_university::spawn_exemple().await;
    let portal = spawn_portal(&app, &["univ-exemple"]).await;
    app.provision(crate::any_university::staff("2231"))
        .await
        .expect("provision");
    let mut visit = Visit {
        portal,
        cookie: String::new(),
        csrf: String::new(),
    };
    let base = "/univ-exemple/activation";
    let (status, html) = visit.get(base).await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"name="identity_match.hr_id""#), "{html}");
    assert!(
        html.contains(r#"name="identity_match.personal_mail""#),
        "{html}"
    );
    // Students and staff both type a birth date: two inputs, two ids.
    assert_eq!(
        html.matches(r#"name="identity_match.birth_date""#).count(),
        2
    );
    assert_eq!(
        html.matches(r#"id="f-identity-match-birth-date""#).count(),
        1
    );
    let (status, html) = visit
        .post(
            &format!("{base}/identity_match"),
            &[
                ("identity_match.hr_id", "2231"),
                ("identity_match.birth_date", "30041979"),
                ("identity_match.family_name", "D'Argent Lévy"),
                ("identity_match.mobile_phone", "06 12 34 56 78"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{html}");
    let (_, html) = visit.get(&format!("{base}/flow")).await;
    assert!(html.contains(r#"name="code""#), "{html}");
    assert_eq!(app.wait_for_sms(1).await[0].0, "+33612345678");
}

/// "Mes données": the copy of everything held, after the password typed
/// again, on the page or as a file (JSON, text).
#[tokio::test]
async fn a_signed_in_person_downloads_everything_held_about_them() {
    let app = spawn_app().await;
    let portal = spawn_portal(&app, &["u-bordeaux-montaigne"]).await;
    let password = "Garonne#2026!";
    let account = app
        .active_account(bordeaux_student("21900080", "Élise", "Perrin"), password)
        .await;
    let mut visit = Visit {
        portal,
        cookie: String::new(),
        csrf: String::new(),
    };
    let (status, _) = visit.get("/u-bordeaux-montaigne/account/data").await;
    assert_eq!(status, 303, "signed out: to the sign-in form");
    visit.get("/u-bordeaux-montaigne/account").await;
    let signed_in = [("login", account.login.as_str()), ("password", password)];
    visit
        .post("/u-bordeaux-montaigne/account/sign-in", &signed_in)
        .await;
    let (_, html) = visit.get("/u-bordeaux-montaigne/account").await;
    assert!(
        html.contains(r#"u-bordeaux-montaigne/account/data">Mes données</a>"#),
        "{html}"
    );
    let (status, html) = visit.get("/u-bordeaux-montaigne/account/data").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("droit d&#x27;accès"), "{html}");

    let data = "/u-bordeaux-montaigne/account/data";
    let wrong = [("current_password", "not-my-password"), ("format", "page")];
    let (status, html) = visit.post(data, &wrong).await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("n&#x27;est pas le bon"), "{html}");
    let shown = [("current_password", password), ("format", "page")];
    let (status, html) = visit.post(data, &shown).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Vos données personnelles"), "{html}");
    assert!(html.contains("<dd>Perrin</dd>"), "{html}");
    assert!(html.contains("Compte activé"), "{html}");

    let json = [("current_password", password), ("format", "json")];
    let (status, headers, body) = visit.post_for_file(data, &json).await;
    assert_eq!(status, 200, "{body}");
    let disposition = headers["content-disposition"].to_str().expect("header");
    assert!(
        disposition.starts_with("attachment; filename=\"personal-data-")
            && disposition.ends_with(".json\""),
        "{disposition}"
    );
    let document: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(document["account"]["login"], account.login.as_str());
    assert!(!body.contains(password));
    let text = [("current_password", password), ("format", "text")];
    let (status, headers, body) = visit.post_for_file(data, &text).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/plain")
    );
    assert!(body.contains("Votre compte\n============"), "{body}");
    assert!(body.contains("Nom\u{a0}: Perrin"), "{body}");
}
