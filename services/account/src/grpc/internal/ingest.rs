//! `IngestAuditRecords`: turning the audit records another MynaFleet service forwards from
//! its outbox into stored rows. A record must carry a UUID id and a time, name the calling
//! service as its producer, and name an organization as `organizations/{uuid}` or none; a
//! batch with any bad record is refused whole, each violation naming the record's index, so
//! nothing is half-ingested.
//!
//! The My Number filter is not run here: producers run it at their own ingress, and these
//! fields are mostly resource names whose UUIDs the filter would misread as digit runs. No
//! field is rewritten beyond normalising the id's spelling. `detail` (FHIR entity.detail) is
//! kept as sent, within bounds on its size and key spelling.

use crate::error::{Error, Result};
use crate::organization::OrganizationId;
use crate::store::audit_log::StoredRecord;
use mynafleet_kit::audit_chain::wire;
use mynafleet_kit::status::FieldViolation;
use mynafleet_proto::audit::v1 as audit_pb;

/// The most records one call may carry.
pub(super) const MAX_RECORDS: usize = 500;
/// The longest text field kept.
const MAX_FIELD_BYTES: usize = 4096;
/// The most `detail` entries one record may carry.
const MAX_DETAIL_ENTRIES: usize = 32;
/// The longest `detail` key.
const MAX_DETAIL_KEY_BYTES: usize = 64;

/// Returns one `audit.ingest` span per record that carries a trace context, each a child of
/// the action that made the record (DESIGN.md §3.7), so that action's trace shows its record
/// reaching the central store. The caller drops them once the records are stored. They name
/// the record, its producer and action, never its actor, target or patient reference.
pub(super) fn record_spans(rows: &[StoredRecord]) -> Vec<tracing::Span> {
    rows.iter()
        .filter_map(|r| {
            let span = tracing::info_span!(
                "audit.ingest",
                service = "account",
                audit.record = r.id.as_str(),
                audit.producer = r.producer.as_str(),
                audit.action = r.action.as_str(),
            );
            mynafleet_kit::telemetry::continue_trace(&span, &r.traceparent).then_some(span)
        })
        .collect()
}

/// Returns the stored word of a wire outcome; `Unspecified` and unknown values have none.
fn outcome(raw: i32) -> Option<&'static str> {
    let o = audit_pb::Outcome::try_from(raw).ok()?;
    Some(wire::outcome_name(o)).filter(|name| !name.is_empty())
}

/// Checks record `i` from `producer`, adding a violation for each fault to `bad`.
fn record(
    i: usize,
    r: audit_pb::AuditRecord,
    producer: &str,
    bad: &mut Vec<FieldViolation>,
) -> Option<StoredRecord> {
    let field = |name: &str| format!("records[{i}].{name}");
    let before = bad.len();
    let id = match uuid::Uuid::parse_str(&r.id) {
        Ok(u) => u.to_string(),
        Err(_) => {
            bad.push(FieldViolation::new(
                field("id"),
                "must be a UUID (the producer's UUIDv7)",
            ));
            String::new()
        }
    };
    let time = r.time.as_ref().and_then(wire::micros);
    if time.is_none() {
        bad.push(FieldViolation::new(
            field("time"),
            "is required (a valid timestamp)",
        ));
    }
    if r.producer != producer {
        bad.push(FieldViolation::new(
            field("producer"),
            format!("must be the calling service ({producer})"),
        ));
    }
    let organization = if r.organization.is_empty() {
        None
    } else {
        match OrganizationId::parse_name(&r.organization, "organization") {
            Ok(o) => Some(o),
            Err(_) => {
                bad.push(FieldViolation::new(
                    field("organization"),
                    "must look like organizations/{uuid}, or be empty",
                ));
                None
            }
        }
    };
    let outcome = outcome(r.outcome);
    if outcome.is_none() {
        bad.push(FieldViolation::new(
            field("outcome"),
            "must be success, failure or denied",
        ));
    }
    let texts = [
        ("actor", &r.actor),
        ("action", &r.action),
        ("target", &r.target),
        ("reason", &r.reason),
        ("patient_ref", &r.patient_ref),
        ("patient_ref_key_id", &r.patient_ref_key_id),
        ("traceparent", &r.traceparent),
        ("actor_kind", &r.actor_kind),
        ("actor_role", &r.actor_role),
        ("clinic", &r.clinic),
        ("source_address", &r.source_address),
        ("request_id", &r.request_id),
        ("action_code", &r.action_code),
        ("auth_method", &r.auth_method),
        ("session_ref", &r.session_ref),
    ];
    for (name, value) in texts {
        if value.len() > MAX_FIELD_BYTES {
            bad.push(FieldViolation::new(
                field(name),
                format!("must have at most {MAX_FIELD_BYTES} bytes"),
            ));
        }
    }
    if r.action.is_empty() {
        bad.push(FieldViolation::new(field("action"), "is required"));
    }
    if r.detail.len() > MAX_DETAIL_ENTRIES {
        bad.push(FieldViolation::new(
            field("detail"),
            format!("must have at most {MAX_DETAIL_ENTRIES} entries"),
        ));
    }
    for (k, v) in &r.detail {
        let key_ok = !k.is_empty()
            && k.len() <= MAX_DETAIL_KEY_BYTES
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !key_ok {
            bad.push(FieldViolation::new(
                field("detail"),
                format!("keys must be a-z, 0-9 and _, at most {MAX_DETAIL_KEY_BYTES} bytes"),
            ));
        } else if v.len() > MAX_FIELD_BYTES {
            bad.push(FieldViolation::new(
                field(&format!("detail.{k}")),
                format!("must have at most {MAX_FIELD_BYTES} bytes"),
            ));
        }
    }
    if bad.len() > before {
        return None;
    }
    Some(StoredRecord {
        id,
        organization,
        time: time?,
        producer: r.producer,
        actor_kind: r.actor_kind,
        actor: r.actor,
        actor_role: r.actor_role,
        auth_method: r.auth_method,
        session_ref: r.session_ref,
        action: r.action,
        action_code: r.action_code,
        clinic: r.clinic,
        target: r.target,
        outcome: outcome?.to_owned(),
        reason: r.reason,
        source_address: r.source_address,
        request_id: r.request_id,
        patient_ref: r.patient_ref,
        patient_ref_key_id: r.patient_ref_key_id,
        traceparent: r.traceparent,
        detail: r.detail.into_iter().collect(),
    })
}

/// Returns the rows of `records` forwarded by the service `producer`, or every fault found.
pub(super) fn records_from_pb(
    producer: &str,
    records: Vec<audit_pb::AuditRecord>,
) -> Result<Vec<StoredRecord>> {
    if records.len() > MAX_RECORDS {
        return Err(Error::field(
            "records",
            format!("must hold at most {MAX_RECORDS} records per call"),
        ));
    }
    let mut bad = Vec::new();
    let rows: Vec<StoredRecord> = records
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| record(i, r, producer, &mut bad))
        .collect();
    if bad.is_empty() {
        Ok(rows)
    } else {
        Err(Error::AuditRecordInvalid(bad))
    }
}

#[cfg(test)]
mod tests;
