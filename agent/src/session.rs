//! Layer 3 (STYLE.md §8): the scan session of one reader, as a pure state machine.
//!
//! [`Session::handle`] takes an [`Input`] (reader and card changes, the outcome of card and
//! proxy work, terminal commands) and the current time, moves the reader's [`Scan`] through
//! its [`Phase`]s and returns the [`Effect`]s the caller must carry out: start a card read,
//! fetch a challenge, sign, send the check, write an event, refuse a command, publish the
//! new state. One scan per card insertion, correlated by the random id the caller hands in
//! with [`Input::CardInserted`]; reads are retried at most [`READ_RETRIES`] times on
//! transient errors, a VERIFY never; a PIN is accepted only while the named scan waits for
//! it, never on a blocked card, and on the last try only when the terminal confirmed the
//! warning.
//!
//! This module does no IO, knows nothing of tokio and never sees a PIN, a certificate or a
//! result: it holds the scan's phase and what the events may carry (DOMAIN.md §10 rule 9).

use std::time::Duration;

use time::OffsetDateTime;

use crate::event::{Event, EventKind};
use crate::jpki::PinCounter;

mod input;
mod scan;
#[cfg(test)]
mod tests;

pub use self::input::{Effect, Input, ReadFailure, Refusal, SignFailure};
pub use self::scan::{CheckSummary, Failure, Method, Phase, Scan};

/// How many times a read is retried after a transient error (so at most 3 attempts).
pub const READ_RETRIES: u8 = 2;

/// The session of one reader.
#[derive(Debug, Clone)]
pub struct Session {
    reader: String,
    card_present: bool,
    scan: Option<Scan>,
}

impl Session {
    /// Returns the session of a reader with no card and no scan.
    pub fn new(reader: impl Into<String>) -> Self {
        Self {
            reader: reader.into(),
            card_present: false,
            scan: None,
        }
    }

    /// Returns the reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Returns whether a card is on the reader.
    pub fn card_present(&self) -> bool {
        self.card_present
    }

    /// Returns the current scan, or the last one.
    pub fn scan(&self) -> Option<&Scan> {
        self.scan.as_ref()
    }

    /// Applies `input` at `now` and returns what must be done, in order.
    pub fn handle(&mut self, input: Input, now: OffsetDateTime) -> Vec<Effect> {
        let mut out = Out {
            effects: Vec::new(),
            now,
            reader: self.reader.clone(),
        };
        self.apply(input, &mut out);
        let changed = out.effects.iter().any(|e| !matches!(e, Effect::Refuse(_)));
        if changed {
            out.effects.push(Effect::Publish);
        }
        out.effects
    }

    fn apply(&mut self, input: Input, out: &mut Out) {
        match input {
            Input::ReaderAttached => out.emit(EventKind::ReaderAttached, None),
            Input::ReaderRemoved => {
                if self.card_present {
                    self.apply(Input::CardRemoved, out);
                }
                out.emit(EventKind::ReaderRemoved, None);
            }
            Input::CardInserted { scan_id } => self.card_inserted(scan_id, out),
            Input::CardRemoved => self.card_removed(out),
            Input::Cancel { scan_id } => match self.current(&scan_id) {
                Err(refusal) => out.refuse(refusal),
                Ok(scan) => match scan.phase {
                    Phase::Reading | Phase::AwaitingIdentity => {
                        finish(scan, Phase::Cancelled, out.now);
                        out.scan_event(scan, EventKind::ScanCancelled);
                    }
                    Phase::Signing | Phase::Checking => out.refuse(Refusal::ScanBusy),
                    Phase::Done | Phase::Failed | Phase::Cancelled => {
                        out.refuse(Refusal::NoScanWaiting)
                    }
                },
            },
            Input::PinSubmitted {
                scan_id,
                confirm_last_try,
            } => match self.waiting(&scan_id) {
                Err(refusal) => out.refuse(refusal),
                Ok(scan) => match scan.pin {
                    Some(PinCounter::Blocked) => out.refuse(Refusal::PinBlocked),
                    Some(PinCounter::Tries(1)) if !confirm_last_try => {
                        out.refuse(Refusal::LastTryNotConfirmed)
                    }
                    _ => {
                        scan.phase = Phase::Signing;
                        scan.method = Some(Method::Pin);
                        scan.pin_rejected = false;
                        scan.confirm_last_try = confirm_last_try;
                        scan.step_started = out.now;
                        out.effects.push(Effect::FetchChallenge { scan_id });
                    }
                },
            },
            Input::VisualChosen { scan_id } => match self.waiting(&scan_id) {
                Err(refusal) => out.refuse(refusal),
                Ok(scan) => {
                    scan.phase = Phase::Checking;
                    scan.method = Some(Method::Visual);
                    scan.step_started = out.now;
                    out.scan_event(scan, EventKind::VisualChosen);
                    out.effects.push(Effect::FetchChallenge { scan_id });
                }
            },
            other => {
                if let Some(scan) = self.scan.as_mut() {
                    work_done(scan, other, out);
                }
            }
        }
    }

