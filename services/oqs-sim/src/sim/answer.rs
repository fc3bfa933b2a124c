//! Builds the 資格確認 result for a query (DOMAIN.md §3.2–3.3): header, echoed search info,
//! the person's qualifications with the 限度額 and consent elements the query allows, and
//! the body status values. It never decides who the person is (the caller does).

use super::{Consents, Header, SearchEcho};
use crate::population::Person;
use mynafleet_proto::eligibility::v1 as el;
use time::{OffsetDateTime, UtcOffset};

/// How a result was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A card query: ReferenceClassification 1, no search info.
    Card,
    /// A number query: ReferenceClassification 2, search info echoed.
    Numbers,
    /// 再照会: ReferenceClassification 2, no search info.
    Requery,
}

/// Everything a result depends on besides the person.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub(crate) kind: Kind,
    pub(crate) header: &'a Header,
    pub(crate) search: Option<&'a SearchEcho>,
    pub(crate) consents: Consents,
    pub(crate) now: OffsetDateTime,
    pub(crate) inject_consent_fields: bool,
    pub(crate) character_code: &'static str,
    pub(crate) reference_number: Option<String>,
    /// ProcessingResultMessage when no person answers.
    pub(crate) not_found_message: Option<&'static str>,
}

/// Formats `t` in JST as `YYYYMMDDHHmmss`.
pub(crate) fn jst_timestamp(t: OffsetDateTime) -> String {
    let jst = UtcOffset::from_hms(9, 0, 0).unwrap_or(UtcOffset::UTC);
    let t = t.to_offset(jst);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

fn consent(now: &str, later: &str) -> Option<el::ConsentInfo> {
    Some(el::ConsentInfo {
        cons_flg: Some("1".into()),
        cons_time: Some(now.to_owned()),
        available_time: Some(later.to_owned()),
    })
}

/// Returns the result for `person` (none: 該当資格なし).
pub(crate) fn build(person: Option<&Person>, cx: &Context<'_>) -> el::QualificationResult {
    let now = jst_timestamp(cx.now);
    let later = jst_timestamp(cx.now + time::Duration::hours(24));
    let header = el::ResultHeader {
        process_execution_time: Some(now.clone()),
        qualification_confirmation_date: some(&cx.header.date),
        medical_institution_code: some(&cx.header.institution),
        arbitrary_file_identifier: some(&cx.header.file_id),
        reference_classification: Some(if cx.kind == Kind::Card { "1" } else { "2" }.into()),
        segment_of_result: Some("1".into()),
        error_code: None,
        error_message: None,
        character_code_identifier: Some(cx.character_code.into()),
    };
    let search_info = match (cx.kind, cx.search) {
        (Kind::Numbers, Some(s)) => Some(el::SearchInfo {
            insurer_number: s.insurer_number.clone(),
            insured_card_symbol: s.symbol.clone(),
            insured_identification_number: s.number.clone(),
            insured_branch_number: s.branch.clone(),
            birthdate: s.birthdate.clone(),
            limit_application_certificate_related_cons_flg: s.limit_flag.clone(),
            arbitrary_identifier: s.arbitrary_identifier.clone(),
        }),
        _ => None,
    };
    let Some(p) = person else {
        return el::QualificationResult {
            header: Some(header),
            search_info,
            results: Vec::new(),
            processing_result_status: Some("1".into()),
            processing_result_code: None,
            processing_result_message: cx.not_found_message.map(str::to_owned),
            qualification_validity: Some("4".into()),
            prescription_issue_select: None,
        };
    };
    let c = cx.consents;
    let inject = cx.inject_consent_fields;
    let results = p
        .entries
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if c.limit {
                e.limit_application_certificate_related_cons_flg = Some("1".into());
                e.limit_application_certificate_related_cons_time = Some(now.clone());
                e.limit_application_certificate_related_info = p.limit_info.clone();
            } else {
                e.limit_application_certificate_related_cons_flg = Some("0".into());
            }
            if !e.specific_diseases_certificates.is_empty() {
                e.specific_diseases_certificate_related_cons_flg = Some("1".into());
                e.specific_diseases_certificate_related_cons_time = Some(now.clone());
            }
            let triple = |asked: bool| (asked || inject).then(|| consent(&now, &later)).flatten();
            e.specific_health_checkups_info = triple(c.checkups);
            e.pharmacists_info = triple(c.pharmacists);
            e.diagnosis_info = triple(c.diagnosis);
            e.operation_info = triple(c.operation);
            e.reference_number = cx.reference_number.clone();
            e
        })
        .collect();
    el::QualificationResult {
        header: Some(header),
        search_info,
        results,
        processing_result_status: Some("1".into()),
        processing_result_code: None,
        processing_result_message: p.notice.map(str::to_owned),
        qualification_validity: Some(p.validity.into()),
        prescription_issue_select: (p.validity != "4").then(|| p.prescription.into()),
    }
}
