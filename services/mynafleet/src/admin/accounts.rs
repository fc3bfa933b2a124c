//! `admin accounts …`: device accounts (資格確認アカウント) — issue, list, suspend, resume,
//! reset the password, unlock, edit 備考 — and the account CSV import
//! (`institution_code,privilege,note`), each issued account's sheet printed and filed.

use super::clinics;
use super::connect::{Api, Ctx, all_pages, call, request_id, try_call};
use super::import::{Import, RowError};
use super::output::{self, Format, last_segment, yes};
use super::sheet::{self, SheetArgs, SheetView};
use anyhow::Context as _;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::prost_types::FieldMask;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// `admin accounts …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AccountsCommand {
    /// Issues one account with a generated password; prints its sheet once.
    Create {
        /// The clinic: 機関コード, 登録記号番号, id or resource name.
        #[arg(long)]
        clinic: String,
        /// 権限区分: 一般 (general) or 医療情報閲覧 (medical-info).
        #[arg(long, default_value = "general", value_parser = privilege_arg)]
        privilege: pb::Privilege,
        /// 備考 (user or terminal name).
        #[arg(long, default_value = "")]
        note: String,
        #[command(flatten)]
        sheet: SheetArgs,
    },
    /// Lists accounts of one clinic or of every clinic.
    List {
        /// Only this clinic's accounts.
        #[arg(long)]
        clinic: Option<String>,
        /// Only accounts in this status: available (利用可), suspended (停止), ended (利用終了).
        #[arg(long, value_parser = status_arg)]
        status: Option<pb::DeviceAccountStatus>,
    },
    /// Shows one account.
    Get {
        /// The account: W + 7 digits, or its resource name.
        account: String,
    },
    /// 利用可 → 停止: devices using the account are cut at once.
    Suspend {
        /// The account: W + 7 digits, or its resource name.
        account: String,
    },
    /// 停止 → 利用可.
    Resume {
        /// The account: W + 7 digits, or its resource name.
        account: String,
    },
    /// Generates a new password and prints the new sheet once.
    ResetPassword {
        /// The account: W + 7 digits, or its resource name.
        account: String,
        #[command(flatten)]
        sheet: SheetArgs,
    },
    /// Clears the lock that failed password checks put on the account.
    Unlock {
        /// The account: W + 7 digits, or its resource name.
        account: String,
    },
    /// Sets 備考 (user or terminal name).
    Note {
        /// The account: W + 7 digits, or its resource name.
        account: String,
        /// The new 備考 (empty clears it).
        note: String,
    },
    /// Issues the accounts of a CSV file with the header `institution_code,privilege,note`.
    Import {
        /// The CSV file (UTF-8).
        file: PathBuf,
        #[command(flatten)]
        sheet: SheetArgs,
    },
}

/// An account as printed.
#[derive(Debug, Serialize)]
pub(crate) struct AccountView {
    name: String,
    account_id: String,
    institution_code: String,
    privilege: &'static str,
    status: &'static str,
    start_date: String,
    suspend_date: String,
    end_date: String,
    note: String,
    must_change_password: bool,
    locked: bool,
    create_time: String,
    update_time: String,
}

impl From<&pb::DeviceAccount> for AccountView {
    fn from(a: &pb::DeviceAccount) -> Self {
        Self {
            name: a.name.clone(),
            account_id: a.account_id.clone(),
            institution_code: a.institution_code.clone(),
            privilege: privilege_key(a.privilege()),
            status: status_key(a.status()),
            start_date: a.start_date.clone(),
            suspend_date: a.suspend_date.clone(),
            end_date: a.end_date.clone(),
            note: a.note.clone(),
            must_change_password: a.must_change_password,
            locked: a.locked,
            create_time: output::rfc3339(a.create_time.as_ref()),
            update_time: output::rfc3339(a.update_time.as_ref()),
        }
    }
}

const HEADERS: [&str; 9] = [
    "アカウントID",
    "機関コード",
    "権限区分",
    "ステータス",
    "利用開始年月日",
    "利用停止年月日",
    "利用終了年月日",
    "ロック",
    "備考",
];

fn row(a: &pb::DeviceAccount) -> [String; 9] {
    [
        a.account_id.clone(),
        a.institution_code.clone(),
        privilege_label(a.privilege()).to_owned(),
        status_label(a.status()).to_owned(),
        a.start_date.clone(),
        a.suspend_date.clone(),
        a.end_date.clone(),
        yes(a.locked),
        a.note.clone(),
    ]
}

