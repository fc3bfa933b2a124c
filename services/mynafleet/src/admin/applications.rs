//! `admin applications …`: 利用開始申請 (start), 追加申請 (add), 解除申請 (release), 申請状況
//! (list), and an org_admin's approve (printing and filing the issued accounts' sheets) or
//! reject.

use super::accounts::{self, privilege_label};
use super::clinics;
use super::connect::{Api, Ctx, all_pages, call, request_id};
use super::output::{self, Format, last_segment};
use super::prompt;
use super::sheet::SheetArgs;
use anyhow::{Context as _, bail};
use mynafleet_proto::account::v1 as pb;
use serde::Serialize;

/// `admin applications …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ApplicationsCommand {
    /// Files a 利用開始申請 (asks for the last 4 digits of the claims bank account).
    Start {
        /// The clinic: 機関コード, 登録記号番号, id or resource name.
        #[arg(long)]
        clinic: String,
        /// 職員数.
        #[arg(long)]
        staff: i32,
        /// 申請台数: accounts to issue.
        #[arg(long)]
        devices: i32,
        /// 権限区分 of the accounts: 一般 (general) or 医療情報閲覧 (medical-info).
        #[arg(long, default_value = "general", value_parser = privilege_arg)]
        privilege: pb::Privilege,
    },
    /// Files a 追加申請 for more devices.
    Add {
        /// The clinic: 機関コード, 登録記号番号, id or resource name.
        #[arg(long)]
        clinic: String,
        /// 申請台数: accounts to add.
        #[arg(long)]
        devices: i32,
        /// 権限区分 of the accounts: 一般 (general) or 医療情報閲覧 (medical-info).
        #[arg(long, default_value = "general", value_parser = privilege_arg)]
        privilege: pb::Privilege,
    },
    /// Files a 解除申請 for accounts of one clinic.
    Release {
        /// The accounts to end: W + 7 digits, or resource names.
        #[arg(required = true)]
        accounts: Vec<String>,
    },
    /// 申請状況: applications, newest first.
    List {
        /// Only this clinic's applications.
        #[arg(long)]
        clinic: Option<String>,
        /// Only this kind: start, add, release.
        #[arg(long, value_parser = kind_arg)]
        kind: Option<pb::ApplicationKind>,
        /// Only this status: submitted, approved, completed, rejected.
        #[arg(long, value_parser = status_arg)]
        status: Option<pb::ApplicationStatus>,
    },
    /// Approves an application (org_admin): issues or ends its accounts.
    Approve {
        /// The application: its id or resource name.
        application: String,
        #[command(flatten)]
        sheet: SheetArgs,
    },
    /// Rejects an application with a reason (org_admin).
    Reject {
        /// The application: its id or resource name.
        application: String,
        /// Why (1 to 500 characters).
        #[arg(long)]
        reason: String,
    },
}

/// An application as printed.
#[derive(Debug, Serialize)]
struct ApplicationView {
    name: String,
    kind: &'static str,
    status: &'static str,
    institution_code: String,
    staff_count: i32,
    device_count: i32,
    privilege: &'static str,
    accounts: Vec<String>,
    result_accounts: Vec<String>,
    reject_reason: String,
    submitter: String,
    reviewer: String,
    submit_time: String,
    review_time: String,
    complete_time: String,
}

impl From<&pb::Application> for ApplicationView {
    fn from(a: &pb::Application) -> Self {
        Self {
            name: a.name.clone(),
            kind: kind_key(a.kind()),
            status: status_key(a.status()),
            institution_code: a.institution_code.clone(),
            staff_count: a.staff_count,
            device_count: a.device_count,
            privilege: privilege_label(a.privilege()),
            accounts: a.accounts.clone(),
            result_accounts: a.result_accounts.clone(),
            reject_reason: a.reject_reason.clone(),
            submitter: a.submitter.clone(),
            reviewer: a.reviewer.clone(),
            submit_time: output::rfc3339(a.submit_time.as_ref()),
            review_time: output::rfc3339(a.review_time.as_ref()),
            complete_time: output::rfc3339(a.complete_time.as_ref()),
        }
    }
}

const HEADERS: [&str; 8] = [
    "申請ID",
    "機関コード",
    "申請種別",
    "ステータス",
    "台数",
    "対象・結果",
    "申請日時",
    "却下理由",
];

