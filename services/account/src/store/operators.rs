//! Operators and their logins: create (generated initial password, enrolled TOTP), read,
//! list, disable, unlock, log in and out, change the own password.
//!
//! A password is stored only as its argon2id hash (made and checked on the blocking pool,
//! since argon2 is CPU-bound) and a TOTP secret only sealed with the TOTP key. Every mutation
//! and every login attempt writes an audit record in the transaction of its change; a
//! failed login never records the password, the code or an unknown login id as typed.

use crate::audit::{self, ActionCode, AuditEntry, Outcome, RequestMeta};
use crate::auth::{Actor, Principal, Role};
use crate::config::SessionPolicy;
use crate::error::{Error, Result};
use crate::operator::{LoginId, NewOperator, Operator, OperatorState};
use crate::organization::{DisplayName, OrganizationId};
use crate::password;
use crate::store::{Idempotent, claim, finish, sessions};
use crate::totp::TotpSecret;
use mynafleet_kit::idempotency::RequestKey;
use mynafleet_kit::keys::SecretKey;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use std::collections::HashMap;
use uuid::Uuid;
use zeroize::Zeroizing;

const COLUMNS: &str = "id, organization_id, login_id, display_name, role, \
     must_change_password, totp_key_id, locked, disabled, create_time, last_login_time";

fn decode_error(what: &str) -> Error {
    Error::Db(sqlx::Error::Decode(format!("bad stored {what}").into()))
}

fn not_found() -> Error {
    Error::NotFound {
        reason: "OPERATOR_NOT_FOUND",
        what: "operator",
    }
}

fn uuid_of(s: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| decode_error(what))
}

/// Reads an operator row (without its clinics).
fn operator(row: &AnyRow) -> Result<Operator> {
    let flag = |c: &str| -> Result<bool> { Ok(row.try_get::<i64, _>(c)? != 0) };
    let state = if flag("disabled")? {
        OperatorState::Disabled
    } else if flag("locked")? {
        OperatorState::Locked
    } else {
        OperatorState::Active
    };
    Ok(Operator {
        id: uuid_of(&row.try_get::<String, _>("id")?, "operator id")?,
        organization: OrganizationId::from_stored(&row.try_get::<String, _>("organization_id")?)
            .ok_or_else(|| decode_error("organization id"))?,
        login_id: LoginId::from_stored(row.try_get("login_id")?),
        display_name: DisplayName::from_stored(row.try_get("display_name")?),
        role: Role::from_stored(&row.try_get::<String, _>("role")?)
            .ok_or_else(|| decode_error("role"))?,
        clinics: Vec::new(),
        state,
        must_change_password: flag("must_change_password")?,
        totp_enrolled: row.try_get::<Option<String>, _>("totp_key_id")?.is_some(),
        create_time: row.try_get("create_time")?,
        last_login_time: row.try_get("last_login_time")?,
    })
}

/// Returns the clinics of the operators of `org` whose ids lie in `first..=last`.
async fn clinics_between(
    conn: &mut AnyConnection,
    org: OrganizationId,
    first: Uuid,
    last: Uuid,
) -> Result<HashMap<Uuid, Vec<Uuid>>> {
    let rows = sqlx::query(
        "SELECT oc.operator_id, oc.clinic_id FROM operator_clinics oc \
         JOIN operators o ON o.id = oc.operator_id \
         WHERE o.organization_id = $1 AND o.id >= $2 AND o.id <= $3 \
         ORDER BY oc.operator_id, oc.clinic_id",
    )
    .bind(org.stored())
    .bind(first.to_string())
    .bind(last.to_string())
    .fetch_all(conn)
    .await?;
    let mut map: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for r in rows {
        let op = uuid_of(&r.try_get::<String, _>("operator_id")?, "operator id")?;
        let clinic = uuid_of(&r.try_get::<String, _>("clinic_id")?, "clinic id")?;
        map.entry(op).or_default().push(clinic);
    }
    Ok(map)
}

