//! Conformance of the chain store on SQLite and PostgreSQL: appends link and hash as the
//! kit defines, ingest is idempotent without gaps, the database refuses changes, retention
//! removes only sealed segments, legacy records are adopted, and concurrent writers of one
//! organization make one gap-free chain.

use super::*;
use crate::audit::{self, ActionCode, AuditEntry, RequestMeta};
use crate::auth::Actor;
use crate::organization::OrganizationId;
use crate::store::audit_log::ingest;
use mynafleet_kit::audit_chain::{Checkpoint, Signer};
use std::collections::BTreeMap;

mod concurrency;
mod retention;

use concurrency::eight_concurrent_writers_make_one_gap_free_chain;
use retention::{
    adopt_unchained_chains_legacy_records_oldest_first,
    delete_is_allowed_only_inside_a_pruned_segment,
    prune_keeps_the_anchor_checkpoint_and_the_rest_links_to_it,
    pruned_through_moves_only_forward_and_only_to_a_checkpoint,
};

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    appends_link_every_entry_to_the_one_before,
    ingest_twice_adds_no_entry_and_leaves_no_gap,
    a_record_id_in_another_chain_fails_the_call_and_leaves_nothing,
    the_database_refuses_to_change_or_delete_a_chained_record,
    checkpoints_are_stored_once_per_size_and_read_back,
    a_checkpoint_that_disagrees_with_the_chain_is_refused,
    signing_keys_are_remembered_once_and_listed_oldest_first,
    delete_is_allowed_only_inside_a_pruned_segment,
    pruned_through_moves_only_forward_and_only_to_a_checkpoint,
    prune_keeps_the_anchor_checkpoint_and_the_rest_links_to_it,
    adopt_unchained_chains_legacy_records_oldest_first,
    eight_concurrent_writers_make_one_gap_free_chain,
);

/// Returns a record as a forwarding service would send it.
pub(super) fn record(org: Option<OrganizationId>, time: i64, action: &str) -> StoredRecord {
    StoredRecord {
        id: uuid::Uuid::now_v7().to_string(),
        organization: org,
        time,
        producer: "eligibility-proxy".into(),
        actor_kind: "device".into(),
        actor: "organizations/o/clinics/c/devices/d".into(),
        actor_role: "一般".into(),
        auth_method: "mtls".into(),
        session_ref: String::new(),
        action: action.into(),
        action_code: "E".into(),
        clinic: "organizations/o/clinics/c".into(),
        target: "organizations/o/clinics/c/devices/d".into(),
        outcome: "success".into(),
        reason: String::new(),
        source_address: "198.51.100.9:50000".into(),
        request_id: String::new(),
        patient_ref: "ab".repeat(32),
        patient_ref_key_id: "0123456789ab".into(),
        traceparent: String::new(),
        detail: BTreeMap::from([("validity".to_owned(), "1".to_owned())]),
    }
}

/// Returns every entry of `chain`, in seq order.
pub(super) async fn all(pool: &AnyPool, chain: &str) -> Vec<Entry> {
    read(pool, chain, 0, 100_000).await.unwrap()
}

/// Asserts that `entries` are seqs `first..` linked from `prev`, each hash recomputed.
pub(super) fn assert_links(chain: &str, entries: &[Entry], first: i64, mut prev: Hash) {
    let origin = kit::origin(chain);
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.seq, first + i as i64, "seq of entry {i}");
        assert_eq!(e.prev_hash, prev, "prev_hash of seq {}", e.seq);
        assert_eq!(
            e.hash,
            kit::entry_hash(&origin, e.seq, &prev, &e.record),
            "hash of seq {}",
            e.seq
        );
        prev = e.hash;
    }
}

/// Returns a signed checkpoint of `chain`'s current head.
pub(super) async fn seal(pool: &AnyPool, signer: &Signer, chain: &str, time: i64) -> Checkpoint {
    let h = head(pool, chain).await.unwrap().unwrap();
    let c = signer.sign(&kit::origin(chain), h.size, h.head, time);
    put_checkpoint(pool, chain, &c).await.unwrap()
}

/// Returns a new organization whose chain holds two records, the chain's name and a signer.
async fn chain_of_two(pool: &AnyPool) -> (OrganizationId, String, Signer) {
    let o = OrganizationId::new();
    ingest(
        pool,
        &[record(Some(o), 1, "x.y"), record(Some(o), 2, "x.y")],
    )
    .await
    .unwrap();
    (o, o.name(), signer())
}

pub(super) fn signer() -> Signer {
    Signer::generate().unwrap().0
}