fn row(a: &pb::Application) -> [String; 8] {
    let targets = if a.result_accounts.is_empty() {
        &a.accounts
    } else {
        &a.result_accounts
    };
    [
        last_segment(&a.name),
        a.institution_code.clone(),
        kind_label(a.kind()).to_owned(),
        status_label(a.status()).to_owned(),
        if a.device_count > 0 {
            a.device_count.to_string()
        } else {
            String::new()
        },
        targets
            .iter()
            .map(|n| last_segment(n))
            .collect::<Vec<_>>()
            .join(" "),
        output::local(a.submit_time.as_ref()),
        a.reject_reason.clone(),
    ]
}

fn print(ctx: &Ctx, apps: &[pb::Application]) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&apps.iter().map(ApplicationView::from).collect::<Vec<_>>()),
        Format::Table => {
            output::print_table(HEADERS, apps.iter().map(row).collect());
            Ok(())
        }
    }
}

/// Prints one resource: a table of one row, or a JSON object.
fn print_one(ctx: &Ctx, item: &pb::Application) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&ApplicationView::from(item)),
        Format::Table => print(ctx, std::slice::from_ref(item)),
    }
}

/// Runs `admin applications …`.
pub(crate) async fn run(ctx: &Ctx, command: ApplicationsCommand) -> anyhow::Result<()> {
    let api = ctx.api()?;
    match command {
        ApplicationsCommand::Start {
            clinic,
            staff,
            devices,
            privilege,
        } => {
            let parent = clinics::resolve(&api, &clinic).await?;
            let bank =
                prompt::secret("Last 4 digits of the claims bank account (施設の確認)").await?;
            let app = pb::Application {
                kind: pb::ApplicationKind::Start as i32,
                staff_count: staff,
                device_count: devices,
                bank_account_last4: bank.to_string(),
                privilege: privilege as i32,
                ..Default::default()
            };
            submit(ctx, &api, parent, app).await
        }
        ApplicationsCommand::Add {
            clinic,
            devices,
            privilege,
        } => {
            let parent = clinics::resolve(&api, &clinic).await?;
            let app = pb::Application {
                kind: pb::ApplicationKind::Addition as i32,
                device_count: devices,
                privilege: privilege as i32,
                ..Default::default()
            };
            submit(ctx, &api, parent, app).await
        }
        ApplicationsCommand::Release { accounts: args } => {
            let mut names = Vec::new();
            for a in &args {
                names.push(accounts::resolve(&api, a).await?);
            }
            let parent = clinic_of(&names[0]);
            if let Some(other) = names.iter().find(|n| clinic_of(n) != parent) {
                bail!(
                    "{} belongs to another clinic: one 解除申請 covers one clinic's accounts",
                    last_segment(other)
                );
            }
            let app = pb::Application {
                kind: pb::ApplicationKind::Release as i32,
                accounts: names,
                ..Default::default()
            };
            submit(ctx, &api, parent, app).await
        }
        ApplicationsCommand::List {
            clinic,
            kind,
            status,
        } => {
            let parent = match clinic {
                Some(c) => clinics::resolve(&api, &c).await?,
                None => api.all_clinics(),
            };
            let apps = list(&api, &parent, kind, status).await?;
            print(ctx, &apps)
        }
        ApplicationsCommand::Approve { application, sheet } => {
            let name = resolve(&api, &application).await?;
            let id = request_id();
            let resp = call(|| {
                let mut c = api.applications();
                let r = pb::ApproveApplicationRequest {
                    name: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.approve_application(r).await }
            })
            .await
            .context("approve application")?;
            if ctx.format() == Format::Table {
                print(ctx, resp.application.as_slice())?;
            }
            let mut value = accounts::print_issued(
                ctx,
                &sheet.sheet_dir,
                &resp.device_accounts,
                &resp.sheets,
                &resp.sheets_missing_code,
            )?;
            if ctx.format() == Format::Json {
                value["application"] =
                    serde_json::to_value(resp.application.as_ref().map(ApplicationView::from))?;
                output::json(&value)?;
            }
            Ok(())
        }
        ApplicationsCommand::Reject {
            application,
            reason,
        } => {
            let name = resolve(&api, &application).await?;
            let id = request_id();
            let resp = call(|| {
                let mut c = api.applications();
                let r = pb::RejectApplicationRequest {
                    name: name.clone(),
                    reason: reason.clone(),
                    request_id: id.clone(),
                };
                async move { c.reject_application(r).await }
            })
            .await
            .context("reject application")?;
            print_one(ctx, &resp.application.unwrap_or_default())
        }
    }
}