/// Reads one operator of `org` with its clinics on `conn`.
async fn fetch(conn: &mut AnyConnection, org: OrganizationId, id: Uuid) -> Result<Operator> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operators WHERE id = $1 AND organization_id = $2"
    )))
    .bind(id.to_string())
    .bind(org.stored())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(not_found)?;
    let mut op = operator(&row)?;
    op.clinics = clinics_between(conn, org, id, id)
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(op)
}

/// Returns the argon2id hash of `password`, made on the blocking pool.
pub(crate) async fn hash_password(password: Zeroizing<String>) -> Result<String> {
    tokio::task::spawn_blocking(move || mynafleet_kit::keys::password::hash(&password))
        .await
        .map_err(|e| Error::Secret(format!("password hash task: {e}")))?
        .map_err(Error::Secret)
}

/// Checks `password` against the stored hash `phc` on the blocking pool.
pub(crate) async fn verify_password(password: Zeroizing<String>, phc: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || mynafleet_kit::keys::password::verify(&password, &phc))
        .await
        .map_err(|e| Error::Secret(format!("password verify task: {e}")))
}

/// A new operator with the secrets shown once: the initial password and, when enrolled, the
/// TOTP secret. `Debug` shows neither.
pub struct Created {
    /// The stored operator.
    pub operator: Operator,
    /// The generated initial password.
    pub password: Zeroizing<String>,
    /// The enrolled TOTP secret, when TOTP is required.
    pub totp: Option<TotpSecret>,
}

impl std::fmt::Debug for Created {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Created")
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

impl Created {
    /// Returns the `otpauth://` URI of the enrolled secret, or an empty string without one.
    pub fn totp_uri(&self) -> Result<Zeroizing<String>> {
        match &self.totp {
            Some(s) => s.uri(self.operator.login_id.as_str()),
            None => Ok(Zeroizing::new(String::new())),
        }
    }
}

/// Creates an operator with a generated initial password (to be changed at first login)
/// and, when `require_totp`, a TOTP secret sealed with `totp_key`. With a request key, a
/// repeat returns the first response; `encode` gets only the operator, so the stored
/// response never holds the secrets.
#[allow(
    clippy::too_many_arguments,
    reason = "one plain store function per operation, as every store mutation"
)]
pub async fn create(
    pool: &AnyPool,
    now: i64,
    new: &NewOperator,
    require_totp: bool,
    totp_key: &SecretKey,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Operator) -> Vec<u8>,
) -> Result<Idempotent<Created>> {
    let id = Uuid::now_v7();
    let password = password::generate()?;
    let hash = hash_password(password.clone()).await?;
    let totp = if require_totp {
        Some(TotpSecret::generate()?)
    } else {
        None
    };
    let sealed = totp.as_ref().map(|s| s.seal(totp_key, id)).transpose()?;
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    for clinic in &new.clinics {
        let exists =
            sqlx::query("SELECT 1 AS one FROM clinics WHERE id = $1 AND organization_id = $2")
                .bind(clinic.to_string())
                .bind(new.organization.stored())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        if !exists {
            return Err(Error::NotFound {
                reason: "CLINIC_NOT_FOUND",
                what: "clinic",
            });
        }
    }
    let inserted = sqlx::query(
        "INSERT INTO operators (id, organization_id, login_id, display_name, role, \
         password_hash, must_change_password, totp_sealed, totp_key_id, totp_last_step, \
         failed_logins, locked, disabled, create_time, update_time, last_login_time) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, 0, 0, 0, 0, $9, $9, NULL)",
    )
    .bind(id.to_string())
    .bind(new.organization.stored())
    .bind(new.login_id.as_str())
    .bind(new.display_name.as_str())
    .bind(new.role.as_str())
    .bind(&hash)
    .bind(sealed)
    .bind(totp.as_ref().map(|_| totp_key.id().to_owned()))
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) if mynafleet_kit::db::is_unique_violation(&e) => {
            return Err(Error::Taken {
                reason: "LOGIN_ID_TAKEN",
                field: "operator.login_id",
                message: "another operator already uses that login id".into(),
            });
        }
        Err(e) => return Err(e.into()),
    }
    for clinic in &new.clinics {
        sqlx::query("INSERT INTO operator_clinics (operator_id, clinic_id) VALUES ($1, $2)")
            .bind(id.to_string())
            .bind(clinic.to_string())
            .execute(&mut *tx)
            .await?;
    }
    let operator = Operator {
        id,
        organization: new.organization,
        login_id: new.login_id.clone(),
        display_name: new.display_name.clone(),
        role: new.role,
        clinics: new.clinics.clone(),
        state: OperatorState::Active,
        must_change_password: true,
        totp_enrolled: totp.is_some(),
        create_time: now,
        last_login_time: None,
    };
    let audit = audit.organization(new.organization).target(operator.name());
    audit::append(&mut tx, &audit).await?;
    let created = Created {
        operator,
        password,
        totp,
    };
    finish(tx, key, created, |c| encode(&c.operator)).await
}

