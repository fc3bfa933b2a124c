//! The configurable quirks: 61xx / GET RESPONSE, 6Cxx, 6282, removal mid-read.

use super::{JPKI_SELECT, PIN, data, hex, read_binary, select_ef, sw, verify_pin};
use crate::card::{Card, CardPulled, Quirks};

const AUTH_CERT: &[u8] = include_bytes!("../../../fixtures/profile/auth-cert.der");

fn card_with(quirks: Quirks) -> Card {
    let mut card = Card::my_number().with_quirks(quirks);
    card.respond(&JPKI_SELECT);
    card.respond(&select_ef(0x000A));
    card
}

#[test]
fn get_response_serves_what_61xx_announced() {
    let mut card = card_with(Quirks {
        get_response: true,
        ..Quirks::default()
    });
    assert_eq!(card.respond(&read_binary(0, 0x00)), [0x61, 0x00]);
    let chunk = card.respond(&hex("00 C0 00 00 00"));
    assert_eq!((data(&chunk), sw(&chunk)), (&AUTH_CERT[..256], 0x9000));

    let len = u16::try_from(AUTH_CERT.len()).unwrap();
    assert_eq!(card.respond(&read_binary(len - 5, 0x00)), [0x61, 0x05]);
    let part = card.respond(&hex("00 C0 00 00 02"));
    assert_eq!(
        (data(&part), sw(&part)),
        (&AUTH_CERT[AUTH_CERT.len() - 5..][..2], 0x6103)
    );
    let rest = card.respond(&hex("00 C0 00 00 03"));
    assert_eq!(
        (data(&rest), sw(&rest)),
        (&AUTH_CERT[AUTH_CERT.len() - 3..], 0x9000)
    );

    assert_eq!(
        card.respond(&hex("00 C0 00 00 00")),
        [0x69, 0x85],
        "nothing pending"
    );
    assert_eq!(card.respond(&read_binary(0, 0x10)), [0x61, 0x10]);
    card.respond(&select_ef(0x000A));
    assert_eq!(
        card.respond(&hex("00 C0 00 00 10")),
        [0x69, 0x85],
        "another command drops what was pending"
    );
}

#[test]
fn get_response_carries_the_signature() {
    let mut card = Card::my_number().with_quirks(Quirks {
        get_response: true,
        ..Quirks::default()
    });
    card.respond(&JPKI_SELECT);
    card.respond(&select_ef(0x0018));
    card.respond(&verify_pin(PIN));
    card.respond(&select_ef(0x0017));
    let mut apdu = hex("80 2A 00 80 33");
    apdu.extend_from_slice(&[0x5A; 51]);
    apdu.push(0x00);
    assert_eq!(card.respond(&apdu), [0x61, 0x00]);
    let signature = card.respond(&hex("00 C0 00 00 00"));
    assert_eq!((data(&signature).len(), sw(&signature)), (256, 0x9000));
}

#[test]
fn wrong_le_answers_6cxx_and_the_resend_succeeds() {
    let mut card = card_with(Quirks {
        wrong_le: true,
        ..Quirks::default()
    });
    let len = u16::try_from(AUTH_CERT.len()).unwrap();
    assert_eq!(card.respond(&read_binary(len - 7, 0x00)), [0x6C, 0x07]);
    let resent = card.respond(&read_binary(len - 7, 0x07));
    assert_eq!(
        (data(&resent), sw(&resent)),
        (&AUTH_CERT[AUTH_CERT.len() - 7..], 0x9000)
    );
}

#[test]
fn eof_6282_ends_a_short_read() {
    let mut card = card_with(Quirks {
        eof_6282: true,
        ..Quirks::default()
    });
    let len = u16::try_from(AUTH_CERT.len()).unwrap();
    let tail = card.respond(&read_binary(len - 4, 0x00));
    assert_eq!(
        (data(&tail), sw(&tail)),
        (&AUTH_CERT[AUTH_CERT.len() - 4..], 0x6282)
    );
    let exact = card.respond(&read_binary(0, 0x04));
    assert_eq!(sw(&exact), 0x9000, "a read that fits is not end of file");
}

#[test]
fn the_card_is_pulled_after_n_reads_once() {
    let mut card = card_with(Quirks {
        remove_after_reads: Some(2),
        ..Quirks::default()
    });
    assert_eq!(sw(&card.transmit(&read_binary(0, 0x00)).unwrap()), 0x9000);
    assert_eq!(sw(&card.transmit(&read_binary(256, 0x00)).unwrap()), 0x9000);
    assert_eq!(card.transmit(&read_binary(512, 0x00)), Err(CardPulled));
    assert_eq!(card.current_application(), None, "pulled = powered off");
    assert_eq!(card.apdu_log().len(), 5, "the unanswered read is recorded");
    // Inserted again, the card works: the quirk fired once.
    card.respond(&JPKI_SELECT);
    card.respond(&select_ef(0x000A));
    for offset in [0, 256, 512, 768] {
        assert!(
            card.transmit(&read_binary(offset, 0x00)).is_ok(),
            "{offset}"
        );
    }
}
