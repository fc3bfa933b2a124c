//! The chain `deployment`: read, sealed and its keys listed with a service identity; no
//! operator reads it and no service reads an organization's chain.

use super::*;
use crate::store::audit_chain;
use mynafleet_kit::audit_chain::{
    DEPLOYMENT_CHAIN, KeyRing, ZERO_HASH, entry_hash, hash_hex, origin, wire,
};

/// A failed login of an unknown login id: a record of no organization.
fn unknown_login(time: i64) -> StoredRecord {
    StoredRecord {
        organization: None,
        producer: "account".into(),
        actor_kind: "operator".into(),
        actor: "nobody".into(),
        outcome: "failure".into(),
        reason: "CREDENTIALS_INVALID".into(),
        ..record(OrganizationId::new(), time, "session.login")
    }
}

pub(in crate::grpc::audit_log) async fn the_deployment_chain_is_read_and_sealed_by_a_service_identity_alone(
    pool: AnyPool,
) {
    let h = Harness::start(pool).await;
    let now = h.config.clock.now_micros();
    h.ingest(&[unknown_login(now), unknown_login(now + 1)])
        .await;
    h.ingest(&[record(h.org, now, "device.renew")]).await;

    // A service seals the deployment chain: the record of that act is the last one sealed.
    let made = h
        .service_client()
        .create_checkpoint(pb::CreateCheckpointRequest {
            parent: DEPLOYMENT_CHAIN.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .checkpoint
        .unwrap();
    let made = wire::checkpoint_from_pb(&made).unwrap();
    assert_eq!(made.origin, origin(DEPLOYMENT_CHAIN));
    assert_eq!(made.size, 3);
    let keys = h
        .service_client()
        .list_signing_keys(pb::ListSigningKeysRequest {})
        .await
        .unwrap()
        .into_inner()
        .keys;
    let ring = KeyRing(keys.iter().map(|k| wire::key_from_pb(k).unwrap()).collect());
    made.verify(&ring).unwrap();

    // It reads the chain: the two logins, the checkpoint's record, then the read's own.
    let page = h
        .service_client()
        .read_audit_chain(pb::ReadAuditChainRequest {
            parent: DEPLOYMENT_CHAIN.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.origin, origin(DEPLOYMENT_CHAIN));
    let actions: Vec<_> = page
        .entries
        .iter()
        .map(|e| e.record.as_ref().unwrap().action.clone())
        .collect();
    assert_eq!(
        actions,
        [
            "session.login",
            "session.login",
            "audit.checkpoint",
            "audit.export"
        ]
    );
    let mut prev = ZERO_HASH;
    for e in &page.entries {
        let record = wire::record_from_pb(e.record.as_ref().unwrap()).unwrap();
        let hash = entry_hash(&origin(DEPLOYMENT_CHAIN), e.seq, &prev, &record);
        assert_eq!(e.hash, hash_hex(&hash), "seq {}", e.seq);
        prev = hash;
    }
    assert_eq!(page.checkpoints.len(), 1);
    let export = page.entries[3].record.as_ref().unwrap();
    assert_eq!(export.actor, "services/activation");
    assert_eq!(export.target, DEPLOYMENT_CHAIN);
    // The organization's chain got none of it.
    assert_eq!(h.count("audit.export").await, 0);
    assert_eq!(h.count("audit.checkpoint").await, 0);

    // An operator of the organization may not read or seal it; the refusal is recorded.
    let token = h.operator(h.org, Role::OrgAdmin, "admin").await;
    let read = pb::ReadAuditChainRequest {
        parent: DEPLOYMENT_CHAIN.into(),
        ..Default::default()
    };
    let status = h
        .client()
        .read_audit_chain(authed(&token, read))
        .await
        .unwrap_err();
    refused(&status, Code::PermissionDenied, "OUT_OF_SCOPE", &[]);
    let seal = pb::CreateCheckpointRequest {
        parent: DEPLOYMENT_CHAIN.into(),
    };
    let status = h
        .client()
        .create_checkpoint(authed(&token, seal))
        .await
        .unwrap_err();
    refused(&status, Code::PermissionDenied, "OUT_OF_SCOPE", &[]);
    assert_eq!(h.count("access.denied").await, 2);

    // A service may not read an organization's chain, nor search any records.
    let status = h
        .service_client()
        .read_audit_chain(pb::ReadAuditChainRequest {
            parent: h.org.name(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    refused(&status, Code::PermissionDenied, "OUT_OF_SCOPE", &[]);
    let status = h
        .service_client()
        .list_audit_records(pb::ListAuditRecordsRequest {
            parent: h.org.name(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let size = audit_chain::head(&h.pool, DEPLOYMENT_CHAIN)
        .await
        .unwrap()
        .unwrap()
        .size;
    // The service's refused read of the organization's chain is on the deployment's.
    assert_eq!(size, 5);
}
