//! `ReportPresence` and the presence half of `Device`: a proxy tells activation what it sees
//! of a device's agent (stream open or closed, readers, card present, last scan, version),
//! and `ListDevices` / `GetDevice` show the report kept. Services only; it never changes a
//! device's status and never trusts a terminal's text unbounded.

use super::devices::DeviceName;
use super::{Api, ts};
use crate::error::{Error, Result};
use crate::presence::{DevicePresence, PresenceReader};
use crate::store::presence::{self, Recorded};
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::prost_types::Timestamp;

/// Returns the wire form of a kept presence.
pub(super) fn presence_to_pb(p: &DevicePresence) -> pb::DevicePresence {
    pb::DevicePresence {
        online: p.online,
        readers: p
            .readers
            .iter()
            .map(|r| pb::DeviceReader {
                name: r.name.clone(),
                card_present: r.card_present,
            })
            .collect(),
        last_scan_time: p.last_scan_time.map(ts),
        agent_version: p.agent_version.clone(),
        report_time: Some(ts(p.report_time)),
        proxy: p.proxy.clone(),
    }
}

/// Returns `t` in microseconds since the epoch, `None` when it is not a valid timestamp.
fn micros(t: &Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return None;
    }
    t.seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(t.nanos / 1000))
}

/// Parses a reported presence (cleaned and bounded).
pub(super) fn presence_from_pb(p: Option<&pb::DevicePresence>) -> Result<DevicePresence> {
    let p = p.ok_or_else(|| Error::field("presence", "is required"))?;
    let report_time = p
        .report_time
        .as_ref()
        .ok_or_else(|| Error::field("presence.report_time", "is required"))?;
    let report_time = micros(report_time)
        .ok_or_else(|| Error::field("presence.report_time", "must be a valid time"))?;
    let last_scan_time = match &p.last_scan_time {
        None => None,
        Some(t) => Some(
            micros(t)
                .ok_or_else(|| Error::field("presence.last_scan_time", "must be a valid time"))?,
        ),
    };
    Ok(DevicePresence {
        online: p.online,
        readers: p
            .readers
            .iter()
            .map(|r| PresenceReader {
                name: r.name.clone(),
                card_present: r.card_present,
            })
            .collect(),
        last_scan_time,
        agent_version: p.agent_version.clone(),
        report_time,
        proxy: p.proxy.clone(),
    }
    .bounded())
}

/// Records a proxy's report of a device's presence; `DeviceNotFound` for a device the
/// registry does not hold. A report older than the kept one is accepted and changes nothing
/// but the device's last-seen time.
pub(super) async fn report(api: &Api, req: &pb::ReportPresenceRequest) -> Result<()> {
    let name = DeviceName::parse(&req.device, "device")?;
    let p = presence_from_pb(req.presence.as_ref())?;
    let recorded =
        presence::record(&api.pool, &name.organization, &name.clinic, &name.id, &p).await?;
    tracing::debug!(
        device = %req.device,
        online = p.online,
        readers = p.readers.len(),
        proxy = %p.proxy,
        stale = recorded == Recorded::Stale,
        "presence reported"
    );
    Ok(())
}

#[cfg(test)]
mod tests;
