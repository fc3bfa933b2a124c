//! Card unit tests, one module per command family; helpers live here.

mod log;
mod quirks;
mod read;
mod sign;
mod verify;

use super::{Application, Card};

/// Agent adapters move a card to a transport thread and may clone it.
#[test]
fn a_card_is_send_sync_and_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Card>();
}

/// The fixture profile's PIN (fixtures/profile/profile.toml).
const PIN: &[u8; 4] = b"1234";

/// Returns the status word at the end of a response.
fn sw(response: &[u8]) -> u16 {
    match response {
        [.., sw1, sw2] => u16::from_be_bytes([*sw1, *sw2]),
        _ => panic!("response without a status word: {response:02X?}"),
    }
}

/// Returns the data before the status word.
fn data(response: &[u8]) -> &[u8] {
    &response[..response.len() - 2]
}

/// Parses `"00 A4 04 0C"`-style hex.
fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).unwrap())
        .collect()
}

/// A fixture card with the JPKI AP selected.
fn jpki_card() -> Card {
    let mut card = Card::my_number();
    assert_eq!(card.respond(&JPKI_SELECT), [0x90, 0x00]);
    card
}

/// `00 B0 P1 P2 Le` with a 15-bit offset.
fn read_binary(offset: u16, le: u8) -> Vec<u8> {
    let [p1, p2] = offset.to_be_bytes();
    vec![0x00, 0xB0, p1, p2, le]
}

/// `00 20 00 80 04 <pin>`.
fn verify_pin(pin: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x20, 0x00, 0x80, u8::try_from(pin.len()).unwrap()];
    apdu.extend_from_slice(pin);
    apdu
}

/// Reads the current EF to its end in 256-byte chunks, as DOMAIN.md §1.5 describes.
fn read_to_end(card: &mut Card) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let offset = u16::try_from(out.len()).unwrap();
        let response = card.respond(&read_binary(offset, 0x00));
        match sw(&response) {
            0x9000 => {
                out.extend_from_slice(data(&response));
                if data(&response).len() < 256 {
                    return out;
                }
            }
            0x6B00 => return out,
            other => panic!("read at {offset} answered {other:04X}"),
        }
    }
}

/// `00 A4 04 0C 0A <AID>`, written out from DOMAIN.md §1.5.
fn select_aid(aid: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, u8::try_from(aid.len()).unwrap()];
    apdu.extend_from_slice(aid);
    apdu
}

fn select_ef(id: u16) -> Vec<u8> {
    let [hi, lo] = id.to_be_bytes();
    vec![0x00, 0xA4, 0x02, 0x0C, 0x02, hi, lo]
}

const JPKI_SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];

#[test]
fn selects_the_jpki_ap_by_its_aid() {
    let mut card = Card::my_number();
    assert_eq!(card.respond(&JPKI_SELECT), [0x90, 0x00]);
    assert_eq!(card.current_application(), Some(Application::Jpki));
}

#[test]
fn answers_9000_to_every_my_number_application() {
    let aids: [[u8; 10]; 5] = [
        [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01],
        [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08],
        [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02],
        [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01],
        [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00],
    ];
    for (aid, app) in aids.iter().zip(Application::ALL) {
        let mut card = Card::my_number();
        assert_eq!(card.respond(&select_aid(aid)), [0x90, 0x00], "{app:?}");
        assert_eq!(card.current_application(), Some(app));
    }
}

#[test]
fn answers_6a82_to_an_unknown_aid_and_keeps_the_current_application() {
    let mut card = Card::my_number();
    card.respond(&JPKI_SELECT);
    let piv = [0xA0, 0x00, 0x00, 0x03, 0x08];
    assert_eq!(card.respond(&select_aid(&piv)), [0x6A, 0x82]);
    assert_eq!(card.current_application(), Some(Application::Jpki));
}

#[test]
fn a_foreign_card_has_no_jpki_ap() {
    let mut card = Card::foreign();
    assert_eq!(card.respond(&JPKI_SELECT), [0x6A, 0x82]);
    assert_eq!(card.current_application(), None);
}

#[test]
fn selects_jpki_elementary_files_only_inside_the_jpki_ap() {
    let mut card = Card::my_number();
    assert_eq!(
        card.respond(&select_ef(0x000A)),
        [0x6A, 0x82],
        "no AP selected yet"
    );
    card.respond(&JPKI_SELECT);
    for ef in [
        0x0001, 0x0002, 0x0006, 0x0008, 0x000A, 0x000B, 0x0016, 0x0017, 0x0018,
    ] {
        assert_eq!(card.respond(&select_ef(ef)), [0x90, 0x00], "EF {ef:04X}");
    }
    for ef in [0x001A, 0x001B] {
        assert_eq!(card.respond(&select_ef(ef)), [0x90, 0x00], "EF {ef:04X}");
    }
    for ef in [0x0000, 0x0003, 0x000C, 0x3F00] {
        assert_eq!(card.respond(&select_ef(ef)), [0x6A, 0x82], "EF {ef:04X}");
    }
}

