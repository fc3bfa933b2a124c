pub(crate) mod fake;
mod ops;
mod read;

use mynafleet_card_sim::Card;

use super::allow_list::{Refusal, check};
use super::{CardKind, JPKI_AP_AID, JpkiCard, JpkiError, Response, StatusWord, select_jpki_ap};
use crate::transport::{CardTransport, TransportError};

/// card-sim's in-memory card behind the transport trait (STYLE.md §8): real card logic, no
/// pcscd.
struct SimTransport(Card);

impl CardTransport for SimTransport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.0.respond(apdu))
    }
}

/// Counts what reaches it and answers with a fixed response.
struct Recorder {
    sent: usize,
    reply: Vec<u8>,
}

impl CardTransport for Recorder {
    fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent += 1;
        Ok(self.reply.clone())
    }
}

fn recorder(reply: &[u8]) -> Recorder {
    Recorder {
        sent: 0,
        reply: reply.to_vec(),
    }
}

// The other four applications of DOMAIN.md §1.2, written out independently of card-sim.
const TEXT_AP: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08];
const CARD_FACE_AP: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02];
const JUKI_AP: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x01];
const COMMON_AP: [u8; 10] = [0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x01, 0x00];

fn select_by_name(aid: &[u8]) -> Vec<u8> {
    let mut apdu = vec![0x00, 0xA4, 0x04, 0x0C, u8::try_from(aid.len()).unwrap()];
    apdu.extend_from_slice(aid);
    apdu
}

fn select_ef(file: u16) -> Vec<u8> {
    let [hi, lo] = file.to_be_bytes();
    vec![0x00, 0xA4, 0x02, 0x0C, 0x02, hi, lo]
}

// --- builders -------------------------------------------------------------------------------

#[test]
fn select_jpki_ap_matches_domain_1_5() {
    assert_eq!(
        select_jpki_ap(),
        [
            0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00,
            0x01
        ]
    );
    assert_eq!(select_jpki_ap()[5..], JPKI_AP_AID);
}

// --- status words ---------------------------------------------------------------------------

#[test]
fn decodes_the_status_words_of_domain_1_6() {
    let cases = [
        ((0x90, 0x00), StatusWord::Success),
        ((0x61, 0x10), StatusWord::MoreData(0x10)),
        ((0x62, 0x82), StatusWord::EndOfFileBeforeLe),
        ((0x63, 0x00), StatusWord::VerifyFailedUnlimited),
        ((0x63, 0xC3), StatusWord::TriesLeft(3)),
        ((0x63, 0xC0), StatusWord::TriesLeft(0)),
        ((0x67, 0x00), StatusWord::WrongLength),
        ((0x68, 0x81), StatusWord::LogicalChannelNotSupported),
        ((0x68, 0x82), StatusWord::SecureMessagingNotSupported),
        ((0x69, 0x82), StatusWord::SecurityStatusNotSatisfied),
        ((0x69, 0x84), StatusWord::ReferenceBlocked),
        ((0x69, 0x85), StatusWord::ConditionsNotSatisfied),
        ((0x69, 0xFC), StatusWord::SecureMessagingRefused),
        ((0x6A, 0x82), StatusWord::FileNotFound),
        ((0x6A, 0x86), StatusWord::IncorrectP1P2),
        ((0x6B, 0x00), StatusWord::WrongOffset),
        ((0x6C, 0x20), StatusWord::WrongLe(0x20)),
        ((0x6D, 0x00), StatusWord::InsNotSupported),
        ((0x6E, 0x00), StatusWord::ClaNotSupported),
    ];
    for ((sw1, sw2), expected) in cases {
        assert_eq!(
            StatusWord::from_bytes(sw1, sw2),
            expected,
            "{sw1:02X}{sw2:02X}"
        );
        assert_eq!(expected.to_bytes(), (sw1, sw2));
    }
}

#[test]
fn keeps_unknown_status_words_raw() {
    for (sw1, sw2) in [(0x6F, 0x00), (0x63, 0x10), (0x69, 0x99), (0x90, 0x01)] {
        let sw = StatusWord::from((sw1, sw2));
        assert_eq!(sw, StatusWord::Unknown(sw1, sw2));
        assert_eq!(sw.to_bytes(), (sw1, sw2));
    }
}

#[test]
fn every_status_word_round_trips() {
    for sw1 in 0..=u8::MAX {
        for sw2 in 0..=u8::MAX {
            assert_eq!(StatusWord::from_bytes(sw1, sw2).to_bytes(), (sw1, sw2));
        }
    }
}

#[test]
fn pin_blocked_is_63c0_or_6984_only() {
    assert!(StatusWord::TriesLeft(0).is_pin_blocked());
    assert!(StatusWord::ReferenceBlocked.is_pin_blocked());
    assert!(!StatusWord::TriesLeft(1).is_pin_blocked());
    assert!(!StatusWord::VerifyFailedUnlimited.is_pin_blocked());
}

