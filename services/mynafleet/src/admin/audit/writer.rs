//! Writing an export directory, resumable by seq: a new directory starts a new export; a
//! directory that holds an export of the same origin continues after its last seq, once the
//! half line an interrupted run may have left is cut off. Each page is appended as whole,
//! fsynced lines — FHIR events first, then records, then checkpoints — and the manifest is
//! replaced after it, so the records file is the one measure of how far an export got.
//! Never talks to a server: the export command feeds it pages.

use super::files::{self, CHECKPOINTS, FHIR, KEYS, Manifest};
use super::records::{self, Format};
use anyhow::{Context as _, bail};
use mynafleet_kit::audit_chain::{Checkpoint, ENCODING, Entry, Hash, KeyRing, fhir, hash_hex};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// An export directory open for appending.
#[derive(Debug)]
pub(crate) struct Writer {
    dir: PathBuf,
    manifest: Manifest,
    fhir: bool,
    /// Seq and hash of the last entry in the records file.
    last: Option<(i64, Hash)>,
    /// Sizes of the checkpoints already in the file.
    checkpoints: BTreeSet<i64>,
    /// What opening repaired, for the person to read.
    pub(crate) notes: Vec<String>,
}

impl Writer {
    /// Opens `dir` for an export of the chain `origin` from `server` at `now` (RFC 3339).
    /// `format` None keeps an existing export's format (JSON Lines for a new one); `fhir`
    /// also writes FHIR AuditEvents (kept up once an export has them).
    pub(crate) fn open(
        dir: &Path,
        origin: &str,
        format: Option<Format>,
        fhir: bool,
        server: &str,
        now: &str,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let mut notes = Vec::new();
        let manifest = match files::read_manifest(dir)? {
            None => {
                let busy = std::fs::read_dir(dir)
                    .with_context(|| format!("read {}", dir.display()))?
                    .flatten()
                    .any(|e| !e.file_name().to_string_lossy().starts_with('.'));
                if busy {
                    bail!(
                        "{} is not empty and holds no export ({} is missing); export into a new \
                         or empty directory",
                        dir.display(),
                        files::MANIFEST
                    );
                }
                let m = Manifest {
                    origin: origin.to_owned(),
                    encoding: ENCODING.to_owned(),
                    format: format.unwrap_or(Format::Jsonl),
                    first_seq: None,
                    last_seq: None,
                    exported_at: now.to_owned(),
                    server: server.to_owned(),
                };
                files::write_manifest(dir, &m).context("write the manifest")?;
                m
            }
            Some(m) => {
                if m.origin != origin {
                    bail!(
                        "{} holds an export of {}, not of {origin}; export into another directory",
                        dir.display(),
                        m.origin
                    );
                }
                if let Some(f) = format.filter(|f| *f != m.format) {
                    bail!(
                        "{} holds a {} export; continue it without --format {} or export into \
                         another directory",
                        dir.display(),
                        m.format.key(),
                        f.key()
                    );
                }
                if m.encoding != ENCODING {
                    bail!(
                        "{} was written with encoding {}, this CLI writes {ENCODING}; export \
                         into another directory",
                        dir.display(),
                        m.encoding
                    );
                }
                m
            }
        };
        let records_path = dir.join(manifest.format.file_name());
        let cut = files::trim_partial_line(&records_path)
            .with_context(|| format!("repair {}", records_path.display()))?;
        if cut > 0 {
            notes.push(format!(
                "cut a half-written line ({cut} bytes) off {} left by an interrupted export",
                manifest.format.file_name()
            ));
        }
        let text = match std::fs::read(&records_path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("read {}", records_path.display())),
        };
        let entries = records::parse(manifest.format, &text)?;
        let last = entries.last().map(|e| (e.entry.seq, e.entry.hash));
        if let Some(want) = manifest.last_seq
            && last.is_none_or(|(seq, _)| seq < want)
        {
            bail!(
                "{} ends before seq {want}, where the manifest says the export ends: the export \
                 was changed; run `mynafleet admin audit verify {}` or export into another \
                 directory",
                manifest.format.file_name(),
                dir.display()
            );
        }
        let fhir = fhir || dir.join(FHIR).exists();
        if fhir {
            catch_up_fhir(dir, &entries, &mut notes)?;
        }
        let cut = files::trim_partial_line(&dir.join(CHECKPOINTS))
            .with_context(|| format!("repair {CHECKPOINTS}"))?;
        if cut > 0 {
            notes.push(format!("cut a half-written line off {CHECKPOINTS}"));
        }
        let checkpoints = match std::fs::read(dir.join(CHECKPOINTS)) {
            Ok(t) => files::parse_checkpoints(&t)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).context(format!("read {CHECKPOINTS}")),
        };
        let mut manifest = manifest;
        manifest.first_seq = entries.first().map(|e| e.entry.seq);
        manifest.last_seq = last.map(|(seq, _)| seq);
        manifest.server = server.to_owned();
        Ok(Self {
            dir: dir.to_owned(),
            manifest,
            fhir,
            last,
            checkpoints: checkpoints.iter().map(|c| c.checkpoint.size).collect(),
            notes,
        })
    }

    /// Returns the seq the export has reached (0 when it holds no entry).
    pub(crate) fn last_seq(&self) -> i64 {
        self.last.map_or(0, |(seq, _)| seq)
    }

    /// Returns the manifest as it stands.
    pub(crate) fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Appends the entries of `entries` past the export's last seq, then the checkpoints of
    /// `checkpoints` not yet in it, and updates the manifest. Fails when the first new entry
    /// does not continue the export (a gap, or a previous hash that differs). Returns how
    /// many entries were appended.
    pub(crate) fn append(
        &mut self,
        entries: &[Entry],
        checkpoints: &[Checkpoint],
    ) -> anyhow::Result<usize> {
        let new: Vec<Entry> = entries
            .iter()
            .filter(|e| e.seq > self.last_seq())
            .cloned()
            .collect();
        if let (Some((seq, hash)), Some(first)) = (self.last, new.first()) {
            if first.seq != seq + 1 {
                bail!(
                    "the server's chain continues at seq {} but this export ends at seq {seq}",
                    first.seq
                );
            }
            if first.prev_hash != hash {
                bail!(
                    "the server's seq {} does not follow this export's seq {seq} (its previous \
                     hash differs): the server's chain or this export was changed; run `mynafleet \
                     admin audit verify` on the export",
                    first.seq
                );
            }
        }
        if self.fhir {
            append_fhir(&self.dir, &new)?;
        }
        let path = self.dir.join(self.manifest.format.file_name());
        let header = std::fs::metadata(&path).map_or(true, |m| m.len() == 0);
        let bytes = records::render(self.manifest.format, &new, ENCODING, header)?;
        files::append(&path, &bytes).with_context(|| format!("append to {}", path.display()))?;
        if let Some(last) = new.last() {
            self.last = Some((last.seq, last.hash));
            self.manifest.last_seq = Some(last.seq);
            self.manifest.first_seq.get_or_insert(new[0].seq);
        }
        // One line per size: a page's checkpoints and the seal may name the same one.
        let mut fresh: Vec<_> = Vec::new();
        for c in checkpoints {
            if !self.checkpoints.contains(&c.size)
                && !fresh.iter().any(|f: &Checkpoint| f.size == c.size)
            {
                fresh.push(c.clone());
            }
        }
        let bytes = files::render_checkpoints(&fresh)?;
        files::append(&self.dir.join(CHECKPOINTS), &bytes)
            .with_context(|| format!("append to {CHECKPOINTS}"))?;
        self.checkpoints.extend(fresh.iter().map(|c| c.size));
        files::write_manifest(&self.dir, &self.manifest).context("write the manifest")?;
        Ok(new.len())
    }

    /// Replaces `keys.txt` with `keys`.
    pub(crate) fn write_keys(&self, keys: &KeyRing) -> anyhow::Result<()> {
        files::replace(&self.dir, KEYS, keys.to_text().as_bytes()).context("write keys.txt")
    }

    /// Stamps the manifest with `now` (RFC 3339) and writes it.
    pub(crate) fn finish(&mut self, now: &str) -> anyhow::Result<()> {
        self.manifest.exported_at = now.to_owned();
        files::write_manifest(&self.dir, &self.manifest).context("write the manifest")
    }
}

