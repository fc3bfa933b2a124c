//! The scan service against card-sim's card in memory and a fake proxy.

use std::sync::Mutex;
use std::time::Duration;

use mynafleet_card_sim::{Card, CardSpec, Quirks};

use super::*;
use crate::card_thread::Connector;
use crate::event::EventKind;
use crate::jpki::PinCounter;
use crate::outbox::OutboxLimits;
use crate::session::{Method, Phase};
use crate::transport::{CardTransport, TransportError};

const READER: &str = "Virtual PCD 00 00";

/// The card on the reader, or none; shared between the test and the card thread.
type CardSlot = Arc<Mutex<Option<Card>>>;

struct SimTransport<'a>(&'a mut Card);

impl CardTransport for SimTransport<'_> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.0
            .transmit(apdu)
            .map_err(|_| TransportError::CardRemoved)
    }
}

struct SimConnector(CardSlot);

impl Connector for SimConnector {
    fn with_card<R>(
        &mut self,
        _reader: &str,
        work: &mut dyn FnMut(&mut dyn CardTransport) -> R,
    ) -> Result<R, TransportError> {
        let mut slot = self.0.lock().unwrap();
        let card = slot.as_mut().ok_or(TransportError::NoCard)?;
        Ok(work(&mut SimTransport(card)))
    }
}

#[derive(Default)]
struct FakeProxy {
    calls: Mutex<Vec<CompleteCall>>,
    challenges: Mutex<u32>,
}

impl CheckClient for FakeProxy {
    fn begin(&self) -> BoxFuture<'_, Result<Challenge, ProxyError>> {
        Box::pin(async move {
            let mut n = self.challenges.lock().unwrap();
            *n += 1;
            Ok(Challenge {
                id: format!("challenge-{n}"),
                bytes: vec![u8::try_from(*n).unwrap_or(0); 32],
            })
        })
    }

    fn complete(&self, call: CompleteCall) -> BoxFuture<'_, Result<CheckAnswer, ProxyError>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push(call);
            Ok(CheckAnswer::new(
                "check-1",
                Verdict::Eligible,
                "1",
                "copy\ttext\r\n",
            ))
        })
    }
}

pub(crate) struct Harness {
    pub(crate) service: ScanService,
    events: mpsc::Sender<ReaderEvent>,
    card: CardSlot,
    proxy: Arc<FakeProxy>,
    outbox: Outbox,
    _dir: tempfile::TempDir,
    _uplink: watch::Sender<UplinkState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub(crate) async fn start() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), OutboxLimits::default())
        .await
        .unwrap();
    let card: CardSlot = Arc::new(Mutex::new(None));
    let proxy = Arc::new(FakeProxy::default());
    let (events, reader_events) = mpsc::channel(16);
    let (uplink_tx, uplink) = watch::channel(UplinkState::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (service, _task) = ScanService::start(
        ScanDeps {
            cards: CardThread::spawn(SimConnector(card.clone())),
            reader_events,
            proxy: proxy.clone(),
            outbox: outbox.clone(),
            uplink,
            reader_filter: None,
            clock: Arc::new(OffsetDateTime::now_utc),
        },
        async move {
            let _ = stopped.await;
        },
    );
    events
        .send(ReaderEvent::Attached {
            reader: READER.into(),
        })
        .await
        .unwrap();
    Harness {
        service,
        events,
        card,
        proxy,
        outbox,
        _dir: dir,
        _uplink: uplink_tx,
        _stop: stop,
    }
}

pub(crate) fn fixture() -> CardSpec {
    CardSpec::fixture().unwrap()
}

impl Harness {
    /// Puts `card` on the reader and returns a handle on its APDU record.
    pub(crate) async fn insert(&self, card: Card) -> mynafleet_card_sim::ApduLog {
        let log = card.apdu_log_handle();
        let atr = card.atr().to_vec();
        *self.card.lock().unwrap() = Some(card);
        self.events
            .send(ReaderEvent::CardInserted {
                reader: READER.into(),
                atr,
            })
            .await
            .unwrap();
        log
    }

    /// Takes the card off the reader and returns it.
    async fn remove(&self) -> Option<Card> {
        let card = self.card.lock().unwrap().take();
        self.events
            .send(ReaderEvent::CardRemoved {
                reader: READER.into(),
            })
            .await
            .unwrap();
        card
    }

