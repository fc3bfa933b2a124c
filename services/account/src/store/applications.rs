//! Applications in the store: submit (with the facility check and the START/ADDITION
//! ordering rules), the 申請状況 list newest first, and review. Approval issues or ends the
//! accounts and completes the application in one transaction, so an application is never
//! COMPLETED without its accounts, nor accounts issued for one that is not.

use super::clinics::{self, in_list, page_end};
use super::device_accounts::{self, Issued};
use super::{Idempotent, claim, finish};
use crate::application::{
    Application, ApplicationBody, ApplicationFilter, ApplicationKind, ApplicationName,
    ApplicationStatus, NewApplication, RejectReason,
};
use crate::audit::{self, AuditEntry};
use crate::clinic::Clinic;
use crate::device_account::{AccountId, AccountName, AccountStatus, DeviceAccount, Note};
use crate::error::{Error, Result};
use crate::names::ClinicName;
use crate::organization::OrganizationId;
use mynafleet_kit::idempotency::RequestKey;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use uuid::Uuid;

const COLUMNS: &str = "p.id, p.organization_id, p.clinic_id, p.kind, p.status, \
     p.staff_count, p.device_count, p.privilege, p.accounts, p.result_accounts, \
     p.reject_reason, p.submitter, p.reviewer, p.submit_time, p.review_time, \
     p.complete_time, c.institution_code, c.registration_number";

const FROM: &str = "applications p JOIN clinics c ON c.id = p.clinic_id";

/// The error of an application that does not exist (where the name says).
fn not_found() -> Error {
    Error::NotFound {
        reason: "APPLICATION_NOT_FOUND",
        what: "application",
    }
}

fn decode(what: &str) -> Error {
    Error::Db(sqlx::Error::Decode(format!("bad stored {what}").into()))
}

fn ids(stored: &str) -> Result<Vec<AccountId>> {
    stored
        .split_whitespace()
        .map(|s| AccountId::parse(s, "accounts").map_err(|_| decode("account id")))
        .collect()
}

fn joined(ids: &[AccountId]) -> String {
    ids.iter()
        .map(|id| id.as_stored())
        .collect::<Vec<_>>()
        .join(" ")
}

fn count(row: &AnyRow, column: &str) -> Result<Option<i32>> {
    row.try_get::<Option<i64>, _>(column)?
        .map(|n| i32::try_from(n).map_err(|_| decode(column)))
        .transpose()
}

fn application(row: &AnyRow) -> Result<Application> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("organization_id")?;
    let clinic: String = row.try_get("clinic_id")?;
    let code: Option<String> = row.try_get("institution_code")?;
    let registration: Option<String> = row.try_get("registration_number")?;
    let privilege: Option<String> = row.try_get("privilege")?;
    Ok(Application {
        name: ApplicationName {
            clinic: ClinicName {
                organization: OrganizationId::from_stored(&org)
                    .ok_or_else(|| decode("organization id"))?,
                clinic: Uuid::parse_str(&clinic).map_err(|_| decode("clinic id"))?,
            },
            id: Uuid::parse_str(&id).map_err(|_| decode("application id"))?,
        },
        kind: ApplicationKind::from_stored(&row.try_get::<String, _>("kind")?)
            .ok_or_else(|| decode("application kind"))?,
        status: ApplicationStatus::from_stored(&row.try_get::<String, _>("status")?)
            .ok_or_else(|| decode("application status"))?,
        staff_count: count(row, "staff_count")?,
        device_count: count(row, "device_count")?,
        privilege: privilege
            .map(|p| {
                crate::device_account::Privilege::from_stored(&p).ok_or_else(|| decode("privilege"))
            })
            .transpose()?,
        accounts: ids(&row.try_get::<String, _>("accounts")?)?,
        result_accounts: ids(&row.try_get::<String, _>("result_accounts")?)?,
        reject_reason: row.try_get("reject_reason")?,
        submitter: row.try_get("submitter")?,
        reviewer: row.try_get("reviewer")?,
        submit_time: row.try_get("submit_time")?,
        review_time: row.try_get("review_time")?,
        complete_time: row.try_get("complete_time")?,
        institution_code: code.or(registration).unwrap_or_default(),
    })
}

