//! `admin audit verify DIR`: checks an export offline, with no server — the manifest, every
//! record against the chain (kit's [`Verifier`]), every checkpoint's signature under the
//! trusted keys (`--keys FILE`, else the export's own keys.txt with a warning) and its head
//! against the records, and an end some checkpoint seals. Prints "OK: …" or each problem,
//! the first bad seq first. When the export has FHIR AuditEvents, each must be the event
//! its verified entry gives, one per entry. Exit code 0 when all is well, 1 on any problem,
//! 2 when the export cannot be read (a missing file, a malformed line: which file and line).
//! Never changes the export.

use super::files::{self, CHECKPOINTS, FHIR, KEYS, Unusable};
use super::records::{self, FileEntry};
use crate::admin::output::{self, Format as Output};
use mynafleet_kit::audit_chain::{
    ENCODING, Problem, ProblemKind, Report, Verifier, fhir, hash_hex,
};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

/// What the check of an export found.
#[derive(Debug)]
pub(crate) struct Verdict {
    /// The verifier's report, with the manifest's and the checkpoint notes' problems added,
    /// ordered by seq.
    pub(crate) report: Report,
    /// True when the trusted keys were the export's own keys.txt.
    pub(crate) keys_from_export: bool,
}

/// Checks the export in `dir` with the trusted keys of `keys` (None: the export's keys.txt).
pub(crate) fn check(dir: &Path, keys: Option<&Path>) -> Result<Verdict, Unusable> {
    let manifest = files::read_manifest(dir)?.ok_or_else(|| {
        Unusable(format!(
            "{}: missing from {} (is it an export directory?)",
            files::MANIFEST,
            dir.display()
        ))
    })?;
    if manifest.encoding != ENCODING {
        return Err(Unusable(format!(
            "{}: encoding {} is not one this CLI knows ({ENCODING})",
            files::MANIFEST,
            manifest.encoding
        )));
    }
    let name = manifest.format.file_name();
    let text = files::read_required(dir, name)?;
    if !text.is_empty() && !text.ends_with(b"\n") {
        let line = text.iter().filter(|b| **b == b'\n').count() + 1;
        return Err(Unusable(format!(
            "{name} line {line}: half written (an interrupted export); run the export into \
             this directory again to repair it"
        )));
    }
    let entries = records::parse(manifest.format, &text)?;
    if let Some(e) = entries.iter().find(|e| e.encoding != ENCODING) {
        return Err(Unusable(format!(
            "{name} line {}: encoding {} is not one this CLI knows ({ENCODING})",
            e.line, e.encoding
        )));
    }
    let checkpoints = files::parse_checkpoints(&files::read_required(dir, CHECKPOINTS)?)?;
    let (ring, keys_from_export) = match keys {
        Some(path) => (files::read_keys(path, &path.display().to_string())?, false),
        None => (files::read_keys(&dir.join(KEYS), KEYS)?, true),
    };

    let first = entries.first().map(|e| e.entry.seq);
    let last = entries.last().map(|e| e.entry.seq);
    // The anchor after retention is the checkpoint one below the first seq: the verifier
    // finds it among the checkpoints.
    let mut verifier = Verifier::new(&manifest.origin, None, ring);
    for e in &entries {
        verifier.entry(&e.entry);
    }
    let all: Vec<_> = checkpoints.iter().map(|c| c.checkpoint.clone()).collect();
    let mut report = verifier.finish(&all);

    for c in checkpoints.iter().filter(|c| !c.note_matches) {
        let size = c.checkpoint.size;
        report.problems.push(Problem {
            seq: Some(size.max(1)),
            kind: ProblemKind::CheckpointBadSignature,
            what: format!(
                "seq {}: the checkpoint at size {size} ({CHECKPOINTS} line {}) carries a note \
                 that is not the text of its fields (the note was altered)",
                size.max(1),
                c.line
            ),
        });
    }
    if manifest
        .last_seq
        .is_some_and(|want| last.is_none_or(|l| l < want))
    {
        let missing = last.map_or(manifest.first_seq.unwrap_or(1), |l| l + 1);
        report.problems.push(Problem {
            seq: Some(missing),
            kind: ProblemKind::TruncatedTail,
            what: format!(
                "seq {missing}: {name} ends at {}, but the manifest says the export runs to \
                 seq {} (a truncated tail)",
                last.map_or("no record".to_owned(), |l| format!("seq {l}")),
                manifest.last_seq.unwrap_or_default()
            ),
        });
    }
    if manifest.first_seq.is_some() && manifest.first_seq != first {
        let at = first.or(manifest.first_seq).unwrap_or(1);
        report.problems.push(Problem {
            seq: Some(at),
            kind: ProblemKind::Missing,
            what: format!(
                "seq {at}: {name} starts at {}, but the manifest says seq {}",
                first.map_or("no record".to_owned(), |f| format!("seq {f}")),
                manifest.first_seq.unwrap_or_default()
            ),
        });
    }
    report.problems.extend(fhir_problems(dir, &entries)?);
    // The first bad seq first; problems without a seq last, each group in the order found.
    report.problems.sort_by_key(|p| p.seq.unwrap_or(i64::MAX));
    report.problems.dedup();
    Ok(Verdict {
        report,
        keys_from_export,
    })
}

