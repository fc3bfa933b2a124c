//! Checks of forwarded audit records, record by record.

use super::*;
use mynafleet_proto::prost_types::Timestamp;

const ORG: &str = "organizations/0190a000-0000-7000-8000-000000000001";

fn good() -> audit_pb::AuditRecord {
    audit_pb::AuditRecord {
        id: "0190A000-0000-7000-8000-0000000000AA".into(),
        organization: ORG.into(),
        time: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_456_789,
        }),
        actor: "organizations/x/clinics/y/accounts/W0000001".into(),
        action: "activation.attempt".into(),
        outcome: audit_pb::Outcome::Failure.into(),
        reason: "CODE_MISMATCH".into(),
        producer: "activation".into(),
        actor_kind: "terminal".into(),
        ..Default::default()
    }
}

fn fields(e: Error) -> Vec<String> {
    match e {
        Error::AuditRecordInvalid(v) => v.into_iter().map(|v| v.field).collect(),
        other => panic!("expected AUDIT_RECORD_INVALID, got {other:?}"),
    }
}

#[test]
fn a_good_record_is_kept_as_sent_with_its_id_normalised() {
    let rows = records_from_pb("activation", vec![good()]).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.id, "0190a000-0000-7000-8000-0000000000aa");
    assert_eq!(r.organization.map(|o| o.name()).as_deref(), Some(ORG));
    assert_eq!(r.time, 1_700_000_000_123_456);
    assert_eq!(r.outcome, "failure");
    assert_eq!(r.producer, "activation");
    assert_eq!(r.actor_kind, "terminal");
    assert_eq!(r.reason, "CODE_MISMATCH");
}

#[test]
fn an_empty_organization_is_kept_as_none() {
    let mut r = good();
    r.organization.clear();
    let rows = records_from_pb("activation", vec![r]).unwrap();
    assert_eq!(rows[0].organization, None);
}

#[test]
fn every_fault_is_named_with_its_record_index() {
    let mut no_id = good();
    no_id.id = "not-a-uuid".into();
    let mut no_time = good();
    no_time.time = None;
    let mut bad_nanos = good();
    bad_nanos.time = Some(Timestamp {
        seconds: 1,
        nanos: -1,
    });
    let mut other_producer = good();
    other_producer.producer = "eligibility-proxy".into();
    let mut bad_org = good();
    bad_org.organization = "clinics/1".into();
    let mut no_outcome = good();
    no_outcome.outcome = 0;
    let batch = vec![
        good(),
        no_id,
        no_time,
        bad_nanos,
        other_producer,
        bad_org,
        no_outcome,
    ];
    let e = records_from_pb("activation", batch).unwrap_err();
    assert_eq!(
        fields(e),
        vec![
            "records[1].id",
            "records[2].time",
            "records[3].time",
            "records[4].producer",
            "records[5].organization",
            "records[6].outcome",
        ]
    );
}

#[test]
fn a_record_claiming_another_producer_is_refused_even_alone() {
    let e = records_from_pb("eligibility-proxy", vec![good()]).unwrap_err();
    assert_eq!(fields(e), vec!["records[0].producer"]);
    let status = tonic::Status::from(records_from_pb("x", vec![good()]).unwrap_err());
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        mynafleet_kit::status::reason_of(&status).as_deref(),
        Some("AUDIT_RECORD_INVALID")
    );
}

#[test]
fn batches_are_bounded_and_fields_too() {
    let e = records_from_pb("activation", vec![good(); MAX_RECORDS + 1]).unwrap_err();
    assert!(matches!(e, Error::InvalidFields(_)), "{e:?}");
    assert_eq!(
        records_from_pb("activation", vec![good(); MAX_RECORDS])
            .unwrap()
            .len(),
        MAX_RECORDS
    );
    let mut long = good();
    long.target = "x".repeat(MAX_FIELD_BYTES + 1);
    assert_eq!(
        fields(records_from_pb("activation", vec![long]).unwrap_err()),
        vec!["records[0].target"]
    );
}

#[test]
fn detail_is_kept_as_sent_within_bounds() {
    let mut r = good();
    r.detail.insert("identity_method".into(), "pin".into());
    r.detail.insert("validity".into(), "1".into());
    let rows = records_from_pb("activation", vec![r]).unwrap();
    assert_eq!(
        rows[0].detail.get("identity_method").map(String::as_str),
        Some("pin")
    );
    let mut bad_key = good();
    bad_key.detail.insert("Not A Key".into(), "x".into());
    let mut too_long = good();
    too_long.detail.insert("note".into(), "x".repeat(5000));
    let e = records_from_pb("activation", vec![bad_key, too_long]).unwrap_err();
    assert_eq!(fields(e), ["records[0].detail", "records[1].detail.note"]);
}
