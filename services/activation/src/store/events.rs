//! The device status log: one row per status change, numbered from the `device_events`
//! counter in the changing transaction, so the log has no gaps and readers polling "after
//! seq" never skip a change that commits late.

use crate::device::{Device, DeviceStatus, StatusCause};
use crate::error::{Error, Result};
use sqlx::{AnyConnection, AnyPool, Row};

const COUNTER: &str = "device_events";

/// One stored status change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEvent {
    /// Its position in the log.
    pub seq: i64,
    /// The device id.
    pub device_id: String,
    /// The organization id.
    pub organization_id: String,
    /// The clinic id.
    pub clinic_id: String,
    /// The account id.
    pub account_id: String,
    /// The new status.
    pub status: DeviceStatus,
    /// Who set it.
    pub cause: StatusCause,
    /// When, microseconds since the epoch.
    pub time: i64,
}

impl StatusEvent {
    /// Returns the device's resource name.
    pub fn device_name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}/devices/{}",
            self.organization_id, self.clinic_id, self.device_id
        )
    }

    /// Returns the account's resource name.
    pub fn account_name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}/accounts/{}",
            self.organization_id, self.clinic_id, self.account_id
        )
    }
}

/// Appends `device`'s current status (status, cause, status_time) on `conn`, the
/// transaction that changed it, and returns the event's seq.
pub async fn append(conn: &mut AnyConnection, device: &Device) -> Result<i64> {
    let seq = super::next_value(conn, COUNTER).await?;
    sqlx::query(
        "INSERT INTO device_events (seq, device_id, organization_id, clinic_id, account_id, \
         status, cause, time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(seq)
    .bind(&device.id)
    .bind(&device.organization_id)
    .bind(&device.clinic_id)
    .bind(&device.account_id)
    .bind(device.status.as_stored())
    .bind(device.status_cause.as_stored())
    .bind(device.status_time)
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}

/// Returns up to `limit` events after `seq`, oldest first.
pub async fn after(pool: &AnyPool, seq: i64, limit: u32) -> Result<Vec<StatusEvent>> {
    let rows = sqlx::query(
        "SELECT seq, device_id, organization_id, clinic_id, account_id, status, cause, time \
         FROM device_events WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seq)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.try_get("status")?;
            let cause: String = row.try_get("cause")?;
            Ok(StatusEvent {
                seq: row.try_get("seq")?,
                device_id: row.try_get("device_id")?,
                organization_id: row.try_get("organization_id")?,
                clinic_id: row.try_get("clinic_id")?,
                account_id: row.try_get("account_id")?,
                status: DeviceStatus::from_stored(&status)
                    .ok_or_else(|| Error::Corrupt(format!("device event status {status:?}")))?,
                cause: StatusCause::from_stored(&cause)
                    .ok_or_else(|| Error::Corrupt(format!("device event cause {cause:?}")))?,
                time: row.try_get("time")?,
            })
        })
        .collect()
}

/// Returns the seq of the newest event (0 when there is none).
pub async fn head(pool: &AnyPool) -> Result<i64> {
    let row = sqlx::query("SELECT MAX(seq) AS head FROM device_events")
        .fetch_one(pool)
        .await?;
    Ok(row.try_get::<Option<i64>, _>("head")?.unwrap_or(0))
}

#[cfg(test)]
mod tests;
