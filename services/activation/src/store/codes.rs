//! Activation codes as stored: an argon2id hash per code (never the code), bound to one
//! device account, with expiry, attempts and, once used, the device and key it was bound to.
//! One live code per account: issuing revokes the live one in the same transaction, and the
//! partial unique index `activation_codes_one_live` makes that hold under concurrency.

use crate::error::{Error, Result};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};

/// Every column of `activation_codes`, in the order [`code`] reads them.
const COLUMNS: &str = "id, organization_id, clinic_id, account_id, code_hash, state, issued_by, \
     create_time, expire_time, use_time, revoke_time, device_id, key_fingerprint, \
     last_attempt_time, failed_attempts";

/// A code's stored state. An expired code is a live one past its expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeState {
    /// Not used and not revoked.
    Live,
    /// Bound to a device and its key.
    Used,
    /// Revoked by a newer code or by an operator.
    Revoked,
}

impl CodeState {
    fn as_stored(self) -> &'static str {
        match self {
            CodeState::Live => "live",
            CodeState::Used => "used",
            CodeState::Revoked => "revoked",
        }
    }

    fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "live" => CodeState::Live,
            "used" => CodeState::Used,
            "revoked" => CodeState::Revoked,
            _ => return None,
        })
    }
}

/// A code's state as operators see it at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShownState {
    /// Live and not expired.
    Unused,
    /// Bound to a device.
    Used,
    /// Live but past its expiry.
    Expired,
    /// Revoked.
    Revoked,
}

/// One stored activation code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCode {
    /// UUIDv7.
    pub id: String,
    /// The organization id.
    pub organization_id: String,
    /// The clinic id.
    pub clinic_id: String,
    /// The device account (`W` + 7 digits).
    pub account_id: String,
    /// argon2id PHC string of the code.
    pub code_hash: String,
    /// The stored state.
    pub state: CodeState,
    /// Who issued it (operator or service resource name).
    pub issued_by: String,
    /// Microseconds since the epoch.
    pub create_time: i64,
    /// Microseconds since the epoch.
    pub expire_time: i64,
    /// When a device used it.
    pub use_time: Option<i64>,
    /// When it was revoked.
    pub revoke_time: Option<i64>,
    /// The device that used it.
    pub device_id: Option<String>,
    /// The key it is bound to (SHA-256 of the SubjectPublicKeyInfo, hex).
    pub key_fingerprint: Option<String>,
    /// The last activation that named its account while it was live, or that used it.
    pub last_attempt_time: Option<i64>,
    /// Failed activations that named its account while it was live.
    pub failed_attempts: i64,
}

impl StoredCode {
    /// Returns how operators see the code at `now` (microseconds).
    pub fn shown_state(&self, now: i64) -> ShownState {
        match self.state {
            CodeState::Live if self.expire_time <= now => ShownState::Expired,
            CodeState::Live => ShownState::Unused,
            CodeState::Used => ShownState::Used,
            CodeState::Revoked => ShownState::Revoked,
        }
    }

    /// Returns `organizations/{org}/clinics/{clinic}/accounts/{W…}/activationCodes/{id}`.
    pub fn name(&self) -> String {
        format!("{}/activationCodes/{}", self.account_name(), self.id)
    }

    /// Returns the account's resource name.
    pub fn account_name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}/accounts/{}",
            self.organization_id, self.clinic_id, self.account_id
        )
    }
}

/// What issuing a code needs.
#[derive(Clone, Debug)]
pub struct NewCode {
    /// UUIDv7.
    pub id: String,
    /// The organization id.
    pub organization_id: String,
    /// The clinic id.
    pub clinic_id: String,
    /// The device account.
    pub account_id: String,
    /// argon2id hash of the code.
    pub code_hash: String,
    /// Who issues it.
    pub issued_by: String,
    /// Now, microseconds since the epoch.
    pub create_time: i64,
    /// Microseconds since the epoch.
    pub expire_time: i64,
}

/// Where a page of codes ends: the next page starts after this code (newest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeCursor {
    /// The last code's creation time.
    pub create_time: i64,
    /// The last code's id.
    pub id: String,
}

