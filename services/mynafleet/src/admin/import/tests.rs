use super::*;

fn open(text: &str) -> (tempfile::TempDir, Import) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, text).unwrap();
    let job = Import::open(&path, "device_accounts", &["a", "b"], &["a"]).unwrap();
    (dir, job)
}

#[test]
fn rows_carry_their_line_numbers_and_a_bom_is_ignored() {
    let (_dir, mut job) = open("\u{feff}A,b\n1,x\n\n2, y \n");
    let rows = job.rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].line, rows[0].get("a"), rows[0].get("b")),
        (2, "1", "x")
    );
    assert_eq!((rows[1].line, rows[1].get("b")), (4, "y"));
    assert_eq!(rows[1].get("missing"), "");
}

#[test]
fn a_missing_required_column_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, "b\nx\n").unwrap();
    let err = Import::open(&path, "k", &["a", "b"], &["a"]).unwrap_err();
    assert!(format!("{err:#}").contains("no a column"), "{err:#}");
}

#[test]
fn request_ids_repeat_for_the_same_file_and_row_only() {
    let (_d1, one) = open("a\n1\n2\n");
    let (_d2, same) = open("a\n1\n2\n");
    let (_d3, other) = open("a\n1\n3\n");
    assert_eq!(one.request_id(2), same.request_id(2));
    assert_ne!(one.request_id(2), one.request_id(3));
    assert_ne!(one.request_id(2), other.request_id(2));
    let id = uuid::Uuid::parse_str(&one.request_id(2)).unwrap();
    assert_eq!(id.get_version_num(), 5);
}

#[test]
fn the_report_sits_beside_the_file() {
    assert_eq!(
        errors_path(Path::new("/x/accounts.csv")),
        PathBuf::from("/x/accounts.csv.errors.csv")
    );
}

#[test]
fn flags_read_japanese_and_english() {
    assert_eq!(parse_flag("有"), Some(true));
    assert_eq!(parse_flag("TRUE"), Some(true));
    assert_eq!(parse_flag(""), Some(false));
    assert_eq!(parse_flag("無"), Some(false));
    assert_eq!(parse_flag("maybe"), None);
}
