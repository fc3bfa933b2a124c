//! The simulator's own reading and writing of OQS file-interface XML (DOMAIN.md §3.1–3.3):
//! decoding by BOM then the XML declaration (Shift_JIS as Windows-31J), the
//! `OQSsiquc01req` request, and the result `XmlMsg`. Values are written exactly as held;
//! characters Shift_JIS cannot encode are refused, never turned into `&#…;`. DTDs are
//! refused. It never shares the proxy's parser.

use crate::config::ResponderEncoding;
use crate::sim::{Header, SearchEcho};
use encoding_rs::{Encoding, SHIFT_JIS, UTF_8};
use mynafleet_proto::eligibility::v1 as el;

/// A parsed `OQSsiquc01req`.
#[derive(Clone, Debug, Default)]
pub(crate) struct NumberRequest {
    pub(crate) header: Header,
    pub(crate) search: SearchEcho,
}

/// Decodes request bytes: BOM first, then the XML declaration (none = UTF-8).
pub(crate) fn decode(bytes: &[u8]) -> Result<String, String> {
    let (encoding, body) = match Encoding::for_bom(bytes) {
        Some((enc, len)) if enc == UTF_8 => (UTF_8, &bytes[len..]),
        Some((enc, _)) => return Err(format!("unsupported byte order mark ({})", enc.name())),
        None => (declared_encoding(bytes)?, bytes),
    };
    encoding
        .decode_without_bom_handling_and_without_replacement(body)
        .map(|s| s.into_owned())
        .ok_or_else(|| format!("not valid {}", encoding.name()))
}

fn declared_encoding(bytes: &[u8]) -> Result<&'static Encoding, String> {
    if !bytes.starts_with(b"<?xml") {
        return Ok(UTF_8);
    }
    let end = bytes
        .windows(2)
        .take(512)
        .position(|w| w == b"?>")
        .ok_or("unterminated xml declaration")?;
    let decl = String::from_utf8_lossy(&bytes[..end]);
    let Some(at) = decl.find("encoding") else {
        return Ok(UTF_8);
    };
    let rest = decl[at + "encoding".len()..].trim_start();
    let rest = rest
        .strip_prefix('=')
        .ok_or("bad encoding declaration")?
        .trim_start();
    let quote = rest.chars().next().ok_or("bad encoding declaration")?;
    if quote != '"' && quote != '\'' {
        return Err("bad encoding declaration".into());
    }
    let label = rest[1..].split(quote).next().unwrap_or_default();
    match Encoding::for_label(label.as_bytes()) {
        Some(e) if e == UTF_8 || e == SHIFT_JIS => Ok(e),
        _ => Err(format!("unsupported encoding {label:?}")),
    }
}

/// Parses a card-number request.
pub(crate) fn parse_request(text: &str) -> Result<NumberRequest, String> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    if root.tag_name().name() != "XmlMsg" {
        return Err("root element is not XmlMsg".into());
    }
    let header = one(root, "MessageHeader")?.ok_or("no MessageHeader")?;
    let body = one(root, "MessageBody")?.ok_or("no MessageBody")?;
    let info =
        one(body, "QualificationConfirmSearchInfo")?.ok_or("no QualificationConfirmSearchInfo")?;
    let text = |parent, name| -> Result<Option<String>, String> {
        Ok(one(parent, name)?.map(|n| n.text().unwrap_or_default().to_owned()))
    };
    Ok(NumberRequest {
        header: Header {
            date: text(header, "QualificationConfirmationDate")?.unwrap_or_default(),
            institution: text(header, "MedicalInstitutionCode")?.unwrap_or_default(),
            file_id: text(header, "ArbitraryFileIdentifier")?.unwrap_or_default(),
        },
        search: SearchEcho {
            insurer_number: text(info, "InsurerNumber")?,
            symbol: text(info, "InsuredCardSymbol")?,
            number: text(info, "InsuredIdentificationNumber")?,
            branch: text(info, "InsuredBranchNumber")?,
            birthdate: text(info, "Birthdate")?,
            limit_flag: text(info, "LimitApplicationCertificateRelatedConsFlg")?,
            arbitrary_identifier: text(info, "ArbitraryIdentifier")?,
        },
    })
}

