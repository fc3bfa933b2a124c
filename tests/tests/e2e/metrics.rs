//! Metrics (issue #8): after a scripted run through the whole suite (an operator sets up a
//! clinic and two device accounts; a wrong activation code, a real activation, wrong codes
//! on the other account until it and the address lock; an agent's event stream; a card
//! check and a refused one through the proxy to oqs-sim; an audit checkpoint), one scrape of
//! the suite's metrics endpoint shows every metric docs/metrics.md promises, each series
//! labelled with its service and non-zero where the run made it so.

use mynafleet_kit::status::reason_of;
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::agent::v1 as agent_pb;
use mynafleet_proto::agent::v1::stream_events_request::Message as Request;
use mynafleet_proto::agent::v1::stream_events_response::Message as Response;
use mynafleet_proto::eligibility::v1 as eligibility_pb;
use mynafleet_proto::tonic::Streaming;
use mynafleet_tests::fleet::{DEVICE_PASSWORD, DeviceKey, TestAccount, activate_request};
use mynafleet_tests::jpki::{CardOptions, fixture};
use mynafleet_tests::metrics::{Scrape, scrape_until};
use mynafleet_tests::{Backend, DEADLINE, Suite, SuiteOptions};
use tokio::sync::mpsc;

mynafleet_tests::on_both_backends!(a_scripted_run_shows_every_metric_on_the_scrape);

const CLINIC: &str = "3410712362";
const PROXY: &str = "eligibility-proxy";

/// Returns `code` with its last four digits changed: well-formed, but not the code.
fn wrong(code: &str, n: u64) -> String {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let last: u64 = digits[8..].parse().expect("12 digits");
    format!("{}{:04}", &digits[..8], (last + 1 + n) % 10_000)
}

/// Tries `account` with wrong codes `count` times; returns the refusals' reasons.
async fn wrong_codes(suite: &Suite, account: &TestAccount, code: &str, count: u64) -> Vec<String> {
    let key = DeviceKey::generate();
    let mut reasons = Vec::new();
    for n in 0..count {
        let err = suite
            .activate(activate_request(
                account,
                &wrong(code, n),
                &key,
                DEVICE_PASSWORD,
            ))
            .await
            .expect_err("a wrong code is refused");
        reasons.push(reason_of(&err).unwrap_or_default());
    }
    reasons
}

#[track_caller]
fn at_least(scrape: &Scrape, name: &str, labels: &[(&str, &str)], min: f64) {
    let sum = scrape.sum(name, labels);
    assert!(
        sum.is_some_and(|v| v >= min),
        "{name} {labels:?} should be at least {min}, is {sum:?}; all of it: {:#?}",
        scrape.find(name, &[])
    );
}

/// Sends `message` on the agent's event stream.
async fn send(tx: &mpsc::Sender<agent_pb::StreamEventsRequest>, message: Request) {
    tx.send(agent_pb::StreamEventsRequest {
        message: Some(message),
    })
    .await
    .expect("the event stream takes the message");
}

/// Returns the proxy's next message on the event stream (`what`, for the failure message),
/// within the deadline.
async fn next(
    responses: &mut Streaming<agent_pb::StreamEventsResponse>,
    what: &str,
) -> Option<Response> {
    tokio::time::timeout(DEADLINE, responses.message())
        .await
        .unwrap_or_else(|_| panic!("{what} in time"))
        .unwrap_or_else(|e| panic!("{what}: {e:?}"))
        .expect("the stream stays open")
        .message
}

