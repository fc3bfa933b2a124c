//! `AccountInternalService`: what other MynaFleet services (activation, the eligibility
//! proxy) ask the account service — device credential checks and password changes, the
//! account event stream, operator-token checks, device-account scope look-ups and the
//! ingest of their audit records. Services only: the frame admits only internal-CA callers,
//! and every handler checks again.
//!
//! The event stream replays `account_events` after the resume token, then polls the table
//! every 200 ms and sends a heartbeat (no event, same token) when nothing was sent for
//! 300 ms, so a quiet stream shows it is alive at least every 500 ms. A CLINIC_CHANGED event
//! becomes one message per account of the clinic, each with that account's current scope;
//! every message of the group but the last carries the token of the event before, so a
//! client that resumes from the middle of a group gets the whole group again (delivery is
//! at least once, never lossy). A clinic without accounts sends nothing for its event; the
//! next heartbeat carries the advanced token.

mod ingest;

use super::Api;
use crate::audit::{ActionCode, AuditEntry, RequestMeta};
use crate::auth::{Actor, Role};
use crate::device_account::{AccountId, AccountName, AccountStatus, Privilege};
use crate::error::{Error, Result};
use crate::operator::OperatorState;
use crate::organization::OrganizationId;
use crate::store::credentials::{self, Attempt, CheckPolicy, DeviceScope};
use crate::store::events::{self, EventKind, StoredEvent};
use crate::store::{audit_log, operators, sessions};
use mynafleet_kit::auth::Caller;
use mynafleet_kit::status::FieldViolation;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::account_internal_service_server::AccountInternalService;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use uuid::Uuid;

/// How often the stream looks for new events.
const POLL: Duration = Duration::from_millis(200);
/// How long the stream stays silent before a heartbeat (plus at most one poll: < 500 ms).
const HEARTBEAT_AFTER: Duration = Duration::from_millis(300);
/// Events read per query.
const BATCH: u32 = 100;
/// The page-token tag of resume tokens.
const RESUME_TAG: &str = "account_events";
/// The longest password considered (argon2 work is bounded by input size).
const MAX_PASSWORD_BYTES: usize = 1024;
/// The longest source address kept in an audit record.
const MAX_ADDRESS_BYTES: usize = 256;
/// How long a caller may cache a CheckOperatorToken answer.
const OPERATOR_MAX_AGE_MILLIS: i64 = 1000;

/// Returns the resume token for "after event `seq`".
fn resume_token(seq: i64) -> String {
    mynafleet_kit::page::encode_token(RESUME_TAG, &seq.to_string())
}

/// Parses a resume token: 0 (from the oldest event) for an empty one.
fn parse_resume_token(token: &str) -> Result<i64> {
    match mynafleet_kit::page::decode_token(RESUME_TAG, token) {
        Ok(None) => Ok(0),
        Ok(Some(seq)) => seq
            .parse::<i64>()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or(Error::ResumeTokenInvalid),
        Err(()) => Err(Error::ResumeTokenInvalid),
    }
}

fn privilege_to_pb(p: Privilege) -> pb::Privilege {
    match p {
        Privilege::General => pb::Privilege::General,
        Privilege::MedicalInfo => pb::Privilege::MedicalInfo,
        Privilege::Administrator => pb::Privilege::Administrator,
    }
}

fn status_to_pb(s: AccountStatus) -> pb::DeviceAccountStatus {
    match s {
        AccountStatus::Available => pb::DeviceAccountStatus::Available,
        AccountStatus::Suspended => pb::DeviceAccountStatus::Suspended,
        AccountStatus::Ended => pb::DeviceAccountStatus::Ended,
    }
}

fn kind_to_pb(k: EventKind) -> pb::AccountEventKind {
    match k {
        EventKind::Suspended => pb::AccountEventKind::Suspended,
        EventKind::Resumed => pb::AccountEventKind::Resumed,
        EventKind::Ended => pb::AccountEventKind::Ended,
        EventKind::PrivilegeChanged => pb::AccountEventKind::PrivilegeChanged,
        EventKind::ClinicChanged => pb::AccountEventKind::ClinicChanged,
        EventKind::Issued => pb::AccountEventKind::Issued,
        EventKind::PasswordReset => pb::AccountEventKind::PasswordReset,
    }
}

