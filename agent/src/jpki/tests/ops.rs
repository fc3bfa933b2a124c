//! `read_card` and `verify_and_sign` against the fake: token awareness, the PIN counter and
//! PIN safety (DOMAIN.md §10 rules 4–6).

use super::fake::{FakeCard, PIN, Script, certificate};
use crate::jpki::{
    JpkiCard, JpkiError, Pin, PinCounter, Refusal, SignError, StatusWord, TokenKind,
    digest_info_sha256, select_ef, select_jpki_ap, sign,
};

const CHALLENGE: &[u8] = b"a fresh single-use challenge";

fn pin(text: &str) -> Pin {
    Pin::parse(text).unwrap()
}

fn sign_with(
    card: FakeCard,
    token: TokenKind,
    text: &str,
    confirm: bool,
) -> (Result<crate::jpki::Signed, SignError>, FakeCard) {
    let mut jpki = JpkiCard::new(card);
    let result = jpki.verify_and_sign(token, &pin(text), confirm, CHALLENGE);
    (result, jpki.into_inner())
}

/// The commands of a log by INS (and EF for SELECT), for order assertions.
fn steps(log: &[Vec<u8>]) -> Vec<String> {
    log.iter()
        .map(|apdu| match (apdu[1], apdu[2]) {
            (0xA4, 0x04) => "select ap".to_owned(),
            (0xA4, _) => format!("select {:02X}{:02X}", apdu[5], apdu[6]),
            (0xB0, _) => "read".to_owned(),
            (0x20, _) if apdu.len() == 4 => "query".to_owned(),
            (0x20, _) => "verify".to_owned(),
            (0x2A, _) => "sign".to_owned(),
            (0xFC, _) => "last".to_owned(),
            (ins, _) => format!("{ins:02X}"),
        })
        .collect()
}

#[test]
fn reads_a_physical_card() {
    let mut jpki = JpkiCard::new(FakeCard::card(1500));
    let read = jpki.read_card().unwrap();
    assert_eq!(read.token, TokenKind::Card);
    assert!(read.signature_certificate_available);
    assert_eq!(
        read.auth_certificate.as_deref(),
        Some(&certificate(1500)[..])
    );
    assert_eq!(read.pin, PinCounter::Tries(3));
    let card = jpki.into_inner();
    assert_eq!(
        steps(&card.log)[..6],
        [
            "select ap",
            "select 0006",
            "read",
            "select 0008",
            "read",
            "select 000A"
        ]
    );
    assert_eq!(
        steps(&card.log)[card.log.len() - 2..],
        ["select 0018", "query"]
    );
    // Token label and availability are read with the Le of DOMAIN.md §1.5.
    assert_eq!(card.log[2], [0x00, 0xB0, 0x00, 0x00, 0x20]);
    assert_eq!(card.log[4], [0x00, 0xB0, 0x00, 0x00, 0x03]);
    assert_eq!(card.verifies_with_pin(), 0);
    // The certificate stays out of Debug.
    let debug = format!("{read:?}");
    assert!(
        debug.contains("auth_certificate_len: Some(1500)"),
        "{debug}"
    );
}

#[test]
fn tells_the_tokens_apart_by_label() {
    for (label, token) in [
        (&b"JPKIAPICCTOKEN2"[..], TokenKind::Card),
        (b"JPKIAPICCTOKEN", TokenKind::JukiCard),
        (b"JPKIAPGPSETOKEN", TokenKind::Android),
        (b"JPKIAPIOSTOKEN", TokenKind::Iphone),
        (b"JPKI", TokenKind::Other),
        (b"JPKIAPICCTOKEN23", TokenKind::Other),
    ] {
        let mut jpki = JpkiCard::new(FakeCard::with_label(label, certificate(300)));
        assert_eq!(jpki.read_token().unwrap(), token, "{label:?}");
    }
    assert_eq!(
        TokenKind::from_label(b"JPKIAPIOSTOKEN\0\0  "),
        TokenKind::Iphone
    );
    assert_eq!(TokenKind::from_label(b""), TokenKind::Other);
}

#[test]
fn availability_is_the_first_byte_8f() {
    for (content, available) in [
        (vec![0x8F, 0x8F, 0x00], true),
        (vec![0x00, 0x8F, 0x00], false),
        (vec![], false),
    ] {
        let mut card = FakeCard::card(300);
        card.files.insert(0x0008, content.clone());
        let read = JpkiCard::new(card).read_card().unwrap();
        assert_eq!(
            read.signature_certificate_available, available,
            "{content:02X?}"
        );
    }
}