/// Prints accounts as a table or JSON.
pub(crate) fn print(ctx: &Ctx, accounts: &[pb::DeviceAccount]) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&accounts.iter().map(AccountView::from).collect::<Vec<_>>()),
        Format::Table => {
            output::print_table(HEADERS, accounts.iter().map(row).collect());
            Ok(())
        }
    }
}

/// Prints one resource: a table of one row, or a JSON object.
fn print_one(ctx: &Ctx, item: &pb::DeviceAccount) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&AccountView::from(item)),
        Format::Table => print(ctx, std::slice::from_ref(item)),
    }
}

/// Prints `accounts` and their sheets as tables (in table mode), files the sheets and warns
/// about the sheets in `missing` (no activation code yet); returns everything as one JSON
/// value for JSON mode.
pub(crate) fn print_issued(
    ctx: &Ctx,
    sheet_dir: &std::path::Path,
    accounts: &[pb::DeviceAccount],
    sheets: &[pb::UserSettingsSheet],
    missing: &[String],
) -> anyhow::Result<serde_json::Value> {
    let views: Vec<SheetView> = sheets
        .iter()
        .map(|s| {
            let mut view = SheetView::from(s);
            // 管理者 accounts never run on a terminal, so no code belongs on their sheet.
            view.code_applies = !accounts
                .iter()
                .any(|a| a.name == s.account && a.privilege() == pb::Privilege::Administrator);
            view
        })
        .collect();
    if ctx.format() == Format::Table {
        print(ctx, accounts)?;
    }
    let file = sheet::issue(ctx.format(), sheet_dir, &views)?;
    if !missing.is_empty() {
        let ids: Vec<String> = missing.iter().map(|n| last_segment(n)).collect();
        eprintln!(
            "warning: no activation code on the sheet of {}; the activation service could not \
             issue one. Complete each sheet with `mynafleet admin codes issue ACCOUNT --sheet \
             FILE` (for example `mynafleet admin codes issue {}`)",
            ids.join(", "),
            ids[0]
        );
    }
    Ok(serde_json::json!({
        "device_accounts": accounts.iter().map(AccountView::from).collect::<Vec<_>>(),
        "sheets": views,
        "sheets_missing_code": missing,
        "sheet_file": file.map(|p| p.display().to_string()),
    }))
}

fn print_json(ctx: &Ctx, value: &serde_json::Value) -> anyhow::Result<()> {
    if ctx.format() == Format::Json {
        output::json(value)?;
    }
    Ok(())
}

