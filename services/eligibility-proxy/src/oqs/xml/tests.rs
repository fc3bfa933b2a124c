use super::{XmlError, decode, parse_result, write_number_request, write_result};
use crate::config::XmlEncoding;
use crate::upstream::{NumberQuery, QueryHeader};
use mynafleet_proto::eligibility::v1 as pb;

const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<XmlMsg>
  <MessageHeader>
    <ProcessExecutionTime>20250401093015</ProcessExecutionTime>
    <CharacterCodeIdentifier>1</CharacterCodeIdentifier>
    <SegmentOfResult>1</SegmentOfResult>
    <QualificationConfirmationDate>20250401</QualificationConfirmationDate>
    <ReferenceClassification>2</ReferenceClassification>
    <ArbitraryFileIdentifier>MF20250401-000123</ArbitraryFileIdentifier>
    <MedicalInstitutionCode>9999999999</MedicalInstitutionCode>
    <Unknown>never leaves</Unknown>
  </MessageHeader>
  <MessageBody>
    <ResultList>
      <ResultOfQualificationConfirmation>
        <InsurerNumber>  999999</InsurerNumber>
        <InsuredCardClassification>01</InsuredCardClassification>
        <InsuredCardSymbol>見本１２</InsuredCardSymbol>
        <InsuredIdentificationNumber> ３４‐５ </InsuredIdentificationNumber>
        <InsuredBranchNumber>01</InsuredBranchNumber>
        <Name>見本　花子</Name>
        <NameKana>ﾐﾎﾝ ﾊﾅｺ</NameKana>
        <Address/>
        <PostNumber></PostNumber>
        <InsuredPartialContributionRatio>010</InsuredPartialContributionRatio>
        <LimitApplicationCertificateRelatedInfo>
          <LimitApplicationCertificateClassificationFla>A03</LimitApplicationCertificateClassificationFla>
        </LimitApplicationCertificateRelatedInfo>
        <DiagnosisInfoConsFlg>1</DiagnosisInfoConsFlg>
        <DiagnosisInfoConsTim>20250401093000</DiagnosisInfoConsTim>
        <PublicExpenseResultList>
          <MedicalTicketInfo><StatusOfInfecton>02</StatusOfInfecton></MedicalTicketInfo>
          <MedicalTicketInfo><TicketType>01</TicketType></MedicalTicketInfo>
        </PublicExpenseResultList>
        <MedicalHistory>never leaves</MedicalHistory>
      </ResultOfQualificationConfirmation>
    </ResultList>
    <ProcessingResultStatus>1</ProcessingResultStatus>
    <QualificationValidity>1</QualificationValidity>
  </MessageBody>
</XmlMsg>
"#;

#[test]
fn parses_by_name_keeping_values_exact() {
    let r = parse_result(SAMPLE.as_bytes()).unwrap();
    let h = r.header.as_ref().unwrap();
    assert_eq!(h.segment_of_result.as_deref(), Some("1"));
    assert_eq!(h.medical_institution_code.as_deref(), Some("9999999999"));
    assert_eq!(h.error_code, None);
    assert_eq!(r.processing_result_status.as_deref(), Some("1"));
    assert_eq!(r.results.len(), 1);
    let q = &r.results[0];
    assert_eq!(q.insurer_number.as_deref(), Some("  999999"));
    assert_eq!(q.insured_card_classification.as_deref(), Some("01"));
    assert_eq!(
        q.insured_identification_number.as_deref(),
        Some(" ３４‐５ ")
    );
    assert_eq!(q.name.as_deref(), Some("見本　花子"));
    assert_eq!(q.name_kana.as_deref(), Some("ﾐﾎﾝ ﾊﾅｺ"));
    assert_eq!(q.address.as_deref(), Some(""));
    assert_eq!(q.post_number.as_deref(), Some(""));
    assert_eq!(q.birthdate, None);
    assert_eq!(q.insured_partial_contribution_ratio.as_deref(), Some("010"));
    let limit = q
        .limit_application_certificate_related_info
        .as_ref()
        .unwrap();
    assert_eq!(
        limit
            .limit_application_certificate_classification_flag
            .as_deref(),
        Some("A03")
    );
    let diagnosis = q.diagnosis_info.as_ref().unwrap();
    assert_eq!(diagnosis.cons_flg.as_deref(), Some("1"));
    assert_eq!(diagnosis.cons_time.as_deref(), Some("20250401093000"));
    assert_eq!(q.pharmacists_info, None);
    assert_eq!(q.medical_tickets.len(), 2);
    assert_eq!(
        q.medical_tickets[0].status_of_infection.as_deref(),
        Some("02")
    );
    assert_eq!(q.medical_tickets[1].ticket_type.as_deref(), Some("01"));
}

