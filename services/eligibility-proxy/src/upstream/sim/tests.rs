use super::*;
use mynafleet_kit::status::with_reason;

fn header() -> QueryHeader {
    QueryHeader {
        institution_code: "1310000019".to_owned(),
        confirmation_date: "20260401".to_owned(),
        file_identifier: "0194f3a0-card-1".to_owned(),
    }
}

fn result(institution: &str, file: &str) -> pb::QualificationResult {
    pb::QualificationResult {
        header: Some(pb::ResultHeader {
            medical_institution_code: Some(institution.to_owned()),
            arbitrary_file_identifier: Some(file.to_owned()),
            ..Default::default()
        }),
        processing_result_status: Some("1".to_owned()),
        ..Default::default()
    }
}

#[test]
fn number_queries_carry_every_field_and_the_consent_flag() {
    let q = NumberQuery {
        header: header(),
        insurer_number: "  138057".to_owned(),
        symbol: "１２３".to_owned(),
        number: "４５６".to_owned(),
        branch: "01".to_owned(),
        birthdate: "19800101".to_owned(),
        limit_consent: true,
    };
    let r = numbers_request(&q);
    assert_eq!(r.medical_institution_code, "1310000019");
    assert_eq!(r.qualification_confirmation_date, "20260401");
    assert_eq!(r.insurer_number, "  138057");
    assert_eq!(r.insured_card_symbol, "１２３");
    assert_eq!(r.insured_identification_number, "４５６");
    assert_eq!(r.insured_branch_number, "01");
    assert_eq!(r.birthdate, "19800101");
    assert_eq!(r.limit_application_certificate_related_cons_flg, "1");
    assert_eq!(r.arbitrary_file_identifier, "0194f3a0-card-1");
    let r = numbers_request(&NumberQuery {
        limit_consent: false,
        ..q
    });
    assert_eq!(r.limit_application_certificate_related_cons_flg, "0");
}

#[test]
fn card_and_requery_requests_carry_the_header() {
    let card = card_request(&CardQuery {
        header: header(),
        certificate_der: vec![0x30, 0x82],
        consents: pb::ConsentAnswers {
            limit_application_certificate: true,
            ..Default::default()
        },
    });
    assert_eq!(card.medical_institution_code, "1310000019");
    assert_eq!(card.auth_certificate, vec![0x30, 0x82]);
    assert_eq!(card.arbitrary_file_identifier, "0194f3a0-card-1");
    assert!(
        card.consents
            .is_some_and(|c| c.limit_application_certificate)
    );
    let requery = requery_request(&RequeryQuery {
        header: header(),
        reference_number: "A-0001".to_owned(),
    });
    assert_eq!(requery.reference_number, "A-0001");
    assert_eq!(requery.qualification_confirmation_date, "20260401");
}

#[test]
fn an_answer_must_echo_the_institution_and_the_request() {
    let ok = answer(&header(), Some(result("1310000019", "0194f3a0-card-1"))).unwrap();
    assert_eq!(ok.result.processing_result_status.as_deref(), Some("1"));
    for (institution, file) in [("1310000027", "0194f3a0-card-1"), ("1310000019", "other")] {
        assert!(matches!(
            answer(&header(), Some(result(institution, file))),
            Err(UpstreamError::Invalid(_))
        ));
    }
    assert!(matches!(
        answer(&header(), Some(pb::QualificationResult::default())),
        Err(UpstreamError::Invalid(_))
    ));
    assert!(matches!(
        answer(&header(), None),
        Err(UpstreamError::Invalid(_))
    ));
}

#[test]
fn outages_are_unavailable_and_everything_else_invalid() {
    let unavailable = [
        with_reason(
            Code::Unavailable,
            "mynafleet.oqs.v1",
            "SIMULATED_OUTAGE",
            "outage",
        ),
        Status::deadline_exceeded("deadline"),
        Status::from_error(Box::new(std::io::Error::other("connection reset"))),
    ];
    for s in unavailable {
        assert!(from_status(s.clone()).is_unavailable(), "{s:?}");
    }
    assert_eq!(
        from_status(with_reason(
            Code::NotFound,
            "mynafleet.oqs.v1",
            "CERTIFICATE_UNKNOWN",
            "no such person"
        )),
        UpstreamError::Invalid("the upstream knows no person for this certificate".to_owned())
    );
    for s in [
        Status::not_found("no such thing"),
        Status::invalid_argument("bad date"),
        Status::unknown("sent by the simulator"),
        Status::internal("boom"),
    ] {
        assert!(
            matches!(from_status(s.clone()), UpstreamError::Invalid(_)),
            "{s:?}"
        );
    }
}
