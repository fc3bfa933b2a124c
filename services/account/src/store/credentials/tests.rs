//! Conformance cases for device credential checks (SQLite and PostgreSQL). Rows are set up
//! with raw SQL matching migration 0002, so these cases depend on no other store module.

use super::*;
use crate::audit::RequestMeta;
use crate::auth::Actor;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    right_password_verifies_and_returns_the_scope,
    typed_forms_of_code_and_id_are_folded,
    registration_number_finds_a_treatment_clinic,
    wrong_password_unknown_account_and_unknown_code_fail_alike,
    failures_lock_at_the_limit_and_success_resets_the_count,
    clearing_the_lock_lets_the_account_verify_again,
    concurrent_failures_count_every_one_and_lock_once,
    suspended_account_still_verifies_with_its_status,
    password_change_clears_must_change_and_retires_the_old_password,
    password_change_with_a_wrong_current_password_is_counted,
    scopes_of_one_account_and_of_a_clinic,
);

pub(crate) const PASSWORD: &str = "Kp7#rT4mXq9@wE";
pub(crate) const CODE: &str = "1312345675";
const MAX: u32 = 3;

/// One organization with a 医科 clinic and account W0000001 (must change its password).
pub(crate) struct Fixture {
    pub(crate) org: OrganizationId,
    pub(crate) clinic: Uuid,
}

async fn hash(password: &str) -> String {
    let p = password.to_owned();
    tokio::task::spawn_blocking(move || mynafleet_kit::keys::password::hash(&p).unwrap())
        .await
        .unwrap()
}

async fn add_clinic(
    pool: &AnyPool,
    org: OrganizationId,
    kind: &str,
    key: &str,
    code: Option<&str>,
    registration: Option<&str>,
) -> Uuid {
    let clinic = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO clinics (id, organization_id, kind, institution_key, institution_code, \
         registration_number, display_name, prefecture, home_visit_enabled, \
         operation_start_date, bank_hash, bank_key_id, warnings, revision, create_time, \
         update_time) VALUES ($1, $2, $3, $4, $5, $6, 'さくら内科', 13, 1, NULL, NULL, NULL, \
         '', 1, 1, 1)",
    )
    .bind(clinic.to_string())
    .bind(org.stored())
    .bind(kind)
    .bind(key)
    .bind(code.map(str::to_owned))
    .bind(registration.map(str::to_owned))
    .execute(pool)
    .await
    .unwrap();
    clinic
}

pub(crate) async fn add_account(
    pool: &AnyPool,
    org: OrganizationId,
    clinic: Uuid,
    id: &str,
    status: &str,
) {
    sqlx::query(
        "INSERT INTO device_accounts (organization_id, account_id, clinic_id, privilege, \
         status, start_date, suspend_date, end_date, note, password_hash, \
         must_change_password, failed_checks, locked, revision, create_time, update_time) \
         VALUES ($1, $2, $3, 'general', $4, '2025-04-01', NULL, NULL, '', $5, 1, 0, 0, 1, 1, 1)",
    )
    .bind(org.stored())
    .bind(id)
    .bind(clinic.to_string())
    .bind(status)
    .bind(hash(PASSWORD).await)
    .execute(pool)
    .await
    .unwrap();
}

pub(crate) async fn fixture(pool: &AnyPool) -> Fixture {
    let org = OrganizationId::new();
    sqlx::query(
        "INSERT INTO organizations (id, display_name, revision, create_time, update_time) \
         VALUES ($1, 'さくら医療グループ', 1, 1, 1)",
    )
    .bind(org.stored())
    .execute(pool)
    .await
    .unwrap();
    let clinic = add_clinic(pool, org, "medical", CODE, Some(CODE), None).await;
    add_account(pool, org, clinic, "W0000001", "available").await;
    Fixture { org, clinic }
}

fn template(action: &'static str) -> AuditEntry {
    AuditEntry::new(
        &Actor::Service("activation".into()),
        &RequestMeta {
            source_address: "192.0.2.7:50000".into(),
            request_id: String::new(),
            traceparent: String::new(),
        },
        5,
        action,
        ActionCode::Execute,
    )
}

fn policy() -> CheckPolicy {
    CheckPolicy {
        max_failed: MAX,
        now: 1_000,
    }
}

