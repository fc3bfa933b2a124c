//! `admin devices …`: the terminals activated with device accounts, as the activation
//! service's registry knows them — list, show one, suspend (calls refused within a second),
//! resume, revoke for good, and replace a lost or broken terminal in one step (revoke it and
//! print a new activation code for its account, once). A terminal is named by its resource
//! name, its device id, or the account id it runs under.

use super::clinics;
use super::codes::{self, is_account_id};
use super::connect::{Api, Ctx, all_pages, call_activation, request_id};
use super::output::{self, Format, last_segment};
use anyhow::{Context as _, bail};
use mynafleet_proto::activation::v1 as pb;
use serde::Serialize;
use std::path::PathBuf;

/// `admin devices …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DevicesCommand {
    /// Lists the terminals of the organization (default) or of one clinic.
    List {
        /// A clinic: 機関コード, 登録記号番号, id or resource name.
        parent: Option<String>,
    },
    /// Shows one terminal in detail.
    Get {
        /// The terminal: resource name, device id, or the W + 7 digits of its account.
        #[arg(value_name = "NAME")]
        device: String,
    },
    /// Suspends a terminal: its calls are refused within a second, and it cannot renew.
    Suspend {
        /// The terminal: resource name, device id, or the W + 7 digits of its account.
        #[arg(value_name = "NAME")]
        device: String,
        /// Why (for example "tablet lost"); kept in the registry and the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Resumes a terminal an operator suspended.
    Resume {
        /// The terminal: resource name, device id, or the W + 7 digits of its account.
        #[arg(value_name = "NAME")]
        device: String,
    },
    /// Revokes a terminal for good (its account can then activate another one).
    Revoke {
        /// The terminal: resource name, device id, or the W + 7 digits of its account.
        #[arg(value_name = "NAME")]
        device: String,
        /// Why; kept in the registry and the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Replaces a lost or broken terminal: revokes it and prints a new activation code for
    /// its account, once.
    Replace {
        /// The terminal: resource name, device id, or the W + 7 digits of its account.
        #[arg(value_name = "NAME")]
        device: String,
        /// Why; kept in the registry and the audit log.
        #[arg(long)]
        reason: String,
        /// Also writes an A4 sheet with the new code (no password) to this new file.
        #[arg(long, value_name = "FILE")]
        sheet: Option<PathBuf>,
    },
}

/// A terminal as printed.
#[derive(Debug, Serialize)]
struct DeviceView {
    name: String,
    device_id: String,
    account: String,
    account_id: String,
    institution_code: String,
    status: &'static str,
    status_cause: &'static str,
    status_reason: String,
    status_time: String,
    key_fingerprint: String,
    certificate_serial: String,
    certificate_expire_time: String,
    create_time: String,
    first_seen_time: String,
    last_seen_time: String,
    hostname: String,
    os: String,
    agent_version: String,
    readers: Vec<String>,
    activation_code: String,
}

impl From<&pb::Device> for DeviceView {
    fn from(d: &pb::Device) -> Self {
        let facts = d.facts.clone().unwrap_or_default();
        Self {
            name: d.name.clone(),
            device_id: last_segment(&d.name),
            account: d.account.clone(),
            account_id: last_segment(&d.account),
            institution_code: d.institution_code.clone(),
            status: status_key(d.status()),
            status_cause: cause_key(d.status_cause()),
            status_reason: d.status_reason.clone(),
            status_time: output::rfc3339(d.status_time.as_ref()),
            key_fingerprint: d.key_fingerprint.clone(),
            certificate_serial: d.certificate_serial.clone(),
            certificate_expire_time: output::rfc3339(d.certificate_expire_time.as_ref()),
            create_time: output::rfc3339(d.create_time.as_ref()),
            first_seen_time: output::rfc3339(d.first_seen_time.as_ref()),
            last_seen_time: output::rfc3339(d.last_seen_time.as_ref()),
            hostname: facts.hostname,
            os: facts.os,
            agent_version: facts.agent_version,
            readers: facts.readers,
            activation_code: d.activation_code.clone(),
        }
    }
}

fn status_key(s: pb::DeviceStatus) -> &'static str {
    match s {
        pb::DeviceStatus::Pending => "pending",
        pb::DeviceStatus::Active => "active",
        pb::DeviceStatus::Suspended => "suspended",
        pb::DeviceStatus::Revoked => "revoked",
        pb::DeviceStatus::Unspecified => "unspecified",
    }
}

