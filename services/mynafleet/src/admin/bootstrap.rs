//! `admin bootstrap`: the deployment's first organization and org_admin, written through the
//! account crate's store with the account service's own config file (there is no
//! unauthenticated bootstrap RPC). The credentials are printed once and stored nowhere.

use super::connect::Ctx;
use super::errors::Failure;
use super::operators::show_credentials;
use anyhow::Context as _;
use mynafleet_proto::tonic::{Code, Status};
use std::path::PathBuf;

/// Flags of `admin bootstrap`.
#[derive(Debug, clap::Args)]
pub(crate) struct BootstrapArgs {
    /// The account service's TOML config file (as for `mynafleet serve account`); the
    /// MYNAFLEET_ACCOUNT_… variables override it as they do for the service.
    #[arg(long)]
    config: PathBuf,
    /// The organization's display name, for example さくら医療グループ.
    #[arg(long)]
    organization: String,
    /// The first org_admin's login id (a-z 0-9 . _ @ -).
    #[arg(long)]
    login_id: String,
    /// The first org_admin's 氏名.
    #[arg(long)]
    display_name: String,
}

/// Runs `admin bootstrap`.
pub(crate) async fn run(ctx: &Ctx, args: BootstrapArgs) -> anyhow::Result<()> {
    let file: mynafleet_account::FileConfig =
        mynafleet_kit::config::load(&args.config, "MYNAFLEET_ACCOUNT_").with_context(|| {
            format!(
                "load the account service's configuration from {} (and MYNAFLEET_ACCOUNT_* \
                 variables)",
                args.config.display()
            )
        })?;
    let config = file
        .into_config()
        .context("read the files the account configuration names")?;
    let made = mynafleet_account::bootstrap(
        &config,
        &args.organization,
        &args.login_id,
        &args.display_name,
    )
    .await
    .map_err(explain)
    .context("bootstrap")?;
    show_credentials(
        ctx.format(),
        &serde_json::json!({
            "organization": made.organization,
            "operator": made.operator,
            "login_id": made.login_id,
            "password": made.password.as_str(),
            "totp_uri": made.totp_uri,
        }),
        &[
            ("organization", made.organization.as_str()),
            ("operator", made.operator.as_str()),
            ("login id", made.login_id.as_str()),
            ("password", made.password.as_str()),
            ("TOTP URI", made.totp_uri.as_str()),
        ],
    )
}

/// Returns the reason of an account error, if it has one (`LOGIN_ID_TAKEN`, …).
pub(crate) fn reason(e: mynafleet_account::Error) -> (Option<String>, anyhow::Error) {
    let f = explain(e);
    let r = f.downcast_ref::<Failure>().and_then(|f| f.reason.clone());
    (r, f)
}

/// Explains an account-crate error as the service would answer it, keeping the cause of
/// internal errors (the CLI's user is the operator who can fix a database path).
pub(crate) fn explain(e: mynafleet_account::Error) -> anyhow::Error {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        source = s.source();
    }
    let status = Status::from(e);
    if status.code() == Code::Internal {
        anyhow::anyhow!(cause)
    } else {
        Failure::from(status).into()
    }
}
