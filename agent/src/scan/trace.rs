//! The spans of a card check: one root `card_check` span per scan, from the card's insertion
//! to the scan's end, and a child span for each piece of work the scan starts (`card_read`,
//! `begin_card_check`, `card_sign`, `complete_card_check`); the proxy calls carry the
//! child's context, so the proxy's spans join the scan's trace.
//!
//! Attributes are the device, the reader's name, the token type, the identity method, the
//! outcome, the verdict with its 資格有効性 code and a failure's reason. Never the PIN,
//! card contents, certificates, challenge or signature bytes, or anything about the patient.

use tracing::Span;
use tracing::field::Empty;

use crate::jpki::TokenKind;
use crate::session::{Method, Phase, Scan};

/// Work a scan starts, each traced as a child of its `card_check` span.
#[derive(Debug, Clone, Copy)]
pub(super) enum Step {
    Read,
    Challenge,
    Sign,
    Check,
}

/// Returns the root span of a new scan on `reader` by `device`.
pub(super) fn card_check(reader: &str, device: &str) -> Span {
    tracing::info_span!(
        parent: None,
        "card_check",
        device = device,
        reader = reader,
        token = Empty,
        method = Empty,
        outcome = Empty,
        verdict = Empty,
        failure_reason = Empty,
    )
}

/// Returns the span of `step` under `parent`, or a disabled span when the scan has none.
pub(super) fn step(parent: Option<&Span>, step: Step) -> Span {
    let Some(parent) = parent else {
        return Span::none();
    };
    match step {
        Step::Read => tracing::info_span!(parent: parent, "card_read"),
        Step::Challenge => {
            tracing::info_span!(parent: parent, "begin_card_check", otel.kind = "client")
        }
        Step::Sign => tracing::info_span!(parent: parent, "card_sign"),
        Step::Check => {
            tracing::info_span!(parent: parent, "complete_card_check", otel.kind = "client")
        }
    }
}

/// Records how `scan` ended on its span (the span ends when the caller drops it).
pub(super) fn finish(span: &Span, scan: &Scan) {
    if let Some(token) = scan.token {
        span.record("token", token_name(token));
    }
    if let Some(method) = scan.method {
        span.record(
            "method",
            match method {
                Method::Pin => "pin",
                Method::Visual => "visual",
            },
        );
    }
    span.record("outcome", outcome(scan.phase));
    if let Some(check) = &scan.check {
        span.record("verdict", check.verdict.as_str());
    }
    if let Some(failure) = &scan.failure {
        span.record("failure_reason", failure.reason.as_str());
    }
}

fn outcome(phase: Phase) -> &'static str {
    match phase {
        Phase::Done => "done",
        Phase::Failed => "failed",
        Phase::Cancelled => "cancelled",
        Phase::Reading | Phase::AwaitingIdentity | Phase::Signing | Phase::Checking => "abandoned",
    }
}

fn token_name(token: TokenKind) -> &'static str {
    match token {
        TokenKind::Card => "card",
        TokenKind::JukiCard => "juki_card",
        TokenKind::Android => "android",
        TokenKind::Iphone => "iphone",
        TokenKind::Other => "other",
    }
}
