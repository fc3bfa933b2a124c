//! ReadAuditChain, CreateCheckpoint and ListSigningKeys.

use super::*;
use crate::grpc::audit_log::chain::FIRST_RETAINED_SEQ;
use crate::store::audit_chain;
use mynafleet_kit::audit_chain::{
    ChainRecord, Checkpoint, KeyRing, PublicKey, ZERO_HASH, entry_hash, hash_hex, origin, wire,
};
use mynafleet_proto::audit::v1 as audit_pb;

/// Returns the record of `e` as the chain covers it.
fn chain_record(e: &audit_pb::ChainEntry) -> ChainRecord {
    wire::record_from_pb(e.record.as_ref().unwrap()).unwrap()
}

/// Returns a checkpoint read from the wire, whose note is the one sent.
fn checkpoint(c: &audit_pb::Checkpoint) -> Checkpoint {
    let parsed = wire::checkpoint_from_pb(c).unwrap();
    assert_eq!(parsed.note(), c.note);
    parsed
}

async fn add(h: &Harness, n: usize) {
    let now = h.config.clock.now_micros();
    let records: Vec<_> = (0..n).map(|_| record(h.org, now, "device.renew")).collect();
    h.ingest(&records).await;
}

async fn seal(h: &Harness) -> Checkpoint {
    crate::audit_seal::seal_now(
        &h.pool,
        &h.config.keys.audit_signing,
        &h.config.clock,
        &h.org.name(),
    )
    .await
    .unwrap()
}

/// Starts a harness with an auditor's token over a chain of four records sealed by a
/// checkpoint, followed by `more` records.
async fn sealed_at_four(pool: AnyPool, more: usize) -> (Harness, String, Checkpoint) {
    let h = Harness::start(pool).await;
    let token = h.operator(h.org, Role::Auditor, "auditor").await;
    add(&h, 4).await;
    let sealed = seal(&h).await;
    add(&h, more).await;
    (h, token, sealed)
}

pub(super) async fn a_chain_read_is_recorded_once_and_pages_in_order_with_its_checkpoints(
    pool: AnyPool,
) {
    let (h, token, sealed) = sealed_at_four(pool, 3).await;
    let chain = h.org.name();
    let mut request = pb::ReadAuditChainRequest {
        parent: chain.clone(),
        page_size: 3,
        ..Default::default()
    };
    let mut entries = Vec::new();
    let mut checkpoints = Vec::new();
    let mut pages = 0;
    let last = loop {
        let page = h
            .client()
            .read_audit_chain(authed(&token, request.clone()))
            .await
            .unwrap()
            .into_inner();
        pages += 1;
        assert_eq!(page.origin, origin(&chain));
        assert_eq!(page.encoding, mynafleet_kit::audit_chain::ENCODING);
        assert!(page.entries.len() <= 3);
        assert!(page.anchor.is_none());
        assert!(!page.next_page_token.is_empty(), "a token even at the head");
        entries.extend(page.entries.clone());
        checkpoints.extend(page.checkpoints.clone());
        if page.entries.is_empty() {
            break page;
        }
        request.page_token = page.next_page_token;
    };
    // The export was recorded once, before the first page: it is in the chain it read.
    assert_eq!(h.count("audit.export").await, 1);
    let size = audit_chain::head(&h.pool, &chain)
        .await
        .unwrap()
        .unwrap()
        .size;
    assert_eq!(last.chain_size, size);
    assert_eq!(entries.len() as i64, size);
    assert!(pages >= 3);
    let mut prev = ZERO_HASH;
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, i as i64 + 1);
        assert_eq!(e.prev_hash, hash_hex(&prev));
        let hash = entry_hash(&origin(&chain), e.seq, &prev, &chain_record(e));
        assert_eq!(e.hash, hash_hex(&hash), "seq {}", e.seq);
        prev = hash;
    }
    assert!(
        entries
            .iter()
            .any(|e| e.record.as_ref().unwrap().action == "audit.export")
    );
    // The checkpoint inside the range came with it, and it seals entry `size`.
    let got: Vec<Checkpoint> = checkpoints.iter().map(checkpoint).collect();
    assert_eq!(got, vec![sealed.clone()]);
    assert_eq!(
        entries[sealed.size as usize - 1].hash,
        hash_hex(&sealed.head)
    );
    // Following the head's token later returns what was appended since.
    add(&h, 2).await;
    let tail = h
        .client()
        .read_audit_chain(authed(&token, request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        tail.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [size + 1, size + 2]
    );
    assert_eq!(h.count("audit.export").await, 1);
    // Someone else's session cannot continue the read.
    let colleague = h.operator(h.org, Role::Auditor, "auditor2").await;
    let err = h
        .client()
        .read_audit_chain(authed(&colleague, request))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
}

/// Returns the checkpoint CreateCheckpoint makes of `h`'s chain for `token`.
async fn create_checkpoint(h: &Harness, token: &str) -> Checkpoint {
    let request = pb::CreateCheckpointRequest {
        parent: h.org.name(),
    };
    let made = h
        .client()
        .create_checkpoint(authed(token, request))
        .await
        .unwrap()
        .into_inner()
        .checkpoint
        .unwrap();
    checkpoint(&made)
}

