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
use crate::jpki::{PinCounter, TokenKind};

#[cfg(test)]
mod tests;

/// How many times a read is retried after a transient error (so at most 3 attempts).
pub const READ_RETRIES: u8 = 2;

/// Where a scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the JPKI AP.
    Reading,
    /// Waiting for the PIN or for visual mode.
    AwaitingIdentity,
    /// Fetching the challenge, then verifying the PIN and signing on the card.
    Signing,
    /// Asking the proxy (after the challenge, in visual mode).
    Checking,
    /// The proxy answered.
    Done,
    /// The scan ended without an answer.
    Failed,
    /// The terminal ended the scan.
    Cancelled,
}

impl Phase {
    /// Returns whether the scan is over.
    pub fn is_finished(self) -> bool {
        matches!(self, Phase::Done | Phase::Failed | Phase::Cancelled)
    }
}

/// How the patient's identity is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The card's PIN and a signature over the challenge.
    Pin,
    /// 目視確認 by a staff member.
    Visual,
}

/// Why a scan failed: a machine-readable reason and what staff should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `CARD_REMOVED`, `NOT_MY_NUMBER_CARD`, a proxy reason ...
    pub reason: String,
    /// Plain words for staff.
    pub message: String,
}

impl Failure {
    /// Returns a failure with `reason` and `message`.
    pub fn new(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            message: message.into(),
        }
    }
}

/// What a check answered, as far as events may tell: never the result itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSummary {
    /// The proxy's check id.
    pub check_id: String,
    /// Verdict and 資格有効性 code, e.g. `ELIGIBLE:1`.
    pub verdict: String,
}

/// Why a read produced nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// The card left the reader.
    CardRemoved,
    /// SELECT of the JPKI AP did not answer `9000`.
    NotMyNumber {
        /// The SELECT's status word, 4 hex digits.
        status_word: String,
    },
    /// The allow-list refused a command (a bug: nothing reached the card).
    Refused,
    /// Worth another attempt (card reset, mute card, a garbled answer).
    Transient {
        /// Machine-readable class.
        class: String,
    },
    /// Not worth another attempt.
    Failed {
        /// Machine-readable class.
        class: String,
        /// The failing status word, if the card answered one.
        status_word: String,
    },
}

/// Why verifying and signing produced no signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignFailure {
    /// The card rejected the PIN.
    Rejected {
        /// Tries left after the attempt.
        tries_left: u8,
    },
    /// The counter says blocked; no PIN was sent.
    Blocked,
    /// One try left and no confirmation; nothing was sent.
    LastTryNotConfirmed,
    /// The card left the reader.
    CardRemoved,
    /// The allow-list refused a command.
    Refused,
    /// Anything else; never retried.
    Failed {
        /// Machine-readable class.
        class: String,
        /// The failing status word, if the card answered one.
        status_word: String,
    },
}

/// A terminal command the session refuses; nothing reached the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No scan waits for a PIN or a visual check.
    #[error("no scan waits for a pin or a visual check")]
    NoScanWaiting,
    /// The command names another scan than the current one.
    #[error("the command names another scan than the current one")]
    ScanMismatch,
    /// One try is left and the terminal did not confirm the warning.
    #[error("one pin try is left and the warning was not confirmed; nothing was sent to the card")]
    LastTryNotConfirmed,
    /// The card's PIN is blocked.
    #[error(
        "the card's pin is blocked (only a municipal office can unblock it); no verify was sent; use visual mode"
    )]
    PinBlocked,
    /// The scan is already signing or checking.
    #[error("the scan is already signing or checking")]
    ScanBusy,
}

