//! The checkpointer, `seal_now`, retention and start-up on SQLite and PostgreSQL, driven
//! round by round with explicit times (no sleeping): a chain is sealed once it grew N records
//! or its newest checkpoint is old, replicas sealing at once store one checkpoint, an
//! unmoved head is not sealed twice, and retention releases only old sealed segments.

use super::*;
use crate::organization::OrganizationId;
use crate::store::audit_log::{StoredRecord, ingest};
use mynafleet_kit::audit_chain::{KeyRing, Signer};
use std::collections::BTreeMap;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    a_chain_is_sealed_when_it_grew_n_records_or_its_checkpoint_is_old,
    replicas_sealing_the_same_head_store_one_checkpoint,
    seal_now_returns_the_existing_checkpoint_while_the_head_stays,
    retention_releases_only_sealed_segments_older_than_the_retention,
    start_remembers_the_signing_key_and_chains_older_records,
);

const T0: i64 = 1_748_746_800_000_000;
const SECOND: i64 = 1_000_000;
const DAY: i64 = 86_400 * SECOND;

fn record(org: OrganizationId, time: i64) -> StoredRecord {
    StoredRecord {
        id: uuid::Uuid::now_v7().to_string(),
        organization: Some(org),
        time,
        producer: "account".into(),
        actor_kind: "service".into(),
        actor: "services/tests".into(),
        actor_role: String::new(),
        auth_method: "mtls".into(),
        session_ref: String::new(),
        action: "test.action".into(),
        action_code: "E".into(),
        clinic: String::new(),
        target: String::new(),
        outcome: "success".into(),
        reason: String::new(),
        source_address: String::new(),
        request_id: String::new(),
        patient_ref: String::new(),
        patient_ref_key_id: String::new(),
        traceparent: String::new(),
        detail: BTreeMap::new(),
    }
}

async fn add(pool: &AnyPool, org: OrganizationId, n: usize, time: i64) {
    let records: Vec<_> = (0..n).map(|_| record(org, time)).collect();
    assert_eq!(ingest(pool, &records).await.unwrap(), n as u64);
}

fn signer() -> Signer {
    Signer::generate().unwrap().0
}

fn settings(every: i64, interval_secs: u64) -> AuditSettings {
    AuditSettings {
        checkpoint_every: every,
        checkpoint_interval: Duration::from_secs(interval_secs),
        retention: None,
    }
}

fn sizes(sealed: &[Checkpoint]) -> Vec<i64> {
    sealed.iter().map(|c| c.size).collect()
}

async fn a_chain_is_sealed_when_it_grew_n_records_or_its_checkpoint_is_old(pool: AnyPool) {
    let org = OrganizationId::new();
    let chain = org.name();
    let s = signer();
    let every5 = settings(5, 60);
    // Nothing to seal in an empty store.
    assert!(
        checkpoint_round(&pool, &s, &every5, T0)
            .await
            .unwrap()
            .is_empty()
    );
    // A chain without any checkpoint is sealed at once.
    add(&pool, org, 1, T0).await;
    let first = checkpoint_round(&pool, &s, &every5, T0).await.unwrap();
    assert_eq!(sizes(&first), [1]);
    // Three more records, a fresh checkpoint: not yet.
    add(&pool, org, 3, T0 + SECOND).await;
    assert!(
        checkpoint_round(&pool, &s, &every5, T0 + 2 * SECOND)
            .await
            .unwrap()
            .is_empty()
    );
    // Once the newest checkpoint is a minute old, the growth is sealed.
    let late = checkpoint_round(&pool, &s, &every5, T0 + 60 * SECOND)
        .await
        .unwrap();
    assert_eq!(sizes(&late), [4]);
    // Five records past it are sealed at once, however fresh the checkpoint.
    add(&pool, org, 5, T0 + 61 * SECOND).await;
    let grown = checkpoint_round(&pool, &s, &every5, T0 + 61 * SECOND)
        .await
        .unwrap();
    assert_eq!(sizes(&grown), [9]);
    // A sealed head is left alone, however old its checkpoint.
    assert!(
        checkpoint_round(&pool, &s, &every5, T0 + DAY)
            .await
            .unwrap()
            .is_empty()
    );
    // Each checkpoint verifies and names the head it sealed.
    let keys = KeyRing(vec![s.public_key().clone()]);
    let head = audit_chain::head(&pool, &chain).await.unwrap().unwrap();
    let stored = audit_chain::checkpoints(&pool, &chain, 0, 100)
        .await
        .unwrap();
    assert_eq!(sizes(&stored), [1, 4, 9]);
    for c in &stored {
        c.verify(&keys).unwrap();
        assert_eq!(c.origin, origin(&chain));
    }
    assert_eq!(stored[2].head, head.head);
    assert_eq!(stored[1].time, T0 + 60 * SECOND);
}

