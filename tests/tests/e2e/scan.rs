//! A card check through the real stack (issue #6): card-sim's virtual My Number card in
//! pcscd's vpcd reader, `mynafleet-agent run` reading it over PC/SC, the terminal API and
//! `mynafleet-agent check --pin-stdin` at the front desk, the proxy and oqs-sim behind. Also:
//! wrong and blocked PINs, a card pulled mid-read, pcscd restarted under the agent, and that
//! the PIN appears in no log, outbox or proxy database.
//!
//! Tests named `pcscd` share the one pcscd and its vpcd slots and run one at a time.

use std::process::Stdio;

use mynafleet_card_sim::{Card, CardSpec, Inserted, Pin, Quirks, VpcdClient};
use mynafleet_proto::activation::v1 as act;
use mynafleet_proto::eligibility::v1 as eligibility_pb;
use mynafleet_proto::terminal::v1 as term;
use mynafleet_tests::jpki::{CardOptions, fixture};
use mynafleet_tests::pcscd::PrivatePcscd;
use mynafleet_tests::terminal_api::{RunningAgent, scan_in};
use mynafleet_tests::terminal_host::{
    activated_state_dir, device_account, device_account_and_admin,
};
use mynafleet_tests::{DEADLINE, Suite, binaries};
use tokio::io::AsyncWriteExt as _;

/// The shared pcscd's vpcd slot 0.
const READER: &str = "Virtual PCD 00 00";
const VPCD_PORT: u16 = 35963;
/// The patient's PIN: distinctive, so finding it anywhere means it leaked.
const PIN: &str = "8529";

/// Person 0 of the simulated population (有効) on a card with `PIN` and `tries_left`.
fn card(tries_left: u8, quirks: Quirks) -> Card {
    let profile = fixture().card_profile(0, CardOptions::default());
    let mut spec = CardSpec::from_profile_dir(&profile).expect("read the card profile");
    spec.pin = Pin::new(PIN).expect("pin");
    spec.tries_left = tries_left;
    Card::jpki(spec).with_quirks(quirks)
}

fn insert(port: u16, card: Card) -> Inserted {
    VpcdClient::insert("127.0.0.1", port, card).expect("insert the card through vpcd")
}

/// As at a real reader, a card is seen gone before the next one goes on: vpcd would
/// otherwise take a quick re-insert for the same card staying put.
async fn wait_gone(terminal: &mut mynafleet_tests::terminal_api::Terminal) {
    terminal
        .wait_for("the card seen gone", |s| {
            s.readers
                .iter()
                .any(|r| r.name == READER && !r.card_present)
        })
        .await;
}

/// Takes the card off the reader and waits until the agent saw it go.
async fn remove(
    inserted: Inserted,
    terminal: &mut mynafleet_tests::terminal_api::Terminal,
) -> Card {
    let card = inserted.remove().expect("remove the card");
    wait_gone(terminal).await;
    card
}

async fn awaiting_identity(
    terminal: &mut mynafleet_tests::terminal_api::Terminal,
    not: &str,
) -> term::Scan {
    let state = terminal
        .wait_for("a scan awaiting the pin", |s| {
            scan_in(s, term::ScanPhase::AwaitingIdentity).is_some_and(|scan| scan.scan_id != not)
        })
        .await;
    state.scan.expect("scan")
}

/// Runs `mynafleet-agent check --pin-stdin` with `pin` on stdin.
async fn check(agent: &RunningAgent, state: &std::path::Path, pin: &str) -> std::process::Output {
    let mut child = tokio::process::Command::new(binaries::path("mynafleet-agent"))
        .arg("--state-dir")
        .arg(state)
        .args(["check", "--pin-stdin", "--terminal", &agent.terminal_url])
        .args(["--timeout", "20s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start mynafleet-agent check");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(format!("{pin}\n").as_bytes())
        .await
        .unwrap();
    drop(input);
    tokio::time::timeout(DEADLINE, child.wait_with_output())
        .await
        .expect("check finished within the deadline")
        .unwrap()
}

/// Whether `haystack` holds `PIN` as a token of its own (not inside a longer run of hex).
fn holds_pin(haystack: &[u8]) -> bool {
    let pin = PIN.as_bytes();
    haystack.windows(pin.len()).enumerate().any(|(i, w)| {
        w == pin
            && !haystack[..i].last().is_some_and(u8::is_ascii_hexdigit)
            && !haystack
                .get(i + pin.len())
                .is_some_and(u8::is_ascii_hexdigit)
    })
}

fn files_with_pin(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_file() && std::fs::read(&path).is_ok_and(|b| holds_pin(&b)) {
            found.push(path.display().to_string());
        }
    }
    found
}

