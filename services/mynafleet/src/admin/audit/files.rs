//! The export directory (docs/audit.md "Export"): `manifest.json`, the records file,
//! `checkpoints.jsonl`, `keys.txt` and, optionally, `audit-events.ndjson`. Lines are only
//! ever appended whole and fsynced; a line an interrupted run left half written is cut off
//! before anything else is appended; the manifest is replaced atomically. Never holds a
//! private key or a clear patient identifier.

use super::records::Format;
use mynafleet_kit::audit_chain::{Checkpoint, KeyRing, hash_hex, parse_hash};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::Path;

/// The manifest's file name.
pub(crate) const MANIFEST: &str = "manifest.json";
/// The checkpoints' file name.
pub(crate) const CHECKPOINTS: &str = "checkpoints.jsonl";
/// The signing keys' file name.
pub(crate) const KEYS: &str = "keys.txt";
/// The FHIR AuditEvent file name.
pub(crate) const FHIR: &str = "audit-events.ndjson";

/// An export that cannot be read at all (a missing file, a malformed line): which file and
/// line, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Unusable(pub(crate) String);

/// What an export is of and how far it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// The chain's origin, `mynafleet-audit/organizations/{org}`.
    pub(crate) origin: String,
    /// Version of the canonical encoding the hashes cover.
    pub(crate) encoding: String,
    /// How the records file is written.
    pub(crate) format: Format,
    /// Seq of the first exported entry (none while empty).
    pub(crate) first_seq: Option<i64>,
    /// Seq of the last exported entry.
    pub(crate) last_seq: Option<i64>,
    /// When the export last ran, RFC 3339.
    pub(crate) exported_at: String,
    /// The account service it came from.
    pub(crate) server: String,
}

/// Reads `dir`'s manifest; None when there is none.
pub(crate) fn read_manifest(dir: &Path) -> Result<Option<Manifest>, Unusable> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Unusable(format!("{MANIFEST}: cannot read it: {e}"))),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| Unusable(format!("{MANIFEST}: not an export manifest: {e}")))
}

/// Replaces `dir`'s manifest (temp file, fsync, rename).
pub(crate) fn write_manifest(dir: &Path, manifest: &Manifest) -> std::io::Result<()> {
    let mut text = serde_json::to_vec_pretty(manifest)?;
    text.push(b'\n');
    replace(dir, MANIFEST, &text)
}

/// Replaces `dir/name` with `bytes` atomically.
pub(crate) fn replace(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Appends `bytes` (whole lines) to `path` and fsyncs it; creates the file when missing.
pub(crate) fn append(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() && path.exists() {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Cuts a half-written last line (no final newline) off `path`; returns the bytes cut.
pub(crate) fn trim_partial_line(path: &Path) -> std::io::Result<u64> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    if text.is_empty() || text.ends_with(b"\n") {
        return Ok(0);
    }
    let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    truncate(path, keep as u64)?;
    Ok((text.len() - keep) as u64)
}

/// Truncates `path` to `len` bytes and fsyncs it.
pub(crate) fn truncate(path: &Path, len: u64) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}

/// A checkpoint as `checkpoints.jsonl` holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CheckpointLine {
    pub(crate) origin: String,
    pub(crate) size: i64,
    pub(crate) head_hash: String,
    /// Microseconds since the epoch.
    pub(crate) time: i64,
    pub(crate) key_id: String,
    /// The signed text.
    pub(crate) note: String,
    /// Ed25519 over `note`, base64.
    pub(crate) signature: String,
}

impl CheckpointLine {
    /// Returns the line of `c`.
    pub(crate) fn of(c: &Checkpoint) -> Self {
        Self {
            origin: c.origin.clone(),
            size: c.size,
            head_hash: hash_hex(&c.head),
            time: c.time,
            key_id: c.key_id.clone(),
            note: c.note(),
            signature: c.signature_b64(),
        }
    }
}

/// A checkpoint read back, with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileCheckpoint {
    /// 1-based line number.
    pub(crate) line: u64,
    /// The checkpoint (a signature that is not base64 of 64 bytes reads as empty, so it
    /// fails verification instead of stopping it).
    pub(crate) checkpoint: Checkpoint,
    /// True when the stored note is the one its fields give.
    pub(crate) note_matches: bool,
}

/// Returns the bytes of `checkpoints` as lines.
pub(crate) fn render_checkpoints(checkpoints: &[Checkpoint]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for c in checkpoints {
        serde_json::to_writer(&mut out, &CheckpointLine::of(c))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Parses `checkpoints.jsonl` (complete lines).
pub(crate) fn parse_checkpoints(text: &[u8]) -> Result<Vec<FileCheckpoint>, Unusable> {
    let mut out = Vec::new();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        let line_no = n as u64 + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let bad = |what: String| Unusable(format!("{CHECKPOINTS} line {line_no}: {what}"));
        let l: CheckpointLine =
            serde_json::from_slice(line).map_err(|e| bad(format!("not a checkpoint line: {e}")))?;
        let head = parse_hash(&l.head_hash)
            .ok_or_else(|| bad("head_hash is not 64 hex digits".to_owned()))?;
        let checkpoint = Checkpoint {
            origin: l.origin,
            size: l.size,
            head,
            time: l.time,
            key_id: l.key_id,
            signature: Checkpoint::decode_signature(&l.signature).unwrap_or_default(),
        };
        out.push(FileCheckpoint {
            line: line_no,
            note_matches: checkpoint.note() == l.note,
            checkpoint,
        });
    }
    Ok(out)
}

/// Reads a key file (`keys.txt` or `--keys`), naming `shown` in errors.
pub(crate) fn read_keys(path: &Path, shown: &str) -> Result<KeyRing, Unusable> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Unusable(format!("{shown}: cannot read it: {e}")))?;
    KeyRing::parse(&text).map_err(|line| {
        Unusable(format!(
            "{shown} line {line}: not a key line (mynafleet-audit-key <id> ed25519 <base64>)"
        ))
    })
}

/// Reads `dir/name` whole; a missing file is [`Unusable`] naming it.
pub(crate) fn read_required(dir: &Path, name: &str) -> Result<Vec<u8>, Unusable> {
    std::fs::read(dir.join(name)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Unusable(format!("{name}: missing from {}", dir.display()))
        } else {
            Unusable(format!("{name}: cannot read it: {e}"))
        }
    })
}
