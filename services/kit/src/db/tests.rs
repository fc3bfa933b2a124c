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