async fn application_on(conn: &mut AnyConnection, name: ApplicationName) -> Result<Application> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE p.id = $1 AND p.organization_id = $2 AND p.clinic_id = $3"
    )))
    .bind(name.id.to_string())
    .bind(name.clinic.organization.stored())
    .bind(name.clinic.clinic.to_string())
    .fetch_optional(conn)
    .await?
    .ok_or_else(not_found)?;
    application(&row)
}

/// Returns whether clinic `name` has a 利用開始申請 that was approved (other than `except`).
async fn started(conn: &mut AnyConnection, name: ClinicName, except: Option<Uuid>) -> Result<bool> {
    Ok(sqlx::query(
        "SELECT 1 AS one FROM applications WHERE clinic_id = $1 AND kind = 'start' \
         AND status IN ('approved', 'completed') AND id <> $2",
    )
    .bind(name.clinic.to_string())
    .bind(except.map(|u| u.to_string()).unwrap_or_default())
    .fetch_optional(conn)
    .await?
    .is_some())
}

fn already_started() -> Error {
    Error::Precondition {
        reason: "ALREADY_STARTED",
        message: "the clinic already has an approved 利用開始申請; file a 追加申請 for more \
                  devices"
            .into(),
    }
}

/// Files an application; with a request key, a repeat returns the first response.
///
/// A START is checked against the clinic's registered bank digits (by keyed hash) and refused
/// once the clinic has an approved START; an ADDITION needs one; a RELEASE names accounts of
/// the clinic that have not ended. `audit` (its actor becomes the submitter) is recorded
/// with it.
pub async fn submit_application(
    pool: &AnyPool,
    now: i64,
    new: &NewApplication,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Application) -> Vec<u8>,
) -> Result<Idempotent<Application>> {
    let clinic_name = new.clinic;
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    let name = ApplicationName {
        clinic: clinic_name,
        id: Uuid::now_v7(),
    };
    let (staff, devices, bank, privilege, accounts) = match &new.body {
        ApplicationBody::Start {
            staff_count,
            device_count,
            bank,
            privilege,
        } => (
            Some(i64::from(*staff_count)),
            Some(i64::from(*device_count)),
            Some(bank),
            Some(privilege.as_stored()),
            Vec::new(),
        ),
        ApplicationBody::Addition {
            device_count,
            privilege,
        } => (
            None,
            Some(i64::from(*device_count)),
            None,
            Some(privilege.as_stored()),
            Vec::new(),
        ),
        ApplicationBody::Release { accounts } => (None, None, None, None, accounts.clone()),
    };
    // The insert comes first (a write, on either engine) and proves the clinic exists.
    let inserted = sqlx::query(
        "INSERT INTO applications (id, organization_id, clinic_id, kind, status, staff_count, \
         device_count, bank_hash, bank_key_id, privilege, accounts, result_accounts, \
         reject_reason, submitter, reviewer, submit_time, review_time, complete_time) \
         SELECT $1, $2, $3, $4, 'submitted', $5, $6, $7, $8, $9, $10, '', NULL, $11, NULL, \
         $12, NULL, NULL \
         WHERE EXISTS (SELECT 1 FROM clinics WHERE id = $3 AND organization_id = $2)",
    )
    .bind(name.id.to_string())
    .bind(clinic_name.organization.stored())
    .bind(clinic_name.clinic.to_string())
    .bind(new.body.kind().as_stored())
    .bind(staff)
    .bind(devices)
    .bind(bank.map(|b| b.hash.clone()))
    .bind(bank.map(|b| b.key_id.clone()))
    .bind(privilege)
    .bind(joined(&accounts))
    .bind(&audit.actor)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(clinics::not_found());
    }
    let clinic = clinics::clinic_on(&mut tx, clinic_name).await?;
    match &new.body {
        ApplicationBody::Start {
            bank, privilege, ..
        } => {
            if started(&mut tx, clinic_name, None).await? {
                return Err(already_started());
            }
            match clinics::bank_hash_on(&mut tx, clinic_name).await? {
                None => {
                    return Err(Error::Precondition {
                        reason: "BANK_ACCOUNT_NOT_REGISTERED",
                        message: "the clinic has no bank digits to check against; an \
                                  org_admin registers them with UpdateClinic \
                                  (bank_account_last4)"
                            .into(),
                    });
                }
                Some(stored) if !bank.matches(&stored) => {
                    return Err(Error::Precondition {
                        reason: "FACILITY_CHECK_FAILED",
                        message: "the bank digits do not match the clinic's registered ones".into(),
                    });
                }
                Some(_) => {}
            }
            privilege.check_clinic(clinic.home_visit_enabled)?;
        }
        ApplicationBody::Addition { privilege, .. } => {
            if !started(&mut tx, clinic_name, None).await? {
                return Err(Error::Precondition {
                    reason: "NOT_STARTED",
                    message: "a 追加申請 needs the clinic's approved 利用開始申請 first".into(),
                });
            }
            privilege.check_clinic(clinic.home_visit_enabled)?;
        }
        ApplicationBody::Release { accounts } => {
            for id in accounts {
                let account = device_accounts::account_on(
                    &mut tx,
                    AccountName {
                        clinic: clinic_name,
                        id: *id,
                    },
                )
                .await?;
                if account.status == AccountStatus::Ended {
                    return Err(Error::Precondition {
                        reason: "ACCOUNT_STATE_CONFLICT",
                        message: format!("{id} has already ended"),
                    });
                }
            }
        }
    }
    let application = application_on(&mut tx, name).await?;
    let audit = audit
        .organization(clinic_name.organization)
        .clinic(clinic_name.name())
        .target(name.name());
    audit::append(&mut tx, &audit).await?;
    finish(tx, key, application, encode).await
}

