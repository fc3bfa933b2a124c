//! CSV imports: the file read once (UTF-8, header row, BOM tolerated), a progress bar on
//! stderr (hidden when stderr is not a terminal), one request id per row derived from the
//! file's content and the row (UUID v5), so running the same file again replays instead of
//! duplicating, and the per-row error report: printed at the end and written to
//! `<file>.errors.csv`. Valid rows are imported whatever happens to the others.
//!
//! Row numbers are the file's line numbers, as a spreadsheet shows them (the header is row 1).

use super::errors::Failure;
use super::output::{self, Format};
use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mynafleet_proto::tonic::{Code, Status};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The namespace of import request ids (UUID v5 of `kind:sha256:row`).
const NAMESPACE: uuid::Uuid = uuid::uuid!("6f1d3a52-4c1e-5b7a-9d8e-2a4f6c0b1e93");

/// The exit code of an import that left some rows out.
pub(crate) const SOME_ROWS_FAILED: u8 = 2;

/// One data row.
#[derive(Debug)]
pub(crate) struct Row {
    /// Its line in the file (the header is line 1).
    pub(crate) line: u64,
    values: HashMap<String, String>,
}

impl Row {
    /// Returns the value of `column`, or "" when the file has no such column.
    pub(crate) fn get(&self, column: &str) -> &str {
        self.values.get(column).map_or("", String::as_str)
    }
}

/// Why one row was not imported.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RowError {
    /// The row (line number).
    pub(crate) row: u64,
    /// The column at fault, or "-" when the row failed as a whole.
    pub(crate) field: String,
    /// What was wrong.
    pub(crate) message: String,
}

impl RowError {
    /// Returns an error of `field` in row `row`.
    pub(crate) fn new(row: u64, field: &str, message: impl Into<String>) -> Self {
        Self {
            row,
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// An import in progress.
#[derive(Debug)]
pub(crate) struct Import {
    path: PathBuf,
    kind: &'static str,
    digest: String,
    rows: Vec<Row>,
    total: usize,
    errors: Vec<RowError>,
    stopped: Option<(u64, Failure)>,
    /// The progress bar (one tick per row).
    pub(crate) progress: ProgressBar,
}

impl Import {
    /// Reads `path`, checks its header against `columns` (`required` must be present) and
    /// starts the progress bar.
    pub(crate) fn open(
        path: &Path,
        kind: &'static str,
        columns: &[&str],
        required: &[&str],
    ) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
        let digest = hex::encode(Sha256::digest(&bytes));
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            anyhow::anyhow!(
                "{} is not UTF-8 text; save it as \"CSV UTF-8\"",
                path.display()
            )
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader
            .headers()
            .with_context(|| format!("read the header row of {}", path.display()))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        for r in required {
            if !headers.iter().any(|h| h == r) {
                bail!(
                    "{} has no {r} column; the header row must name: {}",
                    path.display(),
                    columns.join(",")
                );
            }
        }
        let mut rows = Vec::new();
        let mut errors = Vec::new();
        for record in reader.records() {
            match record {
                Ok(rec) => {
                    if rec.iter().all(str::is_empty) {
                        continue;
                    }
                    let line = line_of(text, rec.position());
                    let values = headers
                        .iter()
                        .cloned()
                        .zip(rec.iter().map(str::to_owned))
                        .collect();
                    rows.push(Row { line, values });
                }
                Err(e) => {
                    let line = line_of(text, e.position());
                    errors.push(RowError::new(line, "-", format!("unreadable CSV row: {e}")));
                }
            }
        }
        let total = rows.len() + errors.len();
        let progress = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}") {
            progress.set_style(style);
        }
        progress.set_message(kind);
        Ok(Self {
            path: path.to_owned(),
            kind,
            digest,
            rows,
            total,
            errors,
            stopped: None,
            progress,
        })
    }

    /// Takes the rows to import.
    pub(crate) fn rows(&mut self) -> Vec<Row> {
        std::mem::take(&mut self.rows)
    }

    /// Returns the request id of the row at `line`: the same file gives the same ids.
    pub(crate) fn request_id(&self, line: u64) -> String {
        uuid::Uuid::new_v5(
            &NAMESPACE,
            format!("{}:{}:{line}", self.kind, self.digest).as_bytes(),
        )
        .to_string()
    }

    /// Records why a row was not imported.
    pub(crate) fn failed(&mut self, errors: Vec<RowError>) {
        self.errors.extend(errors);
    }

    /// Records the failure that stopped the import at row `line` (the caller stops sending).
    pub(crate) fn stop(&mut self, line: u64, failure: Failure) {
        self.stopped = Some((line, failure));
    }

    /// Handles the refusal of row `line`: records its errors, or stops the import on a
    /// failure every later row would share. Returns whether to go on.
    pub(crate) fn refused(
        &mut self,
        line: u64,
        status: Status,
        column_of: fn(&str) -> &str,
    ) -> bool {
        match row_errors(line, status, column_of) {
            Ok(errors) => {
                self.failed(errors);
                true
            }
            Err(f) => {
                self.stop(line, f);
                false
            }
        }
    }

