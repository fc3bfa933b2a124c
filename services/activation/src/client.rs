//! Outbound calls to the account service. The only module besides `grpc.rs` that imports
//! `mynafleet_proto`; callers get domain answers, never prost types.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::store::audit::OutboxRecord;
use mynafleet_kit::client::{TracedChannel, retry_unavailable, traced_channel};
use mynafleet_kit::status::reason_of;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::audit::v1 as audit_pb;
use mynafleet_proto::tonic;
use pb::account_internal_service_client::AccountInternalServiceClient;
use pb::organization_service_client::OrganizationServiceClient;
use zeroize::Zeroizing;

/// What activation needs to know of an organization.
#[derive(Clone, Debug)]
pub(crate) struct OrganizationSummary {
    /// Its display name.
    pub(crate) display_name: String,
}

/// A device account's 権限区分.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Privilege {
    /// 一般.
    General,
    /// 医療情報閲覧.
    MedicalInfo,
    /// 管理者: never on a terminal.
    Administrator,
}

impl Privilege {
    /// Returns the spelling audit records use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Privilege::General => "general",
            Privilege::MedicalInfo => "medical_info",
            Privilege::Administrator => "administrator",
        }
    }
}

/// A device account's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccountStatus {
    /// 利用可.
    Available,
    /// 停止.
    Suspended,
    /// 利用終了.
    Ended,
}

/// A device account as the account service describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AccountScope {
    /// The organization id.
    pub(crate) organization_id: String,
    /// The clinic id.
    pub(crate) clinic_id: String,
    /// `W` + 7 digits.
    pub(crate) account_id: String,
    /// 機関コード (or 登録記号番号).
    pub(crate) institution_code: String,
    /// 機関名.
    pub(crate) institution_name: String,
    /// 権限区分.
    pub(crate) privilege: Privilege,
    /// Status.
    pub(crate) status: AccountStatus,
    /// Whether the generated password must still be changed.
    pub(crate) must_change_password: bool,
}

impl AccountScope {
    /// Returns `organizations/{org}/clinics/{clinic}/accounts/{W…}`.
    pub(crate) fn account_name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}/accounts/{}",
            self.organization_id, self.clinic_id, self.account_id
        )
    }

    /// Returns `organizations/{org}/clinics/{clinic}`.
    pub(crate) fn clinic_name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}",
            self.organization_id, self.clinic_id
        )
    }
}

/// An operator role, as the account service reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Everything in the organization.
    OrgAdmin,
    /// The listed clinics.
    ClinicAdmin,
    /// Reads the audit log (and lists here).
    Auditor,
    /// Reads.
    Viewer,
}

impl Role {
    /// Returns the spelling audit records use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Role::OrgAdmin => "org_admin",
            Role::ClinicAdmin => "clinic_admin",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }
}

/// A checked operator session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OperatorInfo {
    /// `organizations/{org}/operators/{id}`.
    pub(crate) name: String,
    /// The organization id.
    pub(crate) organization_id: String,
    /// The role.
    pub(crate) role: Role,
    /// Clinic ids in scope (clinic_admin).
    pub(crate) clinic_ids: Vec<String>,
}

/// What kind of account event arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccountEventKind {
    /// The account was suspended.
    Suspended,
    /// The account was resumed.
    Resumed,
    /// The account was ended (解除).
    Ended,
    /// Anything else (privilege, clinic flags, issue, password reset).
    Other,
}

/// One message of the account event stream.
#[derive(Clone, Debug)]
pub(crate) struct AccountEventMessage {
    /// The event, or `None` on a heartbeat.
    pub(crate) event: Option<(AccountEventKind, AccountScope)>,
    /// Where to resume after this message.
    pub(crate) resume_token: String,
}

/// The account service, reached over service mTLS with a deadline on every call.
#[derive(Clone, Debug)]
pub(crate) struct AccountClient {
    organizations: OrganizationServiceClient<TracedChannel>,
    internal: AccountInternalServiceClient<TracedChannel>,
}

/// Splits `organizations/{org}/clinics/{clinic}/accounts/{W}`.
pub(crate) fn split_account_name(name: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["organizations", org, "clinics", clinic, "accounts", account]
            if !org.is_empty() && !clinic.is_empty() && !account.is_empty() =>
        {
            Some((org, clinic, account))
        }
        _ => None,
    }
}

