//! The `mynafleet` binary as a child process of an e2e test: `mynafleet dev` started on free
//! ports (every listener on port 0), and any child stopped with a signal the way an operator
//! or a container runtime stops it. It never reads the child's output; callers choose where
//! it goes.

use std::path::Path;
use std::process::Stdio;

use tokio::process::{Child, Command};

use crate::{DEADLINE, binaries};

/// Returns the command for `mynafleet dev --data-dir <data_dir>` with every port 0 (gRPC
/// listeners and metrics), stderr discarded and killed on drop; stdout is the caller's
/// choice (null unless set).
pub fn dev(data_dir: &Path) -> Command {
    let mut cmd = Command::new(binaries::path("mynafleet"));
    cmd.arg("dev")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--account-port", "0", "--activation-port", "0"])
        .args(["--proxy-port", "0", "--oqs-sim-port", "0"])
        .args(["--metrics-port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    cmd
}

/// Sends `signal` (`INT`, `TERM`, …) to `child` and waits for it to exit within
/// [`DEADLINE`]; returns whether it exited with 0.
pub async fn stop(mut child: Child, signal: &str) -> bool {
    let pid = child.id().expect("child still running").to_string();
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{signal} {pid}");
    tokio::time::timeout(DEADLINE, child.wait())
        .await
        .expect("process did not stop within the deadline")
        .expect("wait for the process")
        .success()
}
