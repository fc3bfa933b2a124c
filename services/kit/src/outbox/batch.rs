//! Group commit: a writer task takes whatever operations are queued (up to [`MAX_BATCH`]),
//! applies them in one transaction and answers each caller once that transaction committed,
//! so many concurrent requests share one durable commit instead of queueing for a commit
//! each. [`Batcher`] is generic over what is written ([`BatchWrite`]); [`Appender`] is the
//! audit outbox's batcher. A caller's answer never arrives before its operation is durable;
//! a failed transaction fails every operation in it, and nothing in it was written.
//!
//! At shutdown the queue is closed: operations already queued are still written, later ones
//! are refused with [`BatchError::Stopped`].

use super::OutboxRecord;
use sqlx::{AnyConnection, AnyPool};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// The most operations one transaction takes.
pub const MAX_BATCH: usize = 256;
/// How many operations may wait before callers wait to queue.
const QUEUE: usize = 4 * MAX_BATCH;

/// What a batcher writes: one kind of operation, applied to a transaction in order.
pub trait BatchWrite: Send + Sync + 'static {
    /// One caller's operation.
    type Op: Send + Sync + 'static;
    /// Its answer (for example whether a claim was the first).
    type Out: Send + 'static;

    /// Applies `ops` in order on `conn` (inside the batch's transaction) and returns one
    /// answer per operation, in the same order.
    fn write<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        ops: &'a [Self::Op],
    ) -> impl Future<Output = Result<Vec<Self::Out>, sqlx::Error>> + Send + 'a;
}

/// Why a batched operation was not written.
#[derive(Clone, Debug, thiserror::Error)]
pub enum BatchError {
    /// The writer has stopped (shutdown); nothing was written.
    #[error("batch writer stopped")]
    Stopped,
    /// The batch's transaction failed; nothing in it was written.
    #[error("batch write failed: {0}")]
    Write(Arc<sqlx::Error>),
}

type Job<W> = (
    <W as BatchWrite>::Op,
    oneshot::Sender<Result<<W as BatchWrite>::Out, BatchError>>,
);

/// A handle to a group-commit writer task; clones share the task.
pub struct Batcher<W: BatchWrite> {
    tx: mpsc::Sender<Job<W>>,
}

impl<W: BatchWrite> Clone for Batcher<W> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<W: BatchWrite> std::fmt::Debug for Batcher<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("queued", &(self.tx.max_capacity() - self.tx.capacity()))
            .finish()
    }
}

impl<W: BatchWrite> Batcher<W> {
    /// Spawns the writer task on `pool`; it stops when `shutdown` is cancelled (after
    /// writing what was queued) or when every handle is dropped.
    pub fn spawn(pool: AnyPool, writer: W, shutdown: CancellationToken) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(work(pool, writer, rx, shutdown));
        Self { tx }
    }

    /// Queues `op` and returns its answer once the transaction holding it committed.
    pub async fn submit(&self, op: W::Op) -> Result<W::Out, BatchError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((op, reply))
            .await
            .map_err(|_| BatchError::Stopped)?;
        answer.await.unwrap_or(Err(BatchError::Stopped))
    }
}

async fn work<W: BatchWrite>(
    pool: AnyPool,
    writer: W,
    mut rx: mpsc::Receiver<Job<W>>,
    shutdown: CancellationToken,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut closing = false;
    loop {
        let n = if closing {
            rx.recv_many(&mut jobs, MAX_BATCH).await
        } else {
            tokio::select! {
                n = rx.recv_many(&mut jobs, MAX_BATCH) => n,
                () = shutdown.cancelled() => {
                    // Refuse new work, then write what is already queued.
                    rx.close();
                    closing = true;
                    continue;
                }
            }
        };
        if n == 0 {
            break;
        }
        let (ops, replies): (Vec<W::Op>, Vec<_>) = jobs.drain(..).unzip();
        match commit(&pool, &writer, &ops).await {
            Ok(outs) => {
                for (reply, out) in replies.into_iter().zip(outs) {
                    // A caller that gave up waiting is no one's concern.
                    let _ = reply.send(Ok(out));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, operations = ops.len(), "batched write failed");
                let e = Arc::new(e);
                for reply in replies {
                    let _ = reply.send(Err(BatchError::Write(Arc::clone(&e))));
                }
            }
        }
    }
}

async fn commit<W: BatchWrite>(
    pool: &AnyPool,
    writer: &W,
    ops: &[W::Op],
) -> Result<Vec<W::Out>, sqlx::Error> {
    let mut tx = crate::db::begin_write(pool).await?;
    let outs = writer.write(&mut tx, ops).await?;
    if outs.len() != ops.len() {
        return Err(sqlx::Error::Protocol(format!(
            "batch writer answered {} of {} operations",
            outs.len(),
            ops.len()
        )));
    }
    tx.commit().await?;
    Ok(outs)
}

/// Writes audit records into the outbox (the [`BatchWrite`] behind [`Appender`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct OutboxWrite;

impl BatchWrite for OutboxWrite {
    type Op = OutboxRecord;
    type Out = ();

    async fn write(
        &self,
        conn: &mut AnyConnection,
        ops: &[OutboxRecord],
    ) -> Result<Vec<()>, sqlx::Error> {
        for r in ops {
            super::insert(conn, r).await?;
        }
        Ok(vec![(); ops.len()])
    }
}

/// Appends audit records that belong to no other transaction (a check, a refusal), many
/// callers to one commit.
#[derive(Clone, Debug)]
pub struct Appender {
    batcher: Batcher<OutboxWrite>,
}

impl Appender {
    /// Spawns the appender's writer on `pool` (whose migrations made `audit_outbox`).
    pub fn spawn(pool: AnyPool, shutdown: CancellationToken) -> Self {
        Self {
            batcher: Batcher::spawn(pool, OutboxWrite, shutdown),
        }
    }

    /// Appends `record` and returns once it is durably in the outbox.
    pub async fn append(&self, record: OutboxRecord) -> Result<(), BatchError> {
        self.batcher.submit(record).await
    }
}

#[cfg(test)]
mod tests;
