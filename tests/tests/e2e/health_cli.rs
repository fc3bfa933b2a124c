//! `mynafleet health` as container probes run it: exit 0 against a serving service, exit 1
//! with a message naming the problem (nothing listening, the wrong CA, an unknown service).

use mynafleet_kit::tls::dev::DevPki;
use mynafleet_tests::{Suite, Target, binaries};
use std::path::Path;
use std::process::Output;

/// Runs `mynafleet health` with `args` and returns its output.
async fn health(args: &[&str]) -> Output {
    tokio::process::Command::new(binaries::path("mynafleet"))
        .arg("health")
        .args(args)
        .output()
        .await
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts the check failed with exit 1 and said every one of `needles` on stderr (`what`
/// names the case in the failure message).
#[track_caller]
fn assert_fails_saying(out: &Output, needles: &[&str], what: &str) {
    let msg = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{what}: stderr: {msg}");
    assert!(
        needles.iter().all(|n| msg.contains(n)),
        "{what}: stderr should say {needles:?}: {msg}"
    );
}

/// Writes `pem` to `dir/ca.pem` and returns its path.
fn write_ca(dir: &Path, pem: &str) -> std::path::PathBuf {
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    ca
}

#[tokio::test]
async fn health_cli_exits_0_for_every_serving_service() {
    mynafleet_tests::init_test_log();
    let suite = Suite::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), suite.ca_pem());
    for target in Target::ALL {
        let url = suite.url(target);
        let out = health(&["--url", &url, "--ca", path(&ca)]).await;
        assert!(
            out.status.success(),
            "{url}: exit {:?}, stderr: {}",
            out.status.code(),
            stderr(&out)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("SERVING"));
    }
    // A named service, and a client identity (accepted, though health needs none).
    let identity = suite.service_identity("e2e-tests");
    let (cert, key) = (
        dir.path().join("client.pem"),
        dir.path().join("client-key.pem"),
    );
    std::fs::write(&cert, &identity.cert_pem).unwrap();
    std::fs::write(&key, &identity.key_pem).unwrap();
    let out = health(&[
        "--url",
        &suite.url(Target::Account),
        "--ca",
        path(&ca),
        "--cert",
        path(&cert),
        "--key",
        path(&key),
        "--service",
        "mynafleet.account.v1.OrganizationService",
    ])
    .await;
    assert!(out.status.success(), "stderr: {}", stderr(&out));
}

#[tokio::test]
async fn health_cli_exits_1_and_says_why_when_the_check_cannot_pass() {
    mynafleet_tests::init_test_log();
    let suite = Suite::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), suite.ca_pem());

    // Nothing listens on a port that was just released.
    let stopped = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("https://localhost:{stopped}");
    let out = health(&["--url", &url, "--ca", path(&ca)]).await;
    assert_fails_saying(&out, &[&url, "unreachable"], "stopped port");

    // A CA that did not issue the server's certificate: the message names the CA file.
    let stranger = dir.path().join("stranger-ca.pem");
    std::fs::write(&stranger, DevPki::in_memory().unwrap().ca().cert_pem()).unwrap();
    let out = health(&[
        "--url",
        &suite.url(Target::Account),
        "--ca",
        path(&stranger),
    ])
    .await;
    assert_fails_saying(&out, &["tls", "stranger-ca.pem"], "wrong CA");

    // A service this server does not have.
    let out = health(&[
        "--url",
        &suite.url(Target::OqsSim),
        "--ca",
        path(&ca),
        "--service",
        "mynafleet.account.v1.OrganizationService",
    ])
    .await;
    assert_fails_saying(&out, &["does not know service"], "unknown service");

    // A CA file that is not there.
    let missing = dir.path().join("missing-ca.pem");
    let out = health(&["--url", &suite.url(Target::Account), "--ca", path(&missing)]).await;
    assert_fails_saying(&out, &["missing-ca.pem"], "missing CA");
}

#[tokio::test]
async fn health_cli_exits_1_once_the_service_has_stopped() {
    // A probe after shutdown: the port is closed, so the check fails with exit 1 and says why.
    mynafleet_tests::init_test_log();
    let suite = Suite::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), suite.ca_pem());
    let url = suite.url(Target::EligibilityProxy);
    suite.stop().await.unwrap();
    let out = health(&["--url", &url, "--ca", path(&ca)]).await;
    assert_fails_saying(&out, &["unreachable"], "stopped service");
}

#[tokio::test]
async fn health_cli_exits_1_when_a_service_reports_not_serving() {
    use mynafleet_proto::tonic::transport::Server;
    use mynafleet_proto::tonic::transport::server::TcpIncoming;
    use tonic_health::ServingStatus;

    mynafleet_tests::init_test_log();
    let pki = DevPki::in_memory().unwrap();
    let tls = pki.server_tls(pki.service_identity("account").unwrap(), None);
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("mynafleet.test.v1.Draining", ServingStatus::NotServing)
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(
        Server::builder()
            .tls_config(tls.to_tonic())
            .unwrap()
            .add_service(service)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let dir = tempfile::tempdir().unwrap();
    let ca = write_ca(dir.path(), pki.ca().cert_pem());
    let url = format!("https://localhost:{port}");

    let out = health(&["--url", &url, "--ca", path(&ca)]).await;
    assert!(out.status.success(), "whole server: {}", stderr(&out));
    let out = health(&[
        "--url",
        &url,
        "--ca",
        path(&ca),
        "--service",
        "mynafleet.test.v1.Draining",
    ])
    .await;
    assert_fails_saying(&out, &["NOT_SERVING"], "not serving");
    server.abort();
}
