//! `admin clinics create|list|get|update|import`: the organization's clinics, looked up by
//! resource name, id or 機関コード, and the clinic CSV import.

use super::connect::{Api, Ctx, all_pages, call, request_id};
use super::import::{self, Import, RowError};
use super::output::{self, Format, last_segment, yes};
use super::prompt;
use anyhow::{Context as _, bail};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::prost_types::FieldMask;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// `admin clinics …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ClinicsCommand {
    /// Registers a clinic (org_admin).
    Create(CreateArgs),
    /// Lists the clinics the operator may see.
    List,
    /// Shows one clinic.
    Get {
        /// The clinic: 機関コード, 登録記号番号, id or resource name.
        clinic: String,
    },
    /// Changes a clinic's name, 訪問診療等機能, 運用開始日 or bank digits.
    Update(UpdateArgs),
    /// Registers the clinics of a CSV file with the header
    /// `institution_code,kind,name,prefecture,home_visit,registration_number`.
    Import {
        /// The CSV file (UTF-8).
        file: PathBuf,
    },
}

/// Flags of `admin clinics create`.
#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// 10-digit 医療機関コード / 薬局コード (optional for a 施術所 with --registration-number).
    #[arg(long, default_value = "")]
    institution_code: String,
    /// 種別: 医科 (medical), 歯科 (dental), 薬局 (pharmacy), 訪問看護 (home-nursing),
    /// 施術所 (practitioner), 助産所 (midwifery), 健診 (health-checkup).
    #[arg(long, value_parser = kind_arg)]
    kind: pb::ClinicKind,
    /// 機関名.
    #[arg(long)]
    name: String,
    /// 都道府県番号 1–47 (default: from the 機関コード).
    #[arg(long, default_value_t = 0)]
    prefecture: i32,
    /// 訪問診療等機能 on (needed for 医療情報閲覧 accounts).
    #[arg(long)]
    home_visit: bool,
    /// 登録記号番号 of a 施術所.
    #[arg(long, default_value = "")]
    registration_number: String,
    /// Ask for the last 4 digits of the claims bank account (施設の確認 of 利用開始申請).
    #[arg(long)]
    bank_digits: bool,
}

/// Flags of `admin clinics update`.
#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// The clinic: 機関コード, 登録記号番号, id or resource name.
    clinic: String,
    /// New 機関名.
    #[arg(long)]
    name: Option<String>,
    /// 訪問診療等機能: true or false.
    #[arg(long)]
    home_visit: Option<bool>,
    /// 運用開始日, YYYY-MM-DD.
    #[arg(long)]
    operation_start_date: Option<String>,
    /// Ask for new bank-account digits.
    #[arg(long)]
    bank_digits: bool,
}

/// A clinic as printed.
#[derive(Debug, Serialize)]
pub(crate) struct ClinicView {
    name: String,
    kind: &'static str,
    institution_code: String,
    registration_number: String,
    display_name: String,
    prefecture: i32,
    home_visit_enabled: bool,
    operation_start_date: String,
    bank_account_registered: bool,
    warnings: Vec<String>,
    create_time: String,
    update_time: String,
}

impl From<&pb::Clinic> for ClinicView {
    fn from(c: &pb::Clinic) -> Self {
        Self {
            name: c.name.clone(),
            kind: kind_key(c.kind()),
            institution_code: c.institution_code.clone(),
            registration_number: c.registration_number.clone(),
            display_name: c.display_name.clone(),
            prefecture: c.prefecture,
            home_visit_enabled: c.home_visit_enabled,
            operation_start_date: c.operation_start_date.clone(),
            bank_account_registered: c.bank_account_registered,
            warnings: c.warnings.clone(),
            create_time: output::rfc3339(c.create_time.as_ref()),
            update_time: output::rfc3339(c.update_time.as_ref()),
        }
    }
}

const HEADERS: [&str; 8] = [
    "機関コード",
    "機関名",
    "種別",
    "都道府県",
    "訪問診療等",
    "運用開始日",
    "警告",
    "ID",
];

