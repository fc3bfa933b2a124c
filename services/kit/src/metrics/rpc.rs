//! Counts and latency of every RPC a server frame answers, by method and gRPC status code:
//! `mynafleet_grpc_server_handled_total` and `mynafleet_grpc_server_handling_seconds`. The
//! code is read where gRPC puts it: the response headers (trailers-only answers, which is
//! how refusals leave) or the trailers at the end of the body. A stream counts when it
//! ends; a body dropped before its end counts as CANCELLED. Only methods of services the
//! server serves become labels; any other path is `other`, so callers cannot mint series.

use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

/// The layer the server frame adds: `service` is the label value, `known` the fully
/// qualified gRPC service names whose methods are labelled by name.
#[derive(Clone, Debug)]
pub struct RpcMetricsLayer {
    service: &'static str,
    known: Arc<[&'static str]>,
}

impl RpcMetricsLayer {
    /// Returns the layer for `service`, labelling methods of the `known` gRPC services.
    pub fn new(service: &'static str, known: &[&'static str]) -> Self {
        Self {
            service,
            known: known.into(),
        }
    }
}

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RpcMetricsLayer`] wraps around a server's routes.
#[derive(Clone, Debug)]
pub struct RpcMetrics<S> {
    inner: S,
    layer: RpcMetricsLayer,
}

impl<S, B, RB> tower::Service<Request<B>> for RpcMetrics<S>
where
    S: tower::Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    RB: Body,
{
    type Response = Response<MeteredBody<RB>>;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let finish = Finish {
            service: self.layer.service,
            method: method_label(req.uri().path(), &self.layer.known),
            start: Instant::now(),
            header_code: None,
        };
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            let (parts, body) = res.into_parts();
            let mut finish = finish;
            finish.header_code = grpc_status(&parts.headers);
            Ok(Response::from_parts(
                parts,
                MeteredBody {
                    inner: Box::pin(body),
                    finish: Some(finish),
                },
            ))
        })
    }
}

/// A response body that records its RPC once, when it ends (or is dropped).
#[derive(Debug)]
pub struct MeteredBody<B> {
    inner: Pin<Box<B>>,
    finish: Option<Finish>,
}

#[derive(Debug)]
struct Finish {
    service: &'static str,
    method: String,
    start: Instant,
    header_code: Option<i32>,
}

impl Finish {
    fn record(self, code: i32) {
        let labels = [
            ("service", self.service.to_owned()),
            ("method", self.method),
            ("code", code_name(code).to_owned()),
        ];
        metrics::counter!("mynafleet_grpc_server_handled_total", &labels).increment(1);
        metrics::histogram!("mynafleet_grpc_server_handling_seconds", &labels)
            .record(self.start.elapsed().as_secs_f64());
    }
}

impl<B> MeteredBody<B> {
    fn end(&mut self, trailer_code: Option<i32>) {
        if let Some(f) = self.finish.take() {
            // No status anywhere is not a gRPC answer a client can use: UNKNOWN.
            let code = trailer_code.or(f.header_code).unwrap_or(2);
            f.record(code);
        }
    }
}

impl<B> Drop for MeteredBody<B> {
    fn drop(&mut self) {
        if let Some(f) = self.finish.take() {
            // Headers that carried the status already answered the call (trailers-only).
            let code = f.header_code.unwrap_or(1);
            f.record(code);
        }
    }
}

impl<B: Body> Body for MeteredBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = this.inner.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = grpc_status(trailers);
                    this.end(code);
                }
            }
            Poll::Ready(Some(Err(_))) => this.end(Some(2)),
            Poll::Ready(None) => this.end(None),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn grpc_status(headers: &HeaderMap) -> Option<i32> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// `Service/Method` for a method of a known service, else `other`.
fn method_label(path: &str, known: &[&'static str]) -> String {
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
        return "other".to_owned();
    };
    let plain = !method.is_empty()
        && method.len() <= 64
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if plain && known.contains(&service) {
        format!("{service}/{method}")
    } else {
        "other".to_owned()
    }
}

/// The canonical name of a gRPC status code (`OK`, `INVALID_ARGUMENT`, …).
pub fn code_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("UNKNOWN")
}
