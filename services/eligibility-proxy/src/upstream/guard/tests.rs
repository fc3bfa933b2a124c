use super::*;
use crate::config::UpstreamKind;
use crate::upstream::QueryHeader;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One scripted try: how long it takes and what it returns.
type Step = (Duration, Result<Answer, UpstreamError>);

/// An upstream answering from a script (then `Ok` forever), counting its calls.
#[derive(Debug, Default)]
struct Fake {
    script: Mutex<VecDeque<Step>>,
    calls: AtomicUsize,
}

impl Fake {
    fn new(steps: impl IntoIterator<Item = Step>) -> Arc<Self> {
        Arc::new(Self {
            script: Mutex::new(steps.into_iter().collect()),
            calls: AtomicUsize::new(0),
        })
    }

    fn push(&self, steps: impl IntoIterator<Item = Step>) {
        self.script.lock().unwrap().extend(steps);
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn next(&self) -> Result<Answer, UpstreamError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let step = self.script.lock().unwrap().pop_front();
        let (delay, outcome) = step.unwrap_or((Duration::ZERO, Ok(Answer::default())));
        tokio::time::sleep(delay).await;
        outcome
    }
}

#[tonic::async_trait]
impl Upstream for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            card: true,
            ..Capabilities::default()
        }
    }

    async fn query_by_card(&self, _q: &CardQuery) -> Result<Answer, UpstreamError> {
        self.next().await
    }

    async fn query_by_numbers(&self, _q: &NumberQuery) -> Result<Answer, UpstreamError> {
        self.next().await
    }

    async fn requery(&self, _q: &RequeryQuery) -> Result<Answer, UpstreamError> {
        self.next().await
    }

    async fn register_reference_number(
        &self,
        _r: &Registration,
    ) -> Result<pb::RegisterReferenceNumberResponse, UpstreamError> {
        self.next()
            .await
            .map(|_| pb::RegisterReferenceNumberResponse::default())
    }
}

fn down() -> Step {
    (
        Duration::ZERO,
        Err(UpstreamError::Unavailable("down".to_owned())),
    )
}

fn ok() -> Step {
    (Duration::ZERO, Ok(Answer::default()))
}

fn config(retries: usize, failures: u32) -> UpstreamConfig {
    UpstreamConfig {
        kind: UpstreamKind::Simulator {
            url: "https://oqs-sim.invalid".to_owned(),
        },
        deadline: Duration::from_secs(1),
        retries,
        breaker_failures: failures,
        breaker_open_for: Duration::from_secs(5),
    }
}

fn guarded(fake: &Arc<Fake>, retries: usize, failures: u32) -> Guarded {
    Guarded::new(fake.clone(), &config(retries, failures))
}

fn query() -> NumberQuery {
    NumberQuery {
        header: QueryHeader {
            institution_code: "1310000019".to_owned(),
            confirmation_date: "20260401".to_owned(),
            file_identifier: "f".to_owned(),
        },
        insurer_number: "  138057".to_owned(),
        symbol: "1".to_owned(),
        number: "2".to_owned(),
        branch: "01".to_owned(),
        birthdate: "19800101".to_owned(),
        limit_consent: false,
    }
}

