use super::*;
use crate::audit_chain::testing::{chain, sealed_chain, test_origin};
use crate::audit_chain::{KeyRing, ZERO_HASH, entry_hash, origin};

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
    let r = record_from_pb(&pb_record).unwrap();
    assert_eq!(r.time, 1_790_000_000_123_456);
    assert_eq!(r.outcome, "denied");
    assert_eq!(r.detail.keys().collect::<Vec<_>>(), ["a", "b"]);

    let o = origin("organizations/o");
    let hash = entry_hash(&o, 1, &ZERO_HASH, &r);
    let e = entry_from_pb(&pb::ChainEntry {
        seq: 1,
        prev_hash: hash_hex(&ZERO_HASH),
        hash: hash_hex(&hash),
        encoding: ENCODING.into(),
        record: Some(pb_record),
    })
    .unwrap();
    assert_eq!(entry_hash(&o, 1, &e.prev_hash, &e.record), e.hash);
}

#[test]
fn entries_checkpoints_and_keys_come_back_from_the_wire_as_they_were_sent() {
    let (entries, checkpoints, signer) = sealed_chain(7, 3);
    for e in chain(7) {
        let sent = entry_to_pb(e.clone());
        assert_eq!(sent.encoding, ENCODING);
        let back = entry_from_pb(&sent).unwrap();
        assert_eq!(back, e);
        assert_eq!(
            entry_hash(&test_origin(), back.seq, &back.prev_hash, &back.record),
            back.hash,
            "seq {} hashes as it was hashed",
            back.seq
        );
    }
    assert_eq!(entries.len(), 7);
    let key = key_from_pb(&key_to_pb(signer.public_key(), true)).unwrap();
    for c in &checkpoints {
        let sent = checkpoint_to_pb(c);
        assert_eq!(sent.note, c.note());
        let back = checkpoint_from_pb(&sent).unwrap();
        assert_eq!(&back, c);
        back.verify(&KeyRing(vec![key.clone()])).unwrap();
    }
}

#[test]
fn times_before_the_epoch_and_every_outcome_survive_the_round_trip() {
    for t in [0, 1, -1, -1_500_000, 1_790_000_000_123_456, i64::MAX] {
        assert_eq!(micros(&timestamp(t)), Some(t), "{t}");
    }
    assert_eq!(
        micros(&Timestamp {
            seconds: 1,
            nanos: 1_000_000_000
        }),
        None
    );
    for o in [
        pb::Outcome::Success,
        pb::Outcome::Failure,
        pb::Outcome::Denied,
        pb::Outcome::Unspecified,
    ] {
        assert_eq!(outcome_from_name(outcome_name(o)), o);
    }
    assert_eq!(outcome_from_name("maybe"), pb::Outcome::Unspecified);
}

#[test]
fn malformed_wire_values_are_refused_with_the_seq_size_or_key() {
    let e = entry_from_pb(&pb::ChainEntry {
        seq: 9,
        prev_hash: "zz".into(),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("seq 9"), "{e}");
    let e = entry_from_pb(&pb::ChainEntry {
        seq: 4,
        prev_hash: hash_hex(&ZERO_HASH),
        hash: hash_hex(&ZERO_HASH),
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(e, WireError::MissingRecord(4));
    let e = checkpoint_from_pb(&pb::Checkpoint {
        size: 12,
        head_hash: hash_hex(&ZERO_HASH),
        signature: "AAAA".into(),
        time: Some(timestamp(1)),
        ..Default::default()
    })
    .unwrap_err();
    assert!(e.to_string().contains("size 12"), "{e}");
    let e = key_from_pb(&pb::SigningKey {
        key_id: "0011223344556677".into(),
        algorithm: "ed25519".into(),
        public_key: "AAAA".into(),
        current: true,
    })
    .unwrap_err();
    assert!(e.to_string().contains("0011223344556677"), "{e}");
}
