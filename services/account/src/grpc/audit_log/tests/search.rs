//! ListAuditRecords: filters, the patient filter, refusals and the recording of reads.

use super::*;
use mynafleet_kit::patient_ref::PATIENT_LABEL;
use mynafleet_proto::audit::v1 as audit_pb;
use mynafleet_proto::prost_types::Timestamp;

const HOUR: i64 = 3_600_000_000;

fn at(micros: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap(),
    })
}

/// Returns the ids of the records a search finds, leaving out the account service's own
/// (the reads, and the set-up of the organization and its operators).
async fn ids(h: &Harness, token: &str, msg: pb::ListAuditRecordsRequest) -> Vec<String> {
    let got = h
        .client()
        .list_audit_records(authed(token, msg))
        .await
        .unwrap()
        .into_inner();
    assert!(got.next_page_token.is_empty());
    let mut ids: Vec<String> = got
        .records
        .into_iter()
        .filter(|r| r.producer != crate::audit::PRODUCER)
        .map(|r| r.id)
        .collect();
    ids.sort();
    ids
}

fn sorted(records: &[&StoredRecord]) -> Vec<String> {
    let mut ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    ids.sort();
    ids
}

pub(super) async fn every_filter_narrows_the_search(pool: AnyPool) {
    let h = Harness::start(pool).await;
    let token = h.operator(h.org, Role::Auditor, "auditor").await;
    let org = h.org;
    let clinic_a = format!("{}/clinics/{}", org.name(), uuid::Uuid::now_v7());
    let clinic_b = format!("{}/clinics/{}", org.name(), uuid::Uuid::now_v7());
    let device = format!("{clinic_a}/devices/{}", uuid::Uuid::now_v7());
    let t0 = h.config.clock.now_micros() - 10 * HOUR;
    let mut check = record(org, t0, "eligibility.check_card");
    check.actor = device.clone();
    check.clinic = clinic_a.clone();
    let mut renew = record(org, t0 + HOUR, "device.renew");
    renew.actor = "services/activation".into();
    renew.target = device.clone();
    renew.clinic = clinic_a.clone();
    let mut denied = record(org, t0 + 2 * HOUR, "eligibility.check_card");
    denied.actor = format!("{clinic_b}/devices/{}", uuid::Uuid::now_v7());
    denied.clinic = clinic_b.clone();
    denied.outcome = "denied".into();
    let mut login = record(org, t0 + 3 * HOUR, "session.login");
    login.actor = "someone@example.jp".into();
    login.outcome = "failure".into();
    let mut other = record(OrganizationId::new(), t0, "eligibility.check_card");
    other.actor = device.clone();
    h.ingest(&[
        check.clone(),
        renew.clone(),
        denied.clone(),
        login.clone(),
        other,
    ])
    .await;
    let base = || pb::ListAuditRecordsRequest {
        parent: org.name(),
        ..Default::default()
    };
    let all = sorted(&[&check, &renew, &denied, &login]);
    assert_eq!(ids(&h, &token, base()).await, all);
    let cases: Vec<(pb::ListAuditRecordsRequest, Vec<&StoredRecord>)> = vec![
        (
            pb::ListAuditRecordsRequest {
                action: "eligibility.check_card".into(),
                ..base()
            },
            vec![&check, &denied],
        ),
        (
            pb::ListAuditRecordsRequest {
                start_time: at(t0 + HOUR),
                end_time: at(t0 + 3 * HOUR),
                ..base()
            },
            vec![&renew, &denied],
        ),
        (
            pb::ListAuditRecordsRequest {
                start_time: at(t0 + 2 * HOUR),
                ..base()
            },
            vec![&denied, &login],
        ),
        (
            pb::ListAuditRecordsRequest {
                actor: "someone@example.jp".into(),
                ..base()
            },
            vec![&login],
        ),
        (
            pb::ListAuditRecordsRequest {
                actor: device.clone(),
                ..base()
            },
            vec![&check],
        ),
        (
            pb::ListAuditRecordsRequest {
                clinic: clinic_a.clone(),
                ..base()
            },
            vec![&check, &renew],
        ),
        (
            pb::ListAuditRecordsRequest {
                device: device.clone(),
                ..base()
            },
            vec![&check, &renew],
        ),
        (
            pb::ListAuditRecordsRequest {
                outcome: audit_pb::Outcome::Denied.into(),
                ..base()
            },
            vec![&denied],
        ),
        (
            pb::ListAuditRecordsRequest {
                outcome: audit_pb::Outcome::Failure.into(),
                action: "session.login".into(),
                ..base()
            },
            vec![&login],
        ),
    ];
    for (msg, want) in cases {
        let label = format!("{msg:?}");
        assert_eq!(ids(&h, &token, msg).await, sorted(&want), "{label}");
    }
}