fn attempt<'a>(code: &'a str, id: &'a str, password: &'a str) -> Attempt<'a> {
    Attempt {
        institution_code: code,
        account_id: id,
        password,
    }
}

async fn try_verify(pool: &AnyPool, code: &str, id: &str, password: &str) -> Result<DeviceScope> {
    verify(
        pool,
        attempt(code, id, password),
        policy(),
        &template("device_credentials.verify"),
    )
    .await
}

/// (action, outcome, reason, target, actor, source_address) of every audit record, oldest
/// first.
pub(crate) async fn audits(
    pool: &AnyPool,
) -> Vec<(String, String, String, String, String, String)> {
    sqlx::query(
        "SELECT action, outcome, reason, target, actor, source_address FROM audit_records \
         ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("action"),
            r.get("outcome"),
            r.get("reason"),
            r.get("target"),
            r.get("actor"),
            r.get("source_address"),
        )
    })
    .collect()
}

async fn counters(pool: &AnyPool, org: OrganizationId) -> (i64, i64) {
    let row = sqlx::query(
        "SELECT failed_checks, locked FROM device_accounts \
         WHERE organization_id = $1 AND account_id = 'W0000001'",
    )
    .bind(org.stored())
    .fetch_one(pool)
    .await
    .unwrap();
    (row.get("failed_checks"), row.get("locked"))
}

async fn right_password_verifies_and_returns_the_scope(pool: AnyPool) {
    let f = fixture(&pool).await;
    let scope = try_verify(&pool, CODE, "W0000001", PASSWORD).await.unwrap();
    assert_eq!(
        scope,
        DeviceScope {
            organization: f.org,
            clinic: f.clinic,
            account_id: AccountId::parse("W0000001", "t").unwrap(),
            institution_code: CODE.into(),
            institution_name: "さくら内科".into(),
            privilege: Privilege::General,
            status: AccountStatus::Available,
            must_change_password: true,
            home_visit_enabled: true,
        }
    );
    let account = format!(
        "organizations/{}/clinics/{}/accounts/W0000001",
        f.org.stored(),
        f.clinic
    );
    assert_eq!(scope.account_name(), account);
    assert_eq!(
        audits(&pool).await,
        vec![(
            "device_credentials.verify".into(),
            "success".into(),
            String::new(),
            account,
            "services/activation".into(),
            "192.0.2.7:50000".into(),
        )]
    );
}

async fn typed_forms_of_code_and_id_are_folded(pool: AnyPool) {
    fixture(&pool).await;
    let scope = try_verify(&pool, "１３１２３４５－６７５", " w０００００01 ", PASSWORD)
        .await
        .unwrap();
    assert_eq!(scope.account_id.as_stored(), "W0000001");
    assert_eq!(
        institution_keys("13-1234-5675"),
        vec!["1312345675".to_owned(), "R1312345675".to_owned()]
    );
    assert_eq!(
        institution_keys("契1234567-0-0"),
        vec!["R契123456700".to_owned()]
    );
    assert!(institution_keys("").is_empty());
    assert_eq!(typed_account_id("W12"), None);
}

async fn registration_number_finds_a_treatment_clinic(pool: AnyPool) {
    let f = fixture(&pool).await;
    let clinic = add_clinic(
        &pool,
        f.org,
        "treatment",
        "R契123456700",
        None,
        Some("契123456700"),
    )
    .await;
    add_account(&pool, f.org, clinic, "W0000002", "available").await;
    let scope = try_verify(&pool, "契1234567-0-0", "W0000002", PASSWORD)
        .await
        .unwrap();
    assert_eq!(scope.clinic, clinic);
    assert_eq!(scope.institution_code, "契123456700");
    // The account belongs to that clinic, not to the organization's other one.
    assert!(matches!(
        try_verify(&pool, CODE, "W0000002", PASSWORD).await,
        Err(Error::CredentialsInvalid)
    ));
}

