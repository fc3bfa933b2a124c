//! Where activation stands in the event streams it follows (one row per stream, today only
//! `account`). A position moves only by compare-and-set, in the transaction that applied
//! what the stream said, so a restart neither loses nor repeats work and two replicas
//! following the same stream apply each message once between them. It never interprets a
//! token: tokens are the streaming service's own.

use crate::error::Result;
use sqlx::{AnyConnection, AnyPool, Row};

/// Returns the stored resume token of stream `name`, `None` before its first message.
pub async fn position(pool: &AnyPool, name: &str) -> Result<Option<String>> {
    let row = sqlx::query("SELECT resume_token FROM watch_positions WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.try_get("resume_token")).transpose()?)
}

/// Moves stream `name` from `from` (empty before the first message) to `to` on `conn`, the
/// transaction applying the message. As its first statement it also takes the write lock
/// (SQLite) or the row lock (PostgreSQL). Returns `false`, changing nothing, when the stored
/// position is no longer `from`: someone else applied the message already.
pub async fn advance_on(
    conn: &mut AnyConnection,
    name: &str,
    from: &str,
    to: &str,
) -> Result<bool> {
    let moved = sqlx::query(
        "INSERT INTO watch_positions (name, resume_token) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET resume_token = $2 \
         WHERE watch_positions.resume_token = $3",
    )
    .bind(name)
    .bind(to)
    .bind(from)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(moved == 1)
}

/// Forgets the position of stream `name`, so it is followed again from its start (the
/// streaming service refused the stored token).
pub async fn reset(pool: &AnyPool, name: &str) -> Result<()> {
    sqlx::query("DELETE FROM watch_positions WHERE name = $1")
        .bind(name)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
