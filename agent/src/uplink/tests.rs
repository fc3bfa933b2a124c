//! The uplink against an in-process fake `AgentService` over plain HTTP/2 (the mTLS channel
//! is `Identity`'s business, tested with the bootstrap): order, acks, a broken stream, a
//! proxy that comes back, failover, renumbering, presence. Nothing sleeps: outcomes are
//! polled on interval ticks inside a deadline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Mutex;

use mynafleet_proto::agent::v1 as pb;
use mynafleet_proto::agent::v1::agent_service_server::{AgentService, AgentServiceServer};
use tokio_stream::{Stream, StreamExt as _};
use tonic::transport::Endpoint;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::*;
use crate::event::{Event, EventKind, ReaderPresence};
use crate::outbox::OutboxLimits;

const DEADLINE: Duration = Duration::from_secs(20);

#[derive(Debug, Default)]
struct World {
    stored: BTreeMap<u64, pb::ScanEvent>,
    duplicates: u64,
    last_seq: u64,
    outbox_id: String,
    presences: Vec<pb::Presence>,
    opens: usize,
    /// Refuse every stream with this code and reason.
    refuse: Option<(tonic::Code, &'static str)>,
    /// End the next stream with UNAVAILABLE after storing this many events, unacked.
    break_after: Option<usize>,
}

#[derive(Clone)]
struct FakeProxy {
    world: Arc<Mutex<World>>,
    /// Set to end every open stream with UNAVAILABLE.
    hang_up: Arc<watch::Sender<bool>>,
}

impl Default for FakeProxy {
    fn default() -> Self {
        Self {
            world: Arc::default(),
            hang_up: Arc::new(watch::Sender::new(false)),
        }
    }
}

type Responses = Pin<Box<dyn Stream<Item = Result<pb::StreamEventsResponse, Status>> + Send>>;

fn refusal(code: tonic::Code, reason: &str) -> Status {
    let details = tonic_types::ErrorDetails::with_error_info(reason, "mynafleet.agent.v1", []);
    <Status as tonic_types::StatusExt>::with_error_details(code, "refused", details)
}

#[tonic::async_trait]
impl AgentService for FakeProxy {
    async fn who_am_i(
        &self,
        _: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        Err(Status::unimplemented("not in this fake"))
    }

    type WatchDeviceStream =
        Pin<Box<dyn Stream<Item = Result<pb::WatchDeviceResponse, Status>> + Send>>;

    async fn watch_device(
        &self,
        _: Request<pb::WatchDeviceRequest>,
    ) -> Result<Response<Self::WatchDeviceStream>, Status> {
        Err(Status::unimplemented("not in this fake"))
    }

    type StreamEventsStream = Responses;

