use super::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;

struct Ca {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        der: cert.der().clone(),
        issuer: Issuer::new(params, key),
    }
}

fn leaf(ca: &Ca, names: &[&str]) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.signed_by(&key, &ca.issuer).unwrap().der().clone()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

#[test]
fn the_ca_sent_beside_the_leaf_is_returned_when_its_fingerprint_matches() {
    let ca = ca("mynafleet dev ca");
    let leaf = leaf(&ca, &["localhost", "127.0.0.1"]);
    let got = check_chain(
        Fingerprint::of_der(&ca.der),
        &leaf,
        std::slice::from_ref(&ca.der),
        &localhost(),
        UnixTime::now(),
        &provider(),
    )
    .unwrap();
    assert_eq!(got, ca.der);
}

#[test]
fn a_wrong_pin_names_every_presented_fingerprint() {
    let ca = ca("mynafleet dev ca");
    let other = self::ca("someone else");
    let leaf = leaf(&ca, &["localhost"]);
    let err = check_chain(
        Fingerprint::of_der(&other.der),
        &leaf,
        std::slice::from_ref(&ca.der),
        &localhost(),
        UnixTime::now(),
        &provider(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        PinFailure::Mismatch(vec![
            Fingerprint::of_der(&leaf),
            Fingerprint::of_der(&ca.der)
        ])
    );
    let message = PinError::Mismatch {
        expected: Fingerprint::of_der(&other.der),
        presented: vec![Fingerprint::of_der(&leaf), Fingerprint::of_der(&ca.der)],
    }
    .to_string();
    assert!(message.contains(&Fingerprint::of_der(&other.der).to_string()));
    assert!(message.contains(&Fingerprint::of_der(&ca.der).to_string()));
}

#[test]
fn a_matching_ca_that_did_not_issue_the_leaf_is_not_enough() {
    let real = ca("real");
    let planted = ca("planted");
    let leaf = leaf(&real, &["localhost"]);
    let err = check_chain(
        Fingerprint::of_der(&planted.der),
        &leaf,
        std::slice::from_ref(&planted.der),
        &localhost(),
        UnixTime::now(),
        &provider(),
    )
    .unwrap_err();
    assert!(matches!(err, PinFailure::Untrusted(_)), "{err:?}");
}

#[test]
fn the_leaf_must_name_the_host_it_was_reached_by() {
    let ca = ca("mynafleet dev ca");
    let leaf = leaf(&ca, &["activation.example.jp"]);
    let err = check_chain(
        Fingerprint::of_der(&ca.der),
        &leaf,
        std::slice::from_ref(&ca.der),
        &localhost(),
        UnixTime::now(),
        &provider(),
    )
    .unwrap_err();
    assert!(matches!(err, PinFailure::Untrusted(_)), "{err:?}");
}

#[test]
fn der_to_pem_round_trips() {
    let ca = ca("mynafleet dev ca");
    let pem = der_to_pem(&ca.der);
    assert!(pem.lines().all(|l| l.len() <= 64));
    let back = CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    assert_eq!(back, ca.der);
}