async fn wrong_password_unknown_account_and_unknown_code_fail_alike(pool: AnyPool) {
    let f = fixture(&pool).await;
    for (code, id, password) in [
        (CODE, "W0000001", "Wrong#Password9"),
        (CODE, "W0000009", PASSWORD),
        (CODE, "not an id", PASSWORD),
        ("1312345683", "W0000001", PASSWORD),
    ] {
        assert!(
            matches!(
                try_verify(&pool, code, id, password).await,
                Err(Error::CredentialsInvalid)
            ),
            "{code} {id}"
        );
    }
    let clinic = format!("organizations/{}/clinics/{}", f.org.stored(), f.clinic);
    let rows = audits(&pool).await;
    let brief: Vec<_> = rows
        .iter()
        .map(|(a, o, r, t, _, s)| (a.as_str(), o.as_str(), r.as_str(), t.clone(), s.as_str()))
        .collect();
    assert_eq!(
        brief,
        vec![
            (
                "device_credentials.verify",
                "failure",
                "WRONG_PASSWORD",
                format!("{clinic}/accounts/W0000001"),
                "192.0.2.7:50000"
            ),
            (
                "device_credentials.verify",
                "failure",
                "UNKNOWN_ACCOUNT",
                format!("{clinic}/accounts/W0000009"),
                "192.0.2.7:50000"
            ),
            (
                "device_credentials.verify",
                "failure",
                "UNKNOWN_ACCOUNT",
                String::new(),
                "192.0.2.7:50000"
            ),
            (
                "device_credentials.verify",
                "failure",
                "UNKNOWN_INSTITUTION",
                String::new(),
                "192.0.2.7:50000"
            ),
        ]
    );
    assert_eq!(
        counters(&pool, f.org).await,
        (1, 0),
        "only the wrong password counts"
    );
}

async fn failures_lock_at_the_limit_and_success_resets_the_count(pool: AnyPool) {
    let f = fixture(&pool).await;
    // Two failures, then a success: the count starts again.
    for _ in 0..MAX - 1 {
        try_verify(&pool, CODE, "W0000001", "Wrong#Password9")
            .await
            .unwrap_err();
    }
    assert_eq!(counters(&pool, f.org).await, (i64::from(MAX) - 1, 0));
    try_verify(&pool, CODE, "W0000001", PASSWORD).await.unwrap();
    assert_eq!(counters(&pool, f.org).await, (0, 0));

    // MAX failures in a row lock it; then even the right password is refused.
    for _ in 0..MAX {
        assert!(matches!(
            try_verify(&pool, CODE, "W0000001", "Wrong#Password9").await,
            Err(Error::CredentialsInvalid)
        ));
    }
    assert_eq!(counters(&pool, f.org).await, (i64::from(MAX), 1));
    assert!(matches!(
        try_verify(&pool, CODE, "W0000001", PASSWORD).await,
        Err(Error::DeviceAccountLocked)
    ));
    let rows = audits(&pool).await;
    let locks = rows.iter().filter(|r| r.0 == "device_account.lock").count();
    assert_eq!(locks, 1, "the lock itself is audited once");
    let last = rows.last().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str(), last.2.as_str()),
        (
            "device_credentials.verify",
            "failure",
            "DEVICE_ACCOUNT_LOCKED"
        )
    );
}

async fn clearing_the_lock_lets_the_account_verify_again(pool: AnyPool) {
    let f = fixture(&pool).await;
    for _ in 0..MAX {
        try_verify(&pool, CODE, "W0000001", "Wrong#Password9")
            .await
            .unwrap_err();
    }
    assert!(matches!(
        try_verify(&pool, CODE, "W0000001", PASSWORD).await,
        Err(Error::DeviceAccountLocked)
    ));
    // What UnlockDeviceAccount does.
    sqlx::query("UPDATE device_accounts SET locked = 0, failed_checks = 0")
        .execute(&pool)
        .await
        .unwrap();
    try_verify(&pool, CODE, "W0000001", PASSWORD).await.unwrap();
    assert_eq!(counters(&pool, f.org).await, (0, 0));
}

async fn suspended_account_still_verifies_with_its_status(pool: AnyPool) {
    let f = fixture(&pool).await;
    add_account(&pool, f.org, f.clinic, "W0000002", "suspended").await;
    add_account(&pool, f.org, f.clinic, "W0000003", "ended").await;
    let s = try_verify(&pool, CODE, "W0000002", PASSWORD).await.unwrap();
    assert_eq!(s.status, AccountStatus::Suspended);
    let e = try_verify(&pool, CODE, "W0000003", PASSWORD).await.unwrap();
    assert_eq!(e.status, AccountStatus::Ended);
}

