//! The search filters of ListAuditRecords: each request field validated into the store's
//! [`AuditFilter`] (a violation names its field, reason AUDIT_FILTER_INVALID), and the patient
//! filter turned into the keyed reference the eligibility proxy wrote
//! (`mynafleet_kit::patient_ref`). The clear 保険者番号・記号・番号・枝番 go no further than
//! this module: they are never stored, logged or echoed in an error.

use crate::error::{Error, Result};
use crate::organization::OrganizationId;
use crate::store::audit_log::AuditFilter;
use mynafleet_kit::audit_chain::wire;
use mynafleet_kit::keys::SecretKey;
use mynafleet_kit::patient_ref::{self, PatientKey};
use mynafleet_kit::status::FieldViolation;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::audit::v1 as audit_pb;
use mynafleet_proto::prost_types::Timestamp;

/// The reason of a malformed filter.
const FILTER_INVALID: &str = "AUDIT_FILTER_INVALID";
/// The reason of a patient filter without 保険者番号 or 番号.
const PATIENT_INCOMPLETE: &str = "AUDIT_PATIENT_INCOMPLETE";

/// A validated search.
#[derive(Debug, Default)]
pub(super) struct Search {
    /// What the store filters on.
    pub(super) filter: AuditFilter,
    /// The request fields used, for the record of the read.
    pub(super) used: Vec<&'static str>,
    /// The id of the key the patient reference was made with.
    pub(super) patient_ref_key_id: String,
}

fn micros(t: &Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return None;
    }
    t.seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(t.nanos / 1_000))
}