#[tokio::test]
async fn pcscd_card_pin_check_reaches_the_terminal_and_check_and_the_pin_goes_nowhere() {
    let suite = Suite::start().await;
    let (account, admin) = device_account_and_admin(&suite).await;
    let state = activated_state_dir(&suite, &account).await;
    let mut agent = RunningAgent::start(state.path(), READER, &[]);
    let mut terminal = agent.terminal().await;
    terminal
        .wait_for("the vpcd reader", |s| {
            s.pcsc_available && s.readers.iter().any(|r| r.name == READER)
        })
        .await;

    // Insert → read → waiting for the PIN with 3 tries.
    let good = card(3, Quirks::default());
    let log = good.apdu_log_handle();
    let inserted = insert(VPCD_PORT, good);
    let scan = awaiting_identity(&mut terminal, "").await;
    assert_eq!(scan.reader, READER);
    assert_eq!(scan.tries_left, Some(3));
    assert_eq!(scan.pin_status, term::PinStatus::Available as i32);
    assert_eq!(
        scan.token,
        mynafleet_proto::agent::v1::TokenType::Card as i32
    );

    // The fleet view: activation's registry shows the agent online with its reader and card.
    let device = mynafleet_agent::Identity::load(state.path())
        .unwrap()
        .record()
        .device;
    let presence = fleet_presence(&suite, &admin, &device, |p| {
        p.online && p.readers.iter().any(|r| r.name == READER && r.card_present)
    })
    .await;
    assert_eq!(presence.agent_version, env!("CARGO_PKG_VERSION"));

    // A wrong PIN: tries left goes down, the scan waits again, nothing is retried.
    let verifies_before = count_verifies_with_pin(&log.snapshot());
    let wrong = terminal
        .submit_pin(&scan.scan_id, "0000", false)
        .await
        .expect("a wrong pin is an answer, not an error");
    assert!(wrong.pin_rejected, "{wrong:?}");
    assert_eq!(wrong.tries_left, Some(2));
    assert_eq!(wrong.phase, term::ScanPhase::AwaitingIdentity as i32);
    assert_eq!(
        count_verifies_with_pin(&log.snapshot()),
        verifies_before + 1
    );

    // The right PIN through `check`: the 資格情報 in the app's copy format.
    let out = check(&agent, state.path(), PIN).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "check failed: {stdout}\n{}\nagent log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        agent.log_text()
    );
    let person = suite.person(0).await;
    assert!(stdout.contains("資格有効性\t有効"), "{stdout}");
    assert!(
        stdout.contains(&person.insured_identification_number),
        "the copy text carries the person's 番号: {stdout}"
    );
    let last = terminal.last_result().await.expect("a last result");
    assert_eq!(last.phase, term::ScanPhase::Done as i32);
    let answer = last.result.expect("the proxy's answer");
    assert_eq!(answer.verdict, eligibility_pb::Verdict::Eligible as i32);
    assert_eq!(
        answer.validity,
        eligibility_pb::QualificationValidity::Valid as i32
    );
    let removed = remove(inserted, &mut terminal).await;
    assert_eq!(
        removed.tries_left(),
        3,
        "the right pin restored the counter"
    );

    // A card pulled in the middle of the certificate read: a clean failure, then the next
    // insert works.
    let pulled = insert(
        VPCD_PORT,
        card(
            3,
            Quirks {
                remove_after_reads: Some(2),
                ..Quirks::default()
            },
        ),
    );
    let failed = terminal
        .wait_for("the pulled card's scan failing", |s| {
            scan_in(s, term::ScanPhase::Failed).is_some()
        })
        .await
        .scan
        .expect("scan");
    assert_eq!(failed.failure_reason, "CARD_REMOVED", "{failed:?}");
    let _ = pulled.wait();
    // As at a real reader, the card is seen gone before the next one goes on (vpcd would
    // otherwise take a quick re-insert for the same card staying put).
    terminal
        .wait_for("the pulled card seen gone", |s| {
            s.readers
                .iter()
                .any(|r| r.name == READER && !r.card_present)
        })
        .await;
    let again = insert(VPCD_PORT, card(3, Quirks::default()));
    let fresh = awaiting_identity(&mut terminal, &failed.scan_id).await;
    assert_ne!(fresh.scan_id, failed.scan_id);
    remove(again, &mut terminal).await;

    // A blocked card: reported as blocked; the only VERIFY it sees is the data-less query.
    let blocked = card(0, Quirks::default());
    let blocked_log = blocked.apdu_log_handle();
    let inserted = insert(VPCD_PORT, blocked);
    let scan = terminal
        .wait_for("the blocked card", |s| {
            s.scan.as_ref().is_some_and(|scan| {
                scan.pin_status == term::PinStatus::Blocked as i32 && scan.scan_id != fresh.scan_id
            })
        })
        .await
        .scan
        .expect("scan");
    let refused = terminal
        .submit_pin(&scan.scan_id, PIN, true)
        .await
        .expect_err("a blocked card takes no pin");
    assert_eq!(reason(&refused), "PIN_BLOCKED", "{refused:?}");
    let out = check(&agent, state.path(), PIN).await;
    assert_eq!(out.status.code(), Some(2), "check on a blocked card");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("blocked")
            || String::from_utf8_lossy(&out.stdout).contains("blocked"),
        "check tells staff the pin is blocked"
    );
    assert_eq!(count_verifies_with_pin(&blocked_log.snapshot()), 0);
    inserted.remove().expect("remove the card");

    // Events reached the proxy; the PIN reached nothing.
    agent.stop().await;
    let proxy_db = suite
        .proxy_database_url()
        .strip_prefix("sqlite://")
        .map(|p| p.split('?').next().unwrap_or(p).to_owned())
        .expect("sqlite proxy database");
    let proxy_dir = std::path::Path::new(&proxy_db).parent().unwrap().to_owned();
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{proxy_db}"))
        .await
        .expect("open the proxy database");
    let kinds: Vec<(String,)> = sqlx::query_as("SELECT kind FROM agent_events ORDER BY seq")
        .fetch_all(&pool)
        .await
        .expect("read the proxy's events");
    let kinds: Vec<&str> = kinds.iter().map(|(k,)| k.as_str()).collect();
    for wanted in [
        "CARD_INSERTED",
        "CARD_READ",
        "PIN_REJECTED",
        "CARD_SIGNED",
        "CHECK_COMPLETED",
        "SCAN_FAILED",
        "PIN_BLOCKED",
    ] {
        assert!(
            kinds.contains(&wanted),
            "the proxy holds a {wanted} event: {kinds:?}"
        );
    }
    pool.close().await;
    assert_eq!(
        files_with_pin(state.path()),
        Vec::<String>::new(),
        "the agent's state dir (log, outbox)"
    );
    assert_eq!(
        files_with_pin(&proxy_dir),
        Vec::<String>::new(),
        "the proxy's database"
    );
    suite.stop().await.unwrap();
}

