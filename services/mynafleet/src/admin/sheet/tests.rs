use super::*;

fn sheet(id: &str, password: &str, code: &str) -> SheetView {
    SheetView {
        institution_code: "1310112345".into(),
        institution_name: "さくら<内科>&\"クリニック\"".into(),
        account_id: id.into(),
        password: password.into(),
        activation_code: code.into(),
        activation_endpoint: "activation.example.jp:7502".into(),
        ca_fingerprint: "AB:CD".into(),
        issue_date: "2026-04-01".into(),
        account: format!("organizations/o/clinics/c/accounts/{id}"),
        code_applies: true,
        code_only: false,
    }
}

#[test]
fn sheets_print_one_a4_page_per_account_in_japanese() {
    let html = render(&[
        sheet("W0000001", "Pw1<x>", ""),
        sheet("W0000002", "", "123456789012"),
    ]);
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("@page { size: A4"));
    assert_eq!(html.matches("<section class=\"sheet\">").count(), 2);
    assert!(html.contains("page-break-after: always"));
    for label in [
        "機関コード",
        "機関名",
        "ID",
        "パスワード",
        "アクティベーションコード",
    ] {
        assert!(html.contains(&format!("<th>{label}</th>")), "{label}");
    }
    assert!(html.contains("<h1>マイナ資格確認アプリ ユーザ設定情報</h1>"));
    assert!(html.contains("1234-5678-9012"));
    assert!(html.contains("未発行 — mynafleet admin codes issue W0000001"));
    assert!(
        html.contains("再表示できません"),
        "a replay carries no password"
    );
}

#[test]
fn every_value_is_html_escaped() {
    let html = render(&[sheet("W0000001", "Pw1<x>&'", "")]);
    assert!(html.contains("さくら&lt;内科&gt;&amp;&quot;クリニック&quot;"));
    assert!(html.contains("Pw1&lt;x&gt;&amp;&#39;"));
    assert!(!html.contains("<内科>"));
}

#[test]
fn activation_codes_print_in_groups_of_four() {
    assert_eq!(activation_code_4_4_4("123456789012"), "1234-5678-9012");
    assert_eq!(activation_code_4_4_4("1234-5678-9012"), "1234-5678-9012");
    assert_eq!(activation_code_4_4_4("12345"), "12345");
}

#[test]
fn sheet_files_are_private_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), &[sheet("W0000001", "x", "")]).unwrap();
    let b = write(dir.path(), &[sheet("W0000002", "y", "")]).unwrap();
    assert_ne!(a, b);
    assert!(std::fs::read_to_string(&a).unwrap().contains("W0000001"));
    assert!(std::fs::read_to_string(&b).unwrap().contains("W0000002"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[test]
fn administrator_sheets_say_no_code_applies_and_code_only_sheets_hold_no_password() {
    let mut admin = sheet("W0000003", "Pw1", "");
    admin.code_applies = false;
    let html = render(&[admin]);
    assert!(html.contains("対象外"));
    assert!(!html.contains("未発行"));

    let mut code_only = sheet("W0000004", "", "111122223333");
    code_only.code_only = true;
    let html = render(&[code_only]);
    assert!(html.contains("1111-2222-3333"));
    assert!(html.contains("記載なし"));
    assert!(!html.contains("再表示できません"));
}

#[test]
fn a_named_sheet_file_is_private_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("W0000001.html");
    write_to(&path, &[sheet("W0000001", "", "111122223333")]).unwrap();
    let err = write_to(&path, &[sheet("W0000001", "", "444455556666")]).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err:#}");
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.contains("1111-2222-3333") && !html.contains("4444"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
