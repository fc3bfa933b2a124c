//! The proxy's reading of OQS results (DOMAIN.md §3): code tables as enums with an
//! `Unknown` arm holding the raw string ([`codes`]), the one eligibility predicate
//! ([`read`]), and the XML of the file interface and of the hand-off ([`xml`]). It never
//! changes a value of the result: the reading sits beside it.

pub(crate) mod codes;
pub(crate) mod xml;

use codes::{
    InsuredCardClassification, ProcessingResultStatus, QualificationValidity, SegmentOfResult,
};
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

/// Reads `result` with the one eligibility predicate (DOMAIN.md §3.5, §10.14).
///
/// Eligible only if SegmentOfResult `1`, ProcessingResultStatus `1`, QualificationValidity
/// `1` (or `6` with InsuredCardClassification `A1`) and exactly one result. Any other
/// SegmentOfResult or ProcessingResultStatus is an upstream error; several results,
/// validity `3` or `5` need staff action (a list is never resolved by taking the first);
/// `2` and `4` are not eligible.
pub(crate) fn read(result: &pb::QualificationResult) -> Reading {
    let header = result.header.as_ref();
    let validity_code = result
        .qualification_validity
        .as_deref()
        .map(QualificationValidity::parse);
    let validity = match &validity_code {
        None => pb::QualificationValidity::Unspecified,
        Some(QualificationValidity::Valid) => pb::QualificationValidity::Valid,
        Some(QualificationValidity::Invalid) => pb::QualificationValidity::Invalid,
        Some(QualificationValidity::InvalidNewerExists) => {
            pb::QualificationValidity::InvalidNewerExists
        }
        Some(QualificationValidity::NotFound) => pb::QualificationValidity::NotFound,
        Some(QualificationValidity::Multiple) => pb::QualificationValidity::Multiple,
        Some(QualificationValidity::ValidUnregistered) => {
            pb::QualificationValidity::ValidUnregistered
        }
        Some(QualificationValidity::Unknown(_)) => pb::QualificationValidity::Other,
    };
    let message = [
        result.processing_result_message.as_deref(),
        header.and_then(|h| h.error_message.as_deref()),
    ]
    .into_iter()
    .flatten()
    .find(|m| !m.is_empty())
    .unwrap_or_default()
    .to_owned();
    let verdict = verdict(result, validity_code.as_ref());
    Reading {
        verdict,
        validity,
        needs_staff_action: verdict == pb::Verdict::NeedsStaffAction,
        message,
    }
}

fn verdict(
    result: &pb::QualificationResult,
    validity: Option<&QualificationValidity>,
) -> pb::Verdict {
    let segment = result
        .header
        .as_ref()
        .and_then(|h| h.segment_of_result.as_deref())
        .map(SegmentOfResult::parse);
    let status = result
        .processing_result_status
        .as_deref()
        .map(ProcessingResultStatus::parse);
    if segment != Some(SegmentOfResult::Normal) || status != Some(ProcessingResultStatus::Normal) {
        return pb::Verdict::UpstreamError;
    }
    if result.results.len() > 1 {
        return pb::Verdict::NeedsStaffAction;
    }
    let single = result.results.first();
    match validity {
        Some(QualificationValidity::Valid) => match single {
            Some(_) => pb::Verdict::Eligible,
            // 有効 without the qualification: an answer the proxy cannot show.
            None => pb::Verdict::UpstreamError,
        },
        Some(QualificationValidity::ValidUnregistered) => match single {
            Some(q)
                if q.insured_card_classification
                    .as_deref()
                    .map(InsuredCardClassification::parse)
                    == Some(InsuredCardClassification::MedicalAssistance) =>
            {
                pb::Verdict::Eligible
            }
            // `6` belongs to 医療扶助 only: anything else is for staff to look at.
            Some(_) => pb::Verdict::NeedsStaffAction,
            None => pb::Verdict::UpstreamError,
        },
        Some(QualificationValidity::Invalid | QualificationValidity::NotFound) => {
            pb::Verdict::NotEligible
        }
        Some(
            QualificationValidity::InvalidNewerExists
            | QualificationValidity::Multiple
            | QualificationValidity::Unknown(_),
        ) => pb::Verdict::NeedsStaffAction,
        // A normal end without 資格有効性 says nothing about eligibility.
        None => pb::Verdict::UpstreamError,
    }
}

#[cfg(test)]
mod tests;
