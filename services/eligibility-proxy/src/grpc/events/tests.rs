//! The event stream's protocol against the real store (SQLite): hello and ready, batches
//! acked after their write, duplicates, malformed events, a failing store, presence.

use super::*;
use crate::events::store::{count_events, seqs};
use crate::presence::{PresenceSink, SendError, Stamped};
use mynafleet_kit::db::Backend;
use mynafleet_kit::db::testing::fresh_pool;
use mynafleet_kit::status::reason_of;
use mynafleet_proto::prost_types::Timestamp;
use std::sync::Mutex;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

const DEVICE: &str = "organizations/o1/clinics/c1/devices/d1";
const DEADLINE: Duration = Duration::from_secs(10);

type Sent = Arc<Mutex<Vec<(String, PresenceReport)>>>;

struct Sink(Sent);

impl PresenceSink for Sink {
    async fn send(&self, device: &str, presence: &Stamped) -> Result<(), SendError> {
        let mut sent = self.0.lock().unwrap();
        sent.push((device.to_owned(), presence.report.clone()));
        Ok(())
    }
}

struct Harness {
    pool: sqlx::AnyPool,
    _db: mynafleet_kit::db::testing::TestDatabase,
    events: EventStore,
    presences: Presences,
    sent: Sent,
    streams: OpenStreams,
}

impl Harness {
    async fn new() -> Self {
        let (pool, db) = fresh_pool(Backend::Sqlite, &crate::store::MIGRATIONS).await;
        let sent = Sent::default();
        let (presences, _task) = Presences::spawn(
            Sink(sent.clone()),
            Clock::system(),
            "proxy-test:1".into(),
            CancellationToken::new(),
        );
        Self {
            events: EventStore::spawn(pool.clone(), CancellationToken::new()),
            pool,
            _db: db,
            presences,
            sent,
            streams: OpenStreams::default(),
        }
    }

    /// Opens a stream: returns the agent's sender, the responses and the served task.
    fn open(&self) -> Stream {
        let (agent, inbound) = mpsc::channel(1024);
        let (tx, responses) = mpsc::channel(1024);
        let session = Session {
            device: DEVICE.into(),
            events: self.events.clone(),
            presences: self.presences.clone(),
            streams: self.streams.clone(),
            clock: Clock::system(),
            tx,
        };
        let task = tokio::spawn(async move {
            let mut online = Online::default();
            let end = session
                .serve(ReceiverStream::new(inbound), &mut online)
                .await;
            session.offline(online);
            end
        });
        Stream {
            agent,
            responses,
            task,
        }
    }

    /// Waits until the forwarded presence reports satisfy `done`.
    async fn presence_until(&self, done: impl Fn(&[(String, PresenceReport)]) -> bool) {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let seen = tokio::time::timeout(DEADLINE, async {
            loop {
                tick.tick().await;
                if done(&self.sent.lock().unwrap()) {
                    return;
                }
            }
        })
        .await;
        assert!(
            seen.is_ok(),
            "presence seen: {:?}",
            self.sent.lock().unwrap()
        );
    }
}

struct Stream {
    agent: mpsc::Sender<Result<pb::StreamEventsRequest, Status>>,
    responses: mpsc::Receiver<Result<pb::StreamEventsResponse, Status>>,
    task: JoinHandle<Result<(), Status>>,
}

impl Stream {
    async fn send(&self, message: Message) {
        self.agent
            .send(Ok(pb::StreamEventsRequest {
                message: Some(message),
            }))
            .await
            .unwrap();
    }

    async fn hello(&self, outbox: &str) {
        self.send(Message::Hello(pb::StreamHello {
            outbox_id: outbox.into(),
            agent_version: "0.1.0".into(),
        }))
        .await;
    }

    async fn next(&mut self) -> pb::stream_events_response::Message {
        let got = tokio::time::timeout(DEADLINE, self.responses.recv())
            .await
            .expect("a response in time")
            .expect("the stream is open")
            .expect("not an error");
        got.message.expect("a message")
    }

    async fn ready(&mut self) -> pb::StreamReady {
        match self.next().await {
            pb::stream_events_response::Message::Ready(r) => r,
            other => panic!("expected ready, got {other:?}"),
        }
    }

    async fn ack(&mut self) -> pb::EventAck {
        match self.next().await {
            pb::stream_events_response::Message::Ack(a) => a,
            other => panic!("expected an ack, got {other:?}"),
        }
    }

    /// Closes the agent's side and returns how the stream ended.
    async fn end(self) -> Result<(), Status> {
        drop(self.agent);
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the stream ends")
            .unwrap()
    }
}

fn wire(seq: u64) -> pb::ScanEvent {
    pb::ScanEvent {
        seq,
        time: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 5_000,
        }),
        kind: pb::ScanEventKind::CardInserted.into(),
        reader: "Virtual PCD 00 00".into(),
        scan_id: format!("scan-{seq}"),
        ..Default::default()
    }
}

