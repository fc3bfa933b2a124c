//! `mynafleet admin` as an operator runs it, the real binary against a running suite (on
//! SQLite): bootstrap through the account service's config file, login with password + TOTP,
//! the initial password changed, a clinic registered, 50 accounts imported from a CSV with
//! two bad rows (reported by row number; the 48 others issued, with their sheets filed), and
//! the accounts listed as a table and as JSON. Also `mynafleet dev`'s demo organization: its
//! first operator printed once, logged in through endpoints.json, its two clinics listed.
//! Build the binary first (`make test` does, or `cargo build -p mynafleet`).

use mynafleet_tests::admin::AdminCli;
use mynafleet_tests::{DEADLINE, Suite, binaries};
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The clinic's 機関コード (東京都, 医科; check digit 5 over the 9 preceding digits).
const CODE: &str = "1310112345";
/// The password the test changes the initial one to.
const NEW_PASSWORD: &str = "Sakura-Kanri-2026!";
/// CSV lines (the header is line 1) of the two bad rows.
const UNKNOWN_CODE_LINE: u64 = 11;
const BAD_PRIVILEGE_LINE: u64 = 31;

/// Returns the account CSV: 50 data rows, two of them bad.
fn accounts_csv() -> String {
    let mut csv = String::from("institution_code,privilege,note\n");
    for line in 2..=51u64 {
        let row = match line {
            UNKNOWN_CODE_LINE => "1310199991,一般,存在しない機関".to_owned(),
            BAD_PRIVILEGE_LINE => format!("{CODE},超管理者,権限の誤り"),
            _ => format!("{CODE},一般,受付端末{line}"),
        };
        csv.push_str(&row);
        csv.push('\n');
    }
    csv
}

