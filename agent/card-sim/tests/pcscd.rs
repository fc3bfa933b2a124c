//! card-sim through the real pcscd with the vsmartcard vpcd driver, in slot 1 ("Virtual PCD
//! 00 01", port 35964): insertion, a PIN try and a signature over PC/SC, removal, and
//! re-insertion of the same card with its counter (TOOLCHAIN.md §8).
//!
//! Needs pcscd running with the vpcd reader configuration (`rm -rf /run/pcscd; pcscd
//! --foreground &`); without it the test fails, it never skips. The name contains `pcscd`, so
//! nextest runs it alone in the `pcsc` group. Readiness is observed through
//! `SCardGetStatusChange` with a deadline, never by sleeping.

use std::ffi::{CStr, CString};
use std::time::{Duration, Instant};

use mynafleet_card_sim::vpcd::SLOT_1_PORT;
use mynafleet_card_sim::{Card, VpcdClient};
use pcsc::{Context, Protocols, ReaderState, Scope, ShareMode, State};

const READER: &str = "Virtual PCD 00 01";
const DEADLINE: Duration = Duration::from_secs(10);

const JPKI_SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01,
];
const SELECT_PIN: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x18];
const SELECT_KEY: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x00, 0x17];
const EMPTY_VERIFY: [u8; 4] = [0x00, 0x20, 0x00, 0x80];
const WRONG_PIN: [u8; 9] = [0x00, 0x20, 0x00, 0x80, 0x04, 0x39, 0x39, 0x39, 0x39];
const RIGHT_PIN: [u8; 9] = [0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34];

/// Waits until the reader reports a card present (`true`) or empty (`false`).
fn wait_for(ctx: &Context, reader: &CStr, present: bool) -> State {
    let start = Instant::now();
    let mut states = [ReaderState::new(reader.to_owned(), State::UNAWARE)];
    let mut last = State::UNAWARE;
    while start.elapsed() < DEADLINE {
        match ctx.get_status_change(Duration::from_millis(250), &mut states) {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            // vpcd readers appear shortly after pcscd starts: keep asking until the deadline.
            Err(pcsc::Error::UnknownReader) => continue,
            Err(e) => panic!("get_status_change on {reader:?}: {e}"),
        }
        last = states[0].event_state();
        let is_present = last.contains(State::PRESENT) && !last.contains(State::MUTE);
        let is_empty = last.contains(State::EMPTY);
        if (present && is_present) || (!present && is_empty) {
            return last;
        }
        states[0].sync_current_state();
    }
    panic!(
        "{reader:?} not {} within {DEADLINE:?}; last state {last:?} (is another simulator on \
         port {SLOT_1_PORT}?)",
        if present { "present" } else { "empty" }
    );
}

fn transmit(card: &pcsc::Card, apdu: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
    card.transmit(apdu, &mut buf).unwrap().to_vec()
}

#[test]
fn pcscd_sees_the_card_sign_and_keep_its_counter_across_reinsertion() {
    let ctx = Context::establish(Scope::User).expect("pcscd is not running");
    let reader = CString::new(READER).unwrap();
    wait_for(&ctx, &reader, false);

    let card = Card::my_number();
    let log = card.apdu_log_handle();
    let inserted = VpcdClient::insert("127.0.0.1", SLOT_1_PORT, card).unwrap();
    wait_for(&ctx, &reader, true);
    {
        let pcsc_card = ctx
            .connect(&reader, ShareMode::Shared, Protocols::ANY)
            .unwrap();
        assert_eq!(transmit(&pcsc_card, &JPKI_SELECT), [0x90, 0x00]);
        assert_eq!(transmit(&pcsc_card, &SELECT_PIN), [0x90, 0x00]);
        assert_eq!(transmit(&pcsc_card, &WRONG_PIN), [0x63, 0xC2]);
        assert_eq!(transmit(&pcsc_card, &RIGHT_PIN), [0x90, 0x00]);
        assert_eq!(transmit(&pcsc_card, &WRONG_PIN), [0x63, 0xC2]);
        assert_eq!(transmit(&pcsc_card, &RIGHT_PIN), [0x90, 0x00]);
        assert_eq!(transmit(&pcsc_card, &SELECT_KEY), [0x90, 0x00]);
        let mut sign = vec![0x80, 0x2A, 0x00, 0x80, 0x33];
        sign.extend_from_slice(&[0x30; 51]);
        sign.push(0x00);
        let signature = transmit(&pcsc_card, &sign);
        assert_eq!(
            (signature.len(), &signature[256..]),
            (258, &[0x90, 0x00][..])
        );
        assert_eq!(transmit(&pcsc_card, &SELECT_PIN), [0x90, 0x00]);
        assert_eq!(transmit(&pcsc_card, &WRONG_PIN), [0x63, 0xC2]);
    }
    assert!(
        !log.contains(b"1234") && !log.contains(b"9999"),
        "pins masked"
    );
    let card = inserted.remove().unwrap();
    wait_for(&ctx, &reader, false);

    let inserted = VpcdClient::insert("127.0.0.1", SLOT_1_PORT, card).unwrap();
    wait_for(&ctx, &reader, true);
    {
        let pcsc_card = ctx
            .connect(&reader, ShareMode::Shared, Protocols::ANY)
            .unwrap();
        assert_eq!(transmit(&pcsc_card, &JPKI_SELECT), [0x90, 0x00]);
        assert_eq!(transmit(&pcsc_card, &SELECT_PIN), [0x90, 0x00]);
        assert_eq!(
            transmit(&pcsc_card, &EMPTY_VERIFY),
            [0x63, 0xC2],
            "the counter survived removal"
        );
    }
    let card = inserted.remove().unwrap();
    wait_for(&ctx, &reader, false);
    assert_eq!(card.tries_left(), 2);
}
