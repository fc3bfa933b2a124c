use super::*;
use crate::tls::{CertificateAuthority, TrustRoots, ca::LeafUse};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(86_400);

fn der(pem: &str) -> Vec<u8> {
    let (_, p) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
    p.contents
}

fn cas() -> (CertificateAuthority, CertificateAuthority, Issuers) {
    let internal = CertificateAuthority::generate("internal", DAY).unwrap();
    let device = CertificateAuthority::generate("device", DAY).unwrap();
    let issuers = Issuers::from_roots(&TrustRoots {
        service_ca_pem: internal.cert_pem().to_owned(),
        device_ca_pem: Some(device.cert_pem().to_owned()),
    })
    .unwrap();
    (internal, device, issuers)
}

#[test]
fn a_service_certificate_from_the_internal_ca_names_a_service() {
    let (internal, _, issuers) = cas();
    let id = internal
        .issue_service("activation", &["localhost"], DAY)
        .unwrap();
    let caller = issuers.identify(&der(&id.cert_pem)).unwrap();
    assert!(matches!(caller, Caller::Service { name } if name == "activation"));
}

#[test]
fn a_device_ca_certificate_claiming_a_service_uri_is_not_a_service() {
    let (_, device, issuers) = cas();
    let forged = device
        .issue("x", &service_uri("account"), &[], LeafUse::Client, DAY)
        .unwrap();
    assert!(issuers.identify(&der(&forged.cert_pem)).is_none());
}

#[test]
fn a_device_certificate_names_its_device() {
    let (_, device, issuers) = cas();
    let d = DeviceIdentity {
        organization: "o1".into(),
        clinic: "c1".into(),
        account: "W0000001".into(),
        device: "d1".into(),
    };
    let id = device
        .issue("d1", &device_uri(&d), &[], LeafUse::Client, DAY)
        .unwrap();
    match issuers.identify(&der(&id.cert_pem)) {
        Some(Caller::Device(got)) => assert_eq!(got, d),
        other => panic!("expected a device, got {other:?}"),
    }
}

#[test]
fn two_cas_with_one_name_are_refused() {
    let a = CertificateAuthority::generate("same", DAY).unwrap();
    let b = CertificateAuthority::generate("same", DAY).unwrap();
    let err = Issuers::from_roots(&TrustRoots {
        service_ca_pem: a.cert_pem().to_owned(),
        device_ca_pem: Some(b.cert_pem().to_owned()),
    })
    .unwrap_err();
    assert!(matches!(err, IssuersError::SameSubject));
}

#[test]
fn policy_is_default_deny_with_public_health() {
    let p = AccessPolicy::new()
        .allow("/a.v1.S/*", &[CallerKind::Service])
        .allow("/a.v1.S/Special", &[CallerKind::Device]);
    assert_eq!(p.decide("/grpc.health.v1.Health/Check"), Decision::Public);
    assert_eq!(
        p.decide("/a.v1.S/Get"),
        Decision::Kinds(vec![CallerKind::Service])
    );
    assert_eq!(
        p.decide("/a.v1.S/Special"),
        Decision::Kinds(vec![CallerKind::Device])
    );
    assert_eq!(p.decide("/a.v1.Other/Get"), Decision::Unlisted);
}
