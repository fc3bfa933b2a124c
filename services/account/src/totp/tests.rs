use super::*;

fn rfc_secret() -> TotpSecret {
    // RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
    TotpSecret::from_bytes(Zeroizing::new(b"12345678901234567890".to_vec())).unwrap()
}

const SECOND: i64 = 1_000_000;

#[test]
fn codes_match_the_rfc_6238_test_vectors() {
    // The 8-digit values of Appendix B, cut to the 6 digits MynaFleet uses.
    for (t, code) in [
        (59, "287082"),
        (1_111_111_109, "081804"),
        (1_234_567_890, "005924"),
        (2_000_000_000, "279037"),
    ] {
        assert_eq!(rfc_secret().code_at(t * SECOND).unwrap().as_str(), code);
        assert_eq!(
            rfc_secret().verify(code, t * SECOND).unwrap(),
            Some(t / 30),
            "t = {t}"
        );
    }
}

#[test]
fn a_code_is_good_one_step_either_side_and_no_further() {
    let s = rfc_secret();
    let now = 1_234_567_890 * SECOND;
    let code = s.code_at(now).unwrap();
    let step = 1_234_567_890 / 30;
    assert_eq!(s.verify(&code, now + 30 * SECOND).unwrap(), Some(step));
    assert_eq!(s.verify(&code, now - 30 * SECOND).unwrap(), Some(step));
    assert_eq!(s.verify(&code, now + 90 * SECOND).unwrap(), None);
    assert_eq!(s.verify(&code, now - 90 * SECOND).unwrap(), None);
}

#[test]
fn malformed_codes_never_match() {
    let s = rfc_secret();
    let now = 59 * SECOND;
    for bad in ["", "28708", "2870822", "+28708", "28708a", "２８７０８２"] {
        assert_eq!(s.verify(bad, now).unwrap(), None, "{bad:?}");
    }
    assert_eq!(s.verify(" 287082 ", now).unwrap(), Some(1));
}

#[test]
fn new_secrets_are_160_bits_and_differ() {
    let a = TotpSecret::generate().unwrap();
    let b = TotpSecret::generate().unwrap();
    assert_eq!(a.0.len(), SECRET_BYTES);
    assert_ne!(a.base32().as_str(), b.base32().as_str());
}

#[test]
fn the_uri_names_issuer_and_login_id_and_round_trips() {
    let s = TotpSecret::generate().unwrap();
    let uri = s.uri("yamada@sakura").unwrap();
    assert!(
        uri.starts_with("otpauth://totp/MynaFleet:yamada%40sakura?"),
        "{}",
        uri.as_str()
    );
    assert!(uri.contains("issuer=MynaFleet"));
    assert!(uri.contains(&format!("secret={}", s.base32().as_str())));
    let now = 1_700_000_000 * SECOND;
    assert_eq!(
        code_from_uri(&uri, now).as_deref(),
        Some(s.code_at(now).unwrap().as_str())
    );
    assert_eq!(code_from_uri("https://example.jp/", now), None);
}

#[test]
fn a_sealed_secret_opens_only_for_its_operator() {
    let key = SecretKey::generate().unwrap();
    let s = TotpSecret::generate().unwrap();
    let op = Uuid::now_v7();
    let sealed = s.seal(&key, op).unwrap();
    let raw = s.0.as_slice();
    assert!(!sealed.windows(raw.len()).any(|w| w == raw));
    let opened = TotpSecret::open(&key, &sealed, op).unwrap();
    assert_eq!(opened.base32().as_str(), s.base32().as_str());
    assert!(TotpSecret::open(&key, &sealed, Uuid::now_v7()).is_err());
    let other = SecretKey::generate().unwrap();
    assert!(TotpSecret::open(&other, &sealed, op).is_err());
}

#[test]
fn debug_output_hides_the_secret() {
    let s = TotpSecret::generate().unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains(s.base32().as_str()));
    assert_eq!(shown, "TotpSecret(..)");
}
