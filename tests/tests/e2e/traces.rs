//! One card check is one trace (issue #8): `mynafleet-agent run` exporting to a fake OTLP
//! collector, the in-process suite exporting to the same one, a card check through pcscd
//! and card-sim, then one trace id that holds the agent's `card_check`, the proxy's server
//! and check spans, an account or activation span, and the upstream (the proxy's
//! `upstream.call` and oqs-sim's server span). No span anywhere carries the PIN, the
//! patient's name, insurance numbers or birth date.
//!
//! The test name holds `pcscd`: it shares the one pcscd and its vpcd slots.

use mynafleet_card_sim::{Card, CardSpec, Inserted, Pin, VpcdClient};
use mynafleet_kit::config::TelemetrySection;
use mynafleet_proto::terminal::v1 as term;
use mynafleet_tests::jpki::{CardOptions, fixture};
use mynafleet_tests::otlp::{Collected, Collector};
use mynafleet_tests::terminal_api::{RunningAgent, scan_in};
use mynafleet_tests::terminal_host::{activated_state_dir, device_account};
use mynafleet_tests::{DEADLINE, Suite};

/// The shared pcscd's vpcd slot 0.
const READER: &str = "Virtual PCD 00 00";
const VPCD_PORT: u16 = 35963;
/// The patient's PIN: distinctive, so finding it on a span means it leaked.
const PIN: &str = "6173";

fn insert_person_0() -> Inserted {
    let profile = fixture().card_profile(0, CardOptions::default());
    let mut spec = CardSpec::from_profile_dir(&profile).expect("read the card profile");
    spec.pin = Pin::new(PIN).expect("pin");
    spec.tries_left = 3;
    VpcdClient::insert("127.0.0.1", VPCD_PORT, Card::jpki(spec)).expect("insert the card")
}

/// Whether `haystack` holds `needle` as a token of its own: not inside a longer run of hex
/// digits (ids and trace ids are hex, and a short number may turn up inside one by chance).
fn holds_token(haystack: &str, needle: &str) -> bool {
    haystack.match_indices(needle).any(|(i, _)| {
        !haystack[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_hexdigit())
            && !haystack[i + needle.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_hexdigit())
    })
}