impl CodeCursor {
    /// Returns the cursor as the text a page token carries.
    pub fn encode(&self) -> String {
        format!("{}:{}", self.create_time, self.id)
    }

    /// Parses [`Self::encode`]'s text.
    pub fn decode(s: &str) -> Option<Self> {
        let (t, id) = s.split_once(':')?;
        Some(Self {
            create_time: t.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

/// Which codes a listing covers.
#[derive(Clone, Debug)]
pub struct CodeListing<'a> {
    /// The organization id.
    pub organization_id: &'a str,
    /// One clinic, if given.
    pub clinic_id: Option<&'a str>,
    /// One account, if given.
    pub account_id: Option<&'a str>,
    /// Only these clinics (a clinic_admin's scope), if given; empty matches nothing.
    pub only_clinics: Option<&'a [String]>,
}

fn code(row: &AnyRow) -> Result<StoredCode> {
    let state: String = row.try_get("state")?;
    Ok(StoredCode {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        clinic_id: row.try_get("clinic_id")?,
        account_id: row.try_get("account_id")?,
        code_hash: row.try_get("code_hash")?,
        state: CodeState::from_stored(&state)
            .ok_or_else(|| Error::Corrupt(format!("activation code state {state:?}")))?,
        issued_by: row.try_get("issued_by")?,
        create_time: row.try_get("create_time")?,
        expire_time: row.try_get("expire_time")?,
        use_time: row.try_get("use_time")?,
        revoke_time: row.try_get("revoke_time")?,
        device_id: row.try_get("device_id")?,
        key_fingerprint: row.try_get("key_fingerprint")?,
        last_attempt_time: row.try_get("last_attempt_time")?,
        failed_attempts: row.try_get("failed_attempts")?,
    })
}

/// Issues `new` on `conn` (the caller's transaction), revoking the account's live code
/// first, and returns the stored code.
pub async fn issue_on(conn: &mut AnyConnection, new: &NewCode) -> Result<StoredCode> {
    sqlx::query(
        "UPDATE activation_codes SET state = 'revoked', revoke_time = $1 \
         WHERE organization_id = $2 AND account_id = $3 AND state = 'live'",
    )
    .bind(new.create_time)
    .bind(&new.organization_id)
    .bind(&new.account_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO activation_codes (id, organization_id, clinic_id, account_id, code_hash, \
         state, issued_by, create_time, expire_time) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&new.id)
    .bind(&new.organization_id)
    .bind(&new.clinic_id)
    .bind(&new.account_id)
    .bind(&new.code_hash)
    .bind(CodeState::Live.as_stored())
    .bind(&new.issued_by)
    .bind(new.create_time)
    .bind(new.expire_time)
    .execute(&mut *conn)
    .await?;
    code_on(conn, &new.organization_id, &new.id).await
}

/// Issues `new` in a transaction of its own.
pub async fn issue(pool: &AnyPool, new: &NewCode) -> Result<StoredCode> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    let issued = issue_on(&mut tx, new).await?;
    tx.commit().await?;
    Ok(issued)
}

/// Returns the code `id` of organization `org` on `conn`.
pub async fn code_on(conn: &mut AnyConnection, org: &str, id: &str) -> Result<StoredCode> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM activation_codes WHERE organization_id = $1 AND id = $2"
    )))
    .bind(org)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(Error::CodeNotFound)?;
    code(&row)
}

/// Returns the code `id` of organization `org`.
pub async fn get_code(pool: &AnyPool, org: &str, id: &str) -> Result<StoredCode> {
    let mut conn = pool.acquire().await?;
    code_on(&mut conn, org, id).await
}

/// Returns the account's newest `limit` codes, newest first (what a typed code is checked
/// against).
pub async fn newest_for_account(
    pool: &AnyPool,
    org: &str,
    account_id: &str,
    limit: u32,
) -> Result<Vec<StoredCode>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM activation_codes WHERE organization_id = $1 AND account_id = $2 \
         ORDER BY create_time DESC, id DESC LIMIT $3"
    )))
    .bind(org)
    .bind(account_id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(code).collect()
}

