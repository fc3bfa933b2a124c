//! The suite as an operator runs it (issue #8): `mynafleet deploy init` writes certificates,
//! keys and configuration files, and each service runs as its own `mynafleet serve`
//! process on a fresh PostgreSQL database — several activation and eligibility-proxy
//! replicas sharing theirs — as docs/operations.md tells a newcomer to do. Only ports and
//! database URLs differ from the generated files, and only through `MYNAFLEET_<SVC>_…`
//! variables. The first operator comes from `mynafleet admin bootstrap`.
//!
//! Every child is killed when the cluster is dropped; logs stay in the cluster's directory,
//! and a failing test prints their paths and last lines (the directory is then kept).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mynafleet_kit::db::Backend;
use mynafleet_kit::db::testing::{TestDatabase, fresh_database};
use mynafleet_kit::tls::ClientTls;
use mynafleet_proto::tonic::transport::Channel;
use tokio::process::{Child, Command};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{binaries, health, ports};

mod fleet;

pub use fleet::Admin;

/// How long a cluster may take to come up (debug binaries, migrations on PostgreSQL).
pub const START_DEADLINE: Duration = Duration::from_secs(60);
/// Whether `mynafleet serve` reads `[server] metrics_listen` (each process gets a free port).
const METRICS: bool = true;

/// How many replicas to run.
#[derive(Clone, Copy, Debug)]
pub struct ClusterOptions {
    /// Activation replicas (one database).
    pub activations: usize,
    /// Eligibility-proxy replicas (one database); replica `i` watches activation `i % n`.
    pub proxies: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            activations: 2,
            proxies: 2,
        }
    }
}

/// One `mynafleet serve` process.
#[derive(Debug)]
pub struct Node {
    /// Which service it runs (`account`, `activation`, …).
    pub service: &'static str,
    /// Its name in this cluster, e.g. `eligibility-proxy-1`.
    pub name: String,
    /// Its gRPC port on 127.0.0.1.
    pub port: u16,
    /// Its metrics port on 127.0.0.1 (when `serve` has one).
    pub metrics_port: u16,
    /// Where its stderr goes.
    pub log: PathBuf,
    config: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Node {
    /// Returns its URL (service certificates name `localhost`).
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open the node's log");
        let child = Command::new(binaries::path("mynafleet"))
            .args(["serve", self.service, "--config"])
            .arg(&self.config)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "info,h2=info,hyper=info,tower=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start mynafleet serve {}: {e}", self.service));
        self.child = Some(child);
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Kills the process with SIGKILL (no draining) and waits for it.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("SIGKILL the node");
            let _ = child.wait().await;
        }
    }
}

/// A running cluster.
#[derive(Debug)]
pub struct Cluster {
    /// The account service.
    pub account: Node,
    /// The activation replicas.
    pub activations: Vec<Node>,
    /// The eligibility-proxy replicas.
    pub proxies: Vec<Node>,
    /// The OQS simulator.
    pub oqs_sim: Node,
    /// What `deploy init` wrote (certs/, keys/, config/).
    pub deploy: PathBuf,
    ca_pem: String,
    databases: Vec<TestDatabase>,
    dir: Option<tempfile::TempDir>,
    /// Held while the cluster lives (see [`ports::lock`]).
    _ports: std::fs::File,
}

/// The PostgreSQL server of `database_url` without the database name.
fn server_of(database_url: &str) -> String {
    let main = database_url.split('?').next().unwrap_or(database_url);
    let after = main.find("://").map_or(0, |i| i + 3);
    match main[after..].find('/') {
        Some(i) => main[..after + i].to_owned(),
        None => main.to_owned(),
    }
}

impl Cluster {
    /// Runs `deploy init`, starts every process and waits until each reports SERVING.
    pub async fn start(options: ClusterOptions) -> Self {
        crate::init_test_log();
        let dir = tempfile::tempdir().expect("cluster directory");
        let account_db = fresh_database(Backend::Postgres).await;
        let activation_db = fresh_database(Backend::Postgres).await;
        let proxy_db = fresh_database(Backend::Postgres).await;
        let deploy = dir.path().join("deploy");
        let init = std::process::Command::new(binaries::path("mynafleet"))
            .args(["deploy", "init", "--out"])
            .arg(&deploy)
            .args(["--postgres", &server_of(&account_db.url)])
            .output()
            .expect("run mynafleet deploy init");
        assert!(
            init.status.success(),
            "deploy init failed:\n{}",
            String::from_utf8_lossy(&init.stderr)
        );
        let ca_pem = std::fs::read_to_string(deploy.join("certs/ca.pem")).expect("read ca.pem");

        let ports = tokio::task::spawn_blocking(ports::lock)
            .await
            .expect("take the cluster ports lock");
        let mut taken = std::collections::HashSet::new();
        let mut node = |service: &'static str, name: String| Node {
            service,
            port: ports::free(&mut taken),
            metrics_port: ports::free(&mut taken),
            log: dir.path().join(format!("{name}.log")),
            name,
            config: deploy.join(format!("config/{service}.toml")),
            env: Vec::new(),
            child: None,
        };
        let mut account = node("account", "account".into());
        let mut activations: Vec<Node> = (0..options.activations.max(1))
            .map(|i| node("activation", format!("activation-{i}")))
            .collect();
        let mut proxies: Vec<Node> = (0..options.proxies.max(1))
            .map(|i| node("eligibility-proxy", format!("eligibility-proxy-{i}")))
            .collect();
        let mut oqs_sim = node("oqs-sim", "oqs-sim".into());

