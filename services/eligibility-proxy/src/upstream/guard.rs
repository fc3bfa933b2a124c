//! Guards around any adapter: a deadline on each try, bounded jittered retries on
//! UNAVAILABLE only, and a circuit breaker that fails fast while the upstream is down and
//! lets one probe through after `breaker_open_for`, closing again by itself when it succeeds.
//!
//! Retries use backon (jittered exponential backoff from 50 ms to 500 ms). The breaker is a
//! small state machine behind a `std::sync::Mutex` rather than the `failsafe` crate: failsafe
//! lets every call through while half-open (we want exactly one probe, others failing fast),
//! reads `std::time::Instant` (we use tokio's, so tests drive it with paused time) and brings
//! a second `rand`. The lock is never held across an await.
//!
//! A call is all of its tries: one call that ends `Unavailable` or `Timeout` is one failure.
//! Any other outcome (an answer, `Rejected`, `Invalid`, `NotCapable`) proves the upstream is
//! up and resets the count. State changes are logged once, with the adapter's name; nothing
//! about queries or results is logged.

use super::{
    Answer, Capabilities, CardQuery, NumberQuery, Registration, RequeryQuery, Upstream,
    UpstreamError,
};
use crate::config::UpstreamConfig;
use backon::{ExponentialBuilder, Retryable as _};
use mynafleet_proto::eligibility::v1 as pb;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

#[cfg(test)]
mod tests;

/// The first retry waits about this long; later ones grow up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// An adapter behind deadline, retries and breaker.
#[derive(Debug)]
pub(crate) struct Guarded {
    inner: Arc<dyn Upstream>,
    deadline: Duration,
    retries: usize,
    breaker: Breaker,
}

impl Guarded {
    /// Wraps `inner` with the guards `config` describes.
    pub(crate) fn new(inner: Arc<dyn Upstream>, config: &UpstreamConfig) -> Self {
        let breaker = Breaker {
            name: inner.name(),
            threshold: config.breaker_failures.max(1),
            open_for: config.breaker_open_for,
            state: Mutex::new(State::Closed { failures: 0 }),
        };
        crate::metrics::breaker_created(breaker.name);
        Self {
            inner,
            deadline: config.deadline,
            retries: config.retries,
            breaker,
        }
    }

    /// Runs `call` under the breaker, with a deadline on each try and retries while it is
    /// unavailable.
    async fn guard<T, F, Fut>(&self, call: F) -> Result<T, UpstreamError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, UpstreamError>>,
    {
        let permit = self.breaker.admit()?;
        let deadline = self.deadline;
        let tries = AtomicU32::new(0);
        let name = self.breaker.name;
        let outcome = (|| async {
            tries.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let answer = tokio::time::timeout(deadline, call())
                .await
                .unwrap_or(Err(UpstreamError::Timeout(deadline)));
            crate::metrics::upstream_try(name, started.elapsed(), &answer);
            answer
        })
        .retry(
            ExponentialBuilder::default()
                .with_min_delay(MIN_BACKOFF)
                .with_max_delay(MAX_BACKOFF)
                .with_max_times(self.retries)
                .with_jitter(),
        )
        .when(UpstreamError::is_unavailable)
        .await;
        permit.record(
            outcome
                .as_ref()
                .err()
                .is_some_and(UpstreamError::is_unavailable),
        );
        tracing::Span::current().record("tries", tries.into_inner());
        outcome
    }

    /// Runs a guarded `call` in an `upstream.call` client span: the simulator's request
    /// carries its context, so oqs-sim's server span joins the check's trace. The span says
    /// which adapter, the breaker's state when the call came, how many tries it took and how
    /// it ended (a kind, never the upstream's text or anything about the patient).
    async fn traced<T>(
        &self,
        call: impl Future<Output = Result<T, UpstreamError>>,
    ) -> Result<T, UpstreamError> {
        let span = tracing::info_span!(
            "upstream.call",
            otel.kind = "client",
            upstream = self.inner.name(),
            breaker = self.breaker.state_name(),
            tries = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let outcome = tracing::Instrument::instrument(call, span.clone()).await;
        span.record(
            "outcome",
            match &outcome {
                Ok(_) => "answered",
                Err(UpstreamError::NotCapable { .. }) => "not_capable",
                Err(UpstreamError::Unavailable(_)) => "unavailable",
                Err(UpstreamError::Timeout(_)) => "timeout",
                Err(UpstreamError::CircuitOpen { .. }) => "circuit_open",
                Err(UpstreamError::Rejected(_)) => "rejected",
                Err(UpstreamError::Invalid(_)) => "invalid",
            },
        );
        outcome
    }
}

#[tonic::async_trait]
impl Upstream for Guarded {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn query_by_card(&self, q: &CardQuery) -> Result<Answer, UpstreamError> {
        self.traced(self.guard(|| self.inner.query_by_card(q)))
            .await
    }

