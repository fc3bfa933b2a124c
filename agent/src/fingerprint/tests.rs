use super::*;

const SHEET: &str = "3A:7F:00:C1:9B:22:4E:D0:11:AB:CD:EF:01:23:45:67:89:9A:BC:DE:F0:12:34:56:78:9A:BC:DE:F0:12:34:56";

#[test]
fn sheet_form_round_trips() {
    let fp = Fingerprint::parse(SHEET).unwrap();
    assert_eq!(fp.to_string(), SHEET);
}

#[test]
fn any_case_and_separators_mean_the_same_fingerprint() {
    let want = Fingerprint::parse(SHEET).unwrap();
    let bare = SHEET.replace(':', "");
    for typed in [
        bare.to_lowercase(),
        bare.clone(),
        SHEET.to_lowercase(),
        SHEET.replace(':', " "),
        SHEET.replace(':', "-"),
        format!("  {SHEET}\n"),
        format!("sha256:{bare}"),
        format!("SHA256 Fingerprint={SHEET}"),
    ] {
        assert_eq!(Fingerprint::parse(&typed), Ok(want), "{typed:?}");
    }
}

#[test]
fn short_long_and_non_hex_input_is_refused() {
    let bare = SHEET.replace(':', "");
    assert_eq!(
        Fingerprint::parse(&bare[..62]),
        Err(FingerprintError::WrongLength(62))
    );
    assert_eq!(
        Fingerprint::parse(&format!("{bare}00")),
        Err(FingerprintError::WrongLength(66))
    );
    assert_eq!(
        Fingerprint::parse(&format!("{}G", &bare[..63])),
        Err(FingerprintError::NotHex('G'))
    );
    assert_eq!(
        Fingerprint::parse(""),
        Err(FingerprintError::WrongLength(0))
    );
}

#[test]
fn fingerprint_of_der_is_its_sha256() {
    // SHA-256 of the empty string, a published test vector.
    let fp = Fingerprint::of_der(b"");
    assert_eq!(
        fp.to_string().replace(':', "").to_lowercase(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}
