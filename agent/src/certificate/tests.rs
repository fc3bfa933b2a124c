use super::*;
use rcgen::{CertificateSigningRequestParams, IsCa, Issuer};
use rustls::pki_types::CertificateSigningRequestDer;

fn issue(csr_der: &[u8], serial: u64) -> String {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let issuer = Issuer::new(ca, ca_key);
    let der = CertificateSigningRequestDer::from(csr_der.to_vec());
    let mut request = CertificateSigningRequestParams::from_der(&der).unwrap();
    request.params.serial_number = Some(serial.into());
    request.params.not_before = time::macros::datetime!(2026-11-19 00:00 UTC);
    request.params.not_after = time::macros::datetime!(2026-11-20 00:00 UTC);
    request.signed_by(&issuer).unwrap().pem()
}

#[test]
fn an_issued_certificate_reads_back_with_serial_validity_and_key() {
    let made = new_key_and_csr().unwrap();
    assert!(made.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let pem = issue(&made.csr_der, 0x1A2B);
    let info = CertificateInfo::from_pem(&pem).unwrap();
    assert_eq!(info.serial, "1A2B");
    assert_eq!(
        info.not_before,
        time::macros::datetime!(2026-11-19 00:00 UTC)
    );
    assert_eq!(
        info.not_after,
        time::macros::datetime!(2026-11-20 00:00 UTC)
    );
    assert!(info.matches_key(&made.key_pem));
    assert!(!info.matches_key(&new_key_and_csr().unwrap().key_pem));
    assert!(!info.matches_key("not a key"));
}

#[test]
fn a_csr_for_a_saved_key_names_the_same_key() {
    let made = new_key_and_csr().unwrap();
    let again = csr_for_key(&made.key_pem).unwrap();
    let info = CertificateInfo::from_pem(&issue(&again, 7)).unwrap();
    assert!(info.matches_key(&made.key_pem));
}

#[test]
fn garbage_is_not_a_certificate() {
    assert!(matches!(
        CertificateInfo::from_pem("hello"),
        Err(CertificateError::NotPem(_))
    ));
}
