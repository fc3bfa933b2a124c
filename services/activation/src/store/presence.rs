//! Device presence for the fleet view: one `device_presence` row per device, replaced only by
//! a report at least as new as the kept one, so a proxy whose stream closed late cannot turn
//! a device another proxy sees as online back to offline. Recording also moves the device's
//! `last_seen_time` forward and keeps the reported agent version in its facts. It never
//! changes a device's status.

use crate::error::{Error, Result};
use crate::presence::{DevicePresence, PresenceReader};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};
use std::collections::HashMap;

/// Every column of `device_presence` but the organization, in the order [`presence`] reads.
const COLUMNS: &str =
    "device_id, online, readers, last_scan_time, agent_version, report_time, proxy";

/// What became of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// It is the device's presence now.
    Kept,
    /// A newer report was kept before; this one changed nothing but `last_seen_time`.
    Stale,
}

/// Returns the stored form of `readers`: one line per reader, `1<TAB>name` with a card on
/// it, `0<TAB>name` without.
fn encode_readers(readers: &[PresenceReader]) -> String {
    readers
        .iter()
        .map(|r| format!("{}\t{}", u8::from(r.card_present), r.name))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses the stored form of readers.
fn decode_readers(stored: &str) -> Result<Vec<PresenceReader>> {
    stored
        .split('\n')
        .filter(|line| !line.is_empty())
        .map(|line| match line.split_once('\t') {
            Some(("1", name)) => Ok(PresenceReader {
                name: name.to_owned(),
                card_present: true,
            }),
            Some(("0", name)) => Ok(PresenceReader {
                name: name.to_owned(),
                card_present: false,
            }),
            _ => Err(Error::Corrupt("device presence readers".to_owned())),
        })
        .collect()
}

/// Decodes a `device_presence` row selected with [`COLUMNS`].
fn presence(row: &AnyRow) -> Result<DevicePresence> {
    let online: i64 = row.try_get("online")?;
    let readers: String = row.try_get("readers")?;
    Ok(DevicePresence {
        online: online != 0,
        readers: decode_readers(&readers)?,
        last_scan_time: row.try_get("last_scan_time")?,
        agent_version: row.try_get("agent_version")?,
        report_time: row.try_get("report_time")?,
        proxy: row.try_get("proxy")?,
    })
}

/// Records `p` for device `id` of clinic `clinic` of organization `org`: kept unless a report
/// with a later `report_time` was kept before (at an equal time the later call wins, so one
/// proxy's reports under a clock that did not move still apply in order). A report without
/// a last scan or a version keeps the ones known. Either way the device's `last_seen_time`
/// moves forward to `report_time`; a kept report's version becomes the device's agent
/// version. `DeviceNotFound` when the clinic has no such device.
pub(crate) async fn record(
    pool: &AnyPool,
    org: &str,
    clinic: &str,
    id: &str,
    p: &DevicePresence,
) -> Result<Recorded> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    // The first write takes SQLite's write lock and PostgreSQL's row lock: reports for one
    // device queue here, so the comparison below sees the one kept before.
    let seen = sqlx::query(
        "UPDATE devices SET last_seen_time = CASE \
         WHEN last_seen_time IS NULL OR last_seen_time < $1 THEN $1 ELSE last_seen_time END \
         WHERE organization_id = $2 AND clinic_id = $3 AND id = $4",
    )
    .bind(p.report_time)
    .bind(org)
    .bind(clinic)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if seen == 0 {
        return Err(Error::DeviceNotFound);
    }
    let kept = sqlx::query(
        "INSERT INTO device_presence (device_id, organization_id, online, readers, \
         last_scan_time, agent_version, report_time, proxy) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (device_id) DO UPDATE SET online = excluded.online, \
         readers = excluded.readers, \
         last_scan_time = COALESCE(excluded.last_scan_time, device_presence.last_scan_time), \
         agent_version = CASE WHEN excluded.agent_version = '' \
         THEN device_presence.agent_version ELSE excluded.agent_version END, \
         report_time = excluded.report_time, proxy = excluded.proxy \
         WHERE device_presence.report_time <= excluded.report_time",
    )
    .bind(id)
    .bind(org)
    .bind(i64::from(p.online))
    .bind(encode_readers(&p.readers))
    .bind(p.last_scan_time)
    .bind(&p.agent_version)
    .bind(p.report_time)
    .bind(&p.proxy)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if kept == 0 {
        tx.commit().await?;
        return Ok(Recorded::Stale);
    }
    if !p.agent_version.is_empty() {
        sqlx::query("UPDATE devices SET agent_version = $1 WHERE organization_id = $2 AND id = $3")
            .bind(&p.agent_version)
            .bind(org)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Recorded::Kept)
}

/// Returns the kept presence of device `id`, `None` before its first report.
pub(crate) async fn get(pool: &AnyPool, id: &str) -> Result<Option<DevicePresence>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM device_presence WHERE device_id = $1"
    )))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(presence).transpose()
}

/// Returns the kept presence of each of the devices `ids` that has one, by device id.
pub(crate) async fn of_devices(
    pool: &AnyPool,
    ids: &[String],
) -> Result<HashMap<String, DevicePresence>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    // One placeholder per id; the values are bound, never spliced.
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM device_presence WHERE device_id IN ({})",
        marks.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(pool).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("device_id")?, presence(row)?)))
        .collect()
}

#[cfg(test)]
mod tests;