async fn replicas_sealing_the_same_head_store_one_checkpoint(pool: AnyPool) {
    let org = OrganizationId::new();
    add(&pool, org, 3, T0).await;
    // Both replicas saw the same unsealed head and both sign it, with their own keys.
    let heads = audit_chain::unsealed(&pool).await.unwrap();
    assert_eq!(heads.len(), 1);
    let (a, b) = (signer(), signer());
    let one = sign(&pool, &a, &heads[0], T0).await.unwrap();
    let two = sign(&pool, &b, &heads[0], T0 + 1).await.unwrap();
    // The second gets the first's checkpoint back; one is stored.
    assert_eq!(two, one);
    assert_eq!(one.key_id, a.public_key().key_id);
    let stored = audit_chain::checkpoints(&pool, &org.name(), 0, 10)
        .await
        .unwrap();
    assert_eq!(stored, vec![one]);
    // A round after that finds nothing to do.
    assert!(
        checkpoint_round(&pool, &b, &settings(1, 60), T0 + 2)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn seal_now_returns_the_existing_checkpoint_while_the_head_stays(pool: AnyPool) {
    let org = OrganizationId::new();
    let chain = org.name();
    let s = signer();
    let clock = Clock::manual(mynafleet_kit::clock::from_micros(T0));
    // An empty chain gets an unstored checkpoint of size 0.
    let empty = seal_now(&pool, &s, &clock, &chain).await.unwrap();
    assert_eq!((empty.size, empty.head), (0, ZERO_HASH));
    assert!(
        audit_chain::latest_checkpoint(&pool, &chain)
            .await
            .unwrap()
            .is_none()
    );
    add(&pool, org, 2, T0).await;
    let first = seal_now(&pool, &s, &clock, &chain).await.unwrap();
    assert_eq!(first.size, 2);
    clock.advance(Duration::from_secs(30));
    let again = seal_now(&pool, &s, &clock, &chain).await.unwrap();
    assert_eq!(again, first, "an unmoved head keeps its checkpoint");
    add(&pool, org, 1, T0 + 30 * SECOND).await;
    let moved = seal_now(&pool, &s, &clock, &chain).await.unwrap();
    assert_eq!((moved.size, moved.time), (3, T0 + 30 * SECOND));
    moved
        .verify(&KeyRing(vec![s.public_key().clone()]))
        .unwrap();
}

async fn retention_releases_only_sealed_segments_older_than_the_retention(pool: AnyPool) {
    let org = OrganizationId::new();
    let chain = org.name();
    let s = signer();
    let every = settings(1, 60);
    add(&pool, org, 3, T0).await;
    checkpoint_round(&pool, &s, &every, T0).await.unwrap();
    add(&pool, org, 2, T0 + DAY).await;
    checkpoint_round(&pool, &s, &every, T0 + DAY).await.unwrap();
    add(&pool, org, 1, T0 + 2 * DAY).await;
    let ten_days = Duration::from_secs(10 * 86_400);
    // Nothing is older than ten days yet.
    assert!(
        retention_round(&pool, ten_days, T0 + 9 * DAY)
            .await
            .unwrap()
            .is_empty()
    );
    // Ten days and a second after the first checkpoint, its segment leaves; the second stays.
    let pruned = retention_round(&pool, ten_days, T0 + 10 * DAY + SECOND)
        .await
        .unwrap();
    assert_eq!(pruned, vec![(chain.clone(), 3)]);
    let head = audit_chain::head(&pool, &chain).await.unwrap().unwrap();
    assert_eq!((head.size, head.pruned_through), (6, 3));
    let kept = audit_chain::read(&pool, &chain, 0, 100).await.unwrap();
    assert_eq!(kept.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5, 6]);
    // The anchor stays and the rest links to it.
    let anchor = audit_chain::checkpoint_at(&pool, &chain, 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept[0].prev_hash, anchor.head);
    // The unsealed tail never leaves, however old.
    let later = retention_round(&pool, ten_days, T0 + 100 * DAY)
        .await
        .unwrap();
    assert_eq!(later, vec![(chain.clone(), 5)]);
    let kept = audit_chain::read(&pool, &chain, 0, 100).await.unwrap();
    assert_eq!(kept.iter().map(|e| e.seq).collect::<Vec<_>>(), [6]);
}

async fn start_remembers_the_signing_key_and_chains_older_records(pool: AnyPool) {
    let org = OrganizationId::new();
    // A record written before the chain existed (no seq).
    sqlx::query(
        "INSERT INTO audit_records (id, organization_id, time, producer, actor_kind, actor, \
         actor_role, auth_method, session_ref, action, action_code, clinic, target, outcome, \
         reason, source_address, request_id, patient_ref, patient_ref_key_id, traceparent) \
         VALUES ($1, $2, $3, 'account', 'service', 'services/tests', '', 'mtls', '', \
         'test.legacy', 'E', '', '', 'success', '', '', '', '', '', '')",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(org.stored())
    .bind(T0)
    .execute(&pool)
    .await
    .unwrap();
    let pki = mynafleet_kit::tls::dev::DevPki::in_memory().unwrap();
    let tls = pki.server_tls(pki.service_identity("account").unwrap(), None);
    let config = Config::for_tests("sqlite::memory:".into(), tls);
    start(&pool, &config).await.unwrap();
    start(&pool, &config).await.unwrap();
    let keys = audit_chain::keys(&pool).await.unwrap();
    assert_eq!(keys, vec![config.keys.audit_signing.public_key().clone()]);
    let head = audit_chain::head(&pool, &org.name())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(head.size, 1);
}
