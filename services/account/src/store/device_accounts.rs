//! Device accounts in the store: issue (W ids from the organization's counter row), reads,
//! scoped lists in ID order, and the status transitions 利用可 ⇄ 停止 → 利用終了 as
//! conditional UPDATEs, each with its account event and audit record in one transaction.
//!
//! Only argon2id hashes of passwords are written here; the plain passwords stay with the
//! caller, which shows them once.

use super::clinics::{self, in_list, page_end};
use super::events::{self, EventKind};
use super::{Idempotent, claim, finish};
use crate::audit::{self, ActionCode, AuditEntry};
use crate::clinic::Clinic;
use crate::device_account::{
    AccountId, AccountName, AccountStatus, DeviceAccount, JapanDate, Note, Privilege,
};
use crate::error::{Error, Result};
use crate::names::ClinicName;
use crate::organization::OrganizationId;
use mynafleet_kit::idempotency::RequestKey;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use uuid::Uuid;

/// The columns [`account`] reads, from `device_accounts a JOIN clinics c`.
const COLUMNS: &str = "a.organization_id, a.account_id, a.clinic_id, a.privilege, a.status, \
     a.start_date, a.suspend_date, a.end_date, a.note, a.must_change_password, a.locked, \
     a.revision, a.create_time, a.update_time, c.institution_code, c.registration_number";

const FROM: &str = "device_accounts a JOIN clinics c ON c.id = a.clinic_id";

/// The error of an account that does not exist (where the name says).
pub(crate) fn not_found() -> Error {
    Error::NotFound {
        reason: "DEVICE_ACCOUNT_NOT_FOUND",
        what: "device account",
    }
}

fn decode(what: &str) -> Error {
    Error::Db(sqlx::Error::Decode(format!("bad stored {what}").into()))
}

fn account(row: &AnyRow) -> Result<DeviceAccount> {
    let org: String = row.try_get("organization_id")?;
    let clinic: String = row.try_get("clinic_id")?;
    let id: String = row.try_get("account_id")?;
    let code: Option<String> = row.try_get("institution_code")?;
    let registration: Option<String> = row.try_get("registration_number")?;
    Ok(DeviceAccount {
        name: AccountName {
            clinic: ClinicName {
                organization: OrganizationId::from_stored(&org)
                    .ok_or_else(|| decode("organization id"))?,
                clinic: Uuid::parse_str(&clinic).map_err(|_| decode("clinic id"))?,
            },
            id: AccountId::parse(&id, "account_id").map_err(|_| decode("account id"))?,
        },
        privilege: Privilege::from_stored(&row.try_get::<String, _>("privilege")?)
            .ok_or_else(|| decode("privilege"))?,
        status: AccountStatus::from_stored(&row.try_get::<String, _>("status")?)
            .ok_or_else(|| decode("account status"))?,
        start_date: row.try_get("start_date")?,
        suspend_date: row.try_get("suspend_date")?,
        end_date: row.try_get("end_date")?,
        note: Note::from_stored(row.try_get("note")?),
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        locked: row.try_get::<i64, _>("locked")? != 0,
        institution_code: code.or(registration).unwrap_or_default(),
        revision: row.try_get("revision")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Reads account `name` on `conn`.
pub(crate) async fn account_on(
    conn: &mut AnyConnection,
    name: AccountName,
) -> Result<DeviceAccount> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE a.organization_id = $1 AND a.account_id = $2 AND a.clinic_id = $3"
    )))
    .bind(name.clinic.organization.stored())
    .bind(name.id.as_stored())
    .bind(name.clinic.clinic.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or_else(not_found)?;
    account(&row)
}

/// The name of the counter row that allocates `org`'s W ids.
fn counter(org: OrganizationId) -> String {
    format!("accounts/{}", org.stored())
}

/// Accounts just issued, with their clinic (for the sheets).
#[derive(Clone, Debug)]
pub struct Issued {
    /// The clinic they belong to.
    pub clinic: Clinic,
    /// The accounts, in ID order.
    pub accounts: Vec<DeviceAccount>,
}