/// Runs `admin accounts …`.
pub(crate) async fn run(ctx: &Ctx, command: AccountsCommand) -> anyhow::Result<ExitCode> {
    let api = ctx.api()?;
    match command {
        AccountsCommand::Create {
            clinic,
            privilege,
            note,
            sheet,
        } => {
            let parent = clinics::resolve(&api, &clinic).await?;
            let request = pb::CreateDeviceAccountRequest {
                parent,
                device_account: Some(pb::DeviceAccount {
                    privilege: privilege as i32,
                    note,
                    ..Default::default()
                }),
                request_id: request_id(),
            };
            let resp = call(|| {
                let mut c = api.accounts();
                let r = request.clone();
                async move { c.create_device_account(r).await }
            })
            .await
            .context("issue device account")?;
            let value = print_issued(
                ctx,
                &sheet.sheet_dir,
                &[resp.device_account.unwrap_or_default()],
                resp.sheet.as_slice(),
                &resp.sheets_missing_code,
            )?;
            print_json(ctx, &value)?;
        }
        AccountsCommand::List { clinic, status } => {
            let parent = match clinic {
                Some(c) => clinics::resolve(&api, &c).await?,
                None => api.all_clinics(),
            };
            let accounts = list(&api, &parent, status).await?;
            print(ctx, &accounts)?;
        }
        AccountsCommand::Get { account } => {
            let name = resolve(&api, &account).await?;
            let resp = call(|| {
                let mut c = api.accounts();
                let r = pb::GetDeviceAccountRequest { name: name.clone() };
                async move { c.get_device_account(r).await }
            })
            .await?;
            print_one(ctx, &resp.device_account.unwrap_or_default())?;
        }
        AccountsCommand::Suspend { account } => {
            let name = resolve(&api, &account).await?;
            let id = request_id();
            let resp = call(|| {
                let mut c = api.accounts();
                let r = pb::SuspendDeviceAccountRequest {
                    name: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.suspend_device_account(r).await }
            })
            .await
            .context("suspend account")?;
            print_one(ctx, &resp.device_account.unwrap_or_default())?;
        }
        AccountsCommand::Resume { account } => {
            let name = resolve(&api, &account).await?;
            let id = request_id();
            let resp = call(|| {
                let mut c = api.accounts();
                let r = pb::ResumeDeviceAccountRequest {
                    name: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.resume_device_account(r).await }
            })
            .await
            .context("resume account")?;
            print_one(ctx, &resp.device_account.unwrap_or_default())?;
        }
        AccountsCommand::ResetPassword { account, sheet } => {
            let name = resolve(&api, &account).await?;
            let id = request_id();
            let resp = call(|| {
                let mut c = api.accounts();
                let r = pb::ResetDeviceAccountPasswordRequest {
                    name: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.reset_device_account_password(r).await }
            })
            .await
            .context("reset account password")?;
            let value = print_issued(
                ctx,
                &sheet.sheet_dir,
                &[resp.device_account.unwrap_or_default()],
                resp.sheet.as_slice(),
                &resp.sheets_missing_code,
            )?;
            print_json(ctx, &value)?;
        }
        AccountsCommand::Unlock { account } => {
            let name = resolve(&api, &account).await?;
            let id = request_id();
            let resp = call(|| {
                let mut c = api.accounts();
                let r = pb::UnlockDeviceAccountRequest {
                    name: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.unlock_device_account(r).await }
            })
            .await
            .context("unlock account")?;
            print_one(ctx, &resp.device_account.unwrap_or_default())?;
        }
        AccountsCommand::Note { account, note } => {
            let name = resolve(&api, &account).await?;
            let request = pb::UpdateDeviceAccountRequest {
                device_account: Some(pb::DeviceAccount {
                    name,
                    note,
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["note".to_owned()],
                }),
                request_id: request_id(),
            };
            let resp = call(|| {
                let mut c = api.accounts();
                let r = request.clone();
                async move { c.update_device_account(r).await }
            })
            .await
            .context("update 備考")?;
            print_one(ctx, &resp.device_account.unwrap_or_default())?;
        }
        AccountsCommand::Import { file, sheet } => {
            return import_accounts(ctx, &api, &file, &sheet.sheet_dir).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Returns every account under `parent` (a clinic or `…/clinics/-`), in ID order.
pub(crate) async fn list(
    api: &Api,
    parent: &str,
    status: Option<pb::DeviceAccountStatus>,
) -> anyhow::Result<Vec<pb::DeviceAccount>> {
    all_pages(|token| async move {
        let resp = call(|| {
            let mut c = api.accounts();
            let r = pb::ListDeviceAccountsRequest {
                parent: parent.to_owned(),
                page_size: 500,
                page_token: token.clone(),
                status: status.map_or(0, |s| s as i32),
            };
            async move { c.list_device_accounts(r).await }
        })
        .await
        .context("list device accounts")?;
        Ok((resp.device_accounts, resp.next_page_token))
    })
    .await
}

/// Returns the resource name of the account `arg` names (a resource name, or an account ID
/// looked up among the organization's accounts).
pub(crate) async fn resolve(api: &Api, arg: &str) -> anyhow::Result<String> {
    if arg.starts_with("organizations/") {
        return Ok(arg.to_owned());
    }
    let id = arg.trim().to_ascii_uppercase();
    list(api, &api.all_clinics(), None)
        .await?
        .into_iter()
        .find(|a| a.account_id == id)
        .map(|a| a.name)
        .with_context(|| format!("no account {id} in the clinics you may see"))
}

fn privilege_arg(s: &str) -> Result<pb::Privilege, String> {
    parse_privilege(s).ok_or_else(|| "一般 (general) or 医療情報閲覧 (medical-info)".to_owned())
}

/// Parses a 権限区分 written in Japanese or English.
pub(crate) fn parse_privilege(s: &str) -> Option<pb::Privilege> {
    use pb::Privilege as P;
    Some(
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "一般" | "general" | "資格確認限定型" => P::General,
            "医療情報閲覧" | "medical_info" => P::MedicalInfo,
            "管理者" | "administrator" => P::Administrator,
            _ => return None,
        },
    )
}

fn status_arg(s: &str) -> Result<pb::DeviceAccountStatus, String> {
    use pb::DeviceAccountStatus as S;
    match s.trim().to_ascii_lowercase().as_str() {
        "available" | "利用可" => Ok(S::Available),
        "suspended" | "停止" => Ok(S::Suspended),
        "ended" | "利用終了" => Ok(S::Ended),
        _ => Err("available (利用可), suspended (停止) or ended (利用終了)".to_owned()),
    }
}

/// Returns the 権限区分 label.
pub(crate) fn privilege_label(p: pb::Privilege) -> &'static str {
    match p {
        pb::Privilege::General => "一般",
        pb::Privilege::MedicalInfo => "医療情報閲覧",
        pb::Privilege::Administrator => "管理者",
        pb::Privilege::Unspecified => "",
    }
}

fn privilege_key(p: pb::Privilege) -> &'static str {
    match p {
        pb::Privilege::General => "general",
        pb::Privilege::MedicalInfo => "medical_info",
        pb::Privilege::Administrator => "administrator",
        pb::Privilege::Unspecified => "unspecified",
    }
}

