//! What the worker tells Prometheus and the orchestrator: changes applied,
//! failures by LDAP result code, lag in changes and seconds, whether it
//! stands by; `/healthz` (the process runs) and `/readyz` (its last pass
//! succeeded).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Why a pass failed, as a label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// The LDAP result code (`16`, `65`...), `unreachable` or `api`.
    pub reason: String,
}

/// The worker's metrics, shared with the HTTP endpoint.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    applied: Counter,
    failures: Family<FailureLabels, Counter>,
    lag_changes: Gauge,
    lag_seconds: Gauge,
    standby: Gauge,
    ready: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ldap_sync");
        let applied = Counter::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let (lag_changes, lag_seconds, standby) =
            (Gauge::default(), Gauge::default(), Gauge::default());
        registry.register(
            "changes_applied",
            "Feed changes applied to the directory",
            applied.clone(),
        );
        registry.register(
            "failures",
            "Passes that failed, by LDAP result code (or unreachable, api)",
            failures.clone(),
        );
        registry.register(
            "lag_changes",
            "Changes of the feed not yet applied",
            lag_changes.clone(),
        );
        registry.register(
            "lag_seconds",
            "Age of the oldest change not yet applied (0 when caught up)",
            lag_seconds.clone(),
        );
        registry.register(
            "standby",
            "1 while another worker holds the directory's lease",
            standby.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            applied,
            failures,
            lag_changes,
            lag_seconds,
            standby,
            ready: AtomicBool::new(false),
        }))
    }

    pub fn applied(&self) {
        self.0.applied.inc();
    }

    pub fn failed(&self, reason: String) {
        self.0
            .failures
            .get_or_create(&FailureLabels { reason })
            .inc();
        self.0.ready.store(false, Ordering::Relaxed);
    }

    /// After a pass: how far behind the feed, and whether standing by.
    pub fn pass(&self, lag_changes: i64, lag_seconds: i64, standby: bool) {
        self.0.lag_changes.set(lag_changes.max(0));
        self.0.lag_seconds.set(lag_seconds.max(0));
        self.0.standby.set(i64::from(standby));
        self.0.ready.store(true, Ordering::Relaxed);
    }

    pub fn ready(&self) -> bool {
        self.0.ready.load(Ordering::Relaxed)
    }

    /// The exposition, in OpenMetrics.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.0.registry).is_err() {
            text.clear();
        }
        text
    }

    /// `/metrics` (in the format the scrape's `Accept` asks for),
    /// `/healthz`, `/readyz`.
    pub fn router(&self) -> Router {
        let (metrics, ready) = (self.clone(), self.clone());
        Router::new()
            .route(
                "/metrics",
                get(move |headers: axum::http::HeaderMap| async move {
                    let accept = headers
                        .get(axum::http::header::ACCEPT)
                        .and_then(|v| v.to_str().ok());
                    let format = formats::Exposition::negotiate(accept);
                    let body = format.body(metrics.encode());
                    (
                        [(axum::http::header::CONTENT_TYPE, format.content_type())],
                        body,
                    )
                }),
            )
            .route("/healthz", get(|| async { "ok" }))
            .route(
                "/readyz",
                get(move || async move {
                    if ready.ready() {
                        (StatusCode::OK, "ready")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not applying the feed")
                    }
                }),
            )
    }
}
