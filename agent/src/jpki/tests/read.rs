//! The builders and the certificate read loop (DOMAIN.md §1.5, §10 rule 3) against the fake.

use super::fake::{Eof, FakeCard, Script, certificate};
use crate::jpki::read::{HeaderError, der_total};
use crate::jpki::{
    JpkiCard, JpkiError, Pin, StatusWord, digest_info_sha256, get_response, last_command_indicator,
    read_binary, select_ef, sign, verify, verify_query,
};

/// The READ BINARY (offset, Le byte) pairs in a log.
fn reads(log: &[Vec<u8>]) -> Vec<(u16, u8)> {
    log.iter()
        .filter(|apdu| apdu[1] == 0xB0)
        .map(|apdu| (u16::from_be_bytes([apdu[2], apdu[3]]), apdu[4]))
        .collect()
}

fn read_cert(card: FakeCard) -> (Result<Vec<u8>, JpkiError>, FakeCard) {
    let mut jpki = JpkiCard::new(card);
    let result = jpki.read_auth_certificate();
    (result, jpki.into_inner())
}

#[test]
fn builders_match_domain_1_5() {
    assert_eq!(
        select_ef(0x000A),
        [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A]
    );
    assert_eq!(read_binary(0, 256), [0x00, 0xB0, 0x00, 0x00, 0x00]);
    assert_eq!(read_binary(0x0123, 0x45), [0x00, 0xB0, 0x01, 0x23, 0x45]);
    // P1 bit 8 stays clear: it would switch READ BINARY to SFI addressing.
    assert_eq!(read_binary(0x8001, 1)[2], 0x00);
    assert_eq!(verify_query(), [0x00, 0x20, 0x00, 0x80]);
    let pin = Pin::parse("0912").unwrap();
    assert_eq!(
        verify(&pin).as_bytes(),
        [0x00, 0x20, 0x00, 0x80, 0x04, 0x30, 0x39, 0x31, 0x32]
    );
    assert_eq!(get_response(0x10), [0x00, 0xC0, 0x00, 0x00, 0x10]);
    assert_eq!(last_command_indicator(), [0x80, 0xFC, 0x00, 0x00]);
}

