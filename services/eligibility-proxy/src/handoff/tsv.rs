//! The app's copy format as TSV (DOMAIN.md §3.6): per result the sections `資格情報`,
//! `裏面記載情報`, `高齢受給者証`, `限度額適用認定証` (the first line is `資格情報`), then
//! `<label>\t<value>` lines for the values present. Values are as returned (no 和暦, no
//! trimming); code values show their table label, or the raw value when the table does not
//! know it. A tab or line break inside a value becomes a space so the lines stay lines. The
//! 閲覧同意 fields are never written.

use crate::oqs::codes::{
    InsuredCardClassification, LimitCategory, LimitCertificateClassification, LimitConsent,
    PersonalFamilyClassification, PreschoolClassification, QualificationValidity, ReasonOfLoss,
    Sex,
};
use mynafleet_proto::eligibility::v1 as pb;

/// Renders `result` (CRLF line ends, as Windows copies text).
pub(crate) fn render(result: &pb::QualificationResult) -> String {
    let mut out = Lines(String::new());
    let validity = result
        .qualification_validity
        .as_deref()
        .map(|v| QualificationValidity::parse(v).display().to_owned());
    let empty = pb::Qualification::default();
    let qualifications: Vec<&pb::Qualification> = if result.results.is_empty() {
        vec![&empty]
    } else {
        result.results.iter().collect()
    };
    for q in qualifications {
        out.heading("資格情報");
        out.line("資格有効性", validity.as_deref());
        out.line(
            "処理結果メッセージ",
            result.processing_result_message.as_deref(),
        );
        out.code(
            "被保険者証区分",
            &q.insured_card_classification,
            |v| InsuredCardClassification::parse(v).display().to_owned(),
        );
        out.line("保険者番号", q.insurer_number.as_deref());
        out.line("被保険者証記号", q.insured_card_symbol.as_deref());
        out.line("被保険者証番号", q.insured_identification_number.as_deref());
        out.line("被保険者証枝番", q.insured_branch_number.as_deref());
        out.code(
            "本人・家族の別",
            &q.personal_family_classification,
            |v| PersonalFamilyClassification::parse(v).display().to_owned(),
        );
        out.line("被保険者氏名", q.insured_name.as_deref());
        out.line("氏名", q.name.as_deref());
        out.line("氏名カナ", q.name_kana.as_deref());
        out.code("性別", &q.sex1, |v| Sex::parse(v).display().to_owned());
        out.line("生年月日", q.birthdate.as_deref());
        out.line("住所", q.address.as_deref());
        out.line("郵便番号", q.post_number.as_deref());
        out.line("資格取得年月日", q.qualification_date.as_deref());
        out.line("資格喪失年月日", q.disqualification_date.as_deref());
        out.line("交付年月日", q.insured_certificate_issuance_date.as_deref());
        out.line("有効開始年月日", q.insured_card_valid_date.as_deref());
        out.line("有効終了年月日", q.insured_card_expiration_date.as_deref());
        out.line(
            "一部負担金割合",
            q.insured_partial_contribution_ratio.as_deref(),
        );
        out.code("未就学区分", &q.preschool_classification, |v| {
            PreschoolClassification::parse(v).display().to_owned()
        });
        out.code("資格喪失事由", &q.reason_of_loss, |v| {
            ReasonOfLoss::parse(v).display().to_owned()
        });
        out.line("保険者名称", q.insurer_name.as_deref());
        out.line("照会番号", q.reference_number.as_deref());

        out.heading("裏面記載情報");
        out.line("氏名（その他）", q.name_of_other.as_deref());
        out.line("氏名カナ（その他）", q.name_of_other_kana.as_deref());
        out.code("性別（その他）", &q.sex2, |v| {
            Sex::parse(v).display().to_owned()
        });

        out.heading("高齢受給者証");
        if let Some(e) = &q.elderly_recipient_certificate_info {
            out.line(
                "交付年月日",
                e.elderly_recipient_certificate_date.as_deref(),
            );
            out.line(
                "有効開始年月日",
                e.elderly_recipient_valid_start_date.as_deref(),
            );
            out.line(
                "有効終了年月日",
                e.elderly_recipient_valid_end_date.as_deref(),
            );
            out.line(
                "一部負担金割合",
                e.elderly_recipient_contribution_ratio.as_deref(),
            );
        }

        out.heading("限度額適用認定証");
        out.code(
            "限度額適用認定証提供同意",
            &q.limit_application_certificate_related_cons_flg,
            |v| LimitConsent::parse(v).display().to_owned(),
        );
        out.line(
            "限度額適用認定証提供同意日時",
            q.limit_application_certificate_related_cons_time.as_deref(),
        );
        if let Some(l) = &q.limit_application_certificate_related_info {
            out.code(
                "認定証区分",
                &l.limit_application_certificate_classification,
                |v| {
                    LimitCertificateClassification::parse(v)
                        .display()
                        .to_owned()
                },
            );
            out.code(
                "適用区分",
                &l.limit_application_certificate_classification_flag,
                |v| LimitCategory::parse(v).display().to_owned(),
            );
            out.line(
                "交付年月日",
                l.limit_application_certificate_date.as_deref(),
            );
            out.line(
                "有効開始年月日",
                l.limit_application_certificate_valid_start_date.as_deref(),
            );
            out.line(
                "有効終了年月日",
                l.limit_application_certificate_valid_end_date.as_deref(),
            );
            out.line(
                "長期入院該当年月日",
                l.limit_application_certificate_long_term_date.as_deref(),
            );
        }
    }
    out.0
}

struct Lines(String);

impl Lines {
    fn heading(&mut self, name: &str) {
        self.0.push_str(name);
        self.0.push_str("\r\n");
    }

    fn line(&mut self, label: &str, value: Option<&str>) {
        let Some(value) = value else { return };
        self.0.push_str(label);
        self.0.push('\t');
        self.0.extend(value.chars().map(|c| match c {
            '\t' | '\r' | '\n' => ' ',
            c => c,
        }));
        self.0.push_str("\r\n");
    }

    fn code(&mut self, label: &str, value: &Option<String>, show: impl Fn(&str) -> String) {
        self.line(label, value.as_deref().map(show).as_deref());
    }
}
