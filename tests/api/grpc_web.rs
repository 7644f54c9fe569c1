//! gRPC-Web: an ENT page calling from the browser over HTTP/1.1, with CORS
//! for the configured origins, admitted without a token to the flows a
//! secret guards, its address read from the connection (or the trusted
//! proxy's X-Forwarded-For), never from what the page sends.

use ent_identity::proto;
use ent_identity::proto::evaluate_password_request::Context;
use prost::Message;
use tonic::Code;

use crate::support::*;

const PAGE: &str = "https://ent.example.edu";

async fn app_for_pages(extra: &str) -> TestApp {
    spawn_app_configured(TestConfig {
        toml: format!("[grpc_web]\nallowed_origins = [\"{PAGE}\"]\n{extra}"),
        wait: true,
        ..TestConfig::default()
    })
    .await
}

fn http1() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client")
}

/// A gRPC-Web answer: its HTTP status and version, its message (if any) and
/// its gRPC status (from the trailer frame, or the headers when the answer
/// is trailers-only).
struct WebAnswer {
    http: reqwest::StatusCode,
    version: reqwest::Version,
    headers: reqwest::header::HeaderMap,
    message: Option<Vec<u8>>,
    grpc_status: Option<i32>,
}

/// POSTs `message` to `method` the way grpc-web's JavaScript client does.
async fn web_call(
    app: &TestApp,
    method: &str,
    message: &impl Message,
    headers: &[(&str, &str)],
) -> WebAnswer {
    let payload = message.encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(payload.len()).expect("small").to_be_bytes());
    body.extend_from_slice(&payload);
    let mut request = http1()
        .post(format!("http://{}/{method}", app.channel_address()))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("gRPC-Web over HTTP/1.1");
    let (http, version, headers) = (
        response.status(),
        response.version(),
        response.headers().clone(),
    );
    let bytes = response.bytes().await.expect("body");
    let mut message = None;
    let mut grpc_status = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let mut rest = &bytes[..];
    while rest.len() >= 5 {
        let flag = rest[0];
        let length = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let frame = &rest[5..5 + length];
        if flag & 0x80 == 0 {
            message = Some(frame.to_vec());
        } else {
            let trailers = String::from_utf8_lossy(frame).to_string();
            grpc_status = trailers
                .lines()
                .find_map(|l| l.strip_prefix("grpc-status:"))
                .and_then(|v| v.trim().parse().ok());
        }
        rest = &rest[5 + length..];
    }
    WebAnswer {
        http,
        version,
        headers,
        message,
        grpc_status,
    }
}

fn policy(candidate: &str) -> proto::EvaluatePasswordRequest {
    proto::EvaluatePasswordRequest {
        candidate: candidate.into(),
        context: Some(Context::Policy(proto::PolicyRef {
            institution: "umontpellier".into(),
            profile: "staff_tenured".into(),
        })),
    }
}

const EVALUATE: &str = "ent.identity.v1.ActivationService/EvaluatePassword";
const GET_ACCOUNT: &str = "ent.identity.v1.AccountLifecycleService/GetAccount";