#[test]
fn digest_info_is_the_sha256_prefix_and_hash() {
    let digest_info = digest_info_sha256(b"abc");
    assert_eq!(
        digest_info[..19],
        [
            0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20
        ]
    );
    // FIPS 180-2 test vector for "abc".
    assert_eq!(
        hex::encode(&digest_info[19..]),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let apdu = sign(&digest_info);
    assert_eq!(apdu[..5], [0x80, 0x2A, 0x00, 0x80, 0x33]);
    assert_eq!(apdu[5..56], digest_info);
    assert_eq!(apdu[56..], [0x00]);
}

#[test]
fn the_verify_apdu_is_masked_in_debug() {
    let apdu = verify(&Pin::parse("4711").unwrap());
    let debug = format!("{apdu:?}");
    assert!(!debug.contains("34") && !debug.contains("4711"), "{debug}");
    assert!(debug.contains("masked"), "{debug}");
    assert_eq!(format!("{:?}", Pin::parse("4711").unwrap()), "Pin(****)");
}

#[test]
fn reads_a_certificate_in_exact_chunks() {
    // 1234 bytes plus filler the loop must not read.
    let mut cert = certificate(1234);
    let expected = cert.clone();
    cert.extend_from_slice(&[0xFF; 300]);
    let mut card = FakeCard::card(2);
    card.files.insert(0x000A, cert);
    let (result, card) = read_cert(card);
    assert_eq!(result.unwrap(), expected);
    assert_eq!(
        reads(&card.log),
        [
            (0, 0x00),
            (256, 0x00),
            (512, 0x00),
            (768, 0x00),
            (1024, 0xD2)
        ]
    );
    assert_eq!(card.sent(0xA4), [&select_ef(0x000A)]);
}

#[test]
fn reads_short_and_long_form_lengths() {
    for (total, chunks) in [
        (20, vec![(0, 0x00)]),
        (203, vec![(0, 0x00)]),
        (256, vec![(0, 0x00)]),
        (257, vec![(0, 0x00), (256, 0x01)]),
        (512, vec![(0, 0x00), (256, 0x00)]),
    ] {
        for eof in [Eof::Short, Eof::Warning, Eof::WrongLe] {
            let mut card = FakeCard::card(total);
            card.eof = eof;
            let (result, card) = read_cert(card);
            assert_eq!(result.unwrap(), certificate(total), "{total} {eof:?}");
            let mut expected = chunks.clone();
            if eof == Eof::WrongLe && total < 256 {
                // 6Cxx is answered by a resend with the Le the card named.
                expected.push((0, total as u8));
            }
            assert_eq!(reads(&card.log), expected, "{total} {eof:?}");
        }
    }
}

#[test]
fn resends_with_the_le_a_6cxx_names() {
    let mut card = FakeCard::card(100);
    card.eof = Eof::WrongLe;
    let (result, card) = read_cert(card);
    assert_eq!(result.unwrap(), certificate(100));
    assert_eq!(reads(&card.log), [(0, 0x00), (0, 100)]);
}

#[test]
fn fetches_61xx_data_with_get_response() {
    let mut card = FakeCard::card(700);
    card.chain = true;
    let (result, card) = read_cert(card);
    assert_eq!(result.unwrap(), certificate(700));
    assert_eq!(reads(&card.log), [(0, 0x00), (256, 0x00), (512, 0xBC)]);
    let get_responses: Vec<_> = card.sent(0xC0).into_iter().cloned().collect();
    assert_eq!(
        get_responses,
        [get_response(0x00), get_response(0x00), get_response(0xBC)]
    );
}

#[test]
fn end_of_file_before_the_announced_total_fails_as_truncated() {
    for eof in [Eof::Short, Eof::Warning, Eof::WrongLe] {
        // The header announces 600 bytes; the EF holds 512 (offset 512 → 6B00) or 300.
        for held in [512, 300] {
            let mut cert = certificate(600);
            cert.truncate(held);
            let mut card = FakeCard::card(2);
            card.files.insert(0x000A, cert);
            card.eof = eof;
            let (result, _) = read_cert(card);
            let err = result.unwrap_err();
            assert!(
                matches!(
                    err,
                    JpkiError::CertificateTruncated {
                        ef: 0x000A,
                        read,
                        total: 600
                    } if read == held
                ),
                "{eof:?} {held}: {err:?}"
            );
            assert_eq!(err.class(), "CERTIFICATE_MALFORMED");
        }
    }
}

#[test]
fn rejects_totals_above_0x7fff_after_one_read() {
    let mut card = FakeCard::card(2);
    let mut huge = vec![0x30, 0x82, 0x80, 0x00];
    huge.resize(300, 0x00);
    card.files.insert(0x000A, huge);
    let (result, card) = read_cert(card);
    let err = result.unwrap_err();
    assert!(
        matches!(err, JpkiError::CertificateTooLong { total: 0x8004, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), "CERTIFICATE_TOO_LONG");
    assert_eq!(reads(&card.log).len(), 1);
}

#[test]
fn parses_der_headers() {
    assert_eq!(der_total(&[0x30, 0x00]), Ok(2));
    assert_eq!(der_total(&[0x30, 0x7F]), Ok(0x81));
    assert_eq!(der_total(&[0x30, 0x81, 0x80]), Ok(0x83));
    assert_eq!(der_total(&[0x30, 0x82, 0x04, 0xCE]), Ok(1234));
    assert_eq!(der_total(&[0x30, 0x82, 0x7F, 0xFB]), Ok(0x7FFF));
    assert_eq!(
        der_total(&[0x30, 0x82, 0x7F, 0xFC]),
        Err(HeaderError::TooLong(0x8000))
    );
    assert_eq!(
        der_total(&[0x30, 0x84, 0x00, 0x01, 0x00, 0x00]),
        Err(HeaderError::TooLong(0x10006))
    );
    assert_eq!(
        der_total(&[0x30, 0x88, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
        Err(HeaderError::TooLong(usize::MAX))
    );
    for malformed in [
        &[][..],
        &[0x30],
        &[0x31, 0x03],
        &[0x30, 0x80],
        &[0x30, 0x82, 0x01],
    ] {
        assert_eq!(
            der_total(malformed),
            Err(HeaderError::Malformed),
            "{malformed:02X?}"
        );
    }
}

#[test]
fn an_empty_or_foreign_ef_is_no_certificate() {
    for content in [vec![], vec![0x04, 0x02, 0x00, 0x00]] {
        let mut card = FakeCard::card(2);
        card.files.insert(0x000A, content);
        let (result, _) = read_cert(card);
        let err = result.unwrap_err();
        assert!(
            matches!(err, JpkiError::CertificateMalformed { ef: 0x000A }),
            "{err:?}"
        );
    }
}

#[test]
fn an_unexpected_status_names_the_step() {
    let mut jpki = JpkiCard::new(Script::new(&[&[0x90, 0x00], &[0x69, 0x82]]));
    let err = jpki.read_auth_certificate().unwrap_err();
    assert!(
        matches!(
            err,
            JpkiError::Unexpected {
                step: "read ef 000A",
                status: StatusWord::SecurityStatusNotSatisfied
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), "CARD_READ_FAILED");
    assert_eq!(
        err.status_word(),
        Some(StatusWord::SecurityStatusNotSatisfied)
    );
}

#[test]
fn endless_61xx_is_cut_off() {
    let mut jpki = JpkiCard::new(Script::new(&[&[0x61, 0x10][..]; 20]));
    let err = jpki.read_token().unwrap_err();
    assert!(matches!(err, JpkiError::EndlessExchange { .. }), "{err:?}");
    assert!(jpki.into_inner().log.len() < 20);
}