/// Returns up to `limit` codes of `listing`, newest first, after `after`, and the cursor of
/// the last one when more follow.
pub async fn list_codes(
    pool: &AnyPool,
    listing: &CodeListing<'_>,
    after: Option<&CodeCursor>,
    limit: u32,
) -> Result<(Vec<StoredCode>, Option<CodeCursor>)> {
    let only = match listing.only_clinics {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_owned(),
        Some(ids) => format!(
            " AND clinic_id IN ({})",
            (0..ids.len())
                .map(|i| format!("${}", 8 + i))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM activation_codes WHERE organization_id = $1 \
         AND ($2 = '' OR clinic_id = $2) AND ($3 = '' OR account_id = $3) \
         AND (create_time < $4 OR (create_time = $5 AND id < $6)){only} \
         ORDER BY create_time DESC, id DESC LIMIT $7"
    );
    let (time, id) = match after {
        Some(c) => (c.create_time, c.id.as_str()),
        // Before every code: no time is later, and at i64::MAX no id is "less" than the
        // first page needs.
        None => (i64::MAX, ""),
    };
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(listing.organization_id)
        .bind(listing.clinic_id.unwrap_or(""))
        .bind(listing.account_id.unwrap_or(""))
        .bind(time)
        .bind(time)
        .bind(id)
        .bind(i64::from(limit) + 1);
    for c in listing.only_clinics.unwrap_or_default() {
        q = q.bind(c.as_str());
    }
    let rows = q.fetch_all(pool).await?;
    let mut codes = rows.iter().map(code).collect::<Result<Vec<_>>>()?;
    let next = if codes.len() > limit as usize {
        codes.truncate(limit as usize);
        codes.last().map(|c| CodeCursor {
            create_time: c.create_time,
            id: c.id.clone(),
        })
    } else {
        None
    };
    Ok((codes, next))
}

/// Revokes the code `id` on `conn` if it is live (expired or not) and returns it; a code
/// already revoked is returned as it is, a used one is refused.
pub async fn revoke_on(
    conn: &mut AnyConnection,
    org: &str,
    id: &str,
    now: i64,
) -> Result<StoredCode> {
    sqlx::query(
        "UPDATE activation_codes SET state = 'revoked', revoke_time = $1 \
         WHERE organization_id = $2 AND id = $3 AND state = 'live'",
    )
    .bind(now)
    .bind(org)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let c = code_on(conn, org, id).await?;
    match c.state {
        CodeState::Revoked => Ok(c),
        CodeState::Used => Err(Error::CodeAlreadyUsed),
        CodeState::Live => Err(Error::Corrupt(format!("code {id} stayed live on revoke"))),
    }
}

/// Binds the live, unexpired code `id` to `device_id` and its key on `conn`. Returns false
/// when the code was not live and unexpired any more (a concurrent activation or issue).
pub async fn bind_on(
    conn: &mut AnyConnection,
    org: &str,
    id: &str,
    device_id: &str,
    key_fingerprint: &str,
    now: i64,
) -> Result<bool> {
    let changed = sqlx::query(
        "UPDATE activation_codes SET state = 'used', use_time = $1, last_attempt_time = $1, \
         device_id = $2, key_fingerprint = $3 \
         WHERE organization_id = $4 AND id = $5 AND state = 'live' AND expire_time > $1",
    )
    .bind(now)
    .bind(device_id)
    .bind(key_fingerprint)
    .bind(org)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed == 1)
}

/// Notes a failed activation naming the account on its live code (if it has one): one more
/// failed attempt, and the attempt's time.
pub async fn record_failed_attempt_on(
    conn: &mut AnyConnection,
    org: &str,
    account_id: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE activation_codes SET failed_attempts = failed_attempts + 1, \
         last_attempt_time = $1 \
         WHERE organization_id = $2 AND account_id = $3 AND state = 'live'",
    )
    .bind(now)
    .bind(org)
    .bind(account_id)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests;
