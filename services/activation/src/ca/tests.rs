use super::*;
use rcgen::{CertificateParams, KeyPair};

fn identity() -> DeviceIdentity {
    DeviceIdentity {
        organization: "0190a000-0000-7000-8000-000000000001".into(),
        clinic: "0190a000-0000-7000-8000-000000000002".into(),
        account: "W0000001".into(),
        device: "0190a000-0000-7000-8000-000000000003".into(),
    }
}

fn csr(key: &KeyPair) -> Vec<u8> {
    CertificateParams::new(vec!["ignored.example".to_owned()])
        .unwrap()
        .serialize_request(key)
        .unwrap()
        .der()
        .to_vec()
}

#[test]
fn certifies_the_requested_key_with_our_name_and_client_auth_only() {
    let ca = DeviceCa::generate().unwrap();
    let key = KeyPair::generate().unwrap();
    let now = OffsetDateTime::now_utc();
    let leaf = ca
        .certify(&csr(&key), &identity(), now, Duration::from_secs(10))
        .unwrap();
    let (_, pem) = x509_parser::pem::parse_x509_pem(leaf.cert_pem.as_bytes()).unwrap();
    let cert = pem.parse_x509().unwrap();
    assert_eq!(
        cert.public_key().raw,
        rcgen::PublicKeyData::subject_public_key_info(&key).as_slice()
    );
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    let san = cert.subject_alternative_name().unwrap().unwrap().value;
    assert_eq!(
        san.general_names.len(),
        1,
        "only our SAN URI, not the request's DNS name"
    );
    assert_eq!(
        leaf.not_after.unix_timestamp(),
        cert.validity().not_after.timestamp()
    );
    assert_eq!(leaf.serial_hex, hex::encode(cert.raw_serial()));
}

#[test]
fn refuses_garbage_and_a_request_signed_by_another_key() {
    let ca = DeviceCa::generate().unwrap();
    let now = OffsetDateTime::now_utc();
    let day = Duration::from_secs(86_400);
    assert!(ca.certify(b"not a csr", &identity(), now, day).is_err());
    let mut tampered = csr(&KeyPair::generate().unwrap());
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    assert!(ca.certify(&tampered, &identity(), now, day).is_err());
}

#[test]
fn load_or_create_keeps_the_key_private_and_reloads_the_same_ca() {
    let dir = tempfile::tempdir().unwrap();
    let first = DeviceCa::load_or_create(dir.path()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = DeviceCa::load_or_create(dir.path()).unwrap();
    assert_eq!(first.cert_pem(), again.cert_pem());
}