#[tokio::test]
async fn pcscd_restarted_under_the_agent_is_recovered_from_by_itself() {
    let pcscd = PrivatePcscd::start().await.expect("start a private pcscd");
    let suite = Suite::start().await;
    let account = device_account(&suite).await;
    let state = activated_state_dir(&suite, &account).await;
    let socket = pcscd.socket().display().to_string();
    let mut agent = RunningAgent::start(state.path(), READER, &[("PCSCLITE_CSOCK_NAME", &socket)]);
    let mut terminal = agent.terminal().await;

    let inserted = insert(pcscd.vpcd_port, card(3, Quirks::default()));
    let first = awaiting_identity(&mut terminal, "").await;
    inserted.remove().expect("remove the card");

    pcscd.restart().await.expect("restart pcscd");
    // The agent notices, re-establishes its context and sees the reader again.
    terminal
        .wait_for("pcsc available again with the reader", |s| {
            s.pcsc_available && s.readers.iter().any(|r| r.name == READER)
        })
        .await;
    let inserted = insert(pcscd.vpcd_port, card(3, Quirks::default()));
    let second = awaiting_identity(&mut terminal, &first.scan_id).await;
    assert_ne!(second.scan_id, first.scan_id);
    let scan = terminal
        .submit_pin(&second.scan_id, PIN, false)
        .await
        .expect("pin check after the restart");
    assert_eq!(
        scan.phase,
        term::ScanPhase::Done as i32,
        "{scan:?}\n{}",
        agent.log_text()
    );
    inserted.remove().expect("remove the card");
    agent.stop().await;
    suite.stop().await.unwrap();
    drop(pcscd);
}

/// Waits (bounded) until activation's registry shows `device` with a presence that satisfies
/// `wanted`, as `mynafleet admin devices list` reads it.
async fn fleet_presence(
    suite: &Suite,
    admin: &mynafleet_tests::operators::Operator,
    device: &str,
    wanted: impl Fn(&act::DevicePresence) -> bool,
) -> act::DevicePresence {
    let mut devices =
        act::device_service_client::DeviceServiceClient::new(suite.activation_authed(admin));
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        tick.tick().await;
        let listed = devices
            .list_devices(act::ListDevicesRequest {
                parent: admin.organization.clone(),
                ..Default::default()
            })
            .await
            .expect("list devices")
            .into_inner()
            .devices;
        let presence = listed
            .into_iter()
            .find(|d| d.name == device)
            .and_then(|d| d.presence);
        if let Some(p) = presence.filter(|p| wanted(p)) {
            return p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the registry never showed the agent's presence as wanted"
        );
    }
}

/// Counts VERIFY commands that carried data (a PIN), as card-sim logged them (masked).
fn count_verifies_with_pin(log: &[Vec<u8>]) -> usize {
    log.iter()
        .filter(|apdu| apdu.len() > 5 && apdu[1] == 0x20 && apdu[4] == 0x04)
        .count()
}

fn reason(status: &mynafleet_proto::tonic::Status) -> String {
    use tonic_types::StatusExt as _;
    status
        .get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}
