use super::*;

fn malformed(raw: &str) -> String {
    match ActivationCode::parse(raw) {
        Err(Error::CodeMalformed(why)) => why,
        other => panic!("{raw:?} parsed as {other:?}"),
    }
}

#[test]
fn typed_codes_are_accepted_in_every_spelling_staff_use() {
    for raw in [
        "123456789012",
        "1234-5678-9012",
        "1234 5678 9012",
        " 1234-5678-9012 ",
        "１２３４ー５６７８ー９０１２",
        "１２３４－５６７８－９０１２",
        "1234‐5678‐9012",
        "１２３４\u{3000}５６７８\u{3000}９０１２",
    ] {
        let code = ActivationCode::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e:?}"));
        assert_eq!(code.digits(), "123456789012", "{raw:?}");
        assert_eq!(code.display(), "1234-5678-9012");
    }
}

#[test]
fn empty_short_and_lettered_codes_get_distinct_messages() {
    let empty = malformed("");
    assert_eq!(malformed(" - "), empty);
    let short = malformed("1234-5678-901");
    assert_eq!(short, "needs 12 digits, got 11");
    assert_eq!(malformed("1234567890123"), "needs 12 digits, got 13");
    let letters = malformed("1234-5678-90AB");
    assert_eq!(letters, "only digits, spaces and hyphens are allowed");
    assert_eq!(malformed("1234_5678_9012"), letters);
    assert!(empty.contains("empty"), "{empty}");
    assert_ne!(empty, short);
    assert_ne!(empty, letters);
}

#[test]
fn generated_codes_never_pass_the_my_number_check() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..5_000 {
        let code = ActivationCode::generate().unwrap();
        assert_eq!(code.digits().len(), DIGITS);
        assert!(code.digits().bytes().all(|b| b.is_ascii_digit()));
        assert!(!looks_like_my_number(code.digits()));
        assert!(!looks_like_my_number(&code.display()));
        seen.insert(code.digits().to_owned());
    }
    assert!(seen.len() > 4_990, "codes repeat: {} distinct", seen.len());
}

#[test]
fn generated_digits_are_roughly_uniform() {
    let mut counts = [0u32; 10];
    for _ in 0..2_000 {
        for b in ActivationCode::generate().unwrap().digits().bytes() {
            counts[usize::from(b - b'0')] += 1;
        }
    }
    // 24,000 digits: 2,400 expected per value; a biased draw would be far off.
    for (d, n) in counts.iter().enumerate() {
        assert!((2_100..=2_700).contains(n), "digit {d}: {n} times");
    }
}

#[test]
fn debug_output_never_shows_the_code() {
    let code = ActivationCode::parse("1234-5678-9012").unwrap();
    let shown = format!("{code:?}");
    assert!(!shown.contains("1234"), "{shown}");
    assert!(shown.contains("redacted"));
}

#[tokio::test]
async fn a_hash_matches_only_its_code() {
    let code = ActivationCode::generate().unwrap();
    let other = ActivationCode::generate().unwrap();
    let hash = code.hash().await.unwrap();
    assert!(!hash.contains(code.digits()));
    assert!(hash.starts_with("$argon2id$"));
    let hashes = vec!["not a hash".to_owned(), other.hash().await.unwrap(), hash];
    assert_eq!(code.find_match(hashes.clone()).await.unwrap(), Some(2));
    let typed = ActivationCode::parse(&code.display()).unwrap();
    assert_eq!(typed.find_match(hashes.clone()).await.unwrap(), Some(2));
    assert_eq!(
        ActivationCode::parse("0000-0000-0001")
            .unwrap()
            .find_match(hashes)
            .await
            .unwrap(),
        None
    );
}