/// Returns the only child element named `name`; a duplicate is an error.
fn one<'a, 'i>(
    parent: roxmltree::Node<'a, 'i>,
    name: &str,
) -> Result<Option<roxmltree::Node<'a, 'i>>, String> {
    let mut found = parent
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == name);
    let first = found.next();
    if found.next().is_some() {
        return Err(format!("duplicated element {name}"));
    }
    Ok(first)
}

struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn open(&mut self, name: &str) {
        self.indent();
        self.out.push_str(&format!("<{name}>\n"));
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        self.out.push_str(&format!("</{name}>\n"));
    }

    fn leaf(&mut self, name: &str, value: &Option<String>) {
        let Some(v) = value else { return };
        self.indent();
        if v.is_empty() {
            self.out.push_str(&format!("<{name}/>\n"));
            return;
        }
        let escaped = v
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        self.out.push_str(&format!("<{name}>{escaped}</{name}>\n"));
    }

    fn consent(&mut self, prefix: &str, c: &Option<el::ConsentInfo>) {
        if let Some(c) = c {
            self.leaf(&format!("{prefix}ConsFlg"), &c.cons_flg);
            self.leaf(&format!("{prefix}ConsTime"), &c.cons_time);
            self.leaf(&format!("{prefix}AvailableTime"), &c.available_time);
        }
    }
}

/// Writes `result` as an OQS result file in `encoding`; fails on a character Shift_JIS
/// cannot encode.
pub(crate) fn write_result(
    result: &el::QualificationResult,
    encoding: ResponderEncoding,
) -> Result<Vec<u8>, String> {
    let label = match encoding {
        ResponderEncoding::Utf8 => "UTF-8",
        ResponderEncoding::ShiftJis => "Shift_JIS",
    };
    let mut w = Writer {
        out: format!("<?xml version=\"1.0\" encoding=\"{label}\" standalone=\"no\"?>\n"),
        depth: 0,
    };
    w.open("XmlMsg");
    let h = result.header.clone().unwrap_or_default();
    w.open("MessageHeader");
    w.leaf("ProcessExecutionTime", &h.process_execution_time);
    w.leaf(
        "QualificationConfirmationDate",
        &h.qualification_confirmation_date,
    );
    w.leaf("MedicalInstitutionCode", &h.medical_institution_code);
    w.leaf("ArbitraryFileIdentifier", &h.arbitrary_file_identifier);
    w.leaf("ReferenceClassification", &h.reference_classification);
    w.leaf("SegmentOfResult", &h.segment_of_result);
    w.leaf("ErrorCode", &h.error_code);
    w.leaf("ErrorMessage", &h.error_message);
    w.leaf("CharacterCodeIdentifier", &h.character_code_identifier);
    w.close("MessageHeader");
    w.open("MessageBody");
    if let Some(s) = &result.search_info {
        w.open("QualificationConfirmSearchInfo");
        w.leaf("InsurerNumber", &s.insurer_number);
        w.leaf("InsuredCardSymbol", &s.insured_card_symbol);
        w.leaf(
            "InsuredIdentificationNumber",
            &s.insured_identification_number,
        );
        w.leaf("InsuredBranchNumber", &s.insured_branch_number);
        w.leaf("Birthdate", &s.birthdate);
        w.leaf(
            "LimitApplicationCertificateRelatedConsFlg",
            &s.limit_application_certificate_related_cons_flg,
        );
        w.leaf("ArbitraryIdentifier", &s.arbitrary_identifier);
        w.close("QualificationConfirmSearchInfo");
    }
    if !result.results.is_empty() {
        w.open("ResultList");
        for q in &result.results {
            qualification(&mut w, q);
        }
        w.close("ResultList");
    }
    w.leaf("ProcessingResultStatus", &result.processing_result_status);
    w.leaf("ProcessingResultCode", &result.processing_result_code);
    w.leaf("ProcessingResultMessage", &result.processing_result_message);
    w.leaf("QualificationValidity", &result.qualification_validity);
    w.leaf("PrescriptionIssueSelect", &result.prescription_issue_select);
    w.close("MessageBody");
    w.close("XmlMsg");
    match encoding {
        ResponderEncoding::Utf8 => Ok(w.out.into_bytes()),
        ResponderEncoding::ShiftJis => {
            let (bytes, _, unmappable) = SHIFT_JIS.encode(&w.out);
            if unmappable {
                return Err("the result holds characters shift_jis cannot encode".into());
            }
            Ok(bytes.into_owned())
        }
    }
}

