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
