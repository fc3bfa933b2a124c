//! Complete-or-absent file writes: bytes go to a temporary file in the target folder whose
//! name no watcher matches (leading `.`, `.tmp` suffix, no interface prefix), are synced,
//! renamed to the final name and the folder synced. On any error the temporary file is
//! removed, so a watcher never sees a partial file under a final name. Blocking: callers run
//! it on `spawn_blocking`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;

/// Fills the temporary file (the seam tests use to fail mid-write).
pub(crate) type Fill = fn(&mut File, &[u8]) -> io::Result<()>;

/// Writes every byte.
pub(crate) fn write_all(file: &mut File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)
}

/// Writes `bytes` to `dir/name` atomically.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    write_with(dir, name, bytes, write_all)
}

/// Writes `bytes` to `dir/name` atomically, filling the temporary file with `fill`.
pub(crate) fn write_with(dir: &Path, name: &str, bytes: &[u8], fill: Fill) -> io::Result<()> {
    let temp = dir.join(format!(".tmp-{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        fill(&mut file, bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, dir.join(name))?;
        sync_dir(dir)
    })();
    if written.is_err() {
        match fs::remove_file(&temp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(error = %e, path = %temp.display(), "temporary file not removed");
            }
        }
    }
    written
}

/// Makes the rename durable.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Folders cannot be opened for syncing here; the rename is as durable as the platform makes
/// it.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
