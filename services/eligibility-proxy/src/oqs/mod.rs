//! The proxy's reading of OQS results (DOMAIN.md §3): code tables as enums with an
//! `Unknown` arm holding the raw string, the one eligibility predicate, and the XML of the
//! file interface ([`xml`]) and of the hand-off.

pub(crate) mod xml;

use mynafleet_proto::eligibility::v1 as pb;

/// The proxy's reading of one result (DOMAIN.md §3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reading {
    /// Eligible, not eligible, staff action, upstream error.
    pub(crate) verdict: pb::Verdict,
    /// 資格有効性 as an enum (`Other` for values this version does not know).
    pub(crate) validity: pb::QualificationValidity,
    /// 新しい資格あり, 複数該当 or several results.
    pub(crate) needs_staff_action: bool,
    /// ProcessingResultMessage (or the header's ErrorMessage when there is none); empty if
    /// neither was sent.
    pub(crate) message: String,
}

/// Reads `result` with the one eligibility predicate.
pub(crate) fn read(_result: &pb::QualificationResult) -> Reading {
    Reading {
        verdict: pb::Verdict::UpstreamError,
        validity: pb::QualificationValidity::Unspecified,
        needs_staff_action: false,
        message: String::new(),
    }
}