    fn card_inserted(&mut self, scan_id: String, out: &mut Out) {
        if self.card_present {
            // The same insertion reported twice: one scan per insertion.
            return;
        }
        self.card_present = true;
        let scan = Scan {
            id: scan_id.clone(),
            reader: self.reader.clone(),
            phase: Phase::Reading,
            token: None,
            signature_certificate_available: None,
            pin: None,
            pin_rejected: false,
            method: None,
            failure: None,
            check: None,
            start_time: out.now,
            end_time: None,
            read_attempts: 1,
            step_started: out.now,
            confirm_last_try: false,
        };
        out.scan_event(&scan, EventKind::CardInserted);
        out.effects.push(Effect::StartRead {
            reader: self.reader.clone(),
            scan_id,
        });
        self.scan = Some(scan);
    }

    fn card_removed(&mut self, out: &mut Out) {
        if !self.card_present {
            return;
        }
        self.card_present = false;
        let Some(scan) = self.scan.as_mut() else {
            out.emit(EventKind::CardRemoved, None);
            return;
        };
        out.scan_event(scan, EventKind::CardRemoved);
        // A check already sent needs the card no more; every earlier step does.
        if matches!(
            scan.phase,
            Phase::Reading | Phase::AwaitingIdentity | Phase::Signing
        ) {
            fail(scan, card_removed(), "", out);
        }
    }

    /// Returns the scan if it is the one named, else why the command is refused.
    fn current(&mut self, scan_id: &str) -> Result<&mut Scan, Refusal> {
        match self.scan.as_mut() {
            None => Err(Refusal::NoScanWaiting),
            Some(scan) if scan.id != scan_id => Err(Refusal::ScanMismatch),
            Some(scan) => Ok(scan),
        }
    }

    /// Returns the scan if it is the one named and waits for the patient's identity.
    fn waiting(&mut self, scan_id: &str) -> Result<&mut Scan, Refusal> {
        let scan = self.current(scan_id)?;
        match scan.phase {
            Phase::AwaitingIdentity => Ok(scan),
            Phase::Signing | Phase::Checking => Err(Refusal::ScanBusy),
            Phase::Reading | Phase::Done | Phase::Failed | Phase::Cancelled => {
                Err(Refusal::NoScanWaiting)
            }
        }
    }
}

