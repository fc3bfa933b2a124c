use super::*;
use crate::config::{Faults, Outage};
use crate::jpki::LeafRequest;
use crate::testing;
use mynafleet_kit::clock::Clock;
use mynafleet_kit::status::reason_of;
use tonic::Code;

const CLINIC: &str = "1310000017";

fn start() -> OffsetDateTime {
    time::macros::datetime!(2026-04-01 00:00 UTC)
}

use time::OffsetDateTime;

fn simulator(clock: Clock, faults: &Faults) -> Simulator {
    Simulator {
        sim: Arc::new(testing::sim(clock, faults)),
    }
}

fn card_of(s: &Simulator, index: u32, ca: &crate::jpki::TestCa) -> Vec<u8> {
    let cn = s.sim.person(index).unwrap().certificate_subject.clone();
    ca.issue(&LeafRequest {
        subject_cn: &cn,
        key_pkcs8: Some(testing::shared_key()),
        ..Default::default()
    })
    .unwrap()
    .cert_der
}

fn numbers_of(p: &pb::Person) -> pb::QueryByNumbersRequest {
    pb::QueryByNumbersRequest {
        medical_institution_code: CLINIC.into(),
        qualification_confirmation_date: "20260401".into(),
        insurer_number: p.insurer_number.clone(),
        insured_card_symbol: p.insured_card_symbol.clone(),
        insured_identification_number: p.insured_identification_number.clone(),
        insured_branch_number: p.insured_branch_number.clone(),
        birthdate: p.birthdate.clone(),
        limit_application_certificate_related_cons_flg: "0".into(),
        arbitrary_file_identifier: "MF-1".into(),
    }
}

async fn person(s: &Simulator, index: u32) -> pb::Person {
    s.get_person(Request::new(pb::GetPersonRequest { index }))
        .await
        .unwrap()
        .into_inner()
        .person
        .unwrap()
}

