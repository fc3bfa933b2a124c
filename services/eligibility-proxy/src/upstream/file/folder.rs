//! The file interface's folder work: choosing a free 12-digit request name, placing the
//! request atomically, finding its result or `.err` (subfolders included), and withdrawing
//! a request nobody answered. It never touches files of other requests.

use crate::config::FileInterfaceConfig;
use crate::handoff::atomic;
use crate::upstream::UpstreamError;
use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// How many names are tried before giving up (100 are possible per minute).
const NAME_ATTEMPTS: usize = 50;
/// How deep subfolders of the result folder are searched.
const MAX_DEPTH: usize = 4;

/// The file names of one request.
#[derive(Clone, Debug)]
pub(super) struct Names {
    /// `OQSsiquc01req_<12 digits>.xml`.
    pub(super) request: String,
    /// `OQSsiquc01res_<12 digits>.xml`.
    pub(super) result: String,
    /// `<request base>.err` (and the `res_` spelling, tolerated).
    pub(super) errs: [String; 2],
}

impl Names {
    fn new(suffix: &str) -> Self {
        Self {
            request: format!("OQSsiquc01req_{suffix}.xml"),
            result: format!("OQSsiquc01res_{suffix}.xml"),
            errs: [
                format!("OQSsiquc01req_{suffix}.err"),
                format!("OQSsiquc01res_{suffix}.err"),
            ],
        }
    }
}

/// What appeared in the result folder.
#[derive(Debug)]
pub(super) enum Found {
    Result(PathBuf),
    Err(PathBuf),
}

/// `YYMMDDhhmm` (JST) and two random digits.
fn candidate() -> String {
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+9));
    let random = uuid::Uuid::new_v4().as_u128() % 100;
    format!(
        "{:02}{:02}{:02}{:02}{:02}{random:02}",
        now.year().rem_euclid(100),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
    )
}

/// A name reserved in this process; released when dropped.
#[derive(Debug)]
struct Reservation {
    set: Arc<Mutex<HashSet<String>>>,
    suffix: String,
}

impl Reservation {
    fn take(set: &Arc<Mutex<HashSet<String>>>, suffix: String) -> Option<Self> {
        let mut names = set.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        names.insert(suffix.clone()).then(|| Self {
            set: set.clone(),
            suffix,
        })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut names = self
            .set
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        names.remove(&self.suffix);
    }
}

/// A request placed in the request folder.
#[derive(Debug)]
pub(super) struct Pending {
    names: Names,
    request_path: PathBuf,
    settled: bool,
    _reservation: Reservation,
}

impl Pending {
    /// Chooses a name free in this process, the request folder and the result folder, and
    /// places `request` there under it.
    pub(super) async fn place(
        config: &FileInterfaceConfig,
        in_flight: &Arc<Mutex<HashSet<String>>>,
        request: Vec<u8>,
    ) -> Result<Self, UpstreamError> {
        for _ in 0..NAME_ATTEMPTS {
            let Some(reservation) = Reservation::take(in_flight, candidate()) else {
                continue;
            };
            let names = Names::new(&reservation.suffix);
            if taken(config, &names).await? {
                continue;
            }
            let dir = config.req_dir.clone();
            let name = names.request.clone();
            tokio::task::spawn_blocking(move || atomic::write(&dir, &name, &request))
                .await
                .map_err(|e| UpstreamError::Unavailable(format!("oqs file interface: {e}")))?
                .map_err(|e| {
                    UpstreamError::Unavailable(format!(
                        "oqs file interface: write the request: {e}"
                    ))
                })?;
            return Ok(Self {
                request_path: config.req_dir.join(&names.request),
                names,
                settled: false,
                _reservation: reservation,
            });
        }
        Err(UpstreamError::Unavailable(
            "oqs file interface: no free request name this minute".to_owned(),
        ))
    }

    /// The request's file names.
    pub(super) fn names(&self) -> &Names {
        &self.names
    }

    /// The terminal answered: the request is its business now.
    pub(super) fn answered(mut self) {
        self.settled = true;
    }

    /// Removes the request if the terminal has not taken it yet.
    pub(super) async fn withdraw(mut self) {
        self.settled = true;
        remove_request(&self.request_path).await;
    }
}

impl Drop for Pending {
    /// A wait cancelled from outside (the guard's deadline) still withdraws the request.
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let path = self.request_path.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { remove_request(&path).await });
        }
    }
}

async fn remove_request(path: &Path) {
    match tokio::fs::remove_file(path).await {
        Ok(()) => tracing::info!(path = %path.display(), "unanswered oqs request withdrawn"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, path = %path.display(), "oqs request not withdrawn"),
    }
}

/// Whether any file of `names` already exists where the terminal or this adapter look.
async fn taken(config: &FileInterfaceConfig, names: &Names) -> Result<bool, UpstreamError> {
    let candidates = [
        config.req_dir.join(&names.request),
        config.res_dir.join(&names.request),
        config.res_dir.join(&names.result),
        config.res_dir.join(&names.errs[0]),
        config.res_dir.join(&names.errs[1]),
    ];
    for path in candidates {
        let exists = tokio::fs::try_exists(&path).await.map_err(|e| {
            UpstreamError::Unavailable(format!("oqs file interface: check request names: {e}"))
        })?;
        if exists {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Looks for the result or `.err` of `names` under `res_dir`.
pub(super) async fn find(res_dir: PathBuf, names: Names) -> io::Result<Option<Found>> {
    tokio::task::spawn_blocking(move || search(&res_dir, &names, 0))
        .await
        .map_err(io::Error::other)?
}

fn search(dir: &Path, names: &Names, depth: usize) -> io::Result<Option<Found>> {
    let mut subfolders = Vec::new();
    let mut err = None;
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // Symbolic links are not followed, so a loop cannot trap the search.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            subfolders.push(entry.path());
        } else if name == names.result {
            return Ok(Some(Found::Result(entry.path())));
        } else if names.errs.iter().any(|e| e == name) {
            err = Some(entry.path());
        }
    }
    if let Some(path) = err {
        return Ok(Some(Found::Err(path)));
    }
    if depth < MAX_DEPTH {
        for sub in subfolders {
            // A subfolder that cannot be read is skipped; the root must be readable.
            if let Ok(Some(found)) = search(&sub, names, depth + 1) {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}
