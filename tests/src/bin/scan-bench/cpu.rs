//! CPU time around one scan, in nanoseconds from the kernel's per-thread scheduler
//! statistics (`/proc/<pid>/task/<tid>/schedstat`), split three ways: the client side (this
//! process's threads but the card's: the bench, the agent's card thread), the simulated card
//! (card-sim's vpcd session thread, whose RSA signature is most of it), and the shared pcscd.
//! Only reads `/proc`; never changes anything.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Thread names (`comm`, at most 15 bytes) of the card's vpcd session.
const CARD_THREADS: [&str; 2] = ["scan-bench-vpcd", "card-sim-vpcd-"];

/// CPU consumed so far.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CpuTimes {
    pub(crate) client: Duration,
    pub(crate) card: Duration,
    pub(crate) pcscd: Duration,
}

impl CpuTimes {
    /// Returns what was used since `earlier`.
    pub(crate) fn since(self, earlier: CpuTimes) -> CpuTimes {
        CpuTimes {
            client: self.client.saturating_sub(earlier.client),
            card: self.card.saturating_sub(earlier.card),
            pcscd: self.pcscd.saturating_sub(earlier.pcscd),
        }
    }
}

/// Reads the CPU clocks of this process and of the pcscd serving it.
#[derive(Debug)]
pub(crate) struct CpuClock {
    pcscd_tasks: Option<PathBuf>,
}

impl CpuClock {
    /// Finds the pcscd in this process's mount namespace (the shared daemon, not a test's
    /// private one); without it the pcscd figure stays zero.
    pub(crate) fn new() -> Self {
        Self {
            pcscd_tasks: find_pcscd().map(|pid| PathBuf::from(format!("/proc/{pid}/task"))),
        }
    }

    /// Returns whether pcscd's clock is read.
    pub(crate) fn sees_pcscd(&self) -> bool {
        self.pcscd_tasks.is_some()
    }

    /// Returns the CPU used so far.
    pub(crate) fn now(&self) -> CpuTimes {
        let mut times = CpuTimes::default();
        for (comm, nanos) in tasks(Path::new("/proc/self/task")) {
            let spent = Duration::from_nanos(nanos);
            if CARD_THREADS.iter().any(|name| comm.starts_with(name)) {
                times.card += spent;
            } else {
                times.client += spent;
            }
        }
        if let Some(dir) = &self.pcscd_tasks {
            times.pcscd = Duration::from_nanos(tasks(dir).map(|(_, nanos)| nanos).sum());
        }
        times
    }
}

/// Each thread under `dir` with its name and CPU nanoseconds; a thread that ended between
/// listing and reading is left out.
fn tasks(dir: &Path) -> impl Iterator<Item = (String, u64)> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| {
            let path = task.path();
            let stat = fs::read_to_string(path.join("schedstat")).ok()?;
            let nanos = stat.split_whitespace().next()?.parse().ok()?;
            let comm = fs::read_to_string(path.join("comm")).unwrap_or_default();
            Some((comm.trim_end().to_owned(), nanos))
        })
}

fn find_pcscd() -> Option<u32> {
    let own_namespace = fs::read_link("/proc/self/ns/mnt").ok()?;
    fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let comm = fs::read_to_string(entry.path().join("comm")).ok()?;
        let namespace = fs::read_link(entry.path().join("ns/mnt")).ok()?;
        (comm.trim_end() == "pcscd" && namespace == own_namespace).then_some(pid)
    })
}