pub(super) async fn the_patient_typed_full_width_finds_the_record_the_proxy_wrote(pool: AnyPool) {
    let h = Harness::start(pool).await;
    let token = h.operator(h.org, Role::Auditor, "auditor").await;
    // The proxy's reference: HMAC under the organization's patient key of the normalised
    // 保険者番号, 記号, 番号 and 枝番 (written here from the documented formula).
    let key = h
        .config
        .keys
        .reference
        .derive(PATIENT_LABEL, &h.org.stored());
    let patient_ref = key.hmac_hex(&["06139995", "12-34", "5678", "01"]);
    let mut check = record(
        h.org,
        h.config.clock.now_micros() - HOUR,
        "eligibility.check_numbers",
    );
    check.patient_ref = patient_ref.clone();
    check.patient_ref_key_id = key.id().to_owned();
    check.target = format!("patients/{patient_ref}");
    let mut someone_else = record(h.org, check.time, "eligibility.check_numbers");
    someone_else.patient_ref = key.hmac_hex(&["06139995", "12-34", "5679", "01"]);
    h.ingest(&[check.clone(), someone_else]).await;
    let search =
        |insurer: &str, symbol: &str, number: &str, branch: &str| pb::ListAuditRecordsRequest {
            parent: h.org.name(),
            patient: Some(pb::PatientFilter {
                insurer_number: insurer.into(),
                symbol: symbol.into(),
                number: number.into(),
                branch: branch.into(),
            }),
            ..Default::default()
        };
    let full = search("０６１３９９９５", "１２－３４", "５６７８　", "０１");
    assert_eq!(ids(&h, &token, full).await, vec![check.id.clone()]);
    let half = search("06139995", "12-34", "5678", "01");
    assert_eq!(ids(&h, &token, half).await, vec![check.id.clone()]);
    assert!(
        ids(&h, &token, search("06139995", "12-34", "9999", "01"))
            .await
            .is_empty()
    );
    // The record of the read carries the reference and the filter names, nothing clear.
    let filter = crate::store::audit_log::AuditFilter {
        action: Some("audit.read".into()),
        ..Default::default()
    };
    let (reads, _) = crate::store::audit_log::search(&h.pool, h.org, &filter, None, 10)
        .await
        .unwrap();
    assert_eq!(reads.len(), 3);
    let read = reads.iter().find(|r| r.patient_ref == patient_ref).unwrap();
    assert_eq!(read.patient_ref_key_id, h.config.keys.reference.id());
    assert_eq!(
        read.detail.get("filters").map(String::as_str),
        Some("patient")
    );
    for r in &reads {
        let all = format!("{r:?}");
        for clear in ["06139995", "５６７８", "5678", "9999", "１２－３４"] {
            assert!(!all.contains(clear), "{clear} stored: {all}");
        }
    }
}

