//! The proxy's gRPC edge: access table and tonic trait impls. Every `AgentService` handler
//! passes the device gate first ([`crate::gate::Gate::check`]); nothing here decides a
//! refusal or a status code itself.

mod eligibility;
mod events;

pub(crate) use eligibility::Eligibility;

use crate::error::Error;
use crate::gate::{Admitted, Gate};
use mynafleet_kit::auth::{AccessPolicy, Caller, CallerKind, DeviceIdentity};
use mynafleet_kit::clock::Clock;
use mynafleet_kit::grpc::Frame;
use mynafleet_kit::tls::ServerTls;
use mynafleet_proto::activation::v1::DeviceStatus;
use mynafleet_proto::agent::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Response, Status};
use pb::agent_service_server::{AgentService, AgentServiceServer};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

const AGENT_SERVICE: &str = "mynafleet.agent.v1.AgentService";
const ELIGIBILITY_SERVICE: &str = "mynafleet.eligibility.v1.EligibilityService";

/// What the agent API needs besides the gate.
#[derive(Debug)]
pub(crate) struct Agents {
    gate: Gate,
    presences: crate::presence::Presences,
    events: crate::events::EventStore,
    streams: crate::events::OpenStreams,
    heartbeat: Duration,
    clock: Clock,
    shutdown: CancellationToken,
}

impl Agents {
    /// Returns the agent API over `gate`, storing events in `events`; its streams end when
    /// `shutdown` is cancelled.
    pub(crate) fn new(
        gate: Gate,
        presences: crate::presence::Presences,
        events: crate::events::EventStore,
        heartbeat: Duration,
        clock: Clock,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            gate,
            presences,
            events,
            streams: crate::events::OpenStreams::default(),
            heartbeat,
            clock,
            shutdown,
        }
    }
}

/// Returns the frame and routes of the proxy.
pub(crate) fn frame(
    tls: ServerTls,
    agents: Agents,
    eligibility: Eligibility,
) -> (Frame, tonic::service::Routes) {
    let policy = AccessPolicy::new()
        .allow(&format!("/{AGENT_SERVICE}/*"), &[CallerKind::Device])
        .allow(&format!("/{ELIGIBILITY_SERVICE}/*"), &[CallerKind::Device]);
    let frame = Frame {
        service: crate::SERVICE_NAME,
        tls,
        policy,
        health_names: &[AGENT_SERVICE, ELIGIBILITY_SERVICE],
        descriptor_sets: &[mynafleet_proto::FILE_DESCRIPTOR_SET],
    };
    let routes = tonic::service::Routes::new(AgentServiceServer::new(agents)).add_service(
        mynafleet_proto::eligibility::v1::eligibility_service_server::EligibilityServiceServer::new(
            eligibility,
        ),
    );
    (frame, routes)
}

/// Returns the device identity the identity layer attached to `req`.
pub(crate) fn device<T>(req: &Request<T>) -> Result<DeviceIdentity, Error> {
    match Caller::of(req) {
        Some(Caller::Device(d)) => Ok(d.clone()),
        // The access table admits only devices here.
        Some(Caller::Service { .. } | Caller::Operator(_)) | None => Err(Error::NotADevice),
    }
}

fn timestamp(clock: &Clock) -> mynafleet_proto::prost_types::Timestamp {
    let t = clock.now();
    mynafleet_proto::prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: i32::try_from(t.nanosecond()).unwrap_or(0),
    }
}

#[tonic::async_trait]
impl AgentService for Agents {
    type StreamEventsStream = events::Responses;

    async fn stream_events(
        &self,
        req: Request<tonic::Streaming<pb::StreamEventsRequest>>,
    ) -> Result<Response<Self::StreamEventsStream>, Status> {
        events::stream_events(self, req).await.map(Response::new)
    }

    type WatchDeviceStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::WatchDeviceResponse, Status>>;

    async fn watch_device(
        &self,
        req: Request<pb::WatchDeviceRequest>,
    ) -> Result<Response<Self::WatchDeviceStream>, Status> {
        let id = device(&req)?;
        // Subscribed before the first check, so a change landing between the two is seen.
        let changes = self.gate.cache().subscribe();
        let admitted = self.gate.check(&id).await?;
        let (tx, rx) = mpsc::channel(4);
        let watch = DeviceWatch {
            gate: self.gate.clone(),
            id,
            admitted,
            heartbeat: self.heartbeat,
            clock: self.clock.clone(),
            tx,
        };
        tokio::spawn(watch.run(changes, self.shutdown.clone()));
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn who_am_i(
        &self,
        req: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let id = device(&req)?;
        let Admitted { device, account } = self.gate.check(&id).await?;
        Ok(Response::new(pb::WhoAmIResponse {
            device,
            account,
            status: DeviceStatus::Active.into(),
        }))
    }
}

/// One open `WatchDevice` stream: a heartbeat every `heartbeat` while the device may work,
/// a refusal as soon as it may not.
struct DeviceWatch {
    gate: Gate,
    id: DeviceIdentity,
    admitted: Admitted,
    heartbeat: Duration,
    clock: Clock,
    tx: mpsc::Sender<Result<pb::WatchDeviceResponse, Status>>,
}

impl DeviceWatch {
    async fn run(self, changes: broadcast::Receiver<Arc<str>>, shutdown: CancellationToken) {
        let tx = self.tx.clone();
        tokio::select! {
            () = shutdown.cancelled() => {
                // The stream must end for the server to drain; the agent reconnects.
                let _ = tx.try_send(Err(Error::ShuttingDown.into()));
            }
            () = tx.closed() => {}
            refusal = self.until_refused(changes) => {
                if let Some(status) = refusal {
                    let _ = tx.send(Err(status)).await;
                }
            }
        }
    }

    /// Sends heartbeats until the device is refused (returned) or the agent goes away.
    async fn until_refused(&self, mut changes: broadcast::Receiver<Arc<str>>) -> Option<Status> {
        let mut tick = tokio::time::interval(self.heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let beat = tokio::select! {
                _ = tick.tick() => true,
                changed = changes.recv() => match changed {
                    Ok(device) if *device == *self.admitted.device => false,
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => false,
                    // The cache outlives every stream; its end can only mean the server's.
                    Err(broadcast::error::RecvError::Closed) => {
                        return Some(Error::ShuttingDown.into());
                    }
                },
            };
            if let Err(e) = self.gate.check(&self.id).await {
                return Some(e.into());
            }
            if beat {
                let msg = pb::WatchDeviceResponse {
                    status: DeviceStatus::Active.into(),
                    time: Some(timestamp(&self.clock)),
                };
                if self.tx.send(Ok(msg)).await.is_err() {
                    return None;
                }
            }
        }
    }
}

impl std::fmt::Debug for DeviceWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceWatch")
            .field("device", &self.admitted.device)
            .finish_non_exhaustive()
    }
}
