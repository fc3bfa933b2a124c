use super::*;
use crate::testing::shared_key;

#[test]
fn racing_creators_end_with_one_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    std::fs::create_dir(&dir).unwrap(); // an existing empty directory, as a harness makes
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || load_or_create(&dir).unwrap().cert_pem().to_owned())
        })
        .collect();
    let pems: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(pems.iter().all(|p| p == &pems[0]));
    assert_eq!(load_or_create(&dir).unwrap().cert_pem(), pems[0]);
    // Nothing is left behind but the CA directory itself.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn issued_certificates_verify_against_the_ca_and_carry_no_name() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = load_or_create(&tmp.path().join("ca")).unwrap();
    let leaf = ca
        .issue(&LeafRequest {
            subject_cn: "0123456789ABCDEF0123456789ABCDEF",
            key_pkcs8: Some(shared_key()),
            ..Default::default()
        })
        .unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf.cert_der).unwrap();
    let (_, ca_cert) = x509_parser::parse_x509_certificate(ca.cert_der()).unwrap();
    cert.verify_signature(Some(ca_cert.public_key())).unwrap();
    assert_eq!(
        cert.subject().to_string(),
        "C=JP, CN=0123456789ABCDEF0123456789ABCDEF"
    );
    let issuer = cert.issuer().to_string();
    assert!(issuer.contains("O=JPKI-TEST"), "{issuer}");
    assert!(
        issuer.contains("CN=MynaFleet JPKI-TEST auth CA"),
        "{issuer}"
    );
    let validity = cert.validity().time_to_expiration().unwrap();
    assert!(validity.whole_days() > 365 * 4);
    assert_eq!(
        cert.public_key().parsed().map(|k| k.key_size()).unwrap(),
        2048
    );
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.digital_signature() && !ku.key_cert_sign());
    assert_eq!(
        ca.verify(&leaf.cert_der).unwrap(),
        "0123456789ABCDEF0123456789ABCDEF"
    );

    let other = load_or_create(&tmp.path().join("other-ca")).unwrap();
    assert_eq!(
        other.verify(&leaf.cert_der),
        Err(VerifyError::UnknownIssuer)
    );
    assert_eq!(ca.verify(b"not a certificate"), Err(VerifyError::Malformed));
}
