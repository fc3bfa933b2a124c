use super::*;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    SerialNumber,
};
use rsa::pkcs8::EncodePrivateKey as _;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use std::sync::OnceLock;
use time::OffsetDateTime;
use time::macros::datetime;

/// The SHA-256 DigestInfo prefix the card is handed before the hash (DOMAIN.md §1.5).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

const CHALLENGE: [u8; 32] = [7; 32];
const NOW: OffsetDateTime = datetime!(2026-04-01 09:00 UTC);

/// The operating system's random source for the `rsa` crate.
struct OsRng;

impl rsa::rand_core::RngCore for OsRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        mynafleet_kit::keys::random_bytes(dest).unwrap();
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rsa::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rsa::rand_core::CryptoRng for OsRng {}

/// An RSA-2048 key and its PKCS#8 DER, made once per test process (keygen is slow).
struct Key {
    private: RsaPrivateKey,
    pkcs8: Vec<u8>,
}

fn key(slot: &'static OnceLock<Key>) -> &'static Key {
    slot.get_or_init(|| {
        let private = RsaPrivateKey::new(&mut OsRng, 2048).unwrap();
        let pkcs8 = private.to_pkcs8_der().unwrap().as_bytes().to_vec();
        Key { private, pkcs8 }
    })
}

fn ca_key() -> &'static Key {
    static K: OnceLock<Key> = OnceLock::new();
    key(&K)
}

fn card_key() -> &'static Key {
    static K: OnceLock<Key> = OnceLock::new();
    key(&K)
}

fn other_key() -> &'static Key {
    static K: OnceLock<Key> = OnceLock::new();
    key(&K)
}

fn key_pair(k: &Key) -> KeyPair {
    KeyPair::try_from(k.pkcs8.as_slice()).unwrap()
}

/// A root with the JPKI auth DN (every generation shares it) under organization `o`.
fn root(k: &Key, o: &str) -> (String, Issuer<'static, KeyPair>) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "JP");
    dn.push(DnType::OrganizationName, o);
    dn.push(
        DnType::OrganizationalUnitName,
        "JPKI for user authentication",
    );
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.not_before = datetime!(2019-09-14 00:00 UTC);
    p.not_after = datetime!(2033-07-15 00:00 UTC);
    let kp = key_pair(k);
    let pem = p.self_signed(&kp).unwrap().pem();
    (pem, Issuer::new(p, kp))
}

/// An auth certificate for `subject_key`, valid 2025-01-01 → 2030-01-01.
fn auth_cert(issuer: &Issuer<'_, KeyPair>, subject_key: &KeyPair) -> Vec<u8> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "JP");
    dn.push(DnType::CommonName, "20260401000000AB");
    p.distinguished_name = dn;
    p.serial_number = Some(SerialNumber::from_slice(&[0x9a, 0x01, 0x23]));
    p.not_before = datetime!(2025-01-01 00:00 UTC);
    p.not_after = datetime!(2030-01-01 00:00 UTC);
    p.signed_by(subject_key, issuer).unwrap().der().to_vec()
}

/// Signs like the card's `80 2A 00 80`: PKCS#1 v1.5 over the SHA-256 DigestInfo.
fn card_sign(k: &Key, challenge: &[u8]) -> Vec<u8> {
    let mut digest_info = SHA256_DIGEST_INFO.to_vec();
    digest_info.extend_from_slice(ring::digest::digest(&ring::digest::SHA256, challenge).as_ref());
    k.private
        .sign(Pkcs1v15Sign::new_unprefixed(), &digest_info)
        .unwrap()
}

fn store(roots: Vec<String>, test_roots: Vec<String>, production: bool) -> TrustStore {
    TrustStore::new(&TrustRoots { roots, test_roots }, production).unwrap()
}

/// The production root and a card it issued.
fn jpki_card() -> (String, Vec<u8>) {
    let (pem, issuer) = root(ca_key(), "JPKI");
    (pem, auth_cert(&issuer, &key_pair(card_key())))
}

#[test]
fn a_card_signing_like_the_card_verifies() {
    let (pem, cert) = jpki_card();
    let s = store(vec![pem], vec![], true);
    assert_eq!(
        s.verify_certificate(&cert, NOW),
        Ok(VerifiedCertificate {
            serial_hex: "9a0123".to_owned(),
            test_root: false,
        })
    );
    let sig = card_sign(card_key(), &CHALLENGE);
    assert_eq!(sig.len(), 256);
    assert_eq!(verify_signature(&cert, &CHALLENGE, &sig), Ok(()));
}

#[test]
fn a_flipped_signature_bit_is_refused() {
    let (_, cert) = jpki_card();
    let mut sig = card_sign(card_key(), &CHALLENGE);
    sig[100] ^= 0x01;
    assert_eq!(
        verify_signature(&cert, &CHALLENGE, &sig),
        Err(CardError::BadSignature)
    );
    let sig = card_sign(card_key(), &CHALLENGE);
    assert_eq!(
        verify_signature(&cert, &[8; 32], &sig),
        Err(CardError::BadSignature),
        "a signature over another challenge"
    );
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let (_, cert) = jpki_card();
    let sig = card_sign(other_key(), &CHALLENGE);
    assert_eq!(
        verify_signature(&cert, &CHALLENGE, &sig),
        Err(CardError::BadSignature)
    );
}