    /// Prints the report (and `imported` as JSON when asked), writes or removes
    /// `<file>.errors.csv`, and returns 0 when every row passed, else 2.
    pub(crate) fn finish(
        mut self,
        format: Format,
        imported: usize,
        imported_json: serde_json::Value,
    ) -> anyhow::Result<ExitCode> {
        self.progress.finish_and_clear();
        self.errors.sort_by_key(|e| e.row);
        let report = errors_path(&self.path);
        if format == Format::Json {
            output::json(&serde_json::json!({
                "imported": imported_json,
                "failed": self.errors,
                "error_report": if self.errors.is_empty() { None } else { Some(report.display().to_string()) },
            }))?;
        }
        let failed_rows = {
            let mut rows: Vec<u64> = self.errors.iter().map(|e| e.row).collect();
            rows.dedup();
            rows.len()
        };
        if let Some((line, failure)) = &self.stopped {
            if !self.errors.is_empty() {
                write_report(&report, &self.errors)?;
                eprintln!("error report so far written to {}", report.display());
            }
            bail!(
                "import stopped at row {line}: {failure}\n{imported} rows were imported before it; \
                 run the same command again to go on (imported rows are not duplicated)"
            );
        }
        if self.errors.is_empty() {
            // A report left by an earlier run of the same file would now mislead.
            let _ = std::fs::remove_file(&report);
            eprintln!("{imported} of {} rows imported", self.total);
            return Ok(ExitCode::SUCCESS);
        }
        let table = output::table(
            ["行 (row)", "項目 (field)", "エラー (error)"],
            self.errors
                .iter()
                .map(|e| [e.row.to_string(), e.field.clone(), e.message.clone()])
                .collect(),
        );
        eprintln!("{table}");
        write_report(&report, &self.errors)?;
        eprintln!(
            "{imported} of {} rows imported; {failed_rows} rows failed: {}",
            self.total,
            self.errors
                .iter()
                .map(|e| format!("row {} ({}: {})", e.row, e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        );
        eprintln!("error report written to {}", report.display());
        Ok(ExitCode::from(SOME_ROWS_FAILED))
    }
}

/// Returns the line a record starts on. Counted from the byte offset, because the csv
/// crate's own line count skips blank lines.
fn line_of(text: &str, position: Option<&csv::Position>) -> u64 {
    let Some(p) = position else { return 0 };
    let mut start = usize::try_from(p.byte())
        .unwrap_or(usize::MAX)
        .min(text.len());
    while text
        .get(start..)
        .is_some_and(|rest| rest.starts_with(['\r', '\n']))
    {
        start += 1;
    }
    let before = text.get(..start).unwrap_or(text);
    1 + before.matches('\n').count() as u64
}

/// Returns `<file>.errors.csv`.
fn errors_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".errors.csv");
    PathBuf::from(s)
}

fn write_report(path: &Path, errors: &[RowError]) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("write {}", path.display()))?;
    w.write_record(["row", "field", "message"])?;
    for e in errors {
        w.write_record([e.row.to_string().as_str(), &e.field, &e.message])?;
    }
    w.flush()
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

/// Returns the errors of a row the server refused: one per field violation (named by
/// `column_of`, which also maps reasons that concern one column), or the status message as
/// a whole-row error. A failure that every later row would share too (session, role,
/// service unreachable) is returned as `Err`: the import stops there.
pub(crate) fn row_errors(
    line: u64,
    status: Status,
    column_of: fn(&str) -> &str,
) -> Result<Vec<RowError>, Failure> {
    let f = Failure::from(status);
    let fatal_reason = matches!(
        f.reason.as_deref(),
        Some(
            "SESSION_EXPIRED"
                | "SESSION_INVALID"
                | "PASSWORD_CHANGE_REQUIRED"
                | "ROLE_REFUSED"
                | "INTERNAL"
        )
    );
    let fatal_code = matches!(
        f.code,
        Code::Unauthenticated
            | Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Internal
            | Code::Unimplemented
    );
    if fatal_reason || fatal_code {
        return Err(f);
    }
    if f.fields.is_empty() {
        // Some reasons point at one column (HOME_VISIT_REQUIRED → privilege).
        let column = f
            .reason
            .as_deref()
            .map(column_of)
            .filter(|c| Some(*c) != f.reason.as_deref())
            .unwrap_or("-");
        return Ok(vec![RowError::new(line, column, f.summary())]);
    }
    Ok(f.fields
        .iter()
        .map(|(field, description)| RowError::new(line, column_of(field), description.clone()))
        .collect())
}

/// Parses a yes/no cell; an empty cell is no.
pub(crate) fn parse_flag(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "n" | "無" | "なし" | "いいえ" | "×" => Some(false),
        "1" | "true" | "yes" | "y" | "有" | "あり" | "はい" | "○" | "〇" => Some(true),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
