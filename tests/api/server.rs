//! The server as infrastructure sees it: health per service, reflection,
//! unimplemented RPCs, request ids.

use ent_identity::proto;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_types::StatusExt;

use crate::support::*;

#[tokio::test]
async fn health_is_serving_for_every_service() {
    let app = spawn_app().await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in ent_identity::server::SERVICE_NAMES.iter().chain(&[""]) {
        let status = health
            .check(HealthCheckRequest {
                service: (*service).into(),
            })
            .await
            .expect("health answers")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "nope.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn the_probe_listener_serves_health_only() {
    let app = spawn_app().await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", app.health_address))
        .expect("endpoint")
        .connect()
        .await
        .expect("the health listener");
    let mut health = HealthClient::new(channel.clone());
    for service in ["", ent_identity::server::LIVENESS_SERVICE] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health answers")
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    let api = proto::account_lifecycle_service_client::AccountLifecycleServiceClient::new(authed(
        &channel, "admin", None,
    ))
    .get_account(proto::GetAccountRequest::default())
    .await
    .unwrap_err();
    assert_eq!(api.code(), Code::Unimplemented);
}

#[tokio::test]
async fn reflection_lists_the_services_in_both_versions() {
    let app = spawn_app().await;
    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(app.channel.clone());
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection v1")
            .into_inner();
        let response = responses.next().await.expect("one answer").expect("ok");
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("not a service list");
        };
        let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
        for expected in ent_identity::server::SERVICE_NAMES
            .iter()
            .chain(&["grpc.health.v1.Health"])
        {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(app.channel.clone());
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "ent.identity.v1.AccountLifecycleService".into(),
            )),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .expect("reflection v1alpha")
            .into_inner();
        let response = responses.next().await.expect("one answer").expect("ok");
        assert!(matches!(
            response.message_response,
            Some(MessageResponse::FileDescriptorResponse(ref f)) if !f.file_descriptor_proto.is_empty()
        ));
    }
}

