//! The `mynafleet` binary as operators run it: `serve <service> --config FILE` against SQLite
//! and PostgreSQL, and `dev` keeping its data across a restart. Both stop cleanly on a signal.

use mynafleet_kit::db::testing::fresh_database;
use mynafleet_kit::tls::dev::DevPki;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::transport::Channel;
use mynafleet_tests::child::{dev, stop};
use mynafleet_tests::{Backend, DEADLINE, binaries, health};
use pb::organization_service_client::OrganizationServiceClient;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

mynafleet_tests::on_both_backends!(
    serve_account_runs_from_a_config_file_and_keeps_data_across_restarts
);

/// Returns a port that was free a moment ago. A child process binds its own listener, so the
/// port cannot be handed over bound; the window between release and reuse is tiny.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn client(pki: &DevPki, port: u16) -> Channel {
    pki.client_tls(Some(pki.service_identity("e2e-tests").unwrap()))
        .lazy_channel(
            &format!("https://localhost:{port}"),
            Duration::from_secs(10),
        )
        .unwrap()
}

fn anonymous(pki: &DevPki, port: u16) -> Channel {
    pki.client_tls(None)
        .lazy_channel(
            &format!("https://localhost:{port}"),
            Duration::from_secs(10),
        )
        .unwrap()
}

async fn create(channel: Channel, name: &str) -> pb::Organization {
    OrganizationServiceClient::new(channel)
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                display_name: name.into(),
                ..Default::default()
            }),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap()
}

async fn get(channel: Channel, name: &str) -> pb::Organization {
    OrganizationServiceClient::new(channel)
        .get_organization(pb::GetOrganizationRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap()
}

fn serve_account(config: &Path, database_url: &str, log: &Path) -> Child {
    Command::new(binaries::path("mynafleet"))
        .args(["serve", "account", "--config"])
        .arg(config)
        // The variable overrides the file's database_url (which points nowhere useful).
        .env("MYNAFLEET_ACCOUNT_SERVER__DATABASE_URL", database_url)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn serve_account_runs_from_a_config_file_and_keeps_data_across_restarts(backend: Backend) {
    mynafleet_tests::init_test_log();
    let dir = tempfile::tempdir().unwrap();
    let pki = DevPki::load_or_create(&dir.path().join("certs")).unwrap();
    pki.service_identity("account").unwrap();
    let db = fresh_database(backend).await;
    let port = free_port();
    let certs = dir.path().join("certs");
    let config = dir.path().join("account.toml");
    mynafleet_account::Keys::load_or_create(dir.path()).unwrap();
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\nproduction = true\n\
             metrics_listen = \"127.0.0.1:0\"\n\
             database_url = \"sqlite:///nonexistent/overridden.db\"\n\
             [server.tls]\ncert = {:?}\nkey = {:?}\nservice_ca = {:?}\n\
             [keys]\ntotp_key_file = {:?}\nreference_key_file = {:?}\n\
             audit_signing_key_file = {:?}\n",
            certs.join("account.pem"),
            certs.join("account-key.pem"),
            certs.join("ca.pem"),
            dir.path().join("totp.key"),
            dir.path().join("reference.key"),
            dir.path().join("audit-signing.key"),
        ),
    )
    .unwrap();
    let log = dir.path().join("serve.log");

    let child = serve_account(&config, &db.url, &log);
    health::wait_serving(
        anonymous(&pki, port),
        "mynafleet.account.v1.OrganizationService",
        DEADLINE,
    )
    .await;
    let made = create(client(&pki, port), "つばさ医療生協").await;
    assert!(
        stop(child, "TERM").await,
        "serve exits 0 on SIGTERM; log: {}",
        log.display()
    );

    let child = serve_account(&config, &db.url, &log);
    health::wait_serving(anonymous(&pki, port), "", DEADLINE).await;
    assert_eq!(get(client(&pki, port), &made.name).await, made);
    assert!(stop(child, "INT").await, "serve exits 0 on Ctrl-C");
}

#[tokio::test]
async fn serve_explains_a_missing_config_file() {
    let out = std::process::Command::new(binaries::path("mynafleet"))
        .args(["serve", "account", "--config", "/nonexistent/account.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/account.toml"), "{err}");
    assert!(err.contains("no such file"), "{err}");
}

async fn wait_for_endpoints(path: &Path, child: &mut Child) -> serde_json::Value {
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            tick.tick().await;
            if let Some(status) = child.try_wait().unwrap() {
                panic!("mynafleet dev exited early with {status}");
            }
            if let Ok(text) = std::fs::read_to_string(path)
                && let Ok(v) = serde_json::from_str(&text)
            {
                return v;
            }
        }
    })
    .await
    .expect("endpoints.json did not appear")
}

fn port_of(endpoints: &serde_json::Value, key: &str) -> u16 {
    endpoints[key]
        .as_str()
        .and_then(|s| s.rsplit_once(':'))
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("endpoints.json has no port for {key}: {endpoints}"))
}

#[tokio::test]
async fn dev_keeps_its_data_and_ca_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("dev");
    let endpoints_path = data.join("endpoints.json");

    let mut child = dev(&data).spawn().unwrap();
    let endpoints = wait_for_endpoints(&endpoints_path, &mut child).await;
    let ca_before = std::fs::read_to_string(data.join("certs/ca.pem")).unwrap();
    let pki = DevPki::load_or_create(&data.join("certs")).unwrap();
    let made = create(
        client(&pki, port_of(&endpoints, "account")),
        "デモ医療グループ",
    )
    .await;
    assert!(stop(child, "INT").await, "dev exits 0 on Ctrl-C");
    assert!(
        !endpoints_path.exists(),
        "a stopped dev leaves no stale endpoints.json"
    );

    let mut child = dev(&data).spawn().unwrap();
    let endpoints = wait_for_endpoints(&endpoints_path, &mut child).await;
    assert_eq!(
        std::fs::read_to_string(data.join("certs/ca.pem")).unwrap(),
        ca_before
    );
    assert_eq!(
        get(client(&pki, port_of(&endpoints, "account")), &made.name).await,
        made
    );
    assert!(stop(child, "TERM").await, "dev exits 0 on SIGTERM");
}
