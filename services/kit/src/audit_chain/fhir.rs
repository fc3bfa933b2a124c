//! FHIR R4 AuditEvent JSON of a chained record (DOMAIN.md §9 mapping), for export.
//!
//! It maps only what the record holds: an empty field leaves its element out rather than
//! filling in a guess, and a patient appears only as the keyed reference the proxy wrote,
//! never as a clear identifier. It does no IO.

use super::ChainRecord;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The code system of `AuditEvent.type`: the record's action (`noun.verb`).
pub const EVENT_TYPE_SYSTEM: &str = "https://mynafleet.jp/fhir/audit-event-type";

/// The url of the extension carrying the record's place in its chain.
pub const CHAIN_EXTENSION: &str = "https://mynafleet.jp/fhir/StructureDefinition/audit-chain";

/// The code system of `agent.type`: the actor kind (operator, device, service, anonymous).
pub const ACTOR_KIND_SYSTEM: &str = "https://mynafleet.jp/fhir/actor-kind";

/// The code system of `agent.role`: the actor's role.
pub const ACTOR_ROLE_SYSTEM: &str = "https://mynafleet.jp/fhir/actor-role";

/// The identifier system of MynaFleet resource names (actors and targets).
pub const RESOURCE_NAME_SYSTEM: &str = "https://mynafleet.jp/fhir/resource-name";

/// The identifier system of keyed patient references; the key id follows after a `/`.
pub const PATIENT_REF_SYSTEM: &str = "https://mynafleet.jp/fhir/patient-ref";

/// HL7's code system of `entity.type`.
const ENTITY_TYPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";

/// HL7's code system of `entity.role`.
const OBJECT_ROLE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/object-role";

fn coding(system: &str, code: &str) -> Value {
    json!({ "system": system, "code": code })
}

fn concept(system: &str, code: &str) -> Value {
    json!({ "coding": [coding(system, code)] })
}

fn identifier(system: &str, value: &str) -> Value {
    json!({ "identifier": { "system": system, "value": value } })
}

/// Returns `time` (microseconds since the epoch) as an RFC 3339 instant in UTC.
fn recorded(time: i64) -> Option<String> {
    let nanos = i128::from(time).checked_mul(1_000)?;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()?
        .format(&Rfc3339)
        .ok()
}

/// Returns the FHIR outcome code of a record's outcome.
fn outcome(outcome: &str) -> Option<&'static str> {
    match outcome {
        "success" => Some("0"),
        "failure" => Some("4"),
        "denied" => Some("8"),
        _ => None,
    }
}

/// Returns the FHIR resource type an actor of `kind` is.
fn actor_type(kind: &str) -> Option<&'static str> {
    match kind {
        "operator" => Some("Practitioner"),
        "device" | "service" => Some("Device"),
        _ => None,
    }
}

/// Inserts `key: value` when `text` is not empty.
fn put(map: &mut Map<String, Value>, key: &str, text: &str, value: impl FnOnce() -> Value) {
    if !text.is_empty() {
        map.insert(key.to_owned(), value());
    }
}

fn agent(r: &ChainRecord) -> Value {
    let mut agent = Map::new();
    put(&mut agent, "type", &r.actor_kind, || {
        concept(ACTOR_KIND_SYSTEM, &r.actor_kind)
    });
    put(&mut agent, "who", &r.actor, || {
        let mut who = identifier(RESOURCE_NAME_SYSTEM, &r.actor);
        if let Some(t) = actor_type(&r.actor_kind) {
            who["type"] = json!(t);
        }
        who
    });
    // The account's own id, the last segment of its resource name.
    if let Some((_, id)) = r.actor.rsplit_once('/')
        && !id.is_empty()
    {
        agent.insert("altId".into(), json!(id));
    }
    put(&mut agent, "role", &r.actor_role, || {
        json!([concept(ACTOR_ROLE_SYSTEM, &r.actor_role)])
    });
    agent.insert("requestor".into(), json!(true));
    put(&mut agent, "policy", &r.session_ref, || {
        json!([r.session_ref])
    });
    put(
        &mut agent,
        "network",
        &r.source_address,
        || json!({ "address": r.source_address, "type": "2" }),
    );
    Value::Object(agent)
}

