//! No scan event is lost (issue #6): 1,000 events written while the proxy is down, the
//! agent's process killed with SIGKILL half way and started again, then the proxy back —
//! every event arrives exactly once, in order, checked in the proxy's own database.

use std::process::Stdio;
use std::time::Duration;

use mynafleet_agent::Identity;
use mynafleet_tests::late_proxy::{self, LateProxy};
use mynafleet_tests::terminal_host::{activated_state_dir, device_account, set_proxy_urls};
use mynafleet_tests::{Suite, SuiteOptions, binaries};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

const TOTAL: u64 = 1_000;

fn start_writer(state: &std::path::Path) -> Child {
    Command::new(binaries::path("agent-events"))
        .arg("--state-dir")
        .arg(state)
        .args(["--total", &TOTAL.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start agent-events")
}

/// Reads the child's stdout until a line equal to `wanted`; returns the last `appended N`.
async fn read_until(child: &mut Child, wanted: &str, deadline: Duration) -> u64 {
    let stdout = child.stdout.as_mut().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let mut last = 0;
    let found = tokio::time::timeout(deadline, async {
        while let Some(line) = lines.next_line().await.expect("read agent-events output") {
            if let Some(n) = line.strip_prefix("appended ") {
                last = n.parse().expect("appended count");
            }
            if line == wanted {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        matches!(found, Ok(true)),
        "agent-events never printed {wanted:?} (last appended {last})"
    );
    last
}

#[tokio::test]
async fn a_thousand_events_survive_sigkill_and_a_proxy_outage_and_arrive_exactly_once() {
    let (customize, captured) = late_proxy::capture();
    let suite = Suite::start_with(SuiteOptions {
        customize: Some(customize),
        ..SuiteOptions::default()
    })
    .await;
    let account = device_account(&suite).await;
    let state = activated_state_dir(&suite, &account).await;
    let mut proxy = LateProxy::reserve(&captured);
    // The agent's only proxy is down: nothing listens on its port yet.
    set_proxy_urls(state.path(), vec![proxy.url()]);
    let device = Identity::load(state.path()).unwrap().record().device;

    // Half way through, the process dies without a chance to flush anything.
    let mut writer = start_writer(state.path());
    let seen = read_until(
        &mut writer,
        &format!("appended {}", TOTAL / 2),
        Duration::from_secs(60),
    )
    .await;
    writer.start_kill().expect("SIGKILL agent-events");
    let status = writer.wait().await.unwrap();
    assert!(!status.success(), "killed, not finished: {status}");
    assert_eq!(seen, TOTAL / 2);

    // Started again, still with the proxy down: it writes the rest on top of what survived.
    let mut writer = start_writer(state.path());
    let last = read_until(
        &mut writer,
        &format!("appended {TOTAL}"),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(last, TOTAL);

    // The proxy comes back; the agent drains its outbox into it.
    proxy.start(&suite).await;
    read_until(&mut writer, "drained", Duration::from_secs(60)).await;
    let status = writer.wait().await.unwrap();
    assert!(status.success(), "agent-events after draining: {status}");

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", proxy.database_path().display()))
        .await
        .expect("open the proxy's database");
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, scan_id FROM agent_events WHERE device = ?1 ORDER BY seq")
            .bind(&device)
            .fetch_all(&pool)
            .await
            .expect("read the proxy's events");
    assert_eq!(rows.len() as u64, TOTAL, "every event arrived, once");
    for (i, (seq, scan_id)) in rows.iter().enumerate() {
        let n = i as i64 + 1;
        assert_eq!(*seq, n, "sequence numbers are 1..={TOTAL} without gaps");
        assert_eq!(
            scan_id,
            &format!("load-{n}"),
            "event {n} is the one written {n}th"
        );
    }
    pool.close().await;
    proxy.stop().await;
    suite.stop().await.unwrap();
}
