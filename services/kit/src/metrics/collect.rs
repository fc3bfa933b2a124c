//! Gauges that come from a database (outbox depths, chain lengths, certificate expiry) are
//! read when the endpoint is scraped, not on a timer: a registered collector sets them, and
//! nothing is read while nobody scrapes. A slow or failing collector keeps its old values.

use futures::future::BoxFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one scrape waits for one collector.
pub(crate) const COLLECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Something that sets gauges when metrics are scraped.
pub trait Collect: Send + Sync + 'static {
    /// Reads what it reports and sets its gauges; errors are its own to log.
    fn collect(&self) -> BoxFuture<'_, ()>;
}

type Entry = (u64, Arc<dyn Collect>);

static COLLECTORS: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Keeps a collector registered; dropping it removes the collector (a stopped service
/// stops reporting).
#[derive(Debug)]
#[must_use = "the collector is removed when the registration is dropped"]
pub struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut all) = COLLECTORS.lock() {
            all.retain(|(id, _)| *id != self.0);
        }
    }
}

/// Registers `collector` until the returned guard is dropped.
pub fn register(collector: Arc<dyn Collect>) -> Registration {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut all) = COLLECTORS.lock() {
        all.push((id, collector));
    }
    Registration(id)
}

/// Runs every registered collector concurrently, each bounded by [`COLLECT_TIMEOUT`].
pub(crate) async fn run_all() {
    let all: Vec<Arc<dyn Collect>> = match COLLECTORS.lock() {
        Ok(all) => all.iter().map(|(_, c)| Arc::clone(c)).collect(),
        Err(_) => return,
    };
    futures::future::join_all(all.iter().map(|c| async move {
        if tokio::time::timeout(COLLECT_TIMEOUT, c.collect())
            .await
            .is_err()
        {
            tracing::warn!(
                timeout_ms = COLLECT_TIMEOUT.as_millis() as u64,
                "metrics collector timed out; its gauges keep their last values"
            );
        }
    }))
    .await;
}
