//! The audit table as a store: reading an organization's records, newest first, a page at a
//! time, optionally of one action; and ingesting records other services produced (DESIGN.md
//! §3.7), idempotently by their id. The account service's own records are written by
//! `crate::audit`; nothing here changes or deletes a stored record.

use crate::error::{Error, Result};
use crate::organization::OrganizationId;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::collections::BTreeMap;

/// One stored audit record, as written by `crate::audit::append`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// UUIDv7.
    pub id: String,
    /// The organization, when one was known.
    pub organization: Option<OrganizationId>,
    /// Microseconds since the epoch.
    pub time: i64,
    /// The producing service.
    pub producer: String,
    /// operator, device, service or anonymous.
    pub actor_kind: String,
    /// Who acted.
    pub actor: String,
    /// The actor's role.
    pub actor_role: String,
    /// How the actor authenticated.
    pub auth_method: String,
    /// The session reference.
    pub session_ref: String,
    /// `noun.verb`.
    pub action: String,
    /// FHIR action code.
    pub action_code: String,
    /// The clinic concerned.
    pub clinic: String,
    /// The resource acted on.
    pub target: String,
    /// success, failure or denied.
    pub outcome: String,
    /// Stable reason of a failure.
    pub reason: String,
    /// The caller's address.
    pub source_address: String,
    /// The request id.
    pub request_id: String,
    /// Keyed HMAC of a patient reference.
    pub patient_ref: String,
    /// Its key id.
    pub patient_ref_key_id: String,
    /// W3C traceparent.
    pub traceparent: String,
    /// FHIR entity.detail of a forwarded record (stored as a JSON object of strings).
    pub detail: BTreeMap<String, String>,
}

/// Where the next page starts: after the record at (`time`, `id`) in newest-first order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditPageToken {
    /// The last record's time.
    pub time: i64,
    /// The last record's id.
    pub id: String,
}

impl AuditPageToken {
    const TAG: &'static str = "audit";

    /// Encodes the token for clients (opaque to them).
    pub fn encode(&self) -> String {
        mynafleet_kit::page::encode_token(Self::TAG, &format!("{}/{}", self.time, self.id))
    }

    /// Decodes a client's token; an empty string means the first page.
    pub fn decode(token: &str) -> Result<Option<Self>> {
        let last = match mynafleet_kit::page::decode_token(Self::TAG, token) {
            Ok(None) => return Ok(None),
            Ok(Some(last)) => last,
            Err(()) => return Err(Error::InvalidPageToken),
        };
        let (time, id) = last.split_once('/').ok_or(Error::InvalidPageToken)?;
        let time = time.parse().map_err(|_| Error::InvalidPageToken)?;
        uuid::Uuid::parse_str(id).map_err(|_| Error::InvalidPageToken)?;
        Ok(Some(Self {
            time,
            id: id.to_owned(),
        }))
    }
}

const COLUMNS: &str = "id, organization_id, time, producer, actor_kind, actor, actor_role, \
     auth_method, session_ref, action, action_code, clinic, target, outcome, reason, \
     source_address, request_id, patient_ref, patient_ref_key_id, traceparent, detail";

fn record(row: &AnyRow) -> Result<StoredRecord> {
    let s = |c: &str| row.try_get::<String, _>(c);
    Ok(StoredRecord {
        id: s("id")?,
        organization: row
            .try_get::<Option<String>, _>("organization_id")?
            .and_then(|o| OrganizationId::from_stored(&o)),
        time: row.try_get("time")?,
        producer: s("producer")?,
        actor_kind: s("actor_kind")?,
        actor: s("actor")?,
        actor_role: s("actor_role")?,
        auth_method: s("auth_method")?,
        session_ref: s("session_ref")?,
        action: s("action")?,
        action_code: s("action_code")?,
        clinic: s("clinic")?,
        target: s("target")?,
        outcome: s("outcome")?,
        reason: s("reason")?,
        source_address: s("source_address")?,
        request_id: s("request_id")?,
        patient_ref: s("patient_ref")?,
        patient_ref_key_id: s("patient_ref_key_id")?,
        traceparent: s("traceparent")?,
        detail: mynafleet_kit::outbox::detail_from_json(&s("detail")?)?,
    })
}

/// Returns up to `limit` records of `org` after `after`, newest first, only of `action`
/// when given, and the token of the next page when there is one.
pub async fn list(
    pool: &AnyPool,
    org: OrganizationId,
    action: Option<&str>,
    after: Option<&AuditPageToken>,
    limit: u32,
) -> Result<(Vec<StoredRecord>, Option<AuditPageToken>)> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_records \
         WHERE organization_id = $1 AND ($2 = '' OR action = $2) \
         AND (time < $3 OR (time = $3 AND id < $4)) \
         ORDER BY time DESC, id DESC LIMIT $5"
    )))
    .bind(org.stored())
    .bind(action.unwrap_or_default())
    .bind(after.map_or(i64::MAX, |a| a.time))
    .bind(after.map(|a| a.id.clone()).unwrap_or_default())
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let mut records = rows.iter().map(record).collect::<Result<Vec<_>>>()?;
    let next = if records.len() > limit as usize {
        records.truncate(limit as usize);
        records.last().map(|r| AuditPageToken {
            time: r.time,
            id: r.id.clone(),
        })
    } else {
        None
    };
    Ok((records, next))
}

/// Stores `records` (made by other services) in one transaction, skipping every record whose
/// id is already stored; returns how many were new. A record without an organization is
/// stored with none (NULL), so no organization's list shows it.
pub async fn ingest(pool: &AnyPool, records: &[StoredRecord]) -> Result<u64> {
    let mut tx = pool.begin().await?;
    let mut inserted = 0;
    for r in records {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO audit_records ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) ON CONFLICT (id) DO NOTHING"
        )))
        .bind(&r.id)
        .bind(r.organization.map(|o| o.stored()))
        .bind(r.time)
        .bind(&r.producer)
        .bind(&r.actor_kind)
        .bind(&r.actor)
        .bind(&r.actor_role)
        .bind(&r.auth_method)
        .bind(&r.session_ref)
        .bind(&r.action)
        .bind(&r.action_code)
        .bind(&r.clinic)
        .bind(&r.target)
        .bind(&r.outcome)
        .bind(&r.reason)
        .bind(&r.source_address)
        .bind(&r.request_id)
        .bind(&r.patient_ref)
        .bind(&r.patient_ref_key_id)
        .bind(&r.traceparent)
        .bind(mynafleet_kit::outbox::detail_to_json(&r.detail))
        .execute(&mut *tx)
        .await?;
        inserted += done.rows_affected();
    }
    tx.commit().await?;
    Ok(inserted)
}

#[cfg(test)]
mod tests;