    async fn query_by_numbers(&self, q: &NumberQuery) -> Result<Answer, UpstreamError> {
        self.traced(self.guard(|| self.inner.query_by_numbers(q)))
            .await
    }

    async fn requery(&self, q: &RequeryQuery) -> Result<Answer, UpstreamError> {
        self.traced(self.guard(|| self.inner.requery(q))).await
    }

    async fn register_reference_number(
        &self,
        r: &Registration,
    ) -> Result<pb::RegisterReferenceNumberResponse, UpstreamError> {
        self.traced(self.guard(|| self.inner.register_reference_number(r)))
            .await
    }
}

/// The circuit breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Calls go through; `failures` consecutive calls failed so far.
    Closed { failures: u32 },
    /// Calls fail fast until `until`; the first call after it is the probe.
    Open { until: Instant },
    /// The probe is in flight; other calls fail fast.
    HalfOpen,
}

#[derive(Debug)]
struct Breaker {
    name: &'static str,
    threshold: u32,
    open_for: Duration,
    state: Mutex<State>,
}

impl Breaker {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a plain value, always consistent: a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns the state's name for traces: `closed`, `open` or `half_open`.
    fn state_name(&self) -> &'static str {
        match *self.lock() {
            State::Closed { .. } => "closed",
            State::Open { .. } => "open",
            State::HalfOpen => "half_open",
        }
    }

    /// Lets a call through, as an ordinary call or as the probe, or fails it fast.
    fn admit(&self) -> Result<Permit<'_>, UpstreamError> {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => Ok(Permit {
                breaker: self,
                probe: false,
                done: false,
            }),
            State::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(UpstreamError::CircuitOpen {
                        retry_after: until - now,
                    });
                }
                *state = State::HalfOpen;
                crate::metrics::breaker_moved(self.name, crate::metrics::Breaker::HalfOpen);
                tracing::debug!(upstream = self.name, "upstream circuit half-open: probing");
                Ok(Permit {
                    breaker: self,
                    probe: true,
                    done: false,
                })
            }
            // The probe's own tries may take a while; a period is a fair hint.
            State::HalfOpen => Err(UpstreamError::CircuitOpen {
                retry_after: self.open_for,
            }),
        }
    }

    fn open(&self, state: &mut State) {
        *state = State::Open {
            until: Instant::now() + self.open_for,
        };
    }
}

/// One admitted call; it reports how the call went, or, dropped unreported (the caller gave
/// up), frees the probe slot so the next call probes.
#[derive(Debug)]
struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    done: bool,
}

impl Permit<'_> {
    /// Records the call: `failed` when it ended unavailable after all its tries.
    fn record(mut self, failed: bool) {
        self.done = true;
        let b = self.breaker;
        let mut state = b.lock();
        match (*state, self.probe, failed) {
            (State::HalfOpen, true, false) => {
                *state = State::Closed { failures: 0 };
                crate::metrics::breaker_moved(b.name, crate::metrics::Breaker::Closed);
                tracing::info!(upstream = b.name, "upstream circuit closed");
            }
            (State::HalfOpen, true, true) => {
                b.open(&mut state);
                crate::metrics::breaker_moved(b.name, crate::metrics::Breaker::Open);
                tracing::debug!(
                    upstream = b.name,
                    open_for_ms = b.open_for.as_millis(),
                    "upstream probe failed; circuit stays open"
                );
            }
            (State::Closed { .. }, false, false) => *state = State::Closed { failures: 0 },
            (State::Closed { failures }, false, true) => {
                let failures = failures.saturating_add(1);
                if failures >= b.threshold {
                    b.open(&mut state);
                    crate::metrics::breaker_moved(b.name, crate::metrics::Breaker::Open);
                    tracing::warn!(
                        upstream = b.name,
                        failures,
                        open_for_ms = b.open_for.as_millis(),
                        "upstream circuit open"
                    );
                } else {
                    *state = State::Closed { failures };
                }
            }
            // A call admitted before the circuit opened, ending after: the probe decides.
            (State::Open { .. } | State::HalfOpen, false, _) => {}
            // The probe's slot is only ever left by the probe itself.
            (State::Closed { .. } | State::Open { .. }, true, _) => {}
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe && !self.done {
            let mut state = self.breaker.lock();
            if *state == State::HalfOpen {
                *state = State::Open {
                    until: Instant::now(),
                };
                crate::metrics::breaker_moved(self.breaker.name, crate::metrics::Breaker::Open);
            }
        }
    }
}
