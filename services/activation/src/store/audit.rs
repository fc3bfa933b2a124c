//! The audit outbox: records written beside the changes they describe, read in id order by
//! the forwarder and deleted once the account service has them.

use crate::error::Result;
use sqlx::{AnyPool, Row};

/// One record waiting in the outbox, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRecord {
    /// UUIDv7.
    pub id: String,
    /// Organization id, or empty.
    pub organization_id: String,
    /// Microseconds since the epoch.
    pub time: i64,
    /// operator, device, service or anonymous.
    pub actor_kind: String,
    /// Who acted.
    pub actor: String,
    /// Role or 権限区分.
    pub actor_role: String,
    /// How the actor authenticated.
    pub auth_method: String,
    /// What was done.
    pub action: String,
    /// FHIR action code.
    pub action_code: String,
    /// Clinic resource name.
    pub clinic: String,
    /// Target resource name.
    pub target: String,
    /// success, failure or denied.
    pub outcome: String,
    /// Reason of a failure.
    pub reason: String,
    /// Caller address.
    pub source_address: String,
    /// request_id.
    pub request_id: String,
    /// W3C traceparent.
    pub traceparent: String,
}

/// Returns up to `limit` waiting records, oldest first.
pub async fn pending(pool: &AnyPool, limit: u32) -> Result<Vec<OutboxRecord>> {
    let rows = sqlx::query(
        "SELECT id, organization_id, time, actor_kind, actor, actor_role, auth_method, action, \
         action_code, clinic, target, outcome, reason, source_address, request_id, traceparent \
         FROM audit_outbox ORDER BY id LIMIT $1",
    )
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OutboxRecord {
                id: r.try_get("id")?,
                organization_id: r.try_get("organization_id")?,
                time: r.try_get("time")?,
                actor_kind: r.try_get("actor_kind")?,
                actor: r.try_get("actor")?,
                actor_role: r.try_get("actor_role")?,
                auth_method: r.try_get("auth_method")?,
                action: r.try_get("action")?,
                action_code: r.try_get("action_code")?,
                clinic: r.try_get("clinic")?,
                target: r.try_get("target")?,
                outcome: r.try_get("outcome")?,
                reason: r.try_get("reason")?,
                source_address: r.try_get("source_address")?,
                request_id: r.try_get("request_id")?,
                traceparent: r.try_get("traceparent")?,
            })
        })
        .collect()
}

/// Deletes forwarded records.
pub async fn delete(pool: &AnyPool, ids: &[String]) -> Result<()> {
    let mut tx = pool.begin().await?;
    for id in ids {
        sqlx::query("DELETE FROM audit_outbox WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Notes a failed forwarding attempt on the oldest records (kept for the operator's eyes).
pub async fn note_failure(pool: &AnyPool, ids: &[String], error: &str) -> Result<()> {
    let mut tx = pool.begin().await?;
    for id in ids {
        sqlx::query(
            "UPDATE audit_outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2",
        )
        .bind(error)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Returns how many records wait.
pub async fn depth(pool: &AnyPool) -> Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) AS n FROM audit_outbox")
        .fetch_one(pool)
        .await?
        .try_get("n")?)
}

#[cfg(test)]
mod tests;
