//! The scan service through the real pcsc stack: pcscd with the vpcd driver, card-sim's card
//! inserted through vpcd slot 0, the agent's reader watcher and PC/SC card thread, and a fake
//! proxy (the whole-suite flow with the real proxy lives in the e2e tests).
//!
//! Needs pcscd running with the vpcd reader configuration; the name contains `pcscd`, so
//! nextest runs it alone (it shares vpcd's fixed port). Readiness is observed on the scan
//! service's state with a deadline, never by sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mynafleet_agent::card_thread::{CardThread, PcscConnector};
use mynafleet_agent::jpki::{Pin, PinCounter};
use mynafleet_agent::outbox::{Outbox, OutboxLimits};
use mynafleet_agent::scan::{
    BoxFuture, Challenge, CheckAnswer, CheckClient, CompleteCall, Consents, ProxyError, ScanDeps,
    ScanService, TerminalState, Verdict,
};
use mynafleet_agent::session::Phase;
use mynafleet_agent::transport::spawn_watcher;
use mynafleet_agent::uplink::UplinkState;
use mynafleet_card_sim::{Card, CardSpec, Quirks, VpcdClient};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

const READER: &str = "Virtual PCD 00 00";
const VPCD_HOST: &str = "127.0.0.1";
const VPCD_PORT: u16 = 35963;

#[derive(Default)]
struct FakeProxy {
    signatures: Mutex<Vec<usize>>,
}

impl CheckClient for FakeProxy {
    fn begin(&self) -> BoxFuture<'_, Result<Challenge, ProxyError>> {
        Box::pin(async {
            Ok(Challenge {
                id: "challenge".into(),
                bytes: vec![7; 32],
            })
        })
    }

    fn complete(&self, call: CompleteCall) -> BoxFuture<'_, Result<CheckAnswer, ProxyError>> {
        Box::pin(async move {
            self.signatures.lock().unwrap().push(call.signature.len());
            Ok(CheckAnswer::new("check", Verdict::Eligible, "1", ""))
        })
    }
}

async fn wait(
    state: &mut watch::Receiver<TerminalState>,
    what: &str,
    wanted: impl Fn(&TerminalState) -> bool,
) -> TerminalState {
    let waited = tokio::time::timeout(Duration::from_secs(15), async {
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
    waited.unwrap_or_else(|_| panic!("{what}: last state {:?}", *state.borrow()))
}

fn phase_is(phase: Phase) -> impl Fn(&TerminalState) -> bool {
    move |s| s.scan.as_ref().is_some_and(|v| v.scan.phase == phase)
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_through_pcscd_pin_checks_and_a_pulled_card() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), OutboxLimits::default())
        .await
        .unwrap();
    let (tx, reader_events) = mpsc::channel(64);
    let watcher = spawn_watcher(move |event| tx.blocking_send(event).is_ok());
    let proxy = Arc::new(FakeProxy::default());
    let (_uplink, uplink) = watch::channel(UplinkState::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (service, task) = ScanService::start(
        ScanDeps {
            cards: CardThread::spawn(PcscConnector::new()),
            reader_events,
            proxy: proxy.clone(),
            outbox,
            uplink,
            reader_filter: Some(READER.into()),
            clock: Arc::new(OffsetDateTime::now_utc),
        },
        async move {
            let _ = stopped.await;
        },
    );
    let mut state = service.state();
    wait(&mut state, "vpcd slot 0 listed and empty", |s| {
        s.readers
            .iter()
            .any(|r| r.name == READER && !r.card_present)
    })
    .await;

    // A wrong PIN, then the right one.
    let inserted = VpcdClient::insert(
        VPCD_HOST,
        VPCD_PORT,
        Card::jpki(CardSpec::fixture().unwrap()),
    )
    .unwrap();
    let scan = wait(
        &mut state,
        "awaiting the pin",
        phase_is(Phase::AwaitingIdentity),
    )
    .await
    .scan
    .unwrap()
    .scan;
    assert_eq!(scan.pin, Some(PinCounter::Tries(3)));
    let rejected = service
        .submit_pin(
            &scan.id,
            Pin::parse("9999").unwrap(),
            false,
            Consents::default(),
        )
        .await
        .unwrap();
    assert_eq!(rejected.scan.pin, Some(PinCounter::Tries(2)));
    let done = service
        .submit_pin(
            &scan.id,
            Pin::parse("1234").unwrap(),
            false,
            Consents::default(),
        )
        .await
        .unwrap();
    assert_eq!(done.scan.phase, Phase::Done);
    assert_eq!(*proxy.signatures.lock().unwrap(), [256]);
    let card = inserted.remove().unwrap();
    wait(&mut state, "card removed", |s| {
        s.readers
            .iter()
            .any(|r| r.name == READER && !r.card_present)
    })
    .await;
    let verifies = card
        .apdu_log()
        .iter()
        .filter(|a| a.len() > 4 && a[..4] == [0x00, 0x20, 0x00, 0x80])
        .count();
    assert_eq!(verifies, 2, "one verify per submitted pin, none retried");

    // Pulled in the middle of the certificate read, then put back.
    let pulled = Card::jpki(CardSpec::fixture().unwrap()).with_quirks(Quirks {
        remove_after_reads: Some(2),
        ..Quirks::default()
    });
    let inserted = VpcdClient::insert(VPCD_HOST, VPCD_PORT, pulled).unwrap();
    let failed = wait(&mut state, "the pulled card fails", phase_is(Phase::Failed))
        .await
        .scan
        .unwrap()
        .scan;
    assert_eq!(failed.failure.unwrap().reason, "CARD_REMOVED");
    let (card, _) = inserted.wait().unwrap();
    wait(&mut state, "card removed", |s| {
        s.readers
            .iter()
            .any(|r| r.name == READER && !r.card_present)
    })
    .await;
    let inserted = VpcdClient::insert(VPCD_HOST, VPCD_PORT, card).unwrap();
    let again = wait(&mut state, "the next insert works", |s| {
        s.scan
            .as_ref()
            .is_some_and(|v| v.scan.id != failed.id && v.scan.phase == Phase::AwaitingIdentity)
    })
    .await;
    assert!(again.scan.is_some());
    inserted.remove().unwrap();

    stop.send(()).unwrap();
    task.await.unwrap();
    tokio::task::spawn_blocking(move || watcher.stop())
        .await
        .unwrap();
}
