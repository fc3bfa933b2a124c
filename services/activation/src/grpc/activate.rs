//! `ActivationService.Activate`: a terminal's four items and a CSR become a device
//! certificate (DESIGN.md §3.2). The credentials are checked by the account service; the
//! code is checked here against the account's newest codes and bound to the CSR's key on
//! first use, so the same (code, key) again returns the same certificate and another key is
//! refused. Failed attempts count per account and per source address and lock at the
//! policy's maximum. `Renew` lives in `renew.rs`.
//!
//! The code, the passwords and the CSR never reach a record or a log: an attempt is
//! recorded by who tried, from where, and its reason.

mod attempt;
mod renew;
mod request;

use attempt::Attempt;
use request::{Checked, MAX_ID_CHARS, check};

use super::{Api, meta, source_address, ts};
use crate::audit::{self, ActionCode};
use crate::client::{AccountScope, AccountStatus, Privilege};
use crate::device::{Device, DeviceStatus, StatusCause};
use crate::error::{Error, Result};
use crate::store::codes::{self, CodeState, StoredCode};
use crate::store::enroll::{self, IssuedCertificate};
use crate::store::{devices, locks};
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};

/// How many of an account's newest codes a typed code is compared with.
const CODES_COMPARED: u32 = 5;

#[tonic::async_trait]
impl pb::activation_service_server::ActivationService for Api {
    async fn activate(
        &self,
        req: Request<pb::ActivateRequest>,
    ) -> Result<Response<pb::ActivateResponse>, Status> {
        let source = source_address(&req);
        let mut attempt = Attempt::new(meta(&req, ""));
        let result = self
            .run_activation(&mut attempt, &source, req.into_inner())
            .await;
        match result {
            Ok(reply) => Ok(Response::new(reply)),
            Err(e) => {
                crate::metrics::activation_failed(&e);
                if !attempt.audited {
                    attempt.audit_failure(self, &e).await;
                }
                Err(e.into())
            }
        }
    }

    async fn renew(
        &self,
        req: Request<pb::RenewRequest>,
    ) -> Result<Response<pb::RenewResponse>, Status> {
        renew::renew(self, req).await
    }
}

/// What the typed code matched.
enum Matched {
    /// A live, unexpired code: bind it.
    Live(StoredCode),
    /// A code this key used, whose device still waits for its certificate.
    Pending(Device),
    /// A code this key used, whose device is active: a retry of a completed activation.
    Active(Device),
}

/// Returns the certificate fields the registry keeps of a signed leaf.
pub(super) fn issued(leaf: mynafleet_kit::tls::ca::SignedLeaf) -> IssuedCertificate {
    IssuedCertificate {
        serial_hex: leaf.serial_hex,
        not_after: mynafleet_kit::clock::to_micros(leaf.not_after),
        pem: leaf.cert_pem,
    }
}

