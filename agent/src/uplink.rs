//! Layer 5 (STYLE.md §8): the uplink. Streams unacked outbox rows to the proxy over
//! `AgentService.StreamEvents` and deletes each on ack; a broken stream reconnects with
//! jittered backoff, to the next proxy when there are several; presence rides the same
//! stream.
//!
//! SKELETON (issue #6): the contract `run` codes against.

use std::sync::Arc;

use tokio::sync::watch;

use crate::event::Presence;
use crate::identity::Identity;
use crate::outbox::Outbox;

/// What the uplink reports about itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UplinkState {
    /// Whether a stream is open and ready.
    pub connected: bool,
}

/// Runs the uplink until `shutdown` completes.
pub async fn run(
    identity: Arc<Identity>,
    outbox: Outbox,
    presence: watch::Receiver<Presence>,
    state: watch::Sender<UplinkState>,
    shutdown: impl Future<Output = ()> + Send,
) {
    let _ = (identity, outbox, presence, state);
    shutdown.await;
}
