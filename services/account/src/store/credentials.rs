//! Device credentials: what `AccountInternalService` needs to check a terminal's 機関コード,
//! account ID and password, count and lock failures, change the password, and describe an
//! account's scope for the event stream.
//!
//! Password hashes are read here but never verified here: argon2 runs in the caller, on a
//! blocking thread, outside any transaction. Every write that follows a check is one
//! conditional `UPDATE` plus its audit record in one transaction, so concurrent checks count
//! every failure and a lock or password change between the read and the write is noticed.
//! Nothing here sees a plain password.

use crate::audit::{self, ActionCode, AuditEntry, Outcome};
use crate::clinic::{Clinic, RegistrationNumber};
use crate::device_account::{AccountId, AccountStatus, DeviceAccount, Privilege};
use crate::error::{Error, Result};
use crate::organization::OrganizationId;
use mynafleet_kit::guard::normalize_digits;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use uuid::Uuid;

/// The columns [`scope`] reads, from `device_accounts a JOIN clinics c`.
const SCOPE_COLUMNS: &str = "a.organization_id, a.clinic_id, a.account_id, a.privilege, \
     a.status, a.must_change_password, a.locked, a.password_hash, c.institution_code, \
     c.registration_number, c.display_name, c.home_visit_enabled";

/// What a verified device account may do and where it belongs, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceScope {
    /// The organization.
    pub organization: OrganizationId,
    /// The clinic.
    pub clinic: Uuid,
    /// The account's id.
    pub account_id: AccountId,
    /// The clinic's 機関コード, or its 登録記号番号 when it has none.
    pub institution_code: String,
    /// The clinic's 機関名.
    pub institution_name: String,
    /// The 権限区分.
    pub privilege: Privilege,
    /// The status.
    pub status: AccountStatus,
    /// Whether the generated password must still be changed.
    pub must_change_password: bool,
    /// The clinic's 訪問診療等機能.
    pub home_visit_enabled: bool,
}

impl DeviceScope {
    /// Returns the scope of `account` at `clinic` from values already in hand (an account
    /// just issued or reset), without reading the store.
    pub fn of(clinic: &Clinic, account: &DeviceAccount) -> Self {
        Self {
            organization: account.name.clinic.organization,
            clinic: account.name.clinic.clinic,
            account_id: account.name.id,
            institution_code: clinic.institution_shown().to_owned(),
            institution_name: clinic.display_name.as_str().to_owned(),
            privilege: account.privilege,
            status: account.status,
            must_change_password: account.must_change_password,
            home_visit_enabled: clinic.home_visit_enabled,
        }
    }

    /// Returns the account's resource name.
    pub fn account_name(&self) -> String {
        format!("{}/accounts/{}", self.clinic_name(), self.account_id)
    }

    /// Returns the clinic's resource name.
    pub fn clinic_name(&self) -> String {
        format!(
            "organizations/{}/clinics/{}",
            self.organization.stored(),
            self.clinic
        )
    }
}

/// A device account found by its credentials, before its password is checked.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The account's scope.
    pub scope: DeviceScope,
    /// The stored argon2id hash (verify it off the async threads).
    pub password_hash: String,
    /// Whether failed checks locked it.
    pub locked: bool,
}

/// What a credential look-up found.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// No clinic has that 機関コード or 登録記号番号.
    NoInstitution,
    /// The clinic exists but has no such account.
    NoAccount {
        /// The clinic's organization.
        organization: OrganizationId,
        /// The clinic.
        clinic: Uuid,
    },
    /// The account.
    Found(Box<Candidate>),
}

fn decode(what: &str) -> Error {
    Error::Db(sqlx::Error::Decode(format!("bad stored {what}").into()))
}

