//! A scan and what it is made of: its [`Phase`], the identity [`Method`], a [`Failure`] and
//! the [`CheckSummary`] events may carry. Plain data; the rules live in the session.

use time::OffsetDateTime;

use crate::jpki::{PinCounter, TokenKind};

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
    pub(super) read_attempts: u8,
    pub(super) step_started: OffsetDateTime,
    pub(super) confirm_last_try: bool,
}
