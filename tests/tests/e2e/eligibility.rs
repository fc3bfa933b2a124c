//! Eligibility checks through the proxy (issue #5): a terminal plays the card in software
//! (a card profile oqs-sim issued, signing like the card's `80 2A`), the proxy verifies it and
//! asks oqs-sim; every refusal has its own reason; a 一般 account never sees consent fields;
//! checks by numbers go through the OQS file interface with oqs-sim answering in the folder;
//! an upstream outage opens the breaker and closes again; hand-off files appear whole.

use mynafleet_kit::status::reason_of;
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::eligibility::v1 as pb;
use mynafleet_proto::oqs::v1 as oqs_pb;
use mynafleet_proto::tonic::Status;
use mynafleet_proto::tonic::transport::Channel;
use mynafleet_tests::card::SoftwareCard;
use mynafleet_tests::fleet::{Terminal, TestClinic};
use mynafleet_tests::jpki::{CardOptions, fixture};
use mynafleet_tests::operators::Operator;
use mynafleet_tests::{Backend, DEADLINE, Suite, SuiteOptions};
use pb::eligibility_service_client::EligibilityServiceClient;
use std::time::{Duration, Instant};

mynafleet_tests::on_both_backends!(
    a_pin_check_returns_the_persons_qualification_and_is_audited_without_identity,
    each_bad_card_or_challenge_is_refused_with_its_own_reason,
    a_general_account_never_receives_consent_fields,
);

/// 機関コード of the MHLW worked example, and a second valid one (home-visit clinic).
const CLINIC_A: &str = "3410712362";
const CLINIC_B: &str = "1310112345";

/// A clinic's terminal, ready to check.
struct Desk {
    admin: Operator,
    clinic: TestClinic,
    terminal: Terminal,
}

/// Makes an organization, a clinic with `code`, a device account with `privilege` and an
/// activated terminal for it.
async fn desk(
    suite: &Suite,
    org: &str,
    code: &str,
    home_visit: bool,
    privilege: account_pb::Privilege,
) -> Desk {
    let admin = suite.org_admin(org, &format!("admin-{code}")).await;
    let clinic = suite
        .clinic(&admin, code, "さくら内科クリニック", home_visit)
        .await;
    let account = suite.device_account(&admin, &clinic, privilege).await;
    let code = suite.issue_code(&admin, &account).await;
    let terminal = suite.activate_terminal(&account, &code).await;
    Desk {
        admin,
        clinic,
        terminal,
    }
}

fn eligibility(suite: &Suite, t: &Terminal) -> EligibilityServiceClient<Channel> {
    t.eligibility(suite)
}

async fn begin(suite: &Suite, t: &Terminal) -> pb::BeginCardCheckResponse {
    eligibility(suite, t)
        .begin_card_check(pb::BeginCardCheckRequest {})
        .await
        .unwrap_or_else(|e| panic!("begin card check: {e:?}"))
        .into_inner()
}

fn pin_request(
    begun: &pb::BeginCardCheckResponse,
    card: &SoftwareCard,
    consents: pb::ConsentAnswers,
) -> pb::CompleteCardCheckRequest {
    pb::CompleteCardCheckRequest {
        challenge_id: begun.challenge_id.clone(),
        auth_certificate: card.certificate_der.clone(),
        signature: card.sign(&begun.challenge),
        identity_method: pb::IdentityMethod::Pin as i32,
        attesting_staff: String::new(),
        consents: Some(consents),
    }
}

async fn complete(
    suite: &Suite,
    t: &Terminal,
    req: pb::CompleteCardCheckRequest,
) -> Result<pb::CheckResult, Status> {
    eligibility(suite, t)
        .complete_card_check(req)
        .await
        .map(|r| r.into_inner().check.expect("check in response"))
}

/// Begins and completes a PIN check with `card`.
async fn pin_check(
    suite: &Suite,
    t: &Terminal,
    card: &SoftwareCard,
    consents: pb::ConsentAnswers,
) -> Result<pb::CheckResult, Status> {
    t.pin_check(suite, card, consents).await
}

#[track_caller]
fn assert_reason(result: Result<pb::CheckResult, Status>, reason: &str) {
    match result {
        Ok(r) => panic!("expected {reason}, got a result: {r:?}"),
        Err(e) => assert_eq!(reason_of(&e).as_deref(), Some(reason), "{e:?}"),
    }
}