/// Returns one application.
pub async fn get_application(pool: &AnyPool, name: ApplicationName) -> Result<Application> {
    let mut conn = pool.acquire().await?;
    application_on(&mut conn, name).await
}

/// Which applications a list returns.
#[derive(Clone, Copy, Debug)]
pub struct ApplicationListing<'a> {
    /// The organization.
    pub organization: OrganizationId,
    /// One clinic, or `None` for every clinic of the organization.
    pub clinic: Option<Uuid>,
    /// Only these clinics (a clinic_admin's), when given.
    pub only: Option<&'a [Uuid]>,
    /// Kind and status filters.
    pub filter: &'a ApplicationFilter,
}

/// Returns up to `limit` applications of `listing` older than `before`, newest first, and
/// the id to continue before when there are more.
pub async fn list_applications(
    pool: &AnyPool,
    listing: &ApplicationListing<'_>,
    before: Option<Uuid>,
    limit: u32,
) -> Result<(Vec<Application>, Option<Uuid>)> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE p.organization_id = $1 \
         AND ($2 = '' OR p.id < $2) AND ($3 = '' OR p.clinic_id = $3) \
         AND ($4 = '' OR p.kind = $4) AND ($5 = '' OR p.status = $5){} \
         ORDER BY p.id DESC LIMIT $6",
        in_list("p.clinic_id", listing.only, 7)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(listing.organization.stored())
        .bind(before.map(|u| u.to_string()).unwrap_or_default())
        .bind(listing.clinic.map(|c| c.to_string()).unwrap_or_default())
        .bind(
            listing
                .filter
                .kind
                .map(ApplicationKind::as_stored)
                .unwrap_or_default(),
        )
        .bind(
            listing
                .filter
                .status
                .map(ApplicationStatus::as_stored)
                .unwrap_or_default(),
        )
        .bind(i64::from(limit) + 1);
    for id in listing.only.unwrap_or_default() {
        q = q.bind(id.to_string());
    }
    let rows = q.fetch_all(pool).await?;
    let mut apps = rows.iter().map(application).collect::<Result<Vec<_>>>()?;
    let next = page_end(&mut apps, limit).map(|a| a.name.id);
    Ok((apps, next))
}

/// Moves a SUBMITTED application to `status` as the transaction's first write, recording the
/// reviewer; refuses any other status.
async fn review(
    conn: &mut AnyConnection,
    now: i64,
    name: ApplicationName,
    status: ApplicationStatus,
    reviewer: &str,
    reject_reason: Option<&str>,
) -> Result<()> {
    let moved = sqlx::query(
        "UPDATE applications SET status = $1, reviewer = $2, review_time = $3, \
         reject_reason = $4 \
         WHERE id = $5 AND organization_id = $6 AND clinic_id = $7 AND status = 'submitted'",
    )
    .bind(status.as_stored())
    .bind(reviewer)
    .bind(now)
    .bind(reject_reason.map(str::to_owned))
    .bind(name.id.to_string())
    .bind(name.clinic.organization.stored())
    .bind(name.clinic.clinic.to_string())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if moved == 1 {
        return Ok(());
    }
    let current = application_on(conn, name).await?;
    Err(Error::Precondition {
        reason: "APPLICATION_STATE_CONFLICT",
        message: format!(
            "the application is {}; only a SUBMITTED one can be approved or rejected",
            current.status.as_stored().to_uppercase()
        ),
    })
}