/// Applies the outcome of card or proxy work to `scan`; outcomes for another scan or a
/// phase the scan has left (card pulled, cancelled) are dropped.
fn work_done(scan: &mut Scan, input: Input, out: &mut Out) {
    match input {
        Input::ReadDone {
            scan_id,
            token,
            signature_certificate_available,
            pin,
        } if scan_id == scan.id && scan.phase == Phase::Reading => {
            scan.token = Some(token);
            scan.signature_certificate_available = Some(signature_certificate_available);
            scan.pin = Some(pin);
            scan.phase = Phase::AwaitingIdentity;
            let mut read = out.event(scan, EventKind::CardRead);
            read.token = Some(token);
            read.signature_certificate_available = Some(signature_certificate_available);
            read.duration = Some(elapsed(scan.step_started, out.now));
            out.push(read);
            pin_event(scan, pin, out);
        }
        Input::ReadFailed { scan_id, failure }
            if scan_id == scan.id && scan.phase == Phase::Reading =>
        {
            read_failed(scan, failure, out);
        }
        Input::ChallengeReceived { scan_id } if scan_id == scan.id => match scan.phase {
            Phase::Signing => match scan.token {
                Some(token) => out.effects.push(Effect::StartSign {
                    reader: scan.reader.clone(),
                    scan_id,
                    token,
                    confirm_last_try: scan.confirm_last_try,
                }),
                None => fail(scan, Failure::new("CARD_READ_FAILED", ""), "", out),
            },
            Phase::Checking => {
                scan.step_started = out.now;
                out.effects.push(Effect::SendCheck {
                    scan_id,
                    method: Method::Visual,
                });
            }
            _ => {}
        },
        Input::ChallengeFailed { scan_id, failure }
            if scan_id == scan.id && matches!(scan.phase, Phase::Signing | Phase::Checking) =>
        {
            check_failed(scan, failure, out);
        }
        Input::SignDone { scan_id } if scan_id == scan.id && scan.phase == Phase::Signing => {
            let mut signed = out.event(scan, EventKind::CardSigned);
            signed.duration = Some(elapsed(scan.step_started, out.now));
            out.push(signed);
            scan.phase = Phase::Checking;
            scan.step_started = out.now;
            out.effects.push(Effect::SendCheck {
                scan_id,
                method: Method::Pin,
            });
        }
        Input::SignFailed { scan_id, failure }
            if scan_id == scan.id && scan.phase == Phase::Signing =>
        {
            sign_failed(scan, failure, out);
        }
        Input::CheckDone { scan_id, summary }
            if scan_id == scan.id && scan.phase == Phase::Checking =>
        {
            let mut done = out.event(scan, EventKind::CheckCompleted);
            done.verdict = summary.verdict.clone();
            done.check_id = summary.check_id.clone();
            done.duration = Some(elapsed(scan.step_started, out.now));
            out.push(done);
            scan.check = Some(summary);
            finish(scan, Phase::Done, out.now);
        }
        Input::CheckFailed { scan_id, failure }
            if scan_id == scan.id && scan.phase == Phase::Checking =>
        {
            check_failed(scan, failure, out);
        }
        _ => {}
    }
}

fn read_failed(scan: &mut Scan, failure: ReadFailure, out: &mut Out) {
    match failure {
        ReadFailure::CardRemoved => fail(scan, card_removed(), "", out),
        ReadFailure::NotMyNumber { status_word } => fail(
            scan,
            Failure::new(
                "NOT_MY_NUMBER_CARD",
                "this card is not a My Number card (no JPKI application) — check the card / マイナンバーカードではありません",
            ),
            &status_word,
            out,
        ),
        ReadFailure::Refused => {
            out.scan_event(scan, EventKind::CommandRefused);
            fail(scan, command_refused(), "", out);
        }
        ReadFailure::Transient { class } => {
            if scan.read_attempts <= READ_RETRIES {
                scan.read_attempts += 1;
                scan.step_started = out.now;
                out.effects.push(Effect::StartRead {
                    reader: scan.reader.clone(),
                    scan_id: scan.id.clone(),
                });
            } else {
                fail(scan, read_failure(&class), "", out);
            }
        }
        ReadFailure::Failed { class, status_word } => {
            fail(scan, read_failure(&class), &status_word, out)
        }
    }
}

