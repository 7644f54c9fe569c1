//! What operators watch: the metrics endpoint (RPCs by method and code,
//! outbox backlog and failures, the batch's latest runs), request ids on
//! refused calls too, and traces exported to an OTLP collector.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use ent_identity::app::clock::Clock;
use ent_identity::proto;
use ent_identity::store::outbox::{Channel, Content, NewMessage};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;

use crate::support::*;

/// What Prometheus sends: OpenMetrics first, the text format else.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// The metrics endpoint's text, as Prometheus scrapes it (OpenMetrics).
pub(crate) async fn scrape(app: &TestApp) -> String {
    let response = reqwest::Client::new()
        .get(format!("http://{}/metrics", app.metrics_address))
        .header("accept", PROMETHEUS_ACCEPT)
        .send()
        .await
        .expect("metrics endpoint");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    response.text().await.expect("body")
}

/// The value of the sample `name{labels}` (labels as the text spells them).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

fn lifecycle_series(metric: &str, method: &str, code: Option<&str>) -> String {
    let code = code.map_or(String::new(), |c| format!(",grpc_code=\"{c}\""));
    format!(
        "{metric}{{grpc_type=\"unary\",grpc_service=\"ent.identity.v1.AccountLifecycleService\",grpc_method=\"{method}\"{code}}}"
    )
}

/// A scraper that does not ask for OpenMetrics (`curl`, `promtool`, an
/// older Prometheus) reads the text format 0.0.4, which `promtool check
/// metrics` accepts: every series has its help text and type.
#[tokio::test]
async fn the_text_format_passes_promtool() {
    let app = spawn_app().await;
    app.provision(bordeaux_student("23100700", "Ada", "Leroy"))
        .await
        .expect("provision");
    app.batch_on("2026-09-02").await;
    let response = reqwest::Client::new()
        .get(format!("http://{}/metrics", app.metrics_address))
        .header("accept", "text/plain;version=0.0.4")
        .send()
        .await
        .expect("metrics endpoint");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.expect("body");
    assert!(text.contains("# HELP grpc_server_started_total "), "{text}");
    assert!(text.contains("# TYPE grpc_server_handled_total counter"));
    assert!(!text.contains("# EOF"));
    let Ok(mut promtool) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        tool_missing("promtool (Debian package prometheus) checks the metrics");
        return;
    };
    use std::io::Write;
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let checked = promtool.wait_with_output().expect("promtool");
    assert!(
        checked.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// The series the text format names, with a histogram's and a counter's
/// own (`_bucket`, `_total`...).
fn series_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some(described) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = described.split_once(' ').unwrap_or((described, ""));
        names.insert(name.to_owned());
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
    }
    names
}

/// Every metric the shipped alert rules and Grafana dashboard read is one
/// the server or the LDAP worker exposes: renaming a metric fails here.
#[tokio::test]
async fn the_alert_rules_and_the_dashboard_read_metrics_that_exist() {
    let app = spawn_app().await;
    // Activity, so that every family has a series: a mail delivered, a
    // batch run, a worker's failure.
    app.active_account(bordeaux_student("23100701", "Ada", "Leroy"), "Qz7#Kp2wLm9x")
        .await;
    app.wait_for_mails(1).await;
    app.batch_on("2026-09-02").await;
    let text = reqwest::get(format!("http://{}/metrics", app.metrics_address))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let worker = ent_identity::ldap_sync::metrics::Metrics::new();
    worker.failed("unreachable".into());
    worker.applied();
    let worker = formats::Exposition::PrometheusText.body(worker.encode());
    let mut exposed = series_names(&text);
    exposed.extend(series_names(&worker));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in [
        "deploy/prometheus/alerts.yml",
        "deploy/grafana/ent-identity.json",
    ] {
        let shipped = std::fs::read_to_string(root.join(file)).expect(file);
        let mut read = 0;
        for prefix in ["grpc_server_", "ent_identity_", "ldap_sync_"] {
            for (at, _) in shipped.match_indices(prefix) {
                let name: String = shipped[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    exposed.contains(&name),
                    "{file} reads {name}, which nothing exposes"
                );
                read += 1;
            }
        }
        assert!(read > 3, "{file} reads metrics");
    }
}