async fn a_scripted_run_shows_every_metric_on_the_scrape(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let metrics = suite.addresses.metrics;

    // An operator sets up a clinic, two device accounts and their codes.
    let admin = suite.org_admin("さくら医療グループ", "metrics-admin").await;
    let clinic = suite
        .clinic(&admin, CLINIC, "さくら内科クリニック", false)
        .await;
    let account = suite
        .device_account(&admin, &clinic, account_pb::Privilege::General)
        .await;
    let other = suite
        .device_account(&admin, &clinic, account_pb::Privilege::General)
        .await;
    let code = suite.issue_code(&admin, &account).await;
    let other_code = suite.issue_code(&admin, &other).await;

    // A wrong code once, then the real activation (the generated password is refused
    // first, then changed); it clears the count of the terminal's address.
    let first = wrong_codes(&suite, &account, &code, 1).await;
    assert_eq!(first, ["CODE_MISMATCH"]);
    let terminal = suite.activate_terminal(&account, &code).await;
    // Wrong codes on the other account until it and the address lock (5 each).
    let locking = wrong_codes(&suite, &other, &other_code, 6).await;
    assert_eq!(
        locking.last().map(String::as_str),
        Some("ACTIVATION_LOCKED"),
        "{locking:?}"
    );

    // The agent's event stream: hello, ready, one event stored and acked; kept open.
    let (tx, rx) = mpsc::channel(8);
    send(
        &tx,
        Request::Hello(agent_pb::StreamHello {
            outbox_id: uuid::Uuid::new_v4().to_string(),
            agent_version: "test".to_owned(),
        }),
    )
    .await;
    let mut responses = terminal
        .proxy(&suite)
        .stream_events(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("open the event stream")
        .into_inner();
    let ready = next(&mut responses, "ready").await;
    assert!(matches!(ready, Some(Response::Ready(_))), "{ready:?}");
    send(
        &tx,
        Request::Event(agent_pb::ScanEvent {
            seq: 1,
            time: Some(mynafleet_proto::prost_types::Timestamp {
                seconds: suite.clock.now().unix_timestamp(),
                nanos: 0,
            }),
            kind: agent_pb::ScanEventKind::CardInserted as i32,
            reader: "Virtual PCD 00 00".to_owned(),
            ..Default::default()
        }),
    )
    .await;
    let ack = next(&mut responses, "ack").await;
    assert!(
        matches!(ack, Some(Response::Ack(agent_pb::EventAck { seq: 1, .. }))),
        "{ack:?}"
    );

    // A card check through the proxy to oqs-sim, and one the proxy refuses.
    let card = fixture().card(0, CardOptions::default());
    let check = terminal
        .pin_check(&suite, &card, eligibility_pb::ConsentAnswers::default())
        .await
        .unwrap_or_else(|e| panic!("PIN check: {e:?}"));
    assert_eq!(
        check.validity(),
        eligibility_pb::QualificationValidity::Valid
    );
    let mut eligibility = terminal.eligibility(&suite);
    let begun = eligibility
        .begin_card_check(eligibility_pb::BeginCardCheckRequest {})
        .await
        .unwrap()
        .into_inner();
    let refused = eligibility
        .complete_card_check(eligibility_pb::CompleteCardCheckRequest {
            challenge_id: begun.challenge_id,
            auth_certificate: card.certificate_der.clone(),
            // Signed over something else: the signature does not verify.
            signature: card.sign(b"not the challenge"),
            identity_method: eligibility_pb::IdentityMethod::Pin as i32,
            attesting_staff: String::new(),
            consents: Some(eligibility_pb::ConsentAnswers::default()),
        })
        .await
        .expect_err("a bad signature is refused");
    assert_eq!(reason_of(&refused).as_deref(), Some("SIGNATURE_INVALID"));

    // An audit checkpoint of the organization's chain.
    account_pb::audit_log_service_client::AuditLogServiceClient::new(suite.authed(&admin.token))
        .create_checkpoint(account_pb::CreateCheckpointRequest {
            parent: admin.organization.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("create checkpoint: {e:?}"));

    // The audit records reach the account service in the background: wait for both
    // producers, then read everything from that one scrape.
    let s = scrape_until(metrics, DEADLINE, "audit records ingested", |s| {
        ["activation", PROXY].iter().all(|p| {
            s.sum("mynafleet_audit_records_ingested_total", &[("producer", p)])
                .is_some_and(|v| v > 0.0)
        })
    })
    .await;

    // Every series of ours names its service; every service has series.
    for sample in s
        .samples
        .iter()
        .filter(|x| x.name.starts_with("mynafleet_"))
    {
        assert!(
            sample.labels.contains_key("service"),
            "a series without a service label: {sample:?}"
        );
    }
    for service in ["account", "activation", PROXY, "oqs-sim"] {
        at_least(
            &s,
            "mynafleet_grpc_server_handled_total",
            &[("service", service)],
            1.0,
        );
        at_least(
            &s,
            "mynafleet_grpc_server_handling_seconds_count",
            &[("service", service)],
            1.0,
        );
    }

    // RPCs by method and code, a refusal included.
    let complete = "mynafleet.eligibility.v1.EligibilityService/CompleteCardCheck";
    let rpc = [("service", PROXY), ("method", complete)];
    at_least(
        &s,
        "mynafleet_grpc_server_handled_total",
        &[rpc[0], rpc[1], ("code", "OK")],
        1.0,
    );
    let refusals: f64 = s
        .find("mynafleet_grpc_server_handled_total", &rpc)
        .iter()
        .filter(|x| x.labels["code"] != "OK")
        .map(|x| x.value)
        .sum();
    assert!(refusals >= 1.0, "the refused check is counted by its code");
    at_least(
        &s,
        "mynafleet_grpc_server_handled_total",
        &[
            ("service", "oqs-sim"),
            ("method", "mynafleet.oqs.v1.OqsService/QueryByCard"),
            ("code", "OK"),
        ],
        1.0,
    );

    // The proxy: agents, checks, upstream, breaker, outbox, events.
    let proxy = ("service", PROXY);
    at_least(&s, "mynafleet_agents_connected", &[proxy], 1.0);
    at_least(
        &s,
        "mynafleet_agent_events_total",
        &[proxy, ("result", "stored")],
        1.0,
    );
    // The valid card, and the refused signature (no answer, so no validity).
    for (outcome, validity) in [("ok", "1"), ("refused", "none")] {
        at_least(
            &s,
            "mynafleet_eligibility_checks_total",
            &[
                proxy,
                ("kind", "card"),
                ("outcome", outcome),
                ("validity", validity),
            ],
            1.0,
        );
    }
    at_least(
        &s,
        "mynafleet_eligibility_check_failures_total",
        &[proxy, ("kind", "card"), ("reason", "SIGNATURE_INVALID")],
        1.0,
    );
    at_least(
        &s,
        "mynafleet_upstream_request_seconds_count",
        &[proxy, ("upstream", "oqs-sim"), ("result", "ok")],
        1.0,
    );
    let breaker = s.one(
        "mynafleet_upstream_breaker_state",
        &[proxy, ("upstream", "oqs-sim")],
    );
    assert_eq!(breaker.value, 0.0, "closed: {breaker:?}");
    s.one("mynafleet_outbox_depth", &[proxy, ("outbox", "audit")]);

    // Activation: refusals by reason, the lock, the activation, the fleet.
    let activation = ("service", "activation");
    at_least(
        &s,
        "mynafleet_activation_failures_total",
        &[activation, ("reason", "CODE_MISMATCH")],
        6.0,
    );
    at_least(
        &s,
        "mynafleet_activation_failures_total",
        &[activation, ("reason", "PASSWORD_CHANGE_REQUIRED")],
        1.0,
    );
    for scope in ["account", "source"] {
        at_least(
            &s,
            "mynafleet_activation_lockouts_total",
            &[activation, ("scope", scope)],
            1.0,
        );
    }
    at_least(&s, "mynafleet_activations_total", &[activation], 1.0);
    at_least(
        &s,
        "mynafleet_devices",
        &[activation, ("status", "active")],
        1.0,
    );
    s.one("mynafleet_outbox_depth", &[activation, ("outbox", "audit")]);
    // The certificate lives a day (SuiteOptions' default): it expires within 7 and 30 days
    // (whether within 1 day depends on the seconds between the suite's start and now).
    for within in ["7d", "30d"] {
        at_least(
            &s,
            "mynafleet_device_certificates_expiring",
            &[activation, ("within", within)],
            1.0,
        );
    }
    s.one(
        "mynafleet_device_certificates_expiring",
        &[activation, ("within", "1d")],
    );
    assert_eq!(
        s.one("mynafleet_device_certificates_expired", &[activation])
            .value,
        0.0
    );
    let next = s
        .one(
            "mynafleet_device_certificate_next_expiry_timestamp_seconds",
            &[activation],
        )
        .value;
    let expected = terminal
        .reply
        .certificate_expire_time
        .as_ref()
        .expect("the certificate's expiry")
        .seconds as f64;
    assert!(
        (next - expected).abs() < 1.0,
        "next expiry {next}, the certificate's {expected}"
    );

    // Account: the organization's chain, sealed by the checkpoint.
    let chain = [
        ("service", "account"),
        ("chain", admin.organization.as_str()),
    ];
    at_least(&s, "mynafleet_audit_chain_length", &chain, 1.0);
    s.one("mynafleet_audit_unsealed_records", &chain);
    let age = s
        .one("mynafleet_audit_checkpoint_age_seconds", &chain)
        .value;
    assert!(age >= 0.0, "checkpoint age {age}");

    drop(tx);
    suite.stop().await.unwrap();
}
