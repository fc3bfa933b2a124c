//! `admin codes …`: activation codes (アクティベーションコード) of device accounts — issue one
//! (printed once, and with `--sheet` on a 0600 A4 ユーザ設定情報 sheet without a password),
//! list them with state, expiry, last attempt, device and lock, revoke an unused one, and
//! clear an activation lock. Codes live in the activation service; accounts and clinics are
//! looked up in the account service. A code is printed only from the response that issued
//! it and never written anywhere but the sheet file asked for.

use super::accounts;
use super::clinics;
use super::connect::{Api, Ctx, all_pages, call, call_activation, request_id};
use super::output::{self, Format, last_segment};
use super::sheet::{self, SheetView};
use anyhow::{Context as _, bail};
use mynafleet_proto::account::v1 as account_pb;
use mynafleet_proto::activation::v1 as pb;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `admin codes …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum CodesCommand {
    /// Issues a new activation code for a device account and prints it once (a live older
    /// code of the account is revoked).
    Issue {
        /// The account: W + 7 digits, or its resource name.
        account: String,
        /// Also writes an A4 ユーザ設定情報 sheet with the code (no password) to this new
        /// file, readable by you only.
        #[arg(long, value_name = "FILE")]
        sheet: Option<PathBuf>,
    },
    /// Lists activation codes, newest first.
    List {
        /// The organization (default), a clinic (機関コード, id or resource name) or an
        /// account (W + 7 digits or resource name).
        parent: Option<String>,
    },
    /// Revokes an activation code that was not used yet.
    Revoke {
        /// The code: its resource name, or its id (the last part of the name).
        name: String,
    },
    /// Clears the activation lock of an account or of a terminal's address.
    #[command(group(clap::ArgGroup::new("target").required(true).args(["account", "source"])))]
    Unlock {
        /// The account: W + 7 digits, or its resource name.
        #[arg(long)]
        account: Option<String>,
        /// The terminal's address, as the audit log shows it.
        #[arg(long, value_name = "ADDRESS")]
        source: Option<String>,
    },
}

/// An activation code as printed.
#[derive(Debug, Serialize)]
pub(crate) struct CodeView {
    name: String,
    account: String,
    account_id: String,
    state: &'static str,
    create_time: String,
    expire_time: String,
    use_time: String,
    last_attempt_time: String,
    failed_attempts: i32,
    device: String,
    issued_by: String,
    account_locked_until: String,
    /// The code itself: only in the response that issued it.
    #[serde(skip_serializing_if = "String::is_empty")]
    code: String,
}

impl From<&pb::ActivationCode> for CodeView {
    fn from(c: &pb::ActivationCode) -> Self {
        Self {
            name: c.name.clone(),
            account: c.account.clone(),
            account_id: last_segment(&c.account),
            state: state_key(c.state()),
            create_time: output::rfc3339(c.create_time.as_ref()),
            expire_time: output::rfc3339(c.expire_time.as_ref()),
            use_time: output::rfc3339(c.use_time.as_ref()),
            last_attempt_time: output::rfc3339(c.last_attempt_time.as_ref()),
            failed_attempts: c.failed_attempts,
            device: c.device.clone(),
            issued_by: c.issued_by.clone(),
            account_locked_until: output::rfc3339(c.account_locked_until.as_ref()),
            code: c.code.clone(),
        }
    }
}

fn state_key(s: pb::ActivationCodeState) -> &'static str {
    match s {
        pb::ActivationCodeState::Unused => "unused",
        pb::ActivationCodeState::Used => "used",
        pb::ActivationCodeState::Expired => "expired",
        pb::ActivationCodeState::Revoked => "revoked",
        pb::ActivationCodeState::Unspecified => "unspecified",
    }
}

/// Returns the 状態 label of a code.
pub(crate) fn state_label(s: pb::ActivationCodeState) -> &'static str {
    match s {
        pb::ActivationCodeState::Unused => "未使用",
        pb::ActivationCodeState::Used => "使用済",
        pb::ActivationCodeState::Expired => "期限切れ",
        pb::ActivationCodeState::Revoked => "失効",
        pb::ActivationCodeState::Unspecified => "",
    }
}

const HEADERS: [&str; 9] = [
    "アカウントID",
    "状態",
    "発行日時",
    "有効期限",
    "最終試行",
    "失敗回数",
    "端末",
    "ロック",
    "コードID",
];

fn row(c: &pb::ActivationCode) -> [String; 9] {
    let lock = match &c.account_locked_until {
        Some(t) => format!("{}まで", output::local(Some(t))),
        None => String::new(),
    };
    [
        last_segment(&c.account),
        state_label(c.state()).to_owned(),
        output::local(c.create_time.as_ref()),
        output::local(c.expire_time.as_ref()),
        output::local(c.last_attempt_time.as_ref()),
        c.failed_attempts.to_string(),
        last_segment(&c.device),
        lock,
        last_segment(&c.name),
    ]
}

/// Returns `host:port` of a URL (what a sheet names as the endpoint).
pub(crate) fn without_scheme(url: &str) -> &str {
    url.split_once("://")
        .map_or(url, |(_, rest)| rest)
        .trim_end_matches('/')
}

/// What a command argument names where a code list may start.
#[derive(Debug, PartialEq, Eq)]
enum Parent<'a> {
    /// The operator's organization.
    Organization,
    /// A resource name, as given.
    Name(&'a str),
    /// An account id (`W` + 7 digits).
    Account(&'a str),
    /// A clinic: 機関コード, 登録記号番号 or clinic id.
    Clinic(&'a str),
}

/// Returns whether `arg` is an account id, `W` + 7 digits (either case).
pub(crate) fn is_account_id(arg: &str) -> bool {
    let arg = arg.trim();
    arg.len() == 8 && arg.starts_with(['W', 'w']) && arg[1..].bytes().all(|b| b.is_ascii_digit())
}

fn parent_of(arg: Option<&str>) -> Parent<'_> {
    match arg.map(str::trim) {
        None | Some("") => Parent::Organization,
        Some(a) if a.starts_with("organizations/") => Parent::Name(a),
        Some(a) if is_account_id(a) => Parent::Account(a),
        Some(a) => Parent::Clinic(a),
    }
}

/// Prints a code just issued (table mode): the one place it is ever shown.
pub(crate) fn show_new_code(ctx: &Ctx, code: &pb::ActivationCode) -> anyhow::Result<()> {
    if code.code.is_empty() {
        bail!(
            "the activation service issued a code but the reply that carried it was lost; issue \
             another with `mynafleet admin codes issue {}` (it replaces the lost one)",
            last_segment(&code.account)
        );
    }
    if ctx.format() == Format::Table {
        println!("アクティベーションコード:");
        output::print_table(
            ["アカウントID", "アクティベーションコード", "有効期限"],
            vec![[
                last_segment(&code.account),
                sheet::activation_code_4_4_4(&code.code),
                output::local(code.expire_time.as_ref()),
            ]],
        );
    }
    eprintln!(
        "the code is shown only this once; hand it to the terminal's staff with the account's \
         sheet (any older unused code of the account no longer works)"
    );
    Ok(())
}

/// Writes a ユーザ設定情報 sheet for `account` with `code` and without a password to `path`.
pub(crate) async fn write_code_sheet(
    api: &Api,
    account: &str,
    code: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let a = call(|| {
        let mut c = api.accounts();
        let r = account_pb::GetDeviceAccountRequest {
            name: account.to_owned(),
        };
        async move { c.get_device_account(r).await }
    })
    .await
    .context("read the account for its sheet")?
    .device_account
    .unwrap_or_default();
    let clinic_name = account.split("/accounts/").next().unwrap_or_default();
    let clinic = call(|| {
        let mut c = api.clinics();
        let r = account_pb::GetClinicRequest {
            name: clinic_name.to_owned(),
        };
        async move { c.get_clinic(r).await }
    })
    .await
    .context("read the clinic for the sheet")?
    .clinic
    .unwrap_or_default();
    let endpoint = api.activation_endpoint()?;
    // The CA the CLI trusts is the one behind the servers' certificates: the one to pin.
    let ca_pem = crate::pem::read(&endpoint.ca, "CA certificate")?;
    let view = SheetView {
        institution_code: a.institution_code.clone(),
        institution_name: clinic.display_name,
        account_id: a.account_id.clone(),
        password: String::new(),
        activation_code: code.to_owned(),
        activation_endpoint: without_scheme(&endpoint.url).to_owned(),
        ca_fingerprint: mynafleet_kit::tls::fingerprint_pem(&ca_pem),
        issue_date: today_in_japan(),
        account: account.to_owned(),
        code_applies: true,
        code_only: true,
    };
    sheet::write_to(path, std::slice::from_ref(&view))?;
    eprintln!(
        "sheet written to {} (print on A4; it holds the code — keep it safe and delete the \
         file after handing the sheet over)",
        path.display()
    );
    Ok(())
}

/// Returns today's date in Japan, `YYYY-MM-DD`.
fn today_in_japan() -> String {
    time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+9))
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// Returns every code under `parent`, newest first.
async fn list(api: &Api, parent: &str) -> anyhow::Result<Vec<pb::ActivationCode>> {
    let client = api.codes()?;
    all_pages(|token| {
        let client = client.clone();
        async move {
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::ListActivationCodesRequest {
                    parent: parent.to_owned(),
                    page_size: 500,
                    page_token: token.clone(),
                };
                async move { c.list_activation_codes(r).await }
            })
            .await
            .context("list activation codes")?;
            Ok((resp.activation_codes, resp.next_page_token))
        }
    })
    .await
}

/// Runs `admin codes …`.
pub(crate) async fn run(ctx: &Ctx, command: CodesCommand) -> anyhow::Result<()> {
    let api = ctx.api()?;
    let client = api.codes()?;
    match command {
        CodesCommand::Issue { account, sheet } => {
            if let Some(path) = &sheet {
                sheet::check_new(path)?;
            }
            let name = accounts::resolve(&api, &account).await?;
            let id = request_id();
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::IssueActivationCodeRequest {
                    account: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.issue_activation_code(r).await }
            })
            .await
            .context("issue activation code")?;
            let code = resp.activation_code.unwrap_or_default();
            show_new_code(ctx, &code)?;
            if let Some(path) = &sheet {
                write_code_sheet(&api, &name, &code.code, path).await?;
            }
            if ctx.format() == Format::Json {
                output::json(&serde_json::json!({
                    "activation_code": CodeView::from(&code),
                    "sheet_file": sheet.map(|p| p.display().to_string()),
                }))?;
            }
        }
        CodesCommand::List { parent } => {
            let parent = match parent_of(parent.as_deref()) {
                Parent::Organization => api.organization.clone(),
                Parent::Name(n) => n.to_owned(),
                Parent::Account(a) => accounts::resolve(&api, a).await?,
                Parent::Clinic(c) => clinics::resolve(&api, c).await?,
            };
            let codes = list(&api, &parent).await?;
            match ctx.format() {
                Format::Json => {
                    output::json(&codes.iter().map(CodeView::from).collect::<Vec<_>>())?;
                }
                Format::Table => output::print_table(HEADERS, codes.iter().map(row).collect()),
            }
        }
        CodesCommand::Revoke { name } => {
            let name = resolve(&api, &name).await?;
            let id = request_id();
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::RevokeActivationCodeRequest {
                    name: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.revoke_activation_code(r).await }
            })
            .await
            .context("revoke activation code")?;
            let code = resp.activation_code.unwrap_or_default();
            match ctx.format() {
                Format::Json => output::json(&CodeView::from(&code))?,
                Format::Table => output::print_table(HEADERS, vec![row(&code)]),
            }
        }
        CodesCommand::Unlock { account, source } => {
            let account = match account {
                Some(a) => accounts::resolve(&api, &a).await?,
                None => String::new(),
            };
            let source = source.unwrap_or_default();
            let id = request_id();
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::UnlockActivationRequest {
                    account: account.clone(),
                    source_address: source.clone(),
                    request_id: id.clone(),
                };
                async move { c.unlock_activation(r).await }
            })
            .await
            .context("unlock activation")?;
            let what = if account.is_empty() {
                source.clone()
            } else {
                last_segment(&account)
            };
            match ctx.format() {
                Format::Json => output::json(&serde_json::json!({
                    "account": account,
                    "source_address": source,
                    "was_locked": resp.was_locked,
                }))?,
                Format::Table if resp.was_locked => println!("activation lock of {what} cleared"),
                Format::Table => println!("{what} was not locked; nothing to clear"),
            }
        }
    }
    Ok(())
}

/// Returns the resource name of the code `arg` names: a resource name, or a code id looked
/// up among the organization's codes.
async fn resolve(api: &Api, arg: &str) -> anyhow::Result<String> {
    let arg = arg.trim();
    if arg.starts_with("organizations/") {
        return Ok(arg.to_owned());
    }
    if uuid::Uuid::parse_str(arg).is_err() {
        bail!(
            "name the code by its resource name or id (the コードID column of `mynafleet admin \
             codes list`)"
        );
    }
    list(api, &api.organization)
        .await?
        .into_iter()
        .find(|c| last_segment(&c.name).eq_ignore_ascii_case(arg))
        .map(|c| c.name)
        .with_context(|| format!("no activation code {arg} in the organization"))
}

#[cfg(test)]
mod tests;