#[test]
fn a_certificate_from_an_unknown_ca_is_untrusted() {
    let (pem, _) = root(ca_key(), "JPKI");
    // Same DN as the configured root, another key: only the signature tells them apart.
    let (_, stranger) = root(other_key(), "JPKI");
    let cert = auth_cert(&stranger, &key_pair(card_key()));
    let s = store(vec![pem], vec![], false);
    assert_eq!(s.verify_certificate(&cert, NOW), Err(CardError::Untrusted));
}

#[test]
fn a_tampered_certificate_is_untrusted() {
    let (pem, mut cert) = jpki_card();
    // A byte of the validity period inside the signed part.
    let at = cert
        .windows(13)
        .position(|w| w == b"300101000000Z")
        .unwrap();
    cert[at + 1] = b'9';
    let s = store(vec![pem], vec![], false);
    assert_eq!(s.verify_certificate(&cert, NOW), Err(CardError::Untrusted));
}

#[test]
fn the_issuer_is_found_by_signature_among_roots_sharing_one_dn() {
    let (older, _) = root(other_key(), "JPKI");
    let (pem, cert) = jpki_card();
    let s = store(vec![older, pem], vec![], true);
    assert!(s.verify_certificate(&cert, NOW).is_ok());
}

#[test]
fn a_test_root_is_refused_in_production_and_accepted_otherwise() {
    let (pem, issuer) = root(ca_key(), "JPKI-TEST");
    let cert = auth_cert(&issuer, &key_pair(card_key()));
    let production = store(vec![], vec![pem.clone()], true);
    assert_eq!(
        production.verify_certificate(&cert, NOW),
        Err(CardError::TestRootRefused)
    );
    let development = store(vec![], vec![pem], false);
    assert_eq!(
        development
            .verify_certificate(&cert, NOW)
            .map(|v| v.test_root),
        Ok(true)
    );
}

#[test]
fn a_jpki_test_root_among_production_roots_is_refused_in_production() {
    let (pem, issuer) = root(ca_key(), "JPKI-TEST");
    let roots = TrustRoots {
        roots: vec![pem],
        test_roots: vec![],
    };
    let err = TrustStore::new(&roots, true).unwrap_err();
    assert!(err.to_string().contains("test root"), "{err}");
    // Outside production it is used, and known for a test root by its organization.
    let cert = auth_cert(&issuer, &key_pair(card_key()));
    let s = TrustStore::new(&roots, false).unwrap();
    assert_eq!(
        s.verify_certificate(&cert, NOW).map(|v| v.test_root),
        Ok(true)
    );
}

#[test]
fn an_expired_certificate_says_when_it_expired() {
    let (pem, cert) = jpki_card();
    let s = store(vec![pem], vec![], false);
    assert_eq!(
        s.verify_certificate(&cert, datetime!(2030-01-01 00:00:01 UTC)),
        Err(CardError::OutsideValidity(
            "expired on 2030-01-01T00:00:00Z".to_owned()
        ))
    );
}

#[test]
fn a_certificate_not_yet_valid_says_from_when() {
    let (pem, cert) = jpki_card();
    let s = store(vec![pem], vec![], false);
    let err = s
        .verify_certificate(&cert, datetime!(2024-12-31 23:59 UTC))
        .unwrap_err();
    assert_eq!(
        err,
        CardError::OutsideValidity("not yet valid until 2025-01-01T00:00:00Z".to_owned())
    );
    assert_eq!(
        err.to_string(),
        "certificate not yet valid until 2025-01-01T00:00:00Z"
    );
}

#[test]
fn malformed_der_is_refused() {
    let (pem, cert) = jpki_card();
    let s = store(vec![pem], vec![], false);
    let mut trailing = cert.clone();
    trailing.push(0);
    for der in [
        &b""[..],
        b"not a certificate",
        &cert[..cert.len() - 1],
        &trailing,
    ] {
        assert!(
            matches!(s.verify_certificate(der, NOW), Err(CardError::Malformed(_))),
            "{} bytes",
            der.len()
        );
        assert!(matches!(
            verify_signature(der, &CHALLENGE, &[0; 256]),
            Err(CardError::Malformed(_))
        ));
    }
}

#[test]
fn a_certificate_without_an_rsa_key_is_malformed() {
    let (pem, issuer) = root(ca_key(), "JPKI");
    let ecdsa = KeyPair::generate().unwrap();
    let cert = auth_cert(&issuer, &ecdsa);
    let s = store(vec![pem], vec![], false);
    assert_eq!(
        s.verify_certificate(&cert, NOW),
        Err(CardError::Malformed("the key is not an RSA key".to_owned()))
    );
    assert!(matches!(
        verify_signature(&cert, &CHALLENGE, &[0; 256]),
        Err(CardError::Malformed(_))
    ));
}

#[test]
fn unusable_root_files_are_refused() {
    let ecdsa = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ecdsa_root = p.self_signed(&ecdsa).unwrap().pem();
    for pem in [
        "no pem here",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        &ecdsa_root,
    ] {
        let roots = TrustRoots {
            roots: vec![pem.to_owned()],
            test_roots: vec![],
        };
        assert!(TrustStore::new(&roots, false).is_err(), "{pem}");
    }
}

#[test]
fn no_roots_trust_nothing() {
    let (_, cert) = jpki_card();
    let s = store(vec![], vec![], false);
    assert_eq!(s.verify_certificate(&cert, NOW), Err(CardError::Untrusted));
}
