//! Operator sessions: the token is 32 random bytes shown to the client once; only its
//! SHA-256 is stored. A session ends on logout, after the idle timeout, after its absolute
//! lifetime, or when its operator is disabled.

use crate::auth::{Principal, Role};
use crate::config::SessionPolicy;
use crate::error::{Error, Result};
use crate::organization::OrganizationId;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};
use uuid::Uuid;

/// The prefix of session tokens, so a leaked one is recognisable in a secret scanner.
pub const TOKEN_PREFIX: &str = "mfs_";

/// Returns a new session token and the hash under which it is stored.
pub fn new_token() -> Result<(String, Vec<u8>)> {
    let mut raw = [0u8; 32];
    mynafleet_kit::keys::random_bytes(&mut raw).map_err(|e| Error::Secret(e.to_string()))?;
    let token = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    );
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// Returns the stored hash of a token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn micros(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Opens a session for `operator` in `tx`; returns its id and expiry.
pub async fn open(
    conn: &mut sqlx::AnyConnection,
    operator: Uuid,
    token_hash: &[u8],
    now: i64,
    policy: &SessionPolicy,
) -> Result<(String, i64)> {
    let id = Uuid::now_v7().to_string();
    let expire = now.saturating_add(micros(policy.absolute_lifetime));
    sqlx::query(
        "INSERT INTO sessions (token_hash, id, operator_id, create_time, last_seen_time, \
         expire_time, ended) VALUES ($1, $2, $3, $4, $4, $5, 0)",
    )
    .bind(token_hash.to_vec())
    .bind(&id)
    .bind(operator.to_string())
    .bind(now)
    .bind(expire)
    .execute(conn)
    .await?;
    Ok((id, expire))
}

/// A live session and when it started and ends.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who holds it.
    pub principal: Principal,
    /// When it was opened.
    pub create_time: i64,
    /// When it ends at the latest.
    pub expire_time: i64,
}

/// Resolves a bearer token to its operator, refreshing the idle timer.
pub async fn resolve(
    pool: &AnyPool,
    token: &str,
    now: i64,
    policy: &SessionPolicy,
) -> Result<Session> {
    let hash = token_hash(token);
    let row = sqlx::query(
        "SELECT s.id, s.operator_id, s.create_time, s.last_seen_time, s.expire_time, s.ended, \
         o.organization_id, o.login_id, o.role, o.must_change_password, o.disabled \
         FROM sessions s JOIN operators o ON o.id = s.operator_id WHERE s.token_hash = $1",
    )
    .bind(hash.clone())
    .fetch_optional(pool)
    .await?
    .ok_or(Error::SessionInvalid)?;
    let ended: i64 = row.try_get("ended")?;
    let disabled: i64 = row.try_get("disabled")?;
    if ended != 0 || disabled != 0 {
        return Err(Error::SessionInvalid);
    }
    let last_seen: i64 = row.try_get("last_seen_time")?;
    let expire_time: i64 = row.try_get("expire_time")?;
    if now >= expire_time || now.saturating_sub(last_seen) >= micros(policy.idle_timeout) {
        sqlx::query("UPDATE sessions SET ended = 1 WHERE token_hash = $1")
            .bind(hash)
            .execute(pool)
            .await?;
        return Err(Error::SessionExpired);
    }
    let operator_id: String = row.try_get("operator_id")?;
    let decode = |what: &str| Error::Db(sqlx::Error::Decode(format!("bad stored {what}").into()));
    let operator = Uuid::parse_str(&operator_id).map_err(|_| decode("operator id"))?;
    let organization = OrganizationId::from_stored(&row.try_get::<String, _>("organization_id")?)
        .ok_or_else(|| decode("organization id"))?;
    let role =
        Role::from_stored(&row.try_get::<String, _>("role")?).ok_or_else(|| decode("role"))?;
    let clinics = sqlx::query("SELECT clinic_id FROM operator_clinics WHERE operator_id = $1")
        .bind(&operator_id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            r.try_get::<String, _>("clinic_id")
                .ok()
                .and_then(|s| Uuid::parse_str(&s).ok())
                .ok_or_else(|| decode("clinic id"))
        })
        .collect::<Result<Vec<_>>>()?;
    sqlx::query("UPDATE sessions SET last_seen_time = $1 WHERE token_hash = $2 AND ended = 0")
        .bind(now)
        .bind(hash)
        .execute(pool)
        .await?;
    Ok(Session {
        principal: Principal {
            operator,
            login_id: row.try_get("login_id")?,
            organization,
            role,
            clinics,
            session_id: row.try_get("id")?,
            must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        },
        create_time: row.try_get("create_time")?,
        expire_time,
    })
}

/// Ends the session of `token` (logout).
pub async fn end(conn: &mut sqlx::AnyConnection, session_id: &str) -> Result<()> {
    sqlx::query("UPDATE sessions SET ended = 1 WHERE id = $1")
        .bind(session_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of `operator` (disable, password change).
pub async fn end_all(conn: &mut sqlx::AnyConnection, operator: Uuid) -> Result<()> {
    sqlx::query("UPDATE sessions SET ended = 1 WHERE operator_id = $1")
        .bind(operator.to_string())
        .execute(conn)
        .await?;
    Ok(())
}