#[tokio::test]
async fn metrics_count_calls_by_method_and_code_and_show_deliveries_and_batch_runs() {
    let app = spawn_app().await;
    let missing = app
        .get_account(
            "",
            proto::account_selector::Identifier::AccountId(uuid::Uuid::new_v4().to_string()),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    // Refused by the authentication layer: counted too.
    let anonymous = InterceptedService::new(app.channel.clone(), Credentials::default());
    let refused =
        proto::account_lifecycle_service_client::AccountLifecycleServiceClient::new(anonymous)
            .get_account(proto::GetAccountRequest::default())
            .await
            .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    // With a request id like any answer (none was sent: a new one).
    let id = refused
        .metadata()
        .get("x-request-id")
        .expect("a request id");
    assert!(uuid::Uuid::parse_str(id.to_str().expect("ascii")).is_ok());
    // An activation mails its recovery-address check (delivered by the file
    // transport).
    app.active_account(montpellier_staff("RH901", "Iris", "Roux"), "Qz7#Kp2wLm9x")
        .await;
    app.lifecycle
        .clone()
        .run_expiry_batch(proto::RunExpiryBatchRequest::default())
        .await
        .expect("batch");

    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            &lifecycle_series("grpc_server_handled_total", "GetAccount", Some("NotFound"))
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &lifecycle_series(
                "grpc_server_handled_total",
                "GetAccount",
                Some("Unauthenticated")
            )
        ),
        Some(1.0)
    );
    // The helper read the account back once: OK.
    assert_eq!(
        sample(
            &text,
            &lifecycle_series("grpc_server_handled_total", "GetAccount", Some("OK"))
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &lifecycle_series("grpc_server_started_total", "GetAccount", None)
        ),
        Some(3.0)
    );
    assert_eq!(
        sample(
            &text,
            &lifecycle_series("grpc_server_handling_seconds_count", "GetAccount", None)
        ),
        Some(3.0)
    );
    assert!(
        sample(
            &text,
            "ent_identity_outbox_deliveries_total{channel=\"mail\",outcome=\"sent\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "ent_identity_outbox_given_up_messages{channel=\"mail\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "ent_identity_batch_last_run_complete{scope=\"*\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "ent_identity_batch_last_run_accounts{scope=\"*\",step=\"accounts_expired\"}"
        ),
        Some(0.0)
    );
    let finished = sample(
        &text,
        "ent_identity_batch_last_run_timestamp_seconds{scope=\"*\"}",
    )
    .expect("the run's time");
    let now = chrono::Utc::now().timestamp() as f64;
    assert!((now - 60.0..=now + 1.0).contains(&finished), "{finished}");
    // A dry run is not a run.
    app.lifecycle
        .clone()
        .run_expiry_batch(proto::RunExpiryBatchRequest {
            institution: "umontpellier".into(),
            dry_run: true,
            ..Default::default()
        })
        .await
        .expect("dry run");
    assert!(!scrape(&app).await.contains("scope=\"umontpellier\""));
}

#[tokio::test]
async fn undeliverable_mail_shows_in_the_backlog_then_as_given_up() {
    // Nothing listens on port 1: every attempt fails; one attempt allowed.
    let app = spawn_app_with(
        vec![
            ("ENT_IDENTITY__MAIL__TRANSPORT".into(), "smtp".into()),
            ("ENT_IDENTITY__MAIL__SMTP__HOST".into(), "127.0.0.1".into()),
            ("ENT_IDENTITY__MAIL__SMTP__PORT".into(), "1".into()),
            ("ENT_IDENTITY__MAIL__SMTP__SECURITY".into(), "none".into()),
            ("ENT_IDENTITY__MAIL__MAX_ATTEMPTS".into(), "1".into()),
        ],
        true,
    )
    .await;
    let store = app.store().await;
    // Queued for later first: it waits in the backlog.
    let message = |not_before| NewMessage {
        account_id: None,
        channel: Channel::Mail,
        recipient: "someone@example.net".into(),
        template: "test".into(),
        content: Content {
            subject: "s".into(),
            text: "t".into(),
        },
        not_before,
    };
    let now = app.clock.now();
    store
        .enqueue_message(message(now + chrono::Duration::hours(1)), now)
        .await
        .expect("queued");
    app.clock.advance(chrono::Duration::minutes(10));
    let text = scrape(&app).await;
    assert_eq!(
        sample(
            &text,
            "ent_identity_outbox_pending_messages{channel=\"mail\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "ent_identity_outbox_oldest_pending_age_seconds{channel=\"mail\"}"
        ),
        Some(600.0)
    );
    // Due now: tried once, given up.
    store
        .enqueue_message(message(app.clock.now()), app.clock.now())
        .await
        .expect("queued");
    let mut given_up = None;
    for _ in 0..200 {
        let text = scrape(&app).await;
        given_up = sample(
            &text,
            "ent_identity_outbox_given_up_messages{channel=\"mail\"}",
        );
        if given_up == Some(1.0) {
            assert_eq!(
                sample(
                    &text,
                    "ent_identity_outbox_deliveries_total{channel=\"mail\",outcome=\"given_up\"}"
                ),
                Some(1.0)
            );
            assert_eq!(
                sample(
                    &text,
                    "ent_identity_outbox_pending_messages{channel=\"mail\"}"
                ),
                Some(1.0)
            );
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert_eq!(given_up, Some(1.0));
}

/// A collector that keeps what it receives.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<ExportTraceServiceRequest>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.lock().expect("collector").push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tokio::test]
async fn traces_are_exported_over_otlp_and_continue_the_callers_trace() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let collector_address = listener.local_addr().expect("addr");
    let receiving = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    // The real binary: the exporter is process-wide.
    let dir = tempfile::tempdir().expect("temp");
    let mut env = database_env(dir.path()).await;
    env.push((
        "ENT_IDENTITY__TELEMETRY__OTLP_ENDPOINT".into(),
        format!("http://{collector_address}"),
    ));
    env.push((
        "ENT_IDENTITY__TELEMETRY__SERVICE_NAME".into(),
        "ent-identity-test".into(),
    ));
    let server = Process::serve(dir.path(), &env).await;

    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = tonic::Request::new(proto::GetAccountRequest {
        account: by_id(&uuid::Uuid::new_v4().to_string()),
    });
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01")
            .parse()
            .expect("header"),
    );
    request
        .metadata_mut()
        .insert("x-request-id", "trace-test-1".parse().expect("header"));
    let missing = proto::account_lifecycle_service_client::AccountLifecycleServiceClient::new(
        authed(&server.channel(), "admin", None),
    )
    .get_account(request)
    .await
    .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    // SIGTERM: the server flushes its spans before it exits.
    server.terminate().await;

    let exported = collector.0.lock().expect("collector").clone();
    let spans: Vec<_> = exported
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    let call = spans
        .iter()
        .find(|s| s.name == "ent.identity.v1.AccountLifecycleService/GetAccount")
        .unwrap_or_else(|| {
            panic!(
                "the call's span among {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(hex::encode(&call.trace_id), trace_id, "the caller's trace");
    assert_eq!(hex::encode(&call.parent_span_id), "00f067aa0ba902b7");
    let attribute = |key: &str| {
        call.attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref()?.value.clone())
    };
    assert_eq!(
        attribute("request_id"),
        Some(Value::StringValue("trace-test-1".into()))
    );
    assert_eq!(
        attribute("rpc.grpc.status_code"),
        Some(Value::IntValue(Code::NotFound as i64))
    );
    assert_eq!(
        attribute("client"),
        Some(Value::StringValue("admin".into()))
    );
    // Where the call came in, and from where (OpenTelemetry's RPC
    // conventions).
    assert_eq!(
        attribute("server.address"),
        Some(Value::StringValue("127.0.0.1".into()))
    );
    assert!(
        matches!(attribute("server.port"), Some(Value::IntValue(port)) if port > 0),
        "{:?}",
        attribute("server.port")
    );
    assert_eq!(
        attribute("network.peer.address"),
        Some(Value::StringValue("127.0.0.1".into()))
    );
    assert!(matches!(
        attribute("network.peer.port"),
        Some(Value::IntValue(_))
    ));
    // Minimisation (issue 29): the spans carry no field that could hold a
    // person's data; the account appears by its id only.
    let keys: std::collections::BTreeSet<&str> = spans
        .iter()
        .flat_map(|s| &s.attributes)
        .map(|a| a.key.as_str())
        .collect();
    let allowed = [
        "request_id",
        "client",
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "rpc.grpc.status_code",
        "otel.status_code",
        "server.address",
        "server.port",
        "network.peer.address",
        "network.peer.port",
        "code.filepath",
        "code.namespace",
        "code.lineno",
        "code.file.path",
        "code.module.name",
        "code.line.number",
        "thread.id",
        "thread.name",
        "target",
        "busy_ns",
        "idle_ns",
        "level",
        "account_id",
    ];
    let unknown: Vec<&&str> = keys.iter().filter(|k| !allowed.contains(k)).collect();
    assert!(
        unknown.is_empty(),
        "span attributes to check for personal data: {unknown:?}"
    );
    // The handler's span is the call's child, in the same trace.
    assert!(
        spans
            .iter()
            .any(|s| s.parent_span_id == call.span_id && s.trace_id == call.trace_id),
        "a child span"
    );
    let service_name = exported
        .iter()
        .flat_map(|r| &r.resource_spans)
        .filter_map(|r| r.resource.as_ref())
        .flat_map(|r| &r.attributes)
        .find(|a| a.key == "service.name")
        .and_then(|a| a.value.as_ref()?.value.clone());
    assert_eq!(
        service_name,
        Some(Value::StringValue("ent-identity-test".into()))
    );
    receiving.abort();
}