pub(crate) fn scope_from_pb(s: Option<pb::DeviceAccountScope>) -> Result<AccountScope> {
    let s = s.ok_or_else(|| Error::AccountUnavailable(tonic::Status::internal("no scope")))?;
    let (org, clinic, account) = split_account_name(&s.account).ok_or_else(|| {
        Error::AccountUnavailable(tonic::Status::internal("malformed account name"))
    })?;
    let privilege = match s.privilege() {
        pb::Privilege::General => Privilege::General,
        pb::Privilege::MedicalInfo => Privilege::MedicalInfo,
        // An unknown privilege is treated as the most restricted one: never on a terminal.
        pb::Privilege::Administrator | pb::Privilege::Unspecified => Privilege::Administrator,
    };
    let status = match s.status() {
        pb::DeviceAccountStatus::Available => AccountStatus::Available,
        pb::DeviceAccountStatus::Suspended => AccountStatus::Suspended,
        pb::DeviceAccountStatus::Ended | pb::DeviceAccountStatus::Unspecified => {
            AccountStatus::Ended
        }
    };
    Ok(AccountScope {
        organization_id: org.to_owned(),
        clinic_id: clinic.to_owned(),
        account_id: account.to_owned(),
        institution_code: s.institution_code,
        institution_name: s.institution_name,
        privilege,
        status,
        must_change_password: s.must_change_password,
    })
}

/// Maps a failed credential call to the activation error it means.
fn credential_error(s: tonic::Status) -> Error {
    match reason_of(&s).as_deref() {
        Some("CREDENTIALS_INVALID") => Error::CredentialsInvalid,
        Some("DEVICE_ACCOUNT_LOCKED") => Error::DeviceAccountLocked,
        Some("PASSWORD_TOO_WEAK") => {
            let why = s
                .get_details_bad_request()
                .and_then(|b| b.field_violations.into_iter().next())
                .map(|v| v.description)
                .unwrap_or_else(|| s.message().to_owned());
            Error::PasswordTooWeak(why)
        }
        _ if s.code() == tonic::Code::InvalidArgument => Error::CredentialsInvalid,
        _ => Error::AccountUnavailable(s),
    }
}

use tonic_types::StatusExt as _;

impl AccountClient {
    /// Builds the client; nothing connects until the first call.
    pub(crate) fn new(config: &Config) -> Result<Self, mynafleet_kit::tls::ChannelError> {
        let channel = traced_channel(&config.client_tls, &config.account_url, config.call_timeout)?;
        Ok(Self {
            organizations: OrganizationServiceClient::new(channel.clone()),
            internal: AccountInternalServiceClient::new(channel),
        })
    }

    /// Returns the organization named `name` (`organizations/{id}`).
    pub(crate) async fn organization(&self, name: &str) -> Result<OrganizationSummary> {
        let answer = retry_unavailable(|| {
            let mut c = self.organizations.clone();
            let req = pb::GetOrganizationRequest {
                name: name.to_owned(),
            };
            async move { c.get_organization(req).await }
        })
        .await;
        match answer {
            Ok(r) => Ok(OrganizationSummary {
                display_name: r
                    .into_inner()
                    .organization
                    .map(|o| o.display_name)
                    .unwrap_or_default(),
            }),
            Err(s) if s.code() == tonic::Code::NotFound => Err(Error::OrganizationNotFound),
            Err(s) => Err(Error::AccountUnavailable(s)),
        }
    }

    /// Checks a terminal's 機関コード, account ID and password (counted and audited by the
    /// account service).
    pub(crate) async fn verify_credentials(
        &self,
        institution_code: &str,
        account_id: &str,
        password: &Zeroizing<String>,
        source_address: &str,
    ) -> Result<AccountScope> {
        let answer = retry_unavailable(|| {
            let mut c = self.internal.clone();
            let req = pb::VerifyDeviceCredentialsRequest {
                institution_code: institution_code.to_owned(),
                account_id: account_id.to_owned(),
                password: password.to_string(),
                source_address: source_address.to_owned(),
            };
            async move { c.verify_device_credentials(req).await }
        })
        .await;
        match answer {
            Ok(r) => scope_from_pb(r.into_inner().scope),
            Err(s) => Err(credential_error(s)),
        }
    }

    /// Changes a device account's password (the first activation with a generated one).
    pub(crate) async fn change_password(
        &self,
        institution_code: &str,
        account_id: &str,
        current: &Zeroizing<String>,
        new: &Zeroizing<String>,
        source_address: &str,
    ) -> Result<AccountScope> {
        // Not retried: a lost reply after the change would make the retry's current
        // password wrong. The agent asks again instead.
        let mut c = self.internal.clone();
        let req = pb::ChangeDevicePasswordRequest {
            institution_code: institution_code.to_owned(),
            account_id: account_id.to_owned(),
            current_password: current.to_string(),
            new_password: new.to_string(),
            source_address: source_address.to_owned(),
        };
        match c.change_device_password(req).await {
            Ok(r) => scope_from_pb(r.into_inner().scope),
            Err(s) => Err(credential_error(s)),
        }
    }

