//! The gRPC server: the five services, health (per service, NOT_SERVING until
//! the database answers and is migrated), reflection v1 and v1alpha,
//! gRPC-Web with CORS, request ids, spans and metrics, request timeouts,
//! message size limits and graceful shutdown; the metrics endpoint beside.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::server::NamedService;
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Status};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tower::limit::GlobalConcurrencyLimitLayer;

use crate::app::clock::SharedClock;
use crate::auth::{AuthLayer, Clients};
use crate::config::Settings;
use crate::proto;
use crate::proto::account_lifecycle_service_server::AccountLifecycleServiceServer;
use crate::proto::account_settings_service_server::AccountSettingsServiceServer;
use crate::proto::activation_service_server::ActivationServiceServer;
use crate::proto::guest_service_server::GuestServiceServer;
use crate::proto::helpdesk_service_server::HelpdeskServiceServer;
use crate::proto::mail_redirection_service_server::MailRedirectionServiceServer;
use crate::proto::recovery_service_server::RecoveryServiceServer;
use crate::services::App;
use crate::services::account_settings::AccountSettingsApi;
use crate::services::activation::ActivationApi;
use crate::services::guests::GuestApi;
use crate::services::helpdesk::HelpdeskApi;
use crate::services::lifecycle::LifecycleApi;
use crate::services::mail_redirection::MailRedirectionApi;
use crate::services::recovery::RecoveryApi;
use crate::store::{DatabaseKind, Store, StoreError};
use crate::telemetry::metrics::Metrics;
use crate::telemetry::rpc::RpcLayer;

/// Why the server stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error(transparent)]
    Hashing(#[from] crate::hashing::HashError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    SecretKeys(#[from] crate::secret_keys::SecretKeyFileError),
}

/// The database, hashing the secrets it issues under the server's keys
/// (their file created for a single-process SQLite deployment only).
pub async fn connect_store(settings: &Settings) -> Result<Store, ServeError> {
    let store = Store::connect(&settings.database).await?;
    let sqlite = store.kind() == crate::store::DatabaseKind::Sqlite;
    let keys = crate::secret_keys::load(&settings.secret_hashing, sqlite)?;
    Ok(store.with_secret_keys(Arc::new(keys)))
}

/// The server's TLS configuration: its identity and, for mutual TLS, the
/// CAs client certificates must chain to (a client without a certificate
/// may still connect and present a bearer token).
fn tls_config(tls: &crate::config::TlsSettings) -> Result<ServerTlsConfig, ServeError> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| ServeError::Tls(format!("{}: {e}", path.display())))
    };
    let mut config = ServerTlsConfig::new()
        .identity(Identity::from_pem(read(&tls.certificate)?, read(&tls.key)?));
    if let Some(ca) = &tls.client_ca {
        config = config
            .client_ca_root(Certificate::from_pem(read(ca)?))
            .client_auth_optional(true);
    }
    Ok(config)
}

/// The fully-qualified names of the API's services, as health reports them.
pub const SERVICE_NAMES: [&str; 7] = [
    <ActivationServiceServer<ActivationApi> as NamedService>::NAME,
    <RecoveryServiceServer<RecoveryApi> as NamedService>::NAME,
    <MailRedirectionServiceServer<MailRedirectionApi> as NamedService>::NAME,
    <AccountSettingsServiceServer<AccountSettingsApi> as NamedService>::NAME,
    <AccountLifecycleServiceServer<LifecycleApi> as NamedService>::NAME,
    <HelpdeskServiceServer<HelpdeskApi> as NamedService>::NAME,
    <GuestServiceServer<GuestApi> as NamedService>::NAME,
];

/// Refuses calls while the database is not ready.
#[derive(Clone)]
struct ReadyGate(Arc<AtomicBool>);

impl tonic::service::Interceptor for ReadyGate {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        if self.0.load(Ordering::Acquire) {
            Ok(request)
        } else {
            let language = crate::call::language_of(&request.metadata().clone().into_headers());
            Err(crate::status::unavailable(
                &crate::call::request_id(&request),
                language,
            ))
        }
    }
}

/// The health service name a liveness probe asks for: SERVING while the
/// process runs, whatever the database does (restarting the pod would not
/// bring the database back).
pub const LIVENESS_SERVICE: &str = "liveness";

async fn set_all(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        reporter.set_service_status(name, status).await;
    }
}

