use time::macros::datetime;

use super::*;
use crate::jpki::TokenKind;

const T0: OffsetDateTime = datetime!(2026-11-21 09:00:00 UTC);
const READER: &str = "Virtual PCD 00 00";
const SCAN: &str = "scan-1";

fn at(ms: i64) -> OffsetDateTime {
    T0 + time::Duration::milliseconds(ms)
}

/// One effect in a few words, so tables stay readable.
fn word(effect: &Effect) -> String {
    match effect {
        Effect::StartRead { .. } => "read".into(),
        Effect::FetchChallenge { .. } => "challenge".into(),
        Effect::StartSign {
            confirm_last_try, ..
        } => format!("sign(confirm={confirm_last_try})"),
        Effect::SendCheck { method, .. } => format!("check({method:?})"),
        Effect::Emit(event) => format!("{:?}", event.kind),
        Effect::Refuse(refusal) => format!("refuse({refusal:?})"),
        Effect::Publish => "publish".into(),
    }
}

fn words(effects: &[Effect]) -> Vec<String> {
    effects.iter().map(word).collect()
}

fn inserted() -> Input {
    Input::CardInserted {
        scan_id: SCAN.into(),
    }
}

fn read_done(pin: PinCounter) -> Input {
    Input::ReadDone {
        scan_id: SCAN.into(),
        token: TokenKind::Card,
        signature_certificate_available: true,
        pin,
    }
}

fn submit(confirm_last_try: bool) -> Input {
    Input::PinSubmitted {
        scan_id: SCAN.into(),
        confirm_last_try,
    }
}

fn sign_failed(failure: SignFailure) -> Input {
    Input::SignFailed {
        scan_id: SCAN.into(),
        failure,
    }
}

fn transient() -> Input {
    Input::ReadFailed {
        scan_id: SCAN.into(),
        failure: ReadFailure::Transient {
            class: "CARD_RESET".into(),
        },
    }
}

fn challenge() -> Input {
    Input::ChallengeReceived {
        scan_id: SCAN.into(),
    }
}

fn awaiting(pin: PinCounter) -> Vec<Input> {
    vec![Input::ReaderAttached, inserted(), read_done(pin)]
}

/// Runs `setup`, then `input`, and returns the effects of `input` and the session.
fn run(setup: Vec<Input>, input: Input) -> (Vec<String>, Session) {
    let mut session = Session::new(READER);
    for (i, step) in setup.into_iter().enumerate() {
        session.handle(step, at(i as i64 * 10));
    }
    let effects = session.handle(input, at(1000));
    (words(&effects), session)
}

fn phase(session: &Session) -> Option<Phase> {
    session.scan().map(|s| s.phase)
}

