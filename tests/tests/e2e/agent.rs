//! The real `mynafleet-agent` against the suite (issue #4): `activate` over TLS with the CA
//! pinned by the fingerprint printed on the sheet, the temporary password changed on the
//! way, `status`, and the proxy's who-am-I with the certificate it got; then 10-second
//! certificates renewing again and again under one long-lived stream to the proxy.

use mynafleet_agent::Identity;
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::agent::v1 as agent_pb;
use mynafleet_tests::fleet::TestAccount;
use mynafleet_tests::operators::Operator;
use mynafleet_tests::terminal_host::activated_state_dir;
use mynafleet_tests::{DEADLINE, Suite, SuiteOptions, Target, binaries};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

const NEW_PASSWORD: &str = "Houmon-Shinryou-2026";

async fn suite_with_account(options: SuiteOptions) -> (Suite, TestAccount) {
    let (suite, account, _) = suite_with_admin(options).await;
    (suite, account)
}

async fn suite_with_admin(options: SuiteOptions) -> (Suite, TestAccount, Operator) {
    let suite = Suite::start_with(options).await;
    let admin = suite
        .org_admin("やまびこ在宅医療会", "yamabiko-admin")
        .await;
    let clinic = suite
        .clinic(&admin, "3410712362", "やまびこ在宅クリニック", true)
        .await;
    let account = suite
        .device_account(&admin, &clinic, account_pb::Privilege::MedicalInfo)
        .await;
    (suite, account, admin)
}

fn activation_endpoint(suite: &Suite) -> String {
    // As the sheet prints it: host and port, no scheme.
    suite
        .url(Target::Activation)
        .trim_start_matches("https://")
        .to_owned()
}