#[tokio::test]
async fn request_ids_are_kept_and_returned() {
    let app = spawn_app().await;
    // A request id given by the caller is kept in the audit trail.
    let mut request = tonic::Request::new(proto::ProvisionAccountRequest {
        reissue_pending_material: false,
        record: Some(montpellier_staff("RH-9", "Ada", "Lovelace")),
    });
    request
        .metadata_mut()
        .insert("x-request-id", "trace-42".parse().expect("metadata"));
    app.lifecycle
        .clone()
        .provision_account(request)
        .await
        .expect("provisioned");
    let events = app
        .lifecycle
        .clone()
        .list_audit_events(proto::ListAuditEventsRequest {
            institution: "umontpellier".into(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    assert_eq!(events[0].request_id, "trace-42");

    // Without one, the server makes one up and returns it, errors included.
    let refused = app
        .lifecycle
        .clone()
        .provision_account(proto::ProvisionAccountRequest {
            reissue_pending_material: false,
            record: None,
        })
        .await
        .unwrap_err();
    let id = refused
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("request id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn shutdown_drains_and_stops_the_server() {
    let app = spawn_app().await;
    let finished = app.stop().await;
    assert!(finished, "serve returned after the shutdown signal");
}

#[tokio::test]
async fn without_a_database_health_is_not_serving_and_calls_are_unavailable() {
    let dir = tempfile::tempdir().expect("temp");
    let settings = ent_identity::config::Settings::load_with_env(
        &[write_clients(dir.path())],
        [
            // Nothing listens on port 1.
            (
                "ENT_IDENTITY__DATABASE__URL".to_owned(),
                "postgres://postgres@127.0.0.1:1/none".to_owned(),
            ),
            (
                "ENT_IDENTITY__DATABASE__CONNECT_TIMEOUT".to_owned(),
                "1s".to_owned(),
            ),
            (
                "ENT_IDENTITY__MAIL__FOLDER".to_owned(),
                dir.path().display().to_string(),
            ),
        ],
    )
    .expect("configuration");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(ent_identity::server::serve(
        std::sync::Arc::new(settings),
        std::sync::Arc::new(ent_identity::app::clock::ManualClock::new(start_time())),
        ent_identity::server::Listeners {
            grpc: listener,
            metrics: None,
            health: None,
        },
        std::future::pending(),
    ));
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("the server listens even without its database");
    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(HealthCheckRequest {
            service: "ent.identity.v1.AccountLifecycleService".into(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::NotServing as i32);
    // Alive all the same: restarting would not bring the database back.
    let alive = health
        .check(HealthCheckRequest {
            service: ent_identity::server::LIVENESS_SERVICE.into(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status;
    assert_eq!(alive, ServingStatus::Serving as i32);
    let refused = proto::account_lifecycle_service_client::AccountLifecycleServiceClient::new(
        authed(&channel, "admin", None),
    )
    .provision_account(proto::ProvisionAccountRequest {
        reissue_pending_material: false,
        record: Some(montpellier_staff("RH1", "A", "B")),
    })
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    server.abort();
}

#[tokio::test]
async fn database_failures_reach_callers_as_a_bare_internal_error() {
    let app = spawn_app().await;
    // Break the database behind the server's back.
    let store = ent_identity::store::Store::connect(&app.database)
        .await
        .expect("connect");
    sea_orm::ConnectionTrait::execute_unprepared(store.connection(), "DROP TABLE audit_events")
        .await
        .expect("drop a table");
    let status = app
        .provision(montpellier_staff("RH-5", "Ada", "Byron"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    let message = status.message().to_lowercase();
    assert!(
        message.starts_with("internal error (request id "),
        "{message}"
    );
    for leak in ["audit", "sql", "table", "relation", "sqlite", "postgres"] {
        assert!(!message.contains(leak), "{leak} leaked: {message}");
    }
    // The log keeps what the caller does not see: the cause, down to the
    // database's own words, on the line that carries the request id.
    let request_id = status
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("a request id")
        .to_owned();
    let logs = crate::logs::captured();
    let line = logs
        .lines()
        .find(|l| l.contains("internal error") && l.contains(&request_id))
        .unwrap_or_else(|| panic!("no internal error logged for {request_id}"));
    assert!(
        line.contains("database") && line.contains("audit_events"),
        "{line}"
    );
    // Nothing of the failed call was kept.
    let missing = app
        .get_account(
            "umontpellier",
            proto::account_selector::Identifier::HrId("RH-5".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn postgresql_waits_for_migrations_while_sqlite_migrates_itself() {
    let app = spawn_app_with(
        vec![(
            "ENT_IDENTITY__DATABASE__AUTO_MIGRATE".into(),
            "false".into(),
        )],
        false,
    )
    .await;
    let health = HealthClient::new(app.channel.clone());
    let status = || {
        let mut health = health.clone();
        async move {
            health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .expect("health answers")
                .into_inner()
                .status
        }
    };
    if postgres_url().is_none() {
        // SQLite is embedded: `serve` always migrates it.
        wait_until_serving(app.channel.clone()).await;
        return;
    }
    // PostgreSQL without auto_migrate: not serving until `migrate` runs.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(status().await, ServingStatus::NotServing as i32);
    let refused = app
        .provision(montpellier_staff("RH-1", "Max", "Weber"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    app.store().await.migrate().await.expect("migrate");
    wait_until_serving(app.channel.clone()).await;
    app.provision(montpellier_staff("RH-1", "Max", "Weber"))
        .await
        .expect("serving now");
}

#[tokio::test]
async fn oversized_requests_and_overlong_calls_are_cut_off() {
    let app = spawn_app_with(
        vec![
            (
                "ENT_IDENTITY__SERVER__MAX_MESSAGE_BYTES".into(),
                "4096".into(),
            ),
            (
                "ENT_IDENTITY__SERVER__REQUEST_TIMEOUT".into(),
                "500ms".into(),
            ),
        ],
        true,
    )
    .await;
    let mut record = montpellier_staff("RH8001", "Anne", "Leroy");
    record.family_name = "L".repeat(10_000);
    let refused = app
        .lifecycle
        .clone()
        .provision_account(proto::ProvisionAccountRequest {
            reissue_pending_material: false,
            record: Some(record),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused.code(), Code::ResourceExhausted | Code::OutOfRange),
        "{refused:?}"
    );
    assert!(app.all_changes().await.is_empty(), "nothing was created");

    // A bulk stream the caller never closes is cut at the deadline.
    let (_keep_open, rx) = tokio::sync::mpsc::channel::<proto::BulkProvisionAccountsRequest>(1);
    let started = std::time::Instant::now();
    let outcome = app
        .lifecycle
        .clone()
        .bulk_provision_accounts(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await;
    let code = match outcome {
        Err(status) => status.code(),
        Ok(response) => {
            let mut stream = response.into_inner();
            loop {
                match stream.next().await {
                    Some(Ok(_)) => continue,
                    Some(Err(status)) => break status.code(),
                    None => break Code::Ok,
                }
            }
        }
    };
    assert!(
        matches!(code, Code::Cancelled | Code::DeadlineExceeded),
        "{code:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn the_server_wide_concurrency_limit_queues_calls() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app_with(
        vec![(
            "ENT_IDENTITY__SERVER__MAX_CONCURRENT_REQUESTS".into(),
            "1".into(),
        )],
        true,
    )
    .await;
    // Hold the attempt counters behind the server's back, so that a call
    // counting an attempt waits, holding the only slot.
    let store = app.store().await;
    let write = store.begin_write().await.expect("transaction");
    if postgres_url().is_some() {
        write
            .txn
            .execute_unprepared("LOCK TABLE guess_counters IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");
    }
    let mut activation = app.activation();
    let blocked = tokio::spawn(async move {
        activation
            .start_activation(proto::StartActivationRequest {
                institution: "u-bordeaux-montaigne".into(),
                entry: Some(proto::start_activation_request::Entry::Key(
                    proto::KeyEntry {
                        login: "someone".into(),
                        activation_key: "AAAA-BBBB-CCCC".into(),
                    },
                )),
            })
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // A read that nothing blocks waits for the slot.
    let mut lifecycle = app.lifecycle.clone();
    let read = tokio::spawn(async move {
        lifecycle
            .list_changes(proto::ListChangesRequest::default())
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!read.is_finished(), "the read waits for the only slot");
    write.commit().await.expect("release");
    let started = blocked.await.expect("joined").unwrap_err();
    assert_eq!(started.code(), Code::InvalidArgument, "{started:?}");
    read.await
        .expect("joined")
        .expect("the read runs once the slot is free");
}

/// Finding 6 of issue 19: callers during a database restart got INTERNAL.
/// A database that goes away under a running server (PostgreSQL's
/// connections dropped and refused, or SQLite's file locked by another
/// program) is UNAVAILABLE, with a retry delay and the person's words; the
/// same call succeeds once the database is back.
#[tokio::test]
async fn a_database_lost_under_a_running_server_is_unavailable() {
    let proxy = match postgres_url() {
        Some(url) => Some((DatabaseProxy::start(host_port(&url)).await, url)),
        None => None,
    };
    let mut env = vec![
        // The readiness gate stays open: the call itself meets the outage.
        (
            "ENT_IDENTITY__DATABASE__HEALTH_CHECK_INTERVAL".to_owned(),
            "5m".to_owned(),
        ),
        (
            "ENT_IDENTITY__DATABASE__CONNECT_TIMEOUT".to_owned(),
            "1s".to_owned(),
        ),
    ];
    if let Some((proxy, url)) = &proxy {
        env.push(("ENT_IDENTITY__DATABASE__URL".into(), proxy.url_through(url)));
    }
    let app = spawn_app_with(env, true).await;
    app.provision(montpellier_staff("RH-OUT-1", "Ada", "Byron"))
        .await
        .expect("served while the database is there");
    let lock = match &proxy {
        Some((proxy, _)) => {
            proxy.cut();
            None
        }
        None => Some(lock_sqlite(&app.database.url).await),
    };
    let refused = app
        .provision(montpellier_staff("RH-OUT-2", "Grace", "Hopper"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.get_details_retry_info().is_some());
    let localized = refused
        .get_details_localized_message()
        .expect("the person's words");
    assert!(!localized.message.contains("request id"), "{localized:?}");
    match (&proxy, lock) {
        (Some((proxy, _)), _) => proxy.restore(),
        (None, Some(lock)) => unlock_sqlite(lock).await,
        (None, None) => unreachable!(),
    }
    app.provision(montpellier_staff("RH-OUT-2", "Grace", "Hopper"))
        .await
        .expect("served again once the database is back");
}

/// Holds SQLite's write lock from another connection, as another program
/// would.
async fn lock_sqlite(url: &str) -> sea_orm::DatabaseConnection {
    use sea_orm::ConnectionTrait;
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.max_connections(1).min_connections(1);
    let lock = sea_orm::Database::connect(options).await.expect("connect");
    for sql in ["BEGIN EXCLUSIVE", "CREATE TABLE outage_probe (x INTEGER)"] {
        lock.execute_unprepared(sql).await.expect(sql);
    }
    lock
}

async fn unlock_sqlite(lock: sea_orm::DatabaseConnection) {
    use sea_orm::ConnectionTrait;
    lock.execute_unprepared("ROLLBACK").await.expect("rollback");
    lock.close().await.expect("close");
}

/// Sends bytes as they are, as a program that builds its own messages does.
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawBytes;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;

    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }

    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

impl tonic::codec::Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let remaining = bytes::Buf::remaining(src);
        Ok(Some(bytes::Buf::copy_to_bytes(src, remaining).to_vec()))
    }
}

async fn raw_call(app: &TestApp, method: &'static str, message: Vec<u8>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(authed(&app.channel, "portal", None));
    grpc.ready().await.expect("ready");
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("accept-language", "fr".parse().expect("header"));
    grpc.unary(
        request,
        tonic::codegen::http::uri::PathAndQuery::from_static(method),
        RawCodec,
    )
    .await
    .expect_err("refused")
}

/// Finding 5 of issue 19: 431 malformed messages answered INTERNAL (and
/// fired the error-rate alert). Invalid UTF-8 in a string, a length that
/// runs past the end, a truncated frame and no message at all are the
/// caller's mistake: INVALID_ARGUMENT, in the person's language, counted
/// as such by the metrics.
#[tokio::test]
async fn undecodable_requests_are_invalid_arguments() {
    let app = spawn_app().await;
    const EVALUATE: &str = "/ent.identity.v1.ActivationService/EvaluatePassword";
    let cases: [(&str, Vec<u8>); 3] = [
        // field 1 (candidate, a string) holding 0xFF 0xFE
        ("invalid UTF-8", vec![0x0a, 0x02, 0xff, 0xfe]),
        // field 1 announcing 16 bytes, holding one
        ("truncated field", vec![0x0a, 0x10, 0x61]),
        // a field number 0
        ("field zero", vec![0x00, 0x01]),
    ];
    for (case, bytes) in cases {
        let status = raw_call(&app, EVALUATE, bytes).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
        let localized = status.get_details_localized_message().expect(case);
        assert_eq!(localized.locale, "fr-FR");
        assert!(localized.message.contains("illisible"), "{localized:?}");
        let violations = violations(&status);
        assert_eq!(violations.len(), 1, "{case}: {violations:?}");
    }
    // Framing the protobuf codec never sees (over gRPC-Web, as a page
    // would send it): a frame cut short, no frame at all.
    let client = reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client");
    let framing: [(&str, Vec<u8>); 2] = [
        ("truncated frame", vec![0, 0, 0, 0, 50, 0x0a, 0x01]),
        ("no message", Vec::new()),
    ];
    for (case, body) in framing {
        let answer = client
            .post(format!("http://{}{EVALUATE}", app.channel_address()))
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .header("authorization", format!("Bearer {}", test_token("portal")))
            .body(body)
            .send()
            .await
            .expect("gRPC-Web call");
        let code = answer
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(code.as_deref(), Some("3"), "{case}: {:?}", answer.headers());
    }
    // A bulk stream whose second record cannot be read: the first is
    // answered, then the stream ends with INVALID_ARGUMENT.
    let good = proto::BulkProvisionAccountsRequest {
        reissue_pending_material: false,
        correlation_id: "1".into(),
        record: Some(montpellier_staff("RH-RAW-1", "Ada", "Byron")),
    };
    let messages = vec![
        prost::Message::encode_to_vec(&good),
        vec![0x0a, 0x02, 0xff, 0xfe],
    ];
    let mut grpc = tonic::client::Grpc::new(authed(&app.channel, "admin", None));
    grpc.ready().await.expect("ready");
    let mut answers = grpc
        .streaming(
            tonic::Request::new(tokio_stream::iter(messages)),
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/ent.identity.v1.AccountLifecycleService/BulkProvisionAccounts",
            ),
            RawCodec,
        )
        .await
        .expect("stream opened")
        .into_inner();
    let first = answers.message().await.expect("first answer");
    assert!(first.is_some());
    let broken = answers.message().await.expect_err("the stream breaks");
    assert_eq!(broken.code(), Code::InvalidArgument, "{broken:?}");
    let metrics = reqwest::get(format!("http://{}/metrics", app.metrics_address))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        !metrics
            .lines()
            .any(|l| l.contains("EvaluatePassword") && l.contains("Internal")),
        "{metrics}"
    );
}
