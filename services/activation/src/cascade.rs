//! The account cascade: a background task that follows the account service's event stream
//! and makes each device follow its device account's status — a suspended account's
//! device is suspended, a resumed account's device comes back (unless an operator
//! suspended it), an ended account's device is revoked for good.
//!
//! Each message is applied against the account's status *now* (the stream carries each
//! account's current scope), so a replay or a message for a change already undone is
//! harmless. The device change, its audit record and the stream position move together in
//! one transaction that starts by compare-and-setting the position: a restart neither loses
//! nor repeats work, and replicas following the same stream apply each message once between
//! them. While the account service is away it reconnects with jittered backoff, from the
//! stored position, until shutdown. It never changes a device for any other reason.

use crate::audit::{self, ActionCode, AuditActor, AuditEntry, RequestMeta};
use crate::client::{AccountClient, AccountEventMessage, AccountScope, AccountStatus};
use crate::device::StatusCause;
use crate::error::{Error, Result};
use crate::registry::{self, Action, Current, Requester};
use crate::store;
use backon::BackoffBuilder as _;
use mynafleet_kit::clock::Clock;
use sqlx::AnyPool;
use std::time::Duration;
use tokio_stream::StreamExt as _;
use tokio_util::sync::CancellationToken;

/// The name of the account stream's stored position.
const STREAM: &str = "account";

/// Returns the reconnection backoff: jittered, from 100 ms up to 5 s, for as long as it takes.
fn backoff() -> backon::ExponentialBackoff {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Returns what a device must do to follow an account in `status`.
pub(crate) fn action_for(status: AccountStatus) -> Action {
    match status {
        AccountStatus::Available => Action::Resume,
        AccountStatus::Suspended => Action::Suspend,
        AccountStatus::Ended => Action::Revoke,
    }
}

/// Returns the audit action, its FHIR code and the stable reason of a cascaded `action`.
fn recorded_as(action: Action) -> (&'static str, ActionCode, &'static str) {
    match action {
        Action::Suspend => ("device.suspend", ActionCode::Update, "ACCOUNT_SUSPENDED"),
        Action::Resume => ("device.resume", ActionCode::Update, "ACCOUNT_RESUMED"),
        Action::Revoke => ("device.revoke", ActionCode::Delete, "ACCOUNT_ENDED"),
    }
}

/// Returns how audit records name the account service acting through its events.
fn account_service() -> AuditActor {
    AuditActor {
        kind: "service",
        name: "services/account".to_owned(),
        role: String::new(),
        auth_method: "mtls",
    }
}

/// Follows the account event stream until `shutdown` is cancelled.
pub(crate) async fn run(
    pool: AnyPool,
    account: AccountClient,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let mut delays = backoff();
    // Whether the stream was lost (logged once per outage, and its recovery once).
    let mut broken = false;
    loop {
        let connected = tokio::select! {
            () = shutdown.cancelled() => return,
            c = connect(&pool, &account) => c,
        };
        match connected {
            Ok((from, stream)) => {
                if broken {
                    tracing::info!("account event stream reconnected");
                }
                let mut stream = std::pin::pin!(stream);
                let mut at = from;
                let why = loop {
                    let item = tokio::select! {
                        () = shutdown.cancelled() => return,
                        item = stream.next() => item,
                    };
                    let message = match item {
                        None => break None,
                        Some(Err(e)) => break Some(e),
                        Some(Ok(m)) => m,
                    };
                    if let Err(e) = apply(&pool, &clock, &at, &message).await {
                        break Some(e);
                    }
                    at = message.resume_token;
                    delays = backoff();
                };
                if shutdown.is_cancelled() {
                    return;
                }
                match why {
                    Some(e) => tracing::warn!(error = %e, "account event stream broke"),
                    None => tracing::warn!("account event stream ended"),
                }
                broken = true;
            }
            Err(e) => {
                if !broken {
                    tracing::warn!(error = %e, "account event stream unavailable");
                    broken = true;
                } else {
                    tracing::debug!(error = %e, "account event stream still unavailable");
                }
            }
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(5));
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// Opens the stream after the stored position; returns the position and the stream. A
/// position the account service refuses (its events were reset) is forgotten, so the next
/// attempt follows the stream from its start, which the status-based apply makes safe.
async fn connect(
    pool: &AnyPool,
    account: &AccountClient,
) -> Result<(
    String,
    impl futures::Stream<Item = Result<AccountEventMessage>> + use<>,
)> {
    let from = store::watch::position(pool, STREAM)
        .await?
        .unwrap_or_default();
    match account.watch_account_events(&from).await {
        Ok(stream) => Ok((from, stream)),
        Err(Error::AccountUnavailable(s))
            if s.code() == mynafleet_proto::tonic::Code::InvalidArgument && !from.is_empty() =>
        {
            tracing::warn!(
                code = ?s.code(),
                message = s.message(),
                "account service refused the stored stream position; following from the start"
            );
            store::watch::reset(pool, STREAM).await?;
            Err(Error::AccountUnavailable(s))
        }
        Err(e) => Err(e),
    }
}

/// Applies one stream message that follows position `from`: the account's device is made
/// to follow the account's status, and the position moves to the message's token, in one
/// transaction. A heartbeat only moves the position (when its token is new).
pub(crate) async fn apply(
    pool: &AnyPool,
    clock: &Clock,
    from: &str,
    message: &AccountEventMessage,
) -> Result<()> {
    let Some((_, scope)) = &message.event else {
        if message.resume_token != from {
            let mut conn = pool.acquire().await?;
            store::watch::advance_on(&mut conn, STREAM, from, &message.resume_token).await?;
        }
        return Ok(());
    };
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if !store::watch::advance_on(&mut tx, STREAM, from, &message.resume_token).await? {
        // Another replica applied this message already.
        tx.rollback().await?;
        return Ok(());
    }
    follow(&mut tx, clock.now_micros(), scope).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes the device of `scope`'s account follow the account's status on `conn`.
async fn follow(conn: &mut sqlx::AnyConnection, now: i64, scope: &AccountScope) -> Result<()> {
    let org = &scope.organization_id;
    let Some(device) = store::devices::lock_account_device_on(conn, org, &scope.account_id).await?
    else {
        return Ok(());
    };
    let action = action_for(scope.status);
    let Some(status) = registry::transition(Current::of(&device), action, Requester::Account)?
    else {
        return Ok(());
    };
    let (name, code, reason) = recorded_as(action);
    let device = store::devices::set_status_on(
        conn,
        org,
        &device.id,
        status,
        StatusCause::Account,
        reason,
        now,
    )
    .await?;
    let record = AuditEntry::new(account_service(), &RequestMeta::default(), now, name, code)
        .organization(org.clone())
        .clinic(scope.clinic_name())
        .target(device.name())
        .outcome(audit::Outcome::Success, reason);
    audit::append(conn, &record).await?;
    tracing::info!(
        device = %device.name(),
        status = device.status.as_stored(),
        reason,
        "device follows its account"
    );
    Ok(())
}

#[cfg(test)]
mod tests;
