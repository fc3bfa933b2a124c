//! A private pcscd for the test that restarts it (TOOLCHAIN.md §8): its own `/run/pcscd` in a
//! private mount namespace (tmpfs), its own reader configuration with vpcd on ports of its
//! own, so restarting it leaves the shared daemon (and the tests using it) alone. The daemon
//! runs under a small shell loop that starts it again whenever it exits, so the namespace —
//! and the socket path clients use, `/proc/<shell pid>/root/run/pcscd/pcscd.comm` — survives
//! a restart. Clients reach it with `PCSCLITE_CSOCK_NAME` set on their `Command`.
//!
//! Needs root (mount namespaces, /run); the README's test command runs as root in CI.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, bail};

/// A pcscd of the test's own.
#[derive(Debug)]
pub struct PrivatePcscd {
    dir: tempfile::TempDir,
    shell: Child,
    /// vpcd's port for slot 0 of this daemon (slot 1 is the next port).
    pub vpcd_port: u16,
}

impl PrivatePcscd {
    /// Starts the daemon and waits (bounded) for its socket.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("make the pcscd directory")?;
        let vpcd_port = free_port_pair().context("find two free ports for vpcd")?;
        let conf = dir.path().join("reader.conf.d");
        std::fs::create_dir_all(&conf)?;
        std::fs::write(
            conf.join("vpcd"),
            format!(
                "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:0x{vpcd_port:04X}\n\
                 LIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 0x{vpcd_port:04X}\n"
            ),
        )?;
        let pidfile = dir.path().join("pcscd.pid");
        let log = dir.path().join("pcscd.log");
        let script = format!(
            "mount -t tmpfs tmpfs /run/pcscd || exit 1; \
             while :; do pcscd --foreground -c '{conf}' >>'{log}' 2>&1 & echo $! >'{pid}'; \
             wait $!; rm -f /run/pcscd/*; done",
            conf = conf.display(),
            log = log.display(),
            pid = pidfile.display(),
        );
        std::fs::create_dir_all("/run/pcscd").context("create /run/pcscd")?;
        let shell = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("start unshare (util-linux) for a private pcscd")?;
        let me = Self {
            dir,
            shell,
            vpcd_port,
        };
        me.wait_for_daemon(None).await?;
        Ok(me)
    }

    /// Returns the socket path clients use (`PCSCLITE_CSOCK_NAME`).
    pub fn socket(&self) -> PathBuf {
        PathBuf::from(format!(
            "/proc/{}/root/run/pcscd/pcscd.comm",
            self.shell.id()
        ))
    }

    /// Returns the running daemon's pid.
    pub fn daemon_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.path().join("pcscd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Returns the daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pcscd.log")).unwrap_or_default()
    }

    /// Kills the daemon (SIGKILL, as a crash would) and waits until the loop has started a
    /// new one with its socket in place.
    pub async fn restart(&self) -> anyhow::Result<()> {
        let old = self.daemon_pid().context("no pcscd pid")?;
        signal(old, "KILL");
        self.wait_for_daemon(Some(old)).await
    }

    async fn wait_for_daemon(&self, not: Option<u32>) -> anyhow::Result<()> {
        let socket = self.socket();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            let pid = self.daemon_pid();
            if pid.is_some() && pid != not && socket_ready(&socket) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "private pcscd did not come up within 10 s; its log:\n{}",
                    self.log()
                );
            }
        }
    }
}

impl Drop for PrivatePcscd {
    fn drop(&mut self) {
        let _ = self.shell.kill();
        let _ = self.shell.wait();
        if let Some(pid) = self.daemon_pid() {
            signal(pid, "KILL");
        }
    }
}

fn socket_ready(path: &Path) -> bool {
    std::os::unix::net::UnixStream::connect(path).is_ok()
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status();
}

/// Returns a port p with p and p + 1 free on all interfaces (vpcd binds 0.0.0.0).
fn free_port_pair() -> anyhow::Result<u16> {
    for _ in 0..50 {
        let first = TcpListener::bind(("0.0.0.0", 0))?;
        let port = first.local_addr()?.port();
        if port == u16::MAX {
            continue;
        }
        if TcpListener::bind(("0.0.0.0", port + 1)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no two consecutive free ports found")
}
