//! The `mynafleet-agent` binary: `activate` with flags and piped passwords, `status`, and
//! `run` stopped by SIGTERM.

use std::process::{Command, Stdio};

use mynafleet_agent::Identity;
use mynafleet_agent::fingerprint::Fingerprint;

use crate::fake::{ACCOUNT, CODE, DEVICE, Fake, INSTITUTION, PASSWORD};
use crate::{DAY, wait_for_watch};

fn agent() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mynafleet-agent"))
}

#[tokio::test]
async fn the_binary_activates_reports_status_and_runs_until_sigterm() {
    let fake = Fake::start(DAY).await;
    fake.world.lock().unwrap().must_change_password = true;
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let fingerprint = Fingerprint::of_der(&fake.server_ca_der)
        .to_string()
        .replace(':', "")
        .to_lowercase();
    let server = fake.addr.to_string().replace("127.0.0.1", "localhost");

    let mut child = agent()
        .args(["activate", "--state-dir"])
        .arg(&state)
        .args(["--server", &server, "--institution-code", INSTITUTION])
        .args(["--account", ACCOUNT, "--code", CODE])
        .args(["--ca-fingerprint", &fingerprint])
        .args(["--password-stdin", "--new-password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{PASSWORD}\nA-Much-Better-Passw0rd").unwrap();
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains(DEVICE), "{stdout}");
    assert!(stderr.contains("temporary"), "{stderr}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    assert_eq!(
        fake.world.lock().unwrap().password,
        "A-Much-Better-Passw0rd"
    );

    let status = agent()
        .arg("status")
        .env("MYNAFLEET_AGENT_STATE_DIR", &state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    for want in [
        DEVICE,
        INSTITUTION,
        "みなと診療所",
        "renews in about",
        &fake.proxy_url(),
    ] {
        assert!(text.contains(want), "{want:?} missing from\n{text}");
    }

    // A second activate is refused with a non-zero exit and says why.
    let again = agent()
        .args(["activate", "--state-dir"])
        .arg(&state)
        .args(["--server", &server, "--institution-code", INSTITUTION])
        .args([
            "--account",
            ACCOUNT,
            "--code",
            CODE,
            "--ca-fingerprint",
            &fingerprint,
        ])
        .arg("--password-stdin")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already activated"));

    let mut run = agent()
        .arg("run")
        .arg("--state-dir")
        .arg(&state)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_watch(&fake).await;
    let killed = Command::new("kill")
        .args(["-TERM", &run.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || {
        let status = run.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut run.stderr.take().unwrap(), &mut stderr).unwrap();
        (status, stderr)
    })
    .await
    .unwrap();
    assert!(out.0.success(), "run exited {:?}:\n{}", out.0, out.1);
    assert!(out.1.contains("stopping"), "{}", out.1);
}

#[tokio::test]
async fn a_state_dir_without_a_certificate_is_not_activated() {
    let tmp = tempfile::tempdir().unwrap();
    let err = Identity::load(tmp.path()).unwrap_err();
    assert!(
        err.to_string()
            .contains("run `mynafleet-agent activate` first"),
        "{err}"
    );
    let status = agent()
        .arg("status")
        .arg("--state-dir")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!status.status.success());
}
