//! Outbound calls to activation's internal API (a device's status, the device-status watch,
//! presence reports for the fleet view) and to account's (a device account's scope, the account event stream, audit ingest).
//! The only module besides `grpc.rs` that imports `mynafleet_proto`; callers get domain
//! answers ([`Known`], [`StatusChange`], [`AccountScope`]), never prost types. It never
//! caches and never decides a refusal.

use crate::config::Config;
use crate::presence::{PresenceSink, SendError, Stamped};
use crate::scope::{AccountScope, Privilege, ScopeError, ScopeMessage, ScopeSource, WatchError};
use crate::status::{DeviceStatus, Known, StatusChange};
use account_pb::account_internal_service_client::AccountInternalServiceClient;
use futures::Stream;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use mynafleet_kit::client::{TracedChannel, retry_unavailable, traced_channel};
use mynafleet_kit::outbox::OutboxRecord;
use mynafleet_kit::status::reason_of;
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{self, Code};
use pb::activation_internal_service_client::ActivationInternalServiceClient;

/// Why a call to activation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// Activation refused the resume token; the watch must start again at the head.
    #[error("resume token refused")]
    ResumeTokenInvalid,
    /// Anything else: unreachable, not yet implemented, timed out, malformed answer.
    #[error("activation call failed: {0}")]
    Failed(#[source] tonic::Status),
}

fn call_error(s: tonic::Status) -> CallError {
    if reason_of(&s).as_deref() == Some("RESUME_TOKEN_INVALID") {
        CallError::ResumeTokenInvalid
    } else {
        CallError::Failed(s)
    }
}

/// One message of the watch.
#[derive(Debug)]
pub(crate) struct WatchMessage {
    /// The change it carries; `None` on a heartbeat.
    pub(crate) change: Option<StatusChange>,
    /// Where to resume after it (empty when activation sent none).
    pub(crate) resume_token: String,
}

/// A lazily connecting client of `ActivationInternalService`.
#[derive(Clone, Debug)]
pub(crate) struct ActivationClient {
    internal: ActivationInternalServiceClient<TracedChannel>,
}

impl ActivationClient {
    /// Returns a client for `config.activation_url`; nothing connects until the first call.
    pub(crate) fn new(config: &Config) -> Result<Self, mynafleet_kit::tls::ChannelError> {
        let channel = traced_channel(
            &config.client_tls,
            &config.activation_url,
            config.call_timeout,
        )?;
        Ok(Self {
            internal: ActivationInternalServiceClient::new(channel),
        })
    }

    /// Returns what activation knows of `device` (a device resource name), within the
    /// channel's deadline; UNAVAILABLE is retried briefly.
    pub(crate) async fn device_status(&self, device: &str) -> Result<Known, CallError> {
        let answer = retry_unavailable(|| {
            let mut c = self.internal.clone();
            let req = pb::GetDeviceStatusRequest {
                device: device.to_owned(),
            };
            async move { c.get_device_status(req).await }
        })
        .await;
        match answer {
            Ok(r) => {
                let change = r.into_inner().status;
                change
                    .and_then(|c| known_from_pb(&c))
                    .ok_or_else(|| CallError::Failed(tonic::Status::internal("no status")))
            }
            Err(s) if s.code() == Code::NotFound => Ok(Known::NotFound),
            Err(s) => Err(call_error(s)),
        }
    }

    /// Opens the watch after `resume_token`, or at the head when there is none.
    pub(crate) async fn watch(
        &self,
        resume_token: Option<&str>,
    ) -> Result<impl Stream<Item = Result<WatchMessage, CallError>> + use<>, CallError> {
        let mut c = self.internal.clone();
        let stream = c
            .watch_device_status(pb::WatchDeviceStatusRequest {
                resume_token: resume_token.unwrap_or_default().to_owned(),
                start_at_head: resume_token.is_none(),
            })
            .await
            .map_err(call_error)?
            .into_inner();
        Ok(tokio_stream::StreamExt::map(stream, |item| {
            let m = item.map_err(call_error)?;
            Ok(WatchMessage {
                change: m.change.as_ref().and_then(change_from_pb),
                resume_token: m.resume_token,
            })
        }))
    }
}

impl PresenceSink for ActivationClient {
    /// Sends one `ReportPresence` within the channel's deadline. Unreachable, timed out or
    /// overloaded is worth another try; a refusal (unknown device, malformed report, a peer
    /// that does not know the call) is not.
    async fn send(&self, device: &str, presence: &Stamped) -> Result<(), SendError> {
        let mut c = self.internal.clone();
        let r = &presence.report;
        let req = pb::ReportPresenceRequest {
            device: device.to_owned(),
            presence: Some(pb::DevicePresence {
                online: r.online,
                readers: r
                    .readers
                    .iter()
                    .map(|(name, card_present)| pb::DeviceReader {
                        name: name.clone(),
                        card_present: *card_present,
                    })
                    .collect(),
                last_scan_time: r.last_scan_time.map(timestamp),
                agent_version: r.agent_version.clone(),
                report_time: Some(timestamp(presence.report_time)),
                proxy: presence.proxy.clone(),
            }),
        };
        match c.report_presence(req).await {
            Ok(_) => Ok(()),
            Err(s) => {
                let why = format!("{:?}: {}", s.code(), s.message());
                match s.code() {
                    Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::ResourceExhausted
                    | Code::Aborted
                    | Code::Internal
                    | Code::Unknown
                    | Code::Cancelled => Err(SendError::Retry(why)),
                    Code::Ok
                    | Code::InvalidArgument
                    | Code::NotFound
                    | Code::AlreadyExists
                    | Code::PermissionDenied
                    | Code::FailedPrecondition
                    | Code::OutOfRange
                    | Code::Unimplemented
                    | Code::DataLoss
                    | Code::Unauthenticated => Err(SendError::Refused(why)),
                }
            }
        }
    }
}