/// Issues one account per hash in `hashes` at clinic `name`, on `conn` (a transaction).
///
/// The organization's counter row is bumped first, by the whole count at once, so the ids
/// are consecutive and concurrent issuers queue behind the row lock (PostgreSQL) or the write
/// lock (SQLite). Each account gets an `Issued` event and a `device_account.issue` audit
/// record made from `template`.
pub(crate) async fn issue_on(
    conn: &mut AnyConnection,
    name: ClinicName,
    privilege: Privilege,
    note: &Note,
    hashes: &[String],
    now: i64,
    template: &AuditEntry,
) -> Result<Issued> {
    let n = i64::try_from(hashes.len()).unwrap_or(i64::MAX);
    let last: i64 = sqlx::query(
        "INSERT INTO counters (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + $2 RETURNING value",
    )
    .bind(counter(name.organization))
    .bind(n)
    .fetch_one(&mut *conn)
    .await?
    .try_get("value")?;
    AccountId::from_counter(last)?;
    let clinic = clinics::clinic_on(&mut *conn, name).await?;
    privilege.check_clinic(clinic.home_visit_enabled)?;
    let start_date = JapanDate::at(now).as_stored();
    let mut accounts = Vec::with_capacity(hashes.len());
    for (offset, hash) in (0..n).zip(hashes) {
        let id = AccountId::from_counter(last - n + 1 + offset)?;
        sqlx::query(
            "INSERT INTO device_accounts (organization_id, account_id, clinic_id, privilege, \
             status, start_date, suspend_date, end_date, note, password_hash, \
             must_change_password, failed_checks, locked, revision, create_time, update_time) \
             VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, $7, $8, 1, 0, 0, 1, $9, $9)",
        )
        .bind(name.organization.stored())
        .bind(id.as_stored())
        .bind(name.clinic.to_string())
        .bind(privilege.as_stored())
        .bind(AccountStatus::Available.as_stored())
        .bind(&start_date)
        .bind(note.as_str())
        .bind(hash)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let account_name = AccountName { clinic: name, id };
        events::append(
            &mut *conn,
            EventKind::Issued,
            &name.organization.stored(),
            &name.clinic.to_string(),
            &id.as_stored(),
            now,
        )
        .await?;
        audit::append(
            &mut *conn,
            &derived(
                template,
                "device_account.issue",
                ActionCode::Create,
                &account_name,
            ),
        )
        .await?;
        accounts.push(DeviceAccount {
            name: account_name,
            privilege,
            status: AccountStatus::Available,
            start_date: start_date.clone(),
            suspend_date: None,
            end_date: None,
            note: note.clone(),
            must_change_password: true,
            locked: false,
            institution_code: clinic.institution_shown().to_owned(),
            revision: 1,
            create_time: now,
            update_time: now,
        });
    }
    Ok(Issued { clinic, accounts })
}

/// Returns `template` as a record of `action` on account `name` (a fresh record id).
fn derived(
    template: &AuditEntry,
    action: &'static str,
    code: ActionCode,
    name: &AccountName,
) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        action,
        action_code: code,
        ..template.clone()
    }
    .organization(name.clinic.organization)
    .clinic(name.clinic.name())
    .target(name.name())
}

/// Issues one account with password hash `password_hash` (CreateDeviceAccount); with a
/// request key, a repeat returns the first response. `audit` is its `device_account.issue`
/// record.
#[allow(
    clippy::too_many_arguments,
    reason = "one store call per RPC keeps the transaction in one place"
)]
pub async fn create_device_account(
    pool: &AnyPool,
    now: i64,
    clinic: ClinicName,
    privilege: Privilege,
    note: &Note,
    password_hash: String,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Issued) -> Vec<u8>,
) -> Result<Idempotent<Issued>> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    let issued = issue_on(
        &mut tx,
        clinic,
        privilege,
        note,
        &[password_hash],
        now,
        &audit,
    )
    .await?;
    finish(tx, key, issued, encode).await
}

/// Returns one account.
pub async fn get_device_account(pool: &AnyPool, name: AccountName) -> Result<DeviceAccount> {
    let mut conn = pool.acquire().await?;
    account_on(&mut conn, name).await
}

/// Which accounts a list returns.
#[derive(Clone, Copy, Debug)]
pub struct AccountListing<'a> {
    /// The organization.
    pub organization: OrganizationId,
    /// One clinic, or `None` for every clinic of the organization.
    pub clinic: Option<Uuid>,
    /// Only these clinics (a clinic_admin's), when given.
    pub only: Option<&'a [Uuid]>,
    /// Only accounts in this status, when given.
    pub status: Option<AccountStatus>,
}

