//! `mynafleet admin audit export | verify` as an auditor runs them, the real binary against a
//! running suite: an org admin's actions land in the organization's chain; the export seals
//! the head with a signed checkpoint and writes records, checkpoints, keys and FHIR
//! AuditEvents; `verify`
//! checks the directory offline with a key file fetched once (`audit keys`). A second export
//! into the same directory continues after its last seq (no seq twice) and still verifies; a
//! field changed on disk fails verification (exit 1), naming the seq. The deployment's own
//! chain (records of no organization) is exported and verified the same way with a service
//! certificate instead of a session.
//! Build the binary first (`make test` does, or `cargo build -p mynafleet`).

use mynafleet_proto::account::v1 as pb;
use mynafleet_tests::Suite;
use mynafleet_tests::admin::AdminCli;
use std::path::Path;
use std::time::Duration;

/// Returns the seqs of an export's records.jsonl, in file order.
fn seqs(dir: &Path) -> Vec<i64> {
    std::fs::read_to_string(dir.join("records.jsonl"))
        .expect("records.jsonl written")
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("a JSON line")["seq"]
                .as_i64()
                .expect("seq")
        })
        .collect()
}

#[tokio::test]
async fn audit_export_resumes_and_verify_catches_a_changed_field() {
    let suite = Suite::start().await;
    let admin = suite.org_admin("さくら医療グループ", "sakura-admin").await;
    let dir = tempfile::tempdir().unwrap();
    let cli = AdminCli::new(&suite, dir.path());
    suite.clock.advance(Duration::from_secs(30));
    let code = suite.totp_code(&admin.totp_uri);
    cli.run(
        &["login", "--login-id", "sakura-admin"],
        &format!("{}\n{code}\n", admin.password),
    )
    .await
    .expect_code(0, "login");

    // Some actions of the org admin: an auditor created (and logging in).
    suite
        .operator(&admin, "kansa-1", pb::Role::Auditor, &[])
        .await;

    // The trusted keys, fetched once and kept apart from exports.
    let keys = cli.run(&["audit", "keys"], "").await.expect_code(0, "keys");
    assert!(
        keys.stdout.contains("mynafleet-audit-key "),
        "{}",
        keys.stdout
    );
    std::fs::write(cli.work_dir.join("trusted.keys"), &keys.stdout).unwrap();

    let export = cli.work_dir.join("export");
    let out = cli
        .run(&["audit", "export", "export", "--fhir"], "")
        .await
        .expect_code(0, "first export");
    assert!(out.stdout.contains("exported"), "{}", out.stdout);
    for file in [
        "manifest.json",
        "records.jsonl",
        "checkpoints.jsonl",
        "keys.txt",
        "audit-events.ndjson",
    ] {
        assert!(export.join(file).exists(), "{file} written");
    }
    let first = seqs(&export);
    assert!(first.len() >= 3, "records of the actions: {first:?}");
    assert_eq!(first, (1..=first.len() as i64).collect::<Vec<_>>());

    let verify = || async {
        cli.run(&["audit", "verify", "export", "--keys", "trusted.keys"], "")
            .await
    };
    let out = verify().await.expect_code(0, "verify the first export");
    assert!(
        out.stdout
            .starts_with(&format!("OK: {} records", first.len())),
        "{}",
        out.stdout
    );

    // More actions, then an export into the same directory continues it.
    suite
        .operator(&admin, "kansa-2", pb::Role::Auditor, &[])
        .await;
    let found = cli
        .run(
            &[
                "--output",
                "json",
                "audit",
                "search",
                "--action",
                "operator.create",
            ],
            "",
        )
        .await
        .expect_code(0, "search");
    let found: serde_json::Value = serde_json::from_str(&found.stdout).expect("search JSON");
    let by_admin = found
        .as_array()
        .expect("a list")
        .iter()
        .filter(|r| r["actor"] == admin.name.as_str())
        .count();
    assert_eq!(by_admin, 2, "the admin created two operators: {found}");
    cli.run(&["audit", "export", "export"], "")
        .await
        .expect_code(0, "second export");
    let second = seqs(&export);
    assert!(second.len() > first.len(), "{second:?}");
    assert_eq!(
        second,
        (1..=second.len() as i64).collect::<Vec<_>>(),
        "resumed without a seq twice or a gap"
    );
    let sizes: Vec<i64> = std::fs::read_to_string(export.join("checkpoints.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["size"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(
        sizes.windows(2).all(|w| w[0] < w[1]),
        "one line per checkpoint: {sizes:?}"
    );
    assert_eq!(sizes.last(), second.last(), "the export ends at its seal");
    let events = std::fs::read_to_string(export.join("audit-events.ndjson")).unwrap();
    assert_eq!(
        events.lines().count(),
        second.len(),
        "the continued export keeps one FHIR event per record"
    );
    let out = verify().await.expect_code(0, "verify the resumed export");
    assert!(
        out.stdout
            .starts_with(&format!("OK: {} records", second.len())),
        "{}",
        out.stdout
    );

    // tail shows the last entries, one line each.
    let tail = cli
        .run(&["audit", "tail", "-n", "3"], "")
        .await
        .expect_code(0, "tail");
    assert_eq!(tail.stdout.lines().count(), 3, "{}", tail.stdout);

    // A field changed on disk: exit 1, naming the seq.
    let path = export.join("records.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut v: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    v["actor"] = "organizations/x/operators/someone-else".into();
    lines[2] = v.to_string();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = verify().await.expect_code(1, "verify a changed export");
    assert!(
        out.stdout
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("seq 3:")),
        "{}",
        out.stdout
    );
}

#[tokio::test]
async fn the_deployment_chain_is_exported_with_a_service_certificate_and_verifies() {
    let suite = Suite::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cli = AdminCli::new(&suite, dir.path());
    // A login with a login id no organization has: a record of the deployment's chain.
    let out = cli
        .run(
            &["login", "--login-id", "no-such-operator"],
            "wrong password\n123456\n",
        )
        .await;
    assert_ne!(out.code, Some(0), "{}", out.stderr);

    // Without a certificate (and no dev data dir) the CLI says what to pass.
    let out = cli
        .run(&["audit", "export", "deployment", "--deployment"], "")
        .await
        .expect_code(1, "export without a certificate");
    assert!(out.stderr.contains("--cert and --key"), "{}", out.stderr);

    let id = suite.service_identity("e2e-tests");
    std::fs::write(cli.work_dir.join("service.pem"), &id.cert_pem).unwrap();
    std::fs::write(cli.work_dir.join("service-key.pem"), &id.key_pem).unwrap();
    let service = [
        "--deployment",
        "--cert",
        "service.pem",
        "--key",
        "service-key.pem",
    ];
    let keys = cli
        .run(&[&["audit", "keys"][..], &service[..]].concat(), "")
        .await
        .expect_code(0, "keys as a service");
    std::fs::write(cli.work_dir.join("trusted.keys"), &keys.stdout).unwrap();
    cli.run(
        &[&["audit", "export", "deployment"][..], &service[..]].concat(),
        "",
    )
    .await
    .expect_code(0, "export of the deployment chain");

    let export = cli.work_dir.join("deployment");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(export.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["origin"], "mynafleet-audit/deployment");
    let records = std::fs::read_to_string(export.join("records.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = records
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|r| r["action"] == "session.login" && r["outcome"] == "failure"),
        "{records}"
    );
    assert!(!records.contains("wrong password"));
    assert_eq!(seqs(&export), (1..=lines.len() as i64).collect::<Vec<_>>());
    let out = cli
        .run(
            &["audit", "verify", "deployment", "--keys", "trusted.keys"],
            "",
        )
        .await
        .expect_code(0, "verify the deployment export");
    assert!(out.stdout.starts_with("OK: "), "{}", out.stdout);
}