/// Returns the 状態 label of a terminal.
fn status_label(s: pb::DeviceStatus) -> &'static str {
    match s {
        pb::DeviceStatus::Pending => "登録中",
        pb::DeviceStatus::Active => "有効",
        pb::DeviceStatus::Suspended => "停止",
        pb::DeviceStatus::Revoked => "失効",
        pb::DeviceStatus::Unspecified => "",
    }
}

fn cause_key(c: pb::StatusCause) -> &'static str {
    match c {
        pb::StatusCause::Activation => "activation",
        pb::StatusCause::Operator => "operator",
        pb::StatusCause::Account => "account",
        pb::StatusCause::Unspecified => "unspecified",
    }
}

fn cause_label(c: pb::StatusCause) -> &'static str {
    match c {
        pb::StatusCause::Activation => "アクティベーション",
        pb::StatusCause::Operator => "オペレーター操作",
        pb::StatusCause::Account => "アカウントの状態",
        pb::StatusCause::Unspecified => "",
    }
}

const HEADERS: [&str; 8] = [
    "端末ID",
    "機関コード",
    "アカウントID",
    "状態",
    "証明書有効期限",
    "最終接続",
    "エージェント",
    "リーダー",
];

fn row(d: &pb::Device) -> [String; 8] {
    let facts = d.facts.clone().unwrap_or_default();
    [
        last_segment(&d.name),
        d.institution_code.clone(),
        last_segment(&d.account),
        status_label(d.status()).to_owned(),
        output::local(d.certificate_expire_time.as_ref()),
        output::local(d.last_seen_time.as_ref()),
        facts.agent_version,
        facts.readers.join(", "),
    ]
}

/// Returns the detail lines of one terminal: (項目, 値).
fn details(d: &pb::Device) -> Vec<[String; 2]> {
    let facts = d.facts.clone().unwrap_or_default();
    let status = match (d.status_cause(), d.status_reason.as_str()) {
        (pb::StatusCause::Unspecified, _) => status_label(d.status()).to_owned(),
        (cause, "") => format!("{} ({})", status_label(d.status()), cause_label(cause)),
        (cause, reason) => format!(
            "{} ({}: {reason})",
            status_label(d.status()),
            cause_label(cause)
        ),
    };
    [
        ("端末", d.name.clone()),
        ("アカウント", d.account.clone()),
        ("機関コード", d.institution_code.clone()),
        ("状態", status),
        ("状態変更日時", output::local(d.status_time.as_ref())),
        ("証明書シリアル", d.certificate_serial.clone()),
        (
            "証明書有効期限",
            output::local(d.certificate_expire_time.as_ref()),
        ),
        ("鍵フィンガープリント", d.key_fingerprint.clone()),
        ("登録日時", output::local(d.create_time.as_ref())),
        ("初回接続", output::local(d.first_seen_time.as_ref())),
        ("最終接続", output::local(d.last_seen_time.as_ref())),
        ("ホスト名", facts.hostname),
        ("OS", facts.os),
        ("エージェント", facts.agent_version),
        ("リーダー", facts.readers.join(", ")),
        ("アクティベーションコード", last_segment(&d.activation_code)),
    ]
    .into_iter()
    .map(|(k, v)| [k.to_owned(), v])
    .collect()
}

fn print(ctx: &Ctx, devices: &[pb::Device]) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&devices.iter().map(DeviceView::from).collect::<Vec<_>>()),
        Format::Table => {
            output::print_table(HEADERS, devices.iter().map(row).collect());
            Ok(())
        }
    }
}

fn print_one(ctx: &Ctx, device: &pb::Device) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&DeviceView::from(device)),
        Format::Table => print(ctx, std::slice::from_ref(device)),
    }
}

/// Returns every terminal under `parent` (an organization or a clinic).
async fn list(api: &Api, parent: &str) -> anyhow::Result<Vec<pb::Device>> {
    let client = api.devices()?;
    all_pages(|token| {
        let client = client.clone();
        async move {
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::ListDevicesRequest {
                    parent: parent.to_owned(),
                    page_size: 500,
                    page_token: token.clone(),
                };
                async move { c.list_devices(r).await }
            })
            .await
            .context("list devices")?;
            Ok((resp.devices, resp.next_page_token))
        }
    })
    .await
}

/// Returns the terminal of `devices` that `arg` names: its device id, or the account id it
/// runs under (its terminal that is not revoked).
fn find<'a>(devices: &'a [pb::Device], arg: &str) -> Option<&'a pb::Device> {
    let arg = arg.trim();
    if is_account_id(arg) {
        let id = arg.to_ascii_uppercase();
        return devices
            .iter()
            .find(|d| last_segment(&d.account) == id && d.status() != pb::DeviceStatus::Revoked);
    }
    devices
        .iter()
        .find(|d| last_segment(&d.name).eq_ignore_ascii_case(arg))
}

