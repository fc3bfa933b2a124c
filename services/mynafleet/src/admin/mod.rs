//! `mynafleet admin`: the operator CLI. It logs in to the account service (password + TOTP),
//! keeps the session token in a 0600 file of the user's config directory, and drives the
//! operator RPCs over TLS: clinics, device accounts, applications, operators, the audit log,
//! CSV imports with a per-row error report, and ユーザ設定情報 sheets as printable HTML; and,
//! with the same token and CA, the activation service's activation codes and devices.
//!
//! `bootstrap` is the exception: it runs beside the account service with its config file and
//! writes through the account crate (there is no unauthenticated bootstrap RPC).
//!
//! This module tree is a client: it is the only part of the package besides the services'
//! wiring that imports `mynafleet_proto`, and it converts wire types into its own view
//! structs before printing them. It never prints a session token, and prints a password or
//! TOTP URI only when the server hands one out once.

mod accounts;
mod applications;
mod audit;
mod bootstrap;
mod clinics;
mod codes;
mod connect;
pub mod demo;
mod devices;
mod errors;
mod import;
mod operators;
mod output;
mod prompt;
mod session;
mod sheet;

use clap::{Args, Subcommand};
use output::Format;
use std::path::PathBuf;
use std::process::ExitCode;

/// `mynafleet admin`: flags every command shares, and the command.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Flags of every command.
    #[command(flatten)]
    global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    command: AdminCommand,
}

/// Where the account service is and how to print.
#[derive(Clone, Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The account service, for example https://account.example.jp:7501 (default: the
    /// session's endpoint, else `account` in the dev data dir's endpoints.json).
    #[arg(long, global = true, env = "MYNAFLEET_ADMIN_ENDPOINT")]
    pub(crate) endpoint: Option<String>,
    /// The activation service (codes, devices), for example
    /// https://activation.example.jp:7502 (default: the session's, else `activation` in
    /// endpoints.json). Same CA and session token as the account service.
    #[arg(long, global = true, env = "MYNAFLEET_ADMIN_ACTIVATION_URL")]
    pub(crate) activation_url: Option<String>,
    /// PEM file of the CA that issued the service's certificate (default: the session's,
    /// else `ca_bundle` in endpoints.json).
    #[arg(long, global = true, env = "MYNAFLEET_ADMIN_CA")]
    pub(crate) ca: Option<PathBuf>,
    /// Where the session file lives (default: the user's config directory + mynafleet).
    #[arg(long, global = true, env = "MYNAFLEET_ADMIN_CONFIG_DIR")]
    pub(crate) config_dir: Option<PathBuf>,
    /// The dev data dir whose endpoints.json supplies default endpoint and CA.
    #[arg(
        long,
        global = true,
        env = "MYNAFLEET_DEV_DATA_DIR",
        default_value = ".mynafleet-dev"
    )]
    pub(crate) dev_data_dir: PathBuf,
    /// How results are printed.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub(crate) output: Format,
}

/// The commands of `mynafleet admin`.
#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Creates an organization and its first org_admin through the account service's store
    /// (run beside the service with its config file); prints the credentials once.
    Bootstrap(bootstrap::BootstrapArgs),
    /// Logs in with login id, password and TOTP code, and keeps the session token.
    Login(session::LoginArgs),
    /// Ends the session and forgets its token.
    Logout,
    /// Shows who is logged in.
    Whoami,
    /// Changes the logged-in operator's password.
    Password,
    /// Clinics (医療機関・薬局・施術所 …) of the organization.
    #[command(subcommand)]
    Clinics(clinics::ClinicsCommand),
    /// Device accounts (資格確認アカウント).
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// 利用開始申請 / 追加申請 / 解除申請 and 申請状況.
    #[command(subcommand)]
    Applications(applications::ApplicationsCommand),
    /// Operators of the organization.
    #[command(subcommand)]
    Operators(operators::OperatorsCommand),
    /// The organization's audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Activation codes (アクティベーションコード) of device accounts.
    #[command(subcommand)]
    Codes(codes::CodesCommand),
    /// Terminals (devices) activated with device accounts.
    #[command(subcommand)]
    Devices(devices::DevicesCommand),
}

/// Runs an admin command; the exit code is 0 on success and 2 when an import left some
/// rows out (errors are returned and end in exit code 1).
pub async fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let ctx = connect::Ctx::new(args.global);
    match args.command {
        AdminCommand::Bootstrap(a) => bootstrap::run(&ctx, a).await.map(ok),
        AdminCommand::Login(a) => session::login(&ctx, a).await.map(ok),
        AdminCommand::Logout => session::logout(&ctx).await.map(ok),
        AdminCommand::Whoami => session::whoami(&ctx).await.map(ok),
        AdminCommand::Password => session::change_password(&ctx).await.map(ok),
        AdminCommand::Clinics(c) => clinics::run(&ctx, c).await,
        AdminCommand::Accounts(c) => accounts::run(&ctx, c).await,
        AdminCommand::Applications(c) => applications::run(&ctx, c).await.map(ok),
        AdminCommand::Operators(c) => operators::run(&ctx, c).await.map(ok),
        AdminCommand::Audit(c) => audit::run(&ctx, c).await,
        AdminCommand::Codes(c) => codes::run(&ctx, c).await.map(ok),
        AdminCommand::Devices(c) => devices::run(&ctx, c).await.map(ok),
    }
}

fn ok((): ()) -> ExitCode {
    ExitCode::SUCCESS
}