/// What the session learns or is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The reader appeared.
    ReaderAttached,
    /// The reader went away.
    ReaderRemoved,
    /// A card was put on the reader; `scan_id` is a fresh random id for its scan.
    CardInserted {
        /// The new scan's id.
        scan_id: String,
    },
    /// The card left the reader.
    CardRemoved,
    /// The read transaction finished.
    ReadDone {
        /// The scan read for.
        scan_id: String,
        /// EF `0006`.
        token: TokenKind,
        /// EF `0008`.
        signature_certificate_available: bool,
        /// The PIN counter.
        pin: PinCounter,
    },
    /// The read transaction failed.
    ReadFailed {
        /// The scan read for.
        scan_id: String,
        /// Why.
        failure: ReadFailure,
    },
    /// The terminal submitted a PIN (held by the caller, never here).
    PinSubmitted {
        /// The scan the PIN is for.
        scan_id: String,
        /// Whether the patient saw the last-try warning.
        confirm_last_try: bool,
    },
    /// Staff chose visual mode.
    VisualChosen {
        /// The scan.
        scan_id: String,
    },
    /// The proxy issued a challenge.
    ChallengeReceived {
        /// The scan.
        scan_id: String,
    },
    /// The proxy issued no challenge.
    ChallengeFailed {
        /// The scan.
        scan_id: String,
        /// The proxy's reason.
        failure: Failure,
    },
    /// The card signed the challenge.
    SignDone {
        /// The scan.
        scan_id: String,
    },
    /// The card produced no signature.
    SignFailed {
        /// The scan.
        scan_id: String,
        /// Why.
        failure: SignFailure,
    },
    /// The proxy answered the check.
    CheckDone {
        /// The scan.
        scan_id: String,
        /// What events may say about the answer.
        summary: CheckSummary,
    },
    /// The check failed.
    CheckFailed {
        /// The scan.
        scan_id: String,
        /// The proxy's reason.
        failure: Failure,
    },
    /// The terminal ends the scan.
    Cancel {
        /// The scan.
        scan_id: String,
    },
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start a read transaction on the card in `reader`.
    StartRead {
        /// The reader.
        reader: String,
        /// The scan.
        scan_id: String,
    },
    /// Ask the proxy for a challenge.
    FetchChallenge {
        /// The scan.
        scan_id: String,
    },
    /// Verify the submitted PIN and sign the challenge (one transaction).
    StartSign {
        /// The reader.
        reader: String,
        /// The scan.
        scan_id: String,
        /// The token, which decides the order of VERIFY and the certificate read.
        token: TokenKind,
        /// Whether the terminal confirmed the last-try warning.
        confirm_last_try: bool,
    },
    /// Send the check to the proxy.
    SendCheck {
        /// The scan.
        scan_id: String,
        /// How the identity was confirmed.
        method: Method,
    },
    /// Write the event to the outbox.
    Emit(Event),
    /// Refuse the command (or the pending one of this scan).
    Refuse(Refusal),
    /// The visible state changed.
    Publish,
}

/// One scan: from a card insertion to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// Random per-scan UUID.
    pub id: String,
    /// The reader.
    pub reader: String,
    /// Where it is.
    pub phase: Phase,
    /// From EF `0006`, once read.
    pub token: Option<TokenKind>,
    /// From EF `0008`, once read.
    pub signature_certificate_available: Option<bool>,
    /// The PIN counter, once read; lowered by rejections.
    pub pin: Option<PinCounter>,
    /// The last PIN submitted was rejected by the card.
    pub pin_rejected: bool,
    /// How the identity is being (or was) confirmed.
    pub method: Option<Method>,
    /// Why it failed.
    pub failure: Option<Failure>,
    /// What the proxy answered.
    pub check: Option<CheckSummary>,
    /// When the card was inserted.
    pub start_time: OffsetDateTime,
    /// When it finished.
    pub end_time: Option<OffsetDateTime>,
    read_attempts: u8,
    step_started: OffsetDateTime,
    confirm_last_try: bool,
}

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
        let changed = out
            .effects
            .iter()
            .any(|e| !matches!(e, Effect::Refuse(_)));
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
