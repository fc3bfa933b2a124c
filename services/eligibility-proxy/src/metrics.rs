//! The proxy's metrics (docs/metrics.md): the names, the helpers call sites use where things
//! happen (an agent stream opens, a check is recorded, an upstream answers, the breaker
//! moves, events are stored) and the collector that reads the outbox depth when scraped.
//!
//! Every series carries `service="eligibility-proxy"`. Label values come from fixed small
//! sets (kinds, outcomes, stable reasons, 資格有効性 codes, adapter names): never a device,
//! account, patient or any text a caller sent.

use crate::SERVICE_NAME;
use crate::audit::{CheckAudit, Outcome};
use crate::oqs::codes::QualificationValidity;
use crate::upstream::UpstreamError;
use futures::future::BoxFuture;
use mynafleet_kit::metrics::{Collect, Registration};
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;

/// Gauge: agent event streams (`StreamEvents`) open in this replica.
pub(crate) const AGENTS_CONNECTED: &str = "mynafleet_agents_connected";
/// Counter `{kind,outcome,validity}`: checks by how they ended.
pub(crate) const CHECKS: &str = "mynafleet_eligibility_checks_total";
/// Counter `{kind,reason}`: checks that did not end `ok`, by their stable reason.
pub(crate) const CHECK_FAILURES: &str = "mynafleet_eligibility_check_failures_total";
/// Histogram `{upstream,result}`: seconds of each try at an upstream.
pub(crate) const UPSTREAM_SECONDS: &str = "mynafleet_upstream_request_seconds";
/// Gauge `{upstream}`: the circuit breaker, 0 closed, 1 half-open, 2 open.
pub(crate) const BREAKER_STATE: &str = "mynafleet_upstream_breaker_state";
/// Counter `{upstream,to}`: breaker transitions.
pub(crate) const BREAKER_TRANSITIONS: &str = "mynafleet_upstream_breaker_transitions_total";
/// Gauge `{outbox}`: records waiting in an outbox.
pub(crate) const OUTBOX_DEPTH: &str = "mynafleet_outbox_depth";
/// Counter `{result}`: agent events written (`stored`) or dropped as already held
/// (`duplicate`).
pub(crate) const AGENT_EVENTS: &str = "mynafleet_agent_events_total";

/// Registers the collector over `pool` and makes the series that exist before anything
/// happened (no agent connected yet) visible at zero. Keep the registration for the
/// service's lifetime.
pub(crate) fn start(pool: AnyPool) -> Registration {
    // `increment(0)`, not `set(0)`: replicas in one process share the gauge.
    metrics::gauge!(AGENTS_CONNECTED, "service" => SERVICE_NAME).increment(0.0);
    for result in ["stored", "duplicate"] {
        metrics::counter!(AGENT_EVENTS, "service" => SERVICE_NAME, "result" => result).increment(0);
    }
    mynafleet_kit::metrics::register(Arc::new(Gauges { pool }))
}

/// One open agent event stream, counted in [`AGENTS_CONNECTED`] until dropped (whichever
/// way the stream ends).
#[derive(Debug)]
pub(crate) struct AgentStream(());

impl AgentStream {
    /// Counts a stream that just opened.
    pub(crate) fn open() -> Self {
        metrics::gauge!(AGENTS_CONNECTED, "service" => SERVICE_NAME).increment(1.0);
        Self(())
    }
}

impl Drop for AgentStream {
    fn drop(&mut self) {
        metrics::gauge!(AGENTS_CONNECTED, "service" => SERVICE_NAME).decrement(1.0);
    }
}

/// A check's labels, taken from its audit record before the record is written.
#[derive(Debug)]
pub(crate) struct Check {
    kind: &'static str,
    outcome: &'static str,
    validity: &'static str,
    reason: String,
}

impl Check {
    /// Reads the labels of `audit`.
    pub(crate) fn of(audit: &CheckAudit) -> Self {
        Self {
            kind: audit.kind.as_str(),
            outcome: outcome(audit.outcome, &audit.reason),
            validity: validity(&audit.validity),
            reason: audit.reason.clone(),
        }
    }

    /// Counts the check; `written` is whether its audit record was written (a check whose
    /// record could not be written failed, closed: outcome `error`, reason `INTERNAL`).
    pub(crate) fn count(self, written: bool) {
        let (outcome, validity, reason) = if written {
            (self.outcome, self.validity, self.reason)
        } else {
            ("error", "none", "INTERNAL".to_owned())
        };
        metrics::counter!(
            CHECKS,
            "service" => SERVICE_NAME,
            "kind" => self.kind,
            "outcome" => outcome,
            "validity" => validity,
        )
        .increment(1);
        if outcome != "ok" {
            metrics::counter!(
                CHECK_FAILURES,
                "service" => SERVICE_NAME,
                "kind" => self.kind,
                "reason" => reason,
            )
            .increment(1);
        }
    }
}

