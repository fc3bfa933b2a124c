//! Bootstrap on SQLite and PostgreSQL, and through `bootstrap` with a database URL.

use super::*;
use crate::store::operators::{Credentials, login};
use crate::totp::code_from_uri;
use mynafleet_kit::tls::dev::DevPki;
use sqlx::Row as _;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    the_first_admin_logs_in_with_the_printed_credentials,
    a_taken_login_id_is_refused_before_anything_is_created,
);

fn config(database_url: String) -> Config {
    let pki = DevPki::in_memory().unwrap();
    let identity = pki.service_identity("account").unwrap();
    Config::for_tests(database_url, pki.server_tls(identity, None))
}

async fn count(pool: &AnyPool, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM {table}"
    )))
    .fetch_one(pool)
    .await
    .unwrap()
    .get::<i64, _>("n")
}

async fn the_first_admin_logs_in_with_the_printed_credentials(pool: AnyPool) {
    let config = config(String::new());
    let made = bootstrap_with_pool(
        &pool,
        &config,
        "さくら医療グループ",
        "Admin@Sakura",
        "管理 花子",
    )
    .await
    .unwrap();
    assert!(made.organization.starts_with("organizations/"));
    assert!(
        made.operator
            .starts_with(&format!("{}/operators/", made.organization))
    );
    assert_eq!(made.login_id, "admin@sakura");
    assert!(
        made.totp_uri
            .starts_with("otpauth://totp/MynaFleet:admin%40sakura?")
    );
    let shown = format!("{made:?}");
    assert!(!shown.contains(made.password.as_str()));
    assert!(!shown.contains(&made.totp_uri));

    let now = config.clock.now_micros();
    let code = code_from_uri(&made.totp_uri, now).unwrap();
    let done = login(
        &pool,
        now,
        &config.sessions,
        &config.keys.totp,
        &RequestMeta::default(),
        Credentials {
            login_id: &made.login_id,
            password: &made.password,
            totp_code: &code,
        },
    )
    .await
    .unwrap();
    assert_eq!(done.operator.name(), made.operator);
    assert_eq!(done.operator.role, Role::OrgAdmin);
    assert!(done.operator.must_change_password);
    let actors: Vec<String> = sqlx::query(
        "SELECT actor FROM audit_records WHERE action IN ('organization.create', \
         'operator.create') ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get("actor"))
    .collect();
    assert_eq!(actors, vec!["services/bootstrap", "services/bootstrap"]);
}

async fn a_taken_login_id_is_refused_before_anything_is_created(pool: AnyPool) {
    let config = config(String::new());
    bootstrap_with_pool(&pool, &config, "さくら医療グループ", "admin", "管理 花子")
        .await
        .unwrap();
    let err = bootstrap_with_pool(&pool, &config, "ひまわり会", "ADMIN", "管理 次郎")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Taken {
                reason: "LOGIN_ID_TAKEN",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(count(&pool, "organizations").await, 1);
    assert_eq!(count(&pool, "operators").await, 1);
    let err = bootstrap_with_pool(&pool, &config, "ひまわり会", "a", "管理 次郎")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidFields(_)), "{err:?}");
}

#[tokio::test]
async fn bootstrap_opens_and_migrates_the_configured_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = mynafleet_kit::db::sqlite_file_url(&dir.path().join("data/account.db"));
    let made = bootstrap(&config(url), "さくら医療グループ", "admin", "管理 花子")
        .await
        .unwrap();
    assert_eq!(made.login_id, "admin");
    assert!(!made.password.is_empty());
}
