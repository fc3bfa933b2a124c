use super::*;

#[test]
fn sqlite_urls_get_create_mode_and_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a/b/x.db");
    let url = sqlite_url(&format!("sqlite://{}", file.display())).unwrap();
    assert!(url.ends_with("x.db?mode=rwc"), "{url}");
    assert!(dir.path().join("a/b").is_dir());
    let kept = sqlite_url(&format!("sqlite://{}?mode=ro", file.display())).unwrap();
    assert!(kept.ends_with("?mode=ro"), "{kept}");
}

#[test]
fn urls_name_their_backend() {
    assert_eq!(
        Backend::of_url("sqlite:///tmp/x.db").unwrap(),
        Backend::Sqlite
    );
    assert_eq!(
        Backend::of_url("postgres://u@h/db").unwrap(),
        Backend::Postgres
    );
    assert!(matches!(
        Backend::of_url("mysql://h/db"),
        Err(DbError::UnsupportedUrl)
    ));
}

/// A two-table schema for the write-transaction case.
const COUNTERS: &str = "CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE notes (id TEXT PRIMARY KEY)";

const COUNTER_FILES: &[MigrationFile] = &[MigrationFile {
    version: 1,
    description: "counters",
    sql: COUNTERS,
}];

const COUNTER_MIGRATIONS: Migrations = Migrations {
    sqlite: COUNTER_FILES,
    postgres: COUNTER_FILES,
};

crate::store_conformance!(
    super::COUNTER_MIGRATIONS;
    a_write_transaction_that_read_first_commits_after_another_writer,
);

/// A transaction begun with [`begin_write`] reads, another connection writes meanwhile, then
/// the transaction writes what it read: it commits and both writes are kept. (A deferred
/// SQLite transaction fails its write with SQLITE_BUSY_SNAPSHOT here when the other write
/// commits in between.)
async fn a_write_transaction_that_read_first_commits_after_another_writer(pool: AnyPool) {
    sqlx::query("INSERT INTO counters (name, n) VALUES ('a', 1)")
        .execute(&pool)
        .await
        .unwrap();
    let mut tx = begin_write(&pool).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT n FROM counters WHERE name = 'a'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let other = pool.clone();
    let mut writer = tokio::spawn(async move {
        sqlx::query("INSERT INTO notes (id) VALUES ('other')")
            .execute(&other)
            .await
            .map(|_| ())
    });
    // Give the other writer its chance to commit before this transaction writes: on SQLite
    // it waits for the write lock this transaction holds; on PostgreSQL it commits.
    let early = tokio::time::timeout(std::time::Duration::from_millis(300), &mut writer).await;
    sqlx::query("UPDATE counters SET n = $1 WHERE name = 'a'")
        .bind(n + 1)
        .execute(&mut *tx)
        .await
        .expect("the write after the read");
    tx.commit().await.unwrap();
    match early {
        Ok(done) => done.unwrap().unwrap(),
        Err(_) => writer.await.unwrap().unwrap(),
    }
    let n: i64 = sqlx::query_scalar("SELECT n FROM counters WHERE name = 'a'")
        .fetch_one(&pool)
        .await
        .unwrap();
    let notes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((n, notes), (2, 1));
}