/// The `outcome` label: `ok`, `refused` (access, card or challenge refused), `invalid` (the
/// request lacked something), `upstream_unavailable` (down, too slow, breaker open),
/// `upstream_error` (it answered with an error or nonsense, or cannot do this check),
/// `error` (anything else: scope look-up, store).
pub(crate) fn outcome(outcome: Outcome, reason: &str) -> &'static str {
    match outcome {
        Outcome::Success => "ok",
        Outcome::Denied => "refused",
        Outcome::Failure => match reason {
            "UPSTREAM_UNAVAILABLE" | "UPSTREAM_TIMEOUT" | "UPSTREAM_CIRCUIT_OPEN" => {
                "upstream_unavailable"
            }
            r if r.starts_with("UPSTREAM_") => "upstream_error",
            "INVALID_FIELD" | "STAFF_ATTESTATION_REQUIRED" | "SIGNATURE_NOT_EXPECTED" => "invalid",
            _ => "error",
        },
    }
}

/// The `validity` label: the 資格有効性 code (`1`–`6`, DOMAIN.md OQSCD006), `unknown` for a
/// value the table does not know, `none` when the result had none (or there was no result).
pub(crate) fn validity(raw: &str) -> &'static str {
    if raw.is_empty() {
        return "none";
    }
    match QualificationValidity::parse(raw) {
        QualificationValidity::Valid => "1",
        QualificationValidity::Invalid => "2",
        QualificationValidity::InvalidNewerExists => "3",
        QualificationValidity::NotFound => "4",
        QualificationValidity::Multiple => "5",
        QualificationValidity::ValidUnregistered => "6",
        QualificationValidity::Unknown(_) => "unknown",
    }
}

/// Records one try at `upstream` that took `took` and ended with `answer`: result `ok`,
/// `timeout` (the per-try deadline) or `error` (unreachable, refused, unreadable).
pub(crate) fn upstream_try<T>(
    upstream: &'static str,
    took: Duration,
    answer: &Result<T, UpstreamError>,
) {
    let result = match answer {
        Ok(_) => "ok",
        Err(UpstreamError::Timeout(_)) => "timeout",
        Err(_) => "error",
    };
    metrics::histogram!(
        UPSTREAM_SECONDS,
        "service" => SERVICE_NAME,
        "upstream" => upstream,
        "result" => result,
    )
    .record(took.as_secs_f64());
}

/// A circuit breaker's state as the gauge shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Breaker {
    /// Calls go through (0).
    Closed,
    /// One probe is let through (1).
    HalfOpen,
    /// Calls fail fast (2).
    Open,
}

impl Breaker {
    fn value(self) -> f64 {
        match self {
            Breaker::Closed => 0.0,
            Breaker::HalfOpen => 1.0,
            Breaker::Open => 2.0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Breaker::Closed => "closed",
            Breaker::HalfOpen => "half_open",
            Breaker::Open => "open",
        }
    }
}

/// Shows a new breaker of `upstream`, closed (no transition counted).
pub(crate) fn breaker_created(upstream: &'static str) {
    metrics::gauge!(BREAKER_STATE, "service" => SERVICE_NAME, "upstream" => upstream)
        .set(Breaker::Closed.value());
}

/// Records that the breaker of `upstream` moved to `to`.
pub(crate) fn breaker_moved(upstream: &'static str, to: Breaker) {
    metrics::gauge!(BREAKER_STATE, "service" => SERVICE_NAME, "upstream" => upstream)
        .set(to.value());
    metrics::counter!(
        BREAKER_TRANSITIONS,
        "service" => SERVICE_NAME,
        "upstream" => upstream,
        "to" => to.name(),
    )
    .increment(1);
}

/// Counts a batch of agent events: `stored` written for the first time, `duplicates`
/// already held.
pub(crate) fn events_written(stored: u64, duplicates: u64) {
    metrics::counter!(AGENT_EVENTS, "service" => SERVICE_NAME, "result" => "stored")
        .increment(stored);
    metrics::counter!(AGENT_EVENTS, "service" => SERVICE_NAME, "result" => "duplicate")
        .increment(duplicates);
}

/// Sets the database-derived gauges when metrics are scraped.
struct Gauges {
    pool: AnyPool,
}

impl Collect for Gauges {
    fn collect(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            match mynafleet_kit::outbox::depth(&self.pool).await {
                Ok(n) => {
                    metrics::gauge!(OUTBOX_DEPTH, "service" => SERVICE_NAME, "outbox" => "audit")
                        .set(n as f64);
                }
                Err(e) => tracing::warn!(error = %e, "metrics: audit outbox depth not read"),
            }
        })
    }
}

#[cfg(test)]
mod tests;
