//! The JPKI signature `80 2A`, INTERNAL AUTHENTICATE and the iPhone indicator.

use rsa::Pkcs1v15Sign;
use rsa::sha2::{Digest, Sha256};

use super::{JPKI_SELECT, PIN, data, hex, jpki_card, select_aid, select_ef, sw, verify_pin};
use crate::card::{Application, Card, CardSpec, Quirks, Token};

const SHA256_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

fn digest_info(message: &[u8]) -> Vec<u8> {
    let mut out = SHA256_PREFIX.to_vec();
    out.extend_from_slice(&Sha256::digest(message));
    out
}

/// `80 2A 00 80 Lc <data> 00`.
fn sign_apdu(data: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x80, 0x2A, 0x00, 0x80, u8::try_from(data.len()).unwrap()];
    apdu.extend_from_slice(data);
    apdu.push(0x00);
    apdu
}

/// A fixture card with the PIN verified and EF 0017 selected.
fn signing_card(card: Card) -> Card {
    let mut card = card;
    card.respond(&JPKI_SELECT);
    card.respond(&select_ef(0x0018));
    assert_eq!(card.respond(&verify_pin(PIN)), [0x90, 0x00]);
    card.respond(&select_ef(0x0017));
    card
}

#[test]
fn signs_a_digest_info_that_verifies_with_the_public_key() {
    let mut card = signing_card(Card::my_number());
    let challenge = b"a challenge from the proxy";
    let response = card.respond(&sign_apdu(&digest_info(challenge)));
    assert_eq!(sw(&response), 0x9000);
    assert_eq!(data(&response).len(), 256);
    let key = card.public_key().unwrap();
    key.verify(
        Pkcs1v15Sign::new::<Sha256>(),
        &Sha256::digest(challenge),
        data(&response),
    )
    .unwrap();
}

#[test]
fn signs_with_a_key_and_certificate_given_in_code() {
    let fixture = CardSpec::fixture().unwrap();
    let pin = crate::card::Pin::new("0420").unwrap();
    let spec = CardSpec::new(vec![0x30, 0x00], vec![0x30, 0x00], fixture.key, pin);
    let mut card = Card::jpki(spec);
    card.respond(&JPKI_SELECT);
    assert_eq!(
        card.respond(&hex("00 20 00 98 04 30 34 32 30")),
        [0x90, 0x00]
    );
    let response = card.respond(&hex(&format!(
        "80 2A 00 97 33 {} 00",
        digest_info(b"x")
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(" ")
    )));
    assert_eq!(sw(&response), 0x9000, "P2 97 names the auth key by SFI");
    card.public_key()
        .unwrap()
        .verify(
            Pkcs1v15Sign::new::<Sha256>(),
            &Sha256::digest(b"x"),
            data(&response),
        )
        .unwrap();
}

#[test]
fn signature_refusals() {
    let good = digest_info(b"challenge");
    // (name, prepare, apdu, status word)
    type Prepare = fn(&mut Card);
    let verified: Prepare = |_| {};
    let reselected: Prepare = |card| {
        card.respond(&JPKI_SELECT);
        card.respond(&select_ef(0x0017));
    };
    let reset: Prepare = |card| {
        card.reset();
        card.respond(&JPKI_SELECT);
        card.respond(&select_ef(0x0017));
    };
    let on_pin_ef: Prepare = |card| {
        card.respond(&select_ef(0x0018));
    };
    let long = sign_apdu(&[0x01; 246]);
    let mut p1 = sign_apdu(&good);
    p1[2] = 0x01;
    let mut sign_key = sign_apdu(&good);
    sign_key[3] = 0x9A;
    let mut odd_p2 = sign_apdu(&good);
    odd_p2[3] = 0x00;
    let mut short_le = sign_apdu(&good);
    *short_le.last_mut().unwrap() = 0x80;
    let cases: Vec<(&str, Prepare, Vec<u8>, u16)> = vec![
        ("after re-select", reselected, sign_apdu(&good), 0x6982),
        ("after reset", reset, sign_apdu(&good), 0x6982),
        ("too long", verified, long, 0x6985),
        ("other scheme", verified, p1, 0x6A86),
        ("signature key", verified, sign_key, 0x6982),
        ("other p2", verified, odd_p2, 0x6A86),
        ("no key ef", on_pin_ef, sign_apdu(&good), 0x6A88),
        ("le not 256", verified, short_le, 0x6700),
    ];
    for (name, prepare, apdu, want) in cases {
        let mut card = signing_card(Card::my_number());
        prepare(&mut card);
        assert_eq!(sw(&card.respond(&apdu)), want, "{name}");
    }
    // Before any VERIFY.
    let mut card = jpki_card();
    card.respond(&select_ef(0x0017));
    assert_eq!(card.respond(&sign_apdu(&good)), [0x69, 0x82]);
    // In another application the instruction does not exist.
    let mut card = Card::my_number();
    card.respond(&select_aid(&Application::Common.aid()));
    assert_eq!(card.respond(&sign_apdu(&good)), [0x6D, 0x00]);
}

#[test]
fn internal_authenticate_is_refused_by_jpki_keys() {
    let mut card = signing_card(Card::my_number());
    assert_eq!(
        card.respond(&hex("00 88 00 00 04 01 02 03 04 00")),
        [0x69, 0x82]
    );
}

#[test]
fn the_iphone_indicator_answers_by_token() {
    for (token, want) in [
        (Token::Card, [0x67, 0x00]),
        (Token::Android, [0x67, 0x00]),
        (Token::Iphone, [0x90, 0x00]),
    ] {
        let mut spec = CardSpec::fixture().unwrap();
        spec.token = token;
        let mut card = Card::jpki(spec);
        card.respond(&JPKI_SELECT);
        assert_eq!(card.respond(&hex("80 FC 00 00")), want, "{token:?}");
    }
}

#[test]
fn a_short_le_on_the_signature_answers_6c00_under_the_quirk() {
    let quirks = Quirks {
        wrong_le: true,
        ..Quirks::default()
    };
    let mut card = signing_card(Card::my_number().with_quirks(quirks));
    let mut apdu = sign_apdu(&digest_info(b"c"));
    *apdu.last_mut().unwrap() = 0x80;
    assert_eq!(card.respond(&apdu), [0x6C, 0x00]);
}
