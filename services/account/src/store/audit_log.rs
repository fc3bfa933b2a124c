//! The audit table as a store: searching an organization's records, newest first, a page at
//! a time, by time range, actor, action, clinic, device, outcome or patient reference; and
//! ingesting records other services produced (DESIGN.md §3.7), idempotently by their id,
//! into their chains (`store::audit_chain`). The account service's own records are written
//! by `crate::audit`; nothing here changes or deletes a stored record, and a patient is
//! searched only by the keyed reference the caller computed, never by clear identifiers.

use crate::error::{Error, Result};
use crate::organization::OrganizationId;
use mynafleet_kit::audit_chain::ChainRecord;
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

/// The record columns, in [`StoredRecord`] order.
pub(crate) const COLUMNS: &str = "id, organization_id, time, producer, actor_kind, actor, actor_role, \
     auth_method, session_ref, action, action_code, clinic, target, outcome, reason, \
     source_address, request_id, patient_ref, patient_ref_key_id, traceparent, detail";

/// Reads a record from a row that selected [`COLUMNS`].
pub(crate) fn record(row: &AnyRow) -> Result<StoredRecord> {
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

impl StoredRecord {
    /// Returns the record as the chain covers it: the organization as its resource name
    /// (`organizations/{id}`), or empty.
    pub fn to_chain_record(&self) -> ChainRecord {
        ChainRecord {
            id: self.id.clone(),
            organization: self.organization.map(|o| o.name()).unwrap_or_default(),
            time: self.time,
            producer: self.producer.clone(),
            actor_kind: self.actor_kind.clone(),
            actor: self.actor.clone(),
            actor_role: self.actor_role.clone(),
            auth_method: self.auth_method.clone(),
            session_ref: self.session_ref.clone(),
            action: self.action.clone(),
            action_code: self.action_code.clone(),
            clinic: self.clinic.clone(),
            target: self.target.clone(),
            outcome: self.outcome.clone(),
            reason: self.reason.clone(),
            source_address: self.source_address.clone(),
            request_id: self.request_id.clone(),
            patient_ref: self.patient_ref.clone(),
            patient_ref_key_id: self.patient_ref_key_id.clone(),
            traceparent: self.traceparent.clone(),
            detail: self.detail.clone(),
        }
    }
}

impl From<&StoredRecord> for ChainRecord {
    fn from(r: &StoredRecord) -> Self {
        r.to_chain_record()
    }
}

/// What a search keeps: every field set narrows it (all must hold).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only records at or after this time (microseconds).
    pub start: Option<i64>,
    /// Only records before this time (microseconds).
    pub end: Option<i64>,
    /// Only records of this actor (exact).
    pub actor: Option<String>,
    /// Only records of this action (`noun.verb`).
    pub action: Option<String>,
    /// Only records concerning this clinic (resource name).
    pub clinic: Option<String>,
    /// Only records a device made or acted on: actor or target equals it.
    pub device: Option<String>,
    /// Only records with this outcome (success, failure or denied).
    pub outcome: Option<String>,
    /// Only records about this patient: the keyed reference, computed by the caller.
    pub patient_ref: Option<String>,
}

/// A value bound to a search's SQL (only text and integers bind through `Any`).
enum Arg {
    Text(String),
    Int(i64),
}

/// Adds `value` to `args` and returns its placeholder.
fn arg(args: &mut Vec<Arg>, value: Arg) -> String {
    args.push(value);
    format!("${}", args.len())
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
    let filter = AuditFilter {
        action: action.map(str::to_owned),
        ..AuditFilter::default()
    };
    search(pool, org, &filter, after, limit).await
}

/// Returns up to `limit` records of `org` that pass `filter`, after `after`, newest first
/// (time, then id), and the token of the next page when there is one.
pub async fn search(
    pool: &AnyPool,
    org: OrganizationId,
    filter: &AuditFilter,
    after: Option<&AuditPageToken>,
    limit: u32,
) -> Result<(Vec<StoredRecord>, Option<AuditPageToken>)> {
    let mut args = Vec::new();
    let mut sql = format!(
        "SELECT {COLUMNS} FROM audit_records WHERE organization_id = {}",
        arg(&mut args, Arg::Text(org.stored()))
    );
    if let Some(t) = filter.start {
        sql += &format!(" AND time >= {}", arg(&mut args, Arg::Int(t)));
    }
    if let Some(t) = filter.end {
        sql += &format!(" AND time < {}", arg(&mut args, Arg::Int(t)));
    }
    let columns = [
        ("actor", &filter.actor),
        ("action", &filter.action),
        ("clinic", &filter.clinic),
        ("outcome", &filter.outcome),
        ("patient_ref", &filter.patient_ref),
    ];
    for (column, value) in columns {
        if let Some(v) = value {
            sql += &format!(" AND {column} = {}", arg(&mut args, Arg::Text(v.clone())));
        }
    }
    if let Some(d) = &filter.device {
        let d = arg(&mut args, Arg::Text(d.clone()));
        sql += &format!(" AND (actor = {d} OR target = {d})");
    }
    if let Some(a) = after {
        let time = arg(&mut args, Arg::Int(a.time));
        let id = arg(&mut args, Arg::Text(a.id.clone()));
        sql += &format!(" AND (time < {time} OR (time = {time} AND id < {id}))");
    }
    sql += &format!(
        " ORDER BY time DESC, id DESC LIMIT {}",
        arg(&mut args, Arg::Int(i64::from(limit) + 1))
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for arg in args {
        query = match arg {
            Arg::Text(t) => query.bind(t),
            Arg::Int(i) => query.bind(i),
        };
    }
    let rows = query.fetch_all(pool).await?;
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

/// Stores `records` (made by other services) in one transaction, appended to their chains,
/// skipping every record whose id is already stored; returns how many were new. A record
/// without an organization is stored with none (NULL), so no organization's list shows it;
/// it goes to the deployment chain.
pub async fn ingest(pool: &AnyPool, records: &[StoredRecord]) -> Result<u64> {
    if records.is_empty() {
        return Ok(0);
    }
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    let appended = super::audit_chain::append(&mut tx, records).await?;
    tx.commit().await?;
    Ok(appended)
}

#[cfg(test)]
mod tests;
