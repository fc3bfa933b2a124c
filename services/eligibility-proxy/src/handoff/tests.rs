use super::{Handoff, HandoffError};
use crate::config::{HandoffConfig, XmlEncoding};
use crate::oqs::xml;
use mynafleet_proto::eligibility::v1 as pb;
use std::collections::BTreeMap;
use std::path::Path;

const CLINIC: &str = "1310000019";

fn result() -> pb::QualificationResult {
    let s = |v: &str| Some(v.to_owned());
    pb::QualificationResult {
        header: Some(pb::ResultHeader {
            medical_institution_code: s(CLINIC),
            reference_classification: s("1"),
            segment_of_result: s("1"),
            ..Default::default()
        }),
        results: vec![pb::Qualification {
            insured_card_classification: s("01"),
            insurer_number: s("  123456"),
            insured_card_symbol: s("医国３４０"),
            insured_identification_number: s("１２‐３４"),
            insured_branch_number: s("01"),
            personal_family_classification: s("2"),
            name: s("見本　花子"),
            name_of_other: s("見本\tはなこ"),
            sex1: s("2"),
            birthdate: s("19800102"),
            address: s(""),
            insured_partial_contribution_ratio: s("010"),
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
            ..Default::default()
        }],
        processing_result_status: s("1"),
        processing_result_message: s("有効期限が近づいています"),
        qualification_validity: s("1"),
        ..Default::default()
    }
}

fn when() -> time::OffsetDateTime {
    time::macros::datetime!(2025-04-01 00:30:15 UTC)
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn handoff(xml_dir: &Path, tsv_dir: &Path, encoding: XmlEncoding) -> Handoff {
    Handoff::new(BTreeMap::from([(
        CLINIC.to_owned(),
        HandoffConfig {
            xml_dir: Some(xml_dir.to_owned()),
            tsv_dir: Some(tsv_dir.to_owned()),
            encoding,
        },
    )]))
}

#[tokio::test]
async fn writes_xml_and_tsv_that_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (xml_dir, tsv_dir) = (dir.path().join("xml"), dir.path().join("tsv"));
    std::fs::create_dir_all(&xml_dir).unwrap();
    std::fs::create_dir_all(&tsv_dir).unwrap();
    for encoding in [XmlEncoding::Utf8, XmlEncoding::ShiftJis] {
        let names = handoff(&xml_dir, &tsv_dir, encoding)
            .write(CLINIC, &result(), when())
            .await
            .unwrap();
        assert_eq!(names.len(), 2);
        let base = names[0].strip_suffix(".xml").unwrap();
        assert_eq!(names[1], format!("{base}.tsv"));
        let rest = base.strip_prefix("OQSsiquc01res_face_1310000019").unwrap();
        let (digits, stamp) = rest.split_once('_').unwrap();
        assert_eq!(digits.len(), 20);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(stamp, "20250401093015", "JST");

        let bytes = std::fs::read(xml_dir.join(&names[0])).unwrap();
        assert_eq!(xml::parse_result(&bytes).unwrap(), result());
        let tsv = std::fs::read_to_string(tsv_dir.join(&names[1])).unwrap();
        assert!(tsv.starts_with("資格情報\r\n資格有効性\t有効\r\n"), "{tsv}");
        for line in [
            "保険者番号\t  123456",
            "被保険者証記号\t医国３４０",
            "被保険者証番号\t１２‐３４",
            "本人・家族の別\t家族",
            "性別\t女",
            "生年月日\t19800102",
            "住所\t",
            "一部負担金割合\t010",
            "裏面記載情報",
            "氏名（その他）\t見本 はなこ",
            "高齢受給者証",
            "一部負担金割合\t020",
            "限度額適用認定証",
            "限度額適用認定証提供同意\t同意",
            "適用区分\tウ",
        ] {
            assert!(tsv.lines().any(|l| l == line), "missing {line:?} in {tsv}");
        }
    }
    // Nothing but final names is left behind.
    assert!(listing(&xml_dir).iter().all(|n| n.ends_with(".xml")));
    assert!(listing(&tsv_dir).iter().all(|n| n.ends_with(".tsv")));
}

#[tokio::test]
async fn a_failure_mid_write_leaves_nothing() {
    fn fail_after_ten(file: &mut std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        file.write_all(&bytes[..10])?;
        file.sync_all()?;
        Err(std::io::Error::other("writer killed"))
    }
    let dir = tempfile::tempdir().unwrap();
    let handoff = handoff(dir.path(), dir.path(), XmlEncoding::Utf8).with_fill(fail_after_ten);
    let err = handoff.write(CLINIC, &result(), when()).await.unwrap_err();
    assert!(err.to_string().contains("writer killed"), "{err}");
    assert_eq!(listing(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_clinic_without_hand_off_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let names = handoff(dir.path(), dir.path(), XmlEncoding::Utf8)
        .write("2710000018", &result(), when())
        .await
        .unwrap();
    assert!(names.is_empty());
    assert_eq!(listing(dir.path()), Vec::<String>::new());
    assert!(
        Handoff::default()
            .write(CLINIC, &result(), when())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_unwritable_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let missing = file.join("xml");
    let err = handoff(&missing, dir.path(), XmlEncoding::Utf8)
        .write(CLINIC, &result(), when())
        .await
        .unwrap_err();
    let HandoffError::Write { path, .. } = err;
    assert_eq!(path, missing.display().to_string());
    assert_eq!(listing(dir.path()), vec!["not-a-folder".to_owned()]);
}

#[tokio::test]
async fn a_name_shift_jis_cannot_encode_is_an_error_not_a_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = result();
    r.results[0].name = Some("見本　𠮷子".to_owned());
    let err = handoff(dir.path(), dir.path(), XmlEncoding::ShiftJis)
        .write(CLINIC, &r, when())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Name"), "{err}");
    assert!(!err.to_string().contains('𠮷'), "{err}");
    assert_eq!(listing(dir.path()), Vec::<String>::new());
}