fn row(c: &pb::Clinic) -> [String; 8] {
    [
        shown_code(c),
        c.display_name.clone(),
        kind_label(c.kind()).to_owned(),
        format!("{:02}", c.prefecture),
        yes(c.home_visit_enabled),
        c.operation_start_date.clone(),
        c.warnings.join(", "),
        last_segment(&c.name),
    ]
}

/// Returns the 機関コード, or the 登録記号番号 of a 施術所 without one.
pub(crate) fn shown_code(c: &pb::Clinic) -> String {
    if c.institution_code.is_empty() {
        c.registration_number.clone()
    } else {
        c.institution_code.clone()
    }
}

fn print(ctx: &Ctx, clinics: &[pb::Clinic]) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&clinics.iter().map(ClinicView::from).collect::<Vec<_>>()),
        Format::Table => {
            output::print_table(HEADERS, clinics.iter().map(row).collect());
            Ok(())
        }
    }
}

/// Prints one resource: a table of one row, or a JSON object.
fn print_one(ctx: &Ctx, item: &pb::Clinic) -> anyhow::Result<()> {
    match ctx.format() {
        Format::Json => output::json(&ClinicView::from(item)),
        Format::Table => print(ctx, std::slice::from_ref(item)),
    }
}

/// Runs `admin clinics …`.
pub(crate) async fn run(ctx: &Ctx, command: ClinicsCommand) -> anyhow::Result<ExitCode> {
    let api = ctx.api()?;
    match command {
        ClinicsCommand::Create(a) => {
            let bank = if a.bank_digits {
                prompt::secret("Last 4 digits of the claims bank account").await?
            } else {
                Default::default()
            };
            let request = pb::CreateClinicRequest {
                parent: api.organization.clone(),
                clinic: Some(pb::Clinic {
                    kind: a.kind as i32,
                    institution_code: a.institution_code,
                    registration_number: a.registration_number,
                    display_name: a.name,
                    prefecture: a.prefecture,
                    home_visit_enabled: a.home_visit,
                    bank_account_last4: bank.to_string(),
                    ..Default::default()
                }),
                request_id: request_id(),
            };
            let resp = call(|| {
                let mut c = api.clinics();
                let r = request.clone();
                async move { c.create_clinic(r).await }
            })
            .await
            .context("create clinic")?;
            let clinic = resp.clinic.unwrap_or_default();
            warn_code(&clinic);
            print_one(ctx, &clinic)?;
        }
        ClinicsCommand::List => print(ctx, &list(&api).await?)?,
        ClinicsCommand::Get { clinic } => {
            let name = resolve(&api, &clinic).await?;
            let resp = call(|| {
                let mut c = api.clinics();
                let r = pb::GetClinicRequest { name: name.clone() };
                async move { c.get_clinic(r).await }
            })
            .await?;
            print_one(ctx, &resp.clinic.unwrap_or_default())?;
        }
        ClinicsCommand::Update(a) => {
            let name = resolve(&api, &a.clinic).await?;
            let mut clinic = pb::Clinic {
                name,
                ..Default::default()
            };
            let mut paths = Vec::new();
            if let Some(n) = a.name {
                clinic.display_name = n;
                paths.push("display_name".to_owned());
            }
            if let Some(h) = a.home_visit {
                clinic.home_visit_enabled = h;
                paths.push("home_visit_enabled".to_owned());
            }
            if let Some(d) = a.operation_start_date {
                clinic.operation_start_date = d;
                paths.push("operation_start_date".to_owned());
            }
            if a.bank_digits {
                clinic.bank_account_last4 =
                    prompt::secret("Last 4 digits of the claims bank account")
                        .await?
                        .to_string();
                paths.push("bank_account_last4".to_owned());
            }
            if paths.is_empty() {
                bail!(
                    "nothing to change: give --name, --home-visit, --operation-start-date or --bank-digits"
                );
            }
            let request = pb::UpdateClinicRequest {
                clinic: Some(clinic),
                update_mask: Some(FieldMask { paths }),
                request_id: request_id(),
            };
            let resp = call(|| {
                let mut c = api.clinics();
                let r = request.clone();
                async move { c.update_clinic(r).await }
            })
            .await
            .context("update clinic")?;
            print_one(ctx, &resp.clinic.unwrap_or_default())?;
        }
        ClinicsCommand::Import { file } => return import_clinics(ctx, &api, &file).await,
    }
    Ok(ExitCode::SUCCESS)
}