    /// Returns a device account's scope by name.
    pub(crate) async fn account_scope(&self, account: &str) -> Result<AccountScope> {
        let answer = retry_unavailable(|| {
            let mut c = self.internal.clone();
            let req = pb::GetDeviceAccountScopeRequest {
                account: account.to_owned(),
            };
            async move { c.get_device_account_scope(req).await }
        })
        .await;
        match answer {
            Ok(r) => scope_from_pb(r.into_inner().scope),
            Err(s) if s.code() == tonic::Code::NotFound => Err(Error::AccountNotFound),
            Err(s) if s.code() == tonic::Code::InvalidArgument => Err(Error::field(
                "account",
                "must look like organizations/{org}/clinics/{clinic}/accounts/{W0000001}",
            )),
            Err(s) => Err(Error::AccountUnavailable(s)),
        }
    }

    /// Resolves an operator's session token.
    pub(crate) async fn check_operator(&self, token: &str) -> Result<OperatorInfo> {
        let answer = retry_unavailable(|| {
            let mut c = self.internal.clone();
            let req = pb::CheckOperatorTokenRequest {
                session_token: token.to_owned(),
            };
            async move { c.check_operator_token(req).await }
        })
        .await;
        let r = match answer {
            Ok(r) => r.into_inner(),
            Err(s) if s.code() == tonic::Code::Unauthenticated => {
                return Err(Error::SessionInvalid);
            }
            Err(s) => return Err(Error::AccountUnavailable(s)),
        };
        let op = r.operator.ok_or(Error::SessionInvalid)?;
        let role = match op.role() {
            pb::Role::OrgAdmin => Role::OrgAdmin,
            pb::Role::ClinicAdmin => Role::ClinicAdmin,
            pb::Role::Auditor => Role::Auditor,
            pb::Role::Viewer | pb::Role::Unspecified => Role::Viewer,
        };
        let organization_id = r
            .organization
            .strip_prefix("organizations/")
            .unwrap_or_default()
            .to_owned();
        let clinic_ids = op
            .clinics
            .iter()
            .filter_map(|c| c.rsplit('/').next().map(str::to_owned))
            .collect();
        Ok(OperatorInfo {
            name: op.name,
            organization_id,
            role,
            clinic_ids,
        })
    }

    /// Opens the account event stream after `resume_token`.
    pub(crate) async fn watch_account_events(
        &self,
        resume_token: &str,
    ) -> Result<impl futures::Stream<Item = Result<AccountEventMessage>> + use<>> {
        let mut c = self.internal.clone();
        let stream = c
            .watch_account_events(pb::WatchAccountEventsRequest {
                resume_token: resume_token.to_owned(),
            })
            .await
            .map_err(Error::AccountUnavailable)?
            .into_inner();
        Ok(tokio_stream::StreamExt::map(stream, |item| {
            let m = item.map_err(Error::AccountUnavailable)?;
            let event = match m.event {
                None => None,
                Some(e) => {
                    let kind = match e.kind() {
                        pb::AccountEventKind::Suspended => AccountEventKind::Suspended,
                        pb::AccountEventKind::Resumed => AccountEventKind::Resumed,
                        pb::AccountEventKind::Ended => AccountEventKind::Ended,
                        _ => AccountEventKind::Other,
                    };
                    Some((kind, scope_from_pb(e.scope)?))
                }
            };
            Ok(AccountEventMessage {
                event,
                resume_token: m.resume_token,
            })
        }))
    }

    /// Hands audit records to the central store; returns how many were new.
    pub(crate) async fn ingest_audit(&self, records: &[OutboxRecord]) -> Result<i32> {
        let records: Vec<audit_pb::AuditRecord> = records
            .iter()
            .map(|r| r.to_pb(crate::audit::PRODUCER))
            .collect();
        let answer = retry_unavailable(|| {
            let mut c = self.internal.clone();
            let req = pb::IngestAuditRecordsRequest {
                records: records.clone(),
            };
            async move { c.ingest_audit_records(req).await }
        })
        .await;
        answer
            .map(|r| r.into_inner().inserted)
            .map_err(Error::AccountUnavailable)
    }
}
