//! The activation store: plain async functions over an `AnyPool`, one SQL text for SQLite
//! and PostgreSQL (proved by the conformance suite in `store/tests.rs`, run on both).

use crate::device::{Device, DeviceStatus};
use crate::error::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

const COLUMNS: &str = "id, organization_id, clinic_id, account_id, status, key_fingerprint, \
                       create_time, last_seen_time";

fn device(row: &AnyRow) -> Result<Device> {
    let status: String = row.try_get("status")?;
    Ok(Device {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        clinic_id: row.try_get("clinic_id")?,
        account_id: row.try_get("account_id")?,
        status: DeviceStatus::from_stored(&status)
            .ok_or_else(|| Error::Corrupt(format!("device status {status:?}")))?,
        key_fingerprint: row.try_get("key_fingerprint")?,
        create_time: row.try_get("create_time")?,
        last_seen_time: row.try_get("last_seen_time")?,
    })
}

/// Registers a device.
pub async fn insert_device(pool: &AnyPool, d: &Device) -> Result<()> {
    sqlx::query(
        "INSERT INTO devices (id, organization_id, clinic_id, account_id, status, \
         key_fingerprint, create_time, last_seen_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&d.id)
    .bind(&d.organization_id)
    .bind(&d.clinic_id)
    .bind(&d.account_id)
    .bind(d.status.as_stored())
    .bind(&d.key_fingerprint)
    .bind(d.create_time)
    .bind(d.last_seen_time)
    .execute(pool)
    .await?;
    Ok(())
}

/// Returns up to `limit` devices of an organization after the id `after`, in id order, and
/// the last id of the page when more follow.
pub async fn list_devices(
    pool: &AnyPool,
    organization_id: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<Device>, Option<String>)> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM devices WHERE organization_id = $1 AND id > $2 \
         ORDER BY id LIMIT $3"
    )))
    .bind(organization_id)
    .bind(after.unwrap_or(""))
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let mut devices = rows.iter().map(device).collect::<Result<Vec<_>>>()?;
    let next = if devices.len() > limit as usize {
        devices.truncate(limit as usize);
        devices.last().map(|d| d.id.clone())
    } else {
        None
    };
    Ok((devices, next))
}

#[cfg(test)]
mod tests;