/// Returns the resource name of the terminal `arg` names.
async fn resolve(api: &Api, arg: &str) -> anyhow::Result<String> {
    let arg = arg.trim();
    if arg.starts_with("organizations/") {
        return Ok(arg.to_owned());
    }
    if !is_account_id(arg) && uuid::Uuid::parse_str(arg).is_err() {
        bail!(
            "name the terminal by its resource name, its device id (the 端末ID column of \
             `mynafleet admin devices list`) or the W + 7 digits of its account"
        );
    }
    let devices = list(api, &api.organization).await?;
    match find(&devices, arg) {
        Some(d) => Ok(d.name.clone()),
        None if is_account_id(arg) => bail!(
            "account {} has no terminal that is not revoked",
            arg.to_ascii_uppercase()
        ),
        None => bail!("no terminal {arg} in the organization"),
    }
}

/// Runs `admin devices …`.
pub(crate) async fn run(ctx: &Ctx, command: DevicesCommand) -> anyhow::Result<()> {
    let api = ctx.api()?;
    let client = api.devices()?;
    match command {
        DevicesCommand::List { parent } => {
            let parent = match parent.as_deref().map(str::trim) {
                None | Some("") => api.organization.clone(),
                Some(p) => clinics::resolve(&api, p).await?,
            };
            print(ctx, &list(&api, &parent).await?)?;
        }
        DevicesCommand::Get { device } => {
            let name = resolve(&api, &device).await?;
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::GetDeviceRequest { name: name.clone() };
                async move { c.get_device(r).await }
            })
            .await?;
            let d = resp.device.unwrap_or_default();
            match ctx.format() {
                Format::Json => output::json(&DeviceView::from(&d))?,
                Format::Table => {
                    output::emit(&output::table(["項目", "値"], details(&d)).to_string())?;
                }
            }
        }
        DevicesCommand::Suspend { device, reason } => {
            let name = resolve(&api, &device).await?;
            let id = request_id();
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::SuspendDeviceRequest {
                    name: name.clone(),
                    reason: reason.clone(),
                    request_id: id.clone(),
                };
                async move { c.suspend_device(r).await }
            })
            .await
            .context("suspend device")?;
            print_one(ctx, &resp.device.unwrap_or_default())?;
        }
        DevicesCommand::Resume { device } => {
            let name = resolve(&api, &device).await?;
            let id = request_id();
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::ResumeDeviceRequest {
                    name: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.resume_device(r).await }
            })
            .await
            .context("resume device")?;
            print_one(ctx, &resp.device.unwrap_or_default())?;
        }
        DevicesCommand::Revoke { device, reason } => {
            let name = resolve(&api, &device).await?;
            let id = request_id();
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::RevokeDeviceRequest {
                    name: name.clone(),
                    reason: reason.clone(),
                    request_id: id.clone(),
                };
                async move { c.revoke_device(r).await }
            })
            .await
            .context("revoke device")?;
            print_one(ctx, &resp.device.unwrap_or_default())?;
        }
        DevicesCommand::Replace {
            device,
            reason,
            sheet,
        } => {
            if let Some(path) = &sheet {
                super::sheet::check_new(path)?;
            }
            let name = resolve(&api, &device).await?;
            let id = request_id();
            let resp = call_activation(|| {
                let mut c = client.clone();
                let r = pb::ReplaceDeviceRequest {
                    name: name.clone(),
                    reason: reason.clone(),
                    request_id: id.clone(),
                };
                async move { c.replace_device(r).await }
            })
            .await
            .context("replace device")?;
            let revoked = resp.device.unwrap_or_default();
            let code = resp.activation_code.unwrap_or_default();
            if ctx.format() == Format::Table {
                println!("revoked:");
                print(ctx, std::slice::from_ref(&revoked))?;
            }
            codes::show_new_code(ctx, &code)?;
            if let Some(path) = &sheet {
                let account = if code.account.is_empty() {
                    &revoked.account
                } else {
                    &code.account
                };
                codes::write_code_sheet(&api, account, &code.code, path).await?;
            }
            if ctx.format() == Format::Json {
                output::json(&serde_json::json!({
                    "device": DeviceView::from(&revoked),
                    "activation_code": codes::CodeView::from(&code),
                    "sheet_file": sheet.map(|p| p.display().to_string()),
                }))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
