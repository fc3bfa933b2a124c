//! One `AgentService.StreamEvents` stream: hello, ready (renumbering the outbox when the
//! proxy's last seq came from another outbox), the current presence, then pending events in
//! seq order with at most [`WINDOW`] unacked, each deleted from the outbox on its ack.
//! Returns how the stream ended; it never sleeps or reconnects (`super::run` does).

use std::collections::VecDeque;
use std::time::Duration;

use mynafleet_proto::agent::v1 as pb;
use mynafleet_proto::agent::v1::agent_service_client::AgentServiceClient;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tonic::transport::Channel;
use tracing::{info, warn};

use super::{UplinkState, wire};
use crate::client::CallError;
use crate::event::Presence;
use crate::outbox::{Outbox, OutboxError};

/// Most events sent and not yet acked.
pub(crate) const WINDOW: usize = 256;
/// How long the proxy may take to answer the hello.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long events may wait for an ack before the stream is taken for dead.
const ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// How a stream ended.
#[derive(Debug)]
pub(crate) enum Ended {
    /// The proxy refused the stream or it broke.
    Call {
        /// What the proxy (or the transport) said.
        error: CallError,
        /// Whether the stream had reached ready.
        ready: bool,
    },
    /// The proxy ended the stream without an error, or stopped answering.
    Closed {
        /// Whether the stream had reached ready.
        ready: bool,
    },
    /// The outbox failed.
    Outbox(OutboxError),
}

impl Ended {
    /// Whether the stream had reached ready (so the proxy was reachable).
    pub(crate) fn was_ready(&self) -> bool {
        match self {
            Ended::Call { ready, .. } | Ended::Closed { ready } => *ready,
            Ended::Outbox(_) => true,
        }
    }
}

impl From<OutboxError> for Ended {
    fn from(e: OutboxError) -> Self {
        Ended::Outbox(e)
    }
}

/// Runs one stream on `channel` until it ends; `state` says connected while it is ready.
pub(crate) async fn stream(
    channel: Channel,
    url: &str,
    outbox: &Outbox,
    presence: &mut watch::Receiver<Presence>,
    state: &watch::Sender<UplinkState>,
) -> Ended {
    let mut s = Stream {
        outbox,
        ready: false,
        in_flight: VecDeque::new(),
        last_sent: 0,
    };
    let end = s.run(channel, url, presence, state).await;
    state.send_if_modified(|st| std::mem::replace(&mut st.connected, false));
    end.err().unwrap_or(Ended::Closed { ready: s.ready })
}

struct Stream<'a> {
    outbox: &'a Outbox,
    ready: bool,
    /// Seqs sent and not yet acked, in order.
    in_flight: VecDeque<u64>,
    last_sent: u64,
}

impl Stream<'_> {
    fn call(&self, status: tonic::Status) -> Ended {
        Ended::Call {
            error: CallError::from(status),
            ready: self.ready,
        }
    }

    async fn run(
        &mut self,
        channel: Channel,
        url: &str,
        presence: &mut watch::Receiver<Presence>,
        state: &watch::Sender<UplinkState>,
    ) -> Result<(), Ended> {
        // Room for a full window plus presence updates, so sending never waits on the proxy
        // while it waits on us to read its acks.
        let (tx, rx) = mpsc::channel(WINDOW * 2);
        let _ = tx.try_send(wire::hello(self.outbox.outbox_id()));
        let mut responses = AgentServiceClient::new(channel)
            .stream_events(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .map_err(|s| self.call(s))?
            .into_inner();
        let ready = match tokio::time::timeout(READY_TIMEOUT, responses.message()).await {
            Err(_) => return Err(Ended::Closed { ready: false }),
            Ok(Err(status)) => return Err(self.call(status)),
            Ok(Ok(None)) => return Err(Ended::Closed { ready: false }),
            Ok(Ok(Some(pb::StreamEventsResponse {
                message: Some(pb::stream_events_response::Message::Ready(ready)),
            }))) => ready,
            Ok(Ok(Some(_))) => {
                warn!(proxy = %url, "event stream answered the hello without ready");
                return Err(Ended::Closed { ready: false });
            }
        };
        self.ready = true;
        self.settle(&ready).await?;
        state.send_replace(UplinkState { connected: true });
        info!(proxy = %url, last_seq = ready.last_seq, "event stream ready");

        let _ = tx.try_send(wire::presence(&presence.borrow_and_update()));
        let mut presence_open = true;
        let mut appended = self.outbox.subscribe();
        let mut deadline = Instant::now() + ACK_TIMEOUT;
        loop {
            self.fill(&tx).await?;
            if self.in_flight.is_empty() {
                deadline = Instant::now() + ACK_TIMEOUT;
            }
            tokio::select! {
                _ = appended.changed() => {}
                changed = presence.changed(), if presence_open => {
                    if changed.is_ok() {
                        let _ = tx.try_send(wire::presence(&presence.borrow_and_update()));
                    } else {
                        presence_open = false;
                    }
                }
                () = tokio::time::sleep_until(deadline), if !self.in_flight.is_empty() => {
                    warn!(proxy = %url, unacked = self.in_flight.len(), "no ack in time; reconnecting");
                    return Err(Ended::Closed { ready: true });
                }
                message = responses.message() => match message {
                    Ok(Some(pb::StreamEventsResponse {
                        message: Some(pb::stream_events_response::Message::Ack(ack)),
                    })) => {
                        self.outbox.ack(ack.seq).await?;
                        while self.in_flight.front().is_some_and(|&s| s <= ack.seq) {
                            self.in_flight.pop_front();
                        }
                        deadline = Instant::now() + ACK_TIMEOUT;
                    }
                    Ok(Some(_)) => warn!(proxy = %url, "unexpected message on the event stream"),
                    Ok(None) => return Err(Ended::Closed { ready: true }),
                    Err(status) => return Err(self.call(status)),
                },
            }
        }
    }

    /// Squares the outbox with where the proxy says the device left off.
    async fn settle(&mut self, ready: &pb::StreamReady) -> Result<(), OutboxError> {
        let ours = self.outbox.outbox_id();
        let next_seq = self.outbox.next_seq().await?;
        let other_outbox = !ready.outbox_id.is_empty() && ready.outbox_id != ours;
        // The same outbox, but the proxy holds seqs this outbox never gave out: the state
        // dir was restored from a copy. New events must not be taken for duplicates.
        let restored = ready.outbox_id == ours && ready.last_seq >= next_seq;
        if other_outbox || restored {
            let shift = self.outbox.renumber_above(ready.last_seq).await?;
            info!(
                last_seq = ready.last_seq,
                shift, "outbox renumbered above the proxy's last seq"
            );
        } else if ready.outbox_id == ours && ready.last_seq > 0 {
            // Durable at the proxy already (an ack was lost): no need to send them again.
            self.outbox.ack(ready.last_seq).await?;
        }
        Ok(())
    }

    /// Sends pending events until the window is full or the outbox drained.
    async fn fill(&mut self, tx: &mpsc::Sender<pb::StreamEventsRequest>) -> Result<(), Ended> {
        while self.in_flight.len() < WINDOW {
            let room = u32::try_from(WINDOW - self.in_flight.len()).unwrap_or(u32::MAX);
            let events = self.outbox.pending_after(self.last_sent, room).await?;
            if events.is_empty() {
                return Ok(());
            }
            for e in &events {
                if tx.send(wire::event(e)).await.is_err() {
                    return Err(Ended::Closed { ready: true });
                }
                self.last_sent = e.seq;
                self.in_flight.push_back(e.seq);
            }
        }
        Ok(())
    }
}
