//! The span of one eligibility check (`eligibility.check`, a child of the RPC's server span)
//! and the attributes it ends with: kind, device, account, clinic and 機関コード, upstream,
//! identity method, outcome and reason, verdict and 資格有効性 code. All of them are names
//! and codes the audit record also carries in clear; the patient, the 照会番号, the card's
//! certificate and the result's contents never go on a span.

use crate::audit::{CheckAudit, CheckKind, Method, Outcome};
use crate::check::Asker;
use tracing::Span;
use tracing::field::Empty;

/// Returns the span of a `kind` check by `asker`.
pub(super) fn check_span(kind: CheckKind, asker: &Asker) -> Span {
    tracing::info_span!(
        "eligibility.check",
        check.kind = kind.as_str(),
        device = asker.device.as_str(),
        account = asker.account.as_str(),
        clinic = Empty,
        institution_code = Empty,
        upstream = Empty,
        method = Empty,
        outcome = Empty,
        reason = Empty,
        verdict = Empty,
        validity = Empty,
    )
}

/// Records the 機関コード whose upstream answers the check on the current check span.
pub(super) fn institution(code: &str) {
    Span::current().record("institution_code", code);
}

/// Records how the check ended, as its audit record says, on the current check span.
pub(super) fn ended(audit: &CheckAudit) {
    let span = Span::current();
    span.record("clinic", audit.clinic.as_str());
    span.record("upstream", audit.upstream.as_str());
    if let Some(method) = audit.method {
        span.record(
            "method",
            match method {
                Method::Pin => "pin",
                Method::Visual => "visual",
            },
        );
    }
    span.record(
        "outcome",
        match audit.outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        },
    );
    if !audit.reason.is_empty() {
        span.record("reason", audit.reason.as_str());
    }
    if !audit.verdict.is_empty() {
        span.record("verdict", audit.verdict.as_str());
    }
    if !audit.validity.is_empty() {
        span.record("validity", audit.validity.as_str());
    }
}