fn describe(spans: &[Collected]) -> String {
    spans
        .iter()
        .map(|s| {
            format!(
                "{} {} {} service={:?}",
                s.trace_id(),
                s.service_name,
                s.span.name,
                s.attribute("service")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The trace id of the agent's finished `card_check` whose trace holds every part of a
/// check, once all of them arrived.
fn whole_check(spans: &[Collected]) -> Option<String> {
    let roots = spans.iter().filter(|s| {
        s.service_name == "mynafleet-agent"
            && s.span.name == "card_check"
            && s.attribute("outcome").as_deref() == Some("done")
    });
    for root in roots {
        let id = root.trace_id();
        let trace: Vec<&Collected> = spans.iter().filter(|s| s.trace_id() == id).collect();
        let server_of = |service: &str| {
            trace.iter().any(|s| {
                s.span.name == "grpc.server" && s.attribute("service").as_deref() == Some(service)
            })
        };
        let named = |name: &str| trace.iter().any(|s| s.span.name == name);
        let agent_calls_proxy = trace
            .iter()
            .any(|s| s.service_name == "mynafleet-agent" && s.span.name == "complete_card_check");
        let account_or_activation = server_of("activation")
            || server_of("account")
            || trace.iter().any(|s| {
                s.span.name == "audit.ingest"
                    && s.attribute("service").as_deref() == Some("account")
            });
        if agent_calls_proxy
            && server_of("eligibility-proxy")
            && named("eligibility.check")
            && account_or_activation
            && named("upstream.call")
            && server_of("oqs-sim")
        {
            return Some(id);
        }
    }
    None
}

#[tokio::test]
async fn pcscd_a_card_check_is_one_trace_from_the_agent_to_the_upstream() {
    let collector = Collector::start().await;
    let telemetry = mynafleet_kit::telemetry::init(
        "mynafleet-suite",
        &TelemetrySection {
            otlp_endpoint: Some(collector.endpoint().to_owned()),
            log_json: false,
            log_filter: Some("info,h2=warn,hyper=warn,tower=warn".to_owned()),
        },
    )
    .expect("install telemetry for the in-process suite");
    let suite = Suite::start().await;
    let account = device_account(&suite).await;
    let state = activated_state_dir(&suite, &account).await;
    let mut agent = RunningAgent::start(
        state.path(),
        READER,
        &[
            ("MYNAFLEET_AGENT_OTLP_ENDPOINT", collector.endpoint()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let mut terminal = agent.terminal().await;
    terminal
        .wait_for("the vpcd reader", |s| {
            s.pcsc_available && s.readers.iter().any(|r| r.name == READER)
        })
        .await;

    let inserted = insert_person_0();
    let scan = terminal
        .wait_for("a scan awaiting the pin", |s| {
            scan_in(s, term::ScanPhase::AwaitingIdentity).is_some()
        })
        .await
        .scan
        .expect("scan");
    let done = terminal
        .submit_pin(&scan.scan_id, PIN, false)
        .await
        .expect("the check ran");
    assert_eq!(done.phase, term::ScanPhase::Done as i32, "{done:?}");
    let qualification = done
        .result
        .as_ref()
        .and_then(|r| r.result.as_ref())
        .and_then(|r| r.results.first())
        .cloned()
        .expect("the check returned the person's 資格情報");
    inserted.remove().expect("remove the card");
    // SIGTERM: the agent exports what it still holds before it exits.
    agent.stop().await;

    let trace = collector
        .wait_until(DEADLINE, || telemetry.flush(), whole_check)
        .await;
    let spans = collector.spans();
    let Some(trace) = trace else {
        panic!(
            "no trace held the agent, proxy, account/activation and upstream spans of the check; \
             spans received:\n{}",
            describe(&spans)
        );
    };
    let in_trace: Vec<&Collected> = spans.iter().filter(|s| s.trace_id() == trace).collect();
    let span = |name: &str| {
        *in_trace
            .iter()
            .find(|s| s.span.name == name)
            .unwrap_or_else(|| panic!("no {name} span in the trace"))
    };
    let root = span("card_check");
    let device = mynafleet_agent::Identity::load(state.path())
        .expect("the agent's identity")
        .record()
        .device;
    assert_eq!(root.attribute("device").as_deref(), Some(device.as_str()));
    assert_eq!(root.attribute("reader").as_deref(), Some(READER));
    assert_eq!(root.attribute("token").as_deref(), Some("card"));
    assert_eq!(root.attribute("verdict").as_deref(), Some("ELIGIBLE:1"));
    assert!(
        root.span.parent_span_id.is_empty(),
        "card_check is the root"
    );
    let check = span("eligibility.check");
    assert_eq!(check.attribute("check.kind").as_deref(), Some("card"));
    assert_eq!(check.attribute("outcome").as_deref(), Some("success"));
    assert_eq!(check.attribute("validity").as_deref(), Some("1"));
    assert_eq!(check.attribute("upstream").as_deref(), Some("oqs-sim"));
    assert_eq!(
        check.attribute("institution_code").map(|c| c.len()),
        Some(10)
    );
    let upstream = span("upstream.call");
    assert_eq!(upstream.attribute("breaker").as_deref(), Some("closed"));
    assert_eq!(upstream.attribute("tries").as_deref(), Some("1"));
    assert_eq!(upstream.attribute("outcome").as_deref(), Some("answered"));

    // Nothing personal on any span of any trace, nor in the events logged inside them.
    let person = suite.person(0).await;
    let mut secrets = vec![PIN.to_owned(), person.birthdate.clone()];
    for number in [
        &person.insurer_number,
        &person.insured_identification_number,
        &person.insured_card_symbol,
    ] {
        let number = number.trim();
        if number.chars().count() >= 3 {
            secrets.push(number.to_owned());
        }
    }
    for name in [&qualification.name, &qualification.name_kana]
        .into_iter()
        .flatten()
    {
        secrets.push(name.clone());
        secrets.extend(
            name.split([' ', '\u{3000}'])
                .filter(|part| part.chars().count() >= 2)
                .map(str::to_owned),
        );
    }
    for span in &spans {
        for value in span.values() {
            for secret in &secrets {
                assert!(
                    !holds_token(&value, secret),
                    "span {} of {} carries personal data: {value:?}",
                    span.span.name,
                    span.service_name
                );
            }
        }
    }
    telemetry.shutdown().await;
}