#[cfg(unix)]
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn admin_cli_bootstraps_logs_in_imports_accounts_and_lists_them() {
    let suite = Suite::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = suite.write_account_config(dir.path());
    let cli = AdminCli::new(&suite, dir.path());
    let config = config.to_str().unwrap();

    // Bootstrap: credentials once, as JSON for the test to read.
    let out = cli
        .run(
            &[
                "--output",
                "json",
                "bootstrap",
                "--config",
                config,
                "--organization",
                "さくら医療グループ",
                "--login-id",
                "sakura-admin",
                "--display-name",
                "管理 花子",
            ],
            "",
        )
        .await
        .expect_code(0, "bootstrap");
    let made: serde_json::Value = serde_json::from_str(&out.stdout).expect("bootstrap prints JSON");
    let password = made["password"].as_str().unwrap().to_owned();
    let totp_uri = made["totp_uri"].as_str().unwrap().to_owned();
    assert_eq!(made["login_id"], "sakura-admin");
    assert!(totp_uri.starts_with("otpauth://totp/"), "{totp_uri}");
    assert!(password.len() >= 12, "generated password {password:?}");

    // A second bootstrap with the same login id is refused, with the reason.
    let again = cli
        .run(
            &[
                "bootstrap",
                "--config",
                config,
                "--organization",
                "別のグループ",
                "--login-id",
                "sakura-admin",
                "--display-name",
                "別人",
            ],
            "",
        )
        .await;
    assert_eq!(again.code, Some(1), "{again:?}");
    assert!(again.stderr.contains("LOGIN_ID_TAKEN"), "{}", again.stderr);

    // Login with password + the TOTP code of the suite clock's current step.
    suite.clock.advance(Duration::from_secs(30));
    let code = suite.totp_code(&totp_uri);
    let out = cli
        .run(
            &["login", "--login-id", "sakura-admin"],
            &format!("{password}\n{code}\n"),
        )
        .await
        .expect_code(0, "login");
    assert!(
        out.stdout.contains("logged in as sakura-admin (org_admin)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("mynafleet admin password"),
        "{}",
        out.stderr
    );
    let session = cli.config_dir.join("session.json");
    let stored = std::fs::read_to_string(&session).unwrap();
    assert!(
        !stored.contains(&password),
        "the session file holds no password"
    );
    #[cfg(unix)]
    assert_eq!(mode(&session), 0o600, "session file mode");

    // Until the initial password changes, the CLI says what to do.
    let refused = cli.run(&["clinics", "list"], "").await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains("run `mynafleet admin password`"),
        "{}",
        refused.stderr
    );
    cli.run(
        &["password"],
        &format!("{password}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n"),
    )
    .await
    .expect_code(0, "change password");
    let out = cli.run(&["whoami"], "").await.expect_code(0, "whoami");
    assert!(out.stdout.contains("sakura-admin"), "{}", out.stdout);

    // A clinic.
    let out = cli
        .run(
            &[
                "clinics",
                "create",
                "--institution-code",
                CODE,
                "--kind",
                "医科",
                "--name",
                "さくら内科クリニック",
            ],
            "",
        )
        .await
        .expect_code(0, "create clinic");
    assert!(out.stdout.contains(CODE), "{}", out.stdout);
    assert!(
        out.stdout.contains("さくら内科クリニック"),
        "{}",
        out.stdout
    );

    // 50 accounts from a CSV, two rows bad: 48 issued, exit code 2, both rows reported.
    let csv = cli.work_dir.join("accounts.csv");
    std::fs::write(&csv, accounts_csv()).unwrap();
    let csv_arg = csv.to_str().unwrap();
    let import = async || {
        cli.run_within(
            &["accounts", "import", csv_arg, "--sheet-dir", "sheets"],
            "",
            Duration::from_secs(120),
        )
        .await
    };
    let out = import().await.expect_code(2, "import with two bad rows");
    assert!(
        out.stderr.contains("48 of 50 rows imported"),
        "{}",
        out.stderr
    );
    for line in [UNKNOWN_CODE_LINE, BAD_PRIVILEGE_LINE] {
        assert!(
            out.stderr.contains(&format!("row {line} ")),
            "row {line} reported:\n{}",
            out.stderr
        );
    }
    let report = std::fs::read_to_string(cli.work_dir.join("accounts.csv.errors.csv"))
        .expect("error report written beside the CSV");
    let mut report_rows: Vec<&str> = report.lines().collect();
    assert_eq!(report_rows.remove(0), "row,field,message");
    assert_eq!(report_rows.len(), 2, "{report}");
    assert!(
        report_rows[0].starts_with(&format!("{UNKNOWN_CODE_LINE},institution_code,")),
        "{report}"
    );
    assert!(
        report_rows[1].starts_with(&format!("{BAD_PRIVILEGE_LINE},privilege,")),
        "{report}"
    );
    // The issued accounts' sheets: one printable A4 page each, in a file only the user reads.
    let sheets: Vec<_> = std::fs::read_dir(cli.work_dir.join("sheets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(sheets.len(), 1, "one sheet file per command: {sheets:?}");
    let html = std::fs::read_to_string(&sheets[0]).unwrap();
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("@page { size: A4"));
    assert_eq!(html.matches("<section class=\"sheet\">").count(), 48);
    assert_eq!(
        html.matches("マイナ資格確認アプリ ユーザ設定情報").count(),
        49
    );
    assert!(html.contains("W0000001") && html.contains("W0000048"));
    #[cfg(unix)]
    assert_eq!(mode(&sheets[0]), 0o600, "sheet file mode");

    // The same file again replays the rows it already imported instead of duplicating them.
    import().await.expect_code(2, "re-import of the same file");

    // The list as a table, and as JSON.
    let out = cli
        .run(&["accounts", "list"], "")
        .await
        .expect_code(0, "list accounts");
    for expected in [
        "アカウントID",
        "ステータス",
        "利用開始年月日",
        "備考",
        "W0000001",
        "W0000048",
        "利用可",
        "受付端末2",
        "48 件",
    ] {
        assert!(
            out.stdout.contains(expected),
            "{expected} in:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("W0000049"), "{}", out.stdout);
    let out = cli
        .run(&["--output", "json", "accounts", "list"], "")
        .await
        .expect_code(0, "list accounts as JSON");
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&out.stdout).expect("accounts list prints a JSON array");
    assert_eq!(listed.len(), 48);
    let ids: Vec<&str> = listed
        .iter()
        .map(|a| a["account_id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (1..=48).map(|n| format!("W{n:07}")).collect();
    assert_eq!(ids, expected);
    for a in &listed {
        assert_eq!(a["status"], "available");
        assert_eq!(a["privilege"], "general");
        assert_eq!(a["institution_code"], CODE);
    }
    assert_eq!(listed[0]["note"], "受付端末2");
}

/// Starts `mynafleet dev` on free ports and returns it with what it printed up to "Press
/// Ctrl-C to stop." (the rest of its output is drained in the background).
async fn start_dev(data_dir: &std::path::Path) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt as _;
    let mut child = mynafleet_tests::child::dev(data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            printed.push_str(&line);
            printed.push('\n');
            if line.contains("Press Ctrl-C to stop.") {
                return;
            }
        }
        panic!("mynafleet dev ended early:\n{printed}");
    })
    .await
    .unwrap_or_else(|_| panic!("mynafleet dev did not get ready"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, printed)
}

async fn interrupt(child: tokio::process::Child) {
    assert!(
        mynafleet_tests::child::stop(child, "INT").await,
        "dev exits 0 on Ctrl-C"
    );
}

/// Returns the value printed after `label` on its own line of `text`.
fn printed_value<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{text}"))
}

#[tokio::test]
async fn dev_bootstraps_a_demo_organization_with_two_clinics_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let (child, printed) = start_dev(&data).await;
    assert!(printed.contains("デモ医療グループ"), "{printed}");
    assert!(printed.contains("shown ONCE"), "{printed}");
    let login_id = printed_value(&printed, "login id").to_owned();
    let password = printed_value(&printed, "password").to_owned();
    let uri = printed_value(&printed, "TOTP URI").to_owned();

    // The CLI finds endpoint and CA in the dev data dir's endpoints.json. Dev mode used the
    // current TOTP step; the next one is within the server's one-step skew.
    let totp = totp_rs::Totp::from_url(&uri).unwrap();
    let next = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 30;
    let cli = |args: &[&str], stdin: String| {
        let mut cmd = tokio::process::Command::new(binaries::path("mynafleet"));
        cmd.arg("admin")
            .arg("--dev-data-dir")
            .arg(&data)
            .arg("--config-dir")
            .arg(dir.path().join("config"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        async move {
            let mut child = cmd.spawn().unwrap();
            let mut input = child.stdin.take().unwrap();
            tokio::io::AsyncWriteExt::write_all(&mut input, stdin.as_bytes())
                .await
                .unwrap();
            drop(input);
            tokio::time::timeout(DEADLINE, child.wait_with_output())
                .await
                .expect("mynafleet admin finished in time")
                .unwrap()
        }
    };
    let out = cli(
        &["login", "--login-id", &login_id],
        format!("{password}\n{}\n", totp.generate(next)),
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    let out = cli(&["--output", "json", "clinics", "list"], String::new()).await;
    assert!(out.status.success(), "{out:?}");
    let clinics: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = clinics
        .iter()
        .map(|c| c["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["デモ内科クリニック", "デモ歯科医院"]);
    interrupt(child).await;

    // A later start says the operator exists and shows no credentials.
    let (child, printed) = start_dev(&data).await;
    assert!(printed.contains("exists"), "{printed}");
    assert!(!printed.contains(&password), "{printed}");
    assert!(!printed.contains("TOTP URI"), "{printed}");
    interrupt(child).await;
}
