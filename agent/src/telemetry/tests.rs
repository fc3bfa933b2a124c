use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;

use super::inject;

fn traced<T>(work: impl FnOnce() -> T) -> T {
    let provider = SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::with_default(subscriber, work)
}

#[test]
fn a_call_inside_a_span_carries_its_traceparent() {
    let (header, trace_id) = traced(|| {
        let span = tracing::info_span!("card_check");
        let _entered = span.enter();
        let mut metadata = tonic::metadata::MetadataMap::new();
        inject(&mut metadata);
        let header = metadata
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let trace_id = {
            use opentelemetry::trace::TraceContextExt as _;
            use tracing_opentelemetry::OpenTelemetrySpanExt as _;
            span.context().span().span_context().trace_id().to_string()
        };
        (header, trace_id)
    });
    let header = header.unwrap_or_default();
    assert!(
        header.starts_with(&format!("00-{trace_id}-")),
        "traceparent {header:?} does not continue trace {trace_id}"
    );
}

#[test]
fn a_call_outside_any_span_carries_none() {
    let metadata = traced(|| {
        let mut metadata = tonic::metadata::MetadataMap::new();
        inject(&mut metadata);
        metadata
    });
    assert!(metadata.get("traceparent").is_none());
}
