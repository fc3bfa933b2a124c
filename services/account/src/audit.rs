//! The account service's audit records (DESIGN.md §3.7, DOMAIN.md §9): one row per audited
//! action, written in the same transaction as the change it records, shaped like
//! `mynafleet.audit.v1.AuditRecord` so it maps onto FHIR AuditEvent, and appended to its
//! organization's tamper-evident chain in that transaction (`store::audit_chain`).
//!
//! A record never holds a password, a TOTP secret or code, bank digits, a session token or a
//! patient identifier in clear.

use crate::auth::Actor;
use crate::error::Result;
use crate::organization::OrganizationId;
use crate::store::audit_chain;
use crate::store::audit_log::StoredRecord;
use std::collections::BTreeMap;
use uuid::Uuid;

/// The producer name of records written by this service.
pub const PRODUCER: &str = "account";

/// How an action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was tried and failed (wrong password, bad state).
    Failure,
    /// It was refused by access control.
    Denied,
}

impl Outcome {
    /// Returns the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// FHIR AuditEvent.action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionCode {
    /// Create.
    Create,
    /// Read.
    Read,
    /// Update.
    Update,
    /// Delete (ends, disables).
    Delete,
    /// Execute (login, verification).
    Execute,
}

impl ActionCode {
    fn as_str(self) -> &'static str {
        match self {
            ActionCode::Create => "C",
            ActionCode::Read => "R",
            ActionCode::Update => "U",
            ActionCode::Delete => "D",
            ActionCode::Execute => "E",
        }
    }
}

/// Facts about the RPC that every record of it shares.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    /// The caller's address.
    pub source_address: String,
    /// The request's `request_id`, if any.
    pub request_id: String,
    /// The W3C traceparent of the RPC.
    pub traceparent: String,
}

/// One audit record before it is written.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    /// UUIDv7, the idempotency key of later forwarding.
    pub id: Uuid,
    /// The organization, when one is known (a failed login of an unknown id has none).
    pub organization: Option<OrganizationId>,
    /// Microseconds since the epoch.
    pub time: i64,
    /// operator, device, service or anonymous.
    pub actor_kind: &'static str,
    /// Resource name (or login id, for a failed login) of who acted.
    pub actor: String,
    /// Operator role or device 権限区分.
    pub actor_role: String,
    /// How the actor authenticated.
    pub auth_method: &'static str,
    /// Session id of an operator (never the token).
    pub session_ref: String,
    /// What was done, `noun.verb`.
    pub action: &'static str,
    /// FHIR action code.
    pub action_code: ActionCode,
    /// The clinic concerned, as a resource name.
    pub clinic: String,
    /// The resource acted on.
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The stable reason of a failure.
    pub reason: String,
    /// The request facts.
    pub meta: RequestMeta,
}

impl AuditEntry {
    /// Starts a successful record of `action` by `actor` at `time`.
    pub fn new(
        actor: &Actor,
        meta: &RequestMeta,
        time: i64,
        action: &'static str,
        action_code: ActionCode,
    ) -> Self {
        let (actor_kind, name, role, auth_method, session_ref, organization) = match actor {
            Actor::Operator(p) => (
                "operator",
                p.name(),
                p.role.as_str().to_owned(),
                "password+totp",
                p.session_id.clone(),
                Some(p.organization),
            ),
            Actor::Service(s) => (
                "service",
                format!("services/{s}"),
                String::new(),
                "mtls",
                String::new(),
                None,
            ),
        };
        Self {
            id: Uuid::now_v7(),
            organization,
            time,
            actor_kind,
            actor: name,
            actor_role: role,
            auth_method,
            session_ref,
            action,
            action_code,
            clinic: String::new(),
            target: String::new(),
            outcome: Outcome::Success,
            reason: String::new(),
            meta: meta.clone(),
        }
    }

    /// Sets the organization the record belongs to.
    pub fn organization(mut self, org: OrganizationId) -> Self {
        self.organization = Some(org);
        self
    }

    /// Sets the clinic concerned.
    pub fn clinic(mut self, clinic: impl Into<String>) -> Self {
        self.clinic = clinic.into();
        self
    }

    /// Sets the resource acted on.
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }

    /// Marks the record as a failure or denial with a stable reason.
    pub fn outcome(mut self, outcome: Outcome, reason: impl Into<String>) -> Self {
        self.outcome = outcome;
        self.reason = reason.into();
        self
    }
}

/// Returns `e` as the store keeps it (no patient reference, no detail).
fn stored(e: &AuditEntry) -> StoredRecord {
    StoredRecord {
        id: e.id.to_string(),
        organization: e.organization,
        time: e.time,
        producer: PRODUCER.to_owned(),
        actor_kind: e.actor_kind.to_owned(),
        actor: e.actor.clone(),
        actor_role: e.actor_role.clone(),
        auth_method: e.auth_method.to_owned(),
        session_ref: e.session_ref.clone(),
        action: e.action.to_owned(),
        action_code: e.action_code.as_str().to_owned(),
        clinic: e.clinic.clone(),
        target: e.target.clone(),
        outcome: e.outcome.as_str().to_owned(),
        reason: e.reason.clone(),
        source_address: e.meta.source_address.clone(),
        request_id: e.meta.request_id.clone(),
        patient_ref: String::new(),
        patient_ref_key_id: String::new(),
        traceparent: e.meta.traceparent.clone(),
        detail: BTreeMap::new(),
    }
}

/// Writes `entry` on `conn` (inside the transaction of the change it records), appended to
/// its organization's chain: the chain stays locked until that transaction ends.
pub async fn append(conn: &mut sqlx::AnyConnection, e: &AuditEntry) -> Result<()> {
    audit_chain::append(conn, std::slice::from_ref(&stored(e))).await?;
    Ok(())
}

/// Writes `entry` in a transaction of its own (for failures that change nothing else).
pub async fn append_alone(pool: &sqlx::AnyPool, e: &AuditEntry) -> Result<()> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    append(&mut tx, e).await?;
    tx.commit().await?;
    Ok(())
}
