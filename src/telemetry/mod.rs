//! Logs, traces and metrics. Logs: text or JSON lines on stderr, filtered
//! by `log.filter` (or `RUST_LOG`). Traces: one span per call ([`rpc`]) and
//! the spans under it, filtered by `telemetry.filter`, exported over
//! OTLP/gRPC when `telemetry.otlp_endpoint` is set. Metrics: [`metrics`]. Secrets
//! never reach either: handlers are instrumented with `skip_all` and record
//! only the request id.

pub mod metrics;
pub mod rpc;

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, LogSettings, TelemetrySettings};

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[error("telemetry.otlp_endpoint: {0}")]
pub struct TelemetryError(String);

/// Installed telemetry; flush it with [`Telemetry::shutdown`] before exit.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(error) = provider.shutdown()
        {
            eprintln!("ent-identity: cannot flush traces: {error}");
        }
    }
}

/// Installs the global subscriber. Must run inside the tokio runtime when
/// traces are exported. A second call installs nothing.
pub fn init(log: &LogSettings, telemetry: &TelemetrySettings) -> Result<Telemetry, TelemetryError> {
    // Logs and traces are filtered apart: quiet logs (warn) still export
    // every call's span.
    let log_filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(true);
    let fmt = match log.format {
        LogFormat::Text => fmt.with_ansi(std::io::stderr().is_terminal()).boxed(),
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
    }
    .with_filter(log_filter);
    let (otel, provider) = if telemetry.otlp_endpoint.is_empty() {
        (None, None)
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(telemetry.otlp_endpoint.clone())
            .build()
            .map_err(|e| TelemetryError(e.to_string()))?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(
                opentelemetry_sdk::Resource::builder()
                    .with_service_name(telemetry.service_name.clone())
                    .build(),
            )
            .build();
        let tracer = provider.tracer("ent-identity");
        // Calls carrying a W3C `traceparent` continue their caller's trace.
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        let trace_filter =
            EnvFilter::try_new(&telemetry.filter).unwrap_or_else(|_| EnvFilter::new("info"));
        (
            Some(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer)
                    .with_filter(trace_filter),
            ),
            Some(provider),
        )
    };
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init();
    Ok(Telemetry { provider })
}