#[test]
fn transitions_follow_the_table() {
    use Phase::*;
    // (name, inputs before, input, effects of the input, phase after)
    type Case = (
        &'static str,
        Vec<Input>,
        Input,
        Vec<&'static str>,
        Option<Phase>,
    );
    let cases: Vec<Case> = vec![
        (
            "attach",
            vec![],
            Input::ReaderAttached,
            vec!["ReaderAttached", "publish"],
            None,
        ),
        (
            "insert starts a read",
            vec![Input::ReaderAttached],
            inserted(),
            vec!["CardInserted", "read", "publish"],
            Some(Reading),
        ),
        (
            "the same insertion twice is one scan",
            vec![Input::ReaderAttached, inserted()],
            Input::CardInserted {
                scan_id: "scan-2".into(),
            },
            vec![],
            Some(Reading),
        ),
        (
            "read done waits for the identity and reports tries",
            vec![Input::ReaderAttached, inserted()],
            read_done(PinCounter::Tries(3)),
            vec!["CardRead", "PinTriesLeft", "publish"],
            Some(AwaitingIdentity),
        ),
        (
            "blocked at read",
            vec![Input::ReaderAttached, inserted()],
            read_done(PinCounter::Blocked),
            vec!["CardRead", "PinBlocked", "publish"],
            Some(AwaitingIdentity),
        ),
        (
            "transient read error retried",
            vec![Input::ReaderAttached, inserted()],
            transient(),
            vec!["read", "publish"],
            Some(Reading),
        ),
        (
            "third transient read error fails",
            vec![Input::ReaderAttached, inserted(), transient(), transient()],
            transient(),
            vec!["ScanFailed", "publish"],
            Some(Failed),
        ),
        (
            "not a my number card",
            vec![Input::ReaderAttached, inserted()],
            Input::ReadFailed {
                scan_id: SCAN.into(),
                failure: ReadFailure::NotMyNumber {
                    status_word: "6A82".into(),
                },
            },
            vec!["ScanFailed", "publish"],
            Some(Failed),
        ),
        (
            "refused command",
            vec![Input::ReaderAttached, inserted()],
            Input::ReadFailed {
                scan_id: SCAN.into(),
                failure: ReadFailure::Refused,
            },
            vec!["CommandRefused", "ScanFailed", "publish"],
            Some(Failed),
        ),
        (
            "card removed mid-read",
            vec![Input::ReaderAttached, inserted()],
            Input::CardRemoved,
            vec!["CardRemoved", "ScanFailed", "publish"],
            Some(Failed),
        ),
        (
            "pin fetches the challenge first",
            awaiting(PinCounter::Tries(3)),
            submit(false),
            vec!["challenge", "publish"],
            Some(Signing),
        ),
        (
            "challenge starts the sign",
            [awaiting(PinCounter::Tries(3)), vec![submit(false)]].concat(),
            challenge(),
            vec!["sign(confirm=false)", "publish"],
            Some(Signing),
        ),
        (
            "signature sends the check",
            [
                awaiting(PinCounter::Tries(3)),
                vec![submit(false), challenge()],
            ]
            .concat(),
            Input::SignDone {
                scan_id: SCAN.into(),
            },
            vec!["CardSigned", "check(Pin)", "publish"],
            Some(Checking),
        ),
        (
            "check done",
            [
                awaiting(PinCounter::Tries(3)),
                vec![
                    submit(false),
                    challenge(),
                    Input::SignDone {
                        scan_id: SCAN.into(),
                    },
                ],
            ]
            .concat(),
            Input::CheckDone {
                scan_id: SCAN.into(),
                summary: CheckSummary {
                    check_id: "c1".into(),
                    verdict: "ELIGIBLE:1".into(),
                },
            },
            vec!["CheckCompleted", "publish"],
            Some(Done),
        ),
        (
            "wrong pin waits again and is not retried",
            [
                awaiting(PinCounter::Tries(3)),
                vec![submit(false), challenge()],
            ]
            .concat(),
            sign_failed(SignFailure::Rejected { tries_left: 2 }),
            vec!["PinRejected", "publish"],
            Some(AwaitingIdentity),
        ),
        (
            "the blocking attempt",
            [
                awaiting(PinCounter::Tries(1)),
                vec![submit(true), challenge()],
            ]
            .concat(),
            sign_failed(SignFailure::Rejected { tries_left: 0 }),
            vec!["PinRejected", "PinBlocked", "publish"],
            Some(AwaitingIdentity),
        ),
        (
            "blocked at sign",
            [
                awaiting(PinCounter::Tries(3)),
                vec![submit(false), challenge()],
            ]
            .concat(),
            sign_failed(SignFailure::Blocked),
            vec!["PinBlocked", "refuse(PinBlocked)", "publish"],
            Some(AwaitingIdentity),
        ),
        (
            "a blocked pin is refused before the card",
            awaiting(PinCounter::Blocked),
            submit(true),
            vec!["refuse(PinBlocked)"],
            Some(AwaitingIdentity),
        ),
        (
            "last try needs confirmation",
            awaiting(PinCounter::Tries(1)),
            submit(false),
            vec!["refuse(LastTryNotConfirmed)"],
            Some(AwaitingIdentity),
        ),
        (
            "last try confirmed",
            awaiting(PinCounter::Tries(1)),
            submit(true),
            vec!["challenge", "publish"],
            Some(Signing),
        ),
        (
            "pin for another scan",
            awaiting(PinCounter::Tries(3)),
            Input::PinSubmitted {
                scan_id: "scan-0".into(),
                confirm_last_try: false,
            },
            vec!["refuse(ScanMismatch)"],
            Some(AwaitingIdentity),
        ),
        (
            "pin while reading",
            vec![Input::ReaderAttached, inserted()],
            submit(false),
            vec!["refuse(NoScanWaiting)"],
            Some(Reading),
        ),
        (
            "pin without a scan",
            vec![Input::ReaderAttached],
            submit(false),
            vec!["refuse(NoScanWaiting)"],
            None,
        ),
        (
            "pin while signing",
            [awaiting(PinCounter::Tries(3)), vec![submit(false)]].concat(),
            submit(false),
            vec!["refuse(ScanBusy)"],
            Some(Signing),
        ),
        (
            "visual",
            awaiting(PinCounter::Blocked),
            Input::VisualChosen {
                scan_id: SCAN.into(),
            },
            vec!["VisualChosen", "challenge", "publish"],
            Some(Checking),
        ),
        (
            "visual challenge sends the check",
            [
                awaiting(PinCounter::Blocked),
                vec![Input::VisualChosen {
                    scan_id: SCAN.into(),
                }],
            ]
            .concat(),
            challenge(),
            vec!["check(Visual)", "publish"],
            Some(Checking),
        ),
        (
            "proxy refuses the check",
            [
                awaiting(PinCounter::Blocked),
                vec![
                    Input::VisualChosen {
                        scan_id: SCAN.into(),
                    },
                    challenge(),
                ],
            ]
            .concat(),
            Input::CheckFailed {
                scan_id: SCAN.into(),
                failure: Failure::new("DEVICE_SUSPENDED", "suspended"),
            },
            vec!["CheckFailed", "publish"],
            Some(Failed),
        ),
        (
            "challenge refused",
            [awaiting(PinCounter::Tries(3)), vec![submit(false)]].concat(),
            Input::ChallengeFailed {
                scan_id: SCAN.into(),
                failure: Failure::new("UNAVAILABLE", "proxy down"),
            },
            vec!["CheckFailed", "publish"],
            Some(Failed),
        ),
        (
            "cancel while waiting",
            awaiting(PinCounter::Tries(3)),
            Input::Cancel {
                scan_id: SCAN.into(),
            },
            vec!["ScanCancelled", "publish"],
            Some(Cancelled),
        ),
        (
            "cancel while signing",
            [awaiting(PinCounter::Tries(3)), vec![submit(false)]].concat(),
            Input::Cancel {
                scan_id: SCAN.into(),
            },
            vec!["refuse(ScanBusy)"],
            Some(Signing),
        ),
        (
            "card removed while waiting",
            awaiting(PinCounter::Tries(3)),
            Input::CardRemoved,
            vec!["CardRemoved", "ScanFailed", "publish"],
            Some(Failed),
        ),
        (
            "card removed while checking keeps the check",
            [
                awaiting(PinCounter::Blocked),
                vec![Input::VisualChosen {
                    scan_id: SCAN.into(),
                }],
            ]
            .concat(),
            Input::CardRemoved,
            vec!["CardRemoved", "publish"],
            Some(Checking),
        ),
        (
            "reader removed with a card",
            awaiting(PinCounter::Tries(3)),
            Input::ReaderRemoved,
            vec!["CardRemoved", "ScanFailed", "ReaderRemoved", "publish"],
            Some(Failed),
        ),
        (
            "a late read result of a failed scan is dropped",
            vec![Input::ReaderAttached, inserted(), Input::CardRemoved],
            read_done(PinCounter::Tries(3)),
            vec![],
            Some(Failed),
        ),
    ];
    for (name, setup, input, expected, expected_phase) in cases {
        let (effects, session) = run(setup, input);
        assert_eq!(effects, expected, "{name}: effects");
        assert_eq!(phase(&session), expected_phase, "{name}: phase");
    }
}

