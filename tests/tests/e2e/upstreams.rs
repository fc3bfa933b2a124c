//! The proxy's upstreams (issue #5): number checks through the OQS file interface with
//! oqs-sim answering in the folders (UTF-8 and Shift_JIS, full-width 記号・番号 unchanged, an
//! `.err` reply, a timeout), hand-off files beside them, the circuit breaker around an
//! upstream outage, and test JPKI roots refused in production mode.

use mynafleet_eligibility_proxy::{
    FileInterfaceConfig, HandoffConfig, UpstreamConfig, UpstreamKind, XmlEncoding,
};
use mynafleet_kit::status::reason_of;
use mynafleet_oqs_sim::{Responder, ResponderEncoding};
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::eligibility::v1 as pb;
use mynafleet_proto::oqs::v1 as oqs_pb;
use mynafleet_proto::tonic::Status;
use mynafleet_tests::fleet::Terminal;
use mynafleet_tests::jpki::{CardOptions, fixture};
use mynafleet_tests::{DEADLINE, Suite, SuiteOptions};
use std::path::Path;
use std::time::{Duration, Instant};

/// Clinic A answers through a UTF-8 folder and hands off; clinic B through Shift_JIS.
const CLINIC_A: &str = "3410712362";
const CLINIC_B: &str = "1310112345";

async fn terminal_at(suite: &Suite, code: &str, org: &str) -> Terminal {
    let admin = suite.org_admin(org, &format!("admin-{code}")).await;
    let clinic = suite.clinic(&admin, code, "みどり整形外科", false).await;
    let account = suite
        .device_account(&admin, &clinic, account_pb::Privilege::General)
        .await;
    let code = suite.issue_code(&admin, &account).await;
    suite.activate_terminal(&account, &code).await
}

/// The numbers staff type from `p`'s card (the insurer number without the padding).
fn typed(p: &oqs_pb::Person) -> pb::CheckByNumbersRequest {
    pb::CheckByNumbersRequest {
        insurer_number: p.insurer_number.trim().to_owned(),
        insured_card_symbol: p.insured_card_symbol.clone(),
        insured_identification_number: p.insured_identification_number.clone(),
        insured_branch_number: p.insured_branch_number.clone(),
        birthdate: p.birthdate.clone(),
        limit_application_consent: true,
    }
}

async fn by_numbers(
    suite: &Suite,
    t: &Terminal,
    req: pb::CheckByNumbersRequest,
) -> Result<pb::CheckResult, Status> {
    t.eligibility(suite)
        .check_by_numbers(req)
        .await
        .map(|r| r.into_inner().check.expect("check in response"))
}

#[track_caller]
fn assert_reason(result: &Result<pb::CheckResult, Status>, reason: &str) {
    match result {
        Ok(r) => panic!("expected {reason}, got a result: {r:?}"),
        Err(e) => assert_eq!(reason_of(e).as_deref(), Some(reason), "{e:?}"),
    }
}

fn folders(root: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let req = root.join(name).join("req");
    let res = root.join(name).join("res");
    std::fs::create_dir_all(&req).expect("make req folder");
    std::fs::create_dir_all(&res).expect("make res folder");
    (req, res)
}

fn file_upstream(
    req_dir: std::path::PathBuf,
    res_dir: std::path::PathBuf,
    encoding: XmlEncoding,
) -> UpstreamConfig {
    let mut c = UpstreamConfig::with_kind(UpstreamKind::FileInterface(FileInterfaceConfig {
        req_dir,
        res_dir,
        encoding,
        poll_interval: Duration::from_millis(20),
    }));
    c.deadline = Duration::from_secs(3);
    c.retries = 0;
    c
}

