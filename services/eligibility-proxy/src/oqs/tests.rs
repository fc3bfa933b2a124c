use super::codes::{InsuredCardClassification, QualificationValidity, SegmentOfResult, Sex};
use super::read;
use mynafleet_proto::eligibility::v1 as pb;

fn result(
    segment: Option<&str>,
    status: Option<&str>,
    validity: Option<&str>,
    classifications: &[&str],
) -> pb::QualificationResult {
    pb::QualificationResult {
        header: Some(pb::ResultHeader {
            segment_of_result: segment.map(str::to_owned),
            ..Default::default()
        }),
        processing_result_status: status.map(str::to_owned),
        qualification_validity: validity.map(str::to_owned),
        results: classifications
            .iter()
            .map(|c| pb::Qualification {
                insured_card_classification: Some((*c).to_owned()),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// SegmentOfResult, ProcessingResultStatus, QualificationValidity, classifications, then the
/// expected verdict and validity.
type Case<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
    pb::Verdict,
    pb::QualificationValidity,
);

#[test]
fn predicate_follows_the_domain_table() {
    use pb::QualificationValidity as V;
    use pb::Verdict::*;
    #[rustfmt::skip]
    let cases: &[Case<'_>] = &[
        (Some("1"), Some("1"), Some("1"), &["01"], Eligible, V::Valid),
        (Some("1"), Some("1"), Some("6"), &["A1"], Eligible, V::ValidUnregistered),
        (Some("1"), Some("1"), Some("6"), &["01"], NeedsStaffAction, V::ValidUnregistered),
        (Some("1"), Some("1"), Some("2"), &["01"], NotEligible, V::Invalid),
        (Some("1"), Some("1"), Some("4"), &[], NotEligible, V::NotFound),
        (Some("1"), Some("1"), Some("3"), &["01"], NeedsStaffAction, V::InvalidNewerExists),
        (Some("1"), Some("1"), Some("5"), &["01", "01"], NeedsStaffAction, V::Multiple),
        // Several results are never resolved by taking the first, even when 有効.
        (Some("1"), Some("1"), Some("1"), &["01", "01"], NeedsStaffAction, V::Valid),
        (Some("1"), Some("1"), Some("1"), &[], UpstreamError, V::Valid),
        (Some("1"), Some("1"), Some("7"), &["01"], NeedsStaffAction, V::Other),
        (Some("1"), Some("1"), None, &["01"], UpstreamError, V::Unspecified),
        (Some("9"), Some("1"), Some("1"), &["01"], UpstreamError, V::Valid),
        (Some("3"), Some("1"), Some("1"), &["01"], UpstreamError, V::Valid),
        (Some("2"), Some("1"), Some("1"), &["01"], UpstreamError, V::Valid),
        (None, Some("1"), Some("1"), &["01"], UpstreamError, V::Valid),
        (Some("1"), Some("2"), Some("1"), &["01"], UpstreamError, V::Valid),
        (Some("1"), None, Some("1"), &["01"], UpstreamError, V::Valid),
        // Values are never trimmed: " 1" is not "1".
        (Some(" 1"), Some("1"), Some("1"), &["01"], UpstreamError, V::Valid),
        (Some("1"), Some("1"), Some("1 "), &["01"], NeedsStaffAction, V::Other),
    ];
    for (i, (segment, status, validity, list, verdict, v)) in cases.iter().enumerate() {
        let reading = read(&result(*segment, *status, *validity, list));
        assert_eq!(reading.verdict, *verdict, "case {i}");
        assert_eq!(reading.validity, *v, "case {i}");
        assert_eq!(
            reading.needs_staff_action,
            *verdict == NeedsStaffAction,
            "case {i}"
        );
    }
}

#[test]
fn message_prefers_processing_result_message_then_error_message() {
    let mut r = result(Some("1"), Some("1"), Some("1"), &["01"]);
    r.processing_result_message = Some("有効期限まで3か月です".to_owned());
    assert_eq!(read(&r).message, "有効期限まで3か月です");
    assert_eq!(read(&r).verdict, pb::Verdict::Eligible);

    let mut r = result(Some("9"), None, None, &[]);
    if let Some(h) = r.header.as_mut() {
        h.error_code = Some("E001".to_owned());
        h.error_message = Some("システムエラー".to_owned());
    }
    assert_eq!(read(&r).message, "システムエラー");

    r.processing_result_message = Some(String::new());
    assert_eq!(read(&r).message, "システムエラー");

    let r = result(Some("1"), Some("1"), Some("1"), &["01"]);
    assert_eq!(read(&r).message, "");
}

#[test]
fn codes_parse_unknown_values_raw() {
    assert_eq!(SegmentOfResult::parse("9"), SegmentOfResult::Abnormal);
    assert_eq!(
        SegmentOfResult::parse("3"),
        SegmentOfResult::Unknown("3".to_owned())
    );
    assert_eq!(
        InsuredCardClassification::parse("05"),
        InsuredCardClassification::Unknown("05".to_owned())
    );
    assert_eq!(InsuredCardClassification::parse("05").display(), "05");
    assert_eq!(InsuredCardClassification::parse("A1").display(), "医療扶助");
    assert_eq!(
        QualificationValidity::parse("3").display(),
        "無効（新しい資格あり）"
    );
    assert_eq!(QualificationValidity::parse("").code(), "");
    assert_eq!(Sex::parse("2").label(), Some("女"));
    assert_eq!(Sex::parse("x").label(), None);
}