#[test]
fn a_wrong_pin_lowers_the_tries_and_marks_the_rejection() {
    let (_, session) = run(
        [
            awaiting(PinCounter::Tries(3)),
            vec![submit(false), challenge()],
        ]
        .concat(),
        sign_failed(SignFailure::Rejected { tries_left: 2 }),
    );
    let scan = session.scan().unwrap();
    assert_eq!(scan.pin, Some(PinCounter::Tries(2)));
    assert!(scan.pin_rejected);
    // The next submit is a new command from the terminal, not a retry.
    let mut session = session;
    let effects = session.handle(submit(false), at(2000));
    assert_eq!(words(&effects), ["challenge", "publish"]);
    assert!(!session.scan().unwrap().pin_rejected);
}

#[test]
fn the_next_insert_after_a_pulled_card_starts_a_fresh_scan() {
    let mut session = Session::new(READER);
    session.handle(Input::ReaderAttached, at(0));
    session.handle(inserted(), at(10));
    session.handle(Input::CardRemoved, at(20));
    let effects = session.handle(
        Input::CardInserted {
            scan_id: "scan-2".into(),
        },
        at(30),
    );
    assert_eq!(words(&effects), ["CardInserted", "read", "publish"]);
    let scan = session.scan().unwrap();
    assert_eq!(scan.id, "scan-2");
    assert_eq!(scan.phase, Phase::Reading);
    assert_eq!(scan.failure, None);
}