#[tokio::test]
async fn a_card_query_finds_the_person_by_certificate_with_consents() {
    let s = simulator(Clock::manual(start()), &Faults::default());
    let cert = card_of(&s, 5, &testing::ca());
    let result = s
        .query_by_card(Request::new(pb::QueryByCardRequest {
            medical_institution_code: CLINIC.into(),
            qualification_confirmation_date: "20260401".into(),
            auth_certificate: cert,
            consents: Some(el::ConsentAnswers {
                limit_application_certificate: true,
                pharmacists: true,
                ..Default::default()
            }),
            arbitrary_file_identifier: "card-1".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    let h = result.header.unwrap();
    assert_eq!(h.reference_classification.as_deref(), Some("1"));
    assert_eq!(h.process_execution_time.as_deref(), Some("20260401090000"));
    assert_eq!(h.medical_institution_code.as_deref(), Some(CLINIC));
    assert_eq!(h.arbitrary_file_identifier.as_deref(), Some("card-1"));
    assert_eq!(h.segment_of_result.as_deref(), Some("1"));
    assert!(result.search_info.is_none());
    assert_eq!(result.qualification_validity.as_deref(), Some("1"));
    assert_eq!(result.processing_result_status.as_deref(), Some("1"));
    let q = &result.results[0];
    assert_eq!(
        q.limit_application_certificate_related_cons_flg.as_deref(),
        Some("1")
    );
    assert!(q.limit_application_certificate_related_info.is_some());
    let p = q.pharmacists_info.clone().unwrap();
    assert_eq!(p.cons_flg.as_deref(), Some("1"));
    assert_eq!(p.cons_time.as_deref(), Some("20260401090000"));
    assert_eq!(p.available_time.as_deref(), Some("20260402090000"));
    assert!(q.diagnosis_info.is_none() && q.specific_health_checkups_info.is_none());
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_unknown() {
    let s = simulator(Clock::system(), &Faults::default());
    let other = tempfile::tempdir().unwrap();
    let stranger = crate::jpki::load_or_create(&other.path().join("ca")).unwrap();
    let cert = card_of(&s, 0, &stranger);
    let err = s
        .query_by_card(Request::new(pb::QueryByCardRequest {
            auth_certificate: cert,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(reason_of(&err).as_deref(), Some("CERTIFICATE_UNKNOWN"));
}

#[tokio::test]
async fn number_queries_round_trip_full_width_values_and_fold_typed_ones() {
    let s = simulator(Clock::system(), &Faults::default());
    let p = person(&s, 1).await;
    assert!(p.insurer_number.starts_with("  "));
    let req = numbers_of(&p);
    let r = s
        .query_by_numbers(Request::new(req.clone()))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(
        r.header.unwrap().reference_classification.as_deref(),
        Some("2")
    );
    let echo = r.search_info.unwrap();
    assert_eq!(
        echo.insured_card_symbol.as_deref(),
        Some(p.insured_card_symbol.as_str())
    );
    assert_eq!(
        echo.insurer_number.as_deref(),
        Some(p.insurer_number.as_str())
    );
    assert_eq!(r.qualification_validity.as_deref(), Some("1"));
    let q = &r.results[0];
    assert_eq!(
        q.insured_card_symbol.as_deref(),
        Some(p.insured_card_symbol.as_str())
    );
    assert_eq!(
        q.insured_identification_number.as_deref(),
        Some(p.insured_identification_number.as_str())
    );
    assert_eq!(
        q.limit_application_certificate_related_cons_flg.as_deref(),
        Some("0")
    );

    // Typed half-width, without the padding: same person, echoed as typed.
    let mut typed = req.clone();
    typed.insurer_number = p.insurer_number.trim().to_owned();
    typed.insured_card_symbol = crate::population::fold(&p.insured_card_symbol);
    typed.insured_identification_number = crate::population::fold(&p.insured_identification_number);
    let r = s
        .query_by_numbers(Request::new(typed.clone()))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(r.qualification_validity.as_deref(), Some("1"));
    assert_eq!(
        r.search_info.unwrap().insured_card_symbol,
        Some(typed.insured_card_symbol)
    );

    // Wrong birthdate: 該当資格なし.
    let mut wrong = req;
    wrong.birthdate = "19000101".into();
    let r = s
        .query_by_numbers(Request::new(wrong))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert_eq!(r.qualification_validity.as_deref(), Some("4"));
    assert!(r.results.is_empty());
}

#[tokio::test]
async fn requery_finds_a_reference_number_only_where_it_was_registered() {
    let s = simulator(Clock::system(), &Faults::default());
    let p = person(&s, 0).await;
    let reg = s
        .register_reference_number(Request::new(pb::RegisterReferenceNumberRequest {
            medical_institution_code: CLINIC.into(),
            reference_number: "診察券-000123".into(),
            insurer_number: p.insurer_number.clone(),
            insured_card_symbol: p.insured_card_symbol.clone(),
            insured_identification_number: p.insured_identification_number.clone(),
            insured_branch_number: p.insured_branch_number.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reg.processing_result_status.as_deref(), Some("1"));
    let requery = |clinic: &str, reference: &str| pb::RequeryRequest {
        medical_institution_code: clinic.into(),
        qualification_confirmation_date: "20260401".into(),
        reference_number: reference.into(),
        arbitrary_file_identifier: String::new(),
    };
    let r = s
        .requery(Request::new(requery(CLINIC, "診察券-000123")))
        .await
        .unwrap();
    let r = r.into_inner().result.unwrap();
    assert_eq!(r.qualification_validity.as_deref(), Some("1"));
    assert_eq!(
        r.results[0].reference_number.as_deref(),
        Some("診察券-000123")
    );
    assert_eq!(
        r.results[0].insurer_number.as_deref(),
        Some(p.insurer_number.as_str())
    );

    let r = s
        .requery(Request::new(requery("2710000010", "診察券-000123")))
        .await
        .unwrap();
    let r = r.into_inner().result.unwrap();
    assert_eq!(r.qualification_validity.as_deref(), Some("4"));
    assert!(r.processing_result_message.is_some());

    let err = s
        .requery(Request::new(requery(CLINIC, &"9".repeat(51))))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn injected_consent_fields_come_with_every_result() {
    let s = simulator(Clock::system(), &Faults::default());
    s.configure_faults(Request::new(pb::ConfigureFaultsRequest {
        inject_consent_fields: true,
        ..Default::default()
    }))
    .await
    .unwrap();
    let p = person(&s, 0).await;
    let r = s
        .query_by_numbers(Request::new(numbers_of(&p)))
        .await
        .unwrap();
    let q = r.into_inner().result.unwrap().results.remove(0);
    for c in [
        &q.specific_health_checkups_info,
        &q.pharmacists_info,
        &q.diagnosis_info,
        &q.operation_info,
    ] {
        assert_eq!(c.as_ref().unwrap().cons_flg.as_deref(), Some("1"));
    }
}

#[tokio::test]
async fn outages_and_errors_answer_unavailable_with_their_reason() {
    let clock = Clock::manual(start());
    let faults = Faults {
        outages: vec![Outage {
            start: start() + time::Duration::hours(1),
            end: start() + time::Duration::hours(2),
        }],
        ..Default::default()
    };
    let s = simulator(clock.clone(), &faults);
    let p = person(&s, 0).await;
    let ask = || Request::new(numbers_of(&p));
    s.query_by_numbers(ask()).await.unwrap();

    clock.advance(std::time::Duration::from_secs(90 * 60));
    let err = s.query_by_numbers(ask()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(reason_of(&err).as_deref(), Some("SIMULATED_OUTAGE"));

    clock.advance(std::time::Duration::from_secs(60 * 60));
    s.query_by_numbers(ask()).await.unwrap();

    let knobs = |outage, error_rate| pb::ConfigureFaultsRequest {
        outage,
        error_rate,
        ..Default::default()
    };
    s.configure_faults(Request::new(knobs(true, 0.0)))
        .await
        .unwrap();
    let err = s.query_by_numbers(ask()).await.unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("SIMULATED_OUTAGE"));

    s.configure_faults(Request::new(knobs(false, 1.0)))
        .await
        .unwrap();
    let err = s.query_by_numbers(ask()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(reason_of(&err).as_deref(), Some("SIMULATED_ERROR"));
}

#[tokio::test]
async fn people_are_listed_by_validity_page_by_page() {
    let s = simulator(Clock::system(), &Faults::default());
    let list = |token: String| pb::ListPeopleRequest {
        qualification_validity: "2".into(),
        page_size: 3,
        page_token: token,
    };
    let first = s
        .list_people(Request::new(list(String::new())))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.people.len(), 3);
    assert_eq!(first.people[0].index, 2);
    assert!(first.people.iter().all(|p| p.qualification_validity == "2"));
    let second = s
        .list_people(Request::new(list(first.next_page_token)))
        .await
        .unwrap()
        .into_inner();
    assert!(second.people[0].index > first.people[2].index);

    let err = s
        .list_people(Request::new(list("garbage".into())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = s
        .get_person(Request::new(pb::GetPersonRequest { index: 10_000 }))
        .await
        .unwrap_err();
    assert_eq!(reason_of(&err).as_deref(), Some("PERSON_NOT_FOUND"));

    let info = s
        .get_simulator_info(Request::new(pb::GetSimulatorInfoRequest {}))
        .await
        .unwrap();
    assert_eq!(
        info.into_inner().test_ca_fingerprint,
        testing::ca().fingerprint()
    );
}
