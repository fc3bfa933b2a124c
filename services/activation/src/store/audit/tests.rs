//! The store conformance suite: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::audit::{ActionCode, AuditActor, AuditEntry, Outcome, RequestMeta, append};
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    the_outbox_hands_out_the_oldest_first,
    forwarded_records_are_deleted_and_others_kept,
    failures_are_noted_on_the_records,
);

fn entry(action: &'static str) -> AuditEntry {
    AuditEntry::new(
        AuditActor {
            kind: "operator",
            name: "organizations/o/operators/op".to_owned(),
            role: "org_admin".to_owned(),
            auth_method: "session",
        },
        &RequestMeta {
            source_address: "192.0.2.1".to_owned(),
            request_id: "rid".to_owned(),
            traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
        },
        1_000,
        action,
        ActionCode::Update,
    )
    .organization("o")
    .clinic("organizations/o/clinics/c")
    .target("organizations/o/clinics/c/devices/d")
}

/// Writes `n` records (ids in time order) and returns their ids.
async fn write(pool: &AnyPool, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let e = entry("device.suspend");
        let mut conn = pool.acquire().await.unwrap();
        append(&mut conn, &e).await.unwrap();
        ids.push(e.id.to_string());
    }
    ids
}

async fn the_outbox_hands_out_the_oldest_first(pool: AnyPool) {
    assert!(pending(&pool, 10).await.unwrap().is_empty());
    let ids = write(&pool, 5).await;
    assert_eq!(depth(&pool).await.unwrap(), 5);
    let first = pending(&pool, 3).await.unwrap();
    assert_eq!(
        first.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        ids[..3]
    );
    let r = &first[0];
    let e = entry("device.suspend");
    assert_eq!(
        (
            r.organization_id.as_str(),
            r.time,
            r.actor_kind.as_str(),
            r.actor.as_str(),
            r.actor_role.as_str(),
            r.auth_method.as_str(),
            r.action.as_str(),
            r.action_code.as_str(),
        ),
        (
            "o",
            1_000,
            "operator",
            e.actor.name.as_str(),
            "org_admin",
            "session",
            "device.suspend",
            "U",
        )
    );
    assert_eq!(
        (
            r.clinic.as_str(),
            r.target.as_str(),
            r.outcome.as_str(),
            r.reason.as_str(),
            r.source_address.as_str(),
            r.request_id.as_str(),
            r.traceparent.as_str(),
        ),
        (
            e.clinic.as_str(),
            e.target.as_str(),
            "success",
            "",
            "192.0.2.1",
            "rid",
            e.meta.traceparent.as_str(),
        )
    );
    let refused = entry("access.denied").outcome(Outcome::Denied, "OUT_OF_SCOPE");
    let mut conn = pool.acquire().await.unwrap();
    append(&mut conn, &refused).await.unwrap();
    let last = pending(&pool, 10).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.id, last.outcome.as_str(), last.reason.as_str()),
        (refused.id.to_string(), "denied", "OUT_OF_SCOPE")
    );
}

async fn forwarded_records_are_deleted_and_others_kept(pool: AnyPool) {
    let ids = write(&pool, 4).await;
    delete(&pool, &ids[..2]).await.unwrap();
    let left: Vec<_> = pending(&pool, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, ids[2..]);
    // Deleting again (a retried batch) is harmless.
    delete(&pool, &ids[..3]).await.unwrap();
    assert_eq!(depth(&pool).await.unwrap(), 1);
    delete(&pool, &[]).await.unwrap();
    assert_eq!(depth(&pool).await.unwrap(), 1);
}

async fn failures_are_noted_on_the_records(pool: AnyPool) {
    let ids = write(&pool, 3).await;
    note_failure(&pool, &ids[..2], "account service unavailable")
        .await
        .unwrap();
    note_failure(&pool, &ids[..1], "unimplemented")
        .await
        .unwrap();
    let rows = sqlx::query("SELECT id, attempts, last_error FROM audit_outbox ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    let seen: Vec<(String, i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("id").unwrap(),
                r.try_get("attempts").unwrap(),
                r.try_get("last_error").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (ids[0].clone(), 2, "unimplemented".to_owned()),
            (ids[1].clone(), 1, "account service unavailable".to_owned()),
            (ids[2].clone(), 0, String::new()),
        ]
    );
    // Nothing is lost: failed records are still handed out, oldest first.
    assert_eq!(pending(&pool, 10).await.unwrap().len(), 3);
}
