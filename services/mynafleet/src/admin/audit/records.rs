//! The records file of an export: one chain entry per JSON Lines line (`records.jsonl`: seq,
//! prev_hash, hash, encoding and every field of the record, `detail` as an object) or per
//! CSV row (`records.csv`: the same columns, `detail` as a JSON string). Writing renders
//! whole lines; reading names the file and line of anything it cannot use. Never adds a
//! field the chain does not cover.

use super::files::Unusable;
use mynafleet_kit::audit_chain::{ChainRecord, Entry, hash_hex, parse_hash};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the records file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// JSON Lines, one entry per line (records.jsonl).
    Jsonl,
    /// CSV with a header row (records.csv).
    Csv,
}

impl Format {
    /// Returns the name of the records file.
    pub(crate) fn file_name(self) -> &'static str {
        match self {
            Format::Jsonl => "records.jsonl",
            Format::Csv => "records.csv",
        }
    }

    /// Returns the word of the manifest.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }
}

/// One entry as read back, with the encoding it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileEntry {
    /// 1-based line (JSON Lines) or row line (CSV) it was read from.
    pub(crate) line: u64,
    /// The encoding version the line names.
    pub(crate) encoding: String,
    /// The entry.
    pub(crate) entry: Entry,
}

/// A JSON Lines line.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RecordLine {
    pub(crate) seq: i64,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
    pub(crate) encoding: String,
    #[serde(flatten)]
    pub(crate) record: ChainRecord,
}

impl RecordLine {
    /// Returns the line of `e`.
    pub(crate) fn of(e: &Entry, encoding: &str) -> Self {
        Self {
            seq: e.seq,
            prev_hash: hash_hex(&e.prev_hash),
            hash: hash_hex(&e.hash),
            encoding: encoding.to_owned(),
            record: e.record.clone(),
        }
    }
}

/// A CSV row: the JSON Lines fields flat, `detail` as a JSON object in one column.
#[derive(Debug, Serialize, Deserialize)]
struct CsvRow {
    seq: i64,
    prev_hash: String,
    hash: String,
    encoding: String,
    id: String,
    organization: String,
    time: i64,
    producer: String,
    actor_kind: String,
    actor: String,
    actor_role: String,
    auth_method: String,
    session_ref: String,
    action: String,
    action_code: String,
    clinic: String,
    target: String,
    outcome: String,
    reason: String,
    source_address: String,
    request_id: String,
    patient_ref: String,
    patient_ref_key_id: String,
    traceparent: String,
    detail: String,
}

impl CsvRow {
    fn of(e: &Entry, encoding: &str) -> Self {
        let r = e.record.clone();
        Self {
            seq: e.seq,
            prev_hash: hash_hex(&e.prev_hash),
            hash: hash_hex(&e.hash),
            encoding: encoding.to_owned(),
            detail: serde_json::to_string(&r.detail).unwrap_or_else(|_| "{}".to_owned()),
            id: r.id,
            organization: r.organization,
            time: r.time,
            producer: r.producer,
            actor_kind: r.actor_kind,
            actor: r.actor,
            actor_role: r.actor_role,
            auth_method: r.auth_method,
            session_ref: r.session_ref,
            action: r.action,
            action_code: r.action_code,
            clinic: r.clinic,
            target: r.target,
            outcome: r.outcome,
            reason: r.reason,
            source_address: r.source_address,
            request_id: r.request_id,
            patient_ref: r.patient_ref,
            patient_ref_key_id: r.patient_ref_key_id,
            traceparent: r.traceparent,
        }
    }

    fn into_line(self) -> Result<RecordLine, String> {
        let detail: BTreeMap<String, String> = serde_json::from_str(&self.detail)
            .map_err(|e| format!("detail is not a JSON object of strings: {e}"))?;
        Ok(RecordLine {
            seq: self.seq,
            prev_hash: self.prev_hash,
            hash: self.hash,
            encoding: self.encoding,
            record: ChainRecord {
                id: self.id,
                organization: self.organization,
                time: self.time,
                producer: self.producer,
                actor_kind: self.actor_kind,
                actor: self.actor,
                actor_role: self.actor_role,
                auth_method: self.auth_method,
                session_ref: self.session_ref,
                action: self.action,
                action_code: self.action_code,
                clinic: self.clinic,
                target: self.target,
                outcome: self.outcome,
                reason: self.reason,
                source_address: self.source_address,
                request_id: self.request_id,
                patient_ref: self.patient_ref,
                patient_ref_key_id: self.patient_ref_key_id,
                traceparent: self.traceparent,
                detail,
            },
        })
    }
}

/// Returns the bytes of `entries` in `format`, with the CSV header before the first row
/// when `header` (nothing at all for no entries).
pub(crate) fn render(
    format: Format,
    entries: &[Entry],
    encoding: &str,
    header: bool,
) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Jsonl => {
            let mut out = Vec::new();
            for e in entries {
                serde_json::to_writer(&mut out, &RecordLine::of(e, encoding))?;
                out.push(b'\n');
            }
            Ok(out)
        }
        Format::Csv => {
            let mut w = csv::WriterBuilder::new()
                .has_headers(header)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            for e in entries {
                w.serialize(CsvRow::of(e, encoding))?;
            }
            Ok(w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
        }
    }
}

fn bad(file: &str, line: u64, what: impl std::fmt::Display) -> Unusable {
    Unusable(format!("{file} line {line}: {what}"))
}

fn to_entry(file: &str, line: u64, l: RecordLine) -> Result<FileEntry, Unusable> {
    let prev_hash = parse_hash(&l.prev_hash)
        .ok_or_else(|| bad(file, line, "prev_hash is not 64 hex digits"))?;
    let hash = parse_hash(&l.hash).ok_or_else(|| bad(file, line, "hash is not 64 hex digits"))?;
    Ok(FileEntry {
        line,
        encoding: l.encoding,
        entry: Entry {
            seq: l.seq,
            prev_hash,
            hash,
            record: l.record,
        },
    })
}

/// Parses the records file's `text` (complete lines only).
pub(crate) fn parse(format: Format, text: &[u8]) -> Result<Vec<FileEntry>, Unusable> {
    let file = format.file_name();
    let mut out = Vec::new();
    match format {
        Format::Jsonl => {
            for (n, line) in text.split(|b| *b == b'\n').enumerate() {
                let line_no = n as u64 + 1;
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let l: RecordLine = serde_json::from_slice(line)
                    .map_err(|e| bad(file, line_no, format!("not a record line: {e}")))?;
                out.push(to_entry(file, line_no, l)?);
            }
        }
        Format::Csv => {
            let mut r = csv::ReaderBuilder::new().from_reader(text);
            let headers = r
                .headers()
                .map_err(|e| bad(file, 1, format!("not a CSV header: {e}")))?
                .clone();
            for row in r.records() {
                let row = row.map_err(|e| {
                    let line = e.position().map_or(0, csv::Position::line);
                    bad(file, line, format!("not a record row: {e}"))
                })?;
                let line_no = row.position().map_or(0, csv::Position::line);
                let row: CsvRow = row
                    .deserialize(Some(&headers))
                    .map_err(|e| bad(file, line_no, format!("not a record row: {e}")))?;
                let l = row.into_line().map_err(|e| bad(file, line_no, e))?;
                out.push(to_entry(file, line_no, l)?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
