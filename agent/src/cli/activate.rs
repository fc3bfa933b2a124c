//! `mynafleet-agent activate`: gathers the four items, the server and how to trust it, then
//! calls [`crate::enroll::activate`], handling the temporary-password change on the way.

use std::fmt;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use zeroize::Zeroizing;

use super::prompt;
use crate::enroll::{self, ActivateParams, EnrollError, Trust};
use crate::facts::DeviceFacts;
use crate::fingerprint::Fingerprint;
use crate::server_url::ServerUrl;
use crate::state::{CERT_FILE, StateDir};

/// Flags of `activate`; anything missing is asked for on a terminal.
#[derive(Args)]
pub struct ActivateArgs {
    /// The activation server as printed on the sheet (https://host:port or host:port).
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// 機関コード (or 登録記号番号) from the sheet.
    #[arg(long, value_name = "CODE")]
    institution_code: Option<String>,
    /// The account ID from the sheet (W0000001).
    #[arg(long, value_name = "ID")]
    account: Option<String>,
    /// The 12-digit activation code from the sheet (1234-5678-9012).
    #[arg(long, value_name = "DIGITS")]
    code: Option<String>,
    /// Reads the password from the first line of stdin.
    #[arg(long)]
    password_stdin: bool,
    /// Trusts the CA certificates in this PEM file.
    #[arg(long, value_name = "PEM", conflicts_with = "ca_fingerprint")]
    ca_file: Option<PathBuf>,
    /// Trusts the server CA with this SHA-256 fingerprint, as printed on the sheet
    /// (AB:CD:…; any case, colons optional).
    #[arg(long, value_name = "SHA256")]
    ca_fingerprint: Option<String>,
    /// Reads the new password, if the sheet's password must be changed, from the next line
    /// of stdin (after the password when --password-stdin is given too).
    #[arg(long)]
    new_password_stdin: bool,
}

impl fmt::Debug for ActivateArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivateArgs")
            .field("server", &self.server)
            .field("institution_code", &self.institution_code)
            .field("account", &self.account)
            .field("code", &self.code.as_ref().map(|_| "<redacted>"))
            .field("password_stdin", &self.password_stdin)
            .field("ca_file", &self.ca_file)
            .field("ca_fingerprint", &self.ca_fingerprint)
            .field("new_password_stdin", &self.new_password_stdin)
            .finish()
    }
}

pub(super) async fn run(state_dir: PathBuf, mut args: ActivateArgs) -> anyhow::Result<()> {
    // Say so before asking for anything: an activated terminal needs none of it.
    if StateDir::open(&state_dir).exists(CERT_FILE) {
        return Err(EnrollError::AlreadyActivated(state_dir).into());
    }
    let server = prompt::visible(
        args.server.take(),
        "activation server / アクティベーションサーバ (https://host:port)",
        "--server",
    )?;
    let server = ServerUrl::parse(&server)?;
    let trust = match (args.ca_file.take(), args.ca_fingerprint.take()) {
        (Some(path), _) => Trust::CaFile(path),
        (None, given) => {
            let typed = prompt::visible(
                given,
                "CA fingerprint (SHA-256) / CAフィンガープリント",
                "--ca-fingerprint or --ca-file",
            )?;
            Trust::Fingerprint(Fingerprint::parse(&typed)?)
        }
    };
    let institution_code = prompt::visible(
        args.institution_code.take(),
        "機関コード / institution code",
        "--institution-code",
    )?;
    let account_id = prompt::visible(args.account.take(), "ID / account (W0000001)", "--account")?;
    let password = if args.password_stdin {
        prompt::stdin_line("--password-stdin")?
    } else {
        prompt::hidden("パスワード / password", "--password-stdin")?
    };
    let activation_code = match args.code.take().map(Zeroizing::new) {
        Some(code) if !code.trim().is_empty() => code,
        _ => prompt::hidden("アクティベーションコード / activation code", "--code")?,
    };
    let mut params = ActivateParams {
        state_dir,
        server,
        trust,
        institution_code,
        account_id,
        password,
        activation_code,
        new_password: None,
        facts: DeviceFacts::local(),
    };
    let activated = match enroll::activate(params.clone()).await {
        Err(EnrollError::PasswordChangeRequired) => {
            eprintln!(
                "the password on the sheet is temporary: choose a new one for this account\n\
                 ユーザ設定情報のパスワードは仮パスワードです。新しいパスワードを設定してください"
            );
            params.new_password = Some(if args.new_password_stdin {
                prompt::stdin_line("--new-password-stdin")?
            } else {
                prompt::new_secret("新しいパスワード / new password", "--new-password-stdin")?
            });
            enroll::activate(params).await
        }
        other => other,
    }
    .context("activation failed / アクティベーションできませんでした")?;
    println!("activated / アクティベーション完了");
    println!("  device       {}", activated.device);
    println!("  account      {}", activated.account);
    println!(
        "  機関          {} {}",
        activated.institution_code, activated.institution_name
    );
    println!(
        "  certificate  serial {}, expires {}",
        activated.certificate.serial, activated.certificate.not_after
    );
    println!("  state dir    {}", activated.state_dir.display());
    println!("next: mynafleet-agent run");
    Ok(())
}
