use super::*;
use serde_json::json;

const ORG: &str = "organizations/01J0000000000000000000ORG1";
const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn eligibility_query() -> ChainRecord {
    ChainRecord {
        id: "0197aaaa-0000-7000-8000-000000000001".into(),
        organization: ORG.into(),
        time: 1_750_000_000_123_456,
        producer: "proxy".into(),
        actor_kind: "device".into(),
        actor: format!("{ORG}/devices/reception-1"),
        actor_role: "terminal".into(),
        auth_method: "mtls".into(),
        session_ref: "5e55".into(),
        action: "eligibility.query".into(),
        action_code: "E".into(),
        clinic: format!("{ORG}/clinics/1312345678"),
        target: format!("{ORG}/clinics/1312345678"),
        outcome: "success".into(),
        source_address: "192.0.2.10".into(),
        request_id: "req-1".into(),
        patient_ref: "ab12".into(),
        patient_ref_key_id: "k1".into(),
        detail: [
            ("inquiry_ref".to_owned(), "cd34".to_owned()),
            ("result_code".to_owned(), "1".to_owned()),
        ]
        .into(),
        ..ChainRecord::default()
    }
}

#[test]
fn a_record_with_a_patient_and_detail_maps_to_an_audit_event() {
    let event = audit_event(&eligibility_query(), 42, HASH);
    let clinic = format!("{ORG}/clinics/1312345678");
    assert_eq!(
        event,
        json!({
            "resourceType": "AuditEvent",
            "id": "0197aaaa-0000-7000-8000-000000000001",
            "extension": [{
                "url": "https://mynafleet.jp/fhir/StructureDefinition/audit-chain",
                "extension": [
                    { "url": "seq", "valueInteger": 42 },
                    { "url": "hash", "valueString": HASH },
                    { "url": "organization", "valueString": ORG },
                    { "url": "authMethod", "valueString": "mtls" },
                    { "url": "requestId", "valueString": "req-1" },
                ],
            }],
            "type": { "system": "https://mynafleet.jp/fhir/audit-event-type", "code": "eligibility.query" },
            "action": "E",
            "recorded": "2025-06-15T15:06:40.123456Z",
            "outcome": "0",
            "agent": [{
                "type": { "coding": [{ "system": "https://mynafleet.jp/fhir/actor-kind", "code": "device" }] },
                "who": {
                    "type": "Device",
                    "identifier": {
                        "system": "https://mynafleet.jp/fhir/resource-name",
                        "value": format!("{ORG}/devices/reception-1"),
                    },
                },
                "altId": "reception-1",
                "role": [{ "coding": [{ "system": "https://mynafleet.jp/fhir/actor-role", "code": "terminal" }] }],
                "requestor": true,
                "policy": ["5e55"],
                "network": { "address": "192.0.2.10", "type": "2" },
            }],
            "source": { "site": clinic, "observer": { "display": "proxy" } },
            "entity": [
                {
                    "what": { "identifier": { "system": "https://mynafleet.jp/fhir/patient-ref/k1", "value": "ab12" } },
                    "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" },
                    "role": { "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient" },
                    "detail": [
                        { "type": "inquiry_ref", "valueString": "cd34" },
                        { "type": "result_code", "valueString": "1" },
                    ],
                },
                {
                    "what": { "identifier": { "system": "https://mynafleet.jp/fhir/resource-name", "value": clinic } },
                    "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object" },
                },
            ],
        })
    );
}

#[test]
fn a_record_without_a_patient_has_no_patient_entity() {
    let mut r = eligibility_query();
    r.patient_ref.clear();
    r.patient_ref_key_id.clear();
    let event = audit_event(&r, 7, HASH);
    let entities = event["entity"].as_array().unwrap();
    assert_eq!(entities.len(), 1);
    assert_eq!(entities[0]["type"]["code"], "2");
    // The detail moves to the target, the only entity left.
    assert_eq!(entities[0]["detail"][1]["type"], "result_code");
    assert!(!event.to_string().contains("patient-ref"));
}

#[test]
fn outcomes_map_to_fhir_codes_and_unknown_ones_are_left_out() {
    for (outcome, code) in [
        ("success", json!("0")),
        ("failure", json!("4")),
        ("denied", json!("8")),
    ] {
        let r = ChainRecord {
            outcome: outcome.into(),
            reason: "why".into(),
            ..eligibility_query()
        };
        let event = audit_event(&r, 1, HASH);
        assert_eq!(event["outcome"], code, "{outcome}");
        assert_eq!(event["outcomeDesc"], "why");
    }
    let r = ChainRecord {
        outcome: "maybe".into(),
        ..eligibility_query()
    };
    assert!(audit_event(&r, 1, HASH).get("outcome").is_none());
}

#[test]
fn empty_fields_are_left_out_rather_than_invented() {
    let r = ChainRecord {
        id: "0197aaaa-0000-7000-8000-000000000002".into(),
        time: 0,
        producer: "account".into(),
        actor_kind: "anonymous".into(),
        action: "operator.login".into(),
        action_code: "E".into(),
        outcome: "failure".into(),
        reason: "BAD_CREDENTIALS".into(),
        ..ChainRecord::default()
    };
    let event = audit_event(&r, 3, HASH);
    assert_eq!(
        event["agent"],
        json!([{
            "type": { "coding": [{ "system": "https://mynafleet.jp/fhir/actor-kind", "code": "anonymous" }] },
            "requestor": true,
        }])
    );
    assert_eq!(
        event["source"],
        json!({ "observer": { "display": "account" } })
    );
    assert_eq!(event["recorded"], "1970-01-01T00:00:00Z");
    assert!(event.get("entity").is_none());
    assert_eq!(
        event["extension"][0]["extension"],
        json!([{ "url": "seq", "valueInteger": 3 }, { "url": "hash", "valueString": HASH }])
    );
}
