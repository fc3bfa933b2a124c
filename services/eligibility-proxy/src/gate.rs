//! The check every agent call passes first: the calling device's certificate is mapped to
//! activation's record of it, through the status cache when that is fresh and through
//! `GetDeviceStatus` otherwise, and only an ACTIVE device of the certificate's account gets
//! through. It never lets a call through on a status older than `status_max_age`, and never
//! looks at certificate validity (the TLS handshake did that when the connection was made).

use crate::client::{ActivationClient, CallError};
use crate::error::{Error, Result};
use crate::status::{DeviceStatus, Known, StatusCache};
use mynafleet_kit::auth::DeviceIdentity;
use std::sync::Arc;
use tokio::time::Instant;

/// A device that may work, named as the agent API names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Admitted {
    /// `organizations/{org}/clinics/{clinic}/devices/{uuid}`.
    pub(crate) device: String,
    /// `organizations/{org}/clinics/{clinic}/accounts/{W…}`.
    pub(crate) account: String,
}

/// Returns the device resource name of a certificate identity.
pub(crate) fn device_name(id: &DeviceIdentity) -> String {
    format!(
        "organizations/{}/clinics/{}/devices/{}",
        id.organization, id.clinic, id.device
    )
}

/// Returns the account resource name of a certificate identity.
pub(crate) fn account_name(id: &DeviceIdentity) -> String {
    format!(
        "organizations/{}/clinics/{}/accounts/{}",
        id.organization, id.clinic, id.account
    )
}

/// Decides whether a device that activation knows as `known` may work under a certificate
/// naming `account`.
pub(crate) fn admit(account: &str, known: &Known) -> Result<()> {
    match known {
        Known::NotFound => Err(Error::DeviceNotFound),
        Known::Registered { account: a, .. } if a != account => Err(Error::AccountMismatch),
        Known::Registered { status, .. } => match status {
            DeviceStatus::Active => Ok(()),
            DeviceStatus::Suspended => Err(Error::DeviceSuspended),
            DeviceStatus::Revoked => Err(Error::DeviceRevoked),
            DeviceStatus::Pending => Err(Error::DevicePending),
        },
    }
}

/// Returns whether a cached answer may predate the activation of a device that already
/// presents a certificate.
pub(crate) fn lags_behind_activation(known: &Known) -> bool {
    matches!(
        known,
        Known::NotFound
            | Known::Registered {
                status: DeviceStatus::Pending,
                ..
            }
    )
}

/// The device check, shared by every handler and every open `WatchDevice` stream.
#[derive(Clone, Debug)]
pub(crate) struct Gate {
    cache: Arc<StatusCache>,
    activation: ActivationClient,
}

impl Gate {
    /// Returns a gate over `cache` that asks `activation` when the cache is not fresh.
    pub(crate) fn new(cache: Arc<StatusCache>, activation: ActivationClient) -> Self {
        Self { cache, activation }
    }

    /// Returns the cache (for the change notifications `WatchDevice` listens to).
    pub(crate) fn cache(&self) -> &StatusCache {
        &self.cache
    }

    /// Returns the device if it may work now, or the refusal.
    pub(crate) async fn check(&self, id: &DeviceIdentity) -> Result<Admitted> {
        let device = device_name(id);
        let account = account_name(id);
        let known = self.known(&device).await?;
        if let Err(e) = admit(&account, &known) {
            tracing::info!(device = %device, refusal = %e, "device call refused");
            return Err(e);
        }
        Ok(Admitted { device, account })
    }

    async fn known(&self, device: &str) -> Result<Known> {
        // A caller holds a certificate from the device CA, so activation has registered and
        // certified it: a cached "pending" or "not found" can only be the watch running a
        // few hundred milliseconds behind a fresh activation, and is checked at the source.
        if let Some(known) = self.cache.fresh(device, Instant::now())
            && !lags_behind_activation(&known)
        {
            return Ok(known);
        }
        let started = Instant::now();
        match self.activation.device_status(device).await {
            Ok(known) => Ok(self.cache.store_fetched(device, known, started)),
            Err(CallError::Failed(s)) => Err(Error::StatusUnavailable(s)),
            Err(CallError::ResumeTokenInvalid) => Err(Error::StatusUnavailable(
                tonic::Status::internal("unexpected resume token refusal"),
            )),
        }
    }
}

#[cfg(test)]
mod tests;
