use super::*;
use std::collections::VecDeque;
use tokio::sync::Semaphore;

/// A sink that counts attempts, waits for a permit per attempt, fails as planned and
/// records what it accepted.
#[derive(Clone)]
struct FakeSink {
    attempts: Arc<Mutex<Vec<(String, Stamped)>>>,
    delivered: Arc<Mutex<Vec<(String, Stamped)>>>,
    failures: Arc<Mutex<VecDeque<SendError>>>,
    permits: Arc<Semaphore>,
}

impl FakeSink {
    /// Returns a sink whose sends wait until the test adds permits.
    fn closed() -> Self {
        Self {
            attempts: Arc::default(),
            delivered: Arc::default(),
            failures: Arc::default(),
            permits: Arc::new(Semaphore::new(0)),
        }
    }

    /// Returns a sink that answers at once.
    fn open() -> Self {
        let sink = Self::closed();
        sink.permits.add_permits(1000);
        sink
    }

    fn attempts(&self) -> Vec<(String, Stamped)> {
        self.attempts.lock().unwrap().clone()
    }

    fn delivered(&self) -> Vec<(String, Stamped)> {
        self.delivered.lock().unwrap().clone()
    }

    fn fail_next(&self, e: SendError) {
        self.failures.lock().unwrap().push_back(e);
    }
}

impl PresenceSink for FakeSink {
    async fn send(&self, device: &str, presence: &Stamped) -> Result<(), SendError> {
        self.attempts
            .lock()
            .unwrap()
            .push((device.to_owned(), presence.clone()));
        self.permits.acquire().await.unwrap().forget();
        if let Some(e) = self.failures.lock().unwrap().pop_front() {
            return Err(e);
        }
        self.delivered
            .lock()
            .unwrap()
            .push((device.to_owned(), presence.clone()));
        Ok(())
    }
}

fn report(version: &str, online: bool) -> PresenceReport {
    PresenceReport {
        online,
        readers: vec![("Virtual PCD 00 00".to_owned(), true)],
        last_scan_time: None,
        agent_version: version.to_owned(),
    }
}

/// Waits (on interval ticks, within a deadline) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let waited = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            tick.tick().await;
            if done() {
                return;
            }
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting until {what}");
}

fn versions(sent: &[(String, Stamped)], device: &str) -> Vec<String> {
    sent.iter()
        .filter(|(d, _)| d == device)
        .map(|(_, s)| s.report.agent_version.clone())
        .collect()
}

fn start(
    sink: &FakeSink,
    clock: &Clock,
) -> (Presences, tokio::task::JoinHandle<()>, CancellationToken) {
    let stop = CancellationToken::new();
    let (presences, task) = Presences::spawn(
        sink.clone(),
        clock.clone(),
        "proxy-1:7443".to_owned(),
        stop.clone(),
    );
    (presences, task, stop)
}

#[tokio::test]
async fn reports_are_stamped_and_only_the_latest_per_device_is_sent() {
    let sink = FakeSink::closed();
    let clock = Clock::manual(OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let (presences, _task, _stop) = start(&sink, &clock);
    presences.report("d1", report("1", true));
    until("the first report is in flight", || {
        sink.attempts().len() == 1
    })
    .await;
    // While activation is slow, three more reports for d1 arrive: only the last is sent.
    clock.advance(Duration::from_secs(1));
    presences.report("d1", report("2", true));
    presences.report("d1", report("3", true));
    presences.report("d2", report("9", false));
    sink.permits.add_permits(10);
    until("three reports are delivered", || {
        sink.delivered().len() == 3
    })
    .await;
    let sent = sink.delivered();
    assert_eq!(versions(&sent, "d1"), ["1", "3"]);
    assert_eq!(versions(&sent, "d2"), ["9"]);
    let (_, first) = &sent[0];
    assert_eq!(
        first.report_time,
        OffsetDateTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    );
    assert_eq!(first.proxy, "proxy-1:7443");
    let (_, last) = sent.iter().find(|(d, _)| d == "d2").unwrap();
    assert_eq!(last.report_time, clock.now());
    assert!(!last.report.online);
}

#[tokio::test(start_paused = true)]
async fn a_failed_report_is_retried_unless_a_newer_one_arrived() {
    let sink = FakeSink::closed();
    let (presences, _task, _stop) = start(&sink, &Clock::manual(OffsetDateTime::UNIX_EPOCH));
    sink.fail_next(SendError::Retry("unavailable".to_owned()));
    sink.fail_next(SendError::Retry("unavailable".to_owned()));
    presences.report("d1", report("1", true));
    presences.report("d2", report("7", true));
    until("both reports are in flight", || sink.attempts().len() == 2).await;
    presences.report("d1", report("2", false));
    sink.permits.add_permits(10);
    until("two reports are delivered", || sink.delivered().len() == 2).await;
    let sent = sink.delivered();
    // d1's failed report was replaced by the newer one; d2's was sent again after a delay.
    assert_eq!(versions(&sent, "d1"), ["2"]);
    assert_eq!(versions(&sent, "d2"), ["7"]);
    assert_eq!(versions(&sink.attempts(), "d2"), ["7", "7"]);
}

#[tokio::test(start_paused = true)]
async fn a_refused_report_is_dropped_and_later_ones_still_go() {
    let sink = FakeSink::open();
    let (presences, _task, _stop) = start(&sink, &Clock::manual(OffsetDateTime::UNIX_EPOCH));
    sink.fail_next(SendError::Refused("no such device".to_owned()));
    presences.report("gone", report("1", true));
    until("the report was tried", || sink.attempts().len() == 1).await;
    presences.report("d1", report("2", true));
    until("the next report is delivered", || {
        sink.delivered().len() == 1
    })
    .await;
    // Long after, the refused report was never tried again.
    tokio::time::advance(Duration::from_secs(60)).await;
    tokio::task::yield_now().await;
    assert_eq!(versions(&sink.attempts(), "gone"), ["1"]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_flushes_what_is_left_within_a_deadline() {
    let sink = FakeSink::open();
    let (presences, task, stop) = start(&sink, &Clock::manual(OffsetDateTime::UNIX_EPOCH));
    sink.fail_next(SendError::Retry("unavailable".to_owned()));
    presences.report("d1", report("1", false));
    stop.cancel();
    task.await.unwrap();
    assert_eq!(versions(&sink.delivered(), "d1"), ["1"]);

    // A sink that never answers does not hold the shutdown up.
    let stuck = FakeSink::closed();
    let (presences, task, stop) = start(&stuck, &Clock::manual(OffsetDateTime::UNIX_EPOCH));
    presences.report("d1", report("1", false));
    stop.cancel();
    let started = tokio::time::Instant::now();
    task.await.unwrap();
    assert!(started.elapsed() <= FLUSH_DEADLINE + Duration::from_millis(100));
}