fn scope(row: &AnyRow) -> Result<DeviceScope> {
    let org: String = row.try_get("organization_id")?;
    let clinic: String = row.try_get("clinic_id")?;
    let code: Option<String> = row.try_get("institution_code")?;
    let registration: Option<String> = row.try_get("registration_number")?;
    Ok(DeviceScope {
        organization: OrganizationId::from_stored(&org).ok_or_else(|| decode("organization id"))?,
        clinic: Uuid::parse_str(&clinic).map_err(|_| decode("clinic id"))?,
        account_id: AccountId::parse(&row.try_get::<String, _>("account_id")?, "account_id")
            .map_err(|_| decode("account id"))?,
        institution_code: code.or(registration).unwrap_or_default(),
        institution_name: row.try_get("display_name")?,
        privilege: Privilege::from_stored(&row.try_get::<String, _>("privilege")?)
            .ok_or_else(|| decode("privilege"))?,
        status: AccountStatus::from_stored(&row.try_get::<String, _>("status")?)
            .ok_or_else(|| decode("account status"))?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        home_visit_enabled: row.try_get::<i64, _>("home_visit_enabled")? != 0,
    })
}

/// Finds the account `account_id` of the clinic whose `institution_key` is the first of
/// `keys` that names a clinic (a 機関コード before an `R`-prefixed 登録記号番号).
/// A malformed `account_id` (`None`) finds no account.
pub async fn find(
    pool: &AnyPool,
    keys: &[String],
    account_id: Option<AccountId>,
) -> Result<Lookup> {
    let mut clinic = None;
    for key in keys {
        clinic = sqlx::query("SELECT id, organization_id FROM clinics WHERE institution_key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await?;
        if clinic.is_some() {
            break;
        }
    }
    let Some(clinic) = clinic else {
        return Ok(Lookup::NoInstitution);
    };
    let clinic_id: String = clinic.try_get("id")?;
    let org: String = clinic.try_get("organization_id")?;
    let row = match account_id {
        Some(account_id) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {SCOPE_COLUMNS} FROM device_accounts a \
                 JOIN clinics c ON c.id = a.clinic_id \
                 WHERE a.organization_id = $1 AND a.account_id = $2 AND a.clinic_id = $3"
            )))
            .bind(&org)
            .bind(account_id.as_stored())
            .bind(&clinic_id)
            .fetch_optional(pool)
            .await?
        }
        None => None,
    };
    let Some(row) = row else {
        return Ok(Lookup::NoAccount {
            organization: OrganizationId::from_stored(&org)
                .ok_or_else(|| decode("organization id"))?,
            clinic: Uuid::parse_str(&clinic_id).map_err(|_| decode("clinic id"))?,
        });
    };
    Ok(Lookup::Found(Box::new(Candidate {
        scope: scope(&row)?,
        password_hash: row.try_get("password_hash")?,
        locked: row.try_get::<i64, _>("locked")? != 0,
    })))
}

/// Counts a failed check of `account` and writes `audit` with it; at `max_failed` failures
/// in a row the account locks, and `lock_audit` is written too. Returns whether the
/// account is now locked. A failure against an account that is already locked is audited
/// but not counted (the lock is what matters, and only one statement flips it).
pub async fn record_failure(
    pool: &AnyPool,
    account: &DeviceScope,
    max_failed: u32,
    now: i64,
    audit: &AuditEntry,
    lock_audit: &AuditEntry,
) -> Result<bool> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    // The lock flips inside the same statement as the count, so two concurrent failures
    // cannot both see "one below the limit" and leave the account open; `locked = 0` in
    // the condition makes exactly one statement the one that locks.
    let row = sqlx::query(
        "UPDATE device_accounts SET failed_checks = failed_checks + 1, \
         locked = CASE WHEN failed_checks + 1 >= $1 THEN 1 ELSE 0 END, \
         revision = revision + CASE WHEN failed_checks + 1 >= $1 THEN 1 ELSE 0 END, \
         update_time = CASE WHEN failed_checks + 1 >= $1 THEN $2 ELSE update_time END \
         WHERE organization_id = $3 AND account_id = $4 AND locked = 0 \
         RETURNING locked",
    )
    .bind(i64::from(max_failed.max(1)))
    .bind(now)
    .bind(account.organization.stored())
    .bind(account.account_id.as_stored())
    .fetch_optional(&mut *tx)
    .await?;
    audit::append(&mut tx, audit).await?;
    let locked_now = match row {
        Some(row) if row.try_get::<i64, _>("locked")? != 0 => {
            audit::append(&mut tx, lock_audit).await?;
            true
        }
        Some(_) => false,
        None => true,
    };
    tx.commit().await?;
    Ok(locked_now)
}

