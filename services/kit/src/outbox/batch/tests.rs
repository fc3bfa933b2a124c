//! Group commit against a real store: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::outbox::tests::record;
use crate::outbox::{depth, pending};
use sqlx::Row as _;
use std::sync::Mutex;
use tokio::sync::{Notify, Semaphore};

crate::store_conformance!(
    crate::outbox::tests::MIGRATIONS;
    every_appended_record_is_durable_when_append_returns,
    queued_operations_share_one_commit,
    a_failed_batch_fails_its_callers_and_writes_nothing,
    after_shutdown_queued_work_is_written_and_new_work_refused,
);

async fn every_appended_record_is_durable_when_append_returns(pool: AnyPool) {
    let appender = Appender::spawn(pool.clone(), CancellationToken::new());
    let tasks: Vec<_> = (0..300)
        .map(|_| {
            let appender = appender.clone();
            tokio::spawn(async move {
                let r = record("eligibility.check_card");
                let id = r.id.clone();
                appender.append(r).await.unwrap();
                id
            })
        })
        .collect();
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort();
    assert_eq!(depth(&pool).await.unwrap(), 300);
    let stored: Vec<String> = pending(&pool, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(stored, ids);
}

/// Inserts numbers into a table of its own, holding each batch until the test lets it go,
/// and remembers batch sizes.
struct Gated {
    started: Notify,
    gate: Semaphore,
    sizes: Mutex<Vec<usize>>,
    fail: bool,
}

impl BatchWrite for Arc<Gated> {
    type Op = i64;
    type Out = i64;

    async fn write(&self, conn: &mut AnyConnection, ops: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
        self.sizes.lock().unwrap().push(ops.len());
        self.started.notify_one();
        self.gate.acquire().await.unwrap().forget();
        for n in ops {
            sqlx::query(
                "INSERT INTO audit_outbox (id, organization_id, time, actor_kind, actor, \
                 actor_role, auth_method, action, action_code, clinic, target, outcome, reason, \
                 source_address, request_id, traceparent) \
                 VALUES ($1, '', $2, '', '', '', '', 'n', '', '', '', 'success', '', '', '', '')",
            )
            .bind(format!("{n:08}"))
            .bind(*n)
            .execute(&mut *conn)
            .await?;
        }
        if self.fail {
            return Err(sqlx::Error::Protocol("refused by the test".to_owned()));
        }
        Ok(ops.iter().map(|n| n * 10).collect())
    }
}

fn gated(fail: bool) -> Arc<Gated> {
    Arc::new(Gated {
        started: Notify::new(),
        gate: Semaphore::new(0),
        sizes: Mutex::new(Vec::new()),
        fail,
    })
}

fn queued<W: BatchWrite>(b: &Batcher<W>) -> usize {
    b.tx.max_capacity() - b.tx.capacity()
}

async fn queued_operations_share_one_commit(pool: AnyPool) {
    let writer = gated(false);
    let batcher = Batcher::spawn(pool.clone(), Arc::clone(&writer), CancellationToken::new());
    let first = tokio::spawn({
        let b = batcher.clone();
        async move { b.submit(1).await }
    });
    // The first batch is being written (and held); everything after it queues.
    writer.started.notified().await;
    let rest: Vec<_> = (2..=50)
        .map(|n| {
            let b = batcher.clone();
            tokio::spawn(async move { b.submit(n).await })
        })
        .collect();
    while queued(&batcher) < 49 {
        tokio::task::yield_now().await;
    }
    writer.gate.add_permits(2);
    assert_eq!(first.await.unwrap().unwrap(), 10);
    for (n, t) in (2..=50).zip(rest) {
        assert_eq!(t.await.unwrap().unwrap(), n * 10);
    }
    assert_eq!(*writer.sizes.lock().unwrap(), [1, 49]);
    assert_eq!(depth(&pool).await.unwrap(), 50);
}

async fn a_failed_batch_fails_its_callers_and_writes_nothing(pool: AnyPool) {
    let writer = gated(true);
    writer.gate.add_permits(10);
    let batcher = Batcher::spawn(pool.clone(), Arc::clone(&writer), CancellationToken::new());
    let e = batcher.submit(7).await.unwrap_err();
    assert!(matches!(e, BatchError::Write(_)), "{e:?}");
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM audit_outbox")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, 0);
}

async fn after_shutdown_queued_work_is_written_and_new_work_refused(pool: AnyPool) {
    let shutdown = CancellationToken::new();
    let appender = Appender::spawn(pool.clone(), shutdown.clone());
    appender.append(record("a.b")).await.unwrap();
    shutdown.cancel();
    appender.batcher.tx.closed().await;
    let e = appender.append(record("a.b")).await.unwrap_err();
    assert!(matches!(e, BatchError::Stopped), "{e:?}");
    assert_eq!(depth(&pool).await.unwrap(), 1);
}