#[test]
fn displays_as_four_hex_digits() {
    assert_eq!(StatusWord::FileNotFound.to_string(), "6A82");
    assert_eq!(StatusWord::Unknown(0x6F, 0x0A).to_string(), "6F0A");
}

#[test]
fn responses_split_data_from_status_and_hide_data_in_debug() {
    let response = Response::parse(vec![0x4A, 0x50, 0x90, 0x00]).unwrap();
    assert_eq!(response.data(), [0x4A, 0x50]);
    assert_eq!(response.status(), StatusWord::Success);
    let debug = format!("{response:?}");
    assert!(debug.contains("data_len: 2"), "{debug}");
    assert!(!debug.contains("74") && !debug.contains("4A"), "{debug}");
    for short in [vec![], vec![0x90]] {
        let err = Response::parse(short).unwrap_err();
        assert!(
            matches!(err, JpkiError::MalformedResponse { .. }),
            "{err:?}"
        );
    }
}

// --- allow-list -----------------------------------------------------------------------------

#[test]
fn allows_the_commands_of_domain_rule_2() {
    let mut sign = vec![0x80, 0x2A, 0x00, 0x80, 0x33];
    sign.extend_from_slice(&[
        0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ]);
    sign.extend_from_slice(&[0xAB; 32]);
    sign.push(0x00);
    let allowed: Vec<Vec<u8>> = vec![
        select_jpki_ap(),
        select_ef(0x0006),
        select_ef(0x0008),
        select_ef(0x000A),
        select_ef(0x000B),
        select_ef(0x0017),
        select_ef(0x0018),
        vec![0x00, 0xB0, 0x00, 0x00, 0x00], // READ BINARY 256 at offset 0
        vec![0x00, 0xB0, 0x01, 0x00, 0x7F], // offset 256
        vec![0x00, 0xB0, 0x8A, 0x00, 0x00], // by SFI 0A
        vec![0x00, 0x20, 0x00, 0x80],       // tries left
        vec![0x00, 0x20, 0x00, 0x98],       // tries left by SFI
        vec![0x00, 0x20, 0x00, 0x80, 0x04, 0x31, 0x32, 0x33, 0x34],
        vec![0x00, 0xC0, 0x00, 0x00, 0x10], // GET RESPONSE
        sign,
        vec![0x80, 0xFC, 0x00, 0x00], // iPhone indicator
    ];
    for apdu in allowed {
        assert_eq!(check(&apdu), Ok(()), "{:02X?}", &apdu[..4]);
    }
}

#[test]
fn refuses_every_other_my_number_application() {
    for aid in [TEXT_AP, CARD_FACE_AP, JUKI_AP, COMMON_AP] {
        assert_eq!(check(&select_by_name(&aid)), Err(Refusal::Application));
    }
    // Prefixes and extensions of the JPKI AID are other applications too.
    assert_eq!(
        check(&select_by_name(&JPKI_AP_AID[..9])),
        Err(Refusal::Application)
    );
    let mut longer = JPKI_AP_AID.to_vec();
    longer.push(0x00);
    assert_eq!(check(&select_by_name(&longer)), Err(Refusal::Application));
}

#[test]
fn refuses_forbidden_files() {
    for file in [0x0001, 0x0002, 0x0016, 0x001A, 0x001B, 0x3F00] {
        assert_eq!(
            check(&select_ef(file)),
            Err(Refusal::File { file }),
            "{file:04X}"
        );
    }
    // READ BINARY of the signature certificate by SFI 01.
    assert_eq!(
        check(&[0x00, 0xB0, 0x81, 0x00, 0x00]),
        Err(Refusal::File { file: 0x01 })
    );
    // VERIFY of the signature password by SFI 1B.
    let verify_password = [0x00, 0x20, 0x00, 0x9B, 0x04, 0x41, 0x42, 0x43, 0x31];
    assert_eq!(check(&verify_password), Err(Refusal::File { file: 0x1B }));
}