/// Records a successful check: clears the failure count and writes `audit`, unless the
/// account locked or its password changed since `password_hash` was read.
pub async fn record_success(
    pool: &AnyPool,
    account: &DeviceScope,
    password_hash: &str,
    audit: &AuditEntry,
) -> Result<()> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE device_accounts SET failed_checks = 0 \
         WHERE organization_id = $1 AND account_id = $2 AND locked = 0 AND password_hash = $3",
    )
    .bind(account.organization.stored())
    .bind(account.account_id.as_stored())
    .bind(password_hash)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(raced(&mut tx, account).await?);
    }
    audit::append(&mut tx, audit).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces the password of `account` (read with hash `old_hash`) by `new_hash`, clears
/// `must_change_password` and the failure count, writes `audit`, and returns the new scope.
pub async fn change_password(
    pool: &AnyPool,
    account: &DeviceScope,
    old_hash: &str,
    new_hash: &str,
    now: i64,
    audit: &AuditEntry,
) -> Result<DeviceScope> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    let done = sqlx::query(
        "UPDATE device_accounts SET password_hash = $1, must_change_password = 0, \
         failed_checks = 0, revision = revision + 1, update_time = $2 \
         WHERE organization_id = $3 AND account_id = $4 AND locked = 0 AND password_hash = $5",
    )
    .bind(new_hash)
    .bind(now)
    .bind(account.organization.stored())
    .bind(account.account_id.as_stored())
    .bind(old_hash)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Err(raced(&mut tx, account).await?);
    }
    audit::append(&mut tx, audit).await?;
    let scope = read_scope(&mut tx, account.organization, account.account_id)
        .await?
        .ok_or_else(|| decode("device account"))?;
    tx.commit().await?;
    Ok(scope)
}

/// Tells why a conditional write after a good password matched nothing: the account locked
/// meanwhile, or its password changed (so the password checked is no longer valid).
async fn raced(conn: &mut AnyConnection, account: &DeviceScope) -> Result<Error> {
    let locked = sqlx::query(
        "SELECT locked FROM device_accounts WHERE organization_id = $1 AND account_id = $2",
    )
    .bind(account.organization.stored())
    .bind(account.account_id.as_stored())
    .fetch_optional(conn)
    .await?
    .map(|r| r.try_get::<i64, _>("locked"))
    .transpose()?;
    Ok(if locked == Some(1) {
        Error::DeviceAccountLocked
    } else {
        Error::CredentialsInvalid
    })
}

async fn read_scope(
    conn: &mut AnyConnection,
    organization: OrganizationId,
    account_id: AccountId,
) -> Result<Option<DeviceScope>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SCOPE_COLUMNS} FROM device_accounts a JOIN clinics c ON c.id = a.clinic_id \
         WHERE a.organization_id = $1 AND a.account_id = $2"
    )))
    .bind(organization.stored())
    .bind(account_id.as_stored())
    .fetch_optional(conn)
    .await?
    .map(|r| scope(&r))
    .transpose()
}

/// Returns the current scope of one account (`None` when it does not exist).
pub async fn account_scope(
    pool: &AnyPool,
    organization: OrganizationId,
    account_id: AccountId,
) -> Result<Option<DeviceScope>> {
    let mut conn = pool.acquire().await?;
    read_scope(&mut conn, organization, account_id).await
}