impl Api {
    async fn run_activation(
        &self,
        attempt: &mut Attempt,
        source: &str,
        r: pb::ActivateRequest,
    ) -> Result<pb::ActivateResponse> {
        let (c, request_id) = check(r)?;
        attempt.meta.request_id = request_id.unwrap_or_default();
        // Until the account service confirms the account, the actor is what was typed.
        attempt.actor.name = format!("{}/{}", c.institution_code, c.account_id)
            .chars()
            .take(MAX_ID_CHARS)
            .collect();
        let source_scope = (!source.is_empty()).then(|| locks::source_scope(source));
        if let Some(scope) = &source_scope {
            self.refuse_if_locked(scope).await?;
        }
        let scope = match self.verify(&c, source).await {
            Ok(scope) => scope,
            Err(e @ (Error::CredentialsInvalid | Error::DeviceAccountLocked)) => {
                return Err(self.count(attempt, None, source_scope.as_deref(), e).await);
            }
            Err(e) => return Err(e),
        };
        attempt.knows(&scope);
        let account_scope = locks::account_scope(&scope.organization_id, &scope.account_id);
        self.refuse_if_locked(&account_scope).await?;
        if scope.privilege == Privilege::Administrator {
            return Err(Error::AccountRoleRefused);
        }
        if scope.status != AccountStatus::Available {
            return Err(Error::AccountNotAvailable);
        }
        let device = match self.match_code(&scope, &c).await? {
            Ok(Matched::Live(code)) => self.bind(attempt, &scope, &code, &c).await?,
            Ok(Matched::Pending(device)) => device,
            Ok(Matched::Active(device)) => {
                return self
                    .replay(attempt, &scope, device, &c, source_scope.as_deref())
                    .await;
            }
            Err(e) => {
                let account = Some((&scope, account_scope.as_str()));
                return Err(self
                    .count(attempt, account, source_scope.as_deref(), e)
                    .await);
            }
        };
        attempt.target = device.name();
        let scope = self.change_password_if_needed(scope, &c, source).await?;
        let cert = self.certify(&c.csr_der, &device)?;
        let now = self.now();
        let mut tx = mynafleet_kit::db::begin_write(&self.pool).await?;
        let device =
            enroll::activate_on(&mut tx, &device.organization_id, &device.id, &cert, now).await?;
        locks::clear_on(&mut tx, &account_scope, now).await?;
        if let Some(s) = &source_scope {
            locks::clear_on(&mut tx, s, now).await?;
        }
        audit::append(
            &mut tx,
            &attempt.entry(now, "activation.complete", ActionCode::Create),
        )
        .await?;
        tx.commit().await?;
        tracing::info!(device = %device.name(), "terminal activated");
        crate::metrics::activated();
        Ok(self.reply(&scope, &device))
    }

    /// Compares the typed code with the account's newest codes. The inner error is a code
    /// failure, which counts; the outer one is not.
    async fn match_code(
        &self,
        scope: &AccountScope,
        c: &Checked,
    ) -> Result<Result<Matched, Error>> {
        let org = &scope.organization_id;
        let newest =
            codes::newest_for_account(&self.pool, org, &scope.account_id, CODES_COMPARED).await?;
        if newest.is_empty() {
            return Ok(Err(Error::CodeNotIssued));
        }
        let hashes = newest.iter().map(|x| x.code_hash.clone()).collect();
        let Some(code) = c.code.find_match(hashes).await?.and_then(|i| newest.get(i)) else {
            return Ok(Err(Error::CodeMismatch));
        };
        let now = self.now();
        Ok(match code.state {
            CodeState::Live if code.expire_time <= now => Err(Error::CodeExpired),
            CodeState::Live => Ok(Matched::Live(code.clone())),
            CodeState::Revoked => Err(Error::CodeRevoked),
            CodeState::Used if code.key_fingerprint.as_deref() == Some(&c.key_fingerprint) => {
                // The same (code, key) again: a retry, whatever its request_id.
                let id = code.device_id.as_deref().unwrap_or_default();
                let device = devices::get_device(&self.pool, org, id).await?;
                match device.status {
                    DeviceStatus::Pending => Ok(Matched::Pending(device)),
                    DeviceStatus::Active => Ok(Matched::Active(device)),
                    other => return Err(enroll::refusal(other)),
                }
            }
            CodeState::Used => Err(Error::CodeBoundToOtherKey),
        })
    }

    /// Checks the credentials. A retry of an activation whose reply was lost after the
    /// password change carries the old password, which no longer works: then the new one,
    /// which the same request carries, is tried.
    async fn verify(&self, c: &Checked, source: &str) -> Result<AccountScope> {
        let first = self
            .account
            .verify_credentials(&c.institution_code, &c.account_id, &c.password, source)
            .await;
        match first {
            Err(Error::CredentialsInvalid) if !c.new_password.is_empty() => {
                self.account
                    .verify_credentials(&c.institution_code, &c.account_id, &c.new_password, source)
                    .await
            }
            other => other,
        }
    }

