//! The outermost gRPC layer (inside gRPC-Web's translation): every call gets
//! its request id (the caller's `x-request-id`, or a new one, written back
//! into the request for the layers and handlers below and echoed in the
//! answer), a span `grpc` that continues the caller's W3C trace
//! (`traceparent`) when there is one, a log line when it ends, and its
//! place in the RPC metrics, status code included — read from the
//! trailers, so streaming calls are counted when they end.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::HeaderValue;
use http_body::Frame;
use tracing::Instrument;

use super::metrics::{Metrics, RpcMethod, code_name};
use crate::call::{REQUEST_ID_HEADER, request_id_of};

/// The span of one call, at `level`. `client`, the status and the
/// OpenTelemetry status are filled in as the call goes.
macro_rules! rpc_span {
    ($level:expr, $method:expr, $request_id:expr) => {
        tracing::span!(
            $level,
            "grpc",
            otel.name = %format_args!("{}/{}", $method.service, $method.method),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = "grpc",
            rpc.service = $method.service,
            rpc.method = $method.method,
            rpc.grpc.status_code = tracing::field::Empty,
            request_id = %$request_id,
            client = tracing::field::Empty,
            server.address = tracing::field::Empty,
            server.port = tracing::field::Empty,
            network.peer.address = tracing::field::Empty,
            network.peer.port = tracing::field::Empty,
        )
    };
}

/// The streaming methods and their go-grpc-prometheus `grpc_type` (the rest
/// are unary; a unit test holds this list to the protos).
const STREAMING: [(&str, &str, &str); 5] = [
    (
        "ent.identity.v1.AccountLifecycleService",
        "BulkProvisionAccounts",
        "bidi_stream",
    ),
    (
        "ent.identity.v1.AccountLifecycleService",
        "WatchChanges",
        "server_stream",
    ),
    ("grpc.health.v1.Health", "Watch", "server_stream"),
    (
        "grpc.reflection.v1.ServerReflection",
        "ServerReflectionInfo",
        "bidi_stream",
    ),
    (
        "grpc.reflection.v1alpha.ServerReflection",
        "ServerReflectionInfo",
        "bidi_stream",
    ),
];

/// The method of a path, when the server knows it (metric labels stay
/// bounded whatever paths callers send).
fn method_of(path: &str) -> RpcMethod {
    match crate::auth::entry_of(path) {
        Some((service, method, _)) => RpcMethod {
            service,
            method,
            kind: STREAMING
                .iter()
                .find(|(s, m, _)| s == service && m == method)
                .map_or("unary", |(_, _, kind)| kind),
        },
        None => RpcMethod {
            service: "unknown",
            method: "unknown",
            kind: "unary",
        },
    }
}

/// Probes and tooling call these all day: their spans and log lines are at
/// DEBUG, not INFO.
fn is_infrastructure(method: &RpcMethod) -> bool {
    method.service.starts_with("grpc.")
}

/// The layer; see the module's documentation.
#[derive(Clone)]
pub struct RpcLayer {
    metrics: Metrics,
}

impl RpcLayer {
    pub fn new(metrics: Metrics) -> RpcLayer {
        RpcLayer { metrics }
    }
}

impl<S> tower::Layer<S> for RpcLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            metrics: self.metrics.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct Observe<S> {
    metrics: Metrics,
    inner: S,
}

/// Records on the call's span where it came in and from where (the
/// connection's addresses, which tonic puts in the request's extensions).
/// A browser's call (an ENT page over gRPC-Web) comes from a person's
/// address, which is personal data: traces keep no more of the person than
/// the account id (issue 29), so its peer is left out.
fn record_connection(span: &tracing::Span, request: &http::Request<impl Sized>) {
    let extensions = request.extensions();
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let tcp = extensions.get::<TcpConnectInfo>().or_else(|| {
        extensions
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .map(TlsConnectInfo::get_ref)
    });
    let Some(tcp) = tcp else { return };
    if let Some(local) = tcp.local_addr() {
        span.record("server.address", local.ip().to_string());
        span.record("server.port", i64::from(local.port()));
    }
    if let Some(peer) = tcp
        .remote_addr()
        .filter(|_| !from_browser(request.headers()))
    {
        span.record("network.peer.address", peer.ip().to_string());
        span.record("network.peer.port", i64::from(peer.port()));
    }
}

/// Whether a call comes from a page in a browser: browsers send `origin`
/// on every cross-origin call, gRPC-Web clients `x-grpc-web`.
fn from_browser(headers: &http::HeaderMap) -> bool {
    headers.contains_key(http::header::ORIGIN)
        || headers.contains_key("x-grpc-web")
        || headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc-web"))
}

/// Reads the W3C trace context of a call's headers.
struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

