//! `ActivationInternalService`: what other MynaFleet services ask activation — the device
//! status watch and look-up the eligibility proxies use, code issue for the account
//! service, and the presence reports proxies send for the fleet view (`super::presence`).
//! Services only: the frame admits only internal-CA callers, and every handler checks again.
//! It never changes a device's status.
//!
//! The watch replays `device_events` after the resume token, then polls the table every
//! 200 ms and sends a heartbeat (no change, same token) when nothing was sent for 300 ms, so
//! a quiet stream shows it is alive at least every 500 ms. With an empty token and
//! `start_at_head`, it starts after the newest change and says so at once with a heartbeat
//! carrying the head's token. It ends when the client goes away or the server shuts down.

use super::devices::{DeviceName, cause_to_pb, status_to_pb};
use super::{Api, ts};
use crate::error::{Error, Result};
use crate::store::events::{self, StatusEvent};
use mynafleet_kit::auth::Caller;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::activation_internal_service_server::ActivationInternalService;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

/// How often the watch looks for new changes.
const POLL: Duration = Duration::from_millis(200);
/// How long the watch stays silent before a heartbeat (plus at most one poll: < 500 ms).
const HEARTBEAT_AFTER: Duration = Duration::from_millis(300);
/// Changes read per query.
const BATCH: u32 = 100;
/// The page-token tag of resume tokens.
const RESUME_TAG: &str = "device_events";

/// Returns the resume token for "after change `seq`".
fn resume_token(seq: i64) -> String {
    mynafleet_kit::page::encode_token(RESUME_TAG, &seq.to_string())
}

/// Parses a resume token: `None` for an empty one.
fn parse_resume_token(token: &str) -> Result<Option<i64>> {
    match mynafleet_kit::page::decode_token(RESUME_TAG, token) {
        Ok(None) => Ok(None),
        Ok(Some(seq)) => seq
            .parse::<i64>()
            .ok()
            .filter(|s| *s >= 0)
            .map(Some)
            .ok_or(Error::ResumeTokenInvalid),
        Err(()) => Err(Error::ResumeTokenInvalid),
    }
}

/// Returns the wire form of a logged change.
fn change_to_pb(e: &StatusEvent) -> pb::DeviceStatusChange {
    pb::DeviceStatusChange {
        device: e.device_name(),
        account: e.account_name(),
        status: status_to_pb(e.status).into(),
        cause: cause_to_pb(e.cause).into(),
        time: Some(ts(e.time)),
    }
}

/// Admits MynaFleet services only.
fn require_service<T>(req: &Request<T>) -> Result<()> {
    match Caller::of(req) {
        Some(Caller::Service { .. }) => Ok(()),
        Some(Caller::Operator(_) | Caller::Device(_)) | None => Err(Error::RoleRefused),
    }
}

type WatchItem = Result<pb::WatchDeviceStatusResponse, Status>;

impl Api {
    /// Feeds `tx` with changes after `after`, then live ones and heartbeats, until the
    /// client goes away or the server shuts down.
    async fn pump_status(self, mut after: i64, at_head: bool, tx: mpsc::Sender<WatchItem>) {
        let shutdown = self.shutdown.clone();
        let send = |msg: WatchItem| {
            let tx = tx.clone();
            let shutdown = shutdown.clone();
            async move {
                tokio::select! {
                    sent = tx.send(msg) => sent.is_ok(),
                    () = shutdown.cancelled() => false,
                }
            }
        };
        let heartbeat = |after: i64| pb::WatchDeviceStatusResponse {
            change: None,
            resume_token: resume_token(after),
        };
        let mut last_sent: Option<Instant> = None;
        if at_head {
            // The caller learns where it stands before anything else.
            if !send(Ok(heartbeat(after))).await {
                return;
            }
            last_sent = Some(Instant::now());
        }
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = tx.closed() => return,
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            loop {
                let batch = match events::after(&self.pool, after, BATCH).await {
                    Ok(b) => b,
                    Err(e) => {
                        send(Err(e.into())).await;
                        return;
                    }
                };
                for event in &batch {
                    let msg = pb::WatchDeviceStatusResponse {
                        change: Some(change_to_pb(event)),
                        resume_token: resume_token(event.seq),
                    };
                    if !send(Ok(msg)).await {
                        return;
                    }
                    last_sent = Some(Instant::now());
                    after = event.seq;
                }
                if batch.len() < BATCH as usize {
                    break;
                }
            }
            // With nothing sent yet (an empty replay), the first heartbeat goes out at once.
            if last_sent.is_none_or(|t| t.elapsed() >= HEARTBEAT_AFTER) {
                if !send(Ok(heartbeat(after))).await {
                    return;
                }
                last_sent = Some(Instant::now());
            }
        }
    }
}

#[tonic::async_trait]
impl ActivationInternalService for Api {
    async fn issue_activation_codes(
        &self,
        req: Request<pb::IssueActivationCodesRequest>,
    ) -> Result<Response<pb::IssueActivationCodesResponse>, Status> {
        require_service(&req)?;
        super::codes::issue_for_accounts(self, req).await
    }

    async fn get_device_status(
        &self,
        req: Request<pb::GetDeviceStatusRequest>,
    ) -> Result<Response<pb::GetDeviceStatusResponse>, Status> {
        require_service(&req)?;
        let name = DeviceName::parse(&req.get_ref().device, "device")?;
        let d = name.check(
            crate::store::devices::get_device(&self.pool, &name.organization, &name.id).await?,
        )?;
        Ok(Response::new(pb::GetDeviceStatusResponse {
            status: Some(pb::DeviceStatusChange {
                device: d.name(),
                account: d.account_name(),
                status: status_to_pb(d.status).into(),
                cause: cause_to_pb(d.status_cause).into(),
                time: Some(ts(d.status_time)),
            }),
        }))
    }

    type WatchDeviceStatusStream = ReceiverStream<WatchItem>;

    async fn watch_device_status(
        &self,
        req: Request<pb::WatchDeviceStatusRequest>,
    ) -> Result<Response<Self::WatchDeviceStatusStream>, Status> {
        require_service(&req)?;
        let msg = req.get_ref();
        let (after, at_head) = match parse_resume_token(&msg.resume_token)? {
            Some(seq) => (seq, false),
            None if msg.start_at_head => (events::head(&self.pool).await?, true),
            None => (0, false),
        };
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(self.clone().pump_status(after, at_head, tx));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn report_presence(
        &self,
        req: Request<pb::ReportPresenceRequest>,
    ) -> Result<Response<pb::ReportPresenceResponse>, Status> {
        require_service(&req)?;
        super::presence::report(self, req.get_ref()).await?;
        Ok(Response::new(pb::ReportPresenceResponse {}))
    }
}

#[cfg(test)]
mod tests;