fn warn_code(c: &pb::Clinic) {
    for w in &c.warnings {
        eprintln!(
            "warning: {} {w} (recorded; the clinic was registered)",
            shown_code(c)
        );
    }
}

/// Returns every clinic the operator may see.
pub(crate) async fn list(api: &Api) -> anyhow::Result<Vec<pb::Clinic>> {
    all_pages(|token| async move {
        let resp = call(|| {
            let mut c = api.clinics();
            let r = pb::ListClinicsRequest {
                parent: api.organization.clone(),
                page_size: 500,
                page_token: token.clone(),
            };
            async move { c.list_clinics(r).await }
        })
        .await
        .context("list clinics")?;
        Ok((resp.clinics, resp.next_page_token))
    })
    .await
}

/// Returns the resource name of the clinic `arg` names: a resource name, a clinic id, or a
/// 機関コード / 登録記号番号 looked up among the organization's clinics.
pub(crate) async fn resolve(api: &Api, arg: &str) -> anyhow::Result<String> {
    if arg.starts_with("organizations/") {
        return Ok(arg.to_owned());
    }
    if uuid::Uuid::parse_str(arg).is_ok() {
        return Ok(format!("{}/clinics/{arg}", api.organization));
    }
    let clinics = list(api).await?;
    find(&clinics, arg)
        .map(|c| c.name.clone())
        .with_context(|| format!("no clinic of the organization has 機関コード {arg}"))
}

/// Returns the clinic whose 機関コード or 登録記号番号 is `code` (full-width digits and
/// hyphens allowed).
pub(crate) fn find<'a>(clinics: &'a [pb::Clinic], code: &str) -> Option<&'a pb::Clinic> {
    let key = normalize_code(code);
    if key.is_empty() {
        return None;
    }
    clinics.iter().find(|c| {
        normalize_code(&c.institution_code) == key || normalize_code(&c.registration_number) == key
    })
}

/// Folds full-width digits and letters to ASCII, drops hyphens and spaces, upper-cases.
pub(crate) fn normalize_code(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = match c {
                '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                    char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
                }
                _ => c,
            };
            match c {
                '-' | '‐' | '－' | 'ー' | '−' | ' ' | '\u{3000}' => None,
                c => Some(c.to_ascii_uppercase()),
            }
        })
        .collect()
}

fn kind_arg(s: &str) -> Result<pb::ClinicKind, String> {
    parse_kind(s).ok_or_else(|| {
        "one of 医科 歯科 薬局 訪問看護 施術所 助産所 健診 (or medical, dental, pharmacy, \
         home-nursing, practitioner, midwifery, health-checkup)"
            .to_owned()
    })
}

/// Parses a clinic kind written in Japanese or English.
pub(crate) fn parse_kind(s: &str) -> Option<pb::ClinicKind> {
    use pb::ClinicKind as K;
    Some(
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "医科" | "medical" => K::Medical,
            "歯科" | "dental" => K::Dental,
            "薬局" | "pharmacy" => K::Pharmacy,
            "訪問看護" | "home_nursing" => K::HomeNursing,
            "施術所" | "practitioner" => K::Practitioner,
            "助産所" | "midwifery" => K::Midwifery,
            "健診" | "health_checkup" => K::HealthCheckup,
            _ => return None,
        },
    )
}