/// Returns the current scope of every account of a clinic, in account id order.
pub async fn clinic_scopes(pool: &AnyPool, clinic: Uuid) -> Result<Vec<DeviceScope>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SCOPE_COLUMNS} FROM device_accounts a JOIN clinics c ON c.id = a.clinic_id \
         WHERE a.clinic_id = $1 ORDER BY a.account_id"
    )))
    .bind(clinic.to_string())
    .fetch_all(pool)
    .await?
    .iter()
    .map(scope)
    .collect()
}

/// Returns the `institution_key`s a typed 機関コード or 登録記号番号 may stand for, most
/// likely first: the 10-digit 機関コード (full-width digits, spaces and hyphens folded), then
/// `R` + the 登録記号番号 a 施術所 may be keyed by.
pub fn institution_keys(typed: &str) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    let digits = normalize_digits(typed.trim());
    if digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()) {
        keys.push(digits);
    }
    if let Ok(number) = RegistrationNumber::parse(typed.trim(), "institution_code") {
        keys.push(format!("R{}", number.as_str()));
    }
    keys
}

/// Parses a typed account ID leniently (full-width characters, a lower-case `w`, spaces);
/// `None` when it cannot be one.
pub fn typed_account_id(typed: &str) -> Option<AccountId> {
    let folded: String = normalize_digits(typed.trim())
        .chars()
        .map(|c| match c {
            'w' | 'Ｗ' | 'ｗ' => 'W',
            other => other,
        })
        .collect();
    AccountId::parse(&folded, "account_id").ok()
}

/// Credentials as a terminal typed them (relayed by the calling service).
#[derive(Clone, Copy)]
pub struct Attempt<'a> {
    /// 機関コード or 登録記号番号.
    pub institution_code: &'a str,
    /// `W…`.
    pub account_id: &'a str,
    /// The password; never logged or stored.
    pub password: &'a str,
}

impl std::fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attempt")
            .field("institution_code", &self.institution_code)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// What the rules of a check are.
#[derive(Clone, Copy, Debug)]
pub struct CheckPolicy {
    /// Failed checks in a row that lock the account.
    pub max_failed: u32,
    /// "Now", µs since the Unix epoch.
    pub now: i64,
}

/// Audit reasons of failed checks (the caller only ever sees CREDENTIALS_INVALID or
/// DEVICE_ACCOUNT_LOCKED; the organization's auditors see which part was wrong).
pub mod reason {
    /// No clinic has the 機関コード.
    pub const UNKNOWN_INSTITUTION: &str = "UNKNOWN_INSTITUTION";
    /// The clinic has no such account.
    pub const UNKNOWN_ACCOUNT: &str = "UNKNOWN_ACCOUNT";
    /// The password was wrong.
    pub const WRONG_PASSWORD: &str = "WRONG_PASSWORD";
    /// The account is locked.
    pub const DEVICE_ACCOUNT_LOCKED: &str = "DEVICE_ACCOUNT_LOCKED";
}

/// Returns a copy of the template `audit` with an id of its own (every record needs one).
fn record(audit: &AuditEntry) -> AuditEntry {
    let mut entry = audit.clone();
    entry.id = Uuid::now_v7();
    entry
}

async fn verify_hash(password: &str, hash: String) -> Result<bool> {
    let password = zeroize::Zeroizing::new(password.to_owned());
    tokio::task::spawn_blocking(move || mynafleet_kit::keys::password::verify(&password, &hash))
        .await
        .map_err(|e| Error::Secret(format!("verify task: {e}")))
}