    /// Waits until the state satisfies `wanted`, failing with the last state seen.
    pub(crate) async fn wait(&self, wanted: impl Fn(&TerminalState) -> bool) -> TerminalState {
        let mut state = self.service.state();
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                {
                    let now = state.borrow_and_update();
                    if wanted(&now) {
                        return now.clone();
                    }
                }
                state.changed().await.unwrap();
            }
        })
        .await;
        waited.unwrap_or_else(|_| panic!("state never matched: {:?}", *state.borrow()))
    }

    pub(crate) async fn awaiting_identity(&self) -> Scan {
        let state = self
            .wait(|s| {
                s.scan
                    .as_ref()
                    .is_some_and(|v| v.scan.phase == Phase::AwaitingIdentity)
            })
            .await;
        state.scan.unwrap().scan
    }

    async fn kinds(&self) -> Vec<EventKind> {
        self.outbox
            .pending_after(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event.kind)
            .collect()
    }
}

fn pin(text: &str) -> Pin {
    Pin::parse(text).unwrap()
}

/// A VERIFY carrying a PIN (not the empty tries query).
fn is_verify_with_data(apdu: &[u8]) -> bool {
    apdu.len() > 4 && apdu[..4] == [0x00, 0x20, 0x00, 0x80]
}

#[tokio::test]
async fn the_right_pin_ends_done_with_the_proxy_result() {
    let h = start().await;
    h.insert(Card::jpki(fixture())).await;
    let scan = h.awaiting_identity().await;
    assert_eq!(scan.pin, Some(PinCounter::Tries(3)));
    let view = h
        .service
        .submit_pin(&scan.id, pin("1234"), false, Consents::default())
        .await
        .unwrap();
    assert_eq!(view.scan.phase, Phase::Done);
    let result = view.result.unwrap();
    assert_eq!(result.verdict(), Verdict::Eligible);
    assert_eq!(result.copy_text(), "copy\ttext\r\n");
    let calls = h.proxy.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, Method::Pin);
    assert_eq!(calls[0].signature.len(), 256);
    assert_eq!(
        calls[0].auth_certificate,
        Card::jpki(fixture()).auth_certificate().unwrap()
    );
    assert_eq!(calls[0].challenge_id, "challenge-1");
}

#[tokio::test]
async fn events_are_appended_in_order_without_the_result() {
    let h = start().await;
    h.insert(Card::jpki(fixture())).await;
    let scan = h.awaiting_identity().await;
    h.service
        .submit_pin(&scan.id, pin("1234"), false, Consents::default())
        .await
        .unwrap();
    assert_eq!(
        h.kinds().await,
        [
            EventKind::ReaderAttached,
            EventKind::CardInserted,
            EventKind::CardRead,
            EventKind::PinTriesLeft,
            EventKind::CardSigned,
            EventKind::CheckCompleted,
        ]
    );
    let stored = h.outbox.pending_after(0, 100).await.unwrap();
    let completed = &stored.last().unwrap().event;
    assert_eq!(completed.verdict, "ELIGIBLE:1");
    assert_eq!(completed.check_id, "check-1");
    assert!(stored[1..].iter().all(|e| e.event.scan_id == scan.id));
    let state = h
        .wait(|s| s.outbox_pending == 6 && s.last_finished.is_some())
        .await;
    assert_eq!(state.readers.len(), 1);
    assert!(h.service.presence().borrow().last_scan_time.is_some());
}

#[tokio::test]
async fn a_wrong_pin_waits_again_with_fewer_tries_and_is_not_retried() {
    let h = start().await;
    let log = h.insert(Card::jpki(fixture())).await;
    let scan = h.awaiting_identity().await;
    let view = h
        .service
        .submit_pin(&scan.id, pin("9999"), false, Consents::default())
        .await
        .unwrap();
    assert_eq!(view.scan.phase, Phase::AwaitingIdentity);
    assert_eq!(view.scan.pin, Some(PinCounter::Tries(2)));
    assert!(view.scan.pin_rejected);
    let verifies = log
        .snapshot()
        .iter()
        .filter(|a| is_verify_with_data(a))
        .count();
    assert_eq!(verifies, 1, "the agent sent the pin once");
    assert!(h.proxy.calls.lock().unwrap().is_empty());
    assert!(h.kinds().await.contains(&EventKind::PinRejected));
}

