//! Printing results: tables (comfy-table, Japanese headers) or JSON from the CLI's own view
//! structs, and the time formats both use (RFC 3339 UTC in JSON, Japan time in tables).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use mynafleet_proto::prost_types::Timestamp;
use serde::Serialize;
use time::macros::{format_description, offset};

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Tables for people.
    Table,
    /// JSON for scripts.
    Json,
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    emit(&serde_json::to_string_pretty(value)?)
}

/// Writes `text` and a newline to stdout. A reader that went away (`| head`) ends the output
/// quietly instead of failing the command.
pub(crate) fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Returns a table with `headers` and `rows`.
pub(crate) fn table<const N: usize>(headers: [&str; N], rows: Vec<[String; N]>) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.to_vec());
    for r in rows {
        t.add_row(r.to_vec());
    }
    t
}

/// Prints `rows` as a table followed by their count.
pub(crate) fn print_table<const N: usize>(headers: [&str; N], rows: Vec<[String; N]>) {
    let count = rows.len();
    let _ = emit(&format!("{}\n{count} 件", table(headers, rows)));
}

/// Returns a wire timestamp as RFC 3339 UTC, or "" when absent.
pub(crate) fn rfc3339(ts: Option<&Timestamp>) -> String {
    to_time(ts)
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Returns a wire timestamp in Japan time, `YYYY-MM-DD HH:MM:SS`, or "" when absent.
pub(crate) fn local(ts: Option<&Timestamp>) -> String {
    to_time(ts)
        .and_then(|t| {
            t.to_offset(offset!(+9))
                .format(format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .ok()
        })
        .unwrap_or_default()
}

fn to_time(ts: Option<&Timestamp>) -> Option<time::OffsetDateTime> {
    let ts = ts?;
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// Returns "はい" or "" for a flag shown in a table.
pub(crate) fn yes(flag: bool) -> String {
    if flag {
        "はい".to_owned()
    } else {
        String::new()
    }
}

/// Returns the last path segment of a resource name (`…/clinics/{id}` → `{id}`).
pub(crate) fn last_segment(name: &str) -> String {
    name.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Runs `round` every `period` until Ctrl-C (`--follow`, `--watch`). A late round delays the
/// next instead of bunching them up; an error of `round` ends the loop.
pub(crate) async fn every_until_ctrl_c(
    period: std::time::Duration,
    mut round: impl AsyncFnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            _ = tick.tick() => {}
        }
        round().await?;
    }
}