async fn a_pin_check_returns_the_persons_qualification_and_is_audited_without_identity(
    backend: Backend,
) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let d = desk(
        &suite,
        "さくら医療グループ",
        CLINIC_A,
        false,
        account_pb::Privilege::General,
    )
    .await;
    // Person 0 is 有効, 本人, 8-digit insurer (docs/oqs-sim.md).
    let p = suite.person(0).await;
    let card = fixture().card(0, CardOptions::default());
    let check = pin_check(&suite, &d.terminal, &card, pb::ConsentAnswers::default())
        .await
        .unwrap_or_else(|e| panic!("PIN check: {e:?}"));
    assert_eq!(check.verdict(), pb::Verdict::Eligible, "{check:?}");
    assert_eq!(check.validity(), pb::QualificationValidity::Valid);
    assert!(!check.needs_staff_action);
    assert_eq!(check.scope(), pb::ResultScope::Qualification);
    let result = check.result.as_ref().expect("result");
    let header = result.header.as_ref().expect("header");
    assert_eq!(header.medical_institution_code.as_deref(), Some(CLINIC_A));
    assert_eq!(header.reference_classification.as_deref(), Some("1"));
    assert_eq!(result.qualification_validity.as_deref(), Some("1"));
    assert_eq!(result.results.len(), 1);
    let q = &result.results[0];
    assert_eq!(q.insurer_number.as_deref(), Some(p.insurer_number.as_str()));
    assert_eq!(
        q.insured_identification_number.as_deref(),
        Some(p.insured_identification_number.as_str())
    );
    assert_eq!(q.birthdate.as_deref(), Some(p.birthdate.as_str()));
    assert!(q.name.as_deref().is_some_and(|n| !n.is_empty()));

    // The central audit log holds the check: device, account, clinic, method, outcome,
    // 資格有効性 — and the patient only as a keyed reference.
    let deadline = Instant::now() + DEADLINE;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let record = loop {
        tick.tick().await;
        let records = suite.audit_records(&d.admin).await;
        if let Some(r) = records.into_iter().find(|r| r.id == check.check_id) {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "check {} never reached the audit log",
            check.check_id
        );
    };
    assert_eq!(record.action, "eligibility.check_card");
    assert_eq!(record.actor, d.terminal.reply.device);
    assert_eq!(record.clinic, d.clinic.name);
    assert_eq!(record.producer, "eligibility-proxy");
    assert_eq!(
        record.detail.get("identity_method").map(String::as_str),
        Some("pin")
    );
    assert_eq!(record.detail.get("validity").map(String::as_str), Some("1"));
    assert_eq!(record.patient_ref.len(), 64, "HMAC-SHA256 hex: {record:?}");
    assert!(!record.patient_ref_key_id.is_empty());
    let text = format!("{record:?}");
    let number = p.insured_identification_number.trim();
    for clear in [
        p.insurer_number.trim(),
        number,
        p.birthdate.as_str(),
        q.name.as_deref().unwrap_or_default(),
    ] {
        assert!(
            !text.contains(clear),
            "{clear:?} in clear in the audit record: {text}"
        );
    }
}