    /// Binds `code` to a new PENDING device with the request's key.
    async fn bind(
        &self,
        attempt: &mut Attempt,
        scope: &AccountScope,
        code: &StoredCode,
        c: &Checked,
    ) -> Result<Device> {
        let now = self.now();
        let device = Device {
            id: uuid::Uuid::now_v7().to_string(),
            organization_id: scope.organization_id.clone(),
            clinic_id: scope.clinic_id.clone(),
            account_id: scope.account_id.clone(),
            institution_code: scope.institution_code.clone(),
            status: DeviceStatus::Pending,
            status_cause: StatusCause::Activation,
            status_reason: String::new(),
            status_time: now,
            key_fingerprint: c.key_fingerprint.clone(),
            code_id: code.id.clone(),
            certificate_serial: String::new(),
            certificate_not_after: None,
            certificate_pem: String::new(),
            create_time: now,
            first_seen_time: None,
            last_seen_time: None,
            facts: c.facts.clone(),
        };
        let mut tx = mynafleet_kit::db::begin_write(&self.pool).await?;
        let device = enroll::bind_on(&mut tx, code, &device, now).await?;
        attempt.target = device.name();
        audit::append(
            &mut tx,
            &attempt.entry(now, "activation.bind", ActionCode::Create),
        )
        .await?;
        tx.commit().await?;
        Ok(device)
    }

    /// Changes the generated password before the first certificate (flow B and every
    /// first activation with a generated password).
    async fn change_password_if_needed(
        &self,
        scope: AccountScope,
        c: &Checked,
        source: &str,
    ) -> Result<AccountScope> {
        if !scope.must_change_password {
            return Ok(scope);
        }
        if c.new_password.is_empty() {
            return Err(Error::PasswordChangeRequired);
        }
        self.account
            .change_password(
                &c.institution_code,
                &c.account_id,
                &c.password,
                &c.new_password,
                source,
            )
            .await
    }

    /// Signs the CSR for `device`, valid from the real time (rustls checks certificates
    /// against the system clock, not the configured one).
    fn certify(&self, csr_der: &[u8], device: &Device) -> Result<IssuedCertificate> {
        self.config
            .device_ca
            .certify(
                csr_der,
                &device.identity(),
                time::OffsetDateTime::now_utc(),
                self.config.certificate_lifetime,
            )
            .map(issued)
            .map_err(|e| Error::Ca(e.to_string()))
    }

    /// Answers a retry of a completed activation with the stored certificate, issuing a new
    /// one only when the stored one has expired.
    async fn replay(
        &self,
        attempt: &mut Attempt,
        scope: &AccountScope,
        device: Device,
        c: &Checked,
        source_scope: Option<&str>,
    ) -> Result<pb::ActivateResponse> {
        attempt.target = device.name();
        let real_now = mynafleet_kit::clock::to_micros(time::OffsetDateTime::now_utc());
        let now = self.now();
        let mut tx = mynafleet_kit::db::begin_write(&self.pool).await?;
        let device = if device.certificate_not_after.is_none_or(|t| t <= real_now) {
            let cert = self.certify(&c.csr_der, &device)?;
            enroll::renew_on(
                &mut tx,
                &device.organization_id,
                &device.id,
                &c.key_fingerprint,
                &cert,
                None,
                now,
            )
            .await?
        } else {
            device
        };
        locks::clear_on(
            &mut tx,
            &locks::account_scope(&scope.organization_id, &scope.account_id),
            now,
        )
        .await?;
        if let Some(s) = source_scope {
            locks::clear_on(&mut tx, s, now).await?;
        }
        audit::append(
            &mut tx,
            &attempt.entry(now, "activation.replay", ActionCode::Execute),
        )
        .await?;
        tx.commit().await?;
        Ok(self.reply(scope, &device))
    }

    fn reply(&self, scope: &AccountScope, device: &Device) -> pb::ActivateResponse {
        pb::ActivateResponse {
            device: device.name(),
            account: device.account_name(),
            certificate_pem: device.certificate_pem.clone(),
            server_ca_pem: self.config.server_ca_pem.clone(),
            certificate_expire_time: device.certificate_not_after.map(ts),
            proxy_urls: self.config.proxy_urls.clone(),
            institution_code: scope.institution_code.clone(),
            institution_name: scope.institution_name.clone(),
        }
    }
}
