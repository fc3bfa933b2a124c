//! `AgentService.StreamEvents`: an agent's durable event uplink. The device passes the gate;
//! its first message must be a hello, answered with ready (the last seq held for the device
//! and the outbox it came from); then events are read in batches of whatever has arrived
//! (up to [`MAX_BATCH`]), validated, written in one transaction and only then acked with the
//! highest seq of the batch. Presence updates go to [`Presences`]; the stream's end, for any
//! reason, reports the device offline (unless a newer stream of it is open).
//!
//! The stream also ends when the device is cut (the gate's change notifications, rechecked
//! every heartbeat) and when the proxy shuts down. It never acks an event before its write
//! committed, and never stores anything after a malformed event.

use std::time::Duration;

use futures::{Stream, StreamExt as _};
use mynafleet_kit::auth::DeviceIdentity;
use mynafleet_kit::clock::{Clock, from_micros};
use mynafleet_kit::guard::text_contains_my_number;
use mynafleet_kit::outbox::BatchError;
use mynafleet_proto::agent::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Status};
use pb::stream_events_request::Message;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::{Agents, device};
use crate::error::Error;
use crate::events::{AgentEvent, EventBatch, EventStore, OpenStreams};
use crate::gate::Gate;
use crate::presence::{PresenceReport, Presences};

/// The most events one write takes.
pub(crate) const MAX_BATCH: usize = 256;
/// How long an opened stream may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the final status may wait for room in the response stream.
const FINAL_SEND: Duration = Duration::from_secs(5);

/// The response stream of `StreamEvents`.
pub(crate) type Responses =
    tokio_stream::wrappers::ReceiverStream<Result<pb::StreamEventsResponse, Status>>;

/// Opens an event stream for the calling device.
pub(super) async fn stream_events(
    agents: &Agents,
    req: Request<tonic::Streaming<pb::StreamEventsRequest>>,
) -> Result<Responses, Status> {
    let id = device(&req)?;
    // Subscribed before the first check, so a change landing between the two is seen.
    let changes = agents.gate.cache().subscribe();
    let admitted = agents.gate.check(&id).await?;
    let (tx, rx) = mpsc::channel(16);
    let session = Session {
        device: admitted.device,
        events: agents.events.clone(),
        presences: agents.presences.clone(),
        streams: agents.streams.clone(),
        clock: agents.clock.clone(),
        tx,
    };
    let cut = Cut {
        gate: agents.gate.clone(),
        id,
        every: agents.heartbeat,
    };
    tokio::spawn(session.run(req.into_inner(), cut, changes, agents.shutdown.clone()));
    Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Watches whether the device may still work.
struct Cut {
    gate: Gate,
    id: DeviceIdentity,
    every: Duration,
}

impl Cut {
    /// Returns the refusal once the device may no longer work (checked on every change of
    /// its status and every `every`).
    async fn until_refused(
        &self,
        device: &str,
        mut changes: broadcast::Receiver<Arc<str>>,
    ) -> Status {
        let mut tick = tokio::time::interval(self.every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = changes.recv() => match changed {
                    Ok(d) if *d == *device => {}
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    // The cache outlives every stream; its end can only mean the server's.
                    Err(broadcast::error::RecvError::Closed) => return Error::ShuttingDown.into(),
                },
            }
            if let Err(e) = self.gate.check(&self.id).await {
                return e.into();
            }
        }
    }
}

/// One open event stream.
pub(crate) struct Session {
    pub(crate) device: String,
    pub(crate) events: EventStore,
    pub(crate) presences: Presences,
    pub(crate) streams: OpenStreams,
    pub(crate) clock: Clock,
    pub(crate) tx: mpsc::Sender<Result<pb::StreamEventsResponse, Status>>,
}

/// What a stream said about its device so far.
#[derive(Debug, Default)]
pub(crate) struct Online {
    /// The stream's generation once its hello was taken.
    generation: Option<u64>,
    /// The last presence reported.
    last: Option<PresenceReport>,
}

