//! Fail-closed audit at the eligibility proxy (issue #7): a card check whose audit record
//! cannot be written to the proxy's outbox is refused — no result, no hand-off file — and its
//! challenge can never be turned into a result afterwards. A trigger in the proxy's database
//! refuses every INSERT into `audit_outbox`, as a full disk would; once it is gone the proxy
//! checks again. (Activation's and the account service's mutations are proved the same way
//! by the `fail_closed` unit tests in their crates.)

use mynafleet_eligibility_proxy::{HandoffConfig, XmlEncoding};
use mynafleet_kit::db::testing::{allow_inserts, refuse_inserts};
use mynafleet_kit::status::reason_of;
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::audit::v1 as audit_pb;
use mynafleet_proto::eligibility::v1 as pb;
use mynafleet_tests::fleet::Terminal;
use mynafleet_tests::jpki::{CardOptions, fixture};
use mynafleet_tests::operators::Operator;
use mynafleet_tests::{Backend, DEADLINE, Suite, SuiteOptions};
use sqlx::AnyPool;
use std::path::Path;
use std::time::Duration;

mynafleet_tests::on_both_backends!(
    a_check_whose_audit_cannot_be_written_is_refused_and_hands_nothing_off
);

/// 機関コード of the MHLW worked example.
const CLINIC: &str = "3410712362";

/// (successful, other) card-check records of `admin`'s organization in the central store.
async fn card_checks(suite: &Suite, admin: &Operator) -> (usize, usize) {
    let checks: Vec<_> = suite
        .audit_records(admin)
        .await
        .into_iter()
        .filter(|r| r.action == "eligibility.check_card")
        .collect();
    let ok = checks
        .iter()
        .filter(|r| r.outcome == audit_pb::Outcome::Success as i32)
        .count();
    (ok, checks.len() - ok)
}

/// Every file in the hand-off folders.
fn handed_off(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for d in ["handoff-xml", "handoff-tsv"] {
        for entry in std::fs::read_dir(dir.join(d)).expect("read a hand-off folder") {
            files.push(entry.expect("hand-off entry").path().display().to_string());
        }
    }
    files.sort();
    files
}

fn complete_request(
    begun: &pb::BeginCardCheckResponse,
    card: &mynafleet_tests::card::SoftwareCard,
) -> pb::CompleteCardCheckRequest {
    pb::CompleteCardCheckRequest {
        challenge_id: begun.challenge_id.clone(),
        auth_certificate: card.certificate_der.clone(),
        signature: card.sign(&begun.challenge),
        identity_method: pb::IdentityMethod::Pin as i32,
        attesting_staff: String::new(),
        consents: Some(pb::ConsentAnswers::default()),
    }
}

async fn begin(suite: &Suite, t: &Terminal) -> pb::BeginCardCheckResponse {
    t.eligibility(suite)
        .begin_card_check(pb::BeginCardCheckRequest {})
        .await
        .expect("begin a card check")
        .into_inner()
}

async fn a_check_whose_audit_cannot_be_written_is_refused_and_hands_nothing_off(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions {
        customize: Some(Box::new(|proxy, _oqs, dir| {
            for d in ["handoff-xml", "handoff-tsv"] {
                std::fs::create_dir_all(dir.join(d)).expect("make hand-off folder");
            }
            proxy.handoff.insert(
                CLINIC.to_owned(),
                HandoffConfig {
                    xml_dir: Some(dir.join("handoff-xml")),
                    tsv_dir: Some(dir.join("handoff-tsv")),
                    encoding: XmlEncoding::Utf8,
                },
            );
        })),
        ..SuiteOptions::on(backend)
    })
    .await;
    sqlx::any::install_default_drivers();
    let proxy_db = AnyPool::connect(suite.proxy_database_url())
        .await
        .expect("open the proxy's database");
    let admin = suite.org_admin("さくら医療会", "sakura-admin").await;
    let clinic = suite
        .clinic(&admin, CLINIC, "さくら内科クリニック", true)
        .await;
    let account = suite
        .device_account(&admin, &clinic, account_pb::Privilege::MedicalInfo)
        .await;
    let code = suite.issue_code(&admin, &account).await;
    let terminal = suite.activate_terminal(&account, &code).await;
    let card = fixture().card(0, CardOptions::default());

    // The desk works: a check answers and hands off.
    let first = terminal
        .pin_check(&suite, &card, pb::ConsentAnswers::default())
        .await
        .expect("a check with a writable outbox");
    assert_eq!(first.handoff_files.len(), 2, "{first:?}");
    let files = handed_off(suite.dir());

    // The outbox refuses: the check is refused, nothing is handed off or recorded.
    refuse_inserts(&proxy_db, "audit_outbox").await;
    let begun = begin(&suite, &terminal).await;
    let request = complete_request(&begun, &card);
    let refused = terminal
        .eligibility(&suite)
        .complete_card_check(request.clone())
        .await
        .expect_err("a check whose audit cannot be written is refused");
    assert_eq!(refused.code(), tonic::Code::Internal, "{refused:?}");
    assert!(
        !refused.message().contains("refuses"),
        "no database text reaches the terminal: {refused:?}"
    );
    assert_eq!(handed_off(suite.dir()), files, "nothing is handed off");

    // The refused check's challenge never yields a result, even once the outbox works again.
    allow_inserts(&proxy_db, "audit_outbox").await;
    let again = terminal
        .eligibility(&suite)
        .complete_card_check(request)
        .await
        .expect_err("the refused check's challenge is spent");
    assert_eq!(
        reason_of(&again).as_deref(),
        Some("CHALLENGE_REPLAYED"),
        "{again:?}"
    );
    assert_eq!(handed_off(suite.dir()), files, "still nothing handed off");

    // A new check goes through, recorded and handed off.
    let next = terminal
        .pin_check(&suite, &card, pb::ConsentAnswers::default())
        .await
        .expect("a check once the outbox works again");
    assert_eq!(next.handoff_files.len(), 2, "{next:?}");

    // The central store learns of two checks that answered and the refused replay; the
    // check whose record could not be written left no trace of success anywhere.
    let mut ticks = tokio::time::interval(Duration::from_millis(100));
    let mut seen = (0, 0);
    let arrived = tokio::time::timeout(DEADLINE, async {
        loop {
            ticks.tick().await;
            seen = card_checks(&suite, &admin).await;
            if seen.0 >= 2 && seen.1 >= 1 {
                return;
            }
        }
    })
    .await;
    assert!(arrived.is_ok(), "check records arrive; last seen {seen:?}");
    assert_eq!(seen, (2, 1), "(answered, refused) card checks");
}