#[tokio::test]
async fn number_checks_go_through_the_oqs_folders_unchanged_and_are_handed_off() {
    let suite = Suite::start_with(SuiteOptions {
        customize: Some(Box::new(|proxy, oqs, dir| {
            let (a_req, a_res) = folders(dir, "oqs-a");
            let (b_req, b_res) = folders(dir, "oqs-b");
            proxy.upstreams.insert(
                CLINIC_A.to_owned(),
                file_upstream(a_req.clone(), a_res.clone(), XmlEncoding::Utf8),
            );
            proxy.upstreams.insert(
                CLINIC_B.to_owned(),
                file_upstream(b_req.clone(), b_res.clone(), XmlEncoding::ShiftJis),
            );
            // The レセコン's folders exist (a share mounted on the proxy's host).
            for d in ["handoff-xml", "handoff-tsv"] {
                std::fs::create_dir_all(dir.join(d)).expect("make hand-off folder");
            }
            proxy.handoff.insert(
                CLINIC_A.to_owned(),
                HandoffConfig {
                    xml_dir: Some(dir.join("handoff-xml")),
                    tsv_dir: Some(dir.join("handoff-tsv")),
                    encoding: XmlEncoding::ShiftJis,
                },
            );
            oqs.responders = vec![
                Responder {
                    req_dir: a_req,
                    res_dir: a_res,
                    encoding: ResponderEncoding::Utf8,
                },
                Responder {
                    req_dir: b_req,
                    res_dir: b_res,
                    encoding: ResponderEncoding::ShiftJis,
                },
            ];
        })),
        ..SuiteOptions::default()
    })
    .await;
    let a = terminal_at(&suite, CLINIC_A, "みどり会").await;
    let b = terminal_at(&suite, CLINIC_B, "あさひ会").await;
    // Person 1: 6-digit 国保 insurer, full-width 記号・番号 (docs/oqs-sim.md).
    let p = suite.person(1).await;
    assert!(p.insurer_number.starts_with("  "), "{p:?}");
    assert!(
        !p.insured_card_symbol.is_ascii(),
        "person 1 has a full-width 記号: {p:?}"
    );

    for (t, encoding) in [(&a, "UTF-8"), (&b, "Shift_JIS")] {
        let check = by_numbers(&suite, t, typed(&p))
            .await
            .unwrap_or_else(|e| panic!("number check over {encoding}: {e:?}"));
        let result = check.result.as_ref().expect("result");
        let header = result.header.as_ref().expect("header");
        assert_eq!(header.reference_classification.as_deref(), Some("2"));
        let q = result.results.first().expect("one result");
        // Values exactly as the upstream holds them: padding, full-width, leading zeros.
        assert_eq!(
            q.insurer_number.as_deref(),
            Some(p.insurer_number.as_str()),
            "{encoding}"
        );
        assert_eq!(
            q.insured_card_symbol.as_deref(),
            Some(p.insured_card_symbol.as_str()),
            "{encoding}"
        );
        assert_eq!(
            q.insured_identification_number.as_deref(),
            Some(p.insured_identification_number.as_str()),
            "{encoding}"
        );
        let echo = result.search_info.as_ref().expect("search info echoed");
        assert_eq!(
            echo.insured_card_symbol.as_deref(),
            Some(p.insured_card_symbol.as_str())
        );
        assert_eq!(
            check.validity(),
            pb::QualificationValidity::Valid,
            "{encoding}"
        );
    }

    // Clinic A hands off: the result XML and the TSV, complete.
    let a_check = by_numbers(&suite, &a, typed(&p)).await.expect("check");
    assert_eq!(a_check.handoff_files.len(), 2, "{a_check:?}");
    assert!(a_check.handoff_error.is_empty());
    let xml_dir = suite.dir().join("handoff-xml");
    let xml = std::fs::read_dir(&xml_dir)
        .expect("hand-off folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("OQSsiquc01res_face_") && n.ends_with(".xml"))
        })
        .expect("a result XML in the hand-off folder");
    let bytes = std::fs::read(&xml).expect("read hand-off XML");
    let text = encoding_rs_decode_sjis(&bytes);
    assert!(
        text.contains(&p.insured_card_symbol),
        "hand-off keeps the 記号 as returned"
    );
    roxmltree::Document::parse(&text).expect("the hand-off XML parses");

    // A card check cannot go over the file interface; the proxy says so.
    let card = fixture().card(0, CardOptions::default());
    let refused = a
        .pin_check(&suite, &card, pb::ConsentAnswers::default())
        .await;
    assert_reason(&refused, "UPSTREAM_NOT_CAPABLE");

    // The terminal cannot process it: `.err` beside the request.
    let mut err = typed(&p);
    err.insured_card_symbol = "ERR".to_owned();
    assert_reason(
        &by_numbers(&suite, &a, err).await,
        "UPSTREAM_REQUEST_REJECTED",
    );

    // The terminal never answers: the deadline ends the wait.
    let mut silent = typed(&p);
    silent.insured_card_symbol = "SILENT".to_owned();
    assert_reason(&by_numbers(&suite, &b, silent).await, "UPSTREAM_TIMEOUT");
}

