//! `admin audit search` (alias `list`): the organization's audit records, newest first, by
//! time range, actor, action, clinic, device, outcome and patient, as a table (Japan time)
//! or JSON. The patient's 保険者番号/記号/番号/枝番 go to the server, which computes the keyed
//! reference; they are never printed, logged or written to a file here.

use crate::admin::clinics;
use crate::admin::connect::{Ctx, call};
use crate::admin::output::{self, Format, last_segment};
use anyhow::Context as _;
use mynafleet_kit::audit_chain::wire::outcome_name;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::audit::v1 as audit_pb;
use mynafleet_proto::prost_types::Timestamp;
use serde::Serialize;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

/// The outcome filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OutcomeArg {
    /// The action succeeded.
    Success,
    /// The action failed.
    Failure,
    /// The action was refused (permission).
    Denied,
}

impl From<OutcomeArg> for audit_pb::Outcome {
    fn from(o: OutcomeArg) -> Self {
        match o {
            OutcomeArg::Success => audit_pb::Outcome::Success,
            OutcomeArg::Failure => audit_pb::Outcome::Failure,
            OutcomeArg::Denied => audit_pb::Outcome::Denied,
        }
    }
}

/// `admin audit search`.
#[derive(Debug, clap::Args)]
pub(crate) struct SearchArgs {
    /// Only records at or after TIME: RFC 3339 (2026-11-21T09:00:00+09:00) or a date
    /// (2026-11-21, from midnight Japan time).
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    since: Option<OffsetDateTime>,
    /// Only records before TIME: RFC 3339, or a date, which includes that whole day (up to
    /// the next midnight Japan time).
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    until: Option<OffsetDateTime>,
    /// Only records of this actor: an operator, device or service resource name, or a
    /// login id.
    #[arg(long)]
    actor: Option<String>,
    /// Only records of this action, for example session.login.
    #[arg(long)]
    action: Option<String>,
    /// Only records concerning this clinic: 機関コード, 登録記号番号, id or resource name.
    #[arg(long)]
    clinic: Option<String>,
    /// Only records a terminal made or that acted on it: its device id or `devices/{id}`.
    #[arg(long)]
    device: Option<String>,
    /// Only records with this outcome.
    #[arg(long, value_enum)]
    outcome: Option<OutcomeArg>,
    /// Only records about this patient: the 保険者番号 (with --patient-number).
    #[arg(long, value_name = "N", requires = "patient_number")]
    patient_insurer: Option<String>,
    /// The patient's 番号 (with --patient-insurer).
    #[arg(long, value_name = "N", requires = "patient_insurer")]
    patient_number: Option<String>,
    /// The patient's 記号, when the card has one.
    #[arg(long, value_name = "S", requires = "patient_insurer")]
    patient_symbol: Option<String>,
    /// The patient's 枝番, when the card has one.
    #[arg(long, value_name = "B", requires = "patient_insurer")]
    patient_branch: Option<String>,
    /// At most this many records (default: all).
    #[arg(long)]
    limit: Option<usize>,
}

/// Parses a date as midnight Japan time, or RFC 3339.
fn parse_time(text: &str, day_end: bool) -> Result<OffsetDateTime, String> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Ok(t);
    }
    let date =
        time::Date::parse(text, format_description!("[year]-[month]-[day]")).map_err(|_| {
            "expected RFC 3339 (2026-11-21T09:00:00+09:00) or a date (2026-11-21)".to_owned()
        })?;
    let date = if day_end {
        date.next_day().ok_or("date out of range")?
    } else {
        date
    };
    Ok(date.midnight().assume_offset(offset!(+9)))
}

/// Parses `--since`.
pub(crate) fn parse_since(text: &str) -> Result<OffsetDateTime, String> {
    parse_time(text, false)
}

/// Parses `--until`.
pub(crate) fn parse_until(text: &str) -> Result<OffsetDateTime, String> {
    parse_time(text, true)
}

fn wire_time(t: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
}

/// Returns `devices/{id}` for a bare device id.
fn device_name(arg: &str) -> String {
    let arg = arg.trim();
    if arg.contains('/') {
        arg.to_owned()
    } else {
        format!("devices/{arg}")
    }
}

