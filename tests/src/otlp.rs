//! A fake OTLP/gRPC trace collector for tests: it listens on `127.0.0.1:0` (plain HTTP/2,
//! as `http://…` exporters expect), keeps every exported span with its resource's
//! `service.name`, and waits (bounded, on interval ticks) until the spans a test looks for
//! have arrived. It never answers with an error and drops nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// One exported span and the `service.name` of the process that sent it.
#[derive(Clone, Debug)]
pub struct Collected {
    /// The resource's `service.name`.
    pub service_name: String,
    /// The span as exported.
    pub span: Span,
}

impl Collected {
    /// Returns the trace id in hex.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// Returns the span's attribute `key` as text, if it has one (the last value recorded).
    pub fn attribute(&self, key: &str) -> Option<String> {
        self.span
            .attributes
            .iter()
            .rfind(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .map(text)
    }

    /// Returns every attribute value (span and its events) as text, for leak checks.
    pub fn values(&self) -> Vec<String> {
        let events = self.span.events.iter().flat_map(|e| e.attributes.iter());
        self.span
            .attributes
            .iter()
            .chain(events)
            .filter_map(|kv| kv.value.as_ref())
            .map(text)
            .chain(std::iter::once(self.span.name.clone()))
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(d)) => d.to_string(),
        Some(Value::BytesValue(b)) => hex(b),
        Some(Value::ArrayValue(a)) => a.values.iter().map(text).collect::<Vec<_>>().join(","),
        Some(Value::KvlistValue(l)) => l
            .values
            .iter()
            .map(|kv: &KeyValue| kv.value.as_ref().map(text).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(","),
        Some(Value::StringValueStrindex(i)) => i.to_string(),
        None => String::new(),
    }
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<Collected>>>);

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sink")
    }
}

#[tonic::async_trait]
impl TraceService for Sink {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut spans = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for resource in request.into_inner().resource_spans {
            let service_name = resource
                .resource
                .iter()
                .flat_map(|r| r.attributes.iter())
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .map(text)
                .unwrap_or_default();
            for scope in resource.scope_spans {
                spans.extend(scope.spans.into_iter().map(|span| Collected {
                    service_name: service_name.clone(),
                    span,
                }));
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// A running fake collector; dropping it stops the server.
#[derive(Debug)]
pub struct Collector {
    endpoint: String,
    spans: Arc<Mutex<Vec<Collected>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Collector {
    /// Starts a collector on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the collector");
        let endpoint = format!(
            "http://{}",
            listener.local_addr().expect("collector address")
        );
        let sink = Sink::default();
        let spans = sink.0.clone();
        let server = tokio::spawn(async move {
            let _ = Server::builder()
                .add_service(TraceServiceServer::new(sink))
                .serve_with_incoming(TcpIncoming::from(listener))
                .await;
        });
        Self {
            endpoint,
            spans,
            server,
        }
    }

    /// Returns the URL exporters are pointed at (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Returns every span received so far.
    pub fn spans(&self) -> Vec<Collected> {
        self.spans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Calls `nudge` (a flush, say) and then `found` on everything received, every 100 ms,
    /// until `found` returns a value or `deadline` passes (then `None`).
    pub async fn wait_until<T, N, Fut>(
        &self,
        deadline: Duration,
        mut nudge: N,
        mut found: impl FnMut(&[Collected]) -> Option<T>,
    ) -> Option<T>
    where
        N: FnMut() -> Fut,
        Fut: Future<Output = ()>,
    {
        let end = tokio::time::Instant::now() + deadline;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            nudge().await;
            if let Some(value) = found(&self.spans()) {
                return Some(value);
            }
            if tokio::time::Instant::now() >= end {
                return None;
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}
