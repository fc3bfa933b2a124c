//! The per-organization hash chain over `audit_records` (issue #7, docs/audit.md): appends
//! that give each new record its seq, previous hash and hash inside the writer's transaction
//! (the chain row is bumped first, which queues concurrent writers: STYLE.md §6), reading a
//! chain in seq order for export, checkpoints, the signing keys' public halves, retention by
//! whole sealed segments, and chaining records written before the chain existed.
//!
//! Nothing here updates or deletes a chained record; the migration's triggers refuse it.

mod checkpoints;
mod retention;

pub use checkpoints::{
    checkpoint_at, checkpoints, keys, latest_checkpoint, put_checkpoint, remember_key,
};
pub use retention::{adopt_unchained, prune};

use crate::error::Result;
use crate::store::audit_log::{self, COLUMNS, StoredRecord};
use mynafleet_kit::audit_chain::{self as kit, Entry, Hash, ZERO_HASH};
use mynafleet_kit::db::Placeholders;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, AnyPool, Row};
use std::collections::{BTreeMap, HashSet};

/// Rows per multi-row statement: 25 binds each stays far below both engines' limits
/// (SQLite 32,766, PostgreSQL 65,535).
const ROWS_PER_STATEMENT: usize = 200;

/// Returns the chain a record belongs to: `organizations/{org}`, or
/// [`mynafleet_kit::audit_chain::DEPLOYMENT_CHAIN`] without an organization.
pub fn chain_of(record: &StoredRecord) -> String {
    record
        .organization
        .map_or_else(|| kit::DEPLOYMENT_CHAIN.to_owned(), |o| o.name())
}

/// A chain's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// `organizations/{org}` or `deployment`.
    pub chain: String,
    /// Entries appended so far (seq of the last one).
    pub size: i64,
    /// Hash of the last entry ([`mynafleet_kit::audit_chain::ZERO_HASH`] when empty).
    pub head: Hash,
    /// Entries up to this seq were removed by retention (0: none).
    pub pruned_through: i64,
    /// Size of the newest checkpoint (0: none).
    pub checkpointed: i64,
}

/// Decodes a stored hash (64 lowercase hex digits).
fn stored_hash(row: &AnyRow, column: &str) -> Result<Hash> {
    let text: String = row.try_get(column)?;
    kit::parse_hash(&text).ok_or_else(|| {
        sqlx::Error::Decode(format!("{column} is not a 64-digit hex hash").into()).into()
    })
}

/// Locks the row of `chain` (creating it empty on first use) and returns its size and head.
/// The upsert is a write, so it takes the row lock on PostgreSQL and SQLite's write lock; a
/// concurrent writer of the same chain waits here until this transaction ends.
pub(crate) async fn lock_chain(conn: &mut AnyConnection, chain: &str) -> Result<(i64, Hash)> {
    let row = sqlx::query(
        "INSERT INTO audit_chains (chain, size, head_hash) VALUES ($1, 0, $2) \
         ON CONFLICT (chain) DO UPDATE SET size = audit_chains.size \
         RETURNING size, head_hash",
    )
    .bind(chain)
    .bind(kit::hash_hex(&ZERO_HASH))
    .fetch_one(&mut *conn)
    .await?;
    Ok((row.try_get("size")?, stored_hash(&row, "head_hash")?))
}

/// Moves the head of `chain` (locked by [`lock_chain`] in this transaction).
pub(crate) async fn set_head(
    conn: &mut AnyConnection,
    chain: &str,
    size: i64,
    head: &Hash,
) -> Result<()> {
    sqlx::query("UPDATE audit_chains SET size = $2, head_hash = $3 WHERE chain = $1")
        .bind(chain)
        .bind(size)
        .bind(kit::hash_hex(head))
        .execute(conn)
        .await?;
    Ok(())
}

/// Appends `records` to their chains on `conn`, which must be inside the transaction of the
/// change they record (or of the ingest). Records whose id is already stored in their chain
/// are skipped, and so is a repeat within `records` (so ingest is idempotent); returns how
/// many were appended. Chains are locked in name order. A record whose id is stored in
/// another chain fails the whole call (primary key): its place is never left as a gap.
pub async fn append(conn: &mut AnyConnection, records: &[StoredRecord]) -> Result<u64> {
    let mut chains: BTreeMap<String, Vec<&StoredRecord>> = BTreeMap::new();
    for r in records {
        chains.entry(chain_of(r)).or_default().push(r);
    }
    let mut appended = 0;
    for (chain, records) in chains {
        appended += append_to(conn, &chain, &records).await?;
    }
    Ok(appended)
}

/// Appends `records` (all of `chain`) after the chain's head.
async fn append_to(
    conn: &mut AnyConnection,
    chain: &str,
    records: &[&StoredRecord],
) -> Result<u64> {
    let (mut size, mut head) = lock_chain(conn, chain).await?;
    let stored = stored_ids(conn, chain, records).await?;
    let mut seen = HashSet::with_capacity(records.len());
    let fresh: Vec<&StoredRecord> = records
        .iter()
        .copied()
        .filter(|r| !stored.contains(r.id.as_str()) && seen.insert(r.id.as_str()))
        .collect();
    if fresh.is_empty() {
        return Ok(0);
    }
    let origin = kit::origin(chain);
    for chunk in fresh.chunks(ROWS_PER_STATEMENT) {
        let mut links = Vec::with_capacity(chunk.len());
        for r in chunk {
            size += 1;
            let hash = kit::entry_hash(&origin, size, &head, &r.to_chain_record());
            links.push((size, head, hash));
            head = hash;
        }
        insert_chunk(conn, chain, chunk, &links).await?;
    }
    set_head(conn, chain, size, &head).await?;
    Ok(fresh.len() as u64)
}

