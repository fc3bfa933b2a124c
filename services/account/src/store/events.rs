//! Account events: the ordered log behind `AccountInternalService.WatchAccountEvents`.
//!
//! Every change another service must react to (suspend, resume, end, 権限区分 or clinic flag
//! change, issue, password reset) appends one row with the next value of the
//! `account_events` counter, inside the transaction that makes the change, so the log
//! commits with the change or not at all. Sequence numbers are gap-free and strictly
//! increasing in commit order: the counter bump takes the row lock (PostgreSQL) or the write
//! lock (SQLite) first, so a later `seq` never commits before an earlier one. The log never
//! holds passwords or names beyond the stored ids.

use crate::error::{Error, Result};
use sqlx::{AnyConnection, AnyPool, Row};

/// The counter row that numbers account events.
const COUNTER: &str = "account_events";

/// What happened to an account (or, for `ClinicChanged`, to a clinic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The account was suspended (停止).
    Suspended,
    /// A suspended account became available again.
    Resumed,
    /// The account ended (利用終了).
    Ended,
    /// The account's 権限区分 changed.
    PrivilegeChanged,
    /// A clinic property every account depends on changed (訪問診療等機能, 機関名); the
    /// event's account id is empty.
    ClinicChanged,
    /// The account was issued.
    Issued,
    /// The account's password was reset by an operator or changed by the terminal.
    PasswordReset,
}

impl EventKind {
    /// Returns the stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Suspended => "suspended",
            EventKind::Resumed => "resumed",
            EventKind::Ended => "ended",
            EventKind::PrivilegeChanged => "privilege_changed",
            EventKind::ClinicChanged => "clinic_changed",
            EventKind::Issued => "issued",
            EventKind::PasswordReset => "password_reset",
        }
    }

    /// Parses the stored spelling.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "suspended" => EventKind::Suspended,
            "resumed" => EventKind::Resumed,
            "ended" => EventKind::Ended,
            "privilege_changed" => EventKind::PrivilegeChanged,
            "clinic_changed" => EventKind::ClinicChanged,
            "issued" => EventKind::Issued,
            "password_reset" => EventKind::PasswordReset,
            _ => return None,
        })
    }
}

/// One stored event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the log (1, 2, 3, … with no gaps).
    pub seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// The organization's stored uuid.
    pub organization: String,
    /// The clinic's stored uuid.
    pub clinic: String,
    /// The `W…` account id; empty for a clinic-wide `ClinicChanged`.
    pub account_id: String,
    /// When it happened, µs since the Unix epoch.
    pub time: i64,
}

/// Appends an event on `conn` (the caller's transaction).
///
/// `organization` and `clinic` are stored uuid strings; `account_id` is the `W…` id, empty
/// for a clinic-wide `ClinicChanged`. Bumping the counter locks it until the transaction
/// ends, so concurrent writers queue and the log has no gaps.
pub async fn append(
    conn: &mut AnyConnection,
    kind: EventKind,
    organization: &str,
    clinic: &str,
    account_id: &str,
    now: i64,
) -> Result<()> {
    let seq: i64 = sqlx::query(
        "INSERT INTO counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
    )
    .bind(COUNTER)
    .fetch_one(&mut *conn)
    .await?
    .try_get("value")?;
    sqlx::query(
        "INSERT INTO account_events (seq, kind, organization_id, clinic_id, account_id, time) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(seq)
    .bind(kind.as_str())
    .bind(organization)
    .bind(clinic)
    .bind(account_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Returns up to `limit` events with `seq` greater than `seq`, oldest first.
pub async fn after(pool: &AnyPool, seq: i64, limit: u32) -> Result<Vec<StoredEvent>> {
    let rows = sqlx::query(
        "SELECT seq, kind, organization_id, clinic_id, account_id, time FROM account_events \
         WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(seq)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            Ok(StoredEvent {
                seq: row.try_get("seq")?,
                kind: EventKind::from_stored(&kind).ok_or_else(|| {
                    Error::Db(sqlx::Error::Decode(
                        format!("account event kind {kind:?} is unknown").into(),
                    ))
                })?,
                organization: row.try_get("organization_id")?,
                clinic: row.try_get("clinic_id")?,
                account_id: row.try_get("account_id")?,
                time: row.try_get("time")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
