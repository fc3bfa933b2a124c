//! The agent's tracing: log lines on stderr and, when an OTLP endpoint is configured, spans
//! exported over OTLP/gRPC as `service.name = mynafleet-agent`, with the current span's W3C
//! `traceparent` written into every call to the proxy and activation ([`inject`]), so a card
//! check is one trace from the terminal to the upstream.
//!
//! The exporter runs on a one-thread runtime of its own, so it serves every command alike
//! and [`Telemetry::shutdown`] flushes it from the main thread once the command's runtime
//! has ended. Spans carry device, reader, token type, method and outcome only: never a
//! PIN, card contents, a certificate, a challenge or signature, or anything about the
//! patient. It never reads or changes the process environment (the binary resolves the
//! endpoint; `RUST_LOG` is read by the log filter only).

use opentelemetry::KeyValue;
use opentelemetry::propagation::{Injector, TextMapPropagator as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::{Layer as _, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

/// The `service.name` of the agent's spans.
pub const SERVICE_NAME: &str = "mynafleet-agent";

/// Why tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The exporter's runtime could not start.
    #[error("start the telemetry runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The OTLP exporter could not be built (a malformed endpoint).
    #[error("build the otlp exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A global subscriber was already installed.
    #[error("install the log subscriber: {0}")]
    Install(#[from] tracing_subscriber::util::TryInitError),
}

/// The installed tracing; [`Telemetry::shutdown`] flushes the spans still queued.
#[derive(Debug)]
pub struct Telemetry {
    export: Option<Export>,
}

#[derive(Debug)]
struct Export {
    provider: SdkTracerProvider,
    runtime: tokio::runtime::Runtime,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.export.is_some()
    }

    /// Exports what is queued and stops the exporter. Blocks: call it from the main thread
    /// after the command's runtime has ended, never from async code.
    pub fn shutdown(self) {
        if let Some(Export { provider, runtime }) = self.export {
            if let Err(e) = provider.shutdown() {
                eprintln!("mynafleet-agent: telemetry shutdown: {e}");
            }
            runtime.shutdown_background();
        }
    }
}

/// Installs the global subscriber: logs on stderr filtered by `RUST_LOG` (else
/// `default_level`), and, when `otlp_endpoint` is a non-empty URL such as
/// `http://collector:4317`, the agent's own spans (INFO and above, whatever the log level)
/// exported to it.
pub fn init(
    default_level: LevelFilter,
    otlp_endpoint: Option<&str>,
) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::builder()
        .with_default_directive(default_level.into())
        .from_env_lossy();
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter);
    let export = otlp_endpoint
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(exporter)
        .transpose()?;
    let spans = export.as_ref().map(|e| {
        tracing_opentelemetry::layer()
            .with_tracer(e.provider.tracer(SERVICE_NAME))
            .with_filter(Targets::new().with_target("mynafleet_agent", Level::INFO))
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init()?;
    Ok(Telemetry { export })
}

fn exporter(endpoint: &str) -> Result<Export, TelemetryError> {
    use opentelemetry_otlp::WithExportConfig as _;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("otlp-export")
        .enable_all()
        .build()
        .map_err(TelemetryError::Runtime)?;
    // The lazy channel starts its worker on the current runtime: this one, which lives as
    // long as the provider.
    let exporter = {
        let _entered = runtime.enter();
        opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()?
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(SERVICE_NAME)
                .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                .build(),
        )
        .build();
    Ok(Export { provider, runtime })
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

/// Writes the current span's context into `metadata` as W3C `traceparent` (nothing outside
/// a sampled span).
pub(crate) fn inject(metadata: &mut tonic::metadata::MetadataMap) {
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut MetadataInjector(metadata));
}

#[cfg(test)]
mod tests;
