//! The device registry: one row per terminal, its certificate, status and what it reported.
//! It stores what callers decided and never decides whether a status change is allowed
//! (`crate::registry` does).

use crate::device::{Device, DeviceFacts, DeviceStatus, StatusCause};
use crate::error::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

/// Every column of `devices`, in the order [`device`] reads them.
pub(crate) const COLUMNS: &str = "id, organization_id, clinic_id, account_id, institution_code, \
     status, status_cause, status_reason, status_time, key_fingerprint, code_id, \
     certificate_serial, certificate_not_after, certificate_pem, create_time, first_seen_time, \
     last_seen_time, hostname, os, agent_version, readers";

/// Decodes a `devices` row selected with [`COLUMNS`].
pub(crate) fn device(row: &AnyRow) -> Result<Device> {
    let status: String = row.try_get("status")?;
    let cause: String = row.try_get("status_cause")?;
    let readers: String = row.try_get("readers")?;
    Ok(Device {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        clinic_id: row.try_get("clinic_id")?,
        account_id: row.try_get("account_id")?,
        institution_code: row.try_get("institution_code")?,
        status: DeviceStatus::from_stored(&status)
            .ok_or_else(|| Error::Corrupt(format!("device status {status:?}")))?,
        status_cause: StatusCause::from_stored(&cause)
            .ok_or_else(|| Error::Corrupt(format!("device status cause {cause:?}")))?,
        status_reason: row.try_get("status_reason")?,
        status_time: row.try_get("status_time")?,
        key_fingerprint: row.try_get("key_fingerprint")?,
        code_id: row.try_get("code_id")?,
        certificate_serial: row.try_get("certificate_serial")?,
        certificate_not_after: row.try_get("certificate_not_after")?,
        certificate_pem: row.try_get("certificate_pem")?,
        create_time: row.try_get("create_time")?,
        first_seen_time: row.try_get("first_seen_time")?,
        last_seen_time: row.try_get("last_seen_time")?,
        facts: DeviceFacts {
            hostname: row.try_get("hostname")?,
            os: row.try_get("os")?,
            agent_version: row.try_get("agent_version")?,
            readers: readers
                .split('\n')
                .filter(|r| !r.is_empty())
                .map(str::to_owned)
                .collect(),
        },
    })
}

/// Registers a device on `conn` (the caller's transaction).
pub async fn insert_device_on(conn: &mut AnyConnection, d: &Device) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO devices ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    )))
    .bind(&d.id)
    .bind(&d.organization_id)
    .bind(&d.clinic_id)
    .bind(&d.account_id)
    .bind(&d.institution_code)
    .bind(d.status.as_stored())
    .bind(d.status_cause.as_stored())
    .bind(&d.status_reason)
    .bind(d.status_time)
    .bind(&d.key_fingerprint)
    .bind(&d.code_id)
    .bind(&d.certificate_serial)
    .bind(d.certificate_not_after)
    .bind(&d.certificate_pem)
    .bind(d.create_time)
    .bind(d.first_seen_time)
    .bind(d.last_seen_time)
    .bind(&d.facts.hostname)
    .bind(&d.facts.os)
    .bind(&d.facts.agent_version)
    .bind(d.facts.readers.join("\n"))
    .execute(conn)
    .await?;
    Ok(())
}

/// Registers a device.
pub async fn insert_device(pool: &AnyPool, d: &Device) -> Result<()> {
    let mut conn = pool.acquire().await?;
    insert_device_on(&mut conn, d).await
}

/// Returns the device `id` of organization `org` on `conn`.
pub async fn device_on(conn: &mut AnyConnection, org: &str, id: &str) -> Result<Device> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM devices WHERE organization_id = $1 AND id = $2"
    )))
    .bind(org)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(Error::DeviceNotFound)?;
    device(&row)
}

/// Returns the device `id` of organization `org`.
pub async fn get_device(pool: &AnyPool, org: &str, id: &str) -> Result<Device> {
    let mut conn = pool.acquire().await?;
    device_on(&mut conn, org, id).await
}

/// Sets the status of device `id` of organization `org` on `conn` (the caller's
/// transaction), records the change in the status log, and returns the device as it is
/// now. The caller checks that the transition is allowed.
pub async fn set_status_on(
    conn: &mut AnyConnection,
    org: &str,
    id: &str,
    status: DeviceStatus,
    cause: StatusCause,
    reason: &str,
    now: i64,
) -> Result<Device> {
    let changed = sqlx::query(
        "UPDATE devices SET status = $1, status_cause = $2, status_reason = $3, \
         status_time = $4 WHERE organization_id = $5 AND id = $6",
    )
    .bind(status.as_stored())
    .bind(cause.as_stored())
    .bind(reason)
    .bind(now)
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::DeviceNotFound);
    }
    let device = device_on(conn, org, id).await?;
    super::events::append(conn, &device).await?;
    Ok(device)
}

/// Locks device `id` of organization `org` for the rest of the caller's transaction and
/// returns it. As the transaction's first write it takes SQLite's write lock up front and
/// PostgreSQL's row lock, so a concurrent change waits and the status read here is the one
/// the caller's decision rests on.
pub async fn lock_device_on(conn: &mut AnyConnection, org: &str, id: &str) -> Result<Device> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE devices SET status = status WHERE organization_id = $1 AND id = $2 \
         RETURNING {COLUMNS}"
    )))
    .bind(org)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(Error::DeviceNotFound)?;
    device(&row)
}

/// Locks and returns the device of account `account_id` of organization `org` that is not
/// revoked (there is at most one), as [`lock_device_on`] does; `None` when it has none.
pub async fn lock_account_device_on(
    conn: &mut AnyConnection,
    org: &str,
    account_id: &str,
) -> Result<Option<Device>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE devices SET status = status \
         WHERE organization_id = $1 AND account_id = $2 AND status <> 'revoked' \
         RETURNING {COLUMNS}"
    )))
    .bind(org)
    .bind(account_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(device).transpose()
}

/// Which clinics of an organization a listing covers.
#[derive(Clone, Copy, Debug)]
pub enum Clinics<'a> {
    /// All of them.
    All,
    /// Only these (none when empty).
    Only(&'a [String]),
}

/// Returns up to `limit` devices of organization `organization_id` in `clinics` after the
/// id `after`, in id order, and the last id of the page when more follow.
pub async fn list_devices(
    pool: &AnyPool,
    organization_id: &str,
    clinics: Clinics<'_>,
    after: Option<&str>,
    limit: u32,
) -> Result<(Vec<Device>, Option<String>)> {
    let only = match clinics {
        Clinics::All => None,
        Clinics::Only([]) => return Ok((Vec::new(), None)),
        Clinics::Only(ids) => Some(ids),
    };
    // Placeholders $4… for the clinic ids; the values are bound, never spliced.
    let filter = only.map_or_else(String::new, |ids| {
        let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 4)).collect();
        format!(" AND clinic_id IN ({})", marks.join(", "))
    });
    let sql = format!(
        "SELECT {COLUMNS} FROM devices WHERE organization_id = $1 AND id > $2{filter} \
         ORDER BY id LIMIT $3"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(organization_id)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit) + 1);
    for id in only.unwrap_or_default() {
        query = query.bind(id);
    }
    let rows = query.fetch_all(pool).await?;
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
