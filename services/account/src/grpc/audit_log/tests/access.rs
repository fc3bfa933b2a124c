//! Who may use the audit API: viewers are refused every RPC, auditors of another
//! organization are refused its log, and nothing is read when they are.

use super::*;

pub(super) async fn viewers_and_other_organizations_are_refused(pool: AnyPool) {
    let h = Harness::start(pool).await;
    let viewer = h.operator(h.org, Role::Viewer, "viewer").await;
    let elsewhere = Fixture::new(&h.pool).await.org;
    let outsider = h.operator(elsewhere, Role::Auditor, "outsider").await;
    let list = || pb::ListAuditRecordsRequest {
        parent: h.org.name(),
        ..Default::default()
    };
    let read = || pb::ReadAuditChainRequest {
        parent: h.org.name(),
        ..Default::default()
    };
    let seal = || pb::CreateCheckpointRequest {
        parent: h.org.name(),
    };
    let mut c = h.client();
    let role = |s: Status| refused(&s, Code::PermissionDenied, "ROLE_REFUSED", &[]);
    role(
        c.list_audit_records(authed(&viewer, list()))
            .await
            .unwrap_err(),
    );
    role(
        c.read_audit_chain(authed(&viewer, read()))
            .await
            .unwrap_err(),
    );
    role(
        c.create_checkpoint(authed(&viewer, seal()))
            .await
            .unwrap_err(),
    );
    role(
        c.list_signing_keys(authed(&viewer, pb::ListSigningKeysRequest {}))
            .await
            .unwrap_err(),
    );
    let scope = |s: Status| refused(&s, Code::PermissionDenied, "OUT_OF_SCOPE", &[]);
    scope(
        c.list_audit_records(authed(&outsider, list()))
            .await
            .unwrap_err(),
    );
    scope(
        c.read_audit_chain(authed(&outsider, read()))
            .await
            .unwrap_err(),
    );
    scope(
        c.create_checkpoint(authed(&outsider, seal()))
            .await
            .unwrap_err(),
    );
    // Nothing was read, exported or sealed; the refusals themselves were recorded.
    for action in ["audit.read", "audit.export", "audit.checkpoint"] {
        assert_eq!(h.count(action).await, 0, "{action}");
    }
    // The viewer's four refusals are in this organization's log (the outsider's in theirs).
    assert_eq!(h.count("access.denied").await, 4);
}