impl Session {
    async fn run<S>(
        self,
        inbound: S,
        cut: Cut,
        changes: broadcast::Receiver<Arc<str>>,
        shutdown: CancellationToken,
    ) where
        S: Stream<Item = Result<pb::StreamEventsRequest, Status>> + Unpin + Send,
    {
        let _connected = crate::metrics::AgentStream::open();
        let mut online = Online::default();
        let end = tokio::select! {
            () = shutdown.cancelled() => Err(Error::ShuttingDown.into()),
            () = self.tx.closed() => Ok(()),
            refusal = cut.until_refused(&self.device, changes) => Err(refusal),
            end = self.serve(inbound, &mut online) => end,
        };
        if let Err(status) = end {
            tracing::debug!(device = %self.device, code = ?status.code(), "event stream ended");
            let _ = tokio::time::timeout(FINAL_SEND, self.tx.send(Err(status))).await;
        }
        self.offline(online);
    }

    /// Reports the device offline when this was its newest stream.
    pub(crate) fn offline(&self, online: Online) {
        let Some(generation) = online.generation else {
            return;
        };
        if self.streams.close(&self.device, generation) {
            let mut report = online.last.unwrap_or_else(|| PresenceReport {
                online: false,
                readers: Vec::new(),
                last_scan_time: None,
                agent_version: String::new(),
            });
            report.online = false;
            self.presences.report(&self.device, report);
        }
    }

