//! Clinics in the store: registration (the 機関コード or 登録記号番号 is unique across the
//! deployment through `clinics.institution_key`), reads, scoped lists and updates with
//! revision checks. Bank digits arrive and stay as a keyed hash; nothing here reads the hash
//! back out except the facility check of a 利用開始申請.

use super::events::{self, EventKind};
use super::{Idempotent, claim, finish};
use crate::audit::{self, AuditEntry};
use crate::clinic::{
    Clinic, ClinicKind, ClinicUpdate, FacilityCode, NewClinic, RegistrationNumber,
};
use crate::error::{Error, Result};
use crate::names::ClinicName;
use crate::organization::{DisplayName, OrganizationId};
use mynafleet_kit::idempotency::RequestKey;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use uuid::Uuid;

/// The columns [`clinic`] reads.
pub(crate) const COLUMNS: &str = "id, organization_id, kind, institution_code, \
     registration_number, display_name, prefecture, home_visit_enabled, operation_start_date, \
     bank_hash, warnings, revision, create_time, update_time";

/// The error of a clinic that does not exist (in the organization asked about).
pub(crate) fn not_found() -> Error {
    Error::NotFound {
        reason: "CLINIC_NOT_FOUND",
        what: "clinic",
    }
}

fn decode(what: &str) -> Error {
    Error::Db(sqlx::Error::Decode(format!("bad stored {what}").into()))
}

/// Reads a clinic row selected with [`COLUMNS`].
pub(crate) fn clinic(row: &AnyRow) -> Result<Clinic> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("organization_id")?;
    let kind: String = row.try_get("kind")?;
    let warnings: String = row.try_get("warnings")?;
    let bank: Option<String> = row.try_get("bank_hash")?;
    Ok(Clinic {
        name: ClinicName {
            organization: OrganizationId::from_stored(&org)
                .ok_or_else(|| decode("organization id"))?,
            clinic: Uuid::parse_str(&id).map_err(|_| decode("clinic id"))?,
        },
        kind: ClinicKind::from_stored(&kind).ok_or_else(|| decode("clinic kind"))?,
        institution_code: row
            .try_get::<Option<String>, _>("institution_code")?
            .map(FacilityCode::from_stored),
        registration_number: row
            .try_get::<Option<String>, _>("registration_number")?
            .map(RegistrationNumber::from_stored),
        display_name: DisplayName::from_stored(row.try_get("display_name")?),
        prefecture: u8::try_from(row.try_get::<i64, _>("prefecture")?)
            .map_err(|_| decode("prefecture"))?,
        home_visit_enabled: row.try_get::<i64, _>("home_visit_enabled")? != 0,
        operation_start_date: row.try_get("operation_start_date")?,
        bank_account_registered: bank.is_some(),
        warnings: warnings.split_whitespace().map(str::to_owned).collect(),
        revision: row.try_get("revision")?,
        create_time: row.try_get("create_time")?,
        update_time: row.try_get("update_time")?,
    })
}

/// Reads clinic `name` on `conn` (inside a transaction).
pub(crate) async fn clinic_on(conn: &mut AnyConnection, name: ClinicName) -> Result<Clinic> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM clinics WHERE id = $1 AND organization_id = $2"
    )))
    .bind(name.clinic.to_string())
    .bind(name.organization.stored())
    .fetch_optional(conn)
    .await?
    .ok_or_else(not_found)?;
    clinic(&row)
}

/// Returns the keyed hash of clinic `name`'s bank digits, if it registered them.
pub(crate) async fn bank_hash_on(
    conn: &mut AnyConnection,
    name: ClinicName,
) -> Result<Option<String>> {
    let row = sqlx::query("SELECT bank_hash FROM clinics WHERE id = $1 AND organization_id = $2")
        .bind(name.clinic.to_string())
        .bind(name.organization.stored())
        .fetch_optional(conn)
        .await?
        .ok_or_else(not_found)?;
    Ok(row.try_get("bank_hash")?)
}

