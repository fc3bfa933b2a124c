//! The audit outbox every producing service shares (DESIGN.md §3.7): records are written to
//! the service's own `audit_outbox` table beside the change they describe, read oldest first
//! by the forwarder ([`forward`]), handed to the central store through a send function the
//! service gives (kit knows no account client) and deleted once it has them. [`batch`] holds
//! the group-commit writer ([`Batcher`], [`Appender`]) that lets many concurrent requests share
//! one durable commit.
//!
//! The table belongs to each service's migrations (columns as in [`COLUMNS`], plus `attempts`
//! and `last_error`); this module never creates it. It never reads or changes what a record
//! says after it is written, and never decides what goes into one: producers keep patient
//! identifiers out (only keyed HMACs reach `patient_ref` and `detail`).

pub mod batch;
pub mod forward;

pub use batch::{Appender, BatchError, BatchWrite, Batcher};
pub use forward::{Flushed, flush, run};

use crate::audit_chain::wire;
use mynafleet_proto::audit::v1 as audit_pb;
use sqlx::{AnyConnection, AnyPool, Row};
use std::collections::BTreeMap;

/// The outbox columns a record fills, in insert order.
pub const COLUMNS: &str = "id, organization_id, time, actor_kind, actor, actor_role, \
     auth_method, action, action_code, clinic, target, outcome, reason, source_address, \
     request_id, traceparent, patient_ref, patient_ref_key_id, detail";

/// One audit record in the outbox, as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxRecord {
    /// UUIDv7, the idempotency key of forwarding.
    pub id: String,
    /// Organization id (the bare UUID), or empty when none is known.
    pub organization_id: String,
    /// Microseconds since the epoch.
    pub time: i64,
    /// operator, device, service or anonymous.
    pub actor_kind: String,
    /// Who acted (a resource name).
    pub actor: String,
    /// Role or 権限区分.
    pub actor_role: String,
    /// How the actor authenticated.
    pub auth_method: String,
    /// What was done, `noun.verb`.
    pub action: String,
    /// FHIR AuditEvent.action: C, R, U, D or E.
    pub action_code: String,
    /// Clinic resource name, or empty.
    pub clinic: String,
    /// Target resource name (or a keyed reference), or empty.
    pub target: String,
    /// success, failure or denied.
    pub outcome: String,
    /// Stable reason of a failure, empty on success.
    pub reason: String,
    /// Caller address.
    pub source_address: String,
    /// The RPC's request_id, if any.
    pub request_id: String,
    /// W3C traceparent of the action.
    pub traceparent: String,
    /// Keyed HMAC (hex) of the patient reference, or empty.
    pub patient_ref: String,
    /// Id of the key behind `patient_ref` (and the HMACs in `detail`), or empty.
    pub patient_ref_key_id: String,
    /// FHIR entity.detail: typed facts, never a clear patient identifier (stored as JSON).
    pub detail: BTreeMap<String, String>,
}

impl OutboxRecord {
    /// Returns the wire record the central store ingests, produced by `producer`.
    pub fn to_pb(&self, producer: &str) -> audit_pb::AuditRecord {
        audit_pb::AuditRecord {
            id: self.id.clone(),
            organization: if self.organization_id.is_empty() {
                String::new()
            } else {
                format!("organizations/{}", self.organization_id)
            },
            time: Some(wire::timestamp(self.time)),
            actor: self.actor.clone(),
            action: self.action.clone(),
            target: self.target.clone(),
            // A word the wire does not know is sent as a failure, never dropped.
            outcome: match wire::outcome_from_name(&self.outcome) {
                audit_pb::Outcome::Unspecified => audit_pb::Outcome::Failure,
                known => known,
            }
            .into(),
            reason: self.reason.clone(),
            patient_ref: self.patient_ref.clone(),
            patient_ref_key_id: self.patient_ref_key_id.clone(),
            traceparent: self.traceparent.clone(),
            producer: producer.to_owned(),
            actor_kind: self.actor_kind.clone(),
            actor_role: self.actor_role.clone(),
            clinic: self.clinic.clone(),
            source_address: self.source_address.clone(),
            request_id: self.request_id.clone(),
            action_code: self.action_code.clone(),
            auth_method: self.auth_method.clone(),
            session_ref: String::new(),
            detail: self
                .detail
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// Returns the stored JSON text of a detail map (`{}` when empty).
pub fn detail_to_json(detail: &BTreeMap<String, String>) -> String {
    // A map of strings always serialises.
    serde_json::to_string(detail).unwrap_or_else(|_| "{}".to_owned())
}

/// Parses a stored detail column: a JSON object of strings; empty text is an empty map.
pub fn detail_from_json(text: &str) -> Result<BTreeMap<String, String>, sqlx::Error> {
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// Writes `r` into the outbox on `conn` (the caller's transaction, so it commits with the
/// change it records).
pub async fn insert(conn: &mut AnyConnection, r: &OutboxRecord) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO audit_outbox ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    )))
    .bind(&r.id)
    .bind(&r.organization_id)
    .bind(r.time)
    .bind(&r.actor_kind)
    .bind(&r.actor)
    .bind(&r.actor_role)
    .bind(&r.auth_method)
    .bind(&r.action)
    .bind(&r.action_code)
    .bind(&r.clinic)
    .bind(&r.target)
    .bind(&r.outcome)
    .bind(&r.reason)
    .bind(&r.source_address)
    .bind(&r.request_id)
    .bind(&r.traceparent)
    .bind(&r.patient_ref)
    .bind(&r.patient_ref_key_id)
    .bind(detail_to_json(&r.detail))
    .execute(conn)
    .await?;
    Ok(())
}

/// Returns up to `limit` waiting records, oldest (lowest UUIDv7) first.
pub async fn pending(pool: &AnyPool, limit: u32) -> Result<Vec<OutboxRecord>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_outbox ORDER BY id LIMIT $1"
    )))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let s = |c: &str| r.try_get::<String, _>(c);
            Ok(OutboxRecord {
                id: s("id")?,
                organization_id: s("organization_id")?,
                time: r.try_get("time")?,
                actor_kind: s("actor_kind")?,
                actor: s("actor")?,
                actor_role: s("actor_role")?,
                auth_method: s("auth_method")?,
                action: s("action")?,
                action_code: s("action_code")?,
                clinic: s("clinic")?,
                target: s("target")?,
                outcome: s("outcome")?,
                reason: s("reason")?,
                source_address: s("source_address")?,
                request_id: s("request_id")?,
                traceparent: s("traceparent")?,
                patient_ref: s("patient_ref")?,
                patient_ref_key_id: s("patient_ref_key_id")?,
                detail: detail_from_json(&s("detail")?)?,
            })
        })
        .collect()
}

/// Deletes forwarded records (ids not present are skipped: a retried batch is harmless).
pub async fn delete(pool: &AnyPool, ids: &[String]) -> Result<(), sqlx::Error> {
    let mut tx = crate::db::begin_write(pool).await?;
    for id in ids {
        sqlx::query("DELETE FROM audit_outbox WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await
}

/// Notes a failed forwarding attempt on records (kept for the operator's eyes).
pub async fn note_failure(pool: &AnyPool, ids: &[String], error: &str) -> Result<(), sqlx::Error> {
    let mut tx = crate::db::begin_write(pool).await?;
    for id in ids {
        sqlx::query(
            "UPDATE audit_outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2",
        )
        .bind(error)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Returns how many records wait.
pub async fn depth(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) AS n FROM audit_outbox")
        .fetch_one(pool)
        .await?
        .try_get("n")
}

#[cfg(test)]
mod tests;
