//! The account store: plain async functions over an `AnyPool`, one SQL text for SQLite and
//! PostgreSQL (proved by the conformance suite in `store/tests.rs`, run on both).

pub mod applications;
pub mod audit_chain;
pub mod audit_log;
pub mod clinics;
pub mod credentials;
pub mod device_accounts;
pub mod events;
pub mod gauges;
pub mod operators;
pub mod sessions;

use crate::audit::{self, AuditEntry};
use crate::error::{Error, Result};
use crate::organization::{DisplayName, NewOrganization, Organization, OrganizationId, PageToken};
use mynafleet_kit::idempotency::{self, Claim, RequestKey};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

/// The result of a mutation made idempotent by a request id.
#[derive(Debug)]
pub enum Idempotent<T> {
    /// The mutation happened now.
    Done(T),
    /// The same request was done before; this is its encoded response.
    Replayed(Vec<u8>),
}

const COLUMNS: &str = "id, display_name, revision, create_time, update_time";

fn organization(row: &AnyRow) -> Result<Organization> {
    let id: String = row.try_get("id")?;
    Ok(Organization {
        id: OrganizationId::from_stored(&id).ok_or_else(|| {
            Error::Db(sqlx::Error::Decode(
                format!("organization id {id:?} is not a uuid").into(),
            ))
        })?,
        display_name: DisplayName::from_stored(row.try_get("display_name")?),
        revision: row.try_get("revision")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Claims `key` as the transaction's first statement: `Some(response)` when the same request
/// was done before, an error when the id was used with another request.
pub(crate) async fn claim(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    key: Option<&RequestKey<'_>>,
    now: i64,
) -> Result<Option<Vec<u8>>> {
    let Some(key) = key else { return Ok(None) };
    match idempotency::claim(tx, key, now).await? {
        Claim::New => Ok(None),
        Claim::Replay(r) => Ok(Some(r)),
        Claim::Reused => Err(Error::RequestIdReused),
    }
}

/// Records the response of a claimed key beside the work, commits, and returns the result.
/// `encode` makes the response a repeat gets back: it must leave out anything shown only
/// once (generated passwords, TOTP secrets), since it is stored.
pub(crate) async fn finish<T>(
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    key: Option<&RequestKey<'_>>,
    value: T,
    encode: impl FnOnce(&T) -> Vec<u8>,
) -> Result<Idempotent<T>> {
    if let Some(key) = key {
        idempotency::complete(&mut tx, key, &encode(&value)).await?;
    }
    tx.commit().await?;
    Ok(Idempotent::Done(value))
}

/// Creates an organization; with a request key, a repeat returns the first response.
/// `encode` turns the new organization into the response that a repeat gets back.
pub async fn create_organization(
    pool: &AnyPool,
    now: i64,
    new: &NewOrganization,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Organization) -> Vec<u8>,
) -> Result<Idempotent<Organization>> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    let org = Organization {
        id: OrganizationId::new(),
        display_name: new.display_name.clone(),
        revision: 1,
        create_time: now,
        update_time: now,
    };
    sqlx::query(
        "INSERT INTO organizations (id, display_name, revision, create_time, update_time) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(org.id.stored())
    .bind(org.display_name.as_str())
    .bind(org.revision)
    .bind(org.create_time)
    .bind(org.update_time)
    .execute(&mut *tx)
    .await?;
    let audit = audit.organization(org.id).target(org.id.name());
    audit::append(&mut tx, &audit).await?;
    finish(tx, key, org, encode).await
}

/// Returns one organization.
pub async fn get_organization(pool: &AnyPool, id: OrganizationId) -> Result<Organization> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM organizations WHERE id = $1"
    )))
    .bind(id.stored())
    .fetch_optional(pool)
    .await?
    .ok_or(Error::OrganizationNotFound)?;
    organization(&row)
}

/// Returns up to `limit` organizations after `after`, in creation order, and the token of
/// the next page when there is one.
pub async fn list_organizations(
    pool: &AnyPool,
    after: Option<PageToken>,
    limit: u32,
) -> Result<(Vec<Organization>, Option<PageToken>)> {
    let after = after.map(|t| t.after.stored()).unwrap_or_default();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM organizations WHERE id > $1 ORDER BY id LIMIT $2"
    )))
    .bind(after)
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let mut orgs = rows.iter().map(organization).collect::<Result<Vec<_>>>()?;
    let next = if orgs.len() > limit as usize {
        orgs.truncate(limit as usize);
        orgs.last().map(|o| PageToken { after: o.id })
    } else {
        None
    };
    Ok((orgs, next))
}

/// What an update changes.
#[derive(Clone, Debug)]
pub struct OrganizationUpdate {
    /// The organization to change.
    pub id: OrganizationId,
    /// The new display name, when the mask names it.
    pub display_name: Option<DisplayName>,
    /// The revision the client read (from its etag); `None` to update unconditionally.
    pub expected_revision: Option<i64>,
}

/// Updates an organization; with a request key, a repeat returns the first response.
pub async fn update_organization(
    pool: &AnyPool,
    now: i64,
    update: &OrganizationUpdate,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Organization) -> Vec<u8>,
) -> Result<Idempotent<Organization>> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    // One conditional UPDATE: the revision check and the change cannot be split by another
    // writer on either engine.
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE organizations SET display_name = COALESCE($1, display_name), \
         revision = revision + 1, update_time = $2 \
         WHERE id = $3 AND ($4 < 0 OR revision = $4) RETURNING {COLUMNS}"
    )))
    .bind(update.display_name.as_ref().map(|d| d.as_str().to_owned()))
    .bind(now)
    .bind(update.id.stored())
    .bind(update.expected_revision.unwrap_or(-1))
    .fetch_optional(&mut *tx)
    .await?;
    let org = match row {
        Some(row) => organization(&row)?,
        None => {
            let exists = sqlx::query("SELECT 1 AS one FROM organizations WHERE id = $1")
                .bind(update.id.stored())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            return Err(if exists {
                Error::EtagMismatch
            } else {
                Error::OrganizationNotFound
            });
        }
    };
    let audit = audit.organization(org.id).target(org.id.name());
    audit::append(&mut tx, &audit).await?;
    finish(tx, key, org, encode).await
}

#[cfg(test)]
mod tests;