/// Returns whether some operator of the deployment uses `login_id`.
pub async fn login_id_taken(pool: &AnyPool, login_id: &LoginId) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM operators WHERE login_id = $1")
            .bind(login_id.as_str())
            .fetch_optional(pool)
            .await?
            .is_some(),
    )
}

/// Returns operator `id` of `org`.
pub async fn get(pool: &AnyPool, org: OrganizationId, id: Uuid) -> Result<Operator> {
    let mut conn = pool.acquire().await?;
    fetch(&mut conn, org, id).await
}

/// Returns up to `limit` operators of `org` after `after`, in creation order, and the id to
/// continue after when there are more.
pub async fn list(
    pool: &AnyPool,
    org: OrganizationId,
    after: Option<Uuid>,
    limit: u32,
) -> Result<(Vec<Operator>, Option<Uuid>)> {
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM operators WHERE organization_id = $1 AND id > $2 \
         ORDER BY id LIMIT $3"
    )))
    .bind(org.stored())
    .bind(after.map(|a| a.to_string()).unwrap_or_default())
    .bind(i64::from(limit) + 1)
    .fetch_all(&mut *conn)
    .await?;
    let mut ops = rows.iter().map(operator).collect::<Result<Vec<_>>>()?;
    let next = if ops.len() > limit as usize {
        ops.truncate(limit as usize);
        ops.last().map(|o| o.id)
    } else {
        None
    };
    if let (Some(first), Some(last)) = (ops.first().map(|o| o.id), ops.last().map(|o| o.id)) {
        let mut clinics = clinics_between(&mut conn, org, first, last).await?;
        for op in &mut ops {
            op.clinics = clinics.remove(&op.id).unwrap_or_default();
        }
    }
    Ok((ops, next))
}

/// Disables operator `id` of `org` and ends all its sessions. `by` is the acting operator,
/// who cannot disable itself (the organization would risk losing its last admin).
#[allow(
    clippy::too_many_arguments,
    reason = "one plain store function per operation, as every store mutation"
)]
pub async fn disable(
    pool: &AnyPool,
    now: i64,
    org: OrganizationId,
    id: Uuid,
    by: Option<Uuid>,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Operator) -> Vec<u8>,
) -> Result<Idempotent<Operator>> {
    if by == Some(id) {
        return Err(Error::Precondition {
            reason: "CANNOT_DISABLE_SELF",
            message: "an operator cannot disable itself; ask another org_admin".into(),
        });
    }
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    let changed = sqlx::query(
        "UPDATE operators SET disabled = 1, update_time = $1 \
         WHERE id = $2 AND organization_id = $3",
    )
    .bind(now)
    .bind(id.to_string())
    .bind(org.stored())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(not_found());
    }
    sessions::end_all(&mut tx, id).await?;
    let op = fetch(&mut tx, org, id).await?;
    let audit = audit.organization(org).target(op.name());
    audit::append(&mut tx, &audit).await?;
    finish(tx, key, op, encode).await
}