async fn each_bad_card_or_challenge_is_refused_with_its_own_reason(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    let d = desk(
        &suite,
        "ひまわり会",
        CLINIC_A,
        false,
        account_pb::Privilege::General,
    )
    .await;
    let t = &d.terminal;
    let card = fixture().card(0, CardOptions::default());
    let ok = pb::ConsentAnswers::default;

    // A forged signature: one bit flipped.
    let begun = begin(&suite, t).await;
    let mut forged = pin_request(&begun, &card, ok());
    forged.signature[17] ^= 0x01;
    assert_reason(complete(&suite, t, forged).await, "SIGNATURE_INVALID");

    // A challenge the proxy never issued.
    let mut wrong = pin_request(&begin(&suite, t).await, &card, ok());
    wrong.challenge_id = "bm90LWEtY2hhbGxlbmdl".to_owned();
    assert_reason(complete(&suite, t, wrong).await, "CHALLENGE_UNKNOWN");

    // A replayed challenge: the first completion works, the second is refused.
    let begun = begin(&suite, t).await;
    let first = complete(&suite, t, pin_request(&begun, &card, ok())).await;
    assert!(first.is_ok(), "{first:?}");
    assert_reason(
        complete(&suite, t, pin_request(&begun, &card, ok())).await,
        "CHALLENGE_REPLAYED",
    );

    // An expired challenge: the suite clock moves past its expiry.
    let begun = begin(&suite, t).await;
    suite.clock.advance(Duration::from_secs(31));
    assert_reason(
        complete(&suite, t, pin_request(&begun, &card, ok())).await,
        "CHALLENGE_EXPIRED",
    );

    // A certificate from a CA the proxy does not trust.
    let stranger = fixture().card(
        0,
        CardOptions {
            stranger_ca: true,
            ..CardOptions::default()
        },
    );
    assert_reason(
        pin_check(&suite, t, &stranger, ok()).await,
        "CERTIFICATE_UNTRUSTED",
    );

    // An expired card certificate.
    let expired = fixture().card(
        0,
        CardOptions {
            expired: true,
            ..CardOptions::default()
        },
    );
    assert_reason(
        pin_check(&suite, t, &expired, ok()).await,
        "CERTIFICATE_EXPIRED",
    );

    // 目視確認 without the staff member who attested.
    let begun = begin(&suite, t).await;
    let visual = pb::CompleteCardCheckRequest {
        challenge_id: begun.challenge_id.clone(),
        auth_certificate: card.certificate_der.clone(),
        signature: Vec::new(),
        identity_method: pb::IdentityMethod::Visual as i32,
        attesting_staff: String::new(),
        consents: None,
    };
    assert_reason(
        complete(&suite, t, visual.clone()).await,
        "STAFF_ATTESTATION_REQUIRED",
    );
    // With the staff member it works, and says so in the audit log.
    let attested = pb::CompleteCardCheckRequest {
        attesting_staff: "受付 山田".to_owned(),
        ..visual
    };
    let check = complete(&suite, t, attested).await.expect("visual check");
    assert_eq!(check.verdict(), pb::Verdict::Eligible);

    // A suspended device is refused before anything else.
    let mut devices =
        mynafleet_proto::activation::v1::device_service_client::DeviceServiceClient::new(
            suite.activation_authed(&d.admin),
        );
    devices
        .suspend_device(mynafleet_proto::activation::v1::SuspendDeviceRequest {
            name: t.reply.device.clone(),
            reason: "端末紛失".to_owned(),
            request_id: mynafleet_tests::fleet::rid(),
        })
        .await
        .unwrap_or_else(|e| panic!("suspend: {e:?}"));
    let deadline = Instant::now() + DEADLINE;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        match eligibility(&suite, t)
            .begin_card_check(pb::BeginCardCheckRequest {})
            .await
        {
            Err(e) => {
                assert_eq!(reason_of(&e).as_deref(), Some("DEVICE_SUSPENDED"), "{e:?}");
                break;
            }
            Ok(_) => assert!(
                Instant::now() < deadline,
                "the proxy kept serving a suspended device"
            ),
        }
    }
}

async fn a_general_account_never_receives_consent_fields(backend: Backend) {
    let suite = Suite::start_with(SuiteOptions::on(backend)).await;
    // The upstream sends the 閲覧同意 fields with every result.
    suite
        .oqs()
        .configure_faults(oqs_pb::ConfigureFaultsRequest {
            inject_consent_fields: true,
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("configure faults: {e:?}"));
    let all_consents = pb::ConsentAnswers {
        limit_application_certificate: true,
        specific_health_checkups: true,
        pharmacists: true,
        diagnosis: true,
        operation: true,
    };
    let card = fixture().card(0, CardOptions::default());
    let has_consent = |c: &pb::CheckResult| {
        c.result.as_ref().is_some_and(|r| {
            r.results.iter().any(|q| {
                q.specific_health_checkups_info.is_some()
                    || q.pharmacists_info.is_some()
                    || q.diagnosis_info.is_some()
                    || q.operation_info.is_some()
            })
        })
    };

    // 一般 at a home-visit clinic: qualification only, even though the upstream sent more.
    let general = desk(
        &suite,
        "あおば会",
        CLINIC_B,
        true,
        account_pb::Privilege::General,
    )
    .await;
    let check = pin_check(&suite, &general.terminal, &card, all_consents)
        .await
        .expect("check");
    assert_eq!(check.scope(), pb::ResultScope::Qualification);
    assert!(
        !has_consent(&check),
        "consent fields leaked to 一般: {check:?}"
    );
    assert!(check.result.as_ref().is_some_and(|r| !r.results.is_empty()));

    // 医療情報閲覧 at the same home-visit clinic sees them.
    let medical = suite
        .device_account(
            &general.admin,
            &general.clinic,
            account_pb::Privilege::MedicalInfo,
        )
        .await;
    let code = suite.issue_code(&general.admin, &medical).await;
    let terminal = suite.activate_terminal(&medical, &code).await;
    let check = pin_check(&suite, &terminal, &card, all_consents)
        .await
        .expect("check");
    assert_eq!(check.scope(), pb::ResultScope::WithConsent);
    assert!(
        has_consent(&check),
        "医療情報閲覧 should see consent fields: {check:?}"
    );
}