/// Returns the wire form of a time.
fn timestamp(t: time::OffsetDateTime) -> mynafleet_proto::prost_types::Timestamp {
    mynafleet_proto::prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
}

fn known_from_pb(c: &pb::DeviceStatusChange) -> Option<Known> {
    let status = match c.status() {
        pb::DeviceStatus::Pending => DeviceStatus::Pending,
        pb::DeviceStatus::Active => DeviceStatus::Active,
        pb::DeviceStatus::Suspended => DeviceStatus::Suspended,
        pb::DeviceStatus::Revoked => DeviceStatus::Revoked,
        pb::DeviceStatus::Unspecified => return None,
    };
    Some(Known::Registered {
        account: c.account.clone(),
        status,
    })
}

fn change_from_pb(c: &pb::DeviceStatusChange) -> Option<StatusChange> {
    // A change that names no device cannot be applied to any entry.
    (!c.device.is_empty()).then(|| StatusChange {
        device: c.device.clone(),
        known: known_from_pb(c),
    })
}

/// A lazily connecting client of account's `AccountInternalService`.
#[derive(Clone, Debug)]
pub(crate) struct AccountClient {
    internal: AccountInternalServiceClient<TracedChannel>,
}

impl AccountClient {
    /// Returns a client for `config.account_url`; nothing connects until the first call.
    pub(crate) fn new(config: &Config) -> Result<Self, mynafleet_kit::tls::ChannelError> {
        let channel = traced_channel(&config.client_tls, &config.account_url, config.call_timeout)?;
        Ok(Self {
            internal: AccountInternalServiceClient::new(channel),
        })
    }

    /// Hands audit records to the central store; returns how many were new. UNAVAILABLE is
    /// retried briefly; the forwarder retries the rest.
    pub(crate) async fn ingest_audit(
        &self,
        records: &[OutboxRecord],
    ) -> Result<i32, tonic::Status> {
        let records: Vec<_> = records
            .iter()
            .map(|r| r.to_pb(crate::SERVICE_NAME))
            .collect();
        retry_unavailable(|| {
            let mut c = self.internal.clone();
            let req = account_pb::IngestAuditRecordsRequest {
                records: records.clone(),
            };
            async move { c.ingest_audit_records(req).await }
        })
        .await
        .map(|r| r.into_inner().inserted)
    }
}

impl ScopeSource for AccountClient {
    async fn scope(&self, account: &str) -> Result<AccountScope, ScopeError> {
        let answer = retry_unavailable(|| {
            let mut c = self.internal.clone();
            let req = account_pb::GetDeviceAccountScopeRequest {
                account: account.to_owned(),
            };
            async move { c.get_device_account_scope(req).await }
        })
        .await;
        match answer {
            Ok(r) => r
                .into_inner()
                .scope
                .map(|s| scope_from_pb(&s))
                .ok_or_else(|| ScopeError::Unavailable("account sent no scope".to_owned())),
            Err(s) if s.code() == Code::NotFound => Err(ScopeError::NotFound),
            Err(s) => Err(ScopeError::Unavailable(format!(
                "{:?}: {}",
                s.code(),
                s.message()
            ))),
        }
    }

    async fn events(
        &self,
        resume_token: &str,
    ) -> Result<BoxStream<'static, Result<ScopeMessage, WatchError>>, WatchError> {
        let mut c = self.internal.clone();
        let stream = c
            .watch_account_events(account_pb::WatchAccountEventsRequest {
                resume_token: resume_token.to_owned(),
            })
            .await
            .map_err(watch_error)?
            .into_inner();
        Ok(stream
            .map(|item| {
                let m = item.map_err(watch_error)?;
                Ok(ScopeMessage {
                    scope: m
                        .event
                        .and_then(|e| e.scope)
                        .filter(|s| !s.account.is_empty())
                        .map(|s| scope_from_pb(&s)),
                    resume_token: m.resume_token,
                })
            })
            .boxed())
    }
}

fn watch_error(s: tonic::Status) -> WatchError {
    if reason_of(&s).as_deref() == Some("RESUME_TOKEN_INVALID") {
        WatchError::ResumeTokenInvalid
    } else {
        WatchError::Failed(format!("{:?}: {}", s.code(), s.message()))
    }
}

fn scope_from_pb(s: &account_pb::DeviceAccountScope) -> AccountScope {
    let privilege = match s.privilege() {
        account_pb::Privilege::General => Privilege::General,
        account_pb::Privilege::MedicalInfo => Privilege::MedicalInformation,
        account_pb::Privilege::Administrator => Privilege::Administrator,
        account_pb::Privilege::Unspecified => Privilege::Other,
    };
    AccountScope {
        account: s.account.clone(),
        organization: s.organization.clone(),
        clinic: s.clinic.clone(),
        institution_code: s.institution_code.clone(),
        privilege,
        available: s.status() == account_pb::DeviceAccountStatus::Available,
        home_visit: s.home_visit_enabled,
    }
}
