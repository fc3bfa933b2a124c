//! The APDU record: order, PIN masking, the shared handle and the hex sink.

use std::io::Write;
use std::sync::{Arc, Mutex};

use super::{JPKI_SELECT, PIN, hex, jpki_card, select_ef, verify_pin};
use crate::card::log::mask_pins;
use crate::card::{ApduLog, Card, CardSpec};

#[test]
fn verify_apdus_are_recorded_with_the_pin_masked() {
    let mut card = jpki_card();
    card.respond(&select_ef(0x0018));
    card.respond(&hex("00 20 00 80"));
    card.respond(&verify_pin(PIN));
    card.respond(&hex("00 20 00 98 04 39 39 39 39"));
    let log = card.apdu_log();
    assert_eq!(
        log[2],
        hex("00 20 00 80"),
        "the tries query carries nothing"
    );
    assert_eq!(log[3], hex("00 20 00 80 04 2A 2A 2A 2A"));
    assert_eq!(log[4], hex("00 20 00 98 04 2A 2A 2A 2A"));
    assert!(!card.apdu_log_handle().contains(PIN));
}

#[test]
fn masking_covers_every_pin_carrying_form() {
    let cases = [
        (
            "00 20 00 80 04 31 32 33 34 00",
            "00 20 00 80 04 2A 2A 2A 2A 00",
        ),
        (
            "00 20 00 80 00 00 04 31 32 33 34",
            "00 20 00 80 00 00 04 2A 2A 2A 2A",
        ),
        (
            "00 24 01 80 08 31 32 33 34 35 36 37 38",
            "00 24 01 80 08 2A 2A 2A 2A 2A 2A 2A 2A",
        ),
        ("00 2C 00 80 02 31 32", "00 2C 00 80 02 2A 2A"),
        // Malformed: Lc says 5, four bytes follow; everything after the header is masked.
        ("00 20 00 80 05 31 32 33 34", "00 20 00 80 2A 2A 2A 2A 2A"),
        ("00 B0 00 00 04", "00 B0 00 00 04"),
        ("00 20", "00 20"),
    ];
    for (apdu, want) in cases {
        assert_eq!(mask_pins(&hex(apdu)), hex(want), "{apdu}");
    }
}

#[test]
fn a_handle_taken_before_sees_later_apdus_and_is_shared_by_clones() {
    let card = Card::my_number();
    let handle = card.apdu_log_handle();
    let mut clone = card.clone();
    clone.respond(&JPKI_SELECT);
    assert_eq!(handle.snapshot(), [JPKI_SELECT.to_vec()]);
    assert_eq!(card.apdu_log().len(), 1);
    handle.clear();
    assert!(handle.is_empty());
}

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_sink_gets_one_hex_line_per_apdu() {
    let mut card = jpki_card();
    let sink = Shared::default();
    card.apdu_log_handle().tee(sink.clone());
    card.respond(&select_ef(0x0018));
    card.respond(&verify_pin(PIN));
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert_eq!(text, "00 A4 02 0C 02 00 18\n00 20 00 80 04 2A 2A 2A 2A\n");
    assert_eq!(ApduLog::hex_line(&[0x0A, 0xFF]), "0A FF");
    assert!(!card.apdu_log_handle().sink_failed());
}

#[test]
fn debug_output_never_shows_the_pin() {
    let spec = CardSpec::fixture().unwrap();
    let card = Card::jpki(spec.clone());
    for text in [
        format!("{spec:?}"),
        format!("{card:?}"),
        format!("{:?}", spec.pin),
    ] {
        assert!(!text.contains("1234"), "{text}");
        assert!(!text.contains("49, 50, 51, 52"), "{text}");
    }
}