pub(super) async fn a_created_checkpoint_verifies_with_the_listed_key(pool: AnyPool) {
    let h = Harness::start(pool).await;
    let token = h.operator(h.org, Role::OrgAdmin, "admin").await;
    add(&h, 3).await;
    let made = create_checkpoint(&h, &token).await;
    let keys = h
        .client()
        .list_signing_keys(authed(&token, pb::ListSigningKeysRequest {}))
        .await
        .unwrap()
        .into_inner()
        .keys;
    assert_eq!(keys.len(), 1);
    assert!(keys[0].current);
    assert_eq!(keys[0].algorithm, "ed25519");
    // A raw Ed25519 key in base64 whose bytes have the id it is listed under.
    let key = wire::key_from_pb(&keys[0]).unwrap();
    made.verify(&KeyRing(vec![key.clone()])).unwrap();
    // It seals the head, which already holds the record of this checkpoint's creation.
    let head = audit_chain::head(&h.pool, &h.org.name())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((made.size, made.head), (head.size, head.head));
    assert_eq!(made.origin, origin(&h.org.name()));
    assert_eq!(h.count("audit.checkpoint").await, 1);
    // A second request records itself too, so it seals a head one record further.
    let again = create_checkpoint(&h, &token).await;
    assert_eq!(again.size, made.size + 1);
    again.verify(&KeyRing(vec![key])).unwrap();
    // A key that did not sign it does not verify it.
    let stranger = mynafleet_kit::audit_chain::Signer::generate().unwrap().0;
    assert!(
        again
            .verify(&KeyRing(vec![PublicKey {
                key_id: again.key_id.clone(),
                ..stranger.public_key().clone()
            }]))
            .is_err()
    );
}

pub(super) async fn a_read_into_a_pruned_segment_is_refused_and_zero_starts_at_the_anchor(
    pool: AnyPool,
) {
    let (h, token, anchor) = sealed_at_four(pool, 2).await;
    let later = h.config.clock.now_micros() + 2 * 86_400_000_000;
    let pruned = crate::audit_seal::retention_round(&h.pool, Duration::from_secs(86_400), later)
        .await
        .unwrap();
    assert_eq!(pruned, vec![(h.org.name(), anchor.size)]);
    let read = |after_seq: i64| pb::ReadAuditChainRequest {
        parent: h.org.name(),
        after_seq,
        ..Default::default()
    };
    let err = h
        .client()
        .read_audit_chain(authed(&token, read(1)))
        .await
        .unwrap_err();
    refused(&err, Code::FailedPrecondition, "AUDIT_SEQ_PRUNED", &[]);
    let first = (anchor.size + 1).to_string();
    assert_eq!(
        err.metadata()
            .get(FIRST_RETAINED_SEQ)
            .and_then(|v| v.to_str().ok()),
        Some(first.as_str())
    );
    assert!(err.message().contains(&first), "{}", err.message());
    for after_seq in [0, anchor.size] {
        let page = h
            .client()
            .read_audit_chain(authed(&token, read(after_seq)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.entries[0].seq, anchor.size + 1);
        let got = checkpoint(page.anchor.as_ref().unwrap());
        assert_eq!(got, anchor);
        assert_eq!(page.entries[0].prev_hash, hash_hex(&anchor.head));
    }
    // A tail longer than what retention kept starts at the anchor too.
    let tail = pb::ReadAuditChainRequest {
        parent: h.org.name(),
        last: 100,
        page_size: 100,
        ..Default::default()
    };
    let page = h
        .client()
        .read_audit_chain(authed(&token, tail))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.entries[0].seq, anchor.size + 1);
    assert_eq!(checkpoint(page.anchor.as_ref().unwrap()), anchor);
}

pub(super) async fn a_tail_read_returns_the_last_entries_and_is_recorded_once(pool: AnyPool) {
    let (h, token, _) = sealed_at_four(pool, 6).await;
    let tail = |last: i32, after_seq: i64| pb::ReadAuditChainRequest {
        parent: h.org.name(),
        page_size: 3,
        last,
        after_seq,
        ..Default::default()
    };
    let size = audit_chain::head(&h.pool, &h.org.name())
        .await
        .unwrap()
        .unwrap()
        .size;
    let page = h
        .client()
        .read_audit_chain(authed(&token, tail(3, 0)))
        .await
        .unwrap()
        .into_inner();
    // The chain's last two, then the read's own record.
    let seqs: Vec<i64> = page.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [size - 1, size, size + 1]);
    assert_eq!(page.chain_size, size + 1);
    let own = page.entries[2].record.as_ref().unwrap();
    assert_eq!(own.action, "audit.export");
    assert_eq!(own.detail.get("last").map(String::as_str), Some("3"));
    assert_eq!(h.count("audit.export").await, 1);
    // Its token follows the head: nothing new, and no second record.
    let mut next = tail(3, 0);
    next.page_token = page.next_page_token;
    let followed = h
        .client()
        .read_audit_chain(authed(&token, next))
        .await
        .unwrap()
        .into_inner();
    assert!(followed.entries.is_empty(), "{:?}", followed.entries);
    assert_eq!(h.count("audit.export").await, 1);
    // More than the chain holds: from seq 1.
    let mut all = tail(50, 0);
    all.page_size = 50;
    let page = h
        .client()
        .read_audit_chain(authed(&token, all))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.entries.first().map(|e| e.seq), Some(1));
    assert_eq!(page.entries.len() as i64, size + 2);
    for (bad, why) in [(tail(3, 2), "last"), (tail(-1, 0), "last")] {
        let err = h
            .client()
            .read_audit_chain(authed(&token, bad))
            .await
            .unwrap_err();
        refused(&err, Code::InvalidArgument, "INVALID_FIELD", &[why]);
    }
}
