//! Activation's audit records (DESIGN.md §3.7): written to the local `audit_outbox` in the
//! same transaction as the change they record (through `mynafleet_kit::outbox`), then
//! forwarded to the account service's central store by [`crate::forward`] (idempotent by
//! record id) and deleted.
//!
//! A record never holds an activation code, a password, a CSR or a certificate; an attempt
//! is recorded by who tried, from where, and why it failed.

use crate::error::Result;
use mynafleet_kit::outbox::{self, OutboxRecord};
use uuid::Uuid;

/// The producer name of records written by this service.
pub(crate) const PRODUCER: &str = "activation";

/// How an action ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It happened.
    Success,
    /// It was tried and failed (wrong code, bad state).
    Failure,
    /// It was refused by access control.
    Denied,
}

impl Outcome {
    /// Returns the stored name (as the account service stores it).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// FHIR AuditEvent.action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ActionCode {
    /// Create (a code, a device).
    Create,
    /// Update (suspend, resume, renew).
    Update,
    /// Delete (revoke).
    Delete,
    /// Execute (an activation attempt).
    Execute,
}

impl ActionCode {
    /// Returns the FHIR code.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ActionCode::Create => "C",
            ActionCode::Update => "U",
            ActionCode::Delete => "D",
            ActionCode::Execute => "E",
        }
    }
}

/// Who acted, as an audit record names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AuditActor {
    /// operator, device, service or anonymous (a terminal that is not activated yet).
    pub(crate) kind: &'static str,
    /// Resource name of who acted (for a terminal not yet activated: the account it named).
    pub(crate) name: String,
    /// Operator role or device 権限区分.
    pub(crate) role: String,
    /// How the actor authenticated ("session", "mtls", "password+activation-code").
    pub(crate) auth_method: &'static str,
}

/// Facts about the RPC that every record of it shares.
#[derive(Clone, Debug, Default)]
pub(crate) struct RequestMeta {
    /// The caller's address.
    pub(crate) source_address: String,
    /// The request's `request_id`, if any.
    pub(crate) request_id: String,
    /// The W3C traceparent of the RPC.
    pub(crate) traceparent: String,
}

/// One audit record before it is written.
#[derive(Clone, Debug)]
pub(crate) struct AuditEntry {
    /// UUIDv7, the idempotency key of forwarding.
    pub(crate) id: Uuid,
    /// The organization id, empty when none is known (an unknown 機関コード).
    pub(crate) organization_id: String,
    /// Microseconds since the epoch.
    pub(crate) time: i64,
    /// Who acted.
    pub(crate) actor: AuditActor,
    /// What was done, `noun.verb` (`activation.attempt`, `device.suspend`).
    pub(crate) action: &'static str,
    /// FHIR action code.
    pub(crate) action_code: ActionCode,
    /// The clinic concerned, as a resource name, or empty.
    pub(crate) clinic: String,
    /// The resource acted on.
    pub(crate) target: String,
    /// How it ended.
    pub(crate) outcome: Outcome,
    /// The stable reason of a failure (an error reason), empty on success.
    pub(crate) reason: String,
    /// The request facts.
    pub(crate) meta: RequestMeta,
}

impl AuditEntry {
    /// Starts a successful record of `action` by `actor` at `time` (microseconds).
    pub(crate) fn new(
        actor: AuditActor,
        meta: &RequestMeta,
        time: i64,
        action: &'static str,
        action_code: ActionCode,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            organization_id: String::new(),
            time,
            actor,
            action,
            action_code,
            clinic: String::new(),
            target: String::new(),
            outcome: Outcome::Success,
            reason: String::new(),
            meta: meta.clone(),
        }
    }

    /// Sets the organization id.
    pub(crate) fn organization(mut self, id: impl Into<String>) -> Self {
        self.organization_id = id.into();
        self
    }

    /// Sets the clinic (resource name).
    pub(crate) fn clinic(mut self, clinic: impl Into<String>) -> Self {
        self.clinic = clinic.into();
        self
    }

    /// Sets the target (resource name).
    pub(crate) fn target(mut self, target: impl Into<String>) -> Self {
        self.target = target.into();
        self
    }

    /// Sets how it ended and why.
    pub(crate) fn outcome(mut self, outcome: Outcome, reason: impl Into<String>) -> Self {
        self.outcome = outcome;
        self.reason = reason.into();
        self
    }
}

impl AuditEntry {
    /// Returns the outbox row of this record.
    pub(crate) fn to_record(&self) -> OutboxRecord {
        OutboxRecord {
            id: self.id.to_string(),
            organization_id: self.organization_id.clone(),
            time: self.time,
            actor_kind: self.actor.kind.to_owned(),
            actor: self.actor.name.clone(),
            actor_role: self.actor.role.clone(),
            auth_method: self.actor.auth_method.to_owned(),
            action: self.action.to_owned(),
            action_code: self.action_code.as_str().to_owned(),
            clinic: self.clinic.clone(),
            target: self.target.clone(),
            outcome: self.outcome.as_str().to_owned(),
            reason: self.reason.clone(),
            source_address: self.meta.source_address.clone(),
            request_id: self.meta.request_id.clone(),
            traceparent: self.meta.traceparent.clone(),
            ..OutboxRecord::default()
        }
    }
}

/// Writes `e` into the outbox on `conn` (the caller's transaction).
pub(crate) async fn append(conn: &mut sqlx::AnyConnection, e: &AuditEntry) -> Result<()> {
    outbox::insert(conn, &e.to_record()).await?;
    Ok(())
}

/// Writes `e` in a transaction of its own (a refused or failed call that changed nothing).
pub(crate) async fn append_alone(pool: &sqlx::AnyPool, e: &AuditEntry) -> Result<()> {
    let mut conn = pool.acquire().await?;
    append(&mut conn, e).await
}