#[test]
fn refuses_other_instructions_parameters_and_shapes() {
    let cases: [(&[u8], Refusal); 14] = [
        (
            &[0x00, 0xCA, 0x5F, 0x51, 0x00],
            Refusal::Instruction {
                cla: 0x00,
                ins: 0xCA,
            },
        ),
        (
            &[0x00, 0x84, 0x00, 0x00, 0x08],
            Refusal::Instruction {
                cla: 0x00,
                ins: 0x84,
            },
        ),
        (
            &[0x00, 0x88, 0x00, 0x80, 0x01, 0x00],
            Refusal::Instruction {
                cla: 0x00,
                ins: 0x88,
            },
        ),
        (
            &[0x00, 0x24, 0x01, 0x80],
            Refusal::Instruction {
                cla: 0x00,
                ins: 0x24,
            },
        ),
        (
            &[0x0C, 0xA4, 0x04, 0x0C, 0x01, 0x00],
            Refusal::Instruction {
                cla: 0x0C,
                ins: 0xA4,
            },
        ),
        (
            &[0x00, 0xA4, 0x00, 0x00],
            Refusal::Parameters {
                ins: 0xA4,
                p1: 0x00,
                p2: 0x00,
            },
        ),
        (
            &[0x00, 0xA4, 0x04, 0x00, 0x01, 0xD3],
            Refusal::Parameters {
                ins: 0xA4,
                p1: 0x04,
                p2: 0x00,
            },
        ),
        (
            &[0x00, 0xA4, 0x02, 0x0C, 0x01, 0x0A],
            Refusal::Body { ins: 0xA4 },
        ),
        (&[0x00, 0xB0, 0x00, 0x00], Refusal::Body { ins: 0xB0 }),
        (
            &[0x00, 0x20, 0x00, 0x80, 0x02, 0x31, 0x32],
            Refusal::Body { ins: 0x20 },
        ),
        (
            &[0x00, 0x20, 0x01, 0x80],
            Refusal::Parameters {
                ins: 0x20,
                p1: 0x01,
                p2: 0x80,
            },
        ),
        (
            &[0x80, 0x2A, 0x00, 0x9A, 0x01, 0x00, 0x00],
            Refusal::Parameters {
                ins: 0x2A,
                p1: 0x00,
                p2: 0x9A,
            },
        ),
        (
            &[0x80, 0x2A, 0x00, 0x80, 0x01, 0x00, 0x00],
            Refusal::Body { ins: 0x2A },
        ),
        (&[0x80, 0xFC, 0x00, 0x00, 0x00], Refusal::Body { ins: 0xFC }),
    ];
    for (apdu, refusal) in cases {
        assert_eq!(check(apdu), Err(refusal), "{apdu:02X?}");
    }
}

#[test]
fn refuses_malformed_and_extended_apdus() {
    let cases: [&[u8]; 5] = [
        &[],
        &[0x00, 0xA4, 0x04],
        &[0x00, 0xA4, 0x04, 0x0C, 0x0A, 0xD3], // Lc beyond the data
        &[0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00], // extended Le
        &[0x00, 0xA4, 0x04, 0x0C, 0x00, 0x00, 0x0A, 0xD3], // extended Lc
    ];
    for apdu in cases {
        assert_eq!(check(apdu), Err(Refusal::Malformed), "{apdu:02X?}");
    }
}

// --- JpkiCard -------------------------------------------------------------------------------

#[test]
fn a_refused_select_never_reaches_the_transport() {
    let mut card = JpkiCard::new(recorder(&[0x90, 0x00]));
    for aid in [TEXT_AP, CARD_FACE_AP, JUKI_AP, COMMON_AP] {
        let err = card.transmit(&select_by_name(&aid)).unwrap_err();
        assert!(
            matches!(err, JpkiError::Refused(Refusal::Application)),
            "{err:?}"
        );
    }
    let err = card.transmit(&select_ef(0x0001)).unwrap_err();
    assert!(
        matches!(err, JpkiError::Refused(Refusal::File { file: 1 })),
        "{err:?}"
    );
    assert_eq!(card.into_inner().sent, 0);
}

#[test]
fn identifies_a_my_number_card_on_the_in_memory_card() {
    let mut card = JpkiCard::new(SimTransport(Card::my_number()));
    assert_eq!(card.identify().unwrap(), CardKind::MyNumber);
    let sim = card.into_inner().0;
    assert_eq!(sim.apdu_log(), [select_by_name(&JPKI_AP_AID)]);
}

#[test]
fn a_card_without_the_jpki_ap_is_not_a_my_number_card() {
    let mut card = JpkiCard::new(SimTransport(Card::foreign()));
    assert_eq!(
        card.identify().unwrap(),
        CardKind::NotMyNumber(StatusWord::FileNotFound)
    );
    let mut odd = JpkiCard::new(recorder(&[0x6E, 0x00]));
    assert_eq!(
        odd.identify().unwrap(),
        CardKind::NotMyNumber(StatusWord::ClaNotSupported)
    );
}

#[test]
fn transport_errors_and_short_responses_surface_as_errors() {
    struct Removed;
    impl CardTransport for Removed {
        fn transmit(&mut self, _apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
            Err(TransportError::CardRemoved)
        }
    }
    let err = JpkiCard::new(Removed).identify().unwrap_err();
    assert!(
        matches!(err, JpkiError::Transport(TransportError::CardRemoved)),
        "{err:?}"
    );
    let err = JpkiCard::new(recorder(&[0x90])).identify().unwrap_err();
    assert!(
        matches!(err, JpkiError::MalformedResponse { len: 1 }),
        "{err:?}"
    );
}
