//! The audit forwarder: `mynafleet_kit::outbox::run` over activation's outbox, sending each
//! batch to the account service's `IngestAuditRecords`. A record leaves the outbox only after
//! the account service took it; a resend after a lost reply is a duplicate it ignores. It
//! never writes or changes a record's content.

use crate::client::AccountClient;
use crate::store::audit::OutboxRecord;
use sqlx::AnyPool;
use tokio_util::sync::CancellationToken;

/// Forwards the outbox until `shutdown` is cancelled, then tries once more.
pub(crate) async fn run(pool: AnyPool, account: AccountClient, shutdown: CancellationToken) {
    let send = |records: Vec<OutboxRecord>| {
        let account = account.clone();
        async move {
            account
                .ingest_audit(&records)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    };
    mynafleet_kit::outbox::run(pool, send, shutdown).await;
}