#[tokio::test]
async fn a_blocked_card_is_refused_and_sees_no_verify_with_data() {
    let h = start().await;
    let mut spec = fixture();
    spec.tries_left = 0;
    let log = h.insert(Card::jpki(spec)).await;
    let scan = h.awaiting_identity().await;
    assert_eq!(scan.pin, Some(PinCounter::Blocked));
    let refused = h
        .service
        .submit_pin(&scan.id, pin("1234"), true, Consents::default())
        .await;
    assert_eq!(refused, Err(TerminalError::Refused(Refusal::PinBlocked)));
    assert!(!log.snapshot().iter().any(|a| is_verify_with_data(a)));
    assert!(h.kinds().await.contains(&EventKind::PinBlocked));
    // Visual mode remains.
    let view = h
        .service
        .choose_visual(&scan.id, "staff-7", Consents::default())
        .await
        .unwrap();
    assert_eq!(view.scan.phase, Phase::Done);
    let calls = h.proxy.calls.lock().unwrap().clone();
    assert_eq!(calls[0].method, Method::Visual);
    assert_eq!(calls[0].attesting_staff, "staff-7");
    assert!(calls[0].signature.is_empty());
}

#[tokio::test]
async fn the_last_try_needs_confirmation() {
    let h = start().await;
    let mut spec = fixture();
    spec.tries_left = 1;
    let log = h.insert(Card::jpki(spec)).await;
    let scan = h.awaiting_identity().await;
    let refused = h
        .service
        .submit_pin(&scan.id, pin("1234"), false, Consents::default())
        .await;
    assert_eq!(
        refused,
        Err(TerminalError::Refused(Refusal::LastTryNotConfirmed))
    );
    assert!(!log.snapshot().iter().any(|a| is_verify_with_data(a)));
    let view = h
        .service
        .submit_pin(&scan.id, pin("1234"), true, Consents::default())
        .await
        .unwrap();
    assert_eq!(view.scan.phase, Phase::Done);
}

#[tokio::test]
async fn a_pin_for_another_scan_is_refused() {
    let h = start().await;
    h.insert(Card::jpki(fixture())).await;
    h.awaiting_identity().await;
    let refused = h
        .service
        .submit_pin("another-scan", pin("1234"), false, Consents::default())
        .await;
    assert_eq!(refused, Err(TerminalError::Refused(Refusal::ScanMismatch)));
}

#[tokio::test]
async fn a_card_pulled_mid_read_fails_cleanly_and_the_next_insert_works() {
    let h = start().await;
    let card = Card::jpki(fixture()).with_quirks(Quirks {
        remove_after_reads: Some(1),
        ..Quirks::default()
    });
    h.insert(card).await;
    let failed = h
        .wait(|s| {
            s.scan
                .as_ref()
                .is_some_and(|v| v.scan.phase == Phase::Failed)
        })
        .await
        .scan
        .unwrap()
        .scan;
    assert_eq!(failed.failure.unwrap().reason, "CARD_REMOVED");
    let card = h.remove().await.unwrap();
    h.insert(card).await;
    let scan = h.awaiting_identity().await;
    assert_ne!(scan.id, failed.id, "a fresh scan");
    let kinds = h.kinds().await;
    assert!(kinds.contains(&EventKind::ScanFailed));
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::CardInserted)
            .count(),
        2
    );
}

#[tokio::test]
async fn cancel_ends_the_scan_without_a_check() {
    let h = start().await;
    h.insert(Card::jpki(fixture())).await;
    let scan = h.awaiting_identity().await;
    let view = h.service.cancel(&scan.id).await.unwrap();
    assert_eq!(view.scan.phase, Phase::Cancelled);
    assert!(h.kinds().await.contains(&EventKind::ScanCancelled));
    let refused = h
        .service
        .submit_pin(&scan.id, pin("1234"), false, Consents::default())
        .await;
    assert_eq!(refused, Err(TerminalError::Refused(Refusal::NoScanWaiting)));
}