pub(super) async fn an_incomplete_or_malformed_filter_is_refused_naming_the_field(pool: AnyPool) {
    let h = Harness::start(pool).await;
    let token = h.operator(h.org, Role::OrgAdmin, "admin").await;
    let base = || pb::ListAuditRecordsRequest {
        parent: h.org.name(),
        ..Default::default()
    };
    let patient = |insurer: &str, number: &str| pb::ListAuditRecordsRequest {
        patient: Some(pb::PatientFilter {
            insurer_number: insurer.into(),
            number: number.into(),
            symbol: "12".into(),
            ..Default::default()
        }),
        ..base()
    };
    let now = h.config.clock.now_micros();
    let other_org = format!(
        "{}/clinics/{}",
        OrganizationId::new().name(),
        uuid::Uuid::now_v7()
    );
    let cases: Vec<(pb::ListAuditRecordsRequest, &str, Vec<&str>)> = vec![
        (
            patient("06139995", ""),
            "AUDIT_PATIENT_INCOMPLETE",
            vec!["patient.number"],
        ),
        (
            patient("　", "5678"),
            "AUDIT_PATIENT_INCOMPLETE",
            vec!["patient.insurer_number"],
        ),
        (
            patient("0613999", "5678"),
            "AUDIT_FILTER_INVALID",
            vec!["patient.insurer_number"],
        ),
        (
            pb::ListAuditRecordsRequest {
                start_time: at(now),
                end_time: at(now - HOUR),
                ..base()
            },
            "AUDIT_FILTER_INVALID",
            vec!["end_time"],
        ),
        (
            pb::ListAuditRecordsRequest {
                actor: "organizations/x/operators/y".into(),
                clinic: other_org,
                device: "devices/d1".into(),
                outcome: 42,
                action: "Session Login".into(),
                ..base()
            },
            "AUDIT_FILTER_INVALID",
            vec!["actor", "clinic", "device", "outcome", "action"],
        ),
    ];
    for (msg, reason, fields) in cases {
        let label = format!("{msg:?}");
        let err = h
            .client()
            .list_audit_records(authed(&token, msg))
            .await
            .expect_err(&label);
        refused(&err, Code::InvalidArgument, reason, &fields);
    }
    // A refused search is not a read.
    assert_eq!(h.count("audit.read").await, 0);
}

pub(super) async fn a_search_is_recorded_once_and_its_token_serves_only_its_session_and_filters(
    pool: AnyPool,
) {
    let h = Harness::start(pool).await;
    let token = h.operator(h.org, Role::Auditor, "auditor").await;
    let colleague = h.operator(h.org, Role::Auditor, "auditor2").await;
    let t0 = h.config.clock.now_micros() - HOUR;
    let records: Vec<_> = (0..5)
        .map(|i| record(h.org, t0 + i, "device.renew"))
        .collect();
    h.ingest(&records).await;
    let first = pb::ListAuditRecordsRequest {
        parent: h.org.name(),
        action: "device.renew".into(),
        page_size: 2,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut page = h
        .client()
        .list_audit_records(authed(&token, first.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        h.count("audit.read").await,
        1,
        "recorded before the first page"
    );
    let second_token = page.next_page_token.clone();
    loop {
        seen.extend(page.records.iter().map(|r| r.id.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        let next = pb::ListAuditRecordsRequest {
            page_token: page.next_page_token.clone(),
            ..first.clone()
        };
        page = h
            .client()
            .list_audit_records(authed(&token, next))
            .await
            .unwrap()
            .into_inner();
    }
    // Newest first, every record once, one recorded read for the whole walk.
    let want: Vec<String> = records.iter().rev().map(|r| r.id.clone()).collect();
    assert_eq!(seen, want);
    assert_eq!(h.count("audit.read").await, 1);
    // Another session, or another search, cannot continue that read unrecorded.
    let stolen = pb::ListAuditRecordsRequest {
        page_token: second_token.clone(),
        ..first.clone()
    };
    let err = h
        .client()
        .list_audit_records(authed(&colleague, stolen))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let widened = pb::ListAuditRecordsRequest {
        page_token: second_token,
        action: String::new(),
        ..first
    };
    let err = h
        .client()
        .list_audit_records(authed(&token, widened))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(h.count("audit.read").await, 1);
}