/// Brings the database to a servable state: reachable and migrated.
async fn prepare_database(store: &Store, settings: &Settings) -> Result<(), String> {
    store.ping().await.map_err(|e| e.to_string())?;
    let auto = settings.database.auto_migrate || store.kind() == DatabaseKind::Sqlite;
    if auto {
        store.migrate().await.map_err(|e| e.to_string())?;
    }
    match store
        .pending_migrations()
        .await
        .map_err(|e| e.to_string())?
    {
        0 => Ok(()),
        n => Err(format!(
            "{n} migration(s) pending: run `ent-identity migrate` (or set database.auto_migrate)"
        )),
    }
}

/// Keeps health and the ready gate in step with the database.
async fn watch_database(
    store: Store,
    settings: Arc<Settings>,
    reporter: HealthReporter,
    ready: Arc<AtomicBool>,
) {
    let mut migrated = false;
    loop {
        let outcome = if migrated {
            store.ping().await.map_err(|e| e.to_string())
        } else {
            prepare_database(&store, &settings).await
        };
        match outcome {
            Ok(()) => {
                migrated = true;
                if !ready.swap(true, Ordering::AcqRel) {
                    tracing::info!("database ready: serving");
                    set_all(&reporter, ServingStatus::Serving).await;
                }
            }
            Err(error) => {
                if ready.swap(false, Ordering::AcqRel) || !migrated {
                    tracing::warn!(%error, "database not ready: not serving");
                    set_all(&reporter, ServingStatus::NotServing).await;
                }
            }
        }
        tokio::time::sleep(settings.database.health_check_interval).await;
    }
}

/// Where the server listens: gRPC (and gRPC-Web), and the metrics
/// endpoint when there is one.
pub struct Listeners {
    pub grpc: TcpListener,
    pub metrics: Option<TcpListener>,
    /// Health only, in plain text: Kubernetes' gRPC probes speak neither
    /// TLS nor tokens.
    pub health: Option<TcpListener>,
}

impl Listeners {
    /// Binds `server.listen` and `metrics.listen`.
    pub async fn bind(settings: &Settings) -> Result<Listeners, String> {
        let bind = |address| async move {
            TcpListener::bind(address)
                .await
                .map_err(|e| format!("cannot listen on {address}: {e}"))
        };
        Ok(Listeners {
            grpc: bind(settings.server.listen).await?,
            metrics: match settings.metrics.listen {
                Some(address) => Some(bind(address).await?),
                None => None,
            },
            health: match settings.server.health_listen {
                Some(address) => Some(bind(address).await?),
                None => None,
            },
        })
    }
}

/// The CORS rules of gRPC-Web calls from the configured origins' pages.
fn cors(settings: &Settings) -> tower_http::cors::CorsLayer {
    use http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, HeaderName};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins = settings
        .grpc_web
        .allowed_origins
        .iter()
        .filter_map(|o| http::HeaderValue::from_str(o).ok());
    let header = HeaderName::from_static;
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([http::Method::POST])
        // What gRPC-Web clients send. No authorization: pages hold no token.
        .allow_headers([
            CONTENT_TYPE,
            ACCEPT_LANGUAGE,
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
            header(crate::call::REQUEST_ID_HEADER),
            header("traceparent"),
            header("tracestate"),
        ])
        .expose_headers([
            header("grpc-status"),
            header("grpc-message"),
            header("grpc-status-details-bin"),
            header(crate::call::REQUEST_ID_HEADER),
        ])
        .max_age(Duration::from_secs(3600))
}

/// Serves on `listeners` until `shutdown` completes, then drains running
/// calls for at most `server.shutdown_grace`.
pub async fn serve(
    settings: Arc<Settings>,
    clock: SharedClock,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let metrics = Metrics::new();
    let store = connect_store(&settings).await?;
    let state = App {
        rules: Arc::new(settings.rules()),
        store: store.clone(),
        clock: clock.clone(),
        hasher: crate::hashing::PasswordHasher::start(&settings.password_hashing)?,
    };
    // The word lists load now rather than on the first keystroke.
    crate::domain::password::words::warm_up();
    let (reporter, health_service) = tonic_health::server::health_reporter();
    set_all(&reporter, ServingStatus::NotServing).await;
    reporter
        .set_service_status(LIVENESS_SERVICE, ServingStatus::Serving)
        .await;
    let ready = Arc::new(AtomicBool::new(false));
    // This process's name on the outbox leases it takes.
    let owner: Arc<str> = Arc::from(uuid::Uuid::new_v4().to_string());
    let background = Background {
        watcher: tokio::spawn(watch_database(
            store.clone(),
            settings.clone(),
            reporter.clone(),
            ready.clone(),
        )),
        senders: spawn_senders(&settings, &store, &clock, &ready, (&metrics, &owner))?,
        health: listeners
            .health
            .map(|listener| spawn_health_endpoint(listener, health_service.clone())),
        metrics: listeners.metrics.map(|listener| {
            spawn_metrics_endpoint(listener, metrics.clone(), store.clone(), clock)
        }),
    };
    let routes = api_routes(state, &settings, health_service, ReadyGate(ready))?;
    let stop = Stop { shutdown, reporter };
    let result = serve_routes(listeners.grpc, &settings, metrics, routes, stop).await;
    background.abort();
    // What this process claimed and did not send goes back at once: another
    // replica sends it now, not when the lease runs out.
    match store.release_claims(&owner).await {
        Ok(released) if released > 0 => tracing::info!(released, "outbox leases given back"),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot give back outbox leases"),
    }
    store.close().await?;
    result
}

