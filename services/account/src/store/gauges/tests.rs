//! Conformance cases: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::organization::OrganizationId;
use crate::store::audit_chain::{head, put_checkpoint};
use crate::store::audit_log::{StoredRecord, ingest};
use mynafleet_kit::audit_chain::{self as kit, Signer};

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    no_chain_no_figures,
    each_chain_shows_its_size_and_newest_checkpoint,
);

fn record(org: OrganizationId, time: i64) -> StoredRecord {
    StoredRecord {
        id: uuid::Uuid::now_v7().to_string(),
        organization: Some(org),
        time,
        producer: "activation".into(),
        actor_kind: "operator".into(),
        actor: "organizations/o/operators/x".into(),
        actor_role: "org_admin".into(),
        auth_method: "session".into(),
        session_ref: String::new(),
        action: "device.suspend".into(),
        action_code: "U".into(),
        clinic: String::new(),
        target: "organizations/o/clinics/c/devices/d".into(),
        outcome: "success".into(),
        reason: String::new(),
        source_address: "198.51.100.9:50000".into(),
        request_id: String::new(),
        patient_ref: String::new(),
        patient_ref_key_id: String::new(),
        traceparent: String::new(),
        detail: Default::default(),
    }
}

async fn seal(pool: &AnyPool, signer: &Signer, chain: &str, time: i64) {
    let h = head(pool, chain).await.unwrap().unwrap();
    let c = signer.sign(&kit::origin(chain), h.size, h.head, time);
    put_checkpoint(pool, chain, &c).await.unwrap();
}

async fn no_chain_no_figures(pool: AnyPool) {
    assert!(chain_figures(&pool).await.unwrap().is_empty());
}

async fn each_chain_shows_its_size_and_newest_checkpoint(pool: AnyPool) {
    let signer = Signer::generate().unwrap().0;
    let (a, b) = (OrganizationId::new(), OrganizationId::new());
    ingest(&pool, &[record(a, 1), record(a, 2)]).await.unwrap();
    seal(&pool, &signer, &a.name(), 100).await;
    ingest(&pool, &[record(a, 3), record(b, 4)]).await.unwrap();
    seal(&pool, &signer, &a.name(), 300).await;
    ingest(&pool, &[record(a, 5)]).await.unwrap();

    let mut expected = vec![
        ChainFigures {
            chain: a.name(),
            size: 4,
            checkpointed: 3,
            checkpoint_time: Some(300),
        },
        ChainFigures {
            chain: b.name(),
            size: 1,
            checkpointed: 0,
            checkpoint_time: None,
        },
    ];
    expected.sort_by(|x, y| x.chain.cmp(&y.chain));
    assert_eq!(chain_figures(&pool).await.unwrap(), expected);
}