    /// Serves the stream until the agent closes it (`Ok`) or it must end with a status.
    pub(crate) async fn serve<S>(&self, mut inbound: S, online: &mut Online) -> Result<(), Status>
    where
        S: Stream<Item = Result<pb::StreamEventsRequest, Status>> + Unpin + Send,
    {
        let hello = match tokio::time::timeout(HELLO_TIMEOUT, inbound.next()).await {
            Err(_) => return Err(Error::StreamHelloRequired.into()),
            // The agent went away (or broke off) before saying anything.
            Ok(None | Some(Err(_))) => return Ok(()),
            Ok(Some(Ok(pb::StreamEventsRequest {
                message: Some(Message::Hello(hello)),
            }))) => hello,
            Ok(Some(Ok(_))) => return Err(Error::StreamHelloRequired.into()),
        };
        if hello.outbox_id.is_empty() {
            return Err(Error::EventMalformed("the hello names no outbox_id".into()).into());
        }
        free_text("outbox_id", &hello.outbox_id)?;
        free_text("agent_version", &hello.agent_version)?;
        let position = self
            .events
            .position(&self.device)
            .await
            .map_err(|e| Error::EventStoreUnavailable(e.to_string()))?;
        online.generation = Some(self.streams.open(&self.device));
        self.report(
            online,
            PresenceReport {
                online: true,
                readers: Vec::new(),
                last_scan_time: None,
                agent_version: hello.agent_version.clone(),
            },
        );
        self.send(pb::stream_events_response::Message::Ready(
            pb::StreamReady {
                last_seq: position.last_seq,
                outbox_id: position.outbox_id,
            },
        ))
        .await?;

        let mut chunks = inbound.ready_chunks(MAX_BATCH);
        while let Some(chunk) = chunks.next().await {
            let mut events = Vec::with_capacity(chunk.len());
            let mut failure = None;
            let mut broken = false;
            for item in chunk {
                let Ok(msg) = item else {
                    broken = true;
                    break;
                };
                match msg.message {
                    Some(Message::Event(e)) => match agent_event(e) {
                        Ok(event) => events.push(event),
                        Err(e) => {
                            failure = Some(e);
                            break;
                        }
                    },
                    Some(Message::Presence(p)) => {
                        let report = presence(p, &hello.agent_version);
                        self.report(online, report);
                    }
                    Some(Message::Hello(_)) => {
                        failure = Some(Error::EventMalformed("a second hello".into()));
                        break;
                    }
                    None => {
                        failure = Some(Error::EventMalformed("an empty message".into()));
                        break;
                    }
                }
            }
            self.store(&hello, events).await?;
            if let Some(e) = failure {
                return Err(e.into());
            }
            if broken {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Writes `events` durably, then acks the highest seq among them.
    async fn store(&self, hello: &pb::StreamHello, events: Vec<AgentEvent>) -> Result<(), Status> {
        let Some(highest) = events.iter().map(|e| e.seq).max() else {
            return Ok(());
        };
        let stored = self
            .events
            .write(EventBatch {
                device: self.device.clone(),
                outbox_id: hello.outbox_id.clone(),
                agent_version: hello.agent_version.clone(),
                received_time: self.clock.now_micros(),
                events,
            })
            .await
            .map_err(|e| match e {
                BatchError::Stopped => Error::ShuttingDown,
                BatchError::Write(e) => Error::EventStoreUnavailable(e.to_string()),
            })?;
        crate::metrics::events_written(stored.stored, stored.duplicates);
        self.send(pb::stream_events_response::Message::Ack(pb::EventAck {
            seq: highest,
            duplicates: u32::try_from(stored.duplicates).unwrap_or(u32::MAX),
        }))
        .await
    }

    fn report(&self, online: &mut Online, report: PresenceReport) {
        self.presences.report(&self.device, report.clone());
        online.last = Some(report);
    }

    async fn send(&self, message: pb::stream_events_response::Message) -> Result<(), Status> {
        let response = pb::StreamEventsResponse {
            message: Some(message),
        };
        // A closed response stream means the agent is gone; the select in `run` ends too.
        self.tx
            .send(Ok(response))
            .await
            .map_err(|_| Status::cancelled("the agent closed the stream"))
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

/// Refuses free text that holds a My Number.
fn free_text(field: &str, value: &str) -> Result<(), Error> {
    if text_contains_my_number(value) {
        return Err(Error::EventMalformed(format!("{field} holds a My Number")));
    }
    Ok(())
}

/// Validates a wire event: seq > 0, kind set, time set, no My Number in its text.
pub(crate) fn agent_event(e: pb::ScanEvent) -> Result<AgentEvent, Error> {
    let seq = e.seq;
    let malformed = |what: &str| Error::EventMalformed(format!("event {seq}: {what}"));
    if seq == 0 {
        return Err(Error::EventMalformed("an event has seq 0".into()));
    }
    let kind = match pb::ScanEventKind::try_from(e.kind) {
        Ok(pb::ScanEventKind::Unspecified) => return Err(malformed("no kind")),
        Ok(kind) => name(kind.as_str_name(), "SCAN_EVENT_KIND_"),
        // A kind newer than this proxy: kept by number.
        Err(_) => format!("UNKNOWN_{}", e.kind),
    };
    let time = e.time.ok_or_else(|| malformed("no time"))?;
    let time = time
        .seconds
        .checked_mul(1_000_000)
        .and_then(|s| s.checked_add(i64::from(time.nanos / 1000)))
        .filter(|_| (0..1_000_000_000).contains(&time.nanos))
        .ok_or_else(|| malformed("time out of range"))?;
    let token = match pb::TokenType::try_from(e.token) {
        Ok(pb::TokenType::Unspecified) => String::new(),
        Ok(token) => name(token.as_str_name(), "TOKEN_TYPE_"),
        Err(_) => format!("UNKNOWN_{}", e.token),
    };
    for (field, value) in [
        ("scan_id", &e.scan_id),
        ("reader", &e.reader),
        ("status_word", &e.status_word),
        ("error_class", &e.error_class),
        ("verdict", &e.verdict),
        ("check_id", &e.check_id),
        ("agent_version", &e.agent_version),
    ] {
        free_text(field, value).map_err(|_| malformed(&format!("{field} holds a My Number")))?;
    }
    Ok(AgentEvent {
        seq,
        kind,
        time,
        scan_id: e.scan_id,
        reader: e.reader,
        token,
        tries_left: e.tries_left,
        status_word: e.status_word,
        error_class: e.error_class,
        duration_ms: e.duration_ms,
        verdict: e.verdict,
        check_id: e.check_id,
        security: e.security,
        dropped_events: e.dropped_events,
        signature_certificate_available: e.signature_certificate_available,
        agent_version: e.agent_version,
    })
}

/// Turns a wire presence into a report of an online device.
pub(crate) fn presence(p: pb::Presence, hello_version: &str) -> PresenceReport {
    let last_scan_time = p.last_scan_time.map(|t| {
        let micros = t
            .seconds
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(t.nanos / 1000));
        from_micros(micros)
    });
    PresenceReport {
        online: true,
        readers: p
            .readers
            .into_iter()
            .map(|r| (r.name, r.card_present))
            .collect(),
        last_scan_time,
        agent_version: if p.agent_version.is_empty() {
            hello_version.to_owned()
        } else {
            p.agent_version
        },
    }
}

fn name(wire: &str, prefix: &str) -> String {
    wire.strip_prefix(prefix).unwrap_or(wire).to_owned()
}

#[cfg(test)]
mod tests;
