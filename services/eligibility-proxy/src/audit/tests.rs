//! Check audit records: keyed references only, stable across spellings, per organization.

use super::*;
use crate::scope::Privilege;

const ORG: &str = "0190a000-0000-7000-8000-000000000001";
const DEVICE: &str = "organizations/0190a000-0000-7000-8000-000000000001/clinics/c1/devices/d1";
const ACCOUNT: &str =
    "organizations/0190a000-0000-7000-8000-000000000001/clinics/c1/accounts/W0000001";

fn key() -> SecretKey {
    SecretKey::generate().unwrap()
}

fn numbers_check(device: &str, p: PatientKey) -> CheckAudit {
    let mut a = CheckAudit::new(CheckKind::Numbers, device, ACCOUNT, 1_700_000_000_000_000);
    a.patient = Some(p);
    a
}

#[test]
fn the_same_patient_typed_full_width_or_half_width_has_one_reference() {
    let k = key();
    let half =
        numbers_check(DEVICE, PatientKey::new("06139995", "12-34", "5678", "01")).into_outbox(&k);
    let full = numbers_check(
        DEVICE,
        PatientKey::new("０６１３９９９５", "１２－３４", "５６７８　", "０１"),
    )
    .into_outbox(&k);
    assert_eq!(half.patient_ref.len(), 64);
    assert_eq!(half.patient_ref, full.patient_ref);
    assert_eq!(half.patient_ref_key_id, k.id());
    let other =
        numbers_check(DEVICE, PatientKey::new("06139995", "12-34", "5679", "01")).into_outbox(&k);
    assert_ne!(half.patient_ref, other.patient_ref);
    // Parts cannot slide into each other.
    let slid =
        numbers_check(DEVICE, PatientKey::new("06139995", "12-345", "678", "01")).into_outbox(&k);
    assert_ne!(half.patient_ref, slid.patient_ref);
}

#[test]
fn another_organization_gets_another_reference() {
    let k = key();
    let p = PatientKey::new("06139995", "1234", "5678", "01");
    let here = numbers_check(DEVICE, p.clone()).into_outbox(&k);
    let there = numbers_check("organizations/other/clinics/c1/devices/d1", p).into_outbox(&k);
    assert_ne!(here.patient_ref, there.patient_ref);
    assert_eq!(there.organization_id, "other");
}

#[test]
fn no_clear_identifier_reaches_the_record() {
    let k = key();
    let mut a = CheckAudit::new(CheckKind::Card, DEVICE, ACCOUNT, 5);
    a.method = Some(Method::Visual);
    a.attesting_staff = Some("受付 佐藤".to_owned());
    a.patient = Some(PatientKey::new("06139995", "ｱｲｳ記号", "98765432", "07"));
    a.reference_number = Some("777888999000".to_owned());
    a.certificate_serial = Some("0A:1B:2C:3D:4E".to_owned());
    a.validity = "1".to_owned();
    a.verdict = "eligible".to_owned();
    a.upstream = "oqs-sim".to_owned();
    a.source_address = "192.0.2.7:5000".to_owned();
    let debug = format!("{a:?}");
    let r = a.into_outbox(&k);
    let json = serde_json::to_string(&r.to_pb("eligibility-proxy").detail).unwrap();
    let whole = format!("{r:?} {json} {debug}");
    for clear in [
        "06139995",
        "ｱｲｳ記号",
        "98765432",
        "777888999000",
        "0A:1B",
        "0a1b2c3d4e",
    ] {
        assert!(!whole.contains(clear), "{clear} leaked: {whole}");
    }
    assert!(r.detail["reference_number_ref"].len() == 64);
    assert!(r.detail["certificate_serial_ref"].len() == 64);
    assert_eq!(r.detail["identity_method"], "visual");
    assert_eq!(r.detail["attesting_staff"], "受付 佐藤");
    assert_eq!(r.target, format!("patients/{}", r.patient_ref));
}

#[test]
fn records_name_the_device_its_role_and_the_check() {
    let k = key();
    let mut a = CheckAudit::new(CheckKind::Card, DEVICE, ACCOUNT, 42);
    a.method = Some(Method::Pin);
    a.scope(&AccountScope {
        account: ACCOUNT.to_owned(),
        organization: format!("organizations/{ORG}"),
        clinic: format!("organizations/{ORG}/clinics/c1"),
        institution_code: "1310000019".to_owned(),
        privilege: Privilege::MedicalInformation,
        available: true,
        home_visit: true,
    });
    a.fail(Outcome::Denied, "CHALLENGE_REPLAYED");
    let r = a.into_outbox(&k);
    assert_eq!(
        (
            r.organization_id.as_str(),
            r.actor_kind.as_str(),
            r.actor.as_str(),
            r.actor_role.as_str(),
            r.auth_method.as_str(),
            r.action.as_str(),
            r.action_code.as_str(),
            r.outcome.as_str(),
            r.reason.as_str(),
            r.target.as_str(),
        ),
        (
            ORG,
            "device",
            DEVICE,
            "medical_info",
            "mtls+pin",
            "eligibility.check_card",
            "E",
            "denied",
            "CHALLENGE_REPLAYED",
            r.clinic.as_str(),
        )
    );
    assert_eq!(r.time, 42);
    assert_eq!(r.detail["check_kind"], "card");
    assert!(r.patient_ref.is_empty());
    let pb = r.to_pb(crate::SERVICE_NAME);
    assert_eq!(pb.organization, format!("organizations/{ORG}"));
    let requery = CheckAudit::new(CheckKind::Requery, DEVICE, ACCOUNT, 1).into_outbox(&k);
    assert_eq!(
        (
            requery.action.as_str(),
            requery.action_code.as_str(),
            requery.auth_method.as_str()
        ),
        ("eligibility.requery", "R", "mtls")
    );
}
