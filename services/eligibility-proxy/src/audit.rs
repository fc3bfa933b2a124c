//! The proxy's audit records (DESIGN.md §3.7): one per check and per refusal, built with
//! [`CheckAudit`], written to the local outbox (`store::Store::append_audit`) before the
//! device gets its answer, and forwarded to the account service by [`spawn_forwarder`].
//!
//! The patient appears only as `patient_ref` = HMAC-SHA256 under the organization's
//! patient-reference key (`keys.reference` derived with HKDF for label `patient-ref` and the
//! organization id) over 保険者番号, 記号, 番号 and 枝番, each normalised as for search and
//! joined with a unit separator (0x1F); `patient_ref_key_id` names the key. The 照会番号 and
//! the certificate serial appear only as keyed HMACs in `detail` (labels `reference-number`
//! and `certificate-serial`). Never a name, birth date, 記号・番号 or serial in clear.
//!
//! References and the search normalisation are kit's (`mynafleet_kit::patient_ref`), so the
//! account service computes the same reference when an auditor searches for a patient.

use crate::client::AccountClient;
use crate::scope::AccountScope;
use mynafleet_kit::keys::SecretKey;
use mynafleet_kit::outbox::OutboxRecord;
use sqlx::AnyPool;
use std::collections::BTreeMap;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub(crate) use mynafleet_kit::patient_ref::PatientKey;
use mynafleet_kit::patient_ref::{CERTIFICATE_LABEL, REFERENCE_NUMBER_LABEL, normalise};

/// What kind of check a record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CheckKind {
    /// A My Number card check.
    Card,
    /// A check by 保険者番号・記号・番号・枝番.
    Numbers,
    /// A 再照会 by 照会番号.
    Requery,
    /// A 照会番号 registration.
    Register,
}

impl CheckKind {
    /// Returns the `check_kind` detail value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CheckKind::Card => "card",
            CheckKind::Numbers => "numbers",
            CheckKind::Requery => "requery",
            CheckKind::Register => "register",
        }
    }

    /// Returns the audit action and its FHIR action code.
    fn action(self) -> (&'static str, &'static str) {
        match self {
            CheckKind::Card => ("eligibility.check_card", "E"),
            CheckKind::Numbers => ("eligibility.check_numbers", "E"),
            CheckKind::Requery => ("eligibility.requery", "R"),
            CheckKind::Register => ("eligibility.register_reference_number", "C"),
        }
    }
}

/// How the patient's identity was confirmed (card checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    /// The card's PIN and signature.
    Pin,
    /// 目視確認 by a staff member.
    Visual,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Pin => "pin",
            Method::Visual => "visual",
        }
    }
}

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The upstream answered.
    Success,
    /// It was tried and failed (bad card, upstream error).
    Failure,
    /// It was refused (scope, suspended account, replayed challenge).
    Denied,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One check's audit record before it is written; the check fills it in as it goes.
#[derive(Clone)]
pub(crate) struct CheckAudit {
    /// UUIDv7: the record id and the check id shown to the device.
    pub(crate) id: Uuid,
    /// Microseconds since the epoch.
    pub(crate) time_micros: i64,
    /// `organizations/{org}`.
    pub(crate) organization: String,
    /// `organizations/{org}/clinics/{clinic}`.
    pub(crate) clinic: String,
    /// `organizations/{org}/clinics/{clinic}/devices/{uuid}`.
    pub(crate) device: String,
    /// `organizations/{org}/clinics/{clinic}/accounts/{W…}`.
    pub(crate) account: String,
    /// 権限区分 as stored (`general`, `medical_info`), empty before the scope is known.
    pub(crate) privilege: String,
    /// Which check.
    pub(crate) kind: CheckKind,
    /// How identity was confirmed (card checks).
    pub(crate) method: Option<Method>,
    /// Who attested a 目視確認.
    pub(crate) attesting_staff: Option<String>,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// The stable reason of a failure or refusal.
    pub(crate) reason: String,
    /// 資格有効性 as returned (the raw code).
    pub(crate) validity: String,
    /// The eligibility predicate's verdict (for example `eligible`, `needs_staff_action`).
    pub(crate) verdict: String,
    /// The patient's numbers (HMAC'd into `patient_ref`).
    pub(crate) patient: Option<PatientKey>,
    /// The 照会番号 (HMAC'd into `detail`).
    pub(crate) reference_number: Option<String>,
    /// The card certificate's serial, hex (HMAC'd into `detail`).
    pub(crate) certificate_serial: Option<String>,
    /// The upstream adapter's name.
    pub(crate) upstream: String,
    /// The terminal's address.
    pub(crate) source_address: String,
    /// W3C traceparent of the call.
    pub(crate) traceparent: String,
}

impl std::fmt::Debug for CheckAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The patient's numbers, the 照会番号 and the serial stay out of logs.
        f.debug_struct("CheckAudit")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("device", &self.device)
            .field("outcome", &self.outcome)
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

/// Returns the `(organization, clinic)` resource names a device or account name lies in.
fn parents(name: &str) -> (String, String) {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["organizations", org, "clinics", clinic, ..] => (
            format!("organizations/{org}"),
            format!("organizations/{org}/clinics/{clinic}"),
        ),
        _ => (String::new(), String::new()),
    }
}