/// Checks `attempt`, counting and auditing every failure (with `audit` as the template:
/// actor, request facts, action). An unknown 機関コード or account costs the same argon2
/// work as a wrong password and fails the same way. Success writes nothing.
async fn check(
    pool: &AnyPool,
    attempt: Attempt<'_>,
    policy: CheckPolicy,
    audit: &AuditEntry,
) -> Result<Candidate> {
    let keys = institution_keys(attempt.institution_code);
    let account_id = typed_account_id(attempt.account_id);
    let failed = |entry: AuditEntry, reason: &str| entry.outcome(Outcome::Failure, reason);
    let found = match find(pool, &keys, account_id).await? {
        Lookup::Found(c) => c,
        Lookup::NoInstitution => {
            verify_hash(
                attempt.password,
                mynafleet_kit::keys::password::decoy().to_owned(),
            )
            .await?;
            audit::append_alone(pool, &failed(record(audit), reason::UNKNOWN_INSTITUTION)).await?;
            return Err(Error::CredentialsInvalid);
        }
        Lookup::NoAccount {
            organization,
            clinic,
        } => {
            verify_hash(
                attempt.password,
                mynafleet_kit::keys::password::decoy().to_owned(),
            )
            .await?;
            let clinic = format!("organizations/{}/clinics/{clinic}", organization.stored());
            // Only a well-formed id is recorded: the field is free text until parsed.
            let target = account_id
                .map(|id| format!("{clinic}/accounts/{id}"))
                .unwrap_or_default();
            let entry = record(audit)
                .organization(organization)
                .clinic(clinic)
                .target(target);
            audit::append_alone(pool, &failed(entry, reason::UNKNOWN_ACCOUNT)).await?;
            return Err(Error::CredentialsInvalid);
        }
    };
    let scoped = record(audit)
        .organization(found.scope.organization)
        .clinic(found.scope.clinic_name())
        .target(found.scope.account_name());
    if found.locked {
        audit::append_alone(pool, &failed(scoped, reason::DEVICE_ACCOUNT_LOCKED)).await?;
        return Err(Error::DeviceAccountLocked);
    }
    if !verify_hash(attempt.password, found.password_hash.clone()).await? {
        let mut lock = record(&scoped);
        lock.action = "device_account.lock";
        lock.action_code = ActionCode::Update;
        record_failure(
            pool,
            &found.scope,
            policy.max_failed,
            policy.now,
            &failed(scoped, reason::WRONG_PASSWORD),
            &lock,
        )
        .await?;
        return Err(Error::CredentialsInvalid);
    }
    Ok(*found)
}

/// Verifies a terminal's credentials (`VerifyDeviceCredentials`): every failure is counted
/// and audited, success clears the count and is audited. A SUSPENDED or ENDED account still
/// verifies; its scope says so and the caller decides.
pub async fn verify(
    pool: &AnyPool,
    attempt: Attempt<'_>,
    policy: CheckPolicy,
    audit: &AuditEntry,
) -> Result<DeviceScope> {
    let found = check(pool, attempt, policy, audit).await?;
    let entry = record(audit)
        .organization(found.scope.organization)
        .clinic(found.scope.clinic_name())
        .target(found.scope.account_name());
    record_success(pool, &found.scope, &found.password_hash, &entry).await?;
    Ok(found.scope)
}

/// Changes a device password after checking the current one exactly as [`verify`] does
/// (failures counted and audited under `audit`'s action). The caller checked the new
/// password's policy. Clears `must_change_password` and returns the new scope.
pub async fn change(
    pool: &AnyPool,
    attempt: Attempt<'_>,
    new_password: &str,
    policy: CheckPolicy,
    audit: &AuditEntry,
) -> Result<DeviceScope> {
    let found = check(pool, attempt, policy, audit).await?;
    let new = zeroize::Zeroizing::new(new_password.to_owned());
    let new_hash = tokio::task::spawn_blocking(move || {
        mynafleet_kit::keys::password::hash(&new).map_err(Error::Secret)
    })
    .await
    .map_err(|e| Error::Secret(format!("hash task: {e}")))??;
    let entry = record(audit)
        .organization(found.scope.organization)
        .clinic(found.scope.clinic_name())
        .target(found.scope.account_name());
    change_password(
        pool,
        &found.scope,
        &found.password_hash,
        &new_hash,
        policy.now,
        &entry,
    )
    .await
}

#[cfg(test)]
pub(crate) mod tests;
