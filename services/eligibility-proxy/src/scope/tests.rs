//! The scope cache over a fake account service: no network.

use super::*;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

const ACCOUNT: &str = "organizations/o/clinics/c/accounts/W0000001";

fn scope(available: bool) -> AccountScope {
    AccountScope {
        account: ACCOUNT.to_owned(),
        organization: "organizations/o".to_owned(),
        clinic: "organizations/o/clinics/c".to_owned(),
        institution_code: "1310000019".to_owned(),
        privilege: Privilege::General,
        available,
        home_visit: false,
    }
}

type Feed = mpsc::UnboundedSender<Result<ScopeMessage, WatchError>>;

#[derive(Default)]
struct FakeState {
    scopes: Mutex<HashMap<String, AccountScope>>,
    asked: AtomicUsize,
    opens: Mutex<Vec<String>>,
    streams: Mutex<VecDeque<mpsc::UnboundedReceiver<Result<ScopeMessage, WatchError>>>>,
}

/// An account service in memory: answers look-ups from a map and opens the streams the test
/// queued, one per open.
#[derive(Clone, Default)]
struct Fake(Arc<FakeState>);

impl Fake {
    fn with(scope: AccountScope) -> Self {
        let fake = Self::default();
        fake.set(scope);
        fake
    }

    fn set(&self, scope: AccountScope) {
        self.0
            .scopes
            .lock()
            .unwrap()
            .insert(scope.account.clone(), scope);
    }

    fn asked(&self) -> usize {
        self.0.asked.load(Ordering::SeqCst)
    }

    fn opens(&self) -> Vec<String> {
        self.0.opens.lock().unwrap().clone()
    }

    /// Queues a stream for the next open and returns its feed.
    fn queue_stream(&self) -> Feed {
        let (tx, rx) = mpsc::unbounded_channel();
        self.0.streams.lock().unwrap().push_back(rx);
        tx
    }
}

impl ScopeSource for Fake {
    async fn scope(&self, account: &str) -> Result<AccountScope, ScopeError> {
        self.0.asked.fetch_add(1, Ordering::SeqCst);
        match account {
            "hang" => std::future::pending().await,
            "broken" => Err(ScopeError::Unavailable("connection refused".to_owned())),
            _ => self
                .0
                .scopes
                .lock()
                .unwrap()
                .get(account)
                .cloned()
                .ok_or(ScopeError::NotFound),
        }
    }

    async fn events(
        &self,
        resume_token: &str,
    ) -> Result<BoxStream<'static, Result<ScopeMessage, WatchError>>, WatchError> {
        self.0.opens.lock().unwrap().push(resume_token.to_owned());
        let next = self.0.streams.lock().unwrap().pop_front();
        match next {
            Some(rx) => Ok(UnboundedReceiverStream::new(rx).boxed()),
            None => Err(WatchError::Failed("unavailable".to_owned())),
        }
    }
}

fn heartbeat(token: &str) -> Result<ScopeMessage, WatchError> {
    Ok(ScopeMessage {
        scope: None,
        resume_token: token.to_owned(),
    })
}

fn event(scope: AccountScope, token: &str) -> Result<ScopeMessage, WatchError> {
    Ok(ScopeMessage {
        scope: Some(scope),
        resume_token: token.to_owned(),
    })
}

/// Polls `done` on short ticks for up to five seconds.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let mut ticks = tokio::time::interval(Duration::from_millis(2));
    let waited = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            ticks.tick().await;
            if done() {
                return;
            }
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting until {what}");
}

fn cache(fake: &Fake) -> Scopes<Fake> {
    Scopes::new(
        fake.clone(),
        Duration::from_secs(30),
        Duration::from_secs(1),
    )
}

#[test]
fn fresh_needs_a_live_stream_and_an_entry_written_since_connect() {
    let now = Instant::now() + Duration::from_secs(100);
    let ago = |ms: u64| now - Duration::from_millis(ms);
    let view = |connected: Option<u64>, seen: Option<u64>| WatchView {
        connected_at: connected.map(ago),
        last_seen: seen.map(ago),
    };
    let max = Duration::from_secs(1);
    assert!(is_fresh(
        now,
        max,
        view(Some(60_000), Some(100)),
        ago(30_000)
    ));
    assert!(
        !is_fresh(now, max, view(Some(2_000), Some(100)), ago(30_000)),
        "written before reconnect"
    );
    assert!(
        !is_fresh(now, max, view(Some(2_000), Some(100)), ago(3_000)),
        "even when young"
    );
    assert!(
        !is_fresh(now, max, view(Some(60_000), Some(1_000)), ago(500)),
        "stream quiet"
    );
    assert!(
        !is_fresh(now, max, view(Some(60_000), None), ago(500)),
        "no message yet"
    );
    assert!(
        !is_fresh(now, max, WatchView::default(), ago(0)),
        "no stream"
    );
}