fn qualification(w: &mut Writer, q: &el::Qualification) {
    w.open("ResultOfQualificationConfirmation");
    w.leaf("InsuredCardClassification", &q.insured_card_classification);
    w.leaf("InsurerNumber", &q.insurer_number);
    w.leaf("InsuredCardSymbol", &q.insured_card_symbol);
    w.leaf(
        "InsuredIdentificationNumber",
        &q.insured_identification_number,
    );
    w.leaf("InsuredBranchNumber", &q.insured_branch_number);
    w.leaf(
        "PersonalFamilyClassification",
        &q.personal_family_classification,
    );
    w.leaf("InsuredName", &q.insured_name);
    w.leaf("Name", &q.name);
    w.leaf("NameOfOther", &q.name_of_other);
    w.leaf("NameKana", &q.name_kana);
    w.leaf("NameOfOtherKana", &q.name_of_other_kana);
    w.leaf("Sex1", &q.sex1);
    w.leaf("Sex2", &q.sex2);
    w.leaf("Birthdate", &q.birthdate);
    w.leaf("Address", &q.address);
    w.leaf("PostNumber", &q.post_number);
    w.leaf("QualificationDate", &q.qualification_date);
    w.leaf("DisqualificationDate", &q.disqualification_date);
    w.leaf(
        "InsuredCertificateIssuanceDate",
        &q.insured_certificate_issuance_date,
    );
    w.leaf("InsuredCardValidDate", &q.insured_card_valid_date);
    w.leaf("InsuredCardExpirationDate", &q.insured_card_expiration_date);
    w.leaf(
        "InsuredPartialContributionRatio",
        &q.insured_partial_contribution_ratio,
    );
    w.leaf("PreschoolClassification", &q.preschool_classification);
    w.leaf("ReasonOfLoss", &q.reason_of_loss);
    w.leaf("InsurerName", &q.insurer_name);
    if let Some(e) = &q.elderly_recipient_certificate_info {
        w.open("ElderlyRecipientCertificateInfo");
        w.leaf(
            "ElderlyRecipientCertificateDate",
            &e.elderly_recipient_certificate_date,
        );
        w.leaf(
            "ElderlyRecipientValidStartDate",
            &e.elderly_recipient_valid_start_date,
        );
        w.leaf(
            "ElderlyRecipientValidEndDate",
            &e.elderly_recipient_valid_end_date,
        );
        w.leaf(
            "ElderlyRecipientContributionRatio",
            &e.elderly_recipient_contribution_ratio,
        );
        w.close("ElderlyRecipientCertificateInfo");
    }
    w.leaf(
        "LimitApplicationCertificateRelatedConsFlg",
        &q.limit_application_certificate_related_cons_flg,
    );
    w.leaf(
        "LimitApplicationCertificateRelatedConsTime",
        &q.limit_application_certificate_related_cons_time,
    );
    if let Some(l) = &q.limit_application_certificate_related_info {
        w.open("LimitApplicationCertificateRelatedInfo");
        w.leaf(
            "LimitApplicationCertificateClassification",
            &l.limit_application_certificate_classification,
        );
        w.leaf(
            "LimitApplicationCertificateClassificationFlag",
            &l.limit_application_certificate_classification_flag,
        );
        w.leaf(
            "LimitApplicationCertificateDate",
            &l.limit_application_certificate_date,
        );
        w.leaf(
            "LimitApplicationCertificateValidStartDate",
            &l.limit_application_certificate_valid_start_date,
        );
        w.leaf(
            "LimitApplicationCertificateValidEndDate",
            &l.limit_application_certificate_valid_end_date,
        );
        w.leaf(
            "LimitApplicationCertificateLongTermDate",
            &l.limit_application_certificate_long_term_date,
        );
        w.close("LimitApplicationCertificateRelatedInfo");
    }
    w.leaf(
        "LimitApplicationCertificateChanged",
        &q.limit_application_certificate_changed,
    );
    w.leaf(
        "SpecificDiseasesCertificateRelatedConsFlg",
        &q.specific_diseases_certificate_related_cons_flg,
    );
    w.leaf(
        "SpecificDiseasesCertificateRelatedConsTime",
        &q.specific_diseases_certificate_related_cons_time,
    );
    if !q.specific_diseases_certificates.is_empty() {
        w.open("SpecificDiseasesCertificateList");
        for s in &q.specific_diseases_certificates {
            w.open("SpecificDiseasesCertificateInfo");
            w.leaf(
                "SpecificDiseasesDiseaseCategory",
                &s.specific_diseases_disease_category,
            );
            w.leaf(
                "SpecificDiseasesCertificateDate",
                &s.specific_diseases_certificate_date,
            );
            w.leaf(
                "SpecificDiseasesValidStartDate",
                &s.specific_diseases_valid_start_date,
            );
            w.leaf(
                "SpecificDiseasesValidEndDate",
                &s.specific_diseases_valid_end_date,
            );
            w.leaf("SpecificDiseasesSelfPay", &s.specific_diseases_self_pay);
            w.close("SpecificDiseasesCertificateInfo");
        }
        w.close("SpecificDiseasesCertificateList");
    }
    if !q.medical_tickets.is_empty() {
        w.open("PublicExpenseResultList");
        for t in &q.medical_tickets {
            ticket(w, t);
        }
        w.close("PublicExpenseResultList");
    }
    w.leaf("ReferenceNumber", &q.reference_number);
    w.consent(
        "SpecificHealthCheckupsInfo",
        &q.specific_health_checkups_info,
    );
    w.consent("PharmacistsInfo", &q.pharmacists_info);
    w.consent("DiagnosisInfo", &q.diagnosis_info);
    w.consent("OperationInfo", &q.operation_info);
    w.close("ResultOfQualificationConfirmation");
}

