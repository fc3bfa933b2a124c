//! `admin audit export DIR`: seals the chain's head with a checkpoint (CreateCheckpoint),
//! then reads the chain page by page up to that checkpoint's size and hands each page to the
//! [`Writer`], with the checkpoints in its range and, on a chain retention shortened, the
//! anchor; writes the signing keys beside them. A DIR that holds an export of the same
//! organization continues after its last seq. A progress bar shows on a terminal only.

use super::records::Format;
use super::writer::Writer;
use super::{server_url, signing_keys};
use crate::admin::connect::{Ctx, try_call};
use crate::admin::errors::Failure;
use crate::admin::output::{self, Format as Output};
use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mynafleet_kit::audit_chain::{self, ENCODING, hash_hex, wire};
use mynafleet_proto::account::v1 as pb;
use std::io::IsTerminal as _;
use std::path::PathBuf;

/// Entries asked for per page.
const PAGE: i32 = 1000;

/// `admin audit export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// The export directory: new or empty, or one holding an earlier export of the
    /// organization, which is continued.
    dir: PathBuf,
    /// How the records are written (default: jsonl, or the existing export's format).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Also writes FHIR R4 AuditEvent resources, one per line (audit-events.ndjson).
    #[arg(long)]
    fhir: bool,
    /// Which chain.
    #[command(flatten)]
    chain: super::ChainArgs,
}

/// Returns a checkpoint the server sent, or why it cannot be used.
fn checkpoint(
    c: &mynafleet_proto::audit::v1::Checkpoint,
) -> anyhow::Result<audit_chain::Checkpoint> {
    wire::checkpoint_from_pb(c).context("the server sent an unusable checkpoint")
}

fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Runs `admin audit export`.
pub(crate) async fn run(ctx: &Ctx, args: ExportArgs) -> anyhow::Result<()> {
    let api = args.chain.api(ctx)?;
    let origin = audit_chain::origin(&api.organization);
    let mut writer = Writer::open(
        &args.dir,
        &origin,
        args.format,
        args.fhir,
        &server_url(ctx),
        &now(),
    )?;
    for note in &writer.notes {
        eprintln!("note: {note}");
    }
    let start = writer.last_seq();

    let sealed = try_call(|| {
        let mut c = api.audit();
        let r = pb::CreateCheckpointRequest {
            parent: api.organization.clone(),
        };
        async move { c.create_checkpoint(r).await }
    })
    .await
    .map_err(|s| anyhow::Error::from(Failure::from(s)))
    .context("seal the audit chain with a checkpoint")?;
    let seal = checkpoint(
        sealed
            .checkpoint
            .as_ref()
            .context("the server sent no checkpoint")?,
    )?;
    if seal.origin != origin {
        bail!("the server sealed the chain {}, not {origin}", seal.origin);
    }
    let target = seal.size;
    if start > target {
        bail!(
            "{} runs to seq {start} but the server's chain has {target} entries: the server \
             lost entries, or this export is of another deployment",
            args.dir.display()
        );
    }
    let (_, keys) = signing_keys(&api).await?;
    writer.write_keys(&keys)?;

    let progress = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(
            Some(u64::try_from(target - start).unwrap_or(0)),
            ProgressDrawTarget::stderr(),
        )
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} records {msg}") {
        progress.set_style(style);
    }

    let mut token = String::new();
    while writer.last_seq() < target {
        let after = writer.last_seq();
        let resp = try_call(|| {
            let mut c = api.audit();
            let r = pb::ReadAuditChainRequest {
                parent: api.organization.clone(),
                after_seq: after,
                page_size: PAGE,
                page_token: token.clone(),
                last: 0,
            };
            async move { c.read_audit_chain(r).await }
        })
        .await
        .map_err(|s| {
            let f = Failure::from(s);
            if f.reason.as_deref() == Some("AUDIT_SEQ_PRUNED") {
                anyhow::anyhow!(
                    "{f}\nretention removed the entries after seq {after} from the server before \
                     this export got them; export into a new directory"
                )
            } else {
                anyhow::Error::from(f)
            }
        })
        .with_context(|| format!("read the audit chain after seq {after}"))?;
        if resp.origin != origin {
            bail!("the server sent the chain {}, not {origin}", resp.origin);
        }
        if !resp.encoding.is_empty() && resp.encoding != ENCODING {
            bail!(
                "the server's chain uses encoding {}, this CLI knows {ENCODING}; update the CLI",
                resp.encoding
            );
        }
        let entries = resp
            .entries
            .iter()
            .map(|e| wire::entry_from_pb(e).context("the server sent an unusable chain entry"))
            .filter(|e| e.as_ref().map_or(true, |e| e.seq <= target))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if entries.is_empty() {
            bail!(
                "the server returned no entries after seq {after}, short of its checkpoint at \
                 seq {target}"
            );
        }
        let mut checkpoints = Vec::new();
        if let Some(anchor) = resp.anchor.as_ref() {
            checkpoints.push(checkpoint(anchor)?);
        }
        for c in &resp.checkpoints {
            let c = checkpoint(c)?;
            if c.size <= target {
                checkpoints.push(c);
            }
        }
        if entries.last().is_some_and(|e| e.seq == target) {
            checkpoints.push(seal.clone());
        }
        let added = writer.append(&entries, &checkpoints)?;
        progress.inc(added as u64);
        token = resp.next_page_token;
    }
    // Nothing new (or an empty chain): the seal still belongs with the export.
    writer.append(&[], std::slice::from_ref(&seal))?;
    progress.finish_and_clear();
    writer.finish(&now())?;

    let m = writer.manifest();
    let added = writer.last_seq() - start;
    match ctx.format() {
        Output::Json => output::json(&serde_json::json!({
            "dir": args.dir.display().to_string(),
            "origin": m.origin,
            "format": m.format.key(),
            "first_seq": m.first_seq,
            "last_seq": m.last_seq,
            "new_records": added,
            "checkpoint": {
                "size": seal.size,
                "head_hash": hash_hex(&seal.head),
                "key_id": seal.key_id,
            },
        })),
        Output::Table => output::emit(&format!(
            "exported {added} new records to {} (seq {}..{}), sealed by the checkpoint at size \
             {} signed by key {}\ncheck it with `mynafleet admin audit verify {} --keys \
             trusted.keys`",
            args.dir.display(),
            m.first_seq.map_or("-".to_owned(), |s| s.to_string()),
            m.last_seq.map_or("-".to_owned(), |s| s.to_string()),
            seal.size,
            seal.key_id,
            args.dir.display(),
        )),
    }
}