#[tokio::test]
async fn events_are_acked_after_their_write_and_duplicates_counted() {
    let h = Harness::new().await;
    let mut s = h.open();
    s.hello("ob-1").await;
    assert_eq!(
        s.ready().await,
        pb::StreamReady {
            last_seq: 0,
            outbox_id: String::new()
        }
    );
    for seq in 1..=3 {
        s.send(Message::Event(wire(seq))).await;
    }
    let mut acked = 0;
    while acked < 3 {
        let ack = s.ack().await;
        assert!(ack.seq > acked, "acks move forward");
        assert_eq!(ack.duplicates, 0);
        acked = ack.seq;
        // Acked means durable.
        assert!(count_events(&h.pool, DEVICE).await.unwrap() >= acked);
    }
    s.end().await.unwrap();

    // A reconnect hears where the device left off and resends overlapping events.
    let mut s = h.open();
    s.hello("ob-1").await;
    assert_eq!(
        s.ready().await,
        pb::StreamReady {
            last_seq: 3,
            outbox_id: "ob-1".into()
        }
    );
    let mut dups = 0;
    let mut acked = 0;
    for seq in 2..=5 {
        s.send(Message::Event(wire(seq))).await;
    }
    while acked < 5 {
        let ack = s.ack().await;
        dups += ack.duplicates;
        acked = ack.seq;
    }
    assert_eq!(dups, 2);
    s.end().await.unwrap();
    assert_eq!(seqs(&h.pool, DEVICE).await.unwrap(), [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn a_stream_must_open_with_a_hello() {
    let h = Harness::new().await;
    let s = h.open();
    s.send(Message::Event(wire(1))).await;
    let status = tokio::time::timeout(DEADLINE, s.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(reason_of(&status).as_deref(), Some("STREAM_HELLO_REQUIRED"));
    assert_eq!(count_events(&h.pool, DEVICE).await.unwrap(), 0);
}

#[tokio::test]
async fn a_malformed_event_ends_the_stream_and_nothing_after_it_is_stored() {
    let h = Harness::new().await;
    let mut s = h.open();
    s.hello("ob-1").await;
    s.ready().await;
    let mut no_time = wire(3);
    no_time.time = None;
    // All queued before the proxy reads them: one batch.
    s.send(Message::Event(wire(1))).await;
    s.send(Message::Event(wire(2))).await;
    s.send(Message::Event(no_time)).await;
    s.send(Message::Event(wire(4))).await;
    let mut acked = 0;
    while acked < 2 {
        acked = s.ack().await.seq;
    }
    let status = tokio::time::timeout(DEADLINE, s.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(reason_of(&status).as_deref(), Some("EVENT_MALFORMED"));
    assert_eq!(seqs(&h.pool, DEVICE).await.unwrap(), [1, 2]);
}

#[tokio::test]
async fn a_failing_store_ends_the_stream_as_unavailable_without_an_ack() {
    let h = Harness::new().await;
    let mut s = h.open();
    s.hello("ob-1").await;
    s.ready().await;
    h.pool.close().await;
    s.send(Message::Event(wire(1))).await;
    let status = tokio::time::timeout(DEADLINE, s.task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert_eq!(
        reason_of(&status).as_deref(),
        Some("EVENT_STORE_UNAVAILABLE")
    );
    assert!(s.responses.try_recv().is_err(), "no ack was sent");
}

#[tokio::test]
async fn presence_is_reported_while_open_and_offline_at_the_end() {
    let h = Harness::new().await;
    let mut s = h.open();
    s.hello("ob-1").await;
    s.ready().await;
    s.send(Message::Presence(pb::Presence {
        readers: vec![pb::ReaderPresence {
            name: "Virtual PCD 00 00".into(),
            card_present: true,
        }],
        last_scan_time: None,
        agent_version: String::new(),
    }))
    .await;
    h.presence_until(|sent| {
        sent.iter()
            .any(|(_, r)| r.online && r.readers == [("Virtual PCD 00 00".to_owned(), true)])
    })
    .await;
    assert!(
        h.sent
            .lock()
            .unwrap()
            .iter()
            .all(|(d, r)| d == DEVICE && r.agent_version == "0.1.0")
    );
    s.end().await.unwrap();
    h.presence_until(|sent| sent.last().is_some_and(|(_, r)| !r.online))
        .await;
}

#[tokio::test]
async fn an_older_stream_ending_leaves_the_device_online() {
    let h = Harness::new().await;
    let mut old = h.open();
    old.hello("ob-1").await;
    old.ready().await;
    let mut new = h.open();
    new.hello("ob-1").await;
    new.ready().await;
    old.end().await.unwrap();
    // The newer stream still reports; the old one's end sent nothing offline.
    new.send(Message::Presence(pb::Presence {
        readers: vec![pb::ReaderPresence {
            name: "r2".into(),
            card_present: false,
        }],
        ..Default::default()
    }))
    .await;
    h.presence_until(|sent| sent.iter().any(|(_, r)| r.readers.len() == 1))
        .await;
    assert!(h.sent.lock().unwrap().iter().all(|(_, r)| r.online));
    new.end().await.unwrap();
    h.presence_until(|sent| sent.last().is_some_and(|(_, r)| !r.online))
        .await;
}

#[test]
fn events_are_validated() {
    let reason = |e: Error| e.reason();
    assert_eq!(reason(agent_event(wire(0)).unwrap_err()), "EVENT_MALFORMED");
    let mut no_kind = wire(1);
    no_kind.kind = 0;
    assert!(agent_event(no_kind).is_err());
    let mut no_time = wire(1);
    no_time.time = None;
    assert!(agent_event(no_time).is_err());
    let mut my_number = wire(1);
    let digit = mynafleet_kit::guard::my_number_check_digit("12345678901").unwrap();
    my_number.error_class = format!("12345678901{digit}");
    assert!(agent_event(my_number).is_err(), "a My Number never gets in");

    let mut full = wire(9);
    full.kind = pb::ScanEventKind::PinRejected.into();
    full.token = pb::TokenType::Android.into();
    full.tries_left = Some(2);
    full.security = true;
    let event = agent_event(full).unwrap();
    assert_eq!(event.kind, "PIN_REJECTED");
    assert_eq!(event.token, "ANDROID");
    assert_eq!(event.time, 1_700_000_000_000_005);
    assert_eq!(event.tries_left, Some(2));
    assert!(event.security);
    let mut newer = wire(10);
    newer.kind = 99;
    assert_eq!(agent_event(newer).unwrap().kind, "UNKNOWN_99");
}
