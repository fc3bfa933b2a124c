//! What `mynafleet-agent status` prints: who the terminal is, where its servers are, and how
//! long its certificate lasts. Pure formatting over the state directory's contents; it never
//! prints key material or anything about a person.

use std::fmt::{self, Write};
use std::path::Path;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::certificate::CertificateInfo;
use crate::renewal::renewal_due;
use crate::state::IdentityRecord;

#[cfg(test)]
mod tests;

/// Formats a duration the way people read it: `2d 3h`, `16h 48m`, `5m 3s`, `7s`.
#[derive(Clone, Copy, Debug)]
pub struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        let (d, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
        match (d, h, m) {
            (0, 0, 0) => write!(f, "{sec}s"),
            (0, 0, _) => write!(f, "{m}m {sec}s"),
            (0, _, _) => write!(f, "{h}h {m}m"),
            _ => write!(f, "{d}d {h}h"),
        }
    }
}

const LABEL_COLUMNS: usize = 12;

/// Returns the status report of an activated terminal at `now`.
pub fn render(
    record: &IdentityRecord,
    certificate: &CertificateInfo,
    state_dir: &Path,
    now: OffsetDateTime,
) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: &dyn fmt::Display| {
        // Kanji take two columns on a terminal; pad by columns so the values line up.
        let columns: usize = label
            .chars()
            .map(|c| if c.is_ascii() { 1 } else { 2 })
            .sum();
        let pad = LABEL_COLUMNS.saturating_sub(columns);
        let _ = writeln!(out, "{label}{:pad$} {value}", "");
    };
    line("device", &record.device);
    line("account", &record.account);
    line("機関コード", &record.institution_code);
    line("機関名", &record.institution_name);
    line("server", &record.activation_url);
    let proxies = match record.proxy_urls.as_slice() {
        [] => "(none)".to_owned(),
        urls => urls.join(", "),
    };
    line("proxies", &proxies);
    line(
        "certificate",
        &format_args!("serial {}", certificate.serial),
    );
    line(
        "expires",
        &format_args!(
            "{} ({})",
            rfc3339(certificate.not_after),
            lifetime(record, certificate, now)
        ),
    );
    line("state dir", &state_dir.display());
    out
}

fn lifetime(record: &IdentityRecord, certificate: &CertificateInfo, now: OffsetDateTime) -> String {
    let since = |t: OffsetDateTime| Human(Duration::try_from(now - t).unwrap_or_default());
    let until = |t: OffsetDateTime| Human(Duration::try_from(t - now).unwrap_or_default());
    if now >= certificate.not_after {
        return format!(
            "expired {} ago; run `mynafleet-agent activate` with a new code",
            since(certificate.not_after)
        );
    }
    let due = renewal_due(record.issued_at, certificate.not_after, 0.0);
    if now >= due {
        format!(
            "renewal due; `mynafleet-agent run` renews it, expires in {}",
            until(certificate.not_after)
        )
    } else {
        format!("renews in about {}", until(due))
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}
