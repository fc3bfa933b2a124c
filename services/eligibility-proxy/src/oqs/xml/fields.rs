//! Element names of the OQS result (DOMAIN.md §3.2–3.3) mapped to the fields of
//! `eligibility.v1`, once, for both the reader and the writer. Names are listed in the order
//! the writer emits them; known misspellings are read as aliases and never written.

use mynafleet_proto::eligibility::v1 as pb;

/// One text element of a message.
pub(super) struct Field<T: 'static> {
    /// The name written; then the aliases read.
    pub(super) names: &'static [&'static str],
    pub(super) get: fn(&T) -> &Option<String>,
    pub(super) get_mut: fn(&mut T) -> &mut Option<String>,
}

impl<T> Field<T> {
    /// Returns the name the writer uses.
    pub(super) fn name(&self) -> &'static str {
        self.names[0]
    }
}

/// Returns the field named `name` (or one of its aliases) among `tables`.
pub(super) fn find<'a, T>(tables: &[&'a [Field<T>]], name: &str) -> Option<&'a Field<T>> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|f| f.names.contains(&name))
}

static NONE: Option<String> = None;

macro_rules! fields {
    ($t:ty; $( [$($name:literal),+] => $($path:ident).+ ),* $(,)?) => {
        &[ $( Field::<$t> {
            names: &[$($name),+],
            get: |x| &x.$($path).+,
            get_mut: |x| &mut x.$($path).+,
        } ),* ]
    };
}

macro_rules! consent {
    ($prefix:literal, $field:ident, [$($time:literal),+]) => {
        [
            Field::<pb::Qualification> {
                names: &[concat!($prefix, "ConsFlg")],
                get: |q| q.$field.as_ref().map_or(&NONE, |c| &c.cons_flg),
                get_mut: |q| &mut q.$field.get_or_insert_default().cons_flg,
            },
            Field::<pb::Qualification> {
                names: &[$(concat!($prefix, $time)),+],
                get: |q| q.$field.as_ref().map_or(&NONE, |c| &c.cons_time),
                get_mut: |q| &mut q.$field.get_or_insert_default().cons_time,
            },
            Field::<pb::Qualification> {
                names: &[concat!($prefix, "AvailableTime")],
                get: |q| q.$field.as_ref().map_or(&NONE, |c| &c.available_time),
                get_mut: |q| &mut q.$field.get_or_insert_default().available_time,
            },
        ]
    };
}

pub(super) static HEADER: &[Field<pb::ResultHeader>] = fields![pb::ResultHeader;
    ["ProcessExecutionTime"] => process_execution_time,
    ["QualificationConfirmationDate"] => qualification_confirmation_date,
    ["MedicalInstitutionCode"] => medical_institution_code,
    ["ArbitraryFileIdentifier"] => arbitrary_file_identifier,
    ["ReferenceClassification"] => reference_classification,
    ["SegmentOfResult"] => segment_of_result,
    ["ErrorCode"] => error_code,
    ["ErrorMessage"] => error_message,
    ["CharacterCodeIdentifier"] => character_code_identifier,
];

/// `MessageBody` text elements written after `ResultList`.
pub(super) static BODY: &[Field<pb::QualificationResult>] = fields![pb::QualificationResult;
    ["ProcessingResultStatus"] => processing_result_status,
    ["ProcessingResultCode"] => processing_result_code,
    ["ProcessingResultMessage"] => processing_result_message,
    ["QualificationValidity"] => qualification_validity,
    ["PrescriptionIssueSelect"] => prescription_issue_select,
];

pub(super) static SEARCH_INFO: &[Field<pb::SearchInfo>] = fields![pb::SearchInfo;
    ["InsurerNumber"] => insurer_number,
    ["InsuredCardSymbol"] => insured_card_symbol,
    ["InsuredIdentificationNumber"] => insured_identification_number,
    ["InsuredBranchNumber"] => insured_branch_number,
    ["Birthdate"] => birthdate,
    ["LimitApplicationCertificateRelatedConsFlg"] => limit_application_certificate_related_cons_flg,
    ["ArbitraryIdentifier"] => arbitrary_identifier,
];

