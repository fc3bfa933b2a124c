//! A front desk for agent tests (issue #6): `mynafleet-agent run` started on an activated
//! state dir, and a client of its loopback terminal API carrying the bearer token the agent
//! wrote into the state dir.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use mynafleet_proto::terminal::v1 as term;
use mynafleet_proto::tonic::transport::{Channel, Endpoint};
use mynafleet_proto::tonic::{Request, Status};
use term::terminal_service_client::TerminalServiceClient;
use tokio::process::{Child, Command};

use crate::{DEADLINE, binaries};

/// A running `mynafleet-agent run`.
#[derive(Debug)]
pub struct RunningAgent {
    child: Child,
    /// The terminal API's URL.
    pub terminal_url: String,
    /// Where the agent's stderr goes.
    pub log: PathBuf,
    state: PathBuf,
}

impl RunningAgent {
    /// Starts `mynafleet-agent run` on `state`, for reader `reader`, with `env` added to its
    /// environment (`PCSCLITE_CSOCK_NAME` for a private pcscd); logs at debug into a file.
    pub fn start(state: &Path, reader: &str, env: &[(&str, &str)]) -> Self {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("reserve a port");
        let port = probe.local_addr().expect("reserved address").port();
        drop(probe);
        let log = state.join("agent-test.log");
        let file = std::fs::File::create(&log).expect("agent log file");
        let mut cmd = Command::new(binaries::path("mynafleet-agent"));
        cmd.arg("--state-dir")
            .arg(state)
            .args(["run", "--terminal-listen", &format!("127.0.0.1:{port}")])
            .args(["--reader", reader])
            .env(
                "RUST_LOG",
                "debug,h2=info,hyper=info,tower=info,rustls=info",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start mynafleet-agent run");
        Self {
            child,
            terminal_url: format!("http://127.0.0.1:{port}"),
            log,
            state: state.to_owned(),
        }
    }

    /// Returns a terminal API client, waiting (bounded) until the API answers.
    pub async fn terminal(&mut self) -> Terminal {
        let token = std::fs::read_to_string(self.state.join("terminal.token"));
        let deadline = tokio::time::Instant::now() + DEADLINE;
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        let mut token = token.ok();
        loop {
            tick.tick().await;
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "mynafleet-agent run exited ({status}); its log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if token.is_none() {
                token = std::fs::read_to_string(self.state.join("terminal.token")).ok();
            }
            if let Some(token) = &token {
                let channel = Endpoint::from_shared(self.terminal_url.clone())
                    .expect("terminal url")
                    .connect()
                    .await;
                if let Ok(channel) = channel {
                    let mut t = Terminal {
                        client: TerminalServiceClient::new(channel),
                        token: token.trim().to_owned(),
                    };
                    if t.state().await.is_ok() {
                        return t;
                    }
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the terminal API did not answer within {DEADLINE:?}; agent log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }

    /// Returns what the agent logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the agent with SIGTERM and waits for it.
    pub async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let _ = tokio::time::timeout(DEADLINE, self.child.wait()).await;
    }
}

/// A failing test shows what the agent logged.
impl Drop for RunningAgent {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log_text();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!("--- mynafleet-agent log (last 80 lines) ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// A terminal API client.
#[derive(Debug, Clone)]
pub struct Terminal {
    client: TerminalServiceClient<Channel>,
    token: String,
}

impl Terminal {
    fn request<T>(&self, message: T) -> Request<T> {
        let mut req = Request::new(message);
        req.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.token)
                .parse()
                .expect("header value"),
        );
        req
    }

    /// Returns the current state.
    pub async fn state(&mut self) -> Result<term::TerminalState, Status> {
        let req = self.request(term::GetStateRequest {});
        Ok(self
            .client
            .get_state(req)
            .await?
            .into_inner()
            .state
            .unwrap_or_default())
    }

    /// Waits (bounded by `DEADLINE`) until the state satisfies `wanted`, and returns it.
    pub async fn wait_for(
        &mut self,
        what: &str,
        wanted: impl Fn(&term::TerminalState) -> bool,
    ) -> term::TerminalState {
        let req = self.request(term::WatchStateRequest {});
        let mut stream = self
            .client
            .watch_state(req)
            .await
            .expect("watch the terminal state")
            .into_inner();
        let mut last = None;
        let found = tokio::time::timeout(DEADLINE, async {
            while let Some(msg) = stream.message().await.expect("terminal state stream") {
                let state = msg.state.unwrap_or_default();
                if wanted(&state) {
                    return Some(state);
                }
                last = Some(state);
            }
            None
        })
        .await;
        match found {
            Ok(Some(state)) => state,
            _ => panic!("terminal never showed {what}; last state: {last:#?}"),
        }
    }

    /// Submits `pin` for `scan_id`.
    pub async fn submit_pin(
        &mut self,
        scan_id: &str,
        pin: &str,
        confirm_last_try: bool,
    ) -> Result<term::Scan, Status> {
        let req = self.request(term::SubmitPinRequest {
            scan_id: scan_id.to_owned(),
            pin: pin.to_owned(),
            confirm_last_try,
            consents: None,
        });
        Ok(self
            .client
            .submit_pin(req)
            .await?
            .into_inner()
            .scan
            .unwrap_or_default())
    }

    /// Returns the last finished scan.
    pub async fn last_result(&mut self) -> Option<term::Scan> {
        let req = self.request(term::GetLastResultRequest {});
        self.client
            .get_last_result(req)
            .await
            .expect("get the last result")
            .into_inner()
            .scan
    }
}

/// Returns the scan in `state` when it is in `phase`.
pub fn scan_in(state: &term::TerminalState, phase: term::ScanPhase) -> Option<&term::Scan> {
    state.scan.as_ref().filter(|s| s.phase == phase as i32)
}