async fn run_agent(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(binaries::path("mynafleet-agent"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start mynafleet-agent");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("mynafleet-agent finished within the deadline")
        .unwrap()
}

#[tokio::test]
async fn the_agent_activates_with_a_pinned_ca_and_its_certificate_works_at_the_proxy() {
    let (suite, account) = suite_with_account(SuiteOptions::default()).await;
    assert!(!account.sheet_code.is_empty(), "the sheet carries a code");
    let state = tempfile::tempdir().unwrap();
    let dir = state.path().to_str().unwrap();
    let pin = mynafleet_kit::tls::fingerprint_pem(suite.ca_pem());
    let server = activation_endpoint(&suite);
    let stdin = format!("{}\n{NEW_PASSWORD}\n", account.password);
    let args = |pin: &str| {
        vec![
            "--state-dir".to_owned(),
            dir.to_owned(),
            "activate".to_owned(),
            "--server".to_owned(),
            server.clone(),
            "--ca-fingerprint".to_owned(),
            pin.to_owned(),
            "--institution-code".to_owned(),
            account.institution_code.clone(),
            "--account".to_owned(),
            account.account_id.clone(),
            "--code".to_owned(),
            account.sheet_code.clone(),
            "--password-stdin".to_owned(),
            "--new-password-stdin".to_owned(),
        ]
    };

    // A wrong pin: nothing is sent, and the error names both fingerprints.
    let wrong = pin.replace(&pin[..2], if &pin[..2] == "00" { "11" } else { "00" });
    let a = args(&wrong);
    let out = run_agent(&a.iter().map(String::as_str).collect::<Vec<_>>(), &stdin).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a wrong pin must fail");
    assert!(
        stderr.contains(&pin) || stderr.contains(&pin.replace(':', "").to_lowercase()),
        "the error names the presented CA: {stderr}"
    );
    assert!(!state.path().join("cert.pem").exists());

    // The right pin, written in lower case without colons as staff might type it.
    let typed = pin.replace(':', "").to_lowercase();
    let a = args(&typed);
    let out = run_agent(&a.iter().map(String::as_str).collect::<Vec<_>>(), &stdin).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "activate failed: {stderr}");
    for secret in [
        &account.password,
        &account.sheet_code,
        &NEW_PASSWORD.to_owned(),
    ] {
        assert!(
            !stderr.contains(secret.as_str())
                && !String::from_utf8_lossy(&out.stdout).contains(secret.as_str()),
            "the agent printed a secret"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(state.path().join("key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the device key is private");
    }

    let out = run_agent(&["--state-dir", dir, "status"], "").await;
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(status.contains(&account.account_id), "{status}");
    assert!(status.contains(&account.institution_code), "{status}");

    // The certificate works for the whole chain: agent → proxy → activation's registry.
    let identity = Identity::load(state.path()).unwrap();
    let proxy = identity.record().proxy_urls[0].clone();
    let me =
        agent_pb::agent_service_client::AgentServiceClient::new(identity.channel(&proxy).unwrap())
            .who_am_i(agent_pb::WhoAmIRequest {})
            .await
            .unwrap()
            .into_inner();
    assert_eq!(me.account, account.name);
    assert_eq!(me.device, identity.record().device);

    // The sheet's password was temporary: it no longer opens the account.
    let again = run_agent(&a.iter().map(String::as_str).collect::<Vec<_>>(), &stdin).await;
    assert!(
        !again.status.success(),
        "a second activation into the same state dir"
    );
}

#[tokio::test]
async fn ten_second_certificates_renew_repeatedly_under_one_open_stream() {
    let options = SuiteOptions {
        certificate_lifetime: Duration::from_secs(10),
        ..SuiteOptions::default()
    };
    let (suite, account) = suite_with_account(options).await;
    let state = activated_state_dir(&suite, &account).await;

    let identity = Identity::load(state.path()).unwrap();
    let first_serial = identity.certificate().serial;
    let proxy = identity.record().proxy_urls[0].clone();
    let mut stream =
        agent_pb::agent_service_client::AgentServiceClient::new(identity.channel(&proxy).unwrap())
            .watch_device(agent_pb::WatchDeviceRequest {})
            .await
            .expect("open the long-lived stream")
            .into_inner();

    let stop = tokio_util::sync::CancellationToken::new();
    let renewal = mynafleet_agent::spawn_renewal(identity.clone(), {
        let stop = stop.clone();
        async move { stop.cancelled().await }
    });
    let mut renewals = identity.renewals();
    let mut heartbeats = 0u32;
    // Three renewals take about 21 s; the first certificate has long expired by then.
    let wait = tokio::time::timeout(Duration::from_secs(45), async {
        loop {
            tokio::select! {
                changed = renewals.changed() => {
                    changed.expect("the renewal task is alive");
                    if *renewals.borrow() >= 3 {
                        break;
                    }
                }
                msg = stream.message() => {
                    let msg = msg.expect("the stream survives renewals").expect("the stream stays open");
                    assert_eq!(msg.status, mynafleet_proto::activation::v1::DeviceStatus::Active as i32);
                    heartbeats += 1;
                }
            }
        }
    })
    .await;
    assert!(
        wait.is_ok(),
        "fewer than 3 renewals in 45 s ({} so far)",
        *renewals.borrow()
    );
    assert!(heartbeats > 10, "the stream kept beating ({heartbeats})");
    // Still open after the last renewal, though the certificate it was opened with expired.
    stream
        .message()
        .await
        .expect("the stream survives renewals")
        .expect("the stream stays open");
    assert_ne!(identity.certificate().serial, first_serial);
    assert!(identity.certificate().not_after > time::OffsetDateTime::now_utc());
    // New calls use the renewed certificate.
    agent_pb::agent_service_client::AgentServiceClient::new(identity.channel(&proxy).unwrap())
        .who_am_i(agent_pb::WhoAmIRequest {})
        .await
        .expect("a new call with the renewed certificate");
    stop.cancel();
    renewal.await.unwrap();
}

/// Returns the first `1234-5678-9012` in `text`.
fn printed_code(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .find(|w| {
            let parts: Vec<&str> = w.split('-').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_owned)
}

#[tokio::test]
async fn operators_issue_codes_and_cut_terminals_with_mynafleet_admin() {
    use mynafleet_tests::admin::AdminCli;
    let (suite, account, admin) = suite_with_admin(SuiteOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let cli = AdminCli::new(&suite, dir.path());
    let activation = suite.url(Target::Activation);
    let admin_args = |rest: &[&str]| {
        let mut v = vec!["--activation-url", activation.as_str()];
        v.extend_from_slice(rest);
        v.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    suite.clock.advance(Duration::from_secs(30));
    let totp = suite.totp_code(&admin.totp_uri);
    cli.run(
        &["login", "--login-id", &admin.login_id],
        &format!("{}\n{totp}\n", admin.password),
    )
    .await
    .expect_code(0, "login");

    // A new code for the account (the sheet's is revoked by it), printed once.
    let a = admin_args(&["codes", "issue", &account.account_id]);
    let out = cli
        .run(&a.iter().map(String::as_str).collect::<Vec<_>>(), "")
        .await
        .expect_code(0, "codes issue");
    let code = printed_code(&out.stdout).unwrap_or_else(|| panic!("no code in {}", out.stdout));
    assert_ne!(code, account.sheet_code);

    // The terminal activates with it.
    let state = tempfile::tempdir().unwrap();
    let fingerprint = mynafleet_kit::tls::fingerprint_pem(suite.ca_pem());
    let server = activation_endpoint(&suite);
    let out = run_agent(
        &[
            "--state-dir",
            state.path().to_str().unwrap(),
            "activate",
            "--server",
            &server,
            "--ca-fingerprint",
            &fingerprint,
            "--institution-code",
            &account.institution_code,
            "--account",
            &account.account_id,
            "--code",
            &code,
            "--password-stdin",
            "--new-password-stdin",
        ],
        &format!("{}\n{NEW_PASSWORD}\n", account.password),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The fleet view lists it; suspending it by its account ID cuts it at the proxy.
    let a = admin_args(&["devices", "list"]);
    let out = cli
        .run(&a.iter().map(String::as_str).collect::<Vec<_>>(), "")
        .await
        .expect_code(0, "devices list");
    assert!(out.stdout.contains(&account.account_id), "{}", out.stdout);
    let a = admin_args(&[
        "devices",
        "suspend",
        &account.account_id,
        "--reason",
        "タブレット紛失",
    ]);
    cli.run(&a.iter().map(String::as_str).collect::<Vec<_>>(), "")
        .await
        .expect_code(0, "devices suspend");
    let identity = Identity::load(state.path()).unwrap();
    let proxy = identity.record().proxy_urls[0].clone();
    let since = std::time::Instant::now();
    let refusal = loop {
        match agent_pb::agent_service_client::AgentServiceClient::new(
            identity.channel(&proxy).unwrap(),
        )
        .who_am_i(agent_pb::WhoAmIRequest {})
        .await
        {
            Err(e) => break e,
            Ok(_) => assert!(since.elapsed() < DEADLINE, "the proxy kept the device"),
        }
    };
    assert_eq!(
        mynafleet_kit::status::reason_of(&refusal).as_deref(),
        Some("DEVICE_SUSPENDED")
    );

    // Replacing the lost terminal: revoked, and a new code for its account.
    let a = admin_args(&[
        "devices",
        "replace",
        &account.account_id,
        "--reason",
        "紛失のため交換",
    ]);
    let out = cli
        .run(&a.iter().map(String::as_str).collect::<Vec<_>>(), "")
        .await
        .expect_code(0, "devices replace");
    let new_code = printed_code(&out.stdout).unwrap_or_else(|| panic!("no code in {}", out.stdout));
    assert_ne!(new_code, code);
    let out = run_agent(
        &["--state-dir", state.path().to_str().unwrap(), "status"],
        "",
    )
    .await;
    assert!(out.status.success());
}