#[test]
fn the_android_token_reads_000a_only_after_verify() {
    let card = FakeCard::with_label(b"JPKIAPGPSETOKEN", certificate(900));
    let mut jpki = JpkiCard::new(card);
    let read = jpki.read_card().unwrap();
    assert_eq!(read.token, TokenKind::Android);
    assert_eq!(read.auth_certificate, None);
    let card = jpki.into_inner();
    assert!(
        !card.log.contains(&select_ef(0x000A)),
        "000A read before VERIFY"
    );

    let (signed, card) = sign_with(card, TokenKind::Android, PIN, false);
    let signed = signed.unwrap();
    assert_eq!(
        signed.auth_certificate.as_deref(),
        Some(&certificate(900)[..])
    );
    let steps = steps(&card.log);
    let verify = steps.iter().position(|s| s == "verify").unwrap();
    let select_cert = steps.iter().position(|s| s == "select 000A").unwrap();
    let sign = steps.iter().position(|s| s == "sign").unwrap();
    assert!(verify < select_cert && select_cert < sign, "{steps:?}");
}

#[test]
fn reads_the_pin_counter_with_the_empty_verify() {
    for (answer, counter) in [
        ([0x63, 0xC3], PinCounter::Tries(3)),
        ([0x63, 0xC1], PinCounter::Tries(1)),
        ([0x63, 0xC0], PinCounter::Blocked),
        ([0x69, 0x84], PinCounter::Blocked),
        ([0x90, 0x00], PinCounter::Unknown),
    ] {
        let mut card = FakeCard::card(300);
        card.query_override = Some(answer);
        let mut jpki = JpkiCard::new(card);
        assert_eq!(jpki.query_pin().unwrap(), counter, "{answer:02X?}");
    }
    let mut card = FakeCard::card(300);
    card.query_override = Some([0x6A, 0x86]);
    let err = JpkiCard::new(card).query_pin().unwrap_err();
    assert_eq!(err.status_word(), Some(StatusWord::IncorrectP1P2));
}

#[test]
fn signs_the_sha256_digest_info_of_the_challenge() {
    let (signed, card) = sign_with(FakeCard::card(300), TokenKind::Card, PIN, false);
    let signed = signed.unwrap();
    assert_eq!(signed.signature.len(), 256);
    assert_eq!(signed.signature[205..], digest_info_sha256(CHALLENGE));
    assert_eq!(signed.auth_certificate, None);
    assert_eq!(
        steps(&card.log),
        [
            "select ap",
            "select 0018",
            "query",
            "verify",
            "select 0017",
            "sign"
        ]
    );
    assert_eq!(card.log[0], select_jpki_ap());
    assert_eq!(card.log[5], sign(&digest_info_sha256(CHALLENGE)));
    assert!(!format!("{signed:?}").contains("5A"), "{signed:?}");
}

#[test]
fn the_iphone_token_gets_the_last_command_indicator() {
    let card = FakeCard::with_label(b"JPKIAPIOSTOKEN", certificate(300));
    let (signed, card) = sign_with(card, TokenKind::Iphone, PIN, false);
    assert!(signed.is_ok());
    assert_eq!(card.log.last().unwrap(), &[0x80, 0xFC, 0x00, 0x00]);
    let (_, card) = sign_with(FakeCard::card(300), TokenKind::Card, PIN, false);
    assert!(!steps(&card.log).contains(&"last".to_owned()));
}

#[test]
fn a_blocked_pin_never_sees_a_verify_with_a_pin() {
    for blocked_sw in [[0x63, 0xC0], [0x69, 0x84]] {
        let mut card = FakeCard::card(300);
        card.tries = 0;
        card.blocked_sw = blocked_sw;
        let (result, card) = sign_with(card, TokenKind::Card, PIN, true);
        let err = result.unwrap_err();
        assert!(matches!(err, SignError::PinBlocked), "{err:?}");
        assert_eq!(err.class(), "PIN_BLOCKED");
        assert_eq!(card.verifies_with_pin(), 0);
        assert_eq!(steps(&card.log), ["select ap", "select 0018", "query"]);
    }
}

#[test]
fn the_last_try_needs_the_terminals_confirmation() {
    let mut card = FakeCard::card(300);
    card.tries = 1;
    let (result, card) = sign_with(card, TokenKind::Card, "9999", false);
    let err = result.unwrap_err();
    assert!(matches!(err, SignError::LastTryNotConfirmed), "{err:?}");
    assert_eq!(err.class(), "LAST_TRY_NOT_CONFIRMED");
    assert_eq!(card.verifies_with_pin(), 0);
    assert_eq!(card.tries, 1);

    // Confirmed, the wrong PIN spends the last try and blocks the card.
    let (result, card) = sign_with(card, TokenKind::Card, "9999", true);
    assert!(matches!(result, Err(SignError::PinBlocked)), "{result:?}");
    assert_eq!(card.verifies_with_pin(), 1);
    assert_eq!(card.tries, 0);
}