/// Registers a clinic; with a request key, a repeat returns the first response. A 機関コード
/// (or 登録記号番号) another clinic of the deployment holds is refused as taken.
pub async fn create_clinic(
    pool: &AnyPool,
    now: i64,
    new: &NewClinic,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Clinic) -> Vec<u8>,
) -> Result<Idempotent<Clinic>> {
    let institution = new
        .institution()
        .ok_or_else(|| Error::field("clinic.institution_code", "is required"))?;
    let (taken_field, taken_what) = match (&new.institution_code, &new.registration_number) {
        (Some(_), _) => ("clinic.institution_code", "機関コード"),
        (None, _) => ("clinic.registration_number", "登録記号番号"),
    };
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    let name = ClinicName {
        organization: new.organization,
        clinic: Uuid::now_v7(),
    };
    let warnings = new
        .warnings
        .iter()
        .map(|w| w.as_reason())
        .collect::<Vec<_>>()
        .join(" ");
    // One statement that also proves the organization exists, so the transaction's first
    // access is a write on either engine.
    let inserted = sqlx::query(
        "INSERT INTO clinics (id, organization_id, kind, institution_key, institution_code, \
         registration_number, display_name, prefecture, home_visit_enabled, \
         operation_start_date, bank_hash, bank_key_id, warnings, revision, create_time, \
         update_time) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14 \
         WHERE EXISTS (SELECT 1 FROM organizations WHERE id = $2)",
    )
    .bind(name.clinic.to_string())
    .bind(name.organization.stored())
    .bind(new.kind.as_stored())
    .bind(institution.key())
    .bind(new.institution_code.as_ref().map(|c| c.as_str().to_owned()))
    .bind(
        new.registration_number
            .as_ref()
            .map(|r| r.as_str().to_owned()),
    )
    .bind(new.display_name.as_str())
    .bind(i64::from(new.prefecture))
    .bind(i64::from(new.home_visit_enabled))
    .bind(new.operation_start_date.map(|d| d.as_stored()))
    .bind(new.bank.as_ref().map(|b| b.hash.clone()))
    .bind(new.bank.as_ref().map(|b| b.key_id.clone()))
    .bind(&warnings)
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(r) if r.rows_affected() == 1 => {}
        Ok(_) => return Err(Error::OrganizationNotFound),
        Err(e) if mynafleet_kit::db::is_unique_violation(&e) => {
            return Err(Error::Taken {
                reason: "INSTITUTION_CODE_TAKEN",
                field: taken_field,
                message: format!(
                    "another clinic already has the {taken_what} {}",
                    institution.as_shown()
                ),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let clinic = clinic_on(&mut tx, name).await?;
    let audit = audit
        .organization(name.organization)
        .clinic(name.name())
        .target(name.name());
    audit::append(&mut tx, &audit).await?;
    finish(tx, key, clinic, encode).await
}

/// Returns one clinic.
pub async fn get_clinic(pool: &AnyPool, name: ClinicName) -> Result<Clinic> {
    let mut conn = pool.acquire().await?;
    clinic_on(&mut conn, name).await
}

/// Returns up to `limit` clinics of `org` after `after`, in creation order, restricted to
/// `only` when given (a clinic_admin's clinics), and the id to continue after when there are
/// more.
pub async fn list_clinics(
    pool: &AnyPool,
    org: OrganizationId,
    only: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<(Vec<Clinic>, Option<Uuid>)> {
    let sql = format!(
        "SELECT {COLUMNS} FROM clinics WHERE organization_id = $1 AND id > $2{} \
         ORDER BY id LIMIT $3",
        in_list("id", only, 4)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(org.stored())
        .bind(after.map(|a| a.to_string()).unwrap_or_default())
        .bind(i64::from(limit) + 1);
    for id in only.unwrap_or_default() {
        q = q.bind(id.to_string());
    }
    let rows = q.fetch_all(pool).await?;
    let mut clinics = rows.iter().map(clinic).collect::<Result<Vec<_>>>()?;
    let next = page_end(&mut clinics, limit).map(|c| c.name.clinic);
    Ok((clinics, next))
}

/// Returns ` AND {column} IN ($first, …)` for `only`, or nothing for `None`. An empty list
/// matches nothing.
pub(crate) fn in_list(column: &str, only: Option<&[Uuid]>, first: usize) -> String {
    match only {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_owned(),
        Some(ids) => {
            let params = (0..ids.len())
                .map(|i| format!("${}", first + i))
                .collect::<Vec<_>>()
                .join(", ");
            format!(" AND {column} IN ({params})")
        }
    }
}

/// Cuts `items` (fetched with one extra) to `limit` and returns the last kept one when more
/// follow.
pub(crate) fn page_end<T>(items: &mut Vec<T>, limit: u32) -> Option<&T> {
    let limit = limit as usize;
    if items.len() > limit {
        items.truncate(limit);
        items.last()
    } else {
        None
    }
}

/// Updates a clinic; with a request key, a repeat returns the first response. A change of
/// 訪問診療等機能 or 機関名 is published as a `ClinicChanged` account event.
pub async fn update_clinic(
    pool: &AnyPool,
    now: i64,
    update: &ClinicUpdate,
    audit: AuditEntry,
    key: Option<&RequestKey<'_>>,
    encode: impl FnOnce(&Clinic) -> Vec<u8>,
) -> Result<Idempotent<Clinic>> {
    let name = update.name;
    let mut tx = mynafleet_kit::db::begin_write(pool).await?;
    if let Some(replay) = claim(&mut tx, key, now).await? {
        return Ok(Idempotent::Replayed(replay));
    }
    // The revision bump comes first: it is the write that takes the lock, checks the etag,
    // and returns the values before the change.
    let before = sqlx::query(
        "UPDATE clinics SET revision = revision + 1, update_time = $1 \
         WHERE id = $2 AND organization_id = $3 AND ($4 < 0 OR revision = $4) \
         RETURNING home_visit_enabled, display_name",
    )
    .bind(now)
    .bind(name.clinic.to_string())
    .bind(name.organization.stored())
    .bind(update.expected_revision.unwrap_or(-1))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(before) = before else {
        let exists =
            sqlx::query("SELECT 1 AS one FROM clinics WHERE id = $1 AND organization_id = $2")
                .bind(name.clinic.to_string())
                .bind(name.organization.stored())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
        return Err(if exists {
            Error::EtagMismatch
        } else {
            not_found()
        });
    };
    let was_home_visit = before.try_get::<i64, _>("home_visit_enabled")? != 0;
    let was_named: String = before.try_get("display_name")?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE clinics SET display_name = COALESCE($1, display_name), \
         home_visit_enabled = COALESCE($2, home_visit_enabled), \
         operation_start_date = CASE WHEN $3 = 1 THEN $4 ELSE operation_start_date END, \
         bank_hash = COALESCE($5, bank_hash), bank_key_id = COALESCE($6, bank_key_id) \
         WHERE id = $7 RETURNING {COLUMNS}"
    )))
    .bind(update.display_name.as_ref().map(|d| d.as_str().to_owned()))
    .bind(update.home_visit_enabled.map(i64::from))
    .bind(i64::from(update.operation_start_date.is_some()))
    .bind(update.operation_start_date.flatten().map(|d| d.as_stored()))
    .bind(update.bank.as_ref().map(|b| b.hash.clone()))
    .bind(update.bank.as_ref().map(|b| b.key_id.clone()))
    .bind(name.clinic.to_string())
    .fetch_one(&mut *tx)
    .await?;
    let clinic = clinic(&row)?;
    if clinic.home_visit_enabled != was_home_visit || clinic.display_name.as_str() != was_named {
        events::append(
            &mut tx,
            EventKind::ClinicChanged,
            &name.organization.stored(),
            &name.clinic.to_string(),
            "",
            now,
        )
        .await?;
    }
    let audit = audit
        .organization(name.organization)
        .clinic(name.name())
        .target(name.name());
    audit::append(&mut tx, &audit).await?;
    finish(tx, key, clinic, encode).await
}

#[cfg(test)]
pub(crate) mod tests;
