//! VERIFY of the 利用者証明用 PIN: the tries query, counting down, blocking, persistence.

use super::{JPKI_SELECT, PIN, hex, jpki_card, select_ef, sw, verify_pin};
use crate::card::{BlockedAnswer, Card, CardSpec, Quirks};

const EMPTY_VERIFY: [u8; 4] = [0x00, 0x20, 0x00, 0x80];
const WRONG: &[u8; 4] = b"9999";

/// A fixture card with the JPKI AP and EF 0018 selected.
fn pin_card() -> Card {
    let mut card = jpki_card();
    card.respond(&select_ef(0x0018));
    card
}

#[test]
fn three_wrong_pins_count_down_and_block() {
    // (apdu, expected status word, tries left after)
    let steps: [(Vec<u8>, u16, u8); 8] = [
        (EMPTY_VERIFY.to_vec(), 0x63C3, 3),
        (verify_pin(WRONG), 0x63C2, 2),
        (EMPTY_VERIFY.to_vec(), 0x63C2, 2),
        (verify_pin(WRONG), 0x63C1, 1),
        (verify_pin(WRONG), 0x63C0, 0),
        (EMPTY_VERIFY.to_vec(), 0x63C0, 0),
        (verify_pin(PIN), 0x6984, 0),
        (verify_pin(WRONG), 0x6984, 0),
    ];
    let mut card = pin_card();
    for (i, (apdu, want, tries)) in steps.iter().enumerate() {
        assert_eq!(sw(&card.respond(apdu)), *want, "step {i}");
        assert_eq!(card.tries_left(), *tries, "step {i}");
    }
    assert!(!card.is_verified());
}

#[test]
fn the_right_pin_restores_the_counter() {
    let mut card = pin_card();
    assert_eq!(card.respond(&verify_pin(WRONG)), [0x63, 0xC2]);
    assert_eq!(card.respond(&verify_pin(PIN)), [0x90, 0x00]);
    assert!(card.is_verified());
    assert_eq!(card.tries_left(), 3);
    assert_eq!(card.respond(&EMPTY_VERIFY), [0x63, 0xC3]);
}

#[test]
fn a_blocked_pin_answers_the_tries_query_as_configured() {
    for (answer, want) in [
        (BlockedAnswer::TriesZero, [0x63, 0xC0]),
        (BlockedAnswer::Blocked, [0x69, 0x84]),
    ] {
        let mut spec = CardSpec::fixture().unwrap();
        spec.tries_left = 0;
        let quirks = Quirks {
            blocked_answer: answer,
            ..Quirks::default()
        };
        let mut card = Card::jpki(spec).with_quirks(quirks);
        card.respond(&JPKI_SELECT);
        card.respond(&select_ef(0x0018));
        assert_eq!(card.respond(&EMPTY_VERIFY), want, "{answer:?}");
        assert_eq!(card.respond(&verify_pin(PIN)), [0x69, 0x84], "{answer:?}");
    }
}

#[test]
fn verify_by_sfi_needs_no_select() {
    let mut card = jpki_card();
    assert_eq!(card.respond(&hex("00 20 00 98")), [0x63, 0xC3]);
    assert_eq!(
        card.respond(&hex("00 20 00 98 04 31 32 33 34")),
        [0x90, 0x00]
    );
    assert!(card.is_verified());
}

#[test]
fn verify_refusals_spend_no_try() {
    let cases: [(&str, bool, &str, u16); 6] = [
        (
            "no application",
            false,
            "00 20 00 80 04 31 32 33 34",
            0x6A88,
        ),
        (
            "current ef is not a pin",
            true,
            "00 20 00 80 04 31 32 33 34",
            0x6A88,
        ),
        ("p1 not zero", true, "00 20 01 98 04 31 32 33 34", 0x6A86),
        (
            "p2 not a reference",
            true,
            "00 20 00 18 04 31 32 33 34",
            0x6A86,
        ),
        (
            "pin of five digits",
            true,
            "00 20 00 98 05 31 32 33 34 35",
            0x6700,
        ),
        (
            "signature password",
            true,
            "00 20 00 9B 04 31 32 33 34",
            0x6A88,
        ),
    ];
    for (name, select_jpki, apdu, want) in cases {
        let mut card = Card::my_number();
        if select_jpki {
            card.respond(&JPKI_SELECT);
            card.respond(&select_ef(0x000A));
        }
        assert_eq!(sw(&card.respond(&hex(apdu))), want, "{name}");
        assert_eq!(card.tries_left(), 3, "{name}");
    }
}

#[test]
fn counters_survive_resets_power_cycles_and_clones() {
    let mut card = pin_card();
    card.respond(&verify_pin(WRONG));
    card.reset();
    card.power_off();
    card.power_on();
    assert_eq!(card.tries_left(), 2);
    let mut clone = card.clone();
    clone.respond(&JPKI_SELECT);
    clone.respond(&select_ef(0x0018));
    clone.respond(&verify_pin(WRONG));
    assert_eq!(card.tries_left(), 1, "a clone is the same physical card");
    let counter = card.pin_counter();
    counter.set_tries_left(3);
    assert_eq!(card.tries_left(), 3);
    assert_eq!(counter.max_tries(), 3);
}

#[test]
fn reselecting_the_jpki_ap_or_a_reset_drops_the_verified_state() {
    let mut card = pin_card();
    card.respond(&verify_pin(PIN));
    assert!(card.is_verified());
    card.respond(&JPKI_SELECT);
    assert!(!card.is_verified());

    let mut card = pin_card();
    card.respond(&verify_pin(PIN));
    card.reset();
    assert!(!card.is_verified());

    let mut card = pin_card();
    card.respond(&verify_pin(PIN));
    card.respond(&verify_pin(WRONG));
    assert!(!card.is_verified(), "a failed verify drops the state");
}