fn role_to_pb(r: Role) -> pb::Role {
    match r {
        Role::OrgAdmin => pb::Role::OrgAdmin,
        Role::ClinicAdmin => pb::Role::ClinicAdmin,
        Role::Auditor => pb::Role::Auditor,
        Role::Viewer => pb::Role::Viewer,
    }
}

fn state_to_pb(s: OperatorState) -> pb::OperatorState {
    match s {
        OperatorState::Active => pb::OperatorState::Active,
        OperatorState::Locked => pb::OperatorState::Locked,
        OperatorState::Disabled => pb::OperatorState::Disabled,
    }
}

/// Returns the wire form of a device account's scope.
pub(crate) fn scope_to_pb(s: &DeviceScope) -> pb::DeviceAccountScope {
    pb::DeviceAccountScope {
        account: s.account_name(),
        organization: s.organization.name(),
        clinic: s.clinic_name(),
        institution_code: s.institution_code.clone(),
        institution_name: s.institution_name.clone(),
        privilege: privilege_to_pb(s.privilege).into(),
        status: status_to_pb(s.status).into(),
        must_change_password: s.must_change_password,
        home_visit_enabled: s.home_visit_enabled,
    }
}

/// Checks that the three credential fields are present and bounded.
fn check_credentials(
    code: &str,
    account_id: &str,
    password: &str,
    password_field: &str,
) -> Result<()> {
    let mut bad = Vec::new();
    if code.trim().is_empty() {
        bad.push(FieldViolation::new("institution_code", "is required"));
    }
    if account_id.trim().is_empty() {
        bad.push(FieldViolation::new("account_id", "is required"));
    }
    if password.is_empty() {
        bad.push(FieldViolation::new(password_field, "is required"));
    } else if password.len() > MAX_PASSWORD_BYTES {
        bad.push(FieldViolation::new(
            password_field,
            format!("must have at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidFields(bad))
    }
}

/// Returns the audit facts of a relayed terminal request: its address as the calling
/// service saw it (the field), not the calling service's own.
fn relayed_meta(source_address: &str) -> Result<RequestMeta> {
    if source_address.len() > MAX_ADDRESS_BYTES {
        return Err(Error::field(
            "source_address",
            format!("must have at most {MAX_ADDRESS_BYTES} bytes"),
        ));
    }
    if mynafleet_kit::guard::text_contains_my_number(source_address) {
        return Err(Error::MyNumberRefused {
            field: "source_address".into(),
        });
    }
    Ok(RequestMeta {
        source_address: source_address.to_owned(),
        request_id: String::new(),
        traceparent: mynafleet_kit::telemetry::current_traceparent(),
    })
}

impl Api {
    /// Admits MynaFleet services only.
    fn service_caller<T>(req: &Request<T>) -> Result<Actor> {
        match Caller::of(req) {
            Some(Caller::Service { name }) => Ok(Actor::Service(name.clone())),
            Some(Caller::Operator(_) | Caller::Device(_)) | None => Err(Error::RoleRefused),
        }
    }

    fn check_policy(&self) -> CheckPolicy {
        CheckPolicy {
            max_failed: self.config.device_max_failed_checks,
            now: self.now(),
        }
    }

    /// Turns stored events into stream messages with the accounts' current scopes.
    async fn messages(
        &self,
        event: &StoredEvent,
        before: i64,
    ) -> Result<Vec<pb::WatchAccountEventsResponse>> {
        let bad = |what: &str| {
            Error::Db(sqlx::Error::Decode(
                format!("account event {} has a bad {what}", event.seq).into(),
            ))
        };
        let organization =
            OrganizationId::from_stored(&event.organization).ok_or_else(|| bad("organization"))?;
        let scopes = if event.kind == EventKind::ClinicChanged {
            let clinic = Uuid::parse_str(&event.clinic).map_err(|_| bad("clinic"))?;
            credentials::clinic_scopes(&self.pool, clinic).await?
        } else {
            let account =
                AccountId::parse(&event.account_id, "account_id").map_err(|_| bad("account id"))?;
            credentials::account_scope(&self.pool, organization, account)
                .await?
                .into_iter()
                .collect()
        };
        let last = scopes.len().saturating_sub(1);
        Ok(scopes
            .iter()
            .enumerate()
            .map(|(i, scope)| pb::WatchAccountEventsResponse {
                event: Some(pb::AccountEvent {
                    kind: kind_to_pb(event.kind).into(),
                    scope: Some(scope_to_pb(scope)),
                    time: Some(super::ts(event.time)),
                }),
                resume_token: resume_token(if i == last { event.seq } else { before }),
            })
            .collect())
    }

    /// Feeds `tx` with events after `after`, then live ones and heartbeats, until the client
    /// goes away or the server shuts down.
    async fn pump(
        self,
        mut after: i64,
        tx: mpsc::Sender<Result<pb::WatchAccountEventsResponse, Status>>,
    ) {
        let shutdown = self.shutdown.clone();
        let send = |msg: Result<pb::WatchAccountEventsResponse, Status>| {
            let tx = tx.clone();
            let shutdown = shutdown.clone();
            async move {
                tokio::select! {
                    sent = tx.send(msg) => sent.is_ok(),
                    () = shutdown.cancelled() => false,
                }
            }
        };
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A heartbeat goes out at once when there is nothing to replay.
        let mut last_sent: Option<Instant> = None;
        loop {
            tokio::select! {
                () = tx.closed() => return,
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            loop {
                let batch = match events::after(&self.pool, after, BATCH).await {
                    Ok(b) => b,
                    Err(e) => {
                        send(Err(e.into())).await;
                        return;
                    }
                };
                for event in &batch {
                    let messages = match self.messages(event, after).await {
                        Ok(m) => m,
                        Err(e) => {
                            send(Err(e.into())).await;
                            return;
                        }
                    };
                    for m in messages {
                        if !send(Ok(m)).await {
                            return;
                        }
                        last_sent = Some(Instant::now());
                    }
                    after = event.seq;
                }
                if batch.len() < BATCH as usize {
                    break;
                }
            }
            if last_sent.is_none_or(|t| t.elapsed() >= HEARTBEAT_AFTER) {
                let beat = pb::WatchAccountEventsResponse {
                    event: None,
                    resume_token: resume_token(after),
                };
                if !send(Ok(beat)).await {
                    return;
                }
                last_sent = Some(Instant::now());
            }
        }
    }
}

#[tonic::async_trait]
impl AccountInternalService for Api {
    async fn get_device_account_scope(
        &self,
        req: Request<pb::GetDeviceAccountScopeRequest>,
    ) -> Result<Response<pb::GetDeviceAccountScopeResponse>, Status> {
        Self::service_caller(&req)?;
        let name = AccountName::parse(&req.get_ref().account, "account")?;
        let scope = credentials::account_scope(&self.pool, name.clinic.organization, name.id)
            .await?
            // The account must sit in the clinic its name says, or it is not this account.
            .filter(|s| s.clinic == name.clinic.clinic)
            .ok_or_else(crate::store::device_accounts::not_found)?;
        Ok(Response::new(pb::GetDeviceAccountScopeResponse {
            scope: Some(scope_to_pb(&scope)),
        }))
    }

    async fn ingest_audit_records(
        &self,
        req: Request<pb::IngestAuditRecordsRequest>,
    ) -> Result<Response<pb::IngestAuditRecordsResponse>, Status> {
        let producer = match Self::service_caller(&req)? {
            Actor::Service(name) => name,
            Actor::Operator(_) => return Err(Error::RoleRefused.into()),
        };
        let rows = ingest::records_from_pb(&producer, req.into_inner().records)?;
        let spans = ingest::record_spans(&rows);
        let inserted = audit_log::ingest(&self.pool, &rows).await?;
        drop(spans);
        tracing::debug!(%producer, received = rows.len(), inserted, "audit records ingested");
        crate::metrics::ingested(&producer, inserted);
        Ok(Response::new(pb::IngestAuditRecordsResponse {
            // At most MAX_RECORDS, so it always fits.
            inserted: i32::try_from(inserted).unwrap_or(i32::MAX),
        }))
    }

    async fn verify_device_credentials(
        &self,
        req: Request<pb::VerifyDeviceCredentialsRequest>,
    ) -> Result<Response<pb::VerifyDeviceCredentialsResponse>, Status> {
        let actor = Self::service_caller(&req)?;
        let r = req.into_inner();
        check_credentials(&r.institution_code, &r.account_id, &r.password, "password")?;
        let meta = relayed_meta(&r.source_address)?;
        let policy = self.check_policy();
        let audit = AuditEntry::new(
            &actor,
            &meta,
            policy.now,
            "device_credentials.verify",
            ActionCode::Execute,
        );
        let attempt = Attempt {
            institution_code: &r.institution_code,
            account_id: &r.account_id,
            password: &r.password,
        };
        let scope = credentials::verify(&self.pool, attempt, policy, &audit).await?;
        Ok(Response::new(pb::VerifyDeviceCredentialsResponse {
            scope: Some(scope_to_pb(&scope)),
        }))
    }

    async fn change_device_password(
        &self,
        req: Request<pb::ChangeDevicePasswordRequest>,
    ) -> Result<Response<pb::ChangeDevicePasswordResponse>, Status> {
        let actor = Self::service_caller(&req)?;
        let r = req.into_inner();
        check_credentials(
            &r.institution_code,
            &r.account_id,
            &r.current_password,
            "current_password",
        )?;
        let meta = relayed_meta(&r.source_address)?;
        // The new password's policy is checked first: it says nothing about the account and
        // costs no failed check.
        crate::password::check_device(&r.new_password)?;
        if r.new_password == r.current_password {
            return Err(
                Error::field("new_password", "must differ from the current password").into(),
            );
        }
        let policy = self.check_policy();
        let audit = AuditEntry::new(
            &actor,
            &meta,
            policy.now,
            "device_account.change_password",
            ActionCode::Update,
        );
        let attempt = Attempt {
            institution_code: &r.institution_code,
            account_id: &r.account_id,
            password: &r.current_password,
        };
        let scope =
            credentials::change(&self.pool, attempt, &r.new_password, policy, &audit).await?;
        Ok(Response::new(pb::ChangeDevicePasswordResponse {
            scope: Some(scope_to_pb(&scope)),
        }))
    }

    type WatchAccountEventsStream = ReceiverStream<Result<pb::WatchAccountEventsResponse, Status>>;

    async fn watch_account_events(
        &self,
        req: Request<pb::WatchAccountEventsRequest>,
    ) -> Result<Response<Self::WatchAccountEventsStream>, Status> {
        Self::service_caller(&req)?;
        let after = parse_resume_token(&req.get_ref().resume_token)?;
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(self.clone().pump(after, tx));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn check_operator_token(
        &self,
        req: Request<pb::CheckOperatorTokenRequest>,
    ) -> Result<Response<pb::CheckOperatorTokenResponse>, Status> {
        Self::service_caller(&req)?;
        let token = &req.get_ref().session_token;
        if token.is_empty() {
            return Err(Error::SessionInvalid.into());
        }
        let session =
            sessions::resolve(&self.pool, token, self.now(), &self.config.sessions).await?;
        let p = session.principal;
        let op = operators::get(&self.pool, p.organization, p.operator).await?;
        let clinic = |c: &Uuid| format!("organizations/{}/clinics/{c}", p.organization.stored());
        Ok(Response::new(pb::CheckOperatorTokenResponse {
            operator: Some(pb::Operator {
                name: op.name(),
                login_id: op.login_id.as_str().to_owned(),
                display_name: op.display_name.as_str().to_owned(),
                role: role_to_pb(op.role).into(),
                clinics: op.clinics.iter().map(clinic).collect(),
                state: state_to_pb(op.state).into(),
                must_change_password: op.must_change_password,
                totp_enrolled: op.totp_enrolled,
                create_time: Some(super::ts(op.create_time)),
                last_login_time: op.last_login_time.map(super::ts),
            }),
            organization: p.organization.name(),
            max_age_millis: OPERATOR_MAX_AGE_MILLIS,
        }))
    }
}

#[cfg(test)]
mod tests;