async fn appends_link_every_entry_to_the_one_before(pool: AnyPool) {
    let a = OrganizationId::new();
    let b = OrganizationId::new();
    let batch = [
        record(Some(b), 10, "eligibility.check_card"),
        record(Some(a), 20, "eligibility.check_card"),
        record(None, 30, "activation.attempt"),
        record(Some(a), 5, "eligibility.check_numbers"),
    ];
    assert_eq!(ingest(&pool, &batch).await.unwrap(), 4);
    // The account's own records join the same chain, in the transaction of their change.
    let own = AuditEntry::new(
        &Actor::Service("tests".into()),
        &RequestMeta::default(),
        40,
        "organization.update",
        ActionCode::Update,
    )
    .organization(a);
    audit::append_alone(&pool, &own).await.unwrap();

    let chain_a = a.name();
    let entries = all(&pool, &chain_a).await;
    assert_links(&chain_a, &entries, 1, ZERO_HASH);
    // In the order written, not by time.
    assert_eq!(
        entries
            .iter()
            .map(|e| e.record.id.clone())
            .collect::<Vec<_>>(),
        vec![batch[1].id.clone(), batch[3].id.clone(), own.id.to_string()]
    );
    assert_eq!(entries[0].record, batch[1].to_chain_record());
    assert_eq!(entries[0].record.organization, chain_a);
    assert_eq!(entries[2].record.producer, "account");
    let h = head(&pool, &chain_a).await.unwrap().unwrap();
    assert_eq!(
        h,
        ChainHead {
            chain: chain_a.clone(),
            size: 3,
            head: entries[2].hash,
            pruned_through: 0,
            checkpointed: 0,
        }
    );

    let deployment = all(&pool, kit::DEPLOYMENT_CHAIN).await;
    assert_links(kit::DEPLOYMENT_CHAIN, &deployment, 1, ZERO_HASH);
    assert_eq!(deployment.len(), 1);
    assert_eq!(deployment[0].record.organization, "");
    assert_links(&b.name(), &all(&pool, &b.name()).await, 1, ZERO_HASH);

    // Paged reads continue where the last one ended.
    let tail = read(&pool, &chain_a, 1, 1).await.unwrap();
    assert_eq!(tail, entries[1..2]);
    assert_eq!(
        head(&pool, &OrganizationId::new().name()).await.unwrap(),
        None
    );
    // An entry cannot move to another place: its hash names origin and seq.
    assert_ne!(
        kit::entry_hash(&kit::origin(&b.name()), 1, &ZERO_HASH, &entries[0].record),
        entries[0].hash
    );
}

async fn ingest_twice_adds_no_entry_and_leaves_no_gap(pool: AnyPool) {
    let org = OrganizationId::new();
    let o = Some(org);
    let first: Vec<_> = (0..5).map(|t| record(o, t, "x.y")).collect();
    assert_eq!(ingest(&pool, &first).await.unwrap(), 5);
    // A forwarder that lost the reply resends, with new records mixed in and one repeated.
    let mut again = first.clone();
    let new = record(o, 9, "x.z");
    again.insert(2, new.clone());
    again.push(new.clone());
    assert_eq!(ingest(&pool, &again).await.unwrap(), 1);
    assert_eq!(ingest(&pool, &first).await.unwrap(), 0);
    let chain = org.name();
    let entries = all(&pool, &chain).await;
    assert_eq!(entries.len(), 6);
    assert_links(&chain, &entries, 1, ZERO_HASH);
    assert_eq!(entries[5].record.id, new.id);
    assert_eq!(head(&pool, &chain).await.unwrap().unwrap().size, 6);
}

async fn a_record_id_in_another_chain_fails_the_call_and_leaves_nothing(pool: AnyPool) {
    let a = OrganizationId::new();
    let b = OrganizationId::new();
    let r = record(Some(a), 1, "x.y");
    ingest(&pool, std::slice::from_ref(&r)).await.unwrap();
    let mut stolen = r.clone();
    stolen.organization = Some(b);
    let fresh_b = record(Some(b), 2, "x.y");
    let fresh_a = record(Some(a), 3, "x.y");
    let err = ingest(&pool, &[fresh_a.clone(), fresh_b, stolen])
        .await
        .unwrap_err();
    assert!(matches!(err, crate::error::Error::Db(_)), "{err:?}");
    // Nothing of the call stayed: no entry, no moved head, in either chain.
    assert_eq!(all(&pool, &a.name()).await.len(), 1);
    assert_eq!(head(&pool, &a.name()).await.unwrap().unwrap().size, 1);
    assert!(all(&pool, &b.name()).await.is_empty());
    assert_eq!(head(&pool, &b.name()).await.unwrap().map(|h| h.size), None);
    // The same id twice in one call, in two chains, fails the same way.
    let mut twin = fresh_a.clone();
    twin.organization = Some(b);
    assert!(ingest(&pool, &[fresh_a, twin]).await.is_err());
    assert_eq!(all(&pool, &a.name()).await.len(), 1);
}

