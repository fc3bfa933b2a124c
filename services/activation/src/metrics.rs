//! Activation's metrics (docs/metrics.md): the names, the helpers the Activate path calls
//! (an activation completed, refused, a lock started) and the collector that reads the
//! outbox depth, devices per status and certificate expiry from the database when scraped.
//!
//! Every series carries `service="activation"`. Labels are stable reasons and fixed words:
//! never a device, account, address or anything typed at a terminal.

use crate::SERVICE_NAME;
use crate::error::Error;
use crate::store::{audit, gauges};
use futures::future::BoxFuture;
use mynafleet_kit::clock::Clock;
use mynafleet_kit::metrics::{Collect, Registration};
use sqlx::AnyPool;
use std::sync::Arc;

/// Counter: activations that issued a device's first certificate.
pub(crate) const ACTIVATIONS: &str = "mynafleet_activations_total";
/// Counter `{reason}`: refused `Activate` calls, by stable reason.
pub(crate) const FAILURES: &str = "mynafleet_activation_failures_total";
/// Counter `{scope}`: activation locks that started, per `account` or `source` address.
pub(crate) const LOCKOUTS: &str = "mynafleet_activation_lockouts_total";
/// Gauge `{outbox}`: records waiting in an outbox.
pub(crate) const OUTBOX_DEPTH: &str = "mynafleet_outbox_depth";
/// Gauge `{status}`: devices per status.
pub(crate) const DEVICES: &str = "mynafleet_devices";
/// Gauge `{within}`: active devices whose certificate expires within 1d, 7d or 30d.
pub(crate) const EXPIRING: &str = "mynafleet_device_certificates_expiring";
/// Gauge: active devices whose certificate has expired.
pub(crate) const EXPIRED: &str = "mynafleet_device_certificates_expired";
/// Gauge: the earliest certificate expiry among active devices (Unix seconds).
pub(crate) const NEXT_EXPIRY: &str = "mynafleet_device_certificate_next_expiry_timestamp_seconds";

/// Every device status, so a status without devices shows 0 rather than vanishing.
const STATUSES: [&str; 4] = ["pending", "active", "suspended", "revoked"];

/// Registers the collector and makes the counters visible at zero. Keep the registration
/// for the service's lifetime.
pub(crate) fn start(pool: AnyPool, clock: Clock) -> Registration {
    metrics::counter!(ACTIVATIONS, "service" => SERVICE_NAME).increment(0);
    for scope in ["account", "source"] {
        metrics::counter!(LOCKOUTS, "service" => SERVICE_NAME, "scope" => scope).increment(0);
    }
    mynafleet_kit::metrics::register(Arc::new(Gauges { pool, clock }))
}

/// Counts a completed activation.
pub(crate) fn activated() {
    metrics::counter!(ACTIVATIONS, "service" => SERVICE_NAME).increment(1);
}

/// Counts a refused `Activate` call by the reason its status carries.
pub(crate) fn activation_failed(e: &Error) {
    metrics::counter!(FAILURES, "service" => SERVICE_NAME, "reason" => e.reason()).increment(1);
}

/// Counts a lock that just started for `scope` (`account` or `source`).
pub(crate) fn locked(scope: &'static str) {
    metrics::counter!(LOCKOUTS, "service" => SERVICE_NAME, "scope" => scope).increment(1);
}

/// Sets the database-derived gauges when metrics are scraped.
struct Gauges {
    pool: AnyPool,
    clock: Clock,
}

impl Gauges {
    async fn read(&self) -> crate::error::Result<()> {
        let depth = audit::depth(&self.pool).await?;
        metrics::gauge!(OUTBOX_DEPTH, "service" => SERVICE_NAME, "outbox" => "audit")
            .set(depth as f64);

        let counts = gauges::devices_by_status(&self.pool).await?;
        for status in STATUSES {
            let n = counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            metrics::gauge!(DEVICES, "service" => SERVICE_NAME, "status" => status).set(n as f64);
        }

        let now = self.clock.now();
        let expiry =
            gauges::certificate_expiry(&self.pool, mynafleet_kit::clock::to_micros(now)).await?;
        for (within, n) in [
            ("1d", expiry.within_1d),
            ("7d", expiry.within_7d),
            ("30d", expiry.within_30d),
        ] {
            metrics::gauge!(EXPIRING, "service" => SERVICE_NAME, "within" => within).set(n as f64);
        }
        metrics::gauge!(EXPIRED, "service" => SERVICE_NAME).set(expiry.expired as f64);
        let next = metrics::gauge!(NEXT_EXPIRY, "service" => SERVICE_NAME);
        match expiry.earliest {
            Some(micros) => next.set(mynafleet_kit::metrics::unix_seconds(
                mynafleet_kit::clock::from_micros(micros),
            )),
            // No active device with a certificate: nothing expires (a 0 would read as 1970).
            None => next.set(f64::NAN),
        }
        Ok(())
    }
}

impl Collect for Gauges {
    fn collect(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {
            if let Err(e) = self.read().await {
                tracing::warn!(error = %e, "metrics: fleet gauges not read");
            }
        })
    }
}
