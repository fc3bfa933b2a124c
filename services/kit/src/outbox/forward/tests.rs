//! The forwarder's pass against a real store: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::outbox::depth;
use crate::outbox::tests::write;
use std::sync::{Arc, Mutex};

crate::store_conformance!(
    crate::outbox::tests::MIGRATIONS;
    sent_records_leave_the_outbox_oldest_first,
    a_failed_send_keeps_every_record,
    an_empty_outbox_sends_nothing,
    the_loop_forwards_until_shutdown,
);

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
    assert_eq!(depth(&pool).await.unwrap(), 0);
}

async fn a_failed_send_keeps_every_record(pool: AnyPool) {
    let ids = write(&pool, 2).await;
    let refuse = |_records: Vec<OutboxRecord>| async { Err("account unavailable".to_owned()) };
    let failed = flush(&pool, 10, refuse).await.unwrap();
    assert!(
        matches!(&failed, Flushed::Failed { tried: 2, error } if error.contains("unavailable")),
        "{failed:?}"
    );
    flush(&pool, 10, refuse).await.unwrap();
    let kept = pending(&pool, 10).await.unwrap();
    assert_eq!(kept.iter().map(|r| r.id.clone()).collect::<Vec<_>>(), ids);
    let attempts: Vec<i64> = sqlx::query("SELECT attempts FROM audit_outbox ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| sqlx::Row::try_get(r, "attempts").unwrap())
        .collect();
    assert_eq!(attempts, [2, 2]);
    // Once the central store takes them, they go.
    let accept = |_records: Vec<OutboxRecord>| async { Ok(()) };
    assert_eq!(flush(&pool, 10, accept).await.unwrap(), Flushed::Sent(2));
    assert_eq!(depth(&pool).await.unwrap(), 0);
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

async fn the_loop_forwards_until_shutdown(pool: AnyPool) {
    let ids = write(&pool, 3).await;
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel();
    let send = move |records: Vec<OutboxRecord>| {
        let sent_tx = sent_tx.clone();
        async move {
            for r in records {
                let _ = sent_tx.send(r.id);
            }
            Ok(())
        }
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run(pool.clone(), send, shutdown.clone()));
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(sent_rx.recv().await.unwrap());
    }
    assert_eq!(got, ids);
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(depth(&pool).await.unwrap(), 0);
}
