//! Used challenge ids: a challenge is single use, so its id is claimed (inserted) before the
//! upstream is asked; a second claim of the same id finds the row and is refused. Rows are
//! kept until the challenge has expired (after that the id is refused as expired anyway) and
//! then pruned.

use mynafleet_kit::outbox::BatchWrite;
use sqlx::{AnyConnection, AnyPool};

/// One claim of a challenge id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    /// The challenge id.
    pub(crate) id: String,
    /// When it expires, microseconds since the epoch.
    pub(crate) expires: i64,
}

/// Claims challenge ids in the batch's transaction, answering whether each was the first.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ClaimWrite;

impl BatchWrite for ClaimWrite {
    type Op = Claim;
    type Out = bool;

    async fn write(
        &self,
        conn: &mut AnyConnection,
        ops: &[Claim],
    ) -> Result<Vec<bool>, sqlx::Error> {
        let mut firsts = Vec::with_capacity(ops.len());
        for c in ops {
            firsts.push(claim_on(conn, c).await?);
        }
        Ok(firsts)
    }
}

/// Claims `c` on `conn`: true when no claim of its id existed.
pub(crate) async fn claim_on(conn: &mut AnyConnection, c: &Claim) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO used_challenges (id, expires) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&c.id)
    .bind(c.expires)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes claims of challenges that expired before `now_micros`; returns how many.
pub(crate) async fn prune_challenges(pool: &AnyPool, now_micros: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM used_challenges WHERE expires < $1")
            .bind(now_micros)
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests;
