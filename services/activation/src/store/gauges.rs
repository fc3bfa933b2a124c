//! Fleet figures for the metrics endpoint (`crate::metrics`): devices per status and the
//! certificate expiry of active devices, read when metrics are scraped. Aggregates only: it
//! never returns a device, account or serial.

use crate::error::Result;
use sqlx::{AnyPool, Row};

/// Microseconds in a day.
const DAY: i64 = 86_400_000_000;

/// Returns how many devices have each stored status (statuses without devices are absent).
pub async fn devices_by_status(pool: &AnyPool) -> Result<Vec<(String, i64)>> {
    let rows =
        sqlx::query("SELECT status, COUNT(*) AS n FROM devices GROUP BY status ORDER BY status")
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("status")?, r.try_get("n")?)))
        .collect()
}

/// The certificate expiry of active devices at some `now`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CertificateExpiry {
    /// Active devices whose certificate's `not_after` is at or before `now`.
    pub expired: i64,
    /// Active devices whose certificate is still valid and expires within a day of `now`.
    pub within_1d: i64,
    /// …within 7 days (includes those within a day).
    pub within_7d: i64,
    /// …within 30 days (includes those within 7 days).
    pub within_30d: i64,
    /// The earliest `not_after` among active devices (microseconds), expired ones included;
    /// `None` without any.
    pub earliest: Option<i64>,
}

/// Returns the certificate expiry of active devices at `now` (microseconds since the epoch).
pub async fn certificate_expiry(pool: &AnyPool, now: i64) -> Result<CertificateExpiry> {
    let row = sqlx::query(
        "SELECT \
           COUNT(CASE WHEN certificate_not_after <= $1 THEN 1 END) AS expired, \
           COUNT(CASE WHEN certificate_not_after > $1 AND certificate_not_after <= $2 THEN 1 END) \
             AS within_1d, \
           COUNT(CASE WHEN certificate_not_after > $1 AND certificate_not_after <= $3 THEN 1 END) \
             AS within_7d, \
           COUNT(CASE WHEN certificate_not_after > $1 AND certificate_not_after <= $4 THEN 1 END) \
             AS within_30d, \
           MIN(certificate_not_after) AS earliest \
         FROM devices WHERE status = 'active' AND certificate_not_after IS NOT NULL",
    )
    .bind(now)
    .bind(now.saturating_add(DAY))
    .bind(now.saturating_add(7 * DAY))
    .bind(now.saturating_add(30 * DAY))
    .fetch_one(pool)
    .await?;
    Ok(CertificateExpiry {
        expired: row.try_get("expired")?,
        within_1d: row.try_get("within_1d")?,
        within_7d: row.try_get("within_7d")?,
        within_30d: row.try_get("within_30d")?,
        earliest: row.try_get("earliest")?,
    })
}

#[cfg(test)]
mod tests;