#[tokio::test]
async fn a_page_calls_the_service_over_grpc_web_on_http1() {
    let app = app_for_pages("").await;

    // The browser's preflight: allowed for the configured origin only.
    let preflight = |origin: &'static str| {
        http1()
            .request(
                reqwest::Method::OPTIONS,
                format!("http://{}/{EVALUATE}", app.channel_address()),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-grpc-web,x-user-agent,x-request-id",
            )
            .send()
    };
    let allowed = preflight(PAGE).await.expect("preflight");
    assert!(allowed.status().is_success());
    assert_eq!(allowed.headers()["access-control-allow-origin"], PAGE);
    let allowed_headers = allowed.headers()["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_owned();
    for header in ["content-type", "x-grpc-web", "x-request-id"] {
        assert!(allowed_headers.contains(header), "{allowed_headers}");
    }
    let other = preflight("https://evil.example.com")
        .await
        .expect("preflight");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The page's call: no token, over HTTP/1.1.
    let answer = web_call(
        &app,
        EVALUATE,
        &policy("correct horse battery staple 1789!"),
        &[("origin", PAGE), ("x-request-id", "page-call-1")],
    )
    .await;
    assert_eq!(answer.http, reqwest::StatusCode::OK);
    assert_eq!(answer.version, reqwest::Version::HTTP_11);
    assert_eq!(answer.grpc_status, Some(Code::Ok as i32));
    assert_eq!(answer.headers["access-control-allow-origin"], PAGE);
    assert_eq!(answer.headers["x-request-id"], "page-call-1");
    assert!(
        answer.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/grpc-web")
    );
    let evaluation =
        proto::EvaluatePasswordResponse::decode(&answer.message.expect("a message")[..])
            .expect("decodes");
    assert!(evaluation.score <= 4);
    let weak = web_call(&app, EVALUATE, &policy("azerty"), &[("origin", PAGE)]).await;
    let weak = proto::EvaluatePasswordResponse::decode(&weak.message.expect("a message")[..])
        .expect("decodes");
    assert!(!weak.acceptable && !weak.violations.is_empty());

    // Back-office methods are not for pages.
    let refused = web_call(
        &app,
        GET_ACCOUNT,
        &proto::GetAccountRequest::default(),
        &[("origin", PAGE)],
    )
    .await;
    assert_eq!(refused.grpc_status, Some(Code::PermissionDenied as i32));
    // Nor an account's personal rules.
    let personal = web_call(
        &app,
        EVALUATE,
        &proto::EvaluatePasswordRequest {
            candidate: "anything at all 123".into(),
            context: Some(Context::Account(proto::AccountSelector {
                identifier: Some(proto::account_selector::Identifier::Login("someone".into())),
                ..Default::default()
            })),
        },
        &[("origin", PAGE)],
    )
    .await;
    assert_eq!(personal.grpc_status, Some(Code::PermissionDenied as i32));
    // Another origin is nobody.
    let stranger = web_call(
        &app,
        EVALUATE,
        &policy("whatever 12345 long"),
        &[("origin", "https://evil.example.com")],
    )
    .await;
    assert_eq!(stranger.grpc_status, Some(Code::Unauthenticated as i32));
    // A back-office client may use gRPC-Web too, with its token.
    let token = format!("Bearer {}", test_token("admin"));
    let admin = web_call(
        &app,
        GET_ACCOUNT,
        &proto::GetAccountRequest {
            account: by_id(&uuid::Uuid::new_v4().to_string()),
        },
        &[("authorization", token.as_str())],
    )
    .await;
    assert_eq!(admin.grpc_status, Some(Code::NotFound as i32));
}

/// Wrong activation keys from a browser, for different accounts (so that
/// only the per-address limit can stop them).
async fn wrong_key(app: &TestApp, n: u32, headers: &[(&str, &str)]) -> Option<i32> {
    let request = proto::StartActivationRequest {
        institution: "u-bordeaux-montaigne".into(),
        entry: Some(proto::start_activation_request::Entry::Key(
            proto::KeyEntry {
                login: format!("nobody{n}"),
                activation_key: "AAAA-AAAA-AAAA".into(),
            },
        )),
    };
    let mut all = vec![("origin", PAGE)];
    all.extend_from_slice(headers);
    web_call(
        app,
        "ent.identity.v1.ActivationService/StartActivation",
        &request,
        &all,
    )
    .await
    .grpc_status
}

#[tokio::test]
async fn a_browser_is_counted_by_its_own_address_not_the_one_it_claims() {
    let app = spawn_app_configured(TestConfig {
        toml: format!(
            "[grpc_web]\nallowed_origins = [\"{PAGE}\"]\ntrusted_proxies = [\"127.0.0.0/8\"]\n"
        ),
        env: vec![(
            "ENT_IDENTITY__RATE_LIMITS__GUESSES_PER_ADDRESS__MAX".into(),
            "2".into(),
        )],
        wait: true,
        ..TestConfig::default()
    })
    .await;
    let invalid = Some(Code::InvalidArgument as i32);
    let exhausted = Some(Code::ResourceExhausted as i32);
    // Behind the (trusted, loopback) proxy: the address it forwarded counts,
    // whatever the page claims in x-end-user-address.
    let first = [
        ("x-forwarded-for", "198.51.100.7"),
        ("x-end-user-address", "192.0.2.1"),
    ];
    assert_eq!(wrong_key(&app, 1, &first).await, invalid);
    assert_eq!(wrong_key(&app, 2, &first).await, invalid);
    assert_eq!(wrong_key(&app, 3, &first).await, exhausted);
    let claims_another = [
        ("x-forwarded-for", "198.51.100.7"),
        ("x-end-user-address", "192.0.2.99"),
    ];
    assert_eq!(wrong_key(&app, 4, &claims_another).await, exhausted);
    // A hop the client wrote itself, left of the proxy's: ignored.
    let spoofed = [("x-forwarded-for", "192.0.2.50, 198.51.100.7")];
    assert_eq!(wrong_key(&app, 5, &spoofed).await, exhausted);
    // Another person behind the proxy is not limited.
    let second = [("x-forwarded-for", "198.51.100.8")];
    assert_eq!(wrong_key(&app, 6, &second).await, invalid);
}
