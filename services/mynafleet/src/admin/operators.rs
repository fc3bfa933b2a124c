//! `admin operators create|list|disable|unlock`: the organization's operators (org_admin).
//! A new operator's initial password and TOTP URI are printed once.

use super::clinics;
use super::connect::{Api, Ctx, all_pages, call, request_id};
use super::output::{self, Format, last_segment};
use anyhow::Context as _;
use mynafleet_proto::account::v1 as pb;
use serde::Serialize;

/// `admin operators …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum OperatorsCommand {
    /// Creates an operator; prints the initial password and TOTP URI once.
    Create {
        /// What the operator types to log in (a-z 0-9 . _ @ -).
        #[arg(long)]
        login_id: String,
        /// 氏名.
        #[arg(long)]
        display_name: String,
        /// org-admin, clinic-admin, auditor or viewer.
        #[arg(long, value_parser = role_arg)]
        role: pb::Role,
        /// For a clinic-admin: a clinic in scope (repeat for more).
        #[arg(long = "clinic")]
        clinics: Vec<String>,
    },
    /// Lists the organization's operators.
    List,
    /// Disables an operator; their sessions end at once.
    Disable {
        /// The operator: login id, id or resource name.
        operator: String,
    },
    /// Clears an operator's login lockout.
    Unlock {
        /// The operator: login id, id or resource name.
        operator: String,
    },
}

/// An operator as printed.
#[derive(Debug, Serialize)]
pub(crate) struct OperatorView {
    pub(crate) name: String,
    pub(crate) login_id: String,
    pub(crate) display_name: String,
    pub(crate) role: &'static str,
    pub(crate) clinics: Vec<String>,
    pub(crate) state: &'static str,
    pub(crate) must_change_password: bool,
    pub(crate) totp_enrolled: bool,
    pub(crate) create_time: String,
    pub(crate) last_login_time: String,
}

impl From<&pb::Operator> for OperatorView {
    fn from(o: &pb::Operator) -> Self {
        Self {
            name: o.name.clone(),
            login_id: o.login_id.clone(),
            display_name: o.display_name.clone(),
            role: role_key(o.role()),
            clinics: o.clinics.clone(),
            state: state_key(o.state()),
            must_change_password: o.must_change_password,
            totp_enrolled: o.totp_enrolled,
            create_time: output::rfc3339(o.create_time.as_ref()),
            last_login_time: output::rfc3339(o.last_login_time.as_ref()),
        }
    }
}

const HEADERS: [&str; 7] = [
    "ログインID",
    "氏名",
    "役割",
    "状態",
    "担当医療機関",
    "最終ログイン",
    "ID",
];

fn row(o: &pb::Operator) -> [String; 7] {
    [
        o.login_id.clone(),
        o.display_name.clone(),
        role_key(o.role()).to_owned(),
        state_label(o.state()).to_owned(),
        o.clinics
            .iter()
            .map(|c| last_segment(c))
            .collect::<Vec<_>>()
            .join(" "),
        output::local(o.last_login_time.as_ref()),
        last_segment(&o.name),
    ]
}

fn print(ctx: &Ctx, ops: &[pb::Operator]) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&ops.iter().map(OperatorView::from).collect::<Vec<_>>()),
        Format::Table => {
            output::print_table(HEADERS, ops.iter().map(row).collect());
            Ok(())
        }
    }
}

/// Prints one resource: a table of one row, or a JSON object.
fn print_one(ctx: &Ctx, item: &pb::Operator) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&OperatorView::from(item)),
        Format::Table => print(ctx, std::slice::from_ref(item)),
    }
}