async fn password_change_clears_must_change_and_retires_the_old_password(pool: AnyPool) {
    let f = fixture(&pool).await;
    let new = "Nw4%second-Pass";
    let scope = change(
        &pool,
        attempt(CODE, "W0000001", PASSWORD),
        new,
        policy(),
        &template("device_account.change_password"),
    )
    .await
    .unwrap();
    assert!(!scope.must_change_password);
    assert!(matches!(
        try_verify(&pool, CODE, "W0000001", PASSWORD).await,
        Err(Error::CredentialsInvalid)
    ));
    let again = try_verify(&pool, CODE, "W0000001", new).await.unwrap();
    assert!(!again.must_change_password);
    let revision: i64 =
        sqlx::query("SELECT revision FROM device_accounts WHERE account_id = 'W0000001'")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get("revision");
    assert_eq!(revision, 2, "the change moves the etag");
    let rows = audits(&pool).await;
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].3.clone()),
        (
            "device_account.change_password",
            "success",
            format!(
                "organizations/{}/clinics/{}/accounts/W0000001",
                f.org.stored(),
                f.clinic
            )
        )
    );
    // Neither password is anywhere in the database in clear.
    for table in ["device_accounts", "audit_records"] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")))
            .fetch_all(&pool)
            .await
            .unwrap();
        for row in rows {
            for i in 0..row.len() {
                if let Ok(Some(s)) = row.try_get::<Option<String>, _>(i) {
                    assert!(!s.contains(PASSWORD) && !s.contains(new), "{table}: {s}");
                }
            }
        }
    }
}

async fn password_change_with_a_wrong_current_password_is_counted(pool: AnyPool) {
    let f = fixture(&pool).await;
    let r = change(
        &pool,
        attempt(CODE, "W0000001", "Wrong#Password9"),
        "Nw4%second-Pass",
        policy(),
        &template("device_account.change_password"),
    )
    .await;
    assert!(matches!(r, Err(Error::CredentialsInvalid)));
    assert_eq!(counters(&pool, f.org).await, (1, 0));
    try_verify(&pool, CODE, "W0000001", PASSWORD).await.unwrap();
    let rows = audits(&pool).await;
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].2.as_str()),
        (
            "device_account.change_password",
            "failure",
            "WRONG_PASSWORD"
        )
    );
}

async fn scopes_of_one_account_and_of_a_clinic(pool: AnyPool) {
    let f = fixture(&pool).await;
    add_account(&pool, f.org, f.clinic, "W0000002", "suspended").await;
    let one = account_scope(&pool, f.org, AccountId::parse("W0000002", "t").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.status, AccountStatus::Suspended);
    assert!(
        account_scope(&pool, f.org, AccountId::parse("W0000003", "t").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let all = clinic_scopes(&pool, f.clinic).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|s| s.account_id.as_stored())
            .collect::<Vec<_>>(),
        vec!["W0000001", "W0000002"]
    );
    assert!(
        clinic_scopes(&pool, Uuid::now_v7())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_failures_count_every_one_and_lock_once(pool: AnyPool) {
    let f = fixture(&pool).await;
    let mut tasks = Vec::new();
    for _ in 0..2 * MAX {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            try_verify(&pool, CODE, "W0000001", "Wrong#Password9").await
        }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert!(
            matches!(
                r,
                Err(Error::CredentialsInvalid | Error::DeviceAccountLocked)
            ),
            "{r:?}"
        );
    }
    let (failed, locked) = counters(&pool, f.org).await;
    assert_eq!(locked, 1);
    assert_eq!(
        failed,
        i64::from(MAX),
        "failures after the lock are not counted"
    );
    let rows = audits(&pool).await;
    assert_eq!(
        rows.iter().filter(|r| r.0 == "device_account.lock").count(),
        1
    );
    assert_eq!(
        rows.iter().filter(|r| r.1 == "failure").count(),
        2 * MAX as usize,
        "every failed attempt is audited"
    );
}
