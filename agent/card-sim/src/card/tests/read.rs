//! READ BINARY: offsets, end of file, SFI form, access rules per EF and application.

use super::{
    JPKI_SELECT, PIN, data, hex, jpki_card, read_binary, read_to_end, select_aid, select_ef, sw,
    verify_pin,
};
use crate::card::{Application, Card, CardSpec, FAKE_MY_NUMBER, Token};

const AUTH_CERT: &[u8] = include_bytes!("../../../fixtures/profile/auth-cert.der");
const AUTH_CA: &[u8] = include_bytes!("../../../fixtures/profile/auth-ca.der");

#[test]
fn token_info_starts_with_the_space_padded_label() {
    let mut card = jpki_card();
    card.respond(&select_ef(0x0006));
    let label = card.respond(&read_binary(0, 0x20));
    assert_eq!(data(&label), b"JPKIAPICCTOKEN2                 ");
    assert_eq!(sw(&label), 0x9000);
    // Le 00 on a 160-byte file is a short read of the whole file (DOMAIN.md §1.5).
    let all = card.respond(&read_binary(0, 0x00));
    assert_eq!((data(&all).len(), sw(&all)), (160, 0x9000));
}

#[test]
fn token_labels_follow_the_token() {
    for (token, label) in [
        (Token::Card, "JPKIAPICCTOKEN2"),
        (Token::Android, "JPKIAPGPSETOKEN"),
        (Token::Iphone, "JPKIAPIOSTOKEN"),
    ] {
        let mut spec = CardSpec::fixture().unwrap();
        spec.token = token;
        let mut card = Card::jpki(spec);
        card.respond(&JPKI_SELECT);
        card.respond(&select_ef(0x0006));
        let response = card.respond(&read_binary(0, 0x20));
        let text = std::str::from_utf8(data(&response)).unwrap();
        assert_eq!(text.trim_end(), label, "{token:?}");
    }
}

#[test]
fn certificate_availability_says_whether_there_is_a_signature_certificate() {
    for (signature_cert, expected) in [(true, [0x8F, 0x8F, 0x00]), (false, [0x00, 0x8F, 0x00])] {
        let mut spec = CardSpec::fixture().unwrap();
        spec.signature_cert = signature_cert;
        let mut card = Card::jpki(spec);
        card.respond(&JPKI_SELECT);
        card.respond(&select_ef(0x0008));
        let response = card.respond(&read_binary(0, 0x00));
        assert_eq!(data(&response), expected);
        assert_eq!(sw(&response), 0x9000);
    }
}

#[test]
fn certificates_read_in_chunks_equal_the_profile_files() {
    let mut card = jpki_card();
    for (ef, expected) in [(0x000A, AUTH_CERT), (0x000B, AUTH_CA), (0x0002, AUTH_CA)] {
        card.respond(&select_ef(ef));
        assert_eq!(read_to_end(&mut card), expected, "EF {ef:04X}");
    }
}

#[test]
fn end_of_file_answers_a_short_read_then_6b00() {
    let len = u16::try_from(AUTH_CERT.len()).unwrap();
    let mut card = jpki_card();
    card.respond(&select_ef(0x000A));
    let tail = card.respond(&read_binary(len - 10, 0x00));
    assert_eq!(data(&tail), &AUTH_CERT[AUTH_CERT.len() - 10..]);
    assert_eq!(sw(&tail), 0x9000);
    let exact = card.respond(&read_binary(len - 10, 10));
    assert_eq!((data(&exact).len(), sw(&exact)), (10, 0x9000));
    for offset in [len, len + 1, 0x7FFF] {
        assert_eq!(
            card.respond(&read_binary(offset, 0x01)),
            [0x6B, 0x00],
            "{offset}"
        );
    }
}

#[test]
fn sfi_form_reads_without_select_and_makes_the_file_current() {
    let mut card = jpki_card();
    let first = card.respond(&hex("00 B0 8A 00 00"));
    assert_eq!(data(&first), &AUTH_CERT[..256]);
    assert_eq!(card.current_file(), Some(0x000A));
    let next = card.respond(&read_binary(256, 0x10));
    assert_eq!(data(&next), &AUTH_CERT[256..272]);
    let ca = card.respond(&hex("00 B0 8B 10 04"));
    assert_eq!(data(&ca), &AUTH_CA[16..20]);
}