#[test]
fn a_rejected_pin_is_never_retried() {
    let (result, card) = sign_with(FakeCard::card(300), TokenKind::Card, "9999", false);
    let err = result.unwrap_err();
    assert!(
        matches!(err, SignError::PinRejected { tries_left: 2 }),
        "{err:?}"
    );
    assert_eq!(err.class(), "PIN_REJECTED");
    assert_eq!(card.verifies_with_pin(), 1);
    assert!(!steps(&card.log).contains(&"sign".to_owned()));
    // Neither the error nor its message holds the PIN.
    for text in [format!("{err:?}"), err.to_string()] {
        assert!(!text.contains("9999"), "{text}");
    }
}

#[test]
fn a_verify_answered_6cxx_is_not_resent() {
    // SELECT AP, SELECT 0018, the counter, then VERIFY answered 6C04.
    let script = Script::new(&[&[0x90, 0x00], &[0x90, 0x00], &[0x63, 0xC3], &[0x6C, 0x04]]);
    let mut jpki = JpkiCard::new(script);
    let err = jpki
        .verify_and_sign(TokenKind::Card, &pin(PIN), false, CHALLENGE)
        .unwrap_err();
    assert_eq!(err.class(), "PIN_VERIFY_FAILED");
    let log = jpki.into_inner().log;
    assert_eq!(
        log.iter()
            .filter(|apdu| apdu[1] == 0x20 && apdu.len() > 4)
            .count(),
        1
    );
    assert_eq!(log.len(), 4);
}

#[test]
fn a_card_without_the_jpki_ap_is_refused_by_name() {
    let mut card = FakeCard::card(300);
    card.jpki = false;
    let mut jpki = JpkiCard::new(card);
    let err = jpki.read_card().unwrap_err();
    assert!(
        matches!(err, JpkiError::NotMyNumberCard(StatusWord::FileNotFound)),
        "{err:?}"
    );
    assert_eq!(err.class(), "NOT_MY_NUMBER_CARD");
    let (result, card) = sign_with(jpki.into_inner(), TokenKind::Card, PIN, true);
    assert_eq!(result.unwrap_err().class(), "NOT_MY_NUMBER_CARD");
    assert_eq!(card.verifies_with_pin(), 0);
}

#[test]
fn a_short_signature_fails() {
    let script = Script::new(&[
        &[0x90, 0x00],
        &[0x90, 0x00],
        &[0x63, 0xC3],
        &[0x90, 0x00],
        &[0x90, 0x00],
        &[0x01, 0x02, 0x90, 0x00],
    ]);
    let err = JpkiCard::new(script)
        .verify_and_sign(TokenKind::Card, &pin(PIN), false, CHALLENGE)
        .unwrap_err();
    assert!(
        matches!(err, SignError::Card(JpkiError::SignatureLength { len: 2 })),
        "{err:?}"
    );
    assert_eq!(err.class(), "SIGN_FAILED");
}

#[test]
fn send_raw_refuses_the_text_ap_and_counts_it() {
    const TEXT_AP: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, 0x0A];
    apdu.extend_from_slice(&TEXT_AP);
    let mut jpki = JpkiCard::new(FakeCard::card(300));
    let err = jpki.send_raw(&apdu).unwrap_err();
    assert!(
        matches!(err, JpkiError::Refused(Refusal::Application)),
        "{err:?}"
    );
    assert_eq!(err.class(), "COMMAND_REFUSED");
    assert_eq!(jpki.refusals(), 1);
    let response = jpki.send_raw(&select_jpki_ap()).unwrap();
    assert_eq!(response.status(), StatusWord::Success);
    assert_eq!(jpki.refusals(), 1);
    assert_eq!(jpki.into_inner().log, [select_jpki_ap()]);
}

#[test]
fn transport_failures_carry_their_class() {
    let err = JpkiCard::new(Script::new(&[])).read_card().unwrap_err();
    assert_eq!(err.class(), "CARD_REMOVED");
    let err = JpkiCard::new(Script::new(&[]))
        .verify_and_sign(TokenKind::Card, &pin(PIN), false, CHALLENGE)
        .unwrap_err();
    assert_eq!(err.class(), "CARD_REMOVED");
}
