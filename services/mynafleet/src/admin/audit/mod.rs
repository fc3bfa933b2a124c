//! `admin audit …`: the organization's tamper-evident audit log (docs/audit.md) — search the
//! records (`search`, alias `list`), follow the chain (`tail`), export it with its signed
//! checkpoints into a directory that later runs continue (`export`), check an export
//! offline with no server (`verify`), and print the checkpoint signing keys (`keys`).
//!
//! Patient filter values go to the server, which turns them into the keyed reference; the
//! CLI never writes them anywhere. Nothing here changes the audit log.

mod export;
mod files;
mod records;
mod search;
mod tail;
#[cfg(test)]
mod testing;
mod verify;
mod writer;

use super::connect::{Api, Ctx, ServiceIdentity, call};
use super::output::{self, Format};
use anyhow::Context as _;
use mynafleet_kit::audit_chain::{DEPLOYMENT_CHAIN, KeyRing, wire};
use mynafleet_proto::account::v1 as pb;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// `admin audit …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AuditCommand {
    /// Searches the audit records, newest first: time range, actor, action, clinic, device,
    /// outcome, patient (auditor, org_admin).
    #[command(visible_alias = "list")]
    Search(Box<search::SearchArgs>),
    /// Shows the last entries of the organization's audit chain; with --follow keeps
    /// printing new ones until Ctrl-C.
    Tail(tail::TailArgs),
    /// Seals the chain's head with a signed checkpoint and exports the chain up to it into
    /// DIR (records, checkpoints, keys, manifest); a DIR holding an earlier export of the
    /// organization is continued after its last seq.
    Export(export::ExportArgs),
    /// Checks an export offline: the hash chain, every checkpoint's signature and head, and
    /// that a checkpoint seals its end. Exit code 0 when all is well, 1 on any problem, 2
    /// when the export cannot be read.
    Verify {
        /// The export directory.
        dir: PathBuf,
        /// The trusted signing keys (from `mynafleet admin audit keys > trusted.keys`, kept
        /// apart from exports). Without it the export's own keys.txt is used, which proves
        /// consistency only, not origin.
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
    },
    /// Prints the public keys that sign checkpoints, current and retired, as lines usable
    /// as a --keys file for `verify`.
    Keys(ChainArgs),
}

/// Which chain `tail`, `export` and `keys` read: the logged-in operator's organization's, or
/// with `--deployment` the deployment's own.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct ChainArgs {
    /// Reads the chain `deployment` (records of no organization, such as failed logins with
    /// an unknown login id) as a service of the internal CA instead of as the logged-in
    /// operator: run it where a service certificate is, with --cert and --key.
    #[arg(long)]
    deployment: bool,
    /// The service certificate (PEM) for --deployment, for example certs/account.pem of
    /// `mynafleet deploy init` (default: the account service's in the dev data dir).
    #[arg(long, value_name = "FILE", requires_all = ["deployment", "key"])]
    cert: Option<PathBuf>,
    /// The service certificate's private key (PEM) for --deployment.
    #[arg(long, value_name = "FILE", requires_all = ["deployment", "cert"])]
    key: Option<PathBuf>,
}

impl ChainArgs {
    /// Returns the clients to read the chain with; their `organization` is the chain's parent.
    fn api(&self, ctx: &Ctx) -> anyhow::Result<Api> {
        if !self.deployment {
            return ctx.api();
        }
        let identity = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => ServiceIdentity {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => ctx.dev_service_identity().context(
                "--deployment reads as a service: pass --cert and --key of a service \
                 certificate of the internal CA (for example certs/account.pem and \
                 certs/account-key.pem written by `mynafleet deploy init`)",
            )?,
        };
        ctx.service_api(&identity, DEPLOYMENT_CHAIN)
    }
}

/// Runs `admin audit …`; the exit code is 0 on success (`verify`: 1 on a problem found, 2
/// on an export it cannot read).
pub(crate) async fn run(ctx: &Ctx, command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { dir, keys } => Ok(verify::run(ctx.format(), &dir, keys.as_deref())),
        AuditCommand::Search(a) => search::run(ctx, *a).await.map(|()| ExitCode::SUCCESS),
        AuditCommand::Tail(a) => tail::run(ctx, a).await.map(|()| ExitCode::SUCCESS),
        AuditCommand::Export(a) => export::run(ctx, a).await.map(|()| ExitCode::SUCCESS),
        AuditCommand::Keys(chain) => keys(ctx, &chain).await.map(|()| ExitCode::SUCCESS),
    }
}

/// A signing key as printed in JSON.
#[derive(Debug, Serialize)]
struct KeyView {
    key_id: String,
    algorithm: String,
    public_key: String,
    current: bool,
    /// The key as a line of a --keys file.
    line: String,
}

/// Returns every signing key the server lists, and the same keys checked as a key ring.
async fn signing_keys(
    api: &super::connect::Api,
) -> anyhow::Result<(Vec<mynafleet_proto::audit::v1::SigningKey>, KeyRing)> {
    let resp = call(|| {
        let mut c = api.audit();
        async move { c.list_signing_keys(pb::ListSigningKeysRequest {}).await }
    })
    .await
    .context("list audit signing keys")?;
    let ring = KeyRing(
        resp.keys
            .iter()
            .map(|k| wire::key_from_pb(k).context("the server sent an unusable signing key"))
            .collect::<anyhow::Result<Vec<_>>>()?,
    );
    Ok((resp.keys, ring))
}

/// Returns the URL of the account service the session talks to ("" when unknown).
fn server_url(ctx: &Ctx) -> String {
    let session = ctx
        .config_dir()
        .and_then(|d| super::session::Session::load(&d))
        .ok();
    ctx.endpoint(session.as_ref())
        .map(|e| e.url)
        .unwrap_or_default()
}

/// Prints the signing keys.
async fn keys(ctx: &Ctx, chain: &ChainArgs) -> anyhow::Result<()> {
    let api = chain.api(ctx)?;
    let (listed, ring) = signing_keys(&api).await?;
    match ctx.format() {
        Format::Json => output::json(
            &listed
                .iter()
                .zip(&ring.0)
                .map(|(k, key)| KeyView {
                    key_id: k.key_id.clone(),
                    algorithm: k.algorithm.clone(),
                    public_key: k.public_key.clone(),
                    current: k.current,
                    line: key.to_line(),
                })
                .collect::<Vec<_>>(),
        ),
        Format::Table => {
            let current: Vec<_> = listed
                .iter()
                .filter(|k| k.current)
                .map(|k| k.key_id.as_str())
                .collect();
            let mut text = format!(
                "# audit checkpoint signing keys of {} (current: {})\n",
                server_url(ctx),
                if current.is_empty() {
                    "none".to_owned()
                } else {
                    current.join(", ")
                }
            );
            text.push_str(&ring.to_text());
            output::emit(text.trim_end())
        }
    }
}