/// Runs `admin operators …`.
pub(crate) async fn run(ctx: &Ctx, command: OperatorsCommand) -> anyhow::Result<()> {
    let api = ctx.api()?;
    match command {
        OperatorsCommand::Create {
            login_id,
            display_name,
            role,
            clinics: scope,
        } => {
            let mut names = Vec::new();
            for c in &scope {
                names.push(clinics::resolve(&api, c).await?);
            }
            let request = pb::CreateOperatorRequest {
                parent: api.organization.clone(),
                operator: Some(pb::Operator {
                    login_id,
                    display_name,
                    role: role as i32,
                    clinics: names,
                    ..Default::default()
                }),
                request_id: request_id(),
            };
            let resp = call(|| {
                let mut c = api.operators();
                let r = request.clone();
                async move { c.create_operator(r).await }
            })
            .await
            .context("create operator")?;
            let op = resp.operator.unwrap_or_default();
            show_credentials(
                ctx.format(),
                &serde_json::json!({
                    "operator": OperatorView::from(&op),
                    "initial_password": resp.initial_password,
                    "totp_uri": resp.totp_uri,
                }),
                &[
                    ("operator", op.name.as_str()),
                    ("login id", op.login_id.as_str()),
                    ("role", role_key(op.role())),
                    ("initial password", resp.initial_password.as_str()),
                    ("TOTP URI", resp.totp_uri.as_str()),
                ],
            )
        }
        OperatorsCommand::List => print(ctx, &list(&api).await?),
        OperatorsCommand::Disable { operator } => {
            let name = resolve(&api, &operator).await?;
            let id = request_id();
            let resp = call(|| {
                let mut c = api.operators();
                let r = pb::DisableOperatorRequest {
                    name: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.disable_operator(r).await }
            })
            .await
            .context("disable operator")?;
            print_one(ctx, &resp.operator.unwrap_or_default())
        }
        OperatorsCommand::Unlock { operator } => {
            let name = resolve(&api, &operator).await?;
            let id = request_id();
            let resp = call(|| {
                let mut c = api.operators();
                let r = pb::UnlockOperatorRequest {
                    name: name.clone(),
                    request_id: id.clone(),
                };
                async move { c.unlock_operator(r).await }
            })
            .await
            .context("unlock operator")?;
            print_one(ctx, &resp.operator.unwrap_or_default())
        }
    }
}

/// Prints credentials that are shown once: JSON as given, or labelled lines with a warning.
pub(crate) fn show_credentials(
    format: Format,
    json: &serde_json::Value,
    lines: &[(&str, &str)],
) -> anyhow::Result<()> {
    match format {
        Format::Json => output::json(json),
        Format::Table => {
            let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in lines {
                println!("  {k:<width$}  {v}");
            }
            println!(
                "These credentials are shown ONCE and cannot be shown again: enrol the TOTP URI \
                 in an authenticator app now and keep the password safe. The password must be \
                 changed at first login (`mynafleet admin password`)."
            );
            Ok(())
        }
    }
}

async fn list(api: &Api) -> anyhow::Result<Vec<pb::Operator>> {
    all_pages(|token| async move {
        let resp = call(|| {
            let mut c = api.operators();
            let r = pb::ListOperatorsRequest {
                parent: api.organization.clone(),
                page_size: 500,
                page_token: token.clone(),
            };
            async move { c.list_operators(r).await }
        })
        .await
        .context("list operators")?;
        Ok((resp.operators, resp.next_page_token))
    })
    .await
}

async fn resolve(api: &Api, arg: &str) -> anyhow::Result<String> {
    if arg.starts_with("organizations/") {
        return Ok(arg.to_owned());
    }
    if uuid::Uuid::parse_str(arg).is_ok() {
        return Ok(format!("{}/operators/{arg}", api.organization));
    }
    let login = arg.trim().to_ascii_lowercase();
    list(api)
        .await?
        .into_iter()
        .find(|o| o.login_id == login)
        .map(|o| o.name)
        .with_context(|| format!("no operator with login id {login}"))
}

fn role_arg(s: &str) -> Result<pb::Role, String> {
    match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
        "org_admin" => Ok(pb::Role::OrgAdmin),
        "clinic_admin" => Ok(pb::Role::ClinicAdmin),
        "auditor" => Ok(pb::Role::Auditor),
        "viewer" => Ok(pb::Role::Viewer),
        _ => Err("org-admin, clinic-admin, auditor or viewer".to_owned()),
    }
}

/// Returns the role as operators write it.
pub(crate) fn role_key(r: pb::Role) -> &'static str {
    match r {
        pb::Role::OrgAdmin => "org_admin",
        pb::Role::ClinicAdmin => "clinic_admin",
        pb::Role::Auditor => "auditor",
        pb::Role::Viewer => "viewer",
        pb::Role::Unspecified => "",
    }
}

fn state_key(s: pb::OperatorState) -> &'static str {
    match s {
        pb::OperatorState::Active => "active",
        pb::OperatorState::Locked => "locked",
        pb::OperatorState::Disabled => "disabled",
        pb::OperatorState::Unspecified => "unspecified",
    }
}

fn state_label(s: pb::OperatorState) -> &'static str {
    match s {
        pb::OperatorState::Active => "有効",
        pb::OperatorState::Locked => "ロック中",
        pb::OperatorState::Disabled => "無効",
        pb::OperatorState::Unspecified => "",
    }
}