#[tokio::test]
async fn without_a_stream_every_check_asks_account() {
    let fake = Fake::with(scope(true));
    let scopes = cache(&fake);
    assert_eq!(scopes.get(ACCOUNT).await.unwrap(), scope(true));
    assert_eq!(scopes.get(ACCOUNT).await.unwrap(), scope(true));
    assert_eq!(fake.asked(), 2);
}

#[tokio::test]
async fn a_live_stream_serves_from_the_cache_and_events_replace_entries() {
    let fake = Fake::with(scope(true));
    let feed = fake.queue_stream();
    let scopes = cache(&fake);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(scopes.clone().run(shutdown.clone()));
    feed.send(heartbeat("t0")).unwrap();
    wait_until("the stream is live", || {
        scopes.watch_view().last_seen.is_some()
    })
    .await;
    assert!(scopes.get(ACCOUNT).await.unwrap().available);
    assert!(scopes.get(ACCOUNT).await.unwrap().available);
    assert_eq!(fake.asked(), 1, "the second check used the cache");
    // An operator suspends the account: the event carries the new scope.
    feed.send(event(scope(false), "t1")).unwrap();
    wait_until("the suspension arrived", || {
        scopes
            .fresh(ACCOUNT, Instant::now())
            .is_some_and(|s| !s.available)
    })
    .await;
    assert!(!scopes.get(ACCOUNT).await.unwrap().available);
    assert_eq!(fake.asked(), 1, "the event answered without asking");
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(scopes.watch_view(), WatchView::default());
}

#[tokio::test]
async fn a_reconnect_resumes_after_the_last_token_and_stops_vouching_for_old_entries() {
    let fake = Fake::with(scope(true));
    let first = fake.queue_stream();
    let scopes = cache(&fake);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(scopes.clone().run(shutdown.clone()));
    first.send(heartbeat("t0")).unwrap();
    first.send(heartbeat("t1")).unwrap();
    wait_until("the stream is live", || {
        scopes.watch_view().last_seen.is_some()
    })
    .await;
    scopes.get(ACCOUNT).await.unwrap();
    assert_eq!(fake.asked(), 1);
    // The stream breaks; changes made meanwhile are unknown, so the entry is not trusted.
    let second = fake.queue_stream();
    drop(first);
    wait_until("the stream reopened", || fake.opens().len() == 2).await;
    assert_eq!(fake.opens(), ["", "t1"]);
    second.send(heartbeat("t1")).unwrap();
    wait_until("the new stream is live", || {
        scopes.watch_view().last_seen.is_some()
    })
    .await;
    fake.set(scope(false));
    assert!(!scopes.get(ACCOUNT).await.unwrap().available);
    assert_eq!(fake.asked(), 2);
    // A refused token starts over from the oldest event.
    let third = fake.queue_stream();
    second.send(Err(WatchError::ResumeTokenInvalid)).unwrap();
    wait_until("the stream reopened again", || fake.opens().len() == 3).await;
    assert_eq!(fake.opens()[2], "");
    drop(third);
    shutdown.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn unknown_accounts_and_failures_map_to_their_errors() {
    let fake = Fake::with(scope(true));
    let scopes = Scopes::new(
        fake.clone(),
        Duration::from_secs(1),
        Duration::from_millis(50),
    );
    assert!(matches!(
        scopes
            .get("organizations/o/clinics/c/accounts/W0000002")
            .await,
        Err(ScopeError::NotFound)
    ));
    assert!(matches!(
        scopes.get("broken").await,
        Err(ScopeError::Unavailable(_))
    ));
    let hung = scopes.get("hang").await;
    assert!(
        matches!(&hung, Err(ScopeError::Unavailable(why)) if why.contains("in time")),
        "{hung:?}"
    );
}