/// An audit record as printed.
#[derive(Debug, Serialize)]
pub(crate) struct RecordView {
    id: String,
    time: String,
    actor: String,
    actor_kind: String,
    actor_role: String,
    action: String,
    action_code: String,
    target: String,
    clinic: String,
    outcome: &'static str,
    reason: String,
    source_address: String,
    request_id: String,
    auth_method: String,
    producer: String,
    /// The keyed patient reference (never a clear identifier) and its key id.
    patient_ref: String,
    patient_ref_key_id: String,
    detail: std::collections::BTreeMap<String, String>,
}

impl From<&audit_pb::AuditRecord> for RecordView {
    fn from(r: &audit_pb::AuditRecord) -> Self {
        Self {
            id: r.id.clone(),
            time: output::rfc3339(r.time.as_ref()),
            actor: r.actor.clone(),
            actor_kind: r.actor_kind.clone(),
            actor_role: r.actor_role.clone(),
            action: r.action.clone(),
            action_code: r.action_code.clone(),
            target: r.target.clone(),
            clinic: r.clinic.clone(),
            outcome: outcome_name(r.outcome()),
            reason: r.reason.clone(),
            source_address: r.source_address.clone(),
            request_id: r.request_id.clone(),
            auth_method: r.auth_method.clone(),
            producer: r.producer.clone(),
            patient_ref: r.patient_ref.clone(),
            patient_ref_key_id: r.patient_ref_key_id.clone(),
            detail: r
                .detail
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// The table's headers.
const HEADERS: [&str; 7] = ["日時", "操作者", "操作", "対象", "結果", "理由", "医療機関"];

/// Returns the table row of `r`.
pub(crate) fn row(r: &audit_pb::AuditRecord) -> [String; 7] {
    [
        output::local(r.time.as_ref()),
        if r.actor.is_empty() {
            r.actor_kind.clone()
        } else {
            r.actor.clone()
        },
        r.action.clone(),
        r.target.clone(),
        outcome_name(r.outcome()).to_owned(),
        r.reason.clone(),
        if r.clinic.is_empty() {
            String::new()
        } else {
            last_segment(&r.clinic)
        },
    ]
}

/// Runs `admin audit search`.
pub(crate) async fn run(ctx: &Ctx, args: SearchArgs) -> anyhow::Result<()> {
    let api = ctx.api()?;
    let clinic = match args.clinic.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(c) => clinics::resolve(&api, c).await?,
    };
    let patient = args
        .patient_insurer
        .as_ref()
        .map(|insurer| pb::PatientFilter {
            insurer_number: insurer.clone(),
            symbol: args.patient_symbol.clone().unwrap_or_default(),
            number: args.patient_number.clone().unwrap_or_default(),
            branch: args.patient_branch.clone().unwrap_or_default(),
        });
    let base = pb::ListAuditRecordsRequest {
        parent: api.organization.clone(),
        page_size: 500,
        action: args.action.clone().unwrap_or_default(),
        start_time: args.since.map(wire_time),
        end_time: args.until.map(wire_time),
        actor: args.actor.clone().unwrap_or_default(),
        clinic,
        device: args.device.as_deref().map(device_name).unwrap_or_default(),
        outcome: args
            .outcome
            .map_or(audit_pb::Outcome::Unspecified, Into::into)
            .into(),
        patient,
        ..Default::default()
    };
    // Reading is itself audited, so pages stop as soon as the limit is met.
    let mut records = Vec::new();
    let mut token = String::new();
    loop {
        let resp = call(|| {
            let mut c = api.audit();
            let r = pb::ListAuditRecordsRequest {
                page_token: token.clone(),
                page_size: args
                    .limit
                    .map_or(500, |n| i32::try_from(n.clamp(1, 500)).unwrap_or(500)),
                ..base.clone()
            };
            async move { c.list_audit_records(r).await }
        })
        .await
        .context("search audit records")?;
        records.extend(resp.records);
        if args.limit.is_some_and(|n| records.len() >= n) || resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    if let Some(n) = args.limit {
        records.truncate(n);
    }
    match ctx.format() {
        Format::Json => output::json(&records.iter().map(RecordView::from).collect::<Vec<_>>()),
        Format::Table => {
            output::print_table(HEADERS, records.iter().map(row).collect());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
