//! The forwarder's pass against a real store: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::audit::{ActionCode, AuditActor, AuditEntry, RequestMeta, append};
use crate::error::Error;
use mynafleet_proto::tonic;
use std::sync::{Arc, Mutex};
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    sent_records_leave_the_outbox_oldest_first,
    a_failed_send_keeps_every_record,
    an_empty_outbox_sends_nothing,
);

async fn write(pool: &AnyPool, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let e = AuditEntry::new(
            AuditActor {
                kind: "service",
                name: "services/account".to_owned(),
                role: String::new(),
                auth_method: "mtls",
            },
            &RequestMeta::default(),
            1,
            "device.suspend",
            ActionCode::Update,
        );
        let mut conn = pool.acquire().await.unwrap();
        append(&mut conn, &e).await.unwrap();
        ids.push(e.id.to_string());
    }
    ids
}

async fn sent_records_leave_the_outbox_oldest_first(pool: AnyPool) {
    let ids = write(&pool, 5).await;
    let batches = Arc::new(Mutex::new(Vec::new()));
    let send = |records: Vec<OutboxRecord>| {
        let batches = Arc::clone(&batches);
        async move {
            batches
                .lock()
                .unwrap()
                .push(records.into_iter().map(|r| r.id).collect::<Vec<_>>());
            Ok(())
        }
    };
    assert_eq!(flush(&pool, 3, send).await.unwrap(), Flushed::Sent(3));
    assert_eq!(flush(&pool, 3, send).await.unwrap(), Flushed::Sent(2));
    assert_eq!(flush(&pool, 3, send).await.unwrap(), Flushed::Sent(0));
    assert_eq!(
        *batches.lock().unwrap(),
        [ids[..3].to_vec(), ids[3..].to_vec()]
    );
    assert_eq!(audit::depth(&pool).await.unwrap(), 0);
}

async fn a_failed_send_keeps_every_record(pool: AnyPool) {
    let ids = write(&pool, 2).await;
    let refuse = |_records: Vec<OutboxRecord>| async {
        Err(Error::AccountUnavailable(tonic::Status::unimplemented(
            "not yet",
        )))
    };
    let failed = flush(&pool, 10, refuse).await.unwrap();
    assert!(
        matches!(&failed, Flushed::Failed { tried: 2, error } if error.contains("unavailable")),
        "{failed:?}"
    );
    flush(&pool, 10, refuse).await.unwrap();
    let kept = audit::pending(&pool, 10).await.unwrap();
    assert_eq!(kept.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids);
    let attempts: Vec<i64> = sqlx::query("SELECT attempts FROM audit_outbox ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| sqlx::Row::try_get(r, "attempts").unwrap())
        .collect();
    assert_eq!(attempts, [2, 2]);
    // Once the account service takes them, they go.
    let accept = |_records: Vec<OutboxRecord>| async { Ok(()) };
    assert_eq!(flush(&pool, 10, accept).await.unwrap(), Flushed::Sent(2));
    assert_eq!(audit::depth(&pool).await.unwrap(), 0);
}

async fn an_empty_outbox_sends_nothing(pool: AnyPool) {
    let called = Arc::new(Mutex::new(false));
    let send = |_records: Vec<OutboxRecord>| {
        let called = Arc::clone(&called);
        async move {
            *called.lock().unwrap() = true;
            Ok(())
        }
    };
    assert_eq!(flush(&pool, 10, send).await.unwrap(), Flushed::Sent(0));
    assert!(!*called.lock().unwrap());
}
