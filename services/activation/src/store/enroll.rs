//! Writes that span the device registry and the activation codes: binding a code to a new
//! PENDING device, making it ACTIVE with its first certificate, renewing its certificate,
//! and replacing a device (revoke it, issue its account a new code). Each runs on the
//! caller's transaction, so the change, its status event and its audit record commit
//! together. Nothing here sees a code in the clear, a CSR's key or a password.

use super::codes::{self, NewCode, StoredCode};
use super::devices::{device_on, insert_device_on, lock_device_on, set_status_on};
use crate::device::{Device, DeviceFacts, DeviceStatus, StatusCause};
use crate::error::{Error, Result};
use sqlx::AnyConnection;

/// A certificate the device CA issued, as the registry keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// Serial number, lowercase hex.
    pub serial_hex: String,
    /// End of validity, microseconds since the epoch.
    pub not_after: i64,
    /// The certificate (PEM).
    pub pem: String,
}

/// Returns the error a device in `status` gets when it cannot take a certificate.
pub fn refusal(status: DeviceStatus) -> Error {
    match status {
        DeviceStatus::Suspended => Error::DeviceSuspended,
        DeviceStatus::Revoked => Error::DeviceRevoked,
        DeviceStatus::Pending => {
            Error::DeviceStateConflict("the device has no certificate yet; activate it first")
        }
        DeviceStatus::Active => Error::DeviceStateConflict("the device is already active"),
    }
}

const KEY_TAKEN: &str = "the key belongs to another device; the terminal must make a new key";

/// Binds `code` to `device` (a new PENDING device with its key and the code's id) on
/// `conn`: marks the code used by the device and its key, registers the device and logs its
/// status. Refuses an account that already has a device that is not revoked, and a key that
/// another device holds.
pub async fn bind_on(
    conn: &mut AnyConnection,
    code: &StoredCode,
    device: &Device,
    now: i64,
) -> Result<Device> {
    let bound = codes::bind_on(
        conn,
        &code.organization_id,
        &code.id,
        &device.id,
        &device.key_fingerprint,
        now,
    )
    .await?;
    if !bound {
        return Err(Error::DeviceStateConflict(
            "the activation code changed meanwhile; try again",
        ));
    }
    let taken = sqlx::query(
        "SELECT id FROM devices WHERE organization_id = $1 AND account_id = $2 \
         AND status <> 'revoked'",
    )
    .bind(&device.organization_id)
    .bind(&device.account_id)
    .fetch_optional(&mut *conn)
    .await?;
    if taken.is_some() {
        return Err(Error::DeviceAlreadyActive);
    }
    let key_taken = sqlx::query("SELECT id FROM devices WHERE key_fingerprint = $1")
        .bind(&device.key_fingerprint)
        .fetch_optional(&mut *conn)
        .await?;
    if key_taken.is_some() {
        return Err(Error::DeviceStateConflict(KEY_TAKEN));
    }
    match insert_device_on(conn, device).await {
        // A concurrent activation of the same account got there first.
        Err(Error::Db(e)) if mynafleet_kit::db::is_unique_violation(&e) => {
            return Err(Error::DeviceAlreadyActive);
        }
        other => other?,
    }
    super::events::append(conn, device).await?;
    Ok(device.clone())
}

/// Makes the PENDING device `id` ACTIVE with its first certificate on `conn`, notes when it
/// was first and last seen, and logs the status change.
pub async fn activate_on(
    conn: &mut AnyConnection,
    org: &str,
    id: &str,
    cert: &IssuedCertificate,
    now: i64,
) -> Result<Device> {
    let changed = sqlx::query(
        "UPDATE devices SET status = 'active', status_cause = 'activation', status_reason = '', \
         status_time = $1, certificate_serial = $2, certificate_not_after = $3, \
         certificate_pem = $4, first_seen_time = COALESCE(first_seen_time, $1), \
         last_seen_time = $1 \
         WHERE organization_id = $5 AND id = $6 AND status = 'pending'",
    )
    .bind(now)
    .bind(&cert.serial_hex)
    .bind(cert.not_after)
    .bind(&cert.pem)
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let device = device_on(conn, org, id).await?;
    if changed == 0 {
        return Err(refusal(device.status));
    }
    super::events::append(conn, &device).await?;
    Ok(device)
}

/// Stores a new certificate for the ACTIVE device `id` on `conn`: its key (the same or a
/// new one), the certificate, when it was last seen and, when given, what it reported.
/// A device in another state is refused as [`refusal`] says; its status does not change.
pub async fn renew_on(
    conn: &mut AnyConnection,
    org: &str,
    id: &str,
    key_fingerprint: &str,
    cert: &IssuedCertificate,
    facts: Option<&DeviceFacts>,
    now: i64,
) -> Result<Device> {
    let other = sqlx::query("SELECT id FROM devices WHERE key_fingerprint = $1 AND id <> $2")
        .bind(key_fingerprint)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if other.is_some() {
        return Err(Error::DeviceStateConflict(KEY_TAKEN));
    }
    let changed = sqlx::query(
        "UPDATE devices SET key_fingerprint = $1, certificate_serial = $2, \
         certificate_not_after = $3, certificate_pem = $4, last_seen_time = $5 \
         WHERE organization_id = $6 AND id = $7 AND status = 'active'",
    )
    .bind(key_fingerprint)
    .bind(&cert.serial_hex)
    .bind(cert.not_after)
    .bind(&cert.pem)
    .bind(now)
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        let device = device_on(conn, org, id).await?;
        return Err(refusal(device.status));
    }
    if let Some(f) = facts {
        sqlx::query(
            "UPDATE devices SET hostname = $1, os = $2, agent_version = $3, readers = $4 \
             WHERE organization_id = $5 AND id = $6",
        )
        .bind(&f.hostname)
        .bind(&f.os)
        .bind(&f.agent_version)
        .bind(f.readers.join("\n"))
        .bind(org)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    device_on(conn, org, id).await
}

/// The new code a replacement issues (its account comes from the device).
#[derive(Clone, Debug)]
pub struct ReplacementCode {
    /// UUIDv7.
    pub id: String,
    /// argon2id hash of the code.
    pub code_hash: String,
    /// Who issues it.
    pub issued_by: String,
    /// Microseconds since the epoch.
    pub expire_time: i64,
}

/// Replaces the device `id` on `conn`: revokes it (cause Operator, with `reason`) and
/// issues its account `code`, revoking the account's live code. A revoked device is
/// refused.
pub async fn replace_on(
    conn: &mut AnyConnection,
    org: &str,
    id: &str,
    reason: &str,
    code: &ReplacementCode,
    now: i64,
) -> Result<(Device, StoredCode)> {
    let device = lock_device_on(conn, org, id).await?;
    if device.status == DeviceStatus::Revoked {
        return Err(Error::DeviceRevoked);
    }
    let device = set_status_on(
        conn,
        org,
        id,
        DeviceStatus::Revoked,
        StatusCause::Operator,
        reason,
        now,
    )
    .await?;
    let issued = codes::issue_on(
        conn,
        &NewCode {
            id: code.id.clone(),
            organization_id: device.organization_id.clone(),
            clinic_id: device.clinic_id.clone(),
            account_id: device.account_id.clone(),
            code_hash: code.code_hash.clone(),
            issued_by: code.issued_by.clone(),
            create_time: now,
            expire_time: code.expire_time,
        },
    )
    .await?;
    Ok((device, issued))
}

#[cfg(test)]
mod tests;
