//! Issue 21, first pages: the portal, a client of the public API only,
//! renders an institution's first connection from `DescribeFirstConnection`
//! in the person's language, with the browser protections on every answer.

use ent_identity::portal::{ApiClient, PortalSettings};

use crate::support::*;

/// A portal in front of the test server, serving `institutions`; its
/// address.
async fn spawn_portal(app: &TestApp, institutions: &[&str]) -> String {
    let settings = PortalSettings {
        listen: "127.0.0.1:0".parse().expect("address"),
        api_url: String::new(),
        api_token_file: None,
        institutions: institutions.iter().map(|c| (*c).to_owned()).collect(),
        templates_dir: None,
        trusted_proxies: Vec::new(),
    };
    let api = ApiClient::new(
        &format!("http://{}", app.channel_address()),
        &test_token("portal"),
    )
    .expect("client");
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

async fn page(
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
