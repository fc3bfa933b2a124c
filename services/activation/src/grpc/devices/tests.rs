use super::*;

const ORG: &str = "0190a1b2-0000-7000-8000-000000000001";
const CLINIC: &str = "0190a1b2-0000-7000-8000-000000000002";
const DEVICE: &str = "0190a1b2-0000-7000-8000-000000000003";

#[test]
fn device_names_parse_into_canonical_ids() {
    let raw = format!("organizations/{ORG}/clinics/{CLINIC}/devices/{DEVICE}");
    let name = DeviceName::parse(&raw, "name").unwrap();
    assert_eq!(
        name,
        DeviceName {
            organization: ORG.to_owned(),
            clinic: CLINIC.to_owned(),
            id: DEVICE.to_owned(),
        }
    );
    assert_eq!(
        name.clinic_name(),
        format!("organizations/{ORG}/clinics/{CLINIC}")
    );
    let upper = raw.to_uppercase().replace("ORGANIZATIONS", "organizations");
    let upper = upper
        .replace("CLINICS", "clinics")
        .replace("DEVICES", "devices");
    assert_eq!(DeviceName::parse(&upper, "name").unwrap(), name);
}

#[test]
fn malformed_device_names_are_field_violations() {
    for raw in [
        String::new(),
        format!("organizations/{ORG}/clinics/{CLINIC}"),
        format!("organizations/{ORG}/clinics/{CLINIC}/accounts/W0000001"),
        format!("organizations/{ORG}/clinics/{CLINIC}/devices/not-a-uuid"),
        format!("organizations/x/clinics/{CLINIC}/devices/{DEVICE}"),
        format!("organizations/{ORG}/clinics/{CLINIC}/devices/{DEVICE}/more"),
    ] {
        let err = DeviceName::parse(&raw, "device").unwrap_err();
        assert!(
            matches!(&err, Error::InvalidFields(v) if v.len() == 1),
            "{raw}: {err:?}"
        );
        assert_eq!(err.reason(), "INVALID_FIELD");
    }
}

#[test]
fn parents_are_an_organization_or_a_clinic() {
    assert_eq!(
        Parent::parse(&format!("organizations/{ORG}")).unwrap(),
        Parent::Organization(ORG.to_owned())
    );
    let clinic = Parent::parse(&format!("organizations/{ORG}/clinics/{CLINIC}")).unwrap();
    assert_eq!(clinic, Parent::Clinic(ORG.to_owned(), CLINIC.to_owned()));
    assert_eq!(clinic.organization(), ORG);
    for raw in [
        "",
        "organizations/",
        "organizations/nope",
        "clinics/x",
        &format!("organizations/{ORG}/clinics/"),
        &format!("organizations/{ORG}/devices/{DEVICE}"),
    ] {
        assert!(Parent::parse(raw).is_err(), "{raw}");
    }
}

#[test]
fn reasons_are_bounded_plain_text_without_my_numbers() {
    assert_eq!(
        status_reason("  タブレット紛失 ").unwrap(),
        "タブレット紛失"
    );
    assert_eq!(status_reason("").unwrap(), "");
    assert!(status_reason(&"あ".repeat(MAX_REASON_CHARS)).is_ok());
    assert!(status_reason(&"あ".repeat(MAX_REASON_CHARS + 1)).is_err());
    assert!(status_reason("lost\u{7}").is_err());
    // 1234 5678 9018 has a valid My Number check digit.
    let err = status_reason("患者 1234 5678 9018 の端末").unwrap_err();
    assert_eq!(err.reason(), "MY_NUMBER_REFUSED");
    assert!(status_reason("端末 1234-5678-9012").is_ok());
}

#[test]
fn devices_reach_the_wire_without_their_certificate() {
    let d = Device {
        id: DEVICE.to_owned(),
        organization_id: ORG.to_owned(),
        clinic_id: CLINIC.to_owned(),
        account_id: "W0000001".to_owned(),
        institution_code: "1310112345".to_owned(),
        status: DeviceStatus::Suspended,
        status_cause: StatusCause::Account,
        status_reason: "ACCOUNT_SUSPENDED".to_owned(),
        status_time: 3_000_000,
        key_fingerprint: "ab".repeat(32),
        code_id: "code".to_owned(),
        certificate_serial: "01ff".to_owned(),
        certificate_not_after: Some(5_000_000),
        certificate_pem: "-----BEGIN CERTIFICATE-----".to_owned(),
        create_time: 1_000_000,
        first_seen_time: Some(2_000_000),
        last_seen_time: None,
        facts: crate::device::DeviceFacts {
            hostname: "uketsuke-01".to_owned(),
            os: "linux".to_owned(),
            agent_version: "0.1.0".to_owned(),
            readers: vec!["Virtual PCD 00 00".to_owned()],
        },
    };
    let w = device_to_pb(&d);
    assert_eq!(
        w.name,
        format!("organizations/{ORG}/clinics/{CLINIC}/devices/{DEVICE}")
    );
    assert_eq!(
        w.account,
        format!("organizations/{ORG}/clinics/{CLINIC}/accounts/W0000001")
    );
    assert_eq!(w.status, pb::DeviceStatus::Suspended as i32);
    assert_eq!(w.status_cause, pb::StatusCause::Account as i32);
    assert_eq!(w.status_reason, "ACCOUNT_SUSPENDED");
    assert_eq!(w.status_time.map(|t| t.seconds), Some(3));
    assert_eq!(w.create_time.map(|t| t.seconds), Some(1));
    assert_eq!(w.first_seen_time.map(|t| t.seconds), Some(2));
    assert_eq!(w.certificate_expire_time.map(|t| t.seconds), Some(5));
    assert_eq!(w.last_seen_time, None);
    assert_eq!(w.certificate_serial, "01ff");
    assert_eq!(w.institution_code, "1310112345");
    assert_eq!(w.facts.unwrap().readers, ["Virtual PCD 00 00"]);
    // The code's resource name, never the code (only its hash exists).
    assert_eq!(
        w.activation_code,
        format!("{}/activationCodes/code", d.account_name())
    );
    let encoded = format!("{:?}", device_to_pb(&d));
    assert!(!encoded.contains("BEGIN CERTIFICATE"));
}
