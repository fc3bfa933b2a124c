//! The uplink's wire edge: outbox events and presence as `mynafleet.agent.v1` messages.
//! Pure conversions; nothing here logs or touches the network.

use mynafleet_proto::agent::v1 as pb;
use mynafleet_proto::prost_types::Timestamp;
use time::OffsetDateTime;

use crate::event::{EventKind, Presence, StoredEvent};
use crate::jpki::TokenKind;

/// The agent's version, sent in the hello, every event and every presence.
pub(crate) const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Returns the stream's opening message.
pub(crate) fn hello(outbox_id: &str) -> pb::StreamEventsRequest {
    request(pb::stream_events_request::Message::Hello(pb::StreamHello {
        outbox_id: outbox_id.to_owned(),
        agent_version: AGENT_VERSION.to_owned(),
    }))
}

/// Returns a stored event as the stream carries it.
pub(crate) fn event(stored: &StoredEvent) -> pb::StreamEventsRequest {
    request(pb::stream_events_request::Message::Event(scan_event(
        stored,
    )))
}

/// Returns the presence as the stream carries it.
pub(crate) fn presence(p: &Presence) -> pb::StreamEventsRequest {
    request(pb::stream_events_request::Message::Presence(pb::Presence {
        readers: p
            .readers
            .iter()
            .map(|r| pb::ReaderPresence {
                name: r.name.clone(),
                card_present: r.card_present,
            })
            .collect(),
        last_scan_time: p.last_scan_time.map(timestamp),
        agent_version: AGENT_VERSION.to_owned(),
    }))
}

fn request(message: pb::stream_events_request::Message) -> pb::StreamEventsRequest {
    pb::StreamEventsRequest {
        message: Some(message),
    }
}

/// Returns the wire form of a stored event.
pub(crate) fn scan_event(stored: &StoredEvent) -> pb::ScanEvent {
    let e = &stored.event;
    pb::ScanEvent {
        seq: stored.seq,
        time: Some(timestamp(e.time)),
        kind: kind(e.kind).into(),
        scan_id: e.scan_id.clone(),
        reader: e.reader.clone(),
        token: e.token.map_or(pb::TokenType::Unspecified, token).into(),
        tries_left: e.tries_left.map(u32::from),
        status_word: e.status_word.clone(),
        error_class: e.error_class.clone(),
        duration_ms: e
            .duration
            .map_or(0, |d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
        verdict: e.verdict.clone(),
        check_id: e.check_id.clone(),
        security: e.kind.is_security(),
        dropped_events: e.dropped_events,
        signature_certificate_available: e.signature_certificate_available,
        agent_version: AGENT_VERSION.to_owned(),
    }
}

fn timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
}

fn kind(kind: EventKind) -> pb::ScanEventKind {
    use pb::ScanEventKind as K;
    match kind {
        EventKind::AgentStarted => K::AgentStarted,
        EventKind::ReaderAttached => K::ReaderAttached,
        EventKind::ReaderRemoved => K::ReaderRemoved,
        EventKind::CardInserted => K::CardInserted,
        EventKind::CardRemoved => K::CardRemoved,
        EventKind::CardRead => K::CardRead,
        EventKind::PinTriesLeft => K::PinTriesLeft,
        EventKind::PinRejected => K::PinRejected,
        EventKind::PinBlocked => K::PinBlocked,
        EventKind::CardSigned => K::CardSigned,
        EventKind::VisualChosen => K::VisualChosen,
        EventKind::CheckCompleted => K::CheckCompleted,
        EventKind::CheckFailed => K::CheckFailed,
        EventKind::ScanFailed => K::ScanFailed,
        EventKind::ScanCancelled => K::ScanCancelled,
        EventKind::CommandRefused => K::CommandRefused,
        EventKind::PcscRecovered => K::PcscRecovered,
        EventKind::EventsDropped => K::EventsDropped,
    }
}

fn token(token: TokenKind) -> pb::TokenType {
    match token {
        TokenKind::Card => pb::TokenType::Card,
        TokenKind::JukiCard => pb::TokenType::JukiCard,
        TokenKind::Android => pb::TokenType::Android,
        TokenKind::Iphone => pb::TokenType::Iphone,
        TokenKind::Other => pb::TokenType::Other,
    }
}