fn source(r: &ChainRecord) -> Value {
    let mut source = Map::new();
    let site = if r.clinic.is_empty() {
        &r.organization
    } else {
        &r.clinic
    };
    put(&mut source, "site", site, || json!(site));
    source.insert("observer".into(), json!({ "display": r.producer }));
    Value::Object(source)
}

/// Returns the entities: the patient (when there is one), then the target; the detail map
/// goes on the first of them, or on an entity of its own when there is neither.
fn entities(r: &ChainRecord) -> Vec<Value> {
    let mut out = Vec::new();
    if !r.patient_ref.is_empty() {
        let system = if r.patient_ref_key_id.is_empty() {
            PATIENT_REF_SYSTEM.to_owned()
        } else {
            format!("{PATIENT_REF_SYSTEM}/{}", r.patient_ref_key_id)
        };
        out.push(json!({
            "what": identifier(&system, &r.patient_ref),
            "type": { "system": ENTITY_TYPE_SYSTEM, "code": "1", "display": "Person" },
            "role": { "system": OBJECT_ROLE_SYSTEM, "code": "1", "display": "Patient" },
        }));
    }
    if !r.target.is_empty() {
        out.push(json!({
            "what": identifier(RESOURCE_NAME_SYSTEM, &r.target),
            "type": { "system": ENTITY_TYPE_SYSTEM, "code": "2", "display": "System Object" },
        }));
    }
    if !r.detail.is_empty() {
        let detail: Vec<Value> = r
            .detail
            .iter()
            .map(|(k, v)| json!({ "type": k, "valueString": v }))
            .collect();
        match out.first_mut() {
            Some(Value::Object(first)) => {
                first.insert("detail".into(), Value::Array(detail));
            }
            _ => out.push(json!({ "detail": detail })),
        }
    }
    out
}

fn chain_extension(r: &ChainRecord, seq: i64, hash: &str) -> Value {
    // valueInteger is 32-bit in FHIR R4; a seq beyond it travels as its decimal digits.
    let seq = match i32::try_from(seq) {
        Ok(n) => json!({ "url": "seq", "valueInteger": n }),
        Err(_) => json!({ "url": "seq", "valueString": seq.to_string() }),
    };
    let mut parts = vec![seq, json!({ "url": "hash", "valueString": hash })];
    for (url, value) in [
        ("organization", &r.organization),
        ("authMethod", &r.auth_method),
        ("requestId", &r.request_id),
        ("traceparent", &r.traceparent),
    ] {
        if !value.is_empty() {
            parts.push(json!({ "url": url, "valueString": value }));
        }
    }
    json!({ "url": CHAIN_EXTENSION, "extension": parts })
}

/// Returns the AuditEvent resource of `record`, carrying its chain place (seq, hash) as an
/// extension so it can be matched with the JSON Lines export.
pub fn audit_event(record: &ChainRecord, seq: i64, hash: &str) -> Value {
    let r = record;
    let mut event = Map::new();
    event.insert("resourceType".into(), json!("AuditEvent"));
    put(&mut event, "id", &r.id, || json!(r.id));
    event.insert("extension".into(), json!([chain_extension(r, seq, hash)]));
    put(&mut event, "type", &r.action, || {
        coding(EVENT_TYPE_SYSTEM, &r.action)
    });
    put(&mut event, "action", &r.action_code, || {
        json!(r.action_code)
    });
    if let Some(at) = recorded(r.time) {
        event.insert("recorded".into(), json!(at));
    }
    if let Some(code) = outcome(&r.outcome) {
        event.insert("outcome".into(), json!(code));
    }
    put(&mut event, "outcomeDesc", &r.reason, || json!(r.reason));
    event.insert("agent".into(), json!([agent(r)]));
    event.insert("source".into(), source(r));
    let entities = entities(r);
    if !entities.is_empty() {
        event.insert("entity".into(), Value::Array(entities));
    }
    Value::Object(event)
}

#[cfg(test)]
mod tests;