/// Clears the login lockout of operator `id` of `org` (and its failed-login count).
pub async fn unlock(
    pool: &AnyPool,
    now: i64,
    org: OrganizationId,
    id: Uuid,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Operator) -> Vec<u8>,
) -> Result<Idempotent<Operator>> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    let changed = sqlx::query(
        "UPDATE operators SET locked = 0, failed_logins = 0, update_time = $1 \
         WHERE id = $2 AND organization_id = $3",
    )
    .bind(now)
    .bind(id.to_string())
    .bind(org.stored())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(not_found());
    }
    let op = fetch(&mut tx, org, id).await?;
    let audit = audit.organization(org).target(op.name());
    audit::append(&mut tx, &audit).await?;
    finish(tx, key, op, encode).await
}

/// What a login attempt typed.
#[derive(Clone, Copy)]
pub struct Credentials<'a> {
    /// The login id as typed (matched lower-cased).
    pub login_id: &'a str,
    /// The password.
    pub password: &'a str,
    /// The TOTP code (empty when none was given).
    pub totp_code: &'a str,
}

impl std::fmt::Debug for Credentials<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

/// An open session. `Debug` hides the token.
pub struct LoggedIn {
    /// The bearer token (shown to the client once; only its hash is stored).
    pub token: Zeroizing<String>,
    /// Who logged in.
    pub operator: Operator,
    /// The session's id (for audit references).
    pub session_id: String,
    /// When the session ends at the latest.
    pub expire_time: i64,
}

impl std::fmt::Debug for LoggedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggedIn")
            .field("operator", &self.operator)
            .field("session_id", &self.session_id)
            .field("expire_time", &self.expire_time)
            .finish_non_exhaustive()
    }
}

/// The audit actor of an attempt on a known operator (before any session exists).
fn attempt_actor(op: &Operator, session_id: &str) -> Actor {
    Actor::Operator(Principal {
        operator: op.id,
        login_id: op.login_id.as_str().to_owned(),
        organization: op.organization,
        role: op.role,
        clinics: op.clinics.clone(),
        session_id: session_id.to_owned(),
        must_change_password: op.must_change_password,
    })
}

fn auth_method(totp_enrolled: bool) -> &'static str {
    if totp_enrolled {
        "password+totp"
    } else {
        "password"
    }
}

fn login_entry(op: &Operator, meta: &RequestMeta, now: i64, session_id: &str) -> AuditEntry {
    let mut e = AuditEntry::new(
        &attempt_actor(op, session_id),
        meta,
        now,
        "session.login",
        ActionCode::Execute,
    )
    .target(op.name());
    e.auth_method = auth_method(op.totp_enrolled);
    e
}

