//! Database pools by URL (`sqlite://…` or `postgres://…`) through sqlx's `Any` driver, and
//! the owning service's migrations for that backend. SQLite runs in WAL mode with
//! `synchronous=FULL`, so a commit is on disk when it returns.

#[cfg(any(test, feature = "testing"))]
pub mod testing;

mod placeholders;
pub use placeholders::Placeholders;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, SqlSafeStr};
use std::str::FromStr;
use std::time::Duration;

/// The database engines MynaFleet stores on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (development and small installs).
    Sqlite,
    /// PostgreSQL (production, replicas).
    Postgres,
}

impl Backend {
    /// Returns the backend a URL names.
    pub fn of_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }

    /// Returns the backend of a connection, by the name sqlx gives its driver.
    pub fn of_name(name: &str) -> Self {
        if name.eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// One migration file of a service.
#[derive(Clone, Copy, Debug)]
pub struct MigrationFile {
    /// Its version (the `NNNN` of `NNNN_verb_noun.sql`).
    pub version: i64,
    /// Its description (the `verb_noun`).
    pub description: &'static str,
    /// Its SQL.
    pub sql: &'static str,
}

/// A service's migrations for each backend (the same list for both while the SQL is common).
#[derive(Clone, Copy, Debug)]
pub struct Migrations {
    /// For SQLite.
    pub sqlite: &'static [MigrationFile],
    /// For PostgreSQL.
    pub postgres: &'static [MigrationFile],
}

/// Why a database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL names neither SQLite nor PostgreSQL.
    #[error("database url must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    /// The database could not be reached or opened.
    #[error("connect to database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("migrate database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The directory of a SQLite file could not be made.
    #[error("create database directory {path}: {source}")]
    Dir {
        /// The directory.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Begins a transaction that writes. On SQLite it is `BEGIN IMMEDIATE`: the write lock is
/// taken (waiting up to the busy timeout) before the first read, so a transaction that reads
/// and then writes never fails with SQLITE_BUSY_SNAPSHOT because another connection committed
/// in between (a deferred transaction cannot upgrade a stale read snapshot, and SQLite does
/// not wait on that). On PostgreSQL it is a plain `BEGIN`.
pub async fn begin_write(
    pool: &AnyPool,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if pool.connect_options().database_url.scheme() == "sqlite" {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}

/// Opens a pool on `url` and applies `migrations` for its backend.
pub async fn connect(url: &str, migrations: &Migrations) -> Result<AnyPool, DbError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url)?;
    let url = match backend {
        Backend::Sqlite => sqlite_url(url)?,
        Backend::Postgres => url.to_owned(),
    };
    let options = AnyConnectOptions::from_str(&url).map_err(DbError::Connect)?;
    let pool = AnyPoolOptions::new()
        .max_connections(match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 10,
        })
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(DbError::Connect)?;
    let files = match backend {
        Backend::Sqlite => migrations.sqlite,
        Backend::Postgres => migrations.postgres,
    };
    let migrator = Migrator::with_migrations(
        files
            .iter()
            .map(|m| {
                Migration::new(
                    m.version,
                    m.description.into(),
                    MigrationType::Simple,
                    m.sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    );
    migrator.run(&pool).await?;
    Ok(pool)
}

/// Makes sure a SQLite file can be created: its directory exists and `mode=rwc` is set.
fn sqlite_url(url: &str) -> Result<String, DbError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| DbError::Dir {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let query = if query.contains("mode=") {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Returns the SQLite URL of a file path.
pub fn sqlite_file_url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// Returns whether an error is a unique-constraint violation, on either engine.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[cfg(test)]
mod tests;