/// Decodes the hand-off file as its declaration says (Shift_JIS here).
fn encoding_rs_decode_sjis(bytes: &[u8]) -> String {
    assert!(
        String::from_utf8_lossy(bytes).contains("encoding=\"Shift_JIS\""),
        "hand-off written in the configured encoding"
    );
    let (decoded, _, errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    assert!(!errors, "valid Shift_JIS");
    decoded.into_owned()
}

#[tokio::test]
async fn an_upstream_outage_opens_the_breaker_and_it_closes_by_itself() {
    let suite = Suite::start_with(SuiteOptions {
        customize: Some(Box::new(|proxy, _oqs, _dir| {
            let up = &mut proxy.default_upstream;
            up.retries = 1;
            up.breaker_failures = 3;
            up.breaker_open_for = Duration::from_millis(300);
            up.deadline = Duration::from_secs(2);
        })),
        ..SuiteOptions::default()
    })
    .await;
    let t = terminal_at(&suite, CLINIC_A, "はなみずき会").await;
    let p = suite.person(0).await;
    by_numbers(&suite, &t, typed(&p))
        .await
        .expect("works before the outage");

    let outage = |on: bool| oqs_pb::ConfigureFaultsRequest {
        outage: on,
        ..Default::default()
    };
    suite
        .oqs()
        .configure_faults(outage(true))
        .await
        .expect("outage on");
    // The first failures reach the upstream and say so …
    for _ in 0..3 {
        assert_reason(
            &by_numbers(&suite, &t, typed(&p)).await,
            "UPSTREAM_UNAVAILABLE",
        );
    }
    // … then the breaker is open: refused at once, with RetryInfo.
    let started = Instant::now();
    let open = by_numbers(&suite, &t, typed(&p)).await;
    assert_reason(&open, "UPSTREAM_CIRCUIT_OPEN");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "an open breaker fails fast"
    );
    let details = tonic_types::StatusExt::get_error_details(open.as_ref().expect_err("refused"));
    assert!(
        details.retry_info().is_some(),
        "RetryInfo says when to try again"
    );

    // The upstream comes back; the breaker closes by itself after a probe.
    suite
        .oqs()
        .configure_faults(outage(false))
        .await
        .expect("outage off");
    let deadline = Instant::now() + DEADLINE;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        match by_numbers(&suite, &t, typed(&p)).await {
            Ok(check) => {
                assert_eq!(check.validity(), pb::QualificationValidity::Valid);
                break;
            }
            Err(e) => {
                assert_eq!(
                    reason_of(&e).as_deref(),
                    Some("UPSTREAM_CIRCUIT_OPEN"),
                    "{e:?}"
                );
                assert!(Instant::now() < deadline, "the breaker never closed");
            }
        }
    }
}

#[tokio::test]
async fn test_roots_are_refused_in_production_mode() {
    let suite = Suite::start_with(SuiteOptions {
        customize: Some(Box::new(|proxy, _oqs, _dir| proxy.production = true)),
        ..SuiteOptions::default()
    })
    .await;
    let t = terminal_at(&suite, CLINIC_A, "くすのき会").await;
    let card = fixture().card(0, CardOptions::default());
    let refused = t
        .pin_check(&suite, &card, pb::ConsentAnswers::default())
        .await;
    assert_reason(&refused, "CERTIFICATE_TEST_ROOT_REFUSED");
}