/// `ResultOfQualificationConfirmation` up to `InsurerName`; `ElderlyRecipientCertificateInfo`
/// follows.
pub(super) static QUALIFICATION_HEAD: &[Field<pb::Qualification>] = fields![pb::Qualification;
    ["InsuredCardClassification"] => insured_card_classification,
    ["InsurerNumber"] => insurer_number,
    ["InsuredCardSymbol"] => insured_card_symbol,
    ["InsuredIdentificationNumber"] => insured_identification_number,
    ["InsuredBranchNumber"] => insured_branch_number,
    ["PersonalFamilyClassification"] => personal_family_classification,
    ["InsuredName"] => insured_name,
    ["Name"] => name,
    ["NameOfOther"] => name_of_other,
    ["NameKana"] => name_kana,
    ["NameOfOtherKana"] => name_of_other_kana,
    ["Sex1"] => sex1,
    ["Sex2"] => sex2,
    ["Birthdate"] => birthdate,
    ["Address"] => address,
    ["PostNumber"] => post_number,
    ["QualificationDate"] => qualification_date,
    ["DisqualificationDate"] => disqualification_date,
    ["InsuredCertificateIssuanceDate"] => insured_certificate_issuance_date,
    ["InsuredCardValidDate"] => insured_card_valid_date,
    ["InsuredCardExpirationDate"] => insured_card_expiration_date,
    ["InsuredPartialContributionRatio"] => insured_partial_contribution_ratio,
    ["PreschoolClassification"] => preschool_classification,
    ["ReasonOfLoss"] => reason_of_loss,
    ["InsurerName"] => insurer_name,
];

/// The 限度額 consent, written before `LimitApplicationCertificateRelatedInfo`.
pub(super) static QUALIFICATION_LIMIT: &[Field<pb::Qualification>] = fields![pb::Qualification;
    ["LimitApplicationCertificateRelatedConsFlg"] => limit_application_certificate_related_cons_flg,
    ["LimitApplicationCertificateRelatedConsTime"] => limit_application_certificate_related_cons_time,
];

/// Written before `SpecificDiseasesCertificateList`.
pub(super) static QUALIFICATION_DISEASES: &[Field<pb::Qualification>] = fields![pb::Qualification;
    ["LimitApplicationCertificateChanged"] => limit_application_certificate_changed,
    ["SpecificDiseasesCertificateRelatedConsFlg"] => specific_diseases_certificate_related_cons_flg,
    ["SpecificDiseasesCertificateRelatedConsTime"] => specific_diseases_certificate_related_cons_time,
];

/// Written last.
pub(super) static QUALIFICATION_TAIL: &[Field<pb::Qualification>] = fields![pb::Qualification;
    ["ReferenceNumber"] => reference_number,
];

/// The 閲覧同意 triples, written after `ReferenceNumber`.
pub(super) static CONSENTS: &[Field<pb::Qualification>] = &{
    let [a, b, c] = consent!(
        "SpecificHealthCheckupsInfo",
        specific_health_checkups_info,
        ["ConsTime"]
    );
    let [d, e, f] = consent!("PharmacistsInfo", pharmacists_info, ["ConsTime"]);
    let [g, h, i] = consent!("DiagnosisInfo", diagnosis_info, ["ConsTime", "ConsTim"]);
    let [j, k, l] = consent!("OperationInfo", operation_info, ["ConsTime"]);
    [a, b, c, d, e, f, g, h, i, j, k, l]
};

pub(super) static ELDERLY: &[Field<pb::ElderlyRecipientCertificateInfo>] = fields![pb::ElderlyRecipientCertificateInfo;
    ["ElderlyRecipientCertificateDate"] => elderly_recipient_certificate_date,
    ["ElderlyRecipientValidStartDate"] => elderly_recipient_valid_start_date,
    ["ElderlyRecipientValidEndDate"] => elderly_recipient_valid_end_date,
    ["ElderlyRecipientContributionRatio"] => elderly_recipient_contribution_ratio,
];

