//! The account service's metrics (docs/metrics.md): audit records ingested from other
//! services, and the collector that reads each audit chain's length, its records not yet
//! under a checkpoint and the age of its newest checkpoint when scraped.
//!
//! Every series carries `service="account"`. The `chain` label is an organization's
//! resource name (or `deployment`): one series per clinic group, never per operator,
//! device or patient.

use crate::SERVICE_NAME;
use crate::store::gauges;
use futures::future::BoxFuture;
use mynafleet_kit::clock::Clock;
use mynafleet_kit::metrics::{Collect, Registration};
use sqlx::AnyPool;
use std::sync::Arc;

/// Counter `{producer}`: audit records other services forwarded that were new here.
pub(crate) const INGESTED: &str = "mynafleet_audit_records_ingested_total";
/// Gauge `{chain}`: entries in an audit chain.
pub(crate) const CHAIN_LENGTH: &str = "mynafleet_audit_chain_length";
/// Gauge `{chain}`: entries after the chain's newest checkpoint.
pub(crate) const UNSEALED: &str = "mynafleet_audit_unsealed_records";
/// Gauge `{chain}`: seconds since the chain's newest checkpoint (chains with one only).
pub(crate) const CHECKPOINT_AGE: &str = "mynafleet_audit_checkpoint_age_seconds";

/// Registers the collector. Keep the registration for the service's lifetime.
pub(crate) fn start(pool: AnyPool, clock: Clock) -> Registration {
    mynafleet_kit::metrics::register(Arc::new(Gauges { pool, clock }))
}

/// Counts `inserted` new records forwarded by the service `producer`.
pub(crate) fn ingested(producer: &str, inserted: u64) {
    metrics::counter!(
        INGESTED,
        "service" => SERVICE_NAME,
        "producer" => producer.to_owned(),
    )
    .increment(inserted);
}

/// Sets the chain gauges when metrics are scraped.
struct Gauges {
    pool: AnyPool,
    clock: Clock,
}

impl Collect for Gauges {
    fn collect(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            let chains = match gauges::chain_figures(&self.pool).await {
                Ok(chains) => chains,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: audit chain figures not read");
                    return;
                }
            };
            let now = self.clock.now_micros();
            for c in chains {
                let chain = || -> [(&'static str, String); 2] {
                    [
                        ("service", SERVICE_NAME.to_owned()),
                        ("chain", c.chain.clone()),
                    ]
                };
                metrics::gauge!(CHAIN_LENGTH, &chain()).set(c.size as f64);
                metrics::gauge!(UNSEALED, &chain())
                    .set(c.size.saturating_sub(c.checkpointed).max(0) as f64);
                if let Some(signed) = c.checkpoint_time {
                    let age = now.saturating_sub(signed).max(0) as f64 / 1e6;
                    metrics::gauge!(CHECKPOINT_AGE, &chain()).set(age);
                }
            }
        })
    }
}