/// Returns the kind's Japanese label.
pub(crate) fn kind_label(k: pb::ClinicKind) -> &'static str {
    use pb::ClinicKind as K;
    match k {
        K::Medical => "医科",
        K::Dental => "歯科",
        K::Pharmacy => "薬局",
        K::HomeNursing => "訪問看護",
        K::Practitioner => "施術所",
        K::Midwifery => "助産所",
        K::HealthCheckup => "健診",
        K::Unspecified => "",
    }
}

fn kind_key(k: pb::ClinicKind) -> &'static str {
    use pb::ClinicKind as K;
    match k {
        K::Medical => "medical",
        K::Dental => "dental",
        K::Pharmacy => "pharmacy",
        K::HomeNursing => "home_nursing",
        K::Practitioner => "practitioner",
        K::Midwifery => "midwifery",
        K::HealthCheckup => "health_checkup",
        K::Unspecified => "unspecified",
    }
}

/// The columns of the clinic CSV.
const COLUMNS: &[&str] = &[
    "institution_code",
    "kind",
    "name",
    "prefecture",
    "home_visit",
    "registration_number",
];

/// Maps the server's field violations to the CSV's columns.
fn column_of(field: &str) -> &str {
    match field {
        "clinic.institution_code" => "institution_code",
        "clinic.kind" => "kind",
        "clinic.display_name" => "name",
        "clinic.prefecture" => "prefecture",
        "clinic.home_visit_enabled" => "home_visit",
        "clinic.registration_number" => "registration_number",
        "INSTITUTION_CODE_TAKEN" => "institution_code",
        other => other,
    }
}

async fn import_clinics(ctx: &Ctx, api: &Api, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    let mut job = Import::open(file, "clinics", COLUMNS, &["kind", "name"])?;
    let mut created = Vec::new();
    for row in job.rows() {
        job.progress.inc(1);
        let mut bad = Vec::new();
        let kind = match parse_kind(row.get("kind")) {
            Some(k) => k,
            None => {
                bad.push(RowError::new(
                    row.line,
                    "kind",
                    "must be one of 医科 歯科 薬局 訪問看護 施術所 助産所 健診",
                ));
                pb::ClinicKind::Unspecified
            }
        };
        let prefecture = match row.get("prefecture").trim() {
            "" => 0,
            p => p.parse::<i32>().unwrap_or_else(|_| {
                bad.push(RowError::new(
                    row.line,
                    "prefecture",
                    "must be a number 1–47",
                ));
                0
            }),
        };
        let home_visit = import::parse_flag(row.get("home_visit")).unwrap_or_else(|| {
            bad.push(RowError::new(
                row.line,
                "home_visit",
                "must be 1/0, true/false, yes/no or 有/無",
            ));
            false
        });
        if !bad.is_empty() {
            job.failed(bad);
            continue;
        }
        let request = pb::CreateClinicRequest {
            parent: api.organization.clone(),
            clinic: Some(pb::Clinic {
                kind: kind as i32,
                institution_code: row.get("institution_code").trim().to_owned(),
                registration_number: row.get("registration_number").trim().to_owned(),
                display_name: row.get("name").trim().to_owned(),
                prefecture,
                home_visit_enabled: home_visit,
                ..Default::default()
            }),
            request_id: job.request_id(row.line),
        };
        let result = super::connect::try_call(|| {
            let mut c = api.clinics();
            let r = request.clone();
            async move { c.create_clinic(r).await }
        })
        .await;
        match result {
            Ok(resp) => created.push(resp.clinic.unwrap_or_default()),
            Err(status) => {
                if !job.refused(row.line, status, column_of) {
                    break;
                }
            }
        }
    }
    job.progress.finish_and_clear();
    if ctx.format() == Format::Table && !created.is_empty() {
        println!("registered clinics:");
        print(ctx, &created)?;
    }
    let json = serde_json::to_value(created.iter().map(ClinicView::from).collect::<Vec<_>>())?;
    job.finish(ctx.format(), created.len(), json)
}

#[cfg(test)]
mod tests;