/// A segment of a resource name: an id, never empty, no separators or spaces.
fn segment(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// Whether `name` is `organizations/{org}/clinics/{clinic}/devices/{device}` in `org`.
fn device_name(name: &str, org: OrganizationId) -> bool {
    match name.split('/').collect::<Vec<_>>().as_slice() {
        ["organizations", o, "clinics", c, "devices", d] => {
            OrganizationId::from_stored(o) == Some(org) && segment(c) && segment(d)
        }
        _ => false,
    }
}

/// Whether `actor` is an operator, device, device account or service resource name, or a
/// login id (what a failed login records).
fn actor_shape(actor: &str) -> bool {
    if !actor.contains('/') {
        return (1..=128).contains(&actor.chars().count())
            && !actor.chars().any(|c| c.is_whitespace() || c.is_control());
    }
    match actor.split('/').collect::<Vec<_>>().as_slice() {
        ["services", s] => segment(s),
        ["organizations", o, "operators", id] => uuid(o) && uuid(id),
        ["organizations", o, "clinics", c, "devices" | "accounts", d] => {
            uuid(o) && segment(c) && segment(d)
        }
        _ => false,
    }
}

/// Validates the filters of `msg` for the organization `org`; the patient's reference is made
/// under `reference` (the deployment's patient-reference key).
pub(super) fn parse(
    msg: &pb::ListAuditRecordsRequest,
    org: OrganizationId,
    reference: &SecretKey,
) -> Result<Search> {
    let mut search = Search::default();
    let mut bad = Vec::new();
    let f = &mut search.filter;
    let used = &mut search.used;
    if let Some(t) = &msg.start_time {
        used.push("start_time");
        f.start = micros(t);
        if f.start.is_none() {
            bad.push(FieldViolation::new(
                "start_time",
                "is not a valid timestamp",
            ));
        }
    }
    if let Some(t) = &msg.end_time {
        used.push("end_time");
        f.end = micros(t);
        if f.end.is_none() {
            bad.push(FieldViolation::new("end_time", "is not a valid timestamp"));
        }
    }
    if let (Some(start), Some(end)) = (f.start, f.end)
        && end <= start
    {
        bad.push(FieldViolation::new("end_time", "must be after start_time"));
    }
    if !msg.action.is_empty() {
        used.push("action");
        let ok = msg.action.len() <= 64
            && msg
                .action
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_');
        if ok {
            f.action = Some(msg.action.clone());
        } else {
            bad.push(FieldViolation::new(
                "action",
                "must be an action such as session.login (a-z, . and _, at most 64)",
            ));
        }
    }
    if !msg.actor.is_empty() {
        used.push("actor");
        if actor_shape(&msg.actor) {
            f.actor = Some(msg.actor.clone());
        } else {
            bad.push(FieldViolation::new(
                "actor",
                "must be an operator, device or service resource name, or a login id",
            ));
        }
    }
    if !msg.clinic.is_empty() {
        used.push("clinic");
        match crate::names::ClinicName::parse(&msg.clinic, "clinic") {
            Ok(c) if c.organization == org => f.clinic = Some(msg.clinic.clone()),
            Ok(_) => bad.push(FieldViolation::new("clinic", "must be a clinic of parent")),
            Err(_) => bad.push(FieldViolation::new(
                "clinic",
                "must look like organizations/{org}/clinics/{clinic}",
            )),
        }
    }
    if !msg.device.is_empty() {
        used.push("device");
        if device_name(&msg.device, org) {
            f.device = Some(msg.device.clone());
        } else {
            bad.push(FieldViolation::new(
                "device",
                "must be a device of parent: organizations/{org}/clinics/{clinic}/devices/{device}",
            ));
        }
    }
    let outcome = match audit_pb::Outcome::try_from(msg.outcome) {
        Ok(o) => Some(wire::outcome_name(o)).filter(|name| !name.is_empty()),
        Err(_) => {
            bad.push(FieldViolation::new("outcome", "is not a known outcome"));
            None
        }
    };
    if let Some(o) = outcome {
        used.push("outcome");
        f.outcome = Some(o.to_owned());
    }
    if !bad.is_empty() {
        return Err(Error::InvalidWithReason {
            reason: FILTER_INVALID,
            fields: bad,
        });
    }
    if let Some(p) = &msg.patient {
        patient(p, org, reference, &mut search)?;
    }
    Ok(search)
}

/// Adds the patient filter: 保険者番号 and 番号 are required; the rest may be empty.
fn patient(
    p: &pb::PatientFilter,
    org: OrganizationId,
    reference: &SecretKey,
    search: &mut Search,
) -> Result<()> {
    let blank = |v: &str| patient_ref::normalise(v).is_empty();
    if [&p.insurer_number, &p.symbol, &p.number, &p.branch]
        .iter()
        .all(|v| blank(v))
    {
        return Ok(());
    }
    let mut missing = Vec::new();
    if blank(&p.insurer_number) {
        missing.push(FieldViolation::new(
            "patient.insurer_number",
            "is required: the 保険者番号",
        ));
    }
    if blank(&p.number) {
        missing.push(FieldViolation::new(
            "patient.number",
            "is required: the 番号",
        ));
    }
    if !missing.is_empty() {
        return Err(Error::InvalidWithReason {
            reason: PATIENT_INCOMPLETE,
            fields: missing,
        });
    }
    for (field, value) in [
        ("patient.symbol", &p.symbol),
        ("patient.number", &p.number),
        ("patient.branch", &p.branch),
    ] {
        if mynafleet_kit::guard::text_contains_my_number(value) {
            return Err(Error::MyNumberRefused {
                field: field.to_owned(),
            });
        }
    }
    let insurer = patient_ref::normalise(&p.insurer_number);
    let digits = insurer.chars().filter(char::is_ascii_digit).count();
    if digits != insurer.chars().count() || !matches!(digits, 6 | 8) {
        return Err(Error::InvalidWithReason {
            reason: FILTER_INVALID,
            fields: vec![FieldViolation::new(
                "patient.insurer_number",
                "must be 6 or 8 digits (full-width digits and spaces are accepted)",
            )],
        });
    }
    let key = PatientKey {
        insurer: p.insurer_number.clone(),
        symbol: p.symbol.clone(),
        number: p.number.clone(),
        branch: p.branch.clone(),
    };
    let (reference, key_id) = patient_ref::for_organization(reference, &org.stored(), &key);
    search.filter.patient_ref = Some(reference);
    search.patient_ref_key_id = key_id;
    search.used.push("patient");
    Ok(())
}
