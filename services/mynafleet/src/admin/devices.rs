//! `admin devices …`: the terminals activated with device accounts, as the activation
//! service's registry knows them — list, show one, suspend (calls refused within a second),
//! resume, revoke for good, and replace a lost or broken terminal in one step (revoke it and
//! print a new activation code for its account, once). A terminal is named by its resource
//! name, its device id, or the account id it runs under. `list --watch` shows the fleet live:
//! which agents are connected, their readers and cards, last scans (see `view.rs`).

use super::clinics;
use super::codes::{self, is_account_id};
use super::connect::{Api, Ctx, all_pages, call_activation, request_id};
use super::output::{self, Format, last_segment};
use anyhow::{Context as _, bail};
use mynafleet_proto::activation::v1 as pb;
use std::path::PathBuf;
use std::time::Duration;
use view::{DeviceView, HEADERS, details, row};

mod view;

/// How often `admin devices list --watch` reads the registry again.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// `admin devices …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum DevicesCommand {
    /// Lists the terminals of the organization (default) or of one clinic: status, whether
    /// the agent is connected (● / ○), its readers ([カード] where a card is on one), last
    /// scan, agent version, certificate expiry and last connection.
    List {
        /// A clinic: 機関コード, 登録記号番号, id or resource name.
        parent: Option<String>,
        /// Reads the list again every 2 seconds and shows it afresh, until Ctrl-C.
        #[arg(long)]
        watch: bool,
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

/// Shows the terminals under `parent` afresh every [`WATCH_EVERY`] until Ctrl-C: a table
/// redrawn on a cleared screen, or one JSON list per reading. A failed reading is shown
/// and the next one tried.
async fn watch_list(ctx: &Ctx, api: &Api, parent: &str) -> anyhow::Result<()> {
    output::every_until_ctrl_c(WATCH_EVERY, async || {
        let devices = list(api, parent).await;
        if ctx.format() == Format::Table {
            // Clear the screen and go home, then a line saying when and how to stop.
            output::emit(&format!(
                "\x1b[2J\x1b[H{} 現在 (2 秒ごとに更新、Ctrl-C で終了)",
                output::local(Some(&now()))
            ))?;
        }
        match devices {
            Ok(devices) => print(ctx, &devices)?,
            Err(e) => eprintln!("error: {e:#}"),
        }
        Ok(())
    })
    .await
}

/// Returns the current time as a wire timestamp, for the watch's heading.
fn now() -> mynafleet_proto::prost_types::Timestamp {
    let t = time::OffsetDateTime::now_utc();
    mynafleet_proto::prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
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
        DevicesCommand::List { parent, watch } => {
            let parent = match parent.as_deref().map(str::trim) {
                None | Some("") => api.organization.clone(),
                Some(p) => clinics::resolve(&api, p).await?,
            };
            if watch {
                watch_list(ctx, &api, &parent).await?;
            } else {
                print(ctx, &list(&api, &parent).await?)?;
            }
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