/// What runs beside the API while it serves.
struct Background {
    watcher: tokio::task::JoinHandle<()>,
    senders: [tokio::task::JoinHandle<()>; 2],
    health: Option<tokio::task::JoinHandle<()>>,
    metrics: Option<tokio::task::JoinHandle<()>>,
}

impl Background {
    fn abort(self) {
        self.watcher.abort();
        // A message being sent when its sender stops is given back with the
        // others (`release_claims`) and sent again: delivery is at least
        // once.
        for task in self.senders {
            task.abort();
        }
        for endpoint in [self.metrics, self.health].into_iter().flatten() {
            endpoint.abort();
        }
    }
}

/// The outbox's mail and SMS senders.
fn spawn_senders(
    settings: &Settings,
    store: &Store,
    clock: &SharedClock,
    ready: &Arc<AtomicBool>,
    (metrics, owner): (&Metrics, &Arc<str>),
) -> Result<[tokio::task::JoinHandle<()>; 2], ServeError> {
    let mailer = Arc::new(crate::mail::Mailer::from_settings(&settings.mail)?);
    let signatures = Arc::new(crate::mail::signatures(settings));
    let sms = Arc::new(crate::mail::sms::SmsSender::from_settings(&settings.sms)?);
    let sender = |outlet| {
        let context = crate::mail::SenderContext {
            store: store.clone(),
            clock: clock.clone(),
            settings: settings.mail.clone(),
            ready: ready.clone(),
            metrics: metrics.clone(),
            owner: owner.clone(),
            signatures: signatures.clone(),
        };
        tokio::spawn(crate::mail::run_sender(outlet, context))
    };
    Ok([
        sender(crate::mail::Outlet::Mail(mailer)),
        sender(crate::mail::Outlet::Sms(sms)),
    ])
}

/// The plain-text health-only listener for Kubernetes' probes.
fn spawn_health_endpoint(
    listener: TcpListener,
    health_service: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
) -> tokio::task::JoinHandle<()> {
    tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "health endpoint listening");
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let serving = tonic::transport::Server::builder()
        .add_service(health_service)
        .serve_with_incoming(incoming);
    tokio::spawn(async move {
        if let Err(error) = serving.await {
            tracing::error!(%error, "health endpoint stopped");
        }
    })
}

/// The Prometheus endpoint.
fn spawn_metrics_endpoint(
    listener: TcpListener,
    metrics: Metrics,
    store: Store,
    clock: SharedClock,
) -> tokio::task::JoinHandle<()> {
    tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "metrics endpoint listening");
    let serving = crate::telemetry::metrics::serve_metrics(
        listener,
        metrics,
        store,
        clock,
        std::future::pending(),
    );
    tokio::spawn(async move {
        if let Err(error) = serving.await {
            tracing::error!(%error, "metrics endpoint stopped");
        }
    })
}

