use super::{outcome, validity};
use crate::audit::Outcome;
use crate::upstream::UpstreamError;

#[test]
fn outcomes_fall_into_a_small_fixed_set() {
    assert_eq!(outcome(Outcome::Success, ""), "ok");
    assert_eq!(outcome(Outcome::Denied, "CHALLENGE_REPLAYED"), "refused");
    for reason in [
        "UPSTREAM_UNAVAILABLE",
        "UPSTREAM_TIMEOUT",
        "UPSTREAM_CIRCUIT_OPEN",
    ] {
        assert_eq!(outcome(Outcome::Failure, reason), "upstream_unavailable");
    }
    for reason in [
        "UPSTREAM_REQUEST_REJECTED",
        "UPSTREAM_ANSWER_INVALID",
        "UPSTREAM_NOT_CAPABLE",
    ] {
        assert_eq!(outcome(Outcome::Failure, reason), "upstream_error");
    }
    assert_eq!(
        outcome(Outcome::Failure, "STAFF_ATTESTATION_REQUIRED"),
        "invalid"
    );
    assert_eq!(
        outcome(Outcome::Failure, "ACCOUNT_SCOPE_UNAVAILABLE"),
        "error"
    );
    assert_eq!(outcome(Outcome::Failure, "INTERNAL"), "error");
}

#[test]
fn validity_is_a_known_code_or_says_why_not() {
    assert_eq!(validity("1"), "1");
    assert_eq!(validity("4"), "4");
    assert_eq!(validity("6"), "6");
    assert_eq!(validity(""), "none");
    // Anything else a result carries never becomes a label of its own.
    assert_eq!(validity("7"), "unknown");
    assert_eq!(validity("有効"), "unknown");
}

/// An upstream that is down until `up` is set.
#[derive(Debug, Default)]
struct Flaky {
    up: std::sync::atomic::AtomicBool,
}

#[tonic::async_trait]
impl crate::upstream::Upstream for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }

    fn capabilities(&self) -> crate::upstream::Capabilities {
        crate::upstream::Capabilities {
            requery: true,
            ..Default::default()
        }
    }

    async fn query_by_card(
        &self,
        _q: &crate::upstream::CardQuery,
    ) -> Result<crate::upstream::Answer, UpstreamError> {
        Err(UpstreamError::Unavailable("not used".to_owned()))
    }

    async fn query_by_numbers(
        &self,
        _q: &crate::upstream::NumberQuery,
    ) -> Result<crate::upstream::Answer, UpstreamError> {
        Err(UpstreamError::Unavailable("not used".to_owned()))
    }

    async fn requery(
        &self,
        _q: &crate::upstream::RequeryQuery,
    ) -> Result<crate::upstream::Answer, UpstreamError> {
        if self.up.load(std::sync::atomic::Ordering::SeqCst) {
            Ok(crate::upstream::Answer::default())
        } else {
            Err(UpstreamError::Unavailable("down".to_owned()))
        }
    }

    async fn register_reference_number(
        &self,
        _r: &crate::upstream::Registration,
    ) -> Result<mynafleet_proto::eligibility::v1::RegisterReferenceNumberResponse, UpstreamError>
    {
        Err(UpstreamError::Unavailable("not used".to_owned()))
    }
}

/// Returns the value of the rendered line `series` (name and labels exactly as written).
fn value(rendered: &str, series: &str) -> Option<f64> {
    rendered
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test(start_paused = true)]
async fn the_breaker_shows_its_state_and_counts_its_transitions() {
    use crate::upstream::Upstream as _;
    mynafleet_kit::metrics::install().expect("the first recorder in this test process");
    let flaky = std::sync::Arc::new(Flaky::default());
    let config = crate::config::UpstreamConfig {
        kind: crate::config::UpstreamKind::Simulator {
            url: "https://oqs-sim.invalid".to_owned(),
        },
        deadline: std::time::Duration::from_secs(1),
        retries: 0,
        breaker_failures: 1,
        breaker_open_for: std::time::Duration::from_secs(5),
    };
    let guarded = crate::upstream::guard::Guarded::new(flaky.clone(), &config);
    let query = crate::upstream::RequeryQuery {
        header: crate::upstream::QueryHeader {
            institution_code: "1310000019".to_owned(),
            confirmation_date: "20260401".to_owned(),
            file_identifier: "f".to_owned(),
        },
        reference_number: "1".to_owned(),
    };
    let state = r#"mynafleet_upstream_breaker_state{service="eligibility-proxy",upstream="flaky"}"#;
    let to = |s: &str| {
        format!(
            r#"mynafleet_upstream_breaker_transitions_total{{service="eligibility-proxy",upstream="flaky",to="{s}"}}"#
        )
    };
    let tries = |result: &str| {
        format!(
            r#"mynafleet_upstream_request_seconds_count{{service="eligibility-proxy",upstream="flaky",result="{result}"}}"#
        )
    };

    let rendered = mynafleet_kit::metrics::render().await;
    assert_eq!(value(&rendered, state), Some(0.0), "{rendered}");

    // One failed call opens it (threshold 1); the next fails fast without a try.
    assert!(guarded.requery(&query).await.is_err());
    assert!(matches!(
        guarded.requery(&query).await,
        Err(UpstreamError::CircuitOpen { .. })
    ));
    let rendered = mynafleet_kit::metrics::render().await;
    assert_eq!(value(&rendered, state), Some(2.0), "{rendered}");
    assert_eq!(value(&rendered, &to("open")), Some(1.0), "{rendered}");
    assert_eq!(value(&rendered, &tries("error")), Some(1.0), "{rendered}");

    // After the open period the probe succeeds: half-open, then closed.
    tokio::time::advance(std::time::Duration::from_secs(6)).await;
    flaky.up.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(guarded.requery(&query).await.is_ok());
    let rendered = mynafleet_kit::metrics::render().await;
    assert_eq!(value(&rendered, state), Some(0.0), "{rendered}");
    assert_eq!(value(&rendered, &to("half_open")), Some(1.0), "{rendered}");
    assert_eq!(value(&rendered, &to("closed")), Some(1.0), "{rendered}");
    assert_eq!(value(&rendered, &tries("ok")), Some(1.0), "{rendered}");
}