/// Returns the ステータス label.
pub(crate) fn status_label(s: pb::DeviceAccountStatus) -> &'static str {
    match s {
        pb::DeviceAccountStatus::Available => "利用可",
        pb::DeviceAccountStatus::Suspended => "停止",
        pb::DeviceAccountStatus::Ended => "利用終了",
        pb::DeviceAccountStatus::Unspecified => "",
    }
}

fn status_key(s: pb::DeviceAccountStatus) -> &'static str {
    match s {
        pb::DeviceAccountStatus::Available => "available",
        pb::DeviceAccountStatus::Suspended => "suspended",
        pb::DeviceAccountStatus::Ended => "ended",
        pb::DeviceAccountStatus::Unspecified => "unspecified",
    }
}

/// The columns of the account CSV.
const COLUMNS: &[&str] = &["institution_code", "privilege", "note"];

fn column_of(field: &str) -> &str {
    match field {
        "parent" => "institution_code",
        "device_account.privilege" => "privilege",
        "device_account.note" => "note",
        "HOME_VISIT_REQUIRED" => "privilege",
        "CLINIC_NOT_FOUND" => "institution_code",
        other => other,
    }
}

async fn import_accounts(
    ctx: &Ctx,
    api: &Api,
    file: &std::path::Path,
    sheet_dir: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let mut job = Import::open(file, "device_accounts", COLUMNS, &["institution_code"])?;
    let known = clinics::list(api).await?;
    let mut issued = Vec::new();
    let mut sheets = Vec::new();
    let mut missing = Vec::new();
    for row in job.rows() {
        job.progress.inc(1);
        let mut bad = Vec::new();
        let code = row.get("institution_code");
        let clinic = clinics::find(&known, code);
        if clinic.is_none() {
            bad.push(RowError::new(
                row.line,
                "institution_code",
                if code.is_empty() {
                    "is empty".to_owned()
                } else {
                    format!("no clinic of the organization has 機関コード {code}")
                },
            ));
        }
        let privilege = match row.get("privilege") {
            "" => Some(pb::Privilege::General),
            p => parse_privilege(p),
        };
        if privilege.is_none() {
            bad.push(RowError::new(
                row.line,
                "privilege",
                format!(
                    "「{}」 is not a 権限区分: use 一般 (general) or 医療情報閲覧 (medical_info)",
                    row.get("privilege")
                ),
            ));
        }
        let (Some(clinic), Some(privilege)) = (clinic, privilege) else {
            job.failed(bad);
            continue;
        };
        let request = pb::CreateDeviceAccountRequest {
            parent: clinic.name.clone(),
            device_account: Some(pb::DeviceAccount {
                privilege: privilege as i32,
                note: row.get("note").to_owned(),
                ..Default::default()
            }),
            request_id: job.request_id(row.line),
        };
        let result = try_call(|| {
            let mut c = api.accounts();
            let r = request.clone();
            async move { c.create_device_account(r).await }
        })
        .await;
        match result {
            Ok(resp) => {
                issued.push(resp.device_account.unwrap_or_default());
                sheets.extend(resp.sheet);
                missing.extend(resp.sheets_missing_code);
            }
            Err(status) => {
                if !job.refused(row.line, status, column_of) {
                    break;
                }
            }
        }
    }
    job.progress.finish_and_clear();
    if ctx.format() == Format::Table && !issued.is_empty() {
        println!("issued accounts:");
    }
    let json = print_issued(ctx, sheet_dir, &issued, &sheets, &missing)?;
    job.finish(ctx.format(), issued.len(), json)
}
