//! The suite as separate processes on PostgreSQL (issue #8): `mynafleet deploy init`, then
//! every service under `mynafleet serve`, with two activation and two eligibility-proxy
//! replicas sharing their databases. A device suspended through one activation replica is
//! cut on both proxies within a second; a proxy replica killed with SIGKILL loses no agent
//! event and stores none twice, while the agents move to the other replica.
//!
//! PostgreSQL only: the point is replicas sharing a database.

use std::process::Stdio;
use std::time::Duration;

use mynafleet_agent::Identity;
use mynafleet_proto::agent::v1 as agent_pb;
use mynafleet_proto::tonic::{Code, Status};
use mynafleet_tests::cluster::{Cluster, ClusterOptions};
use mynafleet_tests::terminal_api::RunningAgent;
use mynafleet_tests::{DEADLINE, binaries, metrics};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::time::Instant;

/// No reader has this name: the agents here only stream, they never scan.
const NO_READER: &str = "MynaFleet cluster test: no reader";
/// A suspension reaches every replica within this.
const CUT_WITHIN: Duration = Duration::from_secs(1);

fn agent_client(
    identity: &Identity,
    url: &str,
) -> agent_pb::agent_service_client::AgentServiceClient<mynafleet_proto::tonic::transport::Channel>
{
    agent_pb::agent_service_client::AgentServiceClient::new(
        identity.channel(url).expect("device channel"),
    )
}

fn reason(status: &Status) -> Option<String> {
    mynafleet_kit::status::reason_of(status)
}

/// Opens `WatchDevice` at `url` and returns, once the stream ends, when it ended and how.
async fn watch_until_cut(
    identity: std::sync::Arc<Identity>,
    url: String,
) -> tokio::task::JoinHandle<(Instant, Option<Status>)> {
    let mut stream = agent_client(&identity, &url)
        .watch_device(agent_pb::WatchDeviceRequest {})
        .await
        .unwrap_or_else(|e| panic!("watch the device at {url}: {e:?}"))
        .into_inner();
    // The first heartbeat says the stream is live before the suspension.
    let first = tokio::time::timeout(DEADLINE, stream.message())
        .await
        .expect("a first heartbeat");
    assert!(matches!(first, Ok(Some(_))), "{url}: {first:?}");
    tokio::spawn(async move {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => return (Instant::now(), None),
                Err(e) => return (Instant::now(), Some(e)),
            }
        }
    })
}

#[tokio::test]
async fn cluster_a_device_suspended_through_one_replica_is_cut_on_both_within_a_second() {
    let cluster = Cluster::start(ClusterOptions::default()).await;
    let admin = cluster.bootstrap_admin().await;
    let account = cluster.device_accounts(&admin, 1).await.remove(0);
    let state = cluster.activated_terminal(&account).await;
    let identity = Identity::load(state.path()).expect("load the identity");
    let device = identity.record().device;

    // The real agent streams events to the first proxy replica.
    let mut agent = RunningAgent::start(state.path(), NO_READER, &[]);
    let mut terminal = agent.terminal().await;
    terminal
        .wait_for("the uplink connected", |s| s.uplink_connected)
        .await;
    let mut uplink = terminal.clone();
    let uplink_cut = tokio::spawn(async move {
        uplink
            .wait_for("the uplink cut", |s| !s.uplink_connected)
            .await;
        Instant::now()
    });
    // The same device also holds a call open on each replica.
    let mut cuts = Vec::new();
    for proxy in &cluster.proxies {
        cuts.push((
            proxy.name.clone(),
            watch_until_cut(identity.clone(), proxy.url()).await,
        ));
    }

    // Suspended through the second activation replica; the first proxy watches the first.
    cluster.suspend_device(&admin, 1, &device).await;
    let suspended = Instant::now();

    for (name, cut) in cuts {
        let (at, how) = tokio::time::timeout(DEADLINE, cut)
            .await
            .unwrap_or_else(|_| panic!("{name}: the device's stream was never cut"))
            .expect("watch task");
        let after = at.saturating_duration_since(suspended);
        assert!(
            after <= CUT_WITHIN,
            "{name}: the stream ended {after:?} after the suspension"
        );
        let how = how.unwrap_or_else(|| panic!("{name}: the stream ended without a refusal"));
        assert_eq!(how.code(), Code::PermissionDenied, "{name}: {how:?}");
        assert_eq!(reason(&how).as_deref(), Some("DEVICE_SUSPENDED"), "{name}");
    }
    let at = tokio::time::timeout(DEADLINE, uplink_cut)
        .await
        .expect("the agent's event stream was cut")
        .expect("uplink task");
    let after = at.saturating_duration_since(suspended);
    assert!(
        after <= CUT_WITHIN,
        "the agent's event stream ended {after:?} after the suspension"
    );

    // New calls are refused on every replica.
    for proxy in &cluster.proxies {
        let refused = agent_client(&identity, &proxy.url())
            .who_am_i(agent_pb::WhoAmIRequest {})
            .await
            .expect_err("a suspended device is refused");
        assert_eq!(refused.code(), Code::PermissionDenied, "{}", proxy.name);
        assert_eq!(reason(&refused).as_deref(), Some("DEVICE_SUSPENDED"));
    }
    agent.stop().await;
    every_process_reports_its_own_metrics(&cluster).await;
}

