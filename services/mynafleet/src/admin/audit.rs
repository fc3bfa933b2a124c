//! `admin audit list`: the organization's audit records, newest first (auditor, org_admin).

use super::connect::{Ctx, call};
use super::output::{self, Format};
use anyhow::Context as _;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::audit::v1 as audit_pb;
use serde::Serialize;

/// `admin audit …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AuditCommand {
    /// Lists audit records, newest first.
    List {
        /// Only records of this action, for example session.login.
        #[arg(long, default_value = "")]
        action: String,
        /// At most this many records (default: all).
        #[arg(long)]
        limit: Option<usize>,
    },
}

/// An audit record as printed.
#[derive(Debug, Serialize)]
struct RecordView {
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
            outcome: outcome_key(r.outcome()),
            reason: r.reason.clone(),
            source_address: r.source_address.clone(),
            request_id: r.request_id.clone(),
            auth_method: r.auth_method.clone(),
            producer: r.producer.clone(),
        }
    }
}

fn outcome_key(o: audit_pb::Outcome) -> &'static str {
    match o {
        audit_pb::Outcome::Success => "success",
        audit_pb::Outcome::Failure => "failure",
        audit_pb::Outcome::Denied => "denied",
        audit_pb::Outcome::Unspecified => "",
    }
}

/// Runs `admin audit …`.
pub(crate) async fn run(ctx: &Ctx, command: AuditCommand) -> anyhow::Result<()> {
    let api = ctx.api()?;
    let AuditCommand::List { action, limit } = command;
    // Reading is itself audited, so pages stop as soon as the limit is met.
    let mut records = Vec::new();
    let mut token = String::new();
    loop {
        let resp = call(|| {
            let mut c = api.audit();
            let r = pb::ListAuditRecordsRequest {
                parent: api.organization.clone(),
                page_size: 500,
                page_token: token.clone(),
                action: action.clone(),
                ..Default::default()
            };
            async move { c.list_audit_records(r).await }
        })
        .await
        .context("list audit records")?;
        records.extend(resp.records);
        if limit.is_some_and(|n| records.len() >= n) || resp.next_page_token.is_empty() {
            break;
        }
        token = resp.next_page_token;
    }
    if let Some(n) = limit {
        records.truncate(n);
    }
    match ctx.format() {
        Format::Json => output::json(&records.iter().map(RecordView::from).collect::<Vec<_>>()),
        Format::Table => {
            output::print_table(
                [
                    "日時",
                    "操作者",
                    "役割",
                    "操作",
                    "対象",
                    "結果",
                    "理由",
                    "送信元",
                ],
                records
                    .iter()
                    .map(|r| {
                        [
                            output::local(r.time.as_ref()),
                            if r.actor.is_empty() {
                                r.actor_kind.clone()
                            } else {
                                r.actor.clone()
                            },
                            r.actor_role.clone(),
                            r.action.clone(),
                            r.target.clone(),
                            outcome_key(r.outcome()).to_owned(),
                            r.reason.clone(),
                            r.source_address.clone(),
                        ]
                    })
                    .collect(),
            );
            Ok(())
        }
    }
}