#[test]
fn other_applications_have_their_own_files() {
    let cases: [(Application, &[u16], &[u16]); 4] = [
        (
            Application::CardInfoInput,
            &[0x0001, 0x0002, 0x0011],
            &[0x000A, 0x0018],
        ),
        (Application::CardFace, &[0x0001, 0x0002], &[0x000A]),
        (Application::Juki, &[0x0001], &[0x000A]),
        (Application::Common, &[0x0001], &[0x000A, 0x0018]),
    ];
    for (app, present, absent) in cases {
        let mut card = Card::my_number();
        assert_eq!(
            card.respond(&select_aid(&app.aid())),
            [0x90, 0x00],
            "{app:?}"
        );
        for ef in present {
            assert_eq!(
                card.respond(&select_ef(*ef)),
                [0x90, 0x00],
                "{app:?} {ef:04X}"
            );
        }
        for ef in absent {
            assert_eq!(
                card.respond(&select_ef(*ef)),
                [0x6A, 0x82],
                "{app:?} {ef:04X}"
            );
        }
    }
}

#[test]
fn select_mf_answers_9000_only_while_an_application_is_current() {
    let mut card = Card::my_number();
    let select_mf = [0x00, 0xA4, 0x00, 0x00];
    assert_eq!(
        card.respond(&select_mf),
        [0x6A, 0x86],
        "straight after reset"
    );
    card.respond(&JPKI_SELECT);
    assert_eq!(card.respond(&select_mf), [0x90, 0x00]);
    assert_eq!(
        card.current_application(),
        Some(Application::Jpki),
        "DF unchanged"
    );
    let mf_by_id = [0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00];
    assert_eq!(card.respond(&mf_by_id), [0x6A, 0x82]);
}

#[test]
fn select_forms_returning_fci_are_refused_with_6a86() {
    let mut card = Card::my_number();
    let mut with_fci = JPKI_SELECT.to_vec();
    with_fci[3] = 0x00;
    assert_eq!(card.respond(&with_fci), [0x6A, 0x86]);
}

#[test]
fn reset_and_power_cycle_return_to_the_mf() {
    let mut card = Card::my_number();
    card.respond(&JPKI_SELECT);
    card.reset();
    assert_eq!(card.current_application(), None);
    assert_eq!(card.respond(&select_ef(0x000A)), [0x6A, 0x82]);
    card.respond(&JPKI_SELECT);
    card.power_off();
    card.power_on();
    assert_eq!(card.current_application(), None);
}

#[test]
fn refuses_unknown_instructions_and_classes() {
    let mut card = Card::my_number();
    let cases: [(&[u8], [u8; 2]); 7] = [
        (&[0x00, 0xCA, 0x5F, 0x51, 0x00], [0x6D, 0x00]), // GET DATA
        (&[0x00, 0x84, 0x00, 0x00, 0x08], [0x6D, 0x00]), // GET CHALLENGE
        (&[0x80, 0xCA, 0x00, 0x00], [0x6D, 0x00]),       // proprietary class
        (&[0xFF, 0xCA, 0x00, 0x00, 0x00], [0x6E, 0x00]), // reader pseudo-APDU
        (&[0xB0, 0xA4, 0x04, 0x0C], [0x6E, 0x00]),
        (&[0x01, 0xA4, 0x04, 0x0C], [0x68, 0x81]), // logical channel 1
        (&[0x0C, 0xA4, 0x04, 0x0C], [0x68, 0x82]), // secure messaging
    ];
    for (apdu, sw) in cases {
        assert_eq!(card.respond(apdu), sw, "{apdu:02X?}");
    }
}

#[test]
fn malformed_apdus_answer_6700() {
    let mut card = Card::my_number();
    let cases: [&[u8]; 7] = [
        &[],
        &[0x00, 0xA4, 0x04],
        &[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92], // Lc larger than the data
        &[0x00, 0xA4, 0x04, 0x0C, 0x01, 0xD3, 0x92, 0xF0], // two bytes after the data
        &[0x00, 0xA4, 0x04, 0x0C, 0x00, 0x01],       // Lc = 00 in short form
        &[0x00, 0xA4, 0x02, 0x0C, 0x01, 0x0A],       // EF id of one byte
        &[0x00, 0xA4, 0x04, 0x0C],                   // SELECT by name without a name
    ];
    for apdu in cases {
        assert_eq!(card.respond(apdu), [0x67, 0x00], "{apdu:02X?}");
    }
}

#[test]
fn accepts_extended_and_case_4_forms() {
    let mut card = Card::my_number();
    let mut extended = vec![0x00, 0xA4, 0x04, 0x0C, 0x00, 0x00, 0x0A];
    extended.extend_from_slice(&Application::Jpki.aid());
    assert_eq!(card.respond(&extended), [0x90, 0x00]);
    let mut case_4 = JPKI_SELECT.to_vec();
    case_4.push(0x00);
    assert_eq!(card.respond(&case_4), [0x90, 0x00]);
}

#[test]
fn logs_every_apdu_in_order() {
    let mut card = Card::my_number();
    let apdus: [&[u8]; 3] = [
        &JPKI_SELECT,
        &[0x00],
        &[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x0A],
    ];
    for apdu in apdus {
        card.respond(apdu);
    }
    let expected: Vec<Vec<u8>> = apdus.iter().map(|a| a.to_vec()).collect();
    assert_eq!(card.apdu_log(), expected.as_slice());
}
