use super::*;
use mynafleet_kit::audit_chain::{ZERO_HASH, entry_hash, hash_hex, origin};

#[test]
fn wire_records_become_the_chain_record_the_server_hashed() {
    let pb_record = pb::AuditRecord {
        id: "r1".into(),
        organization: "organizations/o".into(),
        time: Some(Timestamp {
            seconds: 1_790_000_000,
            nanos: 123_456_000,
        }),
        actor: "organizations/o/operators/a".into(),
        action: "clinic.create".into(),
        outcome: pb::Outcome::Denied.into(),
        detail: [
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "1".to_owned()),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let r = record(&pb_record);
    assert_eq!(r.time, 1_790_000_000_123_456);
    assert_eq!(r.outcome, "denied");
    assert_eq!(r.detail.keys().collect::<Vec<_>>(), ["a", "b"]);

    let o = origin("organizations/o");
    let hash = entry_hash(&o, 1, &ZERO_HASH, &r);
    let e = entry(&pb::ChainEntry {
        seq: 1,
        prev_hash: hash_hex(&ZERO_HASH),
        hash: hash_hex(&hash),
        encoding: mynafleet_kit::audit_chain::ENCODING.into(),
        record: Some(pb_record),
    })
    .unwrap();
    assert_eq!(entry_hash(&o, 1, &e.prev_hash, &e.record), e.hash);
}

#[test]
fn malformed_wire_values_are_refused_with_the_seq() {
    let e = entry(&pb::ChainEntry {
        seq: 9,
        prev_hash: "zz".into(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(format!("{e:#}").contains("seq 9"), "{e:#}");
    let e = key(&pb::SigningKey {
        key_id: "0011223344556677".into(),
        algorithm: "ed25519".into(),
        public_key: "AAAA".into(),
        current: true,
    })
    .unwrap_err();
    assert!(format!("{e:#}").contains("0011223344556677"), "{e:#}");
}