pub(super) static LIMIT_INFO: &[Field<pb::LimitApplicationCertificateRelatedInfo>] = fields![pb::LimitApplicationCertificateRelatedInfo;
    ["LimitApplicationCertificateClassification"] => limit_application_certificate_classification,
    ["LimitApplicationCertificateClassificationFlag", "LimitApplicationCertificateClassificationFla"]
        => limit_application_certificate_classification_flag,
    ["LimitApplicationCertificateDate"] => limit_application_certificate_date,
    ["LimitApplicationCertificateValidStartDate"] => limit_application_certificate_valid_start_date,
    ["LimitApplicationCertificateValidEndDate"] => limit_application_certificate_valid_end_date,
    ["LimitApplicationCertificateLongTermDate"] => limit_application_certificate_long_term_date,
];

pub(super) static SPECIFIC_DISEASES: &[Field<pb::SpecificDiseasesCertificateInfo>] = fields![pb::SpecificDiseasesCertificateInfo;
    ["SpecificDiseasesDiseaseCategory"] => specific_diseases_disease_category,
    ["SpecificDiseasesCertificateDate"] => specific_diseases_certificate_date,
    ["SpecificDiseasesValidStartDate"] => specific_diseases_valid_start_date,
    ["SpecificDiseasesValidEndDate"] => specific_diseases_valid_end_date,
    ["SpecificDiseasesSelfPay"] => specific_diseases_self_pay,
];

pub(super) static MEDICAL_TICKET: &[Field<pb::MedicalTicketInfo>] = fields![pb::MedicalTicketInfo;
    ["TicketType"] => ticket_type,
    ["MedicalTicketValidDate"] => medical_ticket_valid_date,
    ["MedicalTicketExpirationDate"] => medical_ticket_expiration_date,
    ["IssueNumber"] => issue_number,
    ["MedicalTreatmentMonth"] => medical_treatment_month,
    ["DesignatedMedicalInstitutionCode"] => designated_medical_institution_code,
    ["DesignatedMedicalInstitutionFlag"] => designated_medical_institution_flag,
    ["DesignatedMedicalInstitutionName"] => designated_medical_institution_name,
    ["PrescriptionIssuerMedicalInstitutionCode"] => prescription_issuer_medical_institution_code,
    ["PrescriptionIssuerMedicalInstitutionName"] => prescription_issuer_medical_institution_name,
    ["InjuryName1"] => injury_name1,
    ["InjuryName2"] => injury_name2,
    ["InjuryName3"] => injury_name3,
    ["MedicalTreatmentType"] => medical_treatment_type,
    ["SelfPayAmount"] => self_pay_amount,
    ["DistrictContactName"] => district_contact_name,
    ["HandlingContactName"] => handling_contact_name,
    ["SingleOrCombinedUse"] => single_or_combined_use,
    ["StatusOfSocialInsurance"] => status_of_social_insurance,
    ["ConsistencyFlag"] => consistency_flag,
    ["StatusOfInfecton", "StatusOfInfection"] => status_of_infection,
    ["StatusOfElderlyMedicalCare"] => status_of_elderly_medical_care,
    ["StatusOfPrefecturalExpenses"] => status_of_prefectural_expenses,
    ["Remarks1"] => remarks1,
    ["Remarks2"] => remarks2,
    ["Remarks3"] => remarks3,
];

/// Every text element of `ResultOfQualificationConfirmation`, for the reader.
pub(super) static QUALIFICATION_ALL: &[&[Field<pb::Qualification>]] = &[
    QUALIFICATION_HEAD,
    QUALIFICATION_LIMIT,
    QUALIFICATION_DISEASES,
    QUALIFICATION_TAIL,
    CONSENTS,
];
