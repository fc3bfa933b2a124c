//! Tracing for a process: a `tracing` subscriber (text or JSON logs), an OTLP/gRPC span
//! exporter when an endpoint is configured, and W3C trace-context propagation on both sides
//! of every gRPC hop ([`server_span`] for servers, [`TracePropagation`] for clients).

use crate::config::TelemetrySection;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built.
    #[error("build otlp exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The log filter did not parse.
    #[error("invalid log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
    /// A global subscriber was already installed.
    #[error("install subscriber: {0}")]
    Install(#[from] tracing_subscriber::util::TryInitError),
}

/// Keeps the tracer provider alive; [`TelemetryGuard::shutdown`] flushes it.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Exports every finished span now (tests call it before looking at a collector), off
    /// the async runtime's threads; a no-op without an exporter.
    pub async fn flush(&self) {
        if let Some(p) = self.provider.clone() {
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = p.force_flush() {
                    eprintln!("telemetry flush: {e}");
                }
            })
            .await;
        }
    }

    /// Flushes and stops the exporter, off the async runtime's threads.
    pub async fn shutdown(self) {
        if let Some(p) = self.provider {
            let _ = tokio::task::spawn_blocking(move || {
                if let Err(e) = p.shutdown() {
                    eprintln!("telemetry shutdown: {e}");
                }
            })
            .await;
        }
    }
}

/// Installs the global subscriber and propagator for a process named `service_name`.
/// Call once, from a binary, inside a tokio runtime.
pub fn init(service_name: &str, cfg: &TelemetrySection) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = match &cfg.log_filter {
        Some(f) => EnvFilter::try_new(f)?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let fmt = if cfg.log_json {
        tracing_subscriber::fmt::layer().json().boxed()
    } else {
        tracing_subscriber::fmt::layer().boxed()
    };
    let (otel, provider) = match &cfg.otlp_endpoint {
        Some(endpoint) => {
            use opentelemetry_otlp::WithExportConfig;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()?;
            let provider = SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    opentelemetry_sdk::Resource::builder()
                        .with_service_name(service_name.to_owned())
                        .build(),
                )
                .build();
            let tracer = provider.tracer("mynafleet");
            opentelemetry::global::set_tracer_provider(provider.clone());
            (
                Some(tracing_opentelemetry::layer().with_tracer(tracer)),
                Some(provider),
            )
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()?;
    Ok(TelemetryGuard { provider })
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// Returns the span of one inbound RPC of `service`, continuing the caller's trace when the
/// request carries a W3C `traceparent`. Use as tonic's `Server::trace_fn`.
pub fn server_span(service: &'static str, req: &http::Request<()>) -> tracing::Span {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(req.headers()));
    let span = tracing::info_span!(
        "grpc.server",
        otel.kind = "server",
        service = service,
        rpc.method = req.uri().path(),
    );
    let _ = span.set_parent(parent);
    span
}

/// A client interceptor that writes the current span's context as W3C `traceparent`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracePropagation;

impl tonic::service::Interceptor for TracePropagation {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let cx = tracing::Span::current().context();
        TraceContextPropagator::new()
            .inject_context(&cx, &mut MetadataInjector(req.metadata_mut()));
        Ok(req)
    }
}

struct StringExtractor<'a>(&'a str);

impl Extractor for StringExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

/// Makes `span` a child of the W3C `traceparent` a record carried (an audit record's, say),
/// so work done later for that record joins the trace of the action that made it. Returns
/// false, leaving `span` as it was, when `traceparent` is empty or malformed.
pub fn continue_trace(span: &tracing::Span, traceparent: &str) -> bool {
    use opentelemetry::trace::TraceContextExt as _;
    let parent = TraceContextPropagator::new().extract(&StringExtractor(traceparent.trim()));
    if !parent.span().span_context().is_valid() {
        return false;
    }
    span.set_parent(parent).is_ok()
}

struct StringInjector(String);

impl Injector for StringInjector {
    fn set(&mut self, key: &str, value: String) {
        if key == "traceparent" {
            self.0 = value;
        }
    }
}

/// Returns the current span's W3C `traceparent`, or an empty string outside a sampled trace
/// (records such as audit entries carry it so their later processing joins the trace).
pub fn current_traceparent() -> String {
    let cx = tracing::Span::current().context();
    let mut out = StringInjector(String::new());
    TraceContextPropagator::new().inject_context(&cx, &mut out);
    out.0
}