async fn submit(ctx: &Ctx, api: &Api, parent: String, app: pb::Application) -> anyhow::Result<()> {
    let request = pb::SubmitApplicationRequest {
        parent,
        application: Some(app),
        request_id: request_id(),
    };
    let resp = call(|| {
        let mut c = api.applications();
        let r = request.clone();
        async move { c.submit_application(r).await }
    })
    .await
    .context("submit application")?;
    print_one(ctx, &resp.application.unwrap_or_default())
}

/// Returns `organizations/{org}/clinics/{clinic}` of an account name.
fn clinic_of(account: &str) -> String {
    account
        .split("/accounts/")
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn list(
    api: &Api,
    parent: &str,
    kind: Option<pb::ApplicationKind>,
    status: Option<pb::ApplicationStatus>,
) -> anyhow::Result<Vec<pb::Application>> {
    all_pages(|token| async move {
        let resp = call(|| {
            let mut c = api.applications();
            let r = pb::ListApplicationsRequest {
                parent: parent.to_owned(),
                page_size: 500,
                page_token: token.clone(),
                kind: kind.map_or(0, |k| k as i32),
                status: status.map_or(0, |s| s as i32),
            };
            async move { c.list_applications(r).await }
        })
        .await
        .context("list applications")?;
        Ok((resp.applications, resp.next_page_token))
    })
    .await
}

/// Returns the resource name of the application `arg` names (a resource name, or an id
/// looked up among the organization's applications).
async fn resolve(api: &Api, arg: &str) -> anyhow::Result<String> {
    if arg.starts_with("organizations/") {
        return Ok(arg.to_owned());
    }
    list(api, &api.all_clinics(), None, None)
        .await?
        .into_iter()
        .find(|a| last_segment(&a.name) == arg)
        .map(|a| a.name)
        .with_context(|| format!("no application {arg} in the clinics you may see"))
}

fn privilege_arg(s: &str) -> Result<pb::Privilege, String> {
    accounts::parse_privilege(s)
        .ok_or_else(|| "一般 (general) or 医療情報閲覧 (medical-info)".to_owned())
}

fn kind_arg(s: &str) -> Result<pb::ApplicationKind, String> {
    use pb::ApplicationKind as K;
    match s.trim().to_ascii_lowercase().as_str() {
        "start" | "利用開始申請" => Ok(K::Start),
        "add" | "addition" | "追加申請" => Ok(K::Addition),
        "release" | "解除申請" => Ok(K::Release),
        _ => Err("start, add or release".to_owned()),
    }
}

fn status_arg(s: &str) -> Result<pb::ApplicationStatus, String> {
    use pb::ApplicationStatus as S;
    match s.trim().to_ascii_lowercase().as_str() {
        "submitted" | "申請中" => Ok(S::Submitted),
        "approved" | "承認済" => Ok(S::Approved),
        "completed" | "完了" => Ok(S::Completed),
        "rejected" | "却下" => Ok(S::Rejected),
        _ => Err("submitted, approved, completed or rejected".to_owned()),
    }
}

fn kind_label(k: pb::ApplicationKind) -> &'static str {
    match k {
        pb::ApplicationKind::Start => "利用開始申請",
        pb::ApplicationKind::Addition => "追加申請",
        pb::ApplicationKind::Release => "解除申請",
        pb::ApplicationKind::Unspecified => "",
    }
}

fn kind_key(k: pb::ApplicationKind) -> &'static str {
    match k {
        pb::ApplicationKind::Start => "start",
        pb::ApplicationKind::Addition => "addition",
        pb::ApplicationKind::Release => "release",
        pb::ApplicationKind::Unspecified => "unspecified",
    }
}

fn status_label(s: pb::ApplicationStatus) -> &'static str {
    match s {
        pb::ApplicationStatus::Submitted => "申請中",
        pb::ApplicationStatus::Approved => "承認済",
        pb::ApplicationStatus::Completed => "完了",
        pb::ApplicationStatus::Rejected => "却下",
        pb::ApplicationStatus::Unspecified => "",
    }
}

fn status_key(s: pb::ApplicationStatus) -> &'static str {
    match s {
        pb::ApplicationStatus::Submitted => "submitted",
        pb::ApplicationStatus::Approved => "approved",
        pb::ApplicationStatus::Completed => "completed",
        pb::ApplicationStatus::Rejected => "rejected",
        pb::ApplicationStatus::Unspecified => "unspecified",
    }
}