/// Returns up to `limit` accounts of `listing` after `after`, in ID order, and the id to
/// continue after when there are more.
pub async fn list_device_accounts(
    pool: &AnyPool,
    listing: &AccountListing<'_>,
    after: Option<AccountId>,
    limit: u32,
) -> Result<(Vec<DeviceAccount>, Option<AccountId>)> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE a.organization_id = $1 AND a.account_id > $2 \
         AND ($3 = '' OR a.clinic_id = $3) AND ($4 = '' OR a.status = $4){} \
         ORDER BY a.account_id LIMIT $5",
        in_list("a.clinic_id", listing.only, 6)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(listing.organization.stored())
        .bind(after.map(AccountId::as_stored).unwrap_or_default())
        .bind(listing.clinic.map(|c| c.to_string()).unwrap_or_default())
        .bind(
            listing
                .status
                .map(AccountStatus::as_stored)
                .unwrap_or_default(),
        )
        .bind(i64::from(limit) + 1);
    for id in listing.only.unwrap_or_default() {
        q = q.bind(id.to_string());
    }
    let rows = q.fetch_all(pool).await?;
    let mut accounts = rows.iter().map(account).collect::<Result<Vec<_>>>()?;
    let next = page_end(&mut accounts, limit).map(|a| a.name.id);
    Ok((accounts, next))
}

/// Explains why `name`'s status did not allow a change: not found, or a state conflict.
async fn refusal(conn: &mut AnyConnection, name: AccountName, wanted: &str) -> Error {
    match account_on(conn, name).await {
        Ok(a) => Error::Precondition {
            reason: "ACCOUNT_STATE_CONFLICT",
            message: format!(
                "{} is {}; {wanted}",
                a.name.id,
                a.status.as_stored().to_uppercase()
            ),
        },
        Err(e) => e,
    }
}

/// What a conditional account update sets and requires.
struct Change<'a> {
    /// `SET` clauses after the revision bump; `$5` is `value` when given.
    set: &'a str,
    /// A condition on the row's status, or "" for none.
    when: &'a str,
    /// Bound as `$5`.
    value: Option<String>,
    /// What a refusal says a person should know.
    wanted: &'a str,
    /// The event to publish.
    event: Option<EventKind>,
}

/// Applies `change` to account `name` in one conditional UPDATE, with its event and audit,
/// and returns the account as it is now.
async fn apply(
    conn: &mut AnyConnection,
    now: i64,
    name: AccountName,
    change: Change<'_>,
    audit: &AuditEntry,
) -> Result<DeviceAccount> {
    let sql = format!(
        "UPDATE device_accounts SET revision = revision + 1, update_time = $1, {} \
         WHERE organization_id = $2 AND clinic_id = $3 AND account_id = $4{}",
        change.set, change.when
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(name.clinic.organization.stored())
        .bind(name.clinic.clinic.to_string())
        .bind(name.id.as_stored());
    if let Some(v) = change.value {
        q = q.bind(v);
    }
    if q.execute(&mut *conn).await?.rows_affected() != 1 {
        return Err(refusal(conn, name, change.wanted).await);
    }
    if let Some(kind) = change.event {
        events::append(
            &mut *conn,
            kind,
            &name.clinic.organization.stored(),
            &name.clinic.clinic.to_string(),
            &name.id.as_stored(),
            now,
        )
        .await?;
    }
    let audit = audit
        .clone()
        .organization(name.clinic.organization)
        .clinic(name.clinic.name())
        .target(name.name());
    audit::append(&mut *conn, &audit).await?;
    account_on(conn, name).await
}

/// Runs `change` as its own idempotent transaction.
async fn change_alone(
    pool: &AnyPool,
    now: i64,
    name: AccountName,
    change: Change<'_>,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&DeviceAccount) -> Vec<u8>,
) -> Result<Idempotent<DeviceAccount>> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    let account = apply(&mut tx, now, name, change, &audit).await?;
    finish(tx, key, account, encode).await
}

