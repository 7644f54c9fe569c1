//! The metrics operators watch, in the Prometheus text format on
//! `metrics.listen` (`GET /metrics`): every RPC by method and status code
//! (named as go-grpc-prometheus names them, so existing gRPC dashboards
//! work), the outbox's backlog and delivery failures, and the expiry
//! batch's latest runs. The outbox and batch figures are read from the
//! database at each scrape: they describe what every replica (and the
//! batch's own short-lived process) did, not only this server.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::store::Store;
use crate::store::outbox::Channel;

/// Seconds an RPC took: from 1 ms (a cached read) to 30 s (the request
/// timeout's default).
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How far back the batch's runs are read: older runs say nothing useful
/// about a nightly job.
const BATCH_HISTORY: chrono::Duration = chrono::Duration::days(35);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    grpc_type: &'static str,
    grpc_service: &'static str,
    grpc_method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HandledLabels {
    grpc_type: &'static str,
    grpc_service: &'static str,
    grpc_method: &'static str,
    grpc_code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabels {
    channel: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    channel: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StepLabels {
    scope: String,
    step: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// What happened to one delivery attempt of an outbox message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent,
    /// Failed; tried again later.
    Retried,
    /// Failed for the last time (or refused for good).
    GivenUp,
}

impl DeliveryOutcome {
    fn label(self) -> &'static str {
        match self {
            DeliveryOutcome::Sent => "sent",
            DeliveryOutcome::Retried => "retried",
            DeliveryOutcome::GivenUp => "given_up",
        }
    }
}

/// One RPC as the metrics see it: its method and whether it streams.
#[derive(Debug, Clone, Copy)]
pub struct RpcMethod {
    pub service: &'static str,
    pub method: &'static str,
    /// go-grpc-prometheus' `grpc_type`: `unary` or `server_stream`.
    pub kind: &'static str,
}

struct Inner {
    registry: Registry,
    started: Family<MethodLabels, Counter>,
    handled: Family<HandledLabels, Counter>,
    handling: Family<MethodLabels, Histogram, fn() -> Histogram>,
    deliveries: Family<DeliveryLabels, Counter>,
    outbox_pending: Family<ChannelLabels, Gauge>,
    outbox_oldest_age: Family<ChannelLabels, FloatGauge>,
    outbox_given_up: Family<ChannelLabels, Gauge>,
    batch_last_run: Family<ScopeLabels, FloatGauge>,
    batch_last_complete_run: Family<ScopeLabels, FloatGauge>,
    batch_last_run_complete: Family<ScopeLabels, Gauge>,
    batch_last_run_accounts: Family<StepLabels, Gauge>,
    scrape_errors: Counter,
}

impl Inner {
    /// The go-grpc-prometheus names, for every call.
    fn register_rpc(&self, registry: &mut Registry) {
        registry.register(
            "grpc_server_started",
            "RPCs started on the server",
            self.started.clone(),
        );
        registry.register(
            "grpc_server_handled",
            "RPCs completed on the server, by status code",
            self.handled.clone(),
        );
        registry.register(
            "grpc_server_handling_seconds",
            "Time from an RPC's arrival to its last byte (its status)",
            self.handling.clone(),
        );
    }

    /// Mail and SMS: this server's deliveries, every replica's backlog.
    fn register_outbox(&self, registry: &mut Registry) {
        registry.register(
            "ent_identity_outbox_deliveries",
            "Delivery attempts of mail and SMS by this server, by outcome",
            self.deliveries.clone(),
        );
        registry.register(
            "ent_identity_outbox_pending_messages",
            "Messages waiting for delivery (due or in retry backoff), all replicas",
            self.outbox_pending.clone(),
        );
        registry.register(
            "ent_identity_outbox_oldest_pending_age_seconds",
            "Age of the oldest message waiting for delivery (0: none waits)",
            self.outbox_oldest_age.clone(),
        );
        registry.register(
            "ent_identity_outbox_given_up_messages",
            "Messages whose delivery was given up, kept in the outbox",
            self.outbox_given_up.clone(),
        );
    }

    /// The expiry batch's latest runs, and scrapes that could not read them.
    fn register_batch(&self, registry: &mut Registry) {
        registry.register(
            "ent_identity_batch_last_run_timestamp_seconds",
            "When the expiry batch's latest run finished (Unix time), per scope (an institution or *)",
            self.batch_last_run.clone(),
        );
        registry.register(
            "ent_identity_batch_last_complete_run_timestamp_seconds",
            "When the expiry batch's latest complete run (not stopped by max_chunks) finished",
            self.batch_last_complete_run.clone(),
        );
        registry.register(
            "ent_identity_batch_last_run_complete",
            "1 when the latest run went through every due account, 0 when max_chunks stopped it",
            self.batch_last_run_complete.clone(),
        );
        registry.register(
            "ent_identity_batch_last_run_accounts",
            "Accounts the latest run handled, per step",
            self.batch_last_run_accounts.clone(),
        );
        registry.register(
            "ent_identity_metrics_database_errors",
            "Scrapes whose outbox and batch figures could not be read from the database",
            self.scrape_errors.clone(),
        );
    }
}

/// The server's metrics; cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut inner = Inner {
            registry: Registry::default(),
            started: Family::<MethodLabels, Counter>::default(),
            handled: Family::<HandledLabels, Counter>::default(),
            handling: Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                latency_histogram,
            ),
            deliveries: Family::<DeliveryLabels, Counter>::default(),
            outbox_pending: Family::<ChannelLabels, Gauge>::default(),
            outbox_oldest_age: Family::<ChannelLabels, FloatGauge>::default(),
            outbox_given_up: Family::<ChannelLabels, Gauge>::default(),
            batch_last_run: Family::<ScopeLabels, FloatGauge>::default(),
            batch_last_complete_run: Family::<ScopeLabels, FloatGauge>::default(),
            batch_last_run_complete: Family::<ScopeLabels, Gauge>::default(),
            batch_last_run_accounts: Family::<StepLabels, Gauge>::default(),
            scrape_errors: Counter::default(),
        };
        let mut registry = Registry::default();
        inner.register_rpc(&mut registry);
        inner.register_outbox(&mut registry);
        inner.register_batch(&mut registry);
        let build_info = Family::<Vec<(&'static str, &'static str)>, Gauge>::default();
        build_info
            .get_or_create(&vec![("version", env!("CARGO_PKG_VERSION"))])
            .set(1);
        registry.register("ent_identity_build_info", "The running version", build_info);
        inner.registry = registry;
        Metrics(Arc::new(inner))
    }

    fn method_labels(method: RpcMethod) -> MethodLabels {
        MethodLabels {
            grpc_type: method.kind,
            grpc_service: method.service,
            grpc_method: method.method,
        }
    }

    /// An RPC arrived.
    pub fn rpc_started(&self, method: RpcMethod) {
        self.0
            .started
            .get_or_create(&Self::method_labels(method))
            .inc();
    }

    /// An RPC ended with `code` after `elapsed`.
    pub fn rpc_handled(&self, method: RpcMethod, code: tonic::Code, elapsed: Duration) {
        self.0
            .handled
            .get_or_create(&HandledLabels {
                grpc_type: method.kind,
                grpc_service: method.service,
                grpc_method: method.method,
                grpc_code: code_name(code),
            })
            .inc();
        self.0
            .handling
            .get_or_create(&Self::method_labels(method))
            .observe(elapsed.as_secs_f64());
    }

    /// This server tried to deliver a message.
    pub fn delivery(&self, channel: Channel, outcome: DeliveryOutcome) {
        self.0
            .deliveries
            .get_or_create(&DeliveryLabels {
                channel: channel.as_str(),
                outcome: outcome.label(),
            })
            .inc();
    }

    /// The metrics in the Prometheus text format, with the outbox and batch
    /// figures read from `store` as of `now`.
    pub async fn render(&self, store: &Store, now: DateTime<Utc>) -> String {
        if let Err(error) = self.refresh(store, now).await {
            self.0.scrape_errors.inc();
            tracing::warn!(%error, "metrics: cannot read the outbox and batch figures");
        }
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.0.registry) {
            tracing::error!(%error, "metrics: cannot encode");
        }
        text
    }

    async fn refresh(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<(), crate::store::StoreError> {
        let inner = &self.0;
        for channel in Channel::ALL {
            let backlog = store.outbox_backlog(channel).await?;
            let labels = ChannelLabels {
                channel: channel.as_str(),
            };
            inner
                .outbox_pending
                .get_or_create(&labels)
                .set(i64::try_from(backlog.pending).unwrap_or(i64::MAX));
            inner
                .outbox_given_up
                .get_or_create(&labels)
                .set(i64::try_from(backlog.given_up).unwrap_or(i64::MAX));
            let age = backlog
                .oldest_pending_at
                .map_or(0.0, |at| seconds(now - at).max(0.0));
            inner.outbox_oldest_age.get_or_create(&labels).set(age);
        }
        for scope in store.latest_batch_runs(now - BATCH_HISTORY).await? {
            let run = &scope.last;
            let labels = ScopeLabels {
                scope: run.scope.clone(),
            };
            inner
                .batch_last_run
                .get_or_create(&labels)
                .set(unix_seconds(run.finished_at));
            if let Some(at) = scope.last_complete_at {
                inner
                    .batch_last_complete_run
                    .get_or_create(&labels)
                    .set(unix_seconds(at));
            }
            inner
                .batch_last_run_complete
                .get_or_create(&labels)
                .set(i64::from(run.complete));
            for (step, count) in run.counts.by_step() {
                inner
                    .batch_last_run_accounts
                    .get_or_create(&StepLabels {
                        scope: run.scope.clone(),
                        step,
                    })
                    .set(i64::from(count));
            }
        }
        Ok(())
    }
}

fn seconds(duration: chrono::Duration) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}

fn unix_seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}

/// A status code as gRPC's own libraries spell it (`OK`, `InvalidArgument`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    metrics: Metrics,
    store: Store,
    clock: crate::app::clock::SharedClock,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::http::header::{ACCEPT, CONTENT_TYPE};
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            let (metrics, store, clock) = (metrics.clone(), store.clone(), clock.clone());
            async move {
                let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
                let format = formats::Exposition::negotiate(accept);
                let body = metrics.render(&store, clock.now()).await;
                ([(CONTENT_TYPE, format.content_type())], format.body(body))
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
