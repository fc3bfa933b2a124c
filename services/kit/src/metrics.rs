//! Prometheus metrics for a process: one global recorder (the `metrics` crate's facade, so
//! services call `metrics::counter!` and friends), a plain-HTTP `GET /metrics` endpoint on
//! its own port, collectors that refresh database-derived gauges when scraped, and the
//! RPC layer every server frame carries (counts and latency by method and gRPC code).
//!
//! Every series carries a `service` label: in one process (`dev`, the test suite) the
//! services share the recorder and the endpoint. Labels never carry patient data, device
//! secrets or free text from callers: the RPC layer names only methods the server serves.

mod collect;
mod http;
mod rpc;

pub use collect::{Collect, Registration, register};
pub use http::serve;
pub use rpc::{RpcMetricsLayer, code_name};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// Histogram buckets (seconds) for every `*_seconds` histogram: RPCs, upstream calls.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's Prometheus recorder once and returns its handle; later calls
/// return the same handle. `None` when another recorder was installed first (then the
/// endpoint serves an explanation instead of series).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
}

/// Renders every series in the Prometheus text format, after refreshing the registered
/// collectors (each bounded by [`collect::COLLECT_TIMEOUT`]).
pub async fn render() -> String {
    collect::run_all().await;
    match install() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => "# another metrics recorder is installed in this process\n".to_owned(),
    }
}

/// Seconds from the Unix epoch to `t`, for `*_timestamp_seconds` gauges.
pub fn unix_seconds(t: time::OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}

#[cfg(test)]
mod tests;