#[test]
fn refuses_duplicates_dtds_and_other_roots() {
    let dup = SAMPLE.replace(
        "<SegmentOfResult>1</SegmentOfResult>",
        "<SegmentOfResult>1</SegmentOfResult><SegmentOfResult>9</SegmentOfResult>",
    );
    assert_eq!(
        parse_result(dup.as_bytes()),
        Err(XmlError::Duplicate(
            "MessageHeader/SegmentOfResult".to_owned()
        ))
    );
    // The misspelling and the right name are the same element.
    let alias = SAMPLE.replace(
        "</LimitApplicationCertificateClassificationFla>",
        "</LimitApplicationCertificateClassificationFla><LimitApplicationCertificateClassificationFlag>A01</LimitApplicationCertificateClassificationFlag>",
    );
    assert!(matches!(
        parse_result(alias.as_bytes()),
        Err(XmlError::Duplicate(_))
    ));
    let two_bodies = SAMPLE.replace("</XmlMsg>", "<MessageBody/></XmlMsg>");
    assert!(matches!(
        parse_result(two_bodies.as_bytes()),
        Err(XmlError::Duplicate(_))
    ));
    let dtd = r#"<?xml version="1.0"?><!DOCTYPE XmlMsg [<!ENTITY x "boom">]><XmlMsg>&x;</XmlMsg>"#;
    assert!(matches!(
        parse_result(dtd.as_bytes()),
        Err(XmlError::Syntax(_))
    ));
    assert_eq!(
        parse_result(b"<Other/>"),
        Err(XmlError::UnexpectedRoot("Other".to_owned()))
    );
    assert!(matches!(
        parse_result(b"<XmlMsg><MessageHeader>"),
        Err(XmlError::Syntax(_))
    ));
}