async fn call(g: &Guarded) -> Result<Answer, UpstreamError> {
    g.query_by_numbers(&query()).await
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_try_is_retried_until_an_answer() {
    let fake = Fake::new([down(), down(), ok()]);
    let g = guarded(&fake, 2, 5);
    assert!(call(&g).await.is_ok());
    assert_eq!(fake.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn rejected_and_invalid_answers_are_not_retried() {
    for e in [
        UpstreamError::Rejected("EPOQS0001".to_owned()),
        UpstreamError::Invalid("garbled".to_owned()),
    ] {
        let fake = Fake::new([(Duration::ZERO, Err(e.clone()))]);
        let g = guarded(&fake, 2, 5);
        assert_eq!(call(&g).await.unwrap_err(), e);
        assert_eq!(fake.calls(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded() {
    let fake = Fake::new([down(), down(), down(), down(), ok()]);
    let g = guarded(&fake, 2, 5);
    assert_eq!(
        call(&g).await.unwrap_err(),
        UpstreamError::Unavailable("down".to_owned())
    );
    assert_eq!(fake.calls(), 3, "one try and two retries");
}

#[tokio::test(start_paused = true)]
async fn a_try_past_the_deadline_times_out_and_is_retried() {
    let slow = (Duration::from_secs(3), Ok(Answer::default()));
    let fake = Fake::new([slow.clone(), ok()]);
    let g = guarded(&fake, 1, 5);
    let started = Instant::now();
    assert!(call(&g).await.is_ok());
    assert_eq!(fake.calls(), 2);
    assert!(started.elapsed() < Duration::from_secs(2));

    let fake = Fake::new([slow.clone(), slow]);
    let g = guarded(&fake, 1, 5);
    assert_eq!(
        call(&g).await.unwrap_err(),
        UpstreamError::Timeout(Duration::from_secs(1))
    );
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_after_consecutive_failed_calls_and_fails_fast() {
    let fake = Fake::new(std::iter::repeat_with(down).take(3));
    let g = guarded(&fake, 0, 3);
    for _ in 0..3 {
        assert!(call(&g).await.unwrap_err().is_unavailable());
    }
    assert_eq!(fake.calls(), 3);
    match call(&g).await {
        Err(UpstreamError::CircuitOpen { retry_after }) => {
            assert!(retry_after <= Duration::from_secs(5));
            assert!(retry_after > Duration::from_secs(4));
        }
        other => panic!("expected an open circuit, got {other:?}"),
    }
    assert_eq!(fake.calls(), 3, "the adapter is not called while open");
}

#[tokio::test(start_paused = true)]
async fn answers_proving_the_upstream_up_reset_the_count() {
    let fake = Fake::new([
        down(),
        down(),
        (
            Duration::ZERO,
            Err(UpstreamError::Rejected("err".to_owned())),
        ),
        down(),
        down(),
    ]);
    let g = guarded(&fake, 0, 3);
    for _ in 0..5 {
        let _ = call(&g).await;
    }
    assert!(call(&g).await.is_ok(), "two failures since the rejection");
}

#[tokio::test(start_paused = true)]
async fn after_the_open_period_one_probe_goes_through_and_closes_it() {
    let fake = Fake::new([down(), down()]);
    let g = guarded(&fake, 0, 2);
    let _ = call(&g).await;
    let _ = call(&g).await;
    assert!(matches!(
        call(&g).await,
        Err(UpstreamError::CircuitOpen { .. })
    ));
    tokio::time::advance(Duration::from_secs(5)).await;

    // The probe takes a while; meanwhile other calls still fail fast.
    fake.push([(Duration::from_millis(200), Ok(Answer::default()))]);
    let q = query();
    let mut probe = std::pin::pin!(g.query_by_numbers(&q));
    assert!(futures::poll!(probe.as_mut()).is_pending());
    assert!(matches!(
        call(&g).await,
        Err(UpstreamError::CircuitOpen { .. })
    ));
    assert_eq!(fake.calls(), 3, "only the probe reached the adapter");
    assert!(probe.await.is_ok());

    // Closed again: calls go through.
    assert!(call(&g).await.is_ok());
    assert!(call(&g).await.is_ok());
    assert_eq!(fake.calls(), 5);
}

#[tokio::test(start_paused = true)]
async fn a_failed_probe_reopens_for_another_period() {
    let fake = Fake::new([down(), down()]);
    let g = guarded(&fake, 0, 1);
    let _ = call(&g).await;
    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(call(&g).await.unwrap_err().is_unavailable(), "the probe");
    assert_eq!(fake.calls(), 2);
    tokio::time::advance(Duration::from_secs(4)).await;
    assert!(matches!(
        call(&g).await,
        Err(UpstreamError::CircuitOpen { .. })
    ));
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(call(&g).await.is_ok());
    assert_eq!(fake.calls(), 3);
}

#[tokio::test(start_paused = true)]
async fn an_abandoned_probe_lets_the_next_call_probe() {
    let fake = Fake::new([down(), (Duration::from_secs(60), Ok(Answer::default()))]);
    let g = guarded(&fake, 0, 1);
    let _ = call(&g).await;
    tokio::time::advance(Duration::from_secs(5)).await;
    {
        let q = query();
        let mut probe = std::pin::pin!(g.query_by_numbers(&q));
        assert!(futures::poll!(probe.as_mut()).is_pending());
    }
    assert!(call(&g).await.is_ok());
    assert_eq!(fake.calls(), 3);
}