/// Counts a failed verification of `op`, locking it at `policy.max_failed_logins`, and
/// records `entry` (plus `operator.locked` when this failure locked it).
async fn count_failure(
    pool: &AnyPool,
    now: i64,
    policy: &SessionPolicy,
    op: &Operator,
    meta: &RequestMeta,
    entry: &AuditEntry,
) -> Result<()> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    let failed: i64 = sqlx::query(
        "UPDATE operators SET failed_logins = failed_logins + 1, update_time = $1 \
         WHERE id = $2 RETURNING failed_logins",
    )
    .bind(now)
    .bind(op.id.to_string())
    .fetch_one(&mut *tx)
    .await?
    .try_get("failed_logins")?;
    audit::append(&mut tx, entry).await?;
    if failed >= i64::from(policy.max_failed_logins) {
        // Conditional, so only the failure that actually locks records the lock.
        let locked_now =
            sqlx::query("UPDATE operators SET locked = 1 WHERE id = $1 AND locked = 0")
                .bind(op.id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
        if locked_now {
            let mut lock = AuditEntry::new(
                &attempt_actor(op, ""),
                meta,
                now,
                "operator.locked",
                ActionCode::Update,
            )
            .target(op.name());
            lock.auth_method = entry.auth_method;
            audit::append(&mut tx, &lock).await?;
            tracing::warn!(operator = %op.name(), failed, "operator locked by failed logins");
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Checks login id, password and TOTP code at `now` and opens a session.
///
/// An unknown login id costs one argon2 verification against a decoy hash and is recorded
/// anonymously; a wrong password or a missing, wrong or replayed code counts towards the
/// lockout. The client learns only `LoginFailed` for all of these.
pub async fn login(
    pool: &AnyPool,
    now: i64,
    policy: &SessionPolicy,
    totp_key: &SecretKey,
    meta: &RequestMeta,
    creds: Credentials<'_>,
) -> Result<LoggedIn> {
    let row = match LoginId::parse(creds.login_id, "login_id") {
        Ok(login_id) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS}, password_hash, totp_sealed, totp_last_step \
                 FROM operators WHERE login_id = $1"
            )))
            .bind(login_id.as_str())
            .fetch_optional(pool)
            .await?
        }
        Err(_) => None,
    };
    let Some(row) = row else {
        // Same work as a wrong password, so timing does not tell which login ids exist.
        verify_password(
            Zeroizing::new(creds.password.to_owned()),
            mynafleet_kit::keys::password::decoy().to_owned(),
        )
        .await?;
        let mut e = AuditEntry::new(
            &Actor::Service(String::new()),
            meta,
            now,
            "session.login",
            ActionCode::Execute,
        )
        .outcome(Outcome::Failure, "UNKNOWN_LOGIN_ID");
        e.actor_kind = "anonymous";
        e.actor = String::new();
        e.auth_method = auth_method(policy.require_totp);
        audit::append_alone(pool, &e).await?;
        return Err(Error::LoginFailed);
    };
    let mut op = operator(&row)?;
    {
        let mut conn = pool.acquire().await?;
        op.clinics = clinics_between(&mut conn, op.organization, op.id, op.id)
            .await?
            .remove(&op.id)
            .unwrap_or_default();
    }
    if op.state == OperatorState::Locked {
        let e = login_entry(&op, meta, now, "").outcome(Outcome::Failure, "OPERATOR_LOCKED");
        audit::append_alone(pool, &e).await?;
        return Err(Error::OperatorLocked);
    }
    let phc: String = row.try_get("password_hash")?;
    let sealed: Option<Vec<u8>> = row.try_get("totp_sealed")?;
    let last_step: i64 = row.try_get("totp_last_step")?;
    let password_ok = verify_password(Zeroizing::new(creds.password.to_owned()), phc).await?;
    let verdict = if !password_ok {
        Err("PASSWORD_WRONG")
    } else {
        match &sealed {
            None if policy.require_totp => Err("TOTP_NOT_ENROLLED"),
            None => Ok(None),
            Some(_) if creds.totp_code.trim().is_empty() => Err("TOTP_MISSING"),
            Some(sealed) => {
                let secret = TotpSecret::open(totp_key, sealed, op.id)?;
                match secret.verify(creds.totp_code, now)? {
                    None => Err("TOTP_WRONG"),
                    Some(step) if step <= last_step => Err("TOTP_REPLAYED"),
                    Some(step) => Ok(Some(step)),
                }
            }
        }
    };
    let step = match verdict {
        Ok(step) => step,
        Err(reason) => {
            let e = login_entry(&op, meta, now, "").outcome(Outcome::Failure, reason);
            count_failure(pool, now, policy, &op, meta, &e).await?;
            return Err(Error::LoginFailed);
        }
    };
    if op.state == OperatorState::Disabled {
        let e = login_entry(&op, meta, now, "").outcome(Outcome::Failure, "OPERATOR_DISABLED");
        audit::append_alone(pool, &e).await?;
        return Err(Error::OperatorDisabled);
    }
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    // Conditional on the step, so two logins racing with one code cannot both pass.
    let updated = sqlx::query(
        "UPDATE operators SET failed_logins = 0, last_login_time = $1, \
         totp_last_step = CASE WHEN $2 < 0 THEN totp_last_step ELSE $2 END \
         WHERE id = $3 AND locked = 0 AND disabled = 0 AND ($2 < 0 OR totp_last_step < $2)",
    )
    .bind(now)
    .bind(step.unwrap_or(-1))
    .bind(op.id.to_string())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        drop(tx);
        let e = login_entry(&op, meta, now, "").outcome(Outcome::Failure, "TOTP_REPLAYED");
        count_failure(pool, now, policy, &op, meta, &e).await?;
        return Err(Error::LoginFailed);
    }
    let (token, hash) = sessions::new_token()?;
    let token = Zeroizing::new(token);
    let (session_id, expire_time) = sessions::open(&mut tx, op.id, &hash, now, policy).await?;
    op.last_login_time = Some(now);
    let mut e = login_entry(&op, meta, now, &session_id);
    e.auth_method = auth_method(step.is_some());
    audit::append(&mut tx, &e).await?;
    tx.commit().await?;
    Ok(LoggedIn {
        token,
        operator: op,
        session_id,
        expire_time,
    })
}