#[test]
fn decodes_by_bom_then_declaration() {
    let body = "<XmlMsg><MessageBody><ProcessingResultMessage>見本‐１</ProcessingResultMessage></MessageBody></XmlMsg>";
    let message =
        |bytes: &[u8]| parse_result(bytes).map(|r| r.processing_result_message.unwrap_or_default());
    // No declaration: UTF-8.
    assert_eq!(message(body.as_bytes()).unwrap(), "見本‐１");
    // UTF-8 BOM.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(body.as_bytes());
    assert_eq!(message(&bom).unwrap(), "見本‐１");
    // Shift_JIS by declaration, in every spelling, single or double quotes.
    for decl in [
        r#"<?xml version="1.0" encoding="Shift_JIS" standalone="yes"?>"#,
        r#"<?xml version='1.0' encoding='shift-jis'?>"#,
        r#"<?xml version="1.0" encoding = "Windows-31J"?>"#,
        r#"<?xml version="1.0" encoding="CP932"?>"#,
    ] {
        let text = format!("{decl}{body}");
        let (sjis, _, bad) = encoding_rs::SHIFT_JIS.encode(&text);
        assert!(!bad);
        assert_eq!(message(&sjis).unwrap(), "見本‐１", "{decl}");
    }
    // Shift_JIS bytes without a declaration are refused, never mojibake.
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(body);
    assert_eq!(
        message(&sjis),
        Err(XmlError::Undecodable { encoding: "UTF-8" })
    );
    // A declaration the proxy does not read.
    assert_eq!(
        decode(br#"<?xml version="1.0" encoding="EUC-JP"?><XmlMsg/>"#),
        Err(XmlError::UnsupportedEncoding("EUC-JP".to_owned()))
    );
}

fn rich() -> pb::QualificationResult {
    let s = |v: &str| Some(v.to_owned());
    pb::QualificationResult {
        header: Some(pb::ResultHeader {
            process_execution_time: s("20250401093015"),
            qualification_confirmation_date: s("20250401"),
            medical_institution_code: s("1310000019"),
            arbitrary_file_identifier: s("MF-1 <&> \"x\""),
            reference_classification: s("2"),
            segment_of_result: s("1"),
            error_code: None,
            error_message: s(""),
            character_code_identifier: s("0"),
        }),
        search_info: Some(pb::SearchInfo {
            insurer_number: s("  123456"),
            insured_card_symbol: s("医国３４０"),
            insured_identification_number: s("１２‐３４"),
            birthdate: s("19800102"),
            limit_application_certificate_related_cons_flg: s("1"),
            ..Default::default()
        }),
        results: vec![pb::Qualification {
            insured_card_classification: s("01"),
            insurer_number: s("  123456"),
            insured_card_symbol: s("医国３４０"),
            insured_identification_number: s("１２‐３４"),
            insured_branch_number: s("01"),
            personal_family_classification: s("2"),
            insured_name: s("見本　一郎"),
            name: s("見本　花子"),
            name_kana: s("ﾐﾎﾝ ﾊﾅｺ"),
            sex1: s("2"),
            birthdate: s("19800102"),
            address: s(""),
            post_number: s("999-9999"),
            insured_partial_contribution_ratio: s("010"),
            insurer_name: s("  見本国民健康保険 "),
            elderly_recipient_certificate_info: Some(pb::ElderlyRecipientCertificateInfo {
                elderly_recipient_contribution_ratio: s("020"),
                ..Default::default()
            }),
            limit_application_certificate_related_cons_flg: s("1"),
            limit_application_certificate_related_info: Some(
                pb::LimitApplicationCertificateRelatedInfo {
                    limit_application_certificate_classification: s("01"),
                    limit_application_certificate_classification_flag: s("A03"),
                    ..Default::default()
                },
            ),
            specific_diseases_certificates: vec![
                pb::SpecificDiseasesCertificateInfo {
                    specific_diseases_disease_category: s("1"),
                    specific_diseases_self_pay: s("10000"),
                    ..Default::default()
                },
                pb::SpecificDiseasesCertificateInfo::default(),
            ],
            medical_tickets: vec![pb::MedicalTicketInfo {
                status_of_infection: s("02"),
                remarks1: s("a\r\nb\tc"),
                ..Default::default()
            }],
            reference_number: s("000123"),
            pharmacists_info: Some(pb::ConsentInfo {
                cons_flg: s("1"),
                cons_time: s("20250401093000"),
                available_time: s("20250402093000"),
            }),
            ..Default::default()
        }],
        processing_result_status: s("1"),
        processing_result_code: None,
        processing_result_message: s("有効期限が近づいています"),
        qualification_validity: s("1"),
        prescription_issue_select: s("2"),
    }
}

#[test]
fn results_round_trip_in_both_encodings() {
    let original = rich();
    for encoding in [XmlEncoding::Utf8, XmlEncoding::ShiftJis] {
        let bytes = write_result(&original, encoding).unwrap();
        let back = parse_result(&bytes).unwrap();
        assert_eq!(back, original, "{encoding:?}");
    }
    let sjis = write_result(&original, XmlEncoding::ShiftJis).unwrap();
    assert!(sjis.starts_with(br#"<?xml version="1.0" encoding="Shift_JIS" standalone="no"?>"#));
    // U+2010 is Shift_JIS 815D, written as itself, never as a character reference.
    assert!(sjis.windows(2).any(|w| w == [0x81, 0x5D]));
    assert!(!String::from_utf8_lossy(&sjis).contains("&#8208;"));
    let utf8 = write_result(&original, XmlEncoding::Utf8).unwrap();
    let text = String::from_utf8(utf8).unwrap();
    assert!(text.starts_with(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#));
    assert!(text.contains("<Address></Address>"));
    assert!(!text.contains("ErrorCode"));
    assert!(text.contains("<StatusOfInfecton>02</StatusOfInfecton>"));
}

#[test]
fn shift_jis_refuses_what_cp932_cannot_encode() {
    let mut r = rich();
    r.results[0].name = Some("見本　𠮷子".to_owned());
    assert_eq!(
        write_result(&r, XmlEncoding::ShiftJis),
        Err(XmlError::Unencodable {
            element: "Name".to_owned(),
        })
    );
    // Windows-31J writes U+00A5 as 0x5C, which reads back as a backslash: refused too.
    let mut yen = rich();
    yen.results[0].insurer_name = Some("¥".to_owned());
    assert_eq!(
        write_result(&yen, XmlEncoding::ShiftJis),
        Err(XmlError::Unencodable {
            element: "InsurerName".to_owned(),
        })
    );
    // UTF-8 carries it.
    let bytes = write_result(&r, XmlEncoding::Utf8).unwrap();
    assert_eq!(parse_result(&bytes).unwrap(), r);
    // Characters XML cannot carry are refused in either encoding.
    r.results[0].name = Some("a\u{1}b".to_owned());
    assert!(matches!(
        write_result(&r, XmlEncoding::Utf8),
        Err(XmlError::InvalidCharacter { ref element, code_point: 1 }) if element == "Name"
    ));
}

fn query(symbol: &str, branch: &str) -> NumberQuery {
    NumberQuery {
        header: QueryHeader {
            institution_code: "1310000019".to_owned(),
            confirmation_date: "20250401".to_owned(),
            file_identifier: "MF-0001".to_owned(),
        },
        insurer_number: "  123456".to_owned(),
        symbol: symbol.to_owned(),
        number: "１２‐３４".to_owned(),
        branch: branch.to_owned(),
        birthdate: "19800102".to_owned(),
        limit_consent: true,
    }
}

#[test]
fn number_request_is_written_in_order() {
    let text = String::from_utf8(
        write_number_request(&query("医国３４０", "01"), XmlEncoding::Utf8).unwrap(),
    )
    .unwrap();
    let expected = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>
<XmlMsg>
  <MessageHeader>
    <QualificationConfirmationDate>20250401</QualificationConfirmationDate>
    <MedicalInstitutionCode>1310000019</MedicalInstitutionCode>
    <ArbitraryFileIdentifier>MF-0001</ArbitraryFileIdentifier>
  </MessageHeader>
  <MessageBody>
    <QualificationConfirmSearchInfo>
      <InsurerNumber>  123456</InsurerNumber>
      <InsuredCardSymbol>医国３４０</InsuredCardSymbol>
      <InsuredIdentificationNumber>１２‐３４</InsuredIdentificationNumber>
      <InsuredBranchNumber>01</InsuredBranchNumber>
      <Birthdate>19800102</Birthdate>
      <LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>
    </QualificationConfirmSearchInfo>
  </MessageBody>
</XmlMsg>
";
    assert_eq!(text, expected);

    let text = String::from_utf8(write_number_request(&query("", ""), XmlEncoding::Utf8).unwrap())
        .unwrap();
    assert!(!text.contains("InsuredCardSymbol"));
    assert!(!text.contains("InsuredBranchNumber"));

    let sjis = write_number_request(&query("医国３４０", "01"), XmlEncoding::ShiftJis).unwrap();
    let decoded = decode(&sjis).unwrap();
    assert!(
        decoded.starts_with("<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>")
    );
    assert!(decoded.contains("<InsuredCardSymbol>医国３４０</InsuredCardSymbol>"));

    let mut bad = query("𠮷", "");
    bad.limit_consent = false;
    assert!(matches!(
        write_number_request(&bad, XmlEncoding::ShiftJis),
        Err(XmlError::Unencodable { ref element, .. }) if element == "InsuredCardSymbol"
    ));
}