#[test]
fn events_carry_the_scan_reader_and_timings_but_no_patient_data() {
    let mut session = Session::new(READER);
    session.handle(Input::ReaderAttached, at(0));
    session.handle(inserted(), at(100));
    let effects = session.handle(read_done(PinCounter::Tries(2)), at(350));
    let events: Vec<&Event> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Emit(event) => Some(event),
            _ => None,
        })
        .collect();
    assert_eq!(events.len(), 2);
    let read = events[0];
    assert_eq!(read.kind, EventKind::CardRead);
    assert_eq!(read.scan_id, SCAN);
    assert_eq!(read.reader, READER);
    assert_eq!(read.token, Some(TokenKind::Card));
    assert_eq!(read.signature_certificate_available, Some(true));
    assert_eq!(read.duration, Some(Duration::from_millis(250)));
    assert_eq!(read.time, at(350));
    assert_eq!(events[1].tries_left, Some(2));
}

#[test]
fn check_completed_carries_the_verdict_and_check_id_only() {
    let (_, session) = run(
        [
            awaiting(PinCounter::Tries(3)),
            vec![
                submit(false),
                challenge(),
                Input::SignDone {
                    scan_id: SCAN.into(),
                },
            ],
        ]
        .concat(),
        Input::CheckDone {
            scan_id: SCAN.into(),
            summary: CheckSummary {
                check_id: "c1".into(),
                verdict: "ELIGIBLE:1".into(),
            },
        },
    );
    let scan = session.scan().unwrap();
    assert_eq!(scan.end_time, Some(at(1000)));
    assert_eq!(scan.method, Some(Method::Pin));
    let mut again = session.clone();
    let effects = again.handle(
        Input::CheckDone {
            scan_id: SCAN.into(),
            summary: CheckSummary {
                check_id: "c2".into(),
                verdict: "ELIGIBLE:1".into(),
            },
        },
        at(2000),
    );
    assert!(effects.is_empty(), "a second answer is dropped");
}

#[test]
fn last_try_refused_by_the_card_layer_comes_back_as_a_refusal() {
    let (effects, session) = run(
        [
            awaiting(PinCounter::Tries(2)),
            vec![submit(false), challenge()],
        ]
        .concat(),
        sign_failed(SignFailure::LastTryNotConfirmed),
    );
    assert_eq!(
        effects,
        ["PinTriesLeft", "refuse(LastTryNotConfirmed)", "publish"]
    );
    assert_eq!(session.scan().unwrap().pin, Some(PinCounter::Tries(1)));
}