/// Returns the FHIR lines of `entries`.
fn fhir_lines(entries: &[Entry]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries {
        let event = fhir::audit_event(&e.record, e.seq, &hash_hex(&e.hash));
        serde_json::to_writer(&mut out, &event)?;
        out.push(b'\n');
    }
    Ok(out)
}

fn append_fhir(dir: &Path, entries: &[Entry]) -> anyhow::Result<()> {
    files::append(&dir.join(FHIR), &fhir_lines(entries)?)
        .with_context(|| format!("append to {FHIR}"))
}

/// Brings the FHIR file to one event per entry of the records file: cuts a half line and
/// events past the records (a run interrupted between the two appends), and writes the
/// events of entries exported before `--fhir` was asked for.
fn catch_up_fhir(
    dir: &Path,
    entries: &[records::FileEntry],
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let path = dir.join(FHIR);
    files::trim_partial_line(&path).with_context(|| format!("repair {FHIR}"))?;
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).context(format!("read {FHIR}")),
    };
    let ends: Vec<usize> = text
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    if ends.len() > entries.len() {
        let keep = entries.len().checked_sub(1).map_or(0, |i| ends[i]);
        files::truncate(&path, keep as u64).with_context(|| format!("repair {FHIR}"))?;
        notes.push(format!(
            "cut {} FHIR events past the last exported record",
            ends.len() - entries.len()
        ));
    } else if ends.len() < entries.len() {
        let missing: Vec<Entry> = entries[ends.len()..]
            .iter()
            .map(|e| e.entry.clone())
            .collect();
        append_fhir(dir, &missing)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