/// Ends the session of `principal` (logout).
pub async fn logout(pool: &AnyPool, principal: &Principal, audit: AuditEntry) -> Result<()> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    sessions::end(&mut tx, &principal.session_id).await?;
    let audit = audit
        .organization(principal.organization)
        .target(principal.name());
    audit::append(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(())
}

/// Returns when the session `session_id` was opened and when it ends at the latest.
pub async fn session_times(pool: &AnyPool, session_id: &str) -> Result<(i64, i64)> {
    let row = sqlx::query("SELECT create_time, expire_time FROM sessions WHERE id = $1")
        .bind(session_id)
        .fetch_optional(pool)
        .await?
        .ok_or(Error::SessionInvalid)?;
    Ok((row.try_get("create_time")?, row.try_get("expire_time")?))
}

/// Changes the own password of `principal`: the current one must match (a wrong one counts
/// towards the lockout) and the new one meet the operator policy. Clears
/// `must_change_password` and ends the operator's other sessions; this one stays open.
pub async fn change_password(
    pool: &AnyPool,
    now: i64,
    policy: &SessionPolicy,
    principal: &Principal,
    current: Zeroizing<String>,
    new: Zeroizing<String>,
    audit: AuditEntry,
) -> Result<()> {
    password::check_operator(&new)?;
    if *new == *current {
        return Err(Error::PasswordTooWeak(
            "must differ from the current password".into(),
        ));
    }
    let op = get(pool, principal.organization, principal.operator).await?;
    let phc: String = sqlx::query("SELECT password_hash FROM operators WHERE id = $1")
        .bind(op.id.to_string())
        .fetch_one(pool)
        .await?
        .try_get("password_hash")?;
    let audit = audit.organization(op.organization).target(op.name());
    if !verify_password(current, phc).await? {
        let failed = audit.clone().outcome(Outcome::Failure, "PASSWORD_WRONG");
        count_failure(pool, now, policy, &op, &failed.meta, &failed).await?;
        return Err(Error::field(
            "current_password",
            "is not the current password",
        ));
    }
    let hash = hash_password(new).await?;
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    sqlx::query(
        "UPDATE operators SET password_hash = $1, must_change_password = 0, update_time = $2 \
         WHERE id = $3",
    )
    .bind(hash)
    .bind(now)
    .bind(op.id.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE sessions SET ended = 1 WHERE operator_id = $1 AND id <> $2")
        .bind(op.id.to_string())
        .bind(&principal.session_id)
        .execute(&mut *tx)
        .await?;
    audit::append(&mut tx, &audit).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests;