fn sign_failed(scan: &mut Scan, failure: SignFailure, out: &mut Out) {
    match failure {
        SignFailure::Rejected { tries_left } => {
            scan.phase = Phase::AwaitingIdentity;
            scan.pin_rejected = true;
            let mut rejected = out.event(scan, EventKind::PinRejected);
            rejected.tries_left = Some(tries_left);
            out.push(rejected);
            if tries_left == 0 {
                scan.pin = Some(PinCounter::Blocked);
                out.scan_event(scan, EventKind::PinBlocked);
            } else {
                scan.pin = Some(PinCounter::Tries(tries_left));
            }
        }
        SignFailure::Blocked => {
            scan.phase = Phase::AwaitingIdentity;
            scan.pin = Some(PinCounter::Blocked);
            out.scan_event(scan, EventKind::PinBlocked);
            out.refuse(Refusal::PinBlocked);
        }
        SignFailure::LastTryNotConfirmed => {
            scan.phase = Phase::AwaitingIdentity;
            scan.pin = Some(PinCounter::Tries(1));
            let mut tries = out.event(scan, EventKind::PinTriesLeft);
            tries.tries_left = Some(1);
            out.push(tries);
            out.refuse(Refusal::LastTryNotConfirmed);
        }
        SignFailure::CardRemoved => fail(scan, card_removed(), "", out),
        SignFailure::Refused => {
            out.scan_event(scan, EventKind::CommandRefused);
            fail(scan, command_refused(), "", out);
        }
        SignFailure::Failed { class, status_word } => fail(
            scan,
            Failure::new(
                class,
                "the card could not sign — take the card off the reader and put it back / カードの署名に失敗しました。カードを置き直してください",
            ),
            &status_word,
            out,
        ),
    }
}

fn check_failed(scan: &mut Scan, failure: Failure, out: &mut Out) {
    let mut failed = out.event(scan, EventKind::CheckFailed);
    failed.error_class = failure.reason.clone();
    failed.duration = Some(elapsed(scan.step_started, out.now));
    out.push(failed);
    scan.failure = Some(failure);
    finish(scan, Phase::Failed, out.now);
}

fn pin_event(scan: &Scan, pin: PinCounter, out: &mut Out) {
    match pin {
        PinCounter::Tries(tries) => {
            let mut event = out.event(scan, EventKind::PinTriesLeft);
            event.tries_left = Some(tries);
            out.push(event);
        }
        PinCounter::Blocked => out.scan_event(scan, EventKind::PinBlocked),
        PinCounter::Unknown => {}
    }
}

/// Ends `scan` as failed before the check and writes `ScanFailed`.
fn fail(scan: &mut Scan, failure: Failure, status_word: &str, out: &mut Out) {
    let mut event = out.event(scan, EventKind::ScanFailed);
    event.error_class = failure.reason.clone();
    event.status_word = status_word.to_owned();
    event.token = scan.token;
    out.push(event);
    scan.failure = Some(failure);
    finish(scan, Phase::Failed, out.now);
}

fn finish(scan: &mut Scan, phase: Phase, now: OffsetDateTime) {
    scan.phase = phase;
    scan.end_time = Some(now);
}

fn card_removed() -> Failure {
    Failure::new(
        "CARD_REMOVED",
        "the card was taken off the reader — put it back to start again / カードが離れました。もう一度置いてください",
    )
}

fn command_refused() -> Failure {
    Failure::new(
        "COMMAND_REFUSED",
        "the agent refused a card command — report this to your administrator / 許可されていないカード操作を拒否しました",
    )
}

fn read_failure(class: &str) -> Failure {
    let reason = if class.is_empty() {
        "CARD_READ_FAILED"
    } else {
        class
    };
    Failure::new(
        reason,
        "the card could not be read — take it off the reader and put it back / カードを読み取れませんでした。置き直してください",
    )
}

fn elapsed(from: OffsetDateTime, to: OffsetDateTime) -> Duration {
    Duration::try_from(to - from).unwrap_or(Duration::ZERO)
}

/// Collects the effects of one input.
struct Out {
    effects: Vec<Effect>,
    now: OffsetDateTime,
    reader: String,
}

impl Out {
    fn push(&mut self, event: Event) {
        self.effects.push(Effect::Emit(event));
    }

    fn refuse(&mut self, refusal: Refusal) {
        self.effects.push(Effect::Refuse(refusal));
    }

    fn emit(&mut self, kind: EventKind, scan: Option<&Scan>) {
        let mut event = Event::new(kind, self.now).reader(self.reader.clone());
        if let Some(scan) = scan {
            event.scan_id = scan.id.clone();
        }
        self.push(event);
    }

    fn event(&self, scan: &Scan, kind: EventKind) -> Event {
        Event::new(kind, self.now)
            .reader(self.reader.clone())
            .scan(scan.id.clone())
    }

    fn scan_event(&mut self, scan: &Scan, kind: EventKind) {
        self.emit(kind, Some(scan));
    }
}