fn ticket(w: &mut Writer, t: &el::MedicalTicketInfo) {
    w.open("MedicalTicketInfo");
    w.leaf("TicketType", &t.ticket_type);
    w.leaf("MedicalTicketValidDate", &t.medical_ticket_valid_date);
    w.leaf(
        "MedicalTicketExpirationDate",
        &t.medical_ticket_expiration_date,
    );
    w.leaf("IssueNumber", &t.issue_number);
    w.leaf("MedicalTreatmentMonth", &t.medical_treatment_month);
    w.leaf(
        "DesignatedMedicalInstitutionCode",
        &t.designated_medical_institution_code,
    );
    w.leaf(
        "DesignatedMedicalInstitutionFlag",
        &t.designated_medical_institution_flag,
    );
    w.leaf(
        "DesignatedMedicalInstitutionName",
        &t.designated_medical_institution_name,
    );
    w.leaf(
        "PrescriptionIssuerMedicalInstitutionCode",
        &t.prescription_issuer_medical_institution_code,
    );
    w.leaf(
        "PrescriptionIssuerMedicalInstitutionName",
        &t.prescription_issuer_medical_institution_name,
    );
    w.leaf("InjuryName1", &t.injury_name1);
    w.leaf("InjuryName2", &t.injury_name2);
    w.leaf("InjuryName3", &t.injury_name3);
    w.leaf("MedicalTreatmentType", &t.medical_treatment_type);
    w.leaf("SelfPayAmount", &t.self_pay_amount);
    w.leaf("DistrictContactName", &t.district_contact_name);
    w.leaf("HandlingContactName", &t.handling_contact_name);
    w.leaf("SingleOrCombinedUse", &t.single_or_combined_use);
    w.leaf("StatusOfSocialInsurance", &t.status_of_social_insurance);
    w.leaf("ConsistencyFlag", &t.consistency_flag);
    w.leaf("StatusOfInfecton", &t.status_of_infection);
    w.leaf(
        "StatusOfElderlyMedicalCare",
        &t.status_of_elderly_medical_care,
    );
    w.leaf(
        "StatusOfPrefecturalExpenses",
        &t.status_of_prefectural_expenses,
    );
    w.leaf("Remarks1", &t.remarks1);
    w.leaf("Remarks2", &t.remarks2);
    w.leaf("Remarks3", &t.remarks3);
    w.close("MedicalTicketInfo");
}