/// Checks the export's FHIR AuditEvents, when it has them: line N must be the event of the
/// N-th entry, as the export wrote it from the record, its seq and its hash.
fn fhir_problems(dir: &Path, entries: &[FileEntry]) -> Result<Vec<Problem>, Unusable> {
    let path = dir.join(FHIR);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = files::read_required(dir, FHIR)?;
    let mut problems = Vec::new();
    let mut mismatch = |seq: i64, what: String| {
        problems.push(Problem {
            seq: Some(seq),
            kind: ProblemKind::FhirMismatch,
            what,
        });
    };
    let lines: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(e) = entries.get(i) else {
            let last = entries.last().map_or(0, |e| e.entry.seq);
            mismatch(
                last.max(1),
                format!(
                    "{FHIR} line {}: an event past the last record (seq {last}); the file \
                     has {} events for {} records",
                    i + 1,
                    lines.len(),
                    entries.len()
                ),
            );
            break;
        };
        let seq = e.entry.seq;
        let want = fhir::audit_event(&e.entry.record, seq, &hash_hex(&e.entry.hash));
        let same = serde_json::from_slice::<serde_json::Value>(line).is_ok_and(|got| got == want);
        if !same {
            mismatch(
                seq,
                format!(
                    "seq {seq}: {FHIR} line {} is not the AuditEvent of this record (the FHIR \
                     file was altered)",
                    i + 1
                ),
            );
        }
    }
    if let Some(e) = entries.get(lines.len()) {
        let seq = e.entry.seq;
        mismatch(
            seq,
            format!(
                "seq {seq}: {FHIR} ends after {} events, before this record (events missing)",
                lines.len()
            ),
        );
    }
    Ok(problems)
}

/// Returns the exit code of a check: 0 when all is well, 1 on a problem, 2 when the export
/// could not be read.
pub(crate) fn exit_code(result: &Result<Verdict, Unusable>) -> u8 {
    match result {
        Ok(v) if v.report.is_ok() => 0,
        Ok(_) => 1,
        Err(_) => 2,
    }
}

/// The text of `problem`, opening with the seq it concerns (`seq 17: …`).
pub(crate) fn problem_line(p: &Problem) -> String {
    match p.seq {
        Some(seq) if !p.what.starts_with("seq") => format!("seq {seq}: {}", p.what),
        _ => p.what.clone(),
    }
}

/// Returns the one-line summary of a clean report.
pub(crate) fn ok_line(v: &Verdict) -> String {
    let r = &v.report;
    let range = match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => format!("seq {a}..{b}"),
        _ => "no seq".to_owned(),
    };
    let keys = r.signing_keys.join(", ");
    let by = match r.signing_keys.len() {
        0 => "no signatures".to_owned(),
        1 => format!("all signatures by key {keys}"),
        _ => format!("all signatures by keys {keys}"),
    };
    format!(
        "OK: {} records, {range}, {} checkpoints, {by}",
        r.entries, r.checkpoints
    )
}

/// The warning printed when the export's own keys were trusted.
pub(crate) const OWN_KEYS_WARNING: &str = "warning: no --keys FILE given, so the keys shipped \
     in the export's keys.txt were trusted: this proves the export is consistent, not that it \
     comes from your server (get the keys once with `mynafleet admin audit keys > trusted.keys` \
     and pass --keys trusted.keys)";

#[derive(Serialize)]
struct JsonProblem<'a> {
    seq: Option<i64>,
    what: &'a str,
}

/// Runs `admin audit verify` and returns its exit code.
pub(crate) fn run(format: Output, dir: &Path, keys: Option<&Path>) -> ExitCode {
    let result = check(dir, keys);
    let code = exit_code(&result);
    let verdict = match result {
        Ok(v) => v,
        Err(e) => {
            eprintln!("mynafleet: cannot verify {}: {e}", dir.display());
            return ExitCode::from(code);
        }
    };
    if verdict.keys_from_export {
        eprintln!("{OWN_KEYS_WARNING}");
    }
    let r = &verdict.report;
    let printed = match format {
        Output::Json => output::json(&serde_json::json!({
            "ok": r.is_ok(),
            "records": r.entries,
            "first_seq": r.first_seq,
            "last_seq": r.last_seq,
            "checkpoints": r.checkpoints,
            "signed_by": r.signing_keys,
            "keys_from_export": verdict.keys_from_export,
            "problems": r.problems.iter().map(|p| JsonProblem { seq: p.seq, what: &p.what })
                .collect::<Vec<_>>(),
        })),
        Output::Table if r.is_ok() => output::emit(&ok_line(&verdict)),
        Output::Table => {
            let mut text: Vec<String> = r.problems.iter().map(problem_line).collect();
            let first = r
                .problems
                .iter()
                .find_map(|p| p.seq)
                .map_or(String::new(), |s| format!("; the first bad seq is {s}"));
            text.push(format!(
                "FAILED: {} problem(s) in {} records{first}",
                r.problems.len(),
                r.entries
            ));
            output::emit(&text.join("\n"))
        }
    };
    if let Err(e) = printed {
        eprintln!("mynafleet: {e:#}");
    }
    ExitCode::from(code)
}

#[cfg(test)]
mod tests;