    async fn stream_events(
        &self,
        request: Request<tonic::Streaming<pb::StreamEventsRequest>>,
    ) -> Result<Response<Responses>, Status> {
        {
            let mut world = self.world.lock().unwrap();
            world.opens += 1;
            if let Some((code, reason)) = world.refuse {
                return Err(refusal(code, reason));
            }
        }
        let mut inbound = request.into_inner();
        let world = self.world.clone();
        let mut hang_up = self.hang_up.subscribe();
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(async move {
            use pb::stream_events_request::Message;
            use pb::stream_events_response::Message as Out;
            let Some(Ok(pb::StreamEventsRequest {
                message: Some(Message::Hello(hello)),
            })) = inbound.next().await
            else {
                let _ = tx.send(Err(Status::invalid_argument("hello first"))).await;
                return;
            };
            let (ready, mut break_after) = {
                let mut w = world.lock().unwrap();
                let ready = pb::StreamReady {
                    last_seq: w.last_seq,
                    outbox_id: w.outbox_id.clone(),
                };
                (ready, w.break_after.take())
            };
            let out = |m| Ok(pb::StreamEventsResponse { message: Some(m) });
            if tx.send(out(Out::Ready(ready))).await.is_err() {
                return;
            }
            loop {
                let next = tokio::select! {
                    msg = inbound.next() => Some(msg),
                    () = async { let _ = hang_up.wait_for(|h| *h).await; } => None,
                };
                let msg = match next {
                    Some(Some(Ok(msg))) => msg,
                    Some(_) => return,
                    None => {
                        let _ = tx.send(Err(Status::unavailable("hung up"))).await;
                        return;
                    }
                };
                match msg.message {
                    Some(Message::Event(e)) => {
                        let seq = e.seq;
                        {
                            let mut w = world.lock().unwrap();
                            if w.stored.insert(seq, e).is_some() {
                                w.duplicates += 1;
                            }
                            w.last_seq = w.last_seq.max(seq);
                            w.outbox_id = hello.outbox_id.clone();
                        }
                        if let Some(n) = break_after.as_mut() {
                            *n = n.saturating_sub(1);
                            if *n == 0 {
                                let _ = tx.send(Err(Status::unavailable("broken"))).await;
                                return;
                            }
                            continue;
                        }
                        let ack = pb::EventAck { seq, duplicates: 0 };
                        if tx.send(out(Out::Ack(ack))).await.is_err() {
                            return;
                        }
                    }
                    Some(Message::Presence(p)) => world.lock().unwrap().presences.push(p),
                    Some(Message::Hello(_)) | None => return,
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }
}

/// A fake proxy serving on `listener` until dropped.
struct Running {
    proxy: FakeProxy,
    url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn serve(proxy: FakeProxy, listener: tokio::net::TcpListener) -> Running {
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router =
        tonic::transport::Server::builder().add_service(AgentServiceServer::new(proxy.clone()));
    tokio::spawn(async move {
        router
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    Running {
        proxy,
        url,
        _stop: stop,
    }
}

async fn start(proxy: FakeProxy) -> Running {
    serve(
        proxy,
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
    )
}

/// A local address nothing listens on (yet).
async fn free_addr() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

struct Plain(Vec<String>);

impl Proxies for Plain {
    fn urls(&self) -> Vec<String> {
        self.0.clone()
    }

    fn channel(&self, url: &str) -> Result<Channel, String> {
        Ok(Endpoint::from_shared(url.to_owned())
            .map_err(|e| e.to_string())?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy())
    }
}

struct Agent {
    outbox: Outbox,
    presence: watch::Sender<Presence>,
    state: watch::Receiver<UplinkState>,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn outbox() -> (Outbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), OutboxLimits::default())
        .await
        .unwrap();
    (outbox, dir)
}

fn spawn_uplink(urls: Vec<String>, outbox: Outbox, dir: tempfile::TempDir) -> Agent {
    let (presence, presence_rx) = watch::channel(Presence::default());
    let (state_tx, state) = watch::channel(UplinkState::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(run_with(
        Plain(urls),
        outbox.clone(),
        presence_rx,
        state_tx,
        async {
            let _ = stopped.await;
        },
    ));
    Agent {
        outbox,
        presence,
        state,
        _dir: dir,
        _stop: stop,
    }
}

async fn append(outbox: &Outbox, range: std::ops::RangeInclusive<u64>) {
    for n in range {
        let event = Event::new(EventKind::CardInserted, time::OffsetDateTime::now_utc())
            .scan(format!("scan-{n}"));
        outbox.append(event).await.unwrap();
    }
}

/// Polls `done` on interval ticks until it holds, failing after [`DEADLINE`].
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let held = tokio::time::timeout(DEADLINE, async {
        loop {
            tick.tick().await;
            if done().await {
                return;
            }
        }
    })
    .await;
    assert!(held.is_ok(), "never saw: {what}");
}

async fn drained(agent: &Agent) {
    until("the outbox drained", async || {
        agent.outbox.pending_count().await.unwrap() == 0
    })
    .await;
}

fn stored_seqs(proxy: &FakeProxy) -> Vec<u64> {
    proxy.world.lock().unwrap().stored.keys().copied().collect()
}

#[tokio::test]
async fn events_arrive_in_order_once_and_leave_the_outbox() {
    let proxy = start(FakeProxy::default()).await;
    let (outbox, dir) = outbox().await;
    append(&outbox, 1..=600).await;
    let agent = spawn_uplink(vec![proxy.url.clone()], outbox, dir);
    drained(&agent).await;
    // Appended while connected: sent at once.
    append(&agent.outbox, 601..=650).await;
    drained(&agent).await;
    assert_eq!(stored_seqs(&proxy.proxy), (1..=650).collect::<Vec<_>>());
    let world = proxy.proxy.world.lock().unwrap();
    assert_eq!(world.duplicates, 0);
    let event = &world.stored[&7];
    assert_eq!(event.scan_id, "scan-7");
    assert_eq!(event.kind, i32::from(pb::ScanEventKind::CardInserted));
    assert_eq!(event.agent_version, env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn a_broken_stream_resends_what_was_not_acked() {
    let fake = FakeProxy::default();
    fake.world.lock().unwrap().break_after = Some(100);
    let proxy = start(fake).await;
    let (outbox, dir) = outbox().await;
    append(&outbox, 1..=300).await;
    let agent = spawn_uplink(vec![proxy.url.clone()], outbox, dir);
    drained(&agent).await;
    assert_eq!(stored_seqs(&proxy.proxy), (1..=300).collect::<Vec<_>>());
    let world = proxy.proxy.world.lock().unwrap();
    assert!(world.opens >= 2, "the agent reconnected");
}

#[tokio::test]
async fn a_proxy_that_comes_back_gets_everything() {
    let addr = free_addr().await;
    let (outbox, dir) = outbox().await;
    let mut agent = spawn_uplink(vec![format!("http://{addr}")], outbox, dir);
    append(&agent.outbox, 1..=20).await;
    assert!(!agent.state.borrow_and_update().connected);
    let proxy = serve(
        FakeProxy::default(),
        tokio::net::TcpListener::bind(addr).await.unwrap(),
    );
    drained(&agent).await;
    assert_eq!(stored_seqs(&proxy.proxy), (1..=20).collect::<Vec<_>>());
    assert!(agent.state.borrow().connected);
}

#[tokio::test]
async fn a_dead_first_proxy_fails_over_to_the_next() {
    let dead = free_addr().await;
    let proxy = start(FakeProxy::default()).await;
    let (outbox, dir) = outbox().await;
    append(&outbox, 1..=5).await;
    let agent = spawn_uplink(
        vec![format!("http://{dead}"), proxy.url.clone()],
        outbox,
        dir,
    );
    drained(&agent).await;
    assert_eq!(stored_seqs(&proxy.proxy), [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn events_are_renumbered_above_another_outboxs_last_seq() {
    let fake = FakeProxy::default();
    {
        let mut w = fake.world.lock().unwrap();
        w.last_seq = 40;
        w.outbox_id = "an-older-outbox".into();
    }
    let proxy = start(fake).await;
    let (outbox, dir) = outbox().await;
    append(&outbox, 1..=5).await;
    let agent = spawn_uplink(vec![proxy.url.clone()], outbox, dir);
    drained(&agent).await;
    assert_eq!(stored_seqs(&proxy.proxy), [41, 42, 43, 44, 45]);
    let world = proxy.proxy.world.lock().unwrap();
    assert_eq!(world.stored[&41].scan_id, "scan-1", "order kept");
    assert_eq!(world.outbox_id, agent.outbox.outbox_id());
}

#[tokio::test]
async fn what_the_proxy_already_holds_from_this_outbox_is_not_sent_again() {
    let fake = FakeProxy::default();
    let proxy = start(fake).await;
    let (outbox, dir) = outbox().await;
    append(&outbox, 1..=10).await;
    {
        // The proxy stored 1..=6 but its acks were lost.
        let mut w = proxy.proxy.world.lock().unwrap();
        w.last_seq = 6;
        w.outbox_id = outbox.outbox_id().to_owned();
    }
    let agent = spawn_uplink(vec![proxy.url.clone()], outbox, dir);
    drained(&agent).await;
    assert_eq!(stored_seqs(&proxy.proxy), [7, 8, 9, 10]);
}

#[tokio::test]
async fn presence_is_sent_on_connect_and_on_every_change() {
    let proxy = start(FakeProxy::default()).await;
    let (outbox, dir) = outbox().await;
    let mut agent = spawn_uplink(vec![proxy.url.clone()], outbox, dir);
    let world = proxy.proxy.world.clone();
    until("the first presence", async || {
        world.lock().unwrap().presences.len() == 1
    })
    .await;
    until("connected", async || {
        agent.state.borrow_and_update().connected
    })
    .await;
    agent.presence.send_replace(Presence {
        readers: vec![ReaderPresence {
            name: "Virtual PCD 00 00".into(),
            card_present: true,
        }],
        last_scan_time: None,
    });
    until("the reader in a presence", async || {
        world
            .lock()
            .unwrap()
            .presences
            .last()
            .is_some_and(|p| p.readers.len() == 1 && p.readers[0].card_present)
    })
    .await;
    proxy.proxy.hang_up.send_replace(true);
    until("disconnected", async || {
        !agent.state.borrow_and_update().connected
    })
    .await;
}

#[tokio::test]
async fn a_refused_device_does_not_retry_in_a_loop() {
    let fake = FakeProxy::default();
    fake.world.lock().unwrap().refuse = Some((tonic::Code::PermissionDenied, "DEVICE_SUSPENDED"));
    let proxy = start(fake).await;
    let (outbox, dir) = outbox().await;
    append(&outbox, 1..=3).await;
    let agent = spawn_uplink(vec![proxy.url.clone()], outbox, dir);
    let world = proxy.proxy.world.clone();
    until("the first refusal", async || {
        world.lock().unwrap().opens >= 1
    })
    .await;
    // A transient failure would be retried within 200 ms (the first jittered backoff); a
    // refusal parks the uplink for at least 30 s.
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let retried = tokio::time::timeout(Duration::from_millis(600), async {
        loop {
            tick.tick().await;
            if world.lock().unwrap().opens >= 2 {
                return;
            }
        }
    })
    .await;
    assert!(retried.is_err(), "parked, not retried at once");
    assert_eq!(
        agent.outbox.pending_count().await.unwrap(),
        3,
        "kept for later"
    );
}

#[test]
fn refusals_that_retrying_cannot_fix_are_permanent() {
    for code in [
        Code::PermissionDenied,
        Code::Unauthenticated,
        Code::InvalidArgument,
        Code::Unimplemented,
    ] {
        assert!(permanent(code), "{code:?}");
    }
    for code in [
        Code::Unavailable,
        Code::Internal,
        Code::DeadlineExceeded,
        Code::Cancelled,
    ] {
        assert!(!permanent(code), "{code:?}");
    }
}