#[test]
fn read_binary_refusals() {
    let cases: [(&str, &[&str], &str); 10] = [
        ("no application", &[], "00 B0 00 00 04"),
        ("no current ef", &["jpki"], "00 B0 00 00 04"),
        (
            "signature certificate",
            &["jpki", "00 A4 02 0C 02 00 01"],
            "00 B0 00 00 04",
        ),
        (
            "key file",
            &["jpki", "00 A4 02 0C 02 00 17"],
            "00 B0 00 00 04",
        ),
        (
            "pin file",
            &["jpki", "00 A4 02 0C 02 00 18"],
            "00 B0 00 00 04",
        ),
        ("no le", &["jpki", "00 A4 02 0C 02 00 0A"], "00 B0 00 00"),
        (
            "extended le",
            &["jpki", "00 A4 02 0C 02 00 0A"],
            "00 B0 00 00 00 01 00",
        ),
        ("sfi with bits 6-7", &["jpki"], "00 B0 AA 00 00"),
        ("sfi not found", &["jpki"], "00 B0 8C 00 00"),
        ("signature certificate by sfi", &["jpki"], "00 B0 81 00 00"),
    ];
    let expected = [
        0x6986, 0x6986, 0x6982, 0x6981, 0x6981, 0x6700, 0x6700, 0x6A86, 0x6A82, 0x6982,
    ];
    for ((name, setup, apdu), want) in cases.into_iter().zip(expected) {
        let mut card = Card::my_number();
        for step in setup {
            let step = if *step == "jpki" {
                JPKI_SELECT.to_vec()
            } else {
                hex(step)
            };
            assert_eq!(sw(&card.respond(&step)), 0x9000, "{name}: setup");
        }
        assert_eq!(sw(&card.respond(&hex(apdu))), want, "{name}");
    }
}

#[test]
fn android_token_reads_the_auth_certificate_only_after_verify() {
    let mut spec = CardSpec::fixture().unwrap();
    spec.token = Token::Android;
    let mut card = Card::jpki(spec);
    card.respond(&JPKI_SELECT);
    card.respond(&select_ef(0x000A));
    assert_eq!(card.respond(&read_binary(0, 0x04)), [0x69, 0x82]);
    card.respond(&select_ef(0x0018));
    assert_eq!(card.respond(&verify_pin(PIN)), [0x90, 0x00]);
    card.respond(&select_ef(0x000A));
    assert_eq!(read_to_end(&mut card), AUTH_CERT);
}

/// The My Number check digit (DOMAIN.md §2), written out for this test.
fn my_number_check_digit(body: &[u8; 11]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let n = u32::try_from(i).unwrap() + 1;
            let weight = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(d - b'0') * weight
        })
        .sum();
    let r = sum % 11;
    if r <= 1 {
        0
    } else {
        u8::try_from(11 - r).unwrap()
    }
}

#[test]
fn the_card_info_number_is_behind_its_pin_and_fails_the_check_digit() {
    assert_eq!(
        my_number_check_digit(b"12345678901"),
        8,
        "DOMAIN.md test vector"
    );
    let body: &[u8; 11] = FAKE_MY_NUMBER[..11].try_into().unwrap();
    assert_ne!(my_number_check_digit(body), FAKE_MY_NUMBER[11] - b'0');

    let mut card = Card::my_number();
    card.respond(&select_aid(&Application::CardInfoInput.aid()));
    card.respond(&select_ef(0x0001));
    assert_eq!(card.respond(&read_binary(0, 0x00)), [0x69, 0x82]);
    card.respond(&select_ef(0x0011));
    assert_eq!(card.respond(&hex("00 20 00 80")), [0x63, 0xC3]);
    assert_eq!(card.respond(&verify_pin(PIN)), [0x90, 0x00]);
    card.respond(&select_ef(0x0001));
    let number = card.respond(&read_binary(0, 0x00));
    assert_eq!(&data(&number)[..12], FAKE_MY_NUMBER);
}

#[test]
fn other_applications_answer_like_a_real_card() {
    let cases = [
        (Application::CardFace, 0x0001, 0x6982),
        (Application::Juki, 0x0001, 0x6982),
        (Application::Common, 0x0001, 0x9000),
    ];
    for (app, ef, want) in cases {
        let mut card = Card::my_number();
        card.respond(&select_aid(&app.aid()));
        card.respond(&select_ef(ef));
        assert_eq!(sw(&card.respond(&read_binary(0, 0x00))), want, "{app:?}");
    }
}
