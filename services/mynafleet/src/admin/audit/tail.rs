//! `admin audit tail`: the last entries of the organization's audit chain, one line each
//! (or one JSON object per line), and with `--follow` the new ones as they arrive, read
//! every 2 seconds with the page token the previous read returned, until Ctrl-C.
//! Never changes the chain; the first read is itself audited, following reads continue it.

use super::records::RecordLine;
use crate::admin::connect::{Api, Ctx, try_call};
use crate::admin::errors::Failure;
use crate::admin::output::{self, Format};
use anyhow::Context as _;
use mynafleet_kit::audit_chain::{ENCODING, Entry, wire};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::Status;
use std::time::Duration;
use time::macros::{format_description, offset};

/// How often `--follow` reads again.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// The most entries one read asks for.
const MAX_PAGE: i64 = 5000;

/// `admin audit tail`.
#[derive(Debug, clap::Args)]
pub(crate) struct TailArgs {
    /// How many of the last entries to show.
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 20)]
    lines: u32,
    /// Keeps reading every 2 seconds and prints new entries as they arrive, until Ctrl-C.
    #[arg(short = 'f', long)]
    follow: bool,
    /// Which chain.
    #[command(flatten)]
    chain: super::ChainArgs,
}

/// Returns an entry as one line: seq, Japan time, outcome, action, actor, target, reason.
pub(crate) fn line(e: &Entry) -> String {
    let r = &e.record;
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(r.time) * 1_000)
        .ok()
        .and_then(|t| {
            t.to_offset(offset!(+9))
                .format(format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]"
                ))
                .ok()
        })
        .unwrap_or_default();
    let actor = if r.actor.is_empty() {
        &r.actor_kind
    } else {
        &r.actor
    };
    let mut text = format!(
        "{:>7}  {time}  {:<7}  {}  {actor}",
        e.seq, r.outcome, r.action
    );
    if !r.target.is_empty() {
        text.push_str(&format!(" → {}", r.target));
    }
    if !r.reason.is_empty() {
        text.push_str(&format!("  ({})", r.reason));
    }
    text
}

fn print(format: Format, entries: &[Entry]) -> anyhow::Result<()> {
    for e in entries {
        match format {
            Format::Json => output::emit(&serde_json::to_string(&RecordLine::of(e, ENCODING))?)?,
            Format::Table => output::emit(&line(e))?,
        }
    }
    Ok(())
}

/// Reads `size` entries: the chain's last ones (`token` empty), or those after `token`.
async fn read(api: &Api, size: i64, token: &str) -> Result<pb::ReadAuditChainResponse, Status> {
    let size = i32::try_from(size.clamp(1, MAX_PAGE)).unwrap_or(500);
    try_call(|| {
        let mut c = api.audit();
        let r = pb::ReadAuditChainRequest {
            parent: api.organization.clone(),
            after_seq: 0,
            page_size: size,
            page_token: token.to_owned(),
            last: if token.is_empty() { size } else { 0 },
        };
        async move { c.read_audit_chain(r).await }
    })
    .await
}

/// Returns a failed read as a readable error.
fn failed(s: Status) -> anyhow::Error {
    anyhow::Error::from(Failure::from(s)).context("read the audit chain")
}

fn entries(resp: &pb::ReadAuditChainResponse) -> anyhow::Result<Vec<Entry>> {
    resp.entries
        .iter()
        .map(|e| wire::entry_from_pb(e).context("the server sent an unusable chain entry"))
        .collect()
}

/// Runs `admin audit tail`.
pub(crate) async fn run(ctx: &Ctx, args: TailArgs) -> anyhow::Result<()> {
    let api = args.chain.api(ctx)?;
    let n = i64::from(args.lines);
    // One recorded read of the last entries.
    let first = read(&api, n, "").await.map_err(failed)?;
    let shown: Vec<Entry> = entries(&first)?;
    let mut token = first.next_page_token.clone();
    let skip = shown
        .len()
        .saturating_sub(usize::try_from(n).unwrap_or(usize::MAX));
    print(ctx.format(), &shown[skip..])?;
    if !args.follow {
        return Ok(());
    }
    output::every_until_ctrl_c(FOLLOW_EVERY, async || {
        match read(&api, MAX_PAGE, &token).await {
            Ok(resp) => {
                print(ctx.format(), &entries(&resp)?)?;
                if !resp.next_page_token.is_empty() {
                    token = resp.next_page_token;
                }
            }
            // A failed reading is shown and the next one tried.
            Err(s) => eprintln!("error: {:#}", failed(s)),
        }
        Ok(())
    })
    .await
}