impl CheckAudit {
    /// Starts a successful record of a `kind` check by `device` (for `account`) at
    /// `time_micros`; organization and clinic come from the device's name until
    /// [`CheckAudit::scope`] sets them.
    pub(crate) fn new(kind: CheckKind, device: &str, account: &str, time_micros: i64) -> Self {
        let (organization, clinic) = parents(device);
        Self {
            id: Uuid::now_v7(),
            time_micros,
            organization,
            clinic,
            device: device.to_owned(),
            account: account.to_owned(),
            privilege: String::new(),
            kind,
            method: None,
            attesting_staff: None,
            outcome: Outcome::Success,
            reason: String::new(),
            validity: String::new(),
            verdict: String::new(),
            patient: None,
            reference_number: None,
            certificate_serial: None,
            upstream: String::new(),
            source_address: String::new(),
            traceparent: String::new(),
        }
    }

    /// Takes organization, clinic and 権限区分 from the account's scope.
    pub(crate) fn scope(&mut self, scope: &AccountScope) {
        if !scope.organization.is_empty() {
            self.organization = scope.organization.clone();
        }
        if !scope.clinic.is_empty() {
            self.clinic = scope.clinic.clone();
        }
        self.privilege = scope.privilege.as_str().to_owned();
    }

    /// Marks the check as failed or refused, with its stable reason.
    pub(crate) fn fail(&mut self, outcome: Outcome, reason: impl Into<String>) {
        self.outcome = outcome;
        self.reason = reason.into();
    }

    /// Returns the outbox record, with every patient identifier replaced by its keyed HMAC
    /// under keys derived from `reference` (the proxy's `keys.reference`) for the record's
    /// organization.
    pub(crate) fn into_outbox(self, reference: &SecretKey) -> OutboxRecord {
        let org_id = self
            .organization
            .strip_prefix("organizations/")
            .unwrap_or_default()
            .to_owned();
        let keyed = |label: &str, value: &str| reference.derive(label, &org_id).hmac_hex(&[value]);
        let (action, action_code) = self.kind.action();
        let auth_method = match self.method {
            Some(Method::Pin) => "mtls+pin",
            Some(Method::Visual) => "mtls+visual",
            None => "mtls",
        };
        let (patient_ref, patient_ref_key_id) = match &self.patient {
            Some(p) => mynafleet_kit::patient_ref::for_organization(reference, &org_id, p),
            None => (String::new(), String::new()),
        };
        let mut detail = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            if !v.is_empty() {
                detail.insert(k.to_owned(), v);
            }
        };
        put("check_kind", self.kind.as_str().to_owned());
        put(
            "identity_method",
            self.method
                .map(Method::as_str)
                .unwrap_or_default()
                .to_owned(),
        );
        put("attesting_staff", self.attesting_staff.unwrap_or_default());
        put("validity", self.validity);
        put("verdict", self.verdict);
        put("upstream", self.upstream);
        put("account", self.account);
        if let Some(n) = &self.reference_number {
            put(
                "reference_number_ref",
                keyed(REFERENCE_NUMBER_LABEL, &normalise(n)),
            );
        }
        if let Some(s) = &self.certificate_serial {
            let serial: String = normalise(s)
                .chars()
                .filter(|c| *c != ':')
                .map(|c| c.to_ascii_lowercase())
                .collect();
            put("certificate_serial_ref", keyed(CERTIFICATE_LABEL, &serial));
        }
        if (self.reference_number.is_some() || self.certificate_serial.is_some())
            && patient_ref_key_id.is_empty()
        {
            // Every derived key names its parent key's id.
            put("ref_key_id", reference.id().to_owned());
        }
        let target = if patient_ref.is_empty() {
            self.clinic.clone()
        } else {
            format!("patients/{patient_ref}")
        };
        OutboxRecord {
            id: self.id.to_string(),
            organization_id: org_id,
            time: self.time_micros,
            actor_kind: "device".to_owned(),
            actor: self.device,
            actor_role: self.privilege,
            auth_method: auth_method.to_owned(),
            action: action.to_owned(),
            action_code: action_code.to_owned(),
            clinic: self.clinic,
            target,
            outcome: self.outcome.as_str().to_owned(),
            reason: self.reason,
            source_address: self.source_address,
            request_id: String::new(),
            traceparent: self.traceparent,
            patient_ref,
            patient_ref_key_id,
            detail,
        }
    }
}

/// Spawns the forwarder: the outbox on `pool` goes to the account service's
/// `IngestAuditRecords` until `shutdown` (then once more, briefly).
pub(crate) fn spawn_forwarder(
    pool: AnyPool,
    account: AccountClient,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let send = move |records: Vec<OutboxRecord>| {
        let account = account.clone();
        async move {
            account
                .ingest_audit(&records)
                .await
                .map(|_| ())
                .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
        }
    };
    tokio::spawn(mynafleet_kit::outbox::run(pool, send, shutdown))
}

#[cfg(test)]
mod tests;
