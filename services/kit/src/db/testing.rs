//! Fresh databases for tests: a SQLite file in a temp dir, or a new database on the
//! throwaway PostgreSQL cluster named by `MYNAFLEET_TEST_POSTGRES_URL` (one per test).
//! A missing URL fails the test with what to do, never skips it.

use super::Backend;
use sqlx::{AnyConnection, Connection, Executor};

/// The variable that says where the test PostgreSQL cluster is.
pub const POSTGRES_URL_VAR: &str = "MYNAFLEET_TEST_POSTGRES_URL";

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// On PostgreSQL: the cluster's admin URL and the database's name, dropped with the
    /// guard so a test run does not fill the disk with hundreds of ~8 MB databases.
    postgres: Option<(String, String)>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on: a thread with its
        // own runtime does the DROP, and the guard waits for it. WITH (FORCE) ends the
        // connections of pools still open. A failure only leaves the database behind.
        let dropper = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = AnyConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = conn.execute(sqlx::AssertSqlSafe(sql)).await;
                    let _ = conn.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

/// Returns a new, empty database on `backend`.
///
/// # Panics
/// When PostgreSQL is asked for and `MYNAFLEET_TEST_POSTGRES_URL` is unset or the cluster
/// cannot be reached: the message says how to get one (`make test` starts it).
pub async fn fresh_database(backend: Backend) -> TestDatabase {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("create temp dir for sqlite");
            let url = super::sqlite_file_url(&dir.path().join("test.db"));
            TestDatabase {
                url,
                _dir: Some(dir),
                postgres: None,
            }
        }
        Backend::Postgres => {
            let admin = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
                panic!(
                    "{POSTGRES_URL_VAR} is not set: PostgreSQL store tests need a cluster; \
                     run `make test`, which starts a throwaway one (docs/dev-environment.md)"
                )
            });
            sqlx::any::install_default_drivers();
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = AnyConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("connect to {POSTGRES_URL_VAR}: {e}"));
            conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
            let _ = conn.close().await;
            TestDatabase {
                url: replace_database(&admin, &name),
                _dir: None,
                postgres: Some((admin, name)),
            }
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let base = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Returns a fresh database on `backend` with `migrations` applied, and its guard (keep it
/// alive as long as the pool).
pub async fn fresh_pool(
    backend: Backend,
    migrations: &super::Migrations,
) -> (sqlx::AnyPool, TestDatabase) {
    let db = fresh_database(backend).await;
    let pool = super::connect(&db.url, migrations)
        .await
        .unwrap_or_else(|e| panic!("open {backend:?} test store: {e}"));
    (pool, db)
}

/// Makes every INSERT into `table` fail, as a full disk or a broken store would: a trigger
/// named `test_refuse_{table}` raises an error whose text contains "refuses".
///
/// # Panics
/// When the trigger cannot be installed.
pub async fn refuse_inserts(pool: &sqlx::AnyPool, table: &str) {
    let statements = match backend_of(pool).await {
        Backend::Postgres => vec![
            "CREATE OR REPLACE FUNCTION test_refuse_insert() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN RAISE EXCEPTION 'test: % refuses', TG_TABLE_NAME; END $$"
                .to_owned(),
            format!(
                "CREATE TRIGGER test_refuse_{table} BEFORE INSERT ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION test_refuse_insert()"
            ),
        ],
        Backend::Sqlite => vec![format!(
            "CREATE TRIGGER test_refuse_{table} BEFORE INSERT ON {table} \
             BEGIN SELECT RAISE(ABORT, 'test: {table} refuses'); END"
        )],
    };
    for s in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(s))
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("install the trigger refusing inserts into {table}: {e}"));
    }
}

/// Lets INSERTs into `table` through again (undoes [`refuse_inserts`]).
///
/// # Panics
/// When the trigger cannot be dropped.
pub async fn allow_inserts(pool: &sqlx::AnyPool, table: &str) {
    let s = match backend_of(pool).await {
        Backend::Postgres => format!("DROP TRIGGER test_refuse_{table} ON {table}"),
        Backend::Sqlite => format!("DROP TRIGGER test_refuse_{table}"),
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(s))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("drop the trigger refusing inserts into {table}: {e}"));
}

/// Returns the one integer `sql` selects, such as a `COUNT(*)`.
///
/// # Panics
/// When the query fails or selects no integer.
pub async fn count(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    use sqlx::Row as _;
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(pool)
        .await
        .and_then(|row| row.try_get::<i64, _>(0))
        .unwrap_or_else(|e| panic!("count with {sql}: {e}"))
}

async fn backend_of(pool: &sqlx::AnyPool) -> Backend {
    let conn = pool
        .acquire()
        .await
        .unwrap_or_else(|e| panic!("acquire a test connection: {e}"));
    Backend::of_name(conn.backend_name())
}

/// Expands store conformance cases `async fn case(pool: AnyPool)` into one `#[tokio::test]`
/// per backend, in modules `sqlite` and `postgres`, each on a fresh migrated database:
/// `store_conformance!(crate::MIGRATIONS; case_a, case_b);`
#[macro_export]
macro_rules! store_conformance {
    ($migrations:expr; $($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let (pool, _db) = $crate::db::testing::fresh_pool(
                        $crate::db::Backend::Sqlite,
                        &$migrations,
                    )
                    .await;
                    super::$case(pool).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let (pool, _db) = $crate::db::testing::fresh_pool(
                        $crate::db::Backend::Postgres,
                        &$migrations,
                    )
                    .await;
                    super::$case(pool).await;
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(
            replace_database("postgres://p@127.0.0.1:5/postgres", "t_1"),
            "postgres://p@127.0.0.1:5/t_1"
        );
        assert_eq!(
            replace_database("postgres://p@h:5/postgres?sslmode=disable", "t_1"),
            "postgres://p@h:5/t_1?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://p@h:5", "t_1"),
            "postgres://p@h:5/t_1"
        );
    }
}
