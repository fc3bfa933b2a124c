//! How a terminal is printed: the JSON view, the list row and the detail lines of `admin
//! devices list` and `get`, with the presence proxies report (connected or not, readers and
//! the card on each, last scan, agent version) beside its status and certificate expiry. It
//! never calls a service.

use crate::admin::output::{self, last_segment};
use mynafleet_proto::activation::v1 as pb;
use serde::Serialize;

/// A terminal's presence as printed.
#[derive(Debug, Serialize)]
pub(super) struct PresenceView {
    online: bool,
    readers: Vec<ReaderView>,
    last_scan_time: String,
    agent_version: String,
    report_time: String,
    proxy: String,
}

/// One reader of a terminal as printed.
#[derive(Debug, Serialize)]
struct ReaderView {
    name: String,
    card_present: bool,
}

impl From<&pb::DevicePresence> for PresenceView {
    fn from(p: &pb::DevicePresence) -> Self {
        Self {
            online: p.online,
            readers: p
                .readers
                .iter()
                .map(|r| ReaderView {
                    name: r.name.clone(),
                    card_present: r.card_present,
                })
                .collect(),
            last_scan_time: output::rfc3339(p.last_scan_time.as_ref()),
            agent_version: p.agent_version.clone(),
            report_time: output::rfc3339(p.report_time.as_ref()),
            proxy: p.proxy.clone(),
        }
    }
}

/// A terminal as printed.
#[derive(Debug, Serialize)]
pub(super) struct DeviceView {
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
    /// What the proxies last saw of its agent; `null` before its first event stream.
    presence: Option<PresenceView>,
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
            presence: d.presence.as_ref().map(PresenceView::from),
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

/// The mark of a connected terminal (an agent's event stream is open at a proxy).
pub(super) const ONLINE: &str = "●";
/// The mark of a terminal whose agent is not connected.
pub(super) const OFFLINE: &str = "○";
/// What follows the name of a reader with a card on it.
pub(super) const CARD: &str = " [カード]";

/// Returns ● or ○, or "" for a terminal never reported.
fn online(d: &pb::Device) -> String {
    match &d.presence {
        Some(p) if p.online => ONLINE.to_owned(),
        Some(_) => OFFLINE.to_owned(),
        None => String::new(),
    }
}

/// Returns the readers, each with the card mark when a card is on it: as reported with the
/// presence, else as the terminal reported them at activation.
fn readers(d: &pb::Device) -> String {
    match &d.presence {
        Some(p) => p
            .readers
            .iter()
            .map(|r| {
                if r.card_present {
                    format!("{}{CARD}", r.name)
                } else {
                    r.name.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
        None => d.facts.clone().unwrap_or_default().readers.join(", "),
    }
}

/// Returns the agent version: the latest reported one, else the one from activation.
fn agent(d: &pb::Device) -> String {
    d.presence
        .as_ref()
        .map(|p| p.agent_version.clone())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| d.facts.clone().unwrap_or_default().agent_version)
}

/// The headers of `admin devices list`.
pub(super) const HEADERS: [&str; 10] = [
    "端末ID",
    "機関コード",
    "アカウントID",
    "状態",
    "接続",
    "リーダー",
    "最終スキャン",
    "エージェント",
    "証明書有効期限",
    "最終接続",
];

/// Returns the list row of a terminal.
pub(super) fn row(d: &pb::Device) -> [String; 10] {
    let last_scan = d.presence.as_ref().and_then(|p| p.last_scan_time.as_ref());
    [
        last_segment(&d.name),
        d.institution_code.clone(),
        last_segment(&d.account),
        status_label(d.status()).to_owned(),
        online(d),
        readers(d),
        output::local(last_scan),
        agent(d),
        output::local(d.certificate_expire_time.as_ref()),
        output::local(d.last_seen_time.as_ref()),
    ]
}

/// Returns the detail lines of one terminal: (項目, 値).
pub(super) fn details(d: &pb::Device) -> Vec<[String; 2]> {
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
    let connection = match &d.presence {
        Some(p) => format!(
            "{} {} ({} {})",
            online(d),
            if p.online { "接続中" } else { "未接続" },
            output::local(p.report_time.as_ref()),
            p.proxy
        ),
        None => "報告なし".to_owned(),
    };
    let last_scan = d.presence.as_ref().and_then(|p| p.last_scan_time.as_ref());
    [
        ("端末", d.name.clone()),
        ("アカウント", d.account.clone()),
        ("機関コード", d.institution_code.clone()),
        ("状態", status),
        ("状態変更日時", output::local(d.status_time.as_ref())),
        ("接続", connection),
        ("リーダー", readers(d)),
        ("最終スキャン", output::local(last_scan)),
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
        ("エージェント", agent(d)),
        ("アクティベーションコード", last_segment(&d.activation_code)),
    ]
    .into_iter()
    .map(|(k, v)| [k.to_owned(), v])
    .collect()
}