async fn the_database_refuses_to_change_or_delete_a_chained_record(pool: AnyPool) {
    let o = OrganizationId::new();
    let r = record(Some(o), 1, "x.y");
    ingest(&pool, std::slice::from_ref(&r)).await.unwrap();
    let before = all(&pool, &o.name()).await;
    for sql in [
        "UPDATE audit_records SET outcome = 'failure' WHERE id = $1",
        "UPDATE audit_records SET hash = prev_hash WHERE id = $1",
        "DELETE FROM audit_records WHERE id = $1",
    ] {
        let res = sqlx::query(sql).bind(&r.id).execute(&pool).await;
        assert!(res.is_err(), "{sql} was allowed");
    }
    for sql in [
        "DELETE FROM audit_chains WHERE chain = $1",
        "UPDATE audit_chains SET size = 0 WHERE chain = $1",
    ] {
        let res = sqlx::query(sql).bind(o.name()).execute(&pool).await;
        assert!(res.is_err(), "{sql} was allowed");
    }
    assert_eq!(all(&pool, &o.name()).await, before);
    assert_eq!(head(&pool, &o.name()).await.unwrap().unwrap().size, 1);
}

async fn checkpoints_are_stored_once_per_size_and_read_back(pool: AnyPool) {
    let (o, chain, s) = chain_of_two(&pool).await;
    assert_eq!(unsealed(&pool).await.unwrap().len(), 1);
    let two = seal(&pool, &s, &chain, 100).await;
    assert_eq!(two.size, 2);
    assert!(
        two.verify(&mynafleet_kit::audit_chain::KeyRing(vec![
            s.public_key().clone()
        ]))
        .is_ok()
    );
    // Another replica signs the same head later: the first stays.
    let again = s.sign(&kit::origin(&chain), 2, two.head, 200);
    assert_eq!(put_checkpoint(&pool, &chain, &again).await.unwrap(), two);
    assert!(unsealed(&pool).await.unwrap().is_empty());

    ingest(&pool, &[record(Some(o), 3, "x.y")]).await.unwrap();
    let grown = unsealed(&pool).await.unwrap();
    assert_eq!(grown.len(), 1);
    assert_eq!((grown[0].size, grown[0].checkpointed), (3, 2));
    let three = seal(&pool, &s, &chain, 300).await;
    let empty = s.sign(&kit::origin(&chain), 0, ZERO_HASH, 50);
    let zero = put_checkpoint(&pool, &chain, &empty).await.unwrap();

    assert_eq!(
        checkpoints(&pool, &chain, 0, 10).await.unwrap(),
        vec![zero, two.clone(), three.clone()]
    );
    assert_eq!(
        checkpoints(&pool, &chain, 1, 2).await.unwrap(),
        vec![two.clone()]
    );
    assert_eq!(checkpoint_at(&pool, &chain, 2).await.unwrap(), Some(two));
    assert_eq!(checkpoint_at(&pool, &chain, 1).await.unwrap(), None);
    assert_eq!(latest_checkpoint(&pool, &chain).await.unwrap(), Some(three));
    assert_eq!(head(&pool, &chain).await.unwrap().unwrap().checkpointed, 3);
    assert_eq!(latest_checkpoint(&pool, "deployment").await.unwrap(), None);
    // Stored checkpoints never change.
    let res = sqlx::query("UPDATE audit_checkpoints SET time = 1 WHERE chain = $1")
        .bind(&chain)
        .execute(&pool)
        .await;
    assert!(res.is_err());
    let res = sqlx::query("DELETE FROM audit_checkpoints WHERE chain = $1")
        .bind(&chain)
        .execute(&pool)
        .await;
    assert!(res.is_err());
    assert_eq!(checkpoints(&pool, &chain, 0, 10).await.unwrap().len(), 3);
}

async fn a_checkpoint_that_disagrees_with_the_chain_is_refused(pool: AnyPool) {
    let (_, chain, s) = chain_of_two(&pool).await;
    let entries = all(&pool, &chain).await;
    let origin = kit::origin(&chain);
    for bad in [
        s.sign(&origin, 2, entries[0].hash, 1),
        s.sign(&origin, 3, entries[1].hash, 1),
        s.sign(&kit::origin("deployment"), 2, entries[1].hash, 1),
        s.sign(&origin, 0, entries[1].hash, 1),
    ] {
        let err = put_checkpoint(&pool, &chain, &bad).await.unwrap_err();
        assert!(
            matches!(
                err,
                crate::error::Error::Precondition {
                    reason: "AUDIT_CHECKPOINT_MISMATCH",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert!(checkpoints(&pool, &chain, 0, 10).await.unwrap().is_empty());
}

async fn signing_keys_are_remembered_once_and_listed_oldest_first(pool: AnyPool) {
    let old = signer();
    let new = signer();
    remember_key(&pool, new.public_key(), 200).await.unwrap();
    remember_key(&pool, old.public_key(), 100).await.unwrap();
    remember_key(&pool, new.public_key(), 300).await.unwrap();
    assert_eq!(
        keys(&pool).await.unwrap(),
        vec![old.public_key().clone(), new.public_key().clone()]
    );
}
