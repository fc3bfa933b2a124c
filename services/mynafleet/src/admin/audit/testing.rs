//! Export directories for unit tests: chains built with kit (`entry_hash`, a fresh
//! `Signer`), written through the real [`Writer`], and helpers that tamper with the files
//! the way an attacker would.

use super::records::Format;
use super::writer::Writer;
use mynafleet_kit::audit_chain::{
    ChainRecord, Checkpoint, Entry, KeyRing, Signer, ZERO_HASH, entry_hash, origin,
};
use std::path::{Path, PathBuf};

/// The organization of every test chain.
pub(crate) const ORG: &str = "organizations/0192f1c2-0000-7000-8000-000000000001";

/// Returns the origin of the test chain.
pub(crate) fn test_origin() -> String {
    origin(ORG)
}

/// Returns record `n` of the test chain.
pub(crate) fn record(n: i64) -> ChainRecord {
    let mut r = ChainRecord {
        id: format!("0192f1c2-0000-7000-8000-{n:012}"),
        organization: ORG.to_owned(),
        time: 1_790_000_000_000_000 + n * 1_000_000,
        producer: "account".to_owned(),
        actor_kind: "operator".to_owned(),
        actor: format!("{ORG}/operators/admin"),
        actor_role: "org_admin".to_owned(),
        auth_method: "password+totp".to_owned(),
        action: if n % 3 == 0 {
            "eligibility.check".to_owned()
        } else {
            "clinic.create".to_owned()
        },
        action_code: "C".to_owned(),
        clinic: format!("{ORG}/clinics/c{n}"),
        target: format!("{ORG}/clinics/c{n}"),
        outcome: "success".to_owned(),
        source_address: "127.0.0.1:5000".to_owned(),
        request_id: format!("req-{n}"),
        ..ChainRecord::default()
    };
    if n % 3 == 0 {
        r.patient_ref = "ab".repeat(32);
        r.patient_ref_key_id = "k1".to_owned();
        r.detail
            .insert("note".to_owned(), "受付, \"二番\"\n窓口".to_owned());
        r.detail.insert("method".to_owned(), "card".to_owned());
    }
    r
}

/// Returns entries `from..=to` of the test chain (from 1, so the hashes link).
pub(crate) fn chain(to: i64) -> Vec<Entry> {
    let o = test_origin();
    let mut prev = ZERO_HASH;
    (1..=to)
        .map(|seq| {
            let record = record(seq);
            let hash = entry_hash(&o, seq, &prev, &record);
            let e = Entry {
                seq,
                prev_hash: prev,
                hash,
                record,
            };
            prev = hash;
            e
        })
        .collect()
}

/// Returns `signer`'s checkpoint of `entries` at `size`.
pub(crate) fn seal(signer: &Signer, entries: &[Entry], size: i64) -> Checkpoint {
    let head = usize::try_from(size)
        .ok()
        .and_then(|s| s.checked_sub(1))
        .map_or(ZERO_HASH, |i| entries[i].hash);
    signer.sign(&test_origin(), size, head, 1_790_000_100_000_000 + size)
}

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
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("export");
    let (signer, _) = Signer::generate().unwrap();
    let entries = chain(size);
    let mut w = Writer::open(
        &dir,
        &test_origin(),
        Some(format),
        false,
        "https://test",
        "t0",
    )
    .unwrap();
    for page in entries.chunks(usize::try_from(every).unwrap()) {
        let last = page.last().unwrap().seq;
        w.append(page, &[seal(&signer, &entries, last)]).unwrap();
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