/// Returns the ids among `records` already stored in `chain`, one query per chunk.
async fn stored_ids(
    conn: &mut AnyConnection,
    chain: &str,
    records: &[&StoredRecord],
) -> Result<HashSet<String>> {
    let mut stored = HashSet::new();
    let mut marks = Placeholders::of(conn);
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        marks.restart();
        let ids = (0..chunk.len())
            .map(|_| marks.next())
            .collect::<Vec<_>>()
            .join(", ");
        // By primary key only: with the chain in the condition a planner may walk the
        // chain's index instead. An id stored in another chain is left for the insert to
        // refuse.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, chain FROM audit_records WHERE id IN ({ids})"
        )));
        for r in chunk {
            query = query.bind(&r.id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            if row.try_get::<Option<String>, _>("chain")?.as_deref() == Some(chain) {
                stored.insert(row.try_get("id")?);
            }
        }
    }
    Ok(stored)
}

/// Inserts `records` with their places `links` (seq, previous hash, hash) in one statement.
async fn insert_chunk(
    conn: &mut AnyConnection,
    chain: &str,
    records: &[&StoredRecord],
    links: &[(i64, Hash, Hash)],
) -> Result<()> {
    const BINDS: usize = 25;
    let mut marks = Placeholders::of(conn);
    let values = (0..records.len())
        .map(|_| {
            let cells = (0..BINDS)
                .map(|_| marks.next())
                .collect::<Vec<_>>()
                .join(", ");
            format!("({cells})")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO audit_records ({COLUMNS}, chain, seq, prev_hash, hash) VALUES {values}"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (r, (seq, prev, hash)) in records.iter().zip(links) {
        query = bind_record(query, r)
            .bind(chain)
            .bind(*seq)
            .bind(kit::hash_hex(prev))
            .bind(kit::hash_hex(hash));
    }
    query.execute(conn).await?;
    Ok(())
}

/// Binds the [`COLUMNS`] of `r` to `query`, in their order.
pub(crate) fn bind_record<'q>(
    query: Query<'q, Any, AnyArguments>,
    r: &StoredRecord,
) -> Query<'q, Any, AnyArguments> {
    query
        .bind(&r.id)
        .bind(r.organization.map(|o| o.stored()))
        .bind(r.time)
        .bind(&r.producer)
        .bind(&r.actor_kind)
        .bind(&r.actor)
        .bind(&r.actor_role)
        .bind(&r.auth_method)
        .bind(&r.session_ref)
        .bind(&r.action)
        .bind(&r.action_code)
        .bind(&r.clinic)
        .bind(&r.target)
        .bind(&r.outcome)
        .bind(&r.reason)
        .bind(&r.source_address)
        .bind(&r.request_id)
        .bind(&r.patient_ref)
        .bind(&r.patient_ref_key_id)
        .bind(&r.traceparent)
        .bind(mynafleet_kit::outbox::detail_to_json(&r.detail))
}

/// The columns of a [`ChainHead`], over `audit_chains c`.
const HEAD: &str = "SELECT c.chain, c.size, c.head_hash, c.pruned_through, \
     COALESCE((SELECT MAX(k.size) FROM audit_checkpoints k WHERE k.chain = c.chain), 0) \
     AS checkpointed FROM audit_chains c";

fn chain_head(row: &AnyRow) -> Result<ChainHead> {
    Ok(ChainHead {
        chain: row.try_get("chain")?,
        size: row.try_get("size")?,
        head: stored_hash(row, "head_hash")?,
        pruned_through: row.try_get("pruned_through")?,
        checkpointed: row.try_get("checkpointed")?,
    })
}

/// Returns the state of `chain`, or None when nothing was ever appended to it.
pub async fn head(pool: &AnyPool, chain: &str) -> Result<Option<ChainHead>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{HEAD} WHERE c.chain = $1")))
        .bind(chain)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(chain_head).transpose()
}

/// Returns the chains that grew past their newest checkpoint, in name order.
pub async fn unsealed(pool: &AnyPool) -> Result<Vec<ChainHead>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{HEAD} WHERE c.size > COALESCE( \
         (SELECT MAX(k.size) FROM audit_checkpoints k WHERE k.chain = c.chain), 0) \
         ORDER BY c.chain"
    )))
    .fetch_all(pool)
    .await?;
    rows.iter().map(chain_head).collect()
}

/// Returns up to `limit` entries of `chain` with seq > `after_seq`, in seq order.
pub async fn read(pool: &AnyPool, chain: &str, after_seq: i64, limit: u32) -> Result<Vec<Entry>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, seq, prev_hash, hash FROM audit_records \
         WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3"
    )))
    .bind(chain)
    .bind(after_seq)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Entry {
                seq: row.try_get("seq")?,
                prev_hash: stored_hash(row, "prev_hash")?,
                hash: stored_hash(row, "hash")?,
                record: audit_log::record(row)?.to_chain_record(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