/// Every service the API listener answers: health, reflection and the
/// five API services behind the readiness gate.
fn api_routes(
    state: App,
    settings: &Settings,
    health_service: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    gate: ReadyGate,
) -> Result<tonic::service::Routes, ServeError> {
    // Both reflection versions (older grpcurl speaks only v1alpha), with the
    // health service and google.rpc error details so clients can decode them.
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let limit = settings.server.max_message_bytes;
    macro_rules! api {
        ($server:ident, $api:expr) => {
            InterceptedService::new(
                $server::new($api)
                    .max_decoding_message_size(limit)
                    .max_encoding_message_size(limit),
                gate.clone(),
            )
        };
    }
    Ok(tonic::service::Routes::new(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(api!(
            ActivationServiceServer,
            ActivationApi::new(state.clone())
        ))
        .add_service(api!(RecoveryServiceServer, RecoveryApi::new(state.clone())))
        .add_service(api!(
            MailRedirectionServiceServer,
            MailRedirectionApi::new(state.clone())
        ))
        .add_service(api!(
            AccountSettingsServiceServer,
            AccountSettingsApi::new(state.clone())
        ))
        .add_service(api!(HelpdeskServiceServer, HelpdeskApi::new(state.clone())))
        .add_service(api!(GuestServiceServer, GuestApi::new(state.clone())))
        .add_service(api!(
            AccountLifecycleServiceServer,
            LifecycleApi::new(state, settings.server.request_timeout)
        )))
}

/// The HTTP/2 flow-control window of one stream, in bytes; a connection's
/// is sixteen times larger.
///
/// hyper's HTTP/2 cuts a connection (GOAWAY too_many_data_frames) whose
/// small DATA frames, unread, cost more framing than half its connection
/// window. A bulk stream from a client that frames each record on its own
/// (~80 bytes) piles up to a stream window of them while a chunk is
/// written: 1 MiB of them was 12,000 frames, 2 MiB of overhead against
/// 512 KiB allowed. A stream window of 256 KiB (3,200 records, six chunks
/// ahead) under a 4 MiB connection window (2 MiB allowed) holds records of
/// 30 bytes and more.
const BULK_STREAM_WINDOW: u32 = 256 * 1024;

/// When to stop serving, and the health service to tell.
struct Stop<F> {
    shutdown: F,
    reporter: HealthReporter,
}

/// Serves `routes` behind the layers every call goes through, until
/// `stop.shutdown`; then drains running calls for the grace period.
async fn serve_routes(
    listener: TcpListener,
    settings: &Settings,
    metrics: Metrics,
    routes: tonic::service::Routes,
    stop: Stop<impl Future<Output = ()> + Send + 'static>,
) -> Result<(), ServeError> {
    let Stop { shutdown, reporter } = stop;
    let draining = Arc::new(tokio::sync::Notify::new());
    let signal = {
        let draining = draining.clone();
        async move {
            shutdown.await;
            tracing::info!("shutting down: draining running calls");
            set_all(&reporter, ServingStatus::NotServing).await;
            draining.notify_one();
        }
    };
    let mut builder = tonic::transport::Server::builder().accept_http1(settings.grpc_web.enabled);
    if let Some(tls) = &settings.server.tls {
        builder = builder.tls_config(tls_config(tls)?)?;
    }
    let router = builder
        // The concurrency limit is outermost: a slot is taken when a call
        // is ready and given back when its answer completes, refusals
        // included. (Inside the authentication layer, a refused call would
        // keep the slot it reserved while its connection idles.)
        //
        // Outside it all: CORS and gRPC-Web's translation, so that every
        // layer below sees gRPC; then the request id, span and metrics,
        // which see every call, refused ones included.
        .layer(
            tower::ServiceBuilder::new()
                .option_layer(settings.grpc_web.enabled.then(|| cors(settings)))
                .option_layer(settings.grpc_web.enabled.then(tonic_web::GrpcWebLayer::new))
                .layer(RpcLayer::new(metrics))
                .layer(crate::status::UndecodableLayer)
                .layer(GlobalConcurrencyLimitLayer::new(
                    settings.server.max_concurrent_requests,
                ))
                .layer(AuthLayer::new(Clients::from_settings(
                    &settings.auth,
                    &settings.grpc_web,
                ))),
        )
        .timeout(settings.server.request_timeout)
        .concurrency_limit_per_connection(settings.server.concurrency_limit_per_connection)
        .max_concurrent_streams(Some(
            u32::try_from(settings.server.concurrency_limit_per_connection).unwrap_or(u32::MAX),
        ))
        .initial_stream_window_size(Some(BULK_STREAM_WINDOW))
        .initial_connection_window_size(Some(BULK_STREAM_WINDOW * 16))
        // Metadata is small here (a token, a request id, a language).
        .http2_max_header_list_size(Some(16 * 1024))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .add_routes(routes);
    tracing::info!(address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "listening");
    let grace = settings.server.shutdown_grace;
    // With an incoming stream tonic leaves the sockets as accepted: without
    // TCP_NODELAY, an answer written in two segments waits for the client's
    // delayed ACK (40 ms per call).
    let incoming = tonic::transport::server::TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(60)));
    let served = router.serve_with_incoming_shutdown(incoming, signal);
    tokio::select! {
        result = served => result.map_err(ServeError::from),
        () = async { draining.notified().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(?grace, "grace period over: abandoning running calls");
            Ok(())
        }
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