/// 利用可 → 停止, setting 利用停止年月日 to today (Japan time).
pub async fn suspend_device_account(
    pool: &AnyPool,
    now: i64,
    name: AccountName,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&DeviceAccount) -> Vec<u8>,
) -> Result<Idempotent<DeviceAccount>> {
    let change = Change {
        set: "status = 'suspended', suspend_date = $5",
        when: " AND status = 'available'",
        value: Some(JapanDate::at(now).as_stored()),
        wanted: "only an AVAILABLE account can be suspended",
        event: Some(EventKind::Suspended),
    };
    change_alone(pool, now, name, change, audit, key, encode).await
}

/// 停止 → 利用可 (利用停止年月日 stays, as the date of the latest suspension).
pub async fn resume_device_account(
    pool: &AnyPool,
    now: i64,
    name: AccountName,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&DeviceAccount) -> Vec<u8>,
) -> Result<Idempotent<DeviceAccount>> {
    let change = Change {
        set: "status = 'available'",
        when: " AND status = 'suspended'",
        value: None,
        wanted: "only a SUSPENDED account can be resumed",
        event: Some(EventKind::Resumed),
    };
    change_alone(pool, now, name, change, audit, key, encode).await
}

/// Ends account `name` on `conn` (an approved 解除申請): 利用終了, with 利用終了年月日 today.
/// `template` makes its `device_account.end` audit record.
pub(crate) async fn end_on(
    conn: &mut AnyConnection,
    now: i64,
    name: AccountName,
    template: &AuditEntry,
) -> Result<DeviceAccount> {
    let change = Change {
        set: "status = 'ended', end_date = $5",
        when: " AND status <> 'ended'",
        value: Some(JapanDate::at(now).as_stored()),
        wanted: "it has already ended",
        event: Some(EventKind::Ended),
    };
    let audit = derived(template, "device_account.end", ActionCode::Delete, &name);
    apply(conn, now, name, change, &audit).await
}

/// Replaces the password of account `name` with `password_hash` (a new generated one, which
/// must be changed at the next activation); refused once the account has ended.
pub async fn reset_device_account_password(
    pool: &AnyPool,
    now: i64,
    name: AccountName,
    password_hash: String,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Issued) -> Vec<u8>,
) -> Result<Idempotent<Issued>> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    let change = Change {
        set: "password_hash = $5, must_change_password = 1, failed_checks = 0",
        when: " AND status <> 'ended'",
        value: Some(password_hash),
        wanted: "an ENDED account gets no new password",
        event: Some(EventKind::PasswordReset),
    };
    let account = apply(&mut tx, now, name, change, &audit).await?;
    let clinic = clinics::clinic_on(&mut tx, name.clinic).await?;
    let issued = Issued {
        clinic,
        accounts: vec![account],
    };
    finish(tx, key, issued, encode).await
}

/// Clears the lock and the failure count that password checks left on account `name`.
pub async fn unlock_device_account(
    pool: &AnyPool,
    now: i64,
    name: AccountName,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&DeviceAccount) -> Vec<u8>,
) -> Result<Idempotent<DeviceAccount>> {
    let change = Change {
        set: "locked = 0, failed_checks = 0",
        when: "",
        value: None,
        wanted: "",
        event: None,
    };
    change_alone(pool, now, name, change, audit, key, encode).await
}

/// Sets 備考 of account `name`; `expected_revision` (from an etag) refuses a lost update.
#[allow(
    clippy::too_many_arguments,
    reason = "one store call per RPC keeps the transaction in one place"
)]
pub async fn update_device_account(
    pool: &AnyPool,
    now: i64,
    name: AccountName,
    note: &Note,
    expected_revision: Option<i64>,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&DeviceAccount) -> Vec<u8>,
) -> Result<Idempotent<DeviceAccount>> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    let revision = expected_revision.unwrap_or(-1);
    let change = Change {
        set: "note = $5",
        when: &format!(" AND ({revision} < 0 OR revision = {revision})"),
        value: Some(note.as_str().to_owned()),
        wanted: "",
        event: None,
    };
    let result = apply(&mut tx, now, name, change, &audit).await;
    let account = match result {
        // With no status condition, a refusal of an existing account is a stale etag.
        Err(Error::Precondition { .. }) => return Err(Error::EtagMismatch),
        other => other?,
    };
    finish(tx, key, account, encode).await
}

#[cfg(test)]
mod tests;
