//! The activation lock (`activation_failures`): failed activations counted per scope, an
//! account (`account:{org}/{W…}`) or a source address (`source:{ip}`). At the policy's
//! maximum a scope locks until a cool-down passes or an operator clears it; a lock that ran
//! out restarts the count. The account service's password lock is separate and lives there.

use crate::error::Result;
use sqlx::{AnyConnection, Row};

/// Returns the scope of a device account.
pub fn account_scope(organization_id: &str, account_id: &str) -> String {
    format!("account:{organization_id}/{account_id}")
}

/// Returns the scope of a source address.
pub fn source_scope(address: &str) -> String {
    format!("source:{address}")
}

/// A scope's count after a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failures {
    /// Failures since the count last restarted.
    pub count: i64,
    /// Until when the scope is locked, if it is.
    pub locked_until: Option<i64>,
}

/// Counts a failure of `scope` at `now` on `conn`: at `max` failures (or more) the scope
/// locks until `now + cool_down` (microseconds). A running lock is kept as it is; a lock
/// that ran out restarts the count at this failure.
pub async fn record_failure_on(
    conn: &mut AnyConnection,
    scope: &str,
    now: i64,
    max: u32,
    cool_down: i64,
) -> Result<Failures> {
    let until = now.saturating_add(cool_down);
    let row = sqlx::query(
        "INSERT INTO activation_failures (scope, failures, last_failure_time, locked_until) \
         VALUES ($1, 1, $2, CASE WHEN 1 >= $3 THEN $4 ELSE NULL END) \
         ON CONFLICT (scope) DO UPDATE SET \
           failures = CASE WHEN activation_failures.locked_until <= $2 THEN 1 \
                      ELSE activation_failures.failures + 1 END, \
           last_failure_time = $2, \
           locked_until = CASE \
             WHEN activation_failures.locked_until > $2 THEN activation_failures.locked_until \
             WHEN activation_failures.locked_until <= $2 THEN \
               CASE WHEN 1 >= $3 THEN $4 ELSE NULL END \
             WHEN activation_failures.failures + 1 >= $3 THEN $4 \
             ELSE NULL END \
         RETURNING failures, locked_until",
    )
    .bind(scope)
    .bind(now)
    .bind(i64::from(max))
    .bind(until)
    .fetch_one(conn)
    .await?;
    Ok(Failures {
        count: row.try_get("failures")?,
        locked_until: row.try_get("locked_until")?,
    })
}

/// Returns until when `scope` is locked at `now`, or `None` (an expired lock is none).
pub async fn locked_until_on(
    conn: &mut AnyConnection,
    scope: &str,
    now: i64,
) -> Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT locked_until FROM activation_failures WHERE scope = $1 AND locked_until > $2",
    )
    .bind(scope)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        Some(r) => r.try_get("locked_until")?,
        None => None,
    })
}

/// Forgets `scope`'s failures on `conn` (a success, or an operator's unlock) and returns
/// whether it was locked at `now`.
pub async fn clear_on(conn: &mut AnyConnection, scope: &str, now: i64) -> Result<bool> {
    let row =
        sqlx::query("DELETE FROM activation_failures WHERE scope = $1 RETURNING locked_until")
            .bind(scope)
            .fetch_optional(conn)
            .await?;
    let until: Option<i64> = match row {
        Some(r) => r.try_get("locked_until")?,
        None => None,
    };
    Ok(until.is_some_and(|t| t > now))
}

#[cfg(test)]
mod tests;
