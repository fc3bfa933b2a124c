//! Export directories for unit tests: kit's test chains (`audit_chain::testing`), written
//! through the real [`Writer`], and helpers that tamper with the files the way an attacker
//! would.

use super::records::Format;
use super::writer::Writer;
use mynafleet_kit::audit_chain::testing::sealed_chain;
pub(crate) use mynafleet_kit::audit_chain::testing::{chain, seal, test_origin};
use mynafleet_kit::audit_chain::{Entry, KeyRing, Signer};
use std::path::{Path, PathBuf};

/// An export written to a temp directory, with the key that signed it.
#[derive(Debug)]
pub(crate) struct Export {
    _tmp: tempfile::TempDir,
    /// The export directory.
    pub(crate) dir: PathBuf,
    /// The signing key.
    pub(crate) signer: Signer,
    /// Every entry of the chain.
    pub(crate) entries: Vec<Entry>,
    /// A file with the real public key, kept apart (`--keys`).
    pub(crate) trusted: PathBuf,
}

/// Writes an export of a chain of `size` entries in `format`, with checkpoints every
/// `every` entries and at the end, as `admin audit export` does page by page.
pub(crate) fn export(format: Format, size: i64, every: i64) -> Export {
    export_with(format, size, every, false)
}

/// Like [`export`], also writing FHIR AuditEvents when `fhir` (`--fhir`).
pub(crate) fn export_with(format: Format, size: i64, every: i64, fhir: bool) -> Export {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    let (entries, checkpoints, signer) = sealed_chain(size, every);
    let mut w = Writer::open(
        &dir,
        &test_origin(),
        Some(format),
        fhir,
        "https://test",
        "t0",
    )
    .unwrap();
    let pages = entries.chunks(usize::try_from(every).unwrap());
    for (page, checkpoint) in pages.zip(&checkpoints) {
        w.append(page, std::slice::from_ref(checkpoint)).unwrap();
    }
    w.write_keys(&KeyRing(vec![signer.public_key().clone()]))
        .unwrap();
    w.finish("t1").unwrap();
    let trusted = tmp.path().join("trusted.keys");
    std::fs::write(&trusted, signer.public_key().to_line() + "\n").unwrap();
    Export {
        _tmp: tmp,
        dir,
        signer,
        entries,
        trusted,
    }
}

/// Returns the lines of `path`.
pub(crate) fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Writes `lines` to `path`, each with a newline.
pub(crate) fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

/// Edits the JSON line of `path` at index `i` with `edit`.
pub(crate) fn edit_json_line(path: &Path, i: usize, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut all = lines(path);
    let mut v: serde_json::Value = serde_json::from_str(&all[i]).unwrap();
    edit(&mut v);
    all[i] = serde_json::to_string(&v).unwrap();
    write_lines(path, &all);
}