        let proxy_urls = format!(
            "[{}]",
            proxies
                .iter()
                .map(|p| format!("\"{}\"", p.url()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let account_url = account.url();
        let activation_urls: Vec<String> = activations.iter().map(Node::url).collect();
        let oqs_url = oqs_sim.url();
        set(&mut account, "SERVER__DATABASE_URL", &account_db.url);
        set(&mut account, "PEERS__ACTIVATION_URL", &activation_urls[0]);
        let sheet_endpoint = format!("localhost:{}", activations[0].port);
        set(&mut account, "SHEET__ACTIVATION_ENDPOINT", &sheet_endpoint);
        for a in &mut activations {
            set(a, "SERVER__DATABASE_URL", &activation_db.url);
            set(a, "PEERS__ACCOUNT_URL", &account_url);
            set(a, "PEERS__PROXY_URLS", &proxy_urls);
        }
        for (i, p) in proxies.iter_mut().enumerate() {
            set(p, "SERVER__DATABASE_URL", &proxy_db.url);
            set(
                p,
                "PEERS__ACTIVATION_URL",
                &activation_urls[i % activation_urls.len()],
            );
            set(p, "PEERS__ACCOUNT_URL", &account_url);
            set(p, "UPSTREAM__URL", &oqs_url);
        }
        for n in std::iter::once(&mut account)
            .chain(activations.iter_mut())
            .chain(proxies.iter_mut())
            .chain(std::iter::once(&mut oqs_sim))
        {
            let listen = format!("127.0.0.1:{}", n.port);
            set(n, "SERVER__LISTEN", &listen);
            if METRICS {
                let metrics = format!("127.0.0.1:{}", n.metrics_port);
                set(n, "SERVER__METRICS_LISTEN", &metrics);
            }
            n.spawn();
        }
        let mut cluster = Self {
            account,
            activations,
            proxies,
            oqs_sim,
            deploy,
            ca_pem,
            databases: vec![account_db, activation_db, proxy_db],
            dir: Some(dir),
            _ports: ports,
        };
        let names: Vec<String> = cluster.nodes().map(|n| n.name.clone()).collect();
        for name in names {
            cluster.wait_serving(&name, START_DEADLINE).await;
        }
        cluster
    }

    fn nodes(&self) -> impl Iterator<Item = &Node> {
        std::iter::once(&self.account)
            .chain(self.activations.iter())
            .chain(self.proxies.iter())
            .chain(std::iter::once(&self.oqs_sim))
    }

    fn node_mut(&mut self, name: &str) -> &mut Node {
        std::iter::once(&mut self.account)
            .chain(self.activations.iter_mut())
            .chain(self.proxies.iter_mut())
            .chain(std::iter::once(&mut self.oqs_sim))
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// Polls `name`'s health until SERVING; panics (printing logs) when it exits or
    /// `deadline` passes.
    pub async fn wait_serving(&mut self, name: &str, deadline: Duration) {
        let url = self.node_mut(name).url();
        let channel = self.anonymous(&url);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut last = String::from("nothing yet");
        let waited = tokio::time::timeout(deadline, async {
            loop {
                tick.tick().await;
                let node = self.node_mut(name);
                if !node.running() {
                    return Err(format!("{name} exited"));
                }
                match health::check(channel.clone(), "").await {
                    Ok(ServingStatus::Serving) => return Ok(()),
                    other => last = format!("{other:?}"),
                }
            }
        })
        .await;
        match waited {
            Ok(Ok(())) => {}
            Ok(Err(why)) => panic!("{why} before it was SERVING"),
            Err(_) => panic!("{name} not SERVING within {deadline:?}; last answer: {last}"),
        }
    }

    /// Starts a node again after [`Node::kill`] and waits until it is SERVING.
    pub async fn restart(&mut self, name: &str) {
        self.node_mut(name).spawn();
        self.wait_serving(name, START_DEADLINE).await;
    }

    /// Returns the internal CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Returns `deploy init`'s configuration file of `service`.
    pub fn config(&self, service: &str) -> PathBuf {
        self.deploy.join(format!("config/{service}.toml"))
    }

    /// Returns a channel to `url` without a client certificate (operators, health).
    pub fn anonymous(&self, url: &str) -> Channel {
        ClientTls {
            server_ca_pem: self.ca_pem.clone(),
            identity: None,
        }
        .lazy_channel(url, Duration::from_secs(10))
        .expect("build channel")
    }

    /// Returns the account database's URL.
    pub fn account_database_url(&self) -> &str {
        &self.databases[0].url
    }

    /// Returns the activation replicas' database URL.
    pub fn activation_database_url(&self) -> &str {
        &self.databases[1].url
    }

    /// Returns the proxy replicas' database URL.
    pub fn proxy_database_url(&self) -> &str {
        &self.databases[2].url
    }

    /// Returns the cluster's directory (logs, `deploy/`).
    pub fn dir(&self) -> &Path {
        self.dir.as_ref().map_or(Path::new("."), |d| d.path())
    }
}

fn set(node: &mut Node, key: &str, value: &str) {
    let prefix = node.service.to_uppercase().replace('-', "_");
    node.env
        .push((format!("MYNAFLEET_{prefix}_{key}"), value.to_owned()));
}

/// A failing test shows each process's log path and last lines, and keeps the directory.
impl Drop for Cluster {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for node in self.nodes() {
            let text = std::fs::read_to_string(&node.log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            eprintln!("--- {} ({}), last lines:", node.name, node.log.display());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        if let Some(dir) = self.dir.take() {
            eprintln!("cluster directory kept: {}", dir.keep().display());
        }
    }
}