/// Scrapes each `mynafleet serve` process's own metrics port: its RPCs under its own
/// `service` label only, and what this run did — the cut streams on both proxies, the
/// suspended device in the registry both activation replicas read, the audit chain.
async fn every_process_reports_its_own_metrics(cluster: &Cluster) {
    const HANDLED: &str = "mynafleet_grpc_server_handled_total";
    let nodes = std::iter::once(&cluster.account)
        .chain(&cluster.activations)
        .chain(&cluster.proxies)
        .chain(std::iter::once(&cluster.oqs_sim));
    for node in nodes {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], node.metrics_port));
        let scrape = metrics::scrape(addr).await;
        let own = scrape.sum(HANDLED, &[("service", node.service)]);
        assert!(
            own.is_some_and(|n| n > 0.0),
            "{}: no RPC counted under service={}",
            node.name,
            node.service
        );
        let others: Vec<_> = scrape
            .samples
            .iter()
            .filter(|s| s.name.starts_with("mynafleet_"))
            .filter(|s| s.labels.get("service").map(String::as_str) != Some(node.service))
            .collect();
        assert!(
            others.is_empty(),
            "{}: series of another service in its own process: {others:#?}",
            node.name
        );
        match node.service {
            "eligibility-proxy" => {
                let cut = scrape.sum(
                    HANDLED,
                    &[
                        ("method", "mynafleet.agent.v1.AgentService/WatchDevice"),
                        ("code", "PERMISSION_DENIED"),
                    ],
                );
                // The test's stream on each, the agent's own device watch on the first.
                assert!(
                    cut.is_some_and(|n| n >= 1.0),
                    "{}: the cut WatchDevice stream: {cut:?}",
                    node.name
                );
                scrape.one("mynafleet_agents_connected", &[]);
            }
            "activation" => {
                let suspended = scrape.one("mynafleet_devices", &[("status", "suspended")]);
                assert_eq!(suspended.value, 1.0, "{}", node.name);
            }
            "account" => {
                let chain = scrape.sum("mynafleet_audit_chain_length", &[]);
                assert!(chain.is_some_and(|n| n > 0.0), "{}: audit chain", node.name);
            }
            _ => {}
        }
    }
}

/// Events `agent-events` writes for the failover test.
const TOTAL: u64 = 3_000;
/// Written after the failover, by a second run of `agent-events`.
const LATER: u64 = 200;

async fn seqs(pool: &sqlx::AnyPool, device: &str) -> Vec<i64> {
    use sqlx::Row as _;
    sqlx::query("SELECT seq FROM agent_events WHERE device = $1 ORDER BY seq")
        .bind(device)
        .fetch_all(pool)
        .await
        .expect("read the proxies' events")
        .iter()
        .map(|r| r.try_get::<i64, _>(0).expect("seq"))
        .collect()
}

fn agent_events(state: &std::path::Path, total: u64) -> tokio::process::Child {
    tokio::process::Command::new(binaries::path("agent-events"))
        .arg("--state-dir")
        .arg(state)
        .args(["--total", &total.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start agent-events")
}

/// Waits until `agent-events` printed `drained` and exited 0.
async fn drained(mut child: tokio::process::Child) {
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line == "drained" {
                return true;
            }
        }
        false
    })
    .await;
    assert!(matches!(found, Ok(true)), "agent-events never drained");
    let status = child.wait().await.expect("wait for agent-events");
    assert!(status.success(), "agent-events: {status}");
}

#[tokio::test]
async fn cluster_a_killed_proxy_replica_loses_no_agent_event_and_repeats_none() {
    let mut cluster = Cluster::start(ClusterOptions {
        activations: 1,
        proxies: 2,
    })
    .await;
    let admin = cluster.bootstrap_admin().await;
    let accounts = cluster.device_accounts(&admin, 2).await;
    let run_state = cluster.activated_terminal(&accounts[0]).await;
    let load_state = cluster.activated_terminal(&accounts[1]).await;
    let run_device = Identity::load(run_state.path()).unwrap().record().device;
    let load_device = Identity::load(load_state.path()).unwrap().record().device;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(cluster.proxy_database_url())
        .await
        .expect("open the proxies' database");

    // A real agent on the first replica (its list puts that one first).
    let mut agent = RunningAgent::start(run_state.path(), NO_READER, &[]);
    let mut terminal = agent.terminal().await;
    terminal
        .wait_for("the uplink connected, nothing pending", |s| {
            s.uplink_connected && s.outbox_pending == 0
        })
        .await;
    let mut watcher = terminal.clone();
    let moved = tokio::spawn(async move {
        watcher
            .wait_for("the uplink cut", |s| !s.uplink_connected)
            .await;
        watcher
            .wait_for("the uplink back, nothing pending", |s| {
                s.uplink_connected && s.outbox_pending == 0
            })
            .await;
    });

    // A second terminal writes events as fast as it can; the first replica dies under it.
    let writer = agent_events(load_state.path(), TOTAL);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let at_kill = tokio::time::timeout(DEADLINE, async {
        loop {
            tick.tick().await;
            let n = seqs(&pool, &load_device).await.len() as u64;
            if n >= TOTAL / 10 {
                return n;
            }
        }
    })
    .await
    .expect("events reached the first replica");
    cluster.proxies[0].kill().await;
    assert!(
        at_kill < TOTAL,
        "every event arrived before the kill ({at_kill}); the test needs a larger TOTAL"
    );
    drained(writer).await;

    // After the failover: more events, through the surviving replica only.
    drained(agent_events(load_state.path(), LATER)).await;
    tokio::time::timeout(DEADLINE, moved)
        .await
        .expect("the real agent moved to the other replica")
        .expect("watcher task");

    let stored = seqs(&pool, &load_device).await;
    let expected: Vec<i64> = (1..=(TOTAL + LATER) as i64).collect();
    assert_eq!(stored.len(), expected.len(), "every event, each once");
    assert_eq!(stored, expected, "seq 1..={} without gaps", TOTAL + LATER);
    assert_eq!(
        seqs(&pool, &run_device).await,
        [1],
        "the real agent's start event, once"
    );
    agent.stop().await;
    pool.close().await;
}