/// What an approval did.
#[derive(Clone, Debug)]
pub struct Approved {
    /// The application, now COMPLETED.
    pub application: Application,
    /// The clinic.
    pub clinic: Clinic,
    /// The accounts issued (START, ADDITION) or ended (RELEASE), in ID order.
    pub accounts: Vec<DeviceAccount>,
}

/// Approves a SUBMITTED application and carries it out in the same transaction: a START or
/// ADDITION issues one account per hash in `hashes` (which must number its device count), a
/// RELEASE ends its accounts; then the application is COMPLETED. With a request key, a
/// repeat returns the first response. `audit` is the `application.approve` record; each
/// account gets its own record made from it.
pub async fn approve_application(
    pool: &AnyPool,
    now: i64,
    name: ApplicationName,
    hashes: &[String],
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Approved) -> Vec<u8>,
) -> Result<Idempotent<Approved>> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    review(
        &mut tx,
        now,
        name,
        ApplicationStatus::Approved,
        &audit.actor,
        None,
    )
    .await?;
    let app = application_on(&mut tx, name).await?;
    let audit = audit
        .organization(name.clinic.organization)
        .clinic(name.clinic.name())
        .target(name.name());
    let (clinic, accounts) = match app.kind {
        ApplicationKind::Start | ApplicationKind::Addition => {
            if app.kind == ApplicationKind::Start
                && started(&mut tx, name.clinic, Some(name.id)).await?
            {
                return Err(already_started());
            }
            if hashes.len() != app.accounts_to_issue() {
                return Err(Error::Precondition {
                    reason: "APPLICATION_STATE_CONFLICT",
                    message: "the application changed while it was being approved; retry".into(),
                });
            }
            let privilege = app
                .privilege
                .unwrap_or(crate::device_account::Privilege::General);
            let Issued { clinic, accounts } = device_accounts::issue_on(
                &mut tx,
                name.clinic,
                privilege,
                &Note::default(),
                hashes,
                now,
                &audit,
            )
            .await?;
            (clinic, accounts)
        }
        ApplicationKind::Release => {
            let mut ended = Vec::with_capacity(app.accounts.len());
            for id in &app.accounts {
                let account = AccountName {
                    clinic: name.clinic,
                    id: *id,
                };
                ended.push(device_accounts::end_on(&mut tx, now, account, &audit).await?);
            }
            (clinics::clinic_on(&mut tx, name.clinic).await?, ended)
        }
    };
    let result: Vec<AccountId> = accounts.iter().map(|a| a.name.id).collect();
    sqlx::query(
        "UPDATE applications SET status = 'completed', complete_time = $1, \
         result_accounts = $2 WHERE id = $3",
    )
    .bind(now)
    .bind(joined(&result))
    .bind(name.id.to_string())
    .execute(&mut *tx)
    .await?;
    audit::append(&mut tx, &audit).await?;
    let application = application_on(&mut tx, name).await?;
    let approved = Approved {
        application,
        clinic,
        accounts,
    };
    finish(tx, key, approved, encode).await
}

/// Rejects a SUBMITTED application with `reason`; with a request key, a repeat returns the
/// first response.
pub async fn reject_application(
    pool: &AnyPool,
    now: i64,
    name: ApplicationName,
    reason: &RejectReason,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Application) -> Vec<u8>,
) -> Result<Idempotent<Application>> {
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    review(
        &mut tx,
        now,
        name,
        ApplicationStatus::Rejected,
        &audit.actor,
        Some(reason.as_str()),
    )
    .await?;
    let application = application_on(&mut tx, name).await?;
    let audit = audit
        .organization(name.clinic.organization)
        .clinic(name.clinic.name())
        .target(name.name());
    audit::append(&mut tx, &audit).await?;
    finish(tx, key, application, encode).await
}

#[cfg(test)]
mod tests;