impl<S, B> tower::Service<http::Request<B>> for Observe<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let method = method_of(request.uri().path());
        let request_id = request_id_of(request.headers());
        let request_id_value = HeaderValue::from_str(&request_id).ok();
        if let Some(value) = &request_id_value {
            request
                .headers_mut()
                .insert(REQUEST_ID_HEADER, value.clone());
        }
        let span = if is_infrastructure(&method) {
            rpc_span!(tracing::Level::DEBUG, method, request_id)
        } else {
            rpc_span!(tracing::Level::INFO, method, request_id)
        };
        record_connection(&span, &request);
        if request.headers().contains_key("traceparent") {
            use tracing_opentelemetry::OpenTelemetrySpanExt;
            let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
                propagator.extract(&HeaderExtractor(request.headers()))
            });
            let _ = span.set_parent(parent);
        }
        self.metrics.rpc_started(method);
        // Entered while the layers below take the call, so that they (the
        // authentication layer naming the client) record on this span.
        let future = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        let ending = Ending {
            metrics: self.metrics.clone(),
            method,
            started,
            span: span.clone(),
        };
        Box::pin(
            async move {
                match future.await {
                    Ok(mut response) => {
                        if let Some(value) = request_id_value {
                            response
                                .headers_mut()
                                .entry(REQUEST_ID_HEADER)
                                .or_insert(value);
                        }
                        // A trailers-only answer (most errors) carries its
                        // status in the headers.
                        if let Some(code) = status_in(response.headers()) {
                            ending.finish(code);
                            return Ok(response);
                        }
                        Ok(response.map(|body| {
                            tonic::body::Body::new(ObservedBody {
                                inner: body,
                                ending: Some(ending),
                            })
                        }))
                    }
                    Err(error) => {
                        ending.finish(tonic::Code::Internal);
                        Err(error)
                    }
                }
            }
            .instrument(span),
        )
    }
}

use crate::status::status_in;

/// Records a call's end, once.
struct Ending {
    metrics: Metrics,
    method: RpcMethod,
    started: Instant,
    span: tracing::Span,
}

impl Ending {
    fn finish(self, code: tonic::Code) {
        let elapsed = self.started.elapsed();
        self.metrics.rpc_handled(self.method, code, elapsed);
        self.span.record("rpc.grpc.status_code", code as i32);
        // OpenTelemetry's rule for servers: only these codes are errors of
        // the server; the caller's mistakes are not.
        if matches!(
            code,
            tonic::Code::Unknown
                | tonic::Code::DeadlineExceeded
                | tonic::Code::Unimplemented
                | tonic::Code::Internal
                | tonic::Code::Unavailable
                | tonic::Code::DataLoss
        ) {
            self.span.record("otel.status_code", "ERROR");
        }
        log_end(&self.span, &self.method, code, elapsed);
    }
}

fn log_end(span: &tracing::Span, method: &RpcMethod, code: tonic::Code, elapsed: Duration) {
    let code = code_name(code);
    let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
    if is_infrastructure(method) {
        tracing::debug!(parent: span, code, elapsed_ms, "call ended");
    } else {
        tracing::info!(parent: span, code, elapsed_ms, "call ended");
    }
}

/// A response body that records the call's end when its trailers pass, or
/// when it is dropped unfinished (the caller went away).
struct ObservedBody {
    inner: tonic::body::Body,
    ending: Option<Ending>,
}

impl http_body::Body for ObservedBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(code) = frame.trailers_ref().and_then(status_in)
                    && let Some(ending) = self.ending.take()
                {
                    ending.finish(code);
                }
            }
            Poll::Ready(Some(Err(status))) => {
                if let Some(ending) = self.ending.take() {
                    ending.finish(status.code());
                }
            }
            Poll::Ready(None) => {
                if let Some(ending) = self.ending.take() {
                    // A body that ends without a status broke the protocol.
                    ending.finish(tonic::Code::Unknown);
                }
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        if let Some(ending) = self.ending.take() {
            ending.finish(tonic::Code::Cancelled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_named_from_the_access_table_only() {
        let m = method_of("/ent.identity.v1.ActivationService/StartActivation");
        assert_eq!(
            (m.service, m.method, m.kind),
            (
                "ent.identity.v1.ActivationService",
                "StartActivation",
                "unary"
            )
        );
        let m = method_of("/ent.identity.v1.AccountLifecycleService/WatchChanges");
        assert_eq!(m.kind, "server_stream");
        // The streaming list agrees with the protos.
        use prost::Message;
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!("/{}.{}/{}", file.package(), service.name(), method.name());
                    let expected = match (method.client_streaming(), method.server_streaming()) {
                        (true, true) => "bidi_stream",
                        (true, false) => "client_stream",
                        (false, true) => "server_stream",
                        (false, false) => "unary",
                    };
                    assert_eq!(method_of(&path).kind, expected, "{path}");
                }
            }
        }
        for path in ["/", "/x/y", "/ent.identity.v1.ActivationService/Nope", ""] {
            let m = method_of(path);
            assert_eq!((m.service, m.method), ("unknown", "unknown"), "{path}");
        }
    }

    #[test]
    fn a_browsers_call_is_told_by_its_headers() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut map = http::HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, http::HeaderValue::from_static(value));
            }
            map
        };
        assert!(from_browser(&headers(&[(
            "origin",
            "https://ent.example.fr"
        )])));
        assert!(from_browser(&headers(&[("x-grpc-web", "1")])));
        assert!(from_browser(&headers(&[(
            "content-type",
            "application/grpc-web+proto"
        )])));
        assert!(!from_browser(&headers(&[(
            "content-type",
            "application/grpc"
        )])));
    }
}
