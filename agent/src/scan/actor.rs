//! The scan service's task: owns every reader's session, feeds it inputs one at a time and
//! carries out its effects. Card and proxy work runs in spawned tasks that report back on a
//! channel, so the task never waits on a card or the network; events are appended to the
//! outbox here, in the order the sessions made them.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

mod failure;
mod view;

use tokio::sync::{mpsc, watch};
use tracing::{Instrument as _, Span, debug, error, warn};

use self::failure::{read_failure, sign_failure};
use super::trace::{self, Step};
use super::{
    Challenge, CheckAnswer, Command, CompleteCall, Consents, ProxyError, Reply, ScanDeps, ScanView,
    TerminalState,
};
use crate::card_thread::{ReadError, SignThreadError};
use crate::event::{Event, EventKind, Presence};
use crate::jpki::{CardRead, Pin, Signed};
use crate::session::{CheckSummary, Effect, Failure, Input, Method, Refusal, Session};
use crate::transport::ReaderEvent;

/// The outcome of work started for a scan.
enum Work {
    Read(Result<CardRead, ReadError>),
    Challenge(Result<Challenge, ProxyError>),
    Sign(Result<Signed, SignThreadError>),
    Check(Box<Result<CheckAnswer, ProxyError>>),
}

struct Done {
    reader: String,
    scan_id: String,
    work: Work,
}

/// What the service holds for a reader's current scan besides the session.
#[derive(Default)]
struct Context {
    scan_id: String,
    certificate: Option<Vec<u8>>,
    pin: Option<Pin>,
    confirm_last_try: bool,
    staff: String,
    consents: Consents,
    challenge: Option<Challenge>,
    signature: Option<Vec<u8>>,
    result: Option<Arc<CheckAnswer>>,
    reply: Option<Reply>,
    /// The scan's `card_check` span, until the scan ends.
    trace: Option<Span>,
}

struct Slot {
    session: Session,
    context: Context,
}

struct Actor {
    deps: ScanDeps,
    slots: BTreeMap<String, Slot>,
    /// The reader of the latest scan.
    current: Option<String>,
    /// The latest scan's view, kept when its reader goes away.
    last_view: Option<ScanView>,
    last_finished: Option<ScanView>,
    pcsc_available: bool,
    outbox_pending: u64,
    work: mpsc::Sender<Done>,
    state: watch::Sender<TerminalState>,
    presence: watch::Sender<Presence>,
}

pub(super) async fn run(
    deps: ScanDeps,
    mut commands: mpsc::Receiver<Command>,
    state: watch::Sender<TerminalState>,
    presence: watch::Sender<Presence>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (work, mut work_rx) = mpsc::channel(64);
    let mut actor = Actor {
        deps,
        slots: BTreeMap::new(),
        current: None,
        last_view: None,
        last_finished: None,
        pcsc_available: true,
        outbox_pending: 0,
        work,
        state,
        presence,
    };
    actor.refresh_pending().await;
    actor.publish();
    tokio::pin!(shutdown);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut readers_open = true;
    let mut uplink_open = true;
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            event = actor.deps.reader_events.recv(), if readers_open => match event {
                Some(event) => actor.reader_event(event).await,
                None => readers_open = false,
            },
            Some(command) = commands.recv() => actor.command(command).await,
            Some(done) = work_rx.recv() => actor.done(done).await,
            changed = actor.deps.uplink.changed(), if uplink_open => {
                if changed.is_err() {
                    uplink_open = false;
                }
                actor.publish();
            }
            _ = tick.tick() => {
                let before = actor.outbox_pending;
                actor.refresh_pending().await;
                if actor.outbox_pending != before {
                    actor.publish();
                }
            }
        }
    }
}

impl Actor {
    fn now(&self) -> time::OffsetDateTime {
        (self.deps.clock)()
    }

    fn wanted(&self, reader: &str) -> bool {
        self.deps
            .reader_filter
            .as_deref()
            .is_none_or(|filter| reader.contains(filter))
    }

    /// Starts a session for `reader` unless it has one (a card may be reported before its
    /// reader).
    async fn attach(&mut self, reader: &str) {
        if !self.slots.contains_key(reader) {
            self.slots.insert(
                reader.to_owned(),
                Slot {
                    session: Session::new(reader.to_owned()),
                    context: Context::default(),
                },
            );
            self.feed(reader, Input::ReaderAttached).await;
        }
    }

    async fn reader_event(&mut self, event: ReaderEvent) {
        match event {
            ReaderEvent::Attached { reader } if self.wanted(&reader) => {
                self.attach(&reader).await;
            }
            ReaderEvent::Removed { reader } => {
                if self.slots.contains_key(&reader) {
                    self.feed(&reader, Input::ReaderRemoved).await;
                    if self.current.as_deref() == Some(reader.as_str()) {
                        self.last_view = self.view(&reader);
                    }
                    self.slots.remove(&reader);
                    self.publish();
                }
            }
            ReaderEvent::CardInserted { reader, atr } if self.wanted(&reader) => {
                debug!(reader = %reader, atr = %hex::encode_upper(&atr), "card inserted");
                self.attach(&reader).await;
                let scan_id = uuid::Uuid::new_v4().to_string();
                self.feed(&reader, Input::CardInserted { scan_id }).await;
            }
            ReaderEvent::CardRemoved { reader } => {
                if self.slots.contains_key(&reader) {
                    self.feed(&reader, Input::CardRemoved).await;
                }
            }
            ReaderEvent::ServiceLost => {
                warn!("pcscd cannot be reached; waiting for it to come back");
                self.pcsc_available = false;
                self.publish();
            }
            ReaderEvent::ServiceRestored => {
                self.pcsc_available = true;
                let event = Event::new(EventKind::PcscRecovered, self.now());
                self.append(event).await;
                self.publish();
            }
            ReaderEvent::Attached { .. } | ReaderEvent::CardInserted { .. } => {}
        }
    }

    async fn command(&mut self, command: Command) {
        let scan_id = match &command {
            Command::SubmitPin { scan_id, .. }
            | Command::ChooseVisual { scan_id, .. }
            | Command::Cancel { scan_id, .. } => scan_id.clone(),
        };
        let Some(reader) = self.reader_of(&scan_id) else {
            let refusal = if self.current_scan_exists() {
                Refusal::ScanMismatch
            } else {
                Refusal::NoScanWaiting
            };
            let reply = match command {
                Command::SubmitPin { reply, .. }
                | Command::ChooseVisual { reply, .. }
                | Command::Cancel { reply, .. } => reply,
            };
            let _ = reply.send(Err(refusal.into()));
            return;
        };
        let (input, reply) = match command {
            Command::SubmitPin {
                scan_id,
                pin,
                confirm_last_try,
                consents,
                reply,
            } => {
                if let Some(slot) = self.slots.get_mut(&reader)
                    && slot.context.reply.is_none()
                {
                    slot.context.pin = Some(pin);
                    slot.context.confirm_last_try = confirm_last_try;
                    slot.context.consents = consents;
                }
                (
                    Input::PinSubmitted {
                        scan_id,
                        confirm_last_try,
                    },
                    reply,
                )
            }
            Command::ChooseVisual {
                scan_id,
                staff,
                consents,
                reply,
            } => {
                if let Some(slot) = self.slots.get_mut(&reader)
                    && slot.context.reply.is_none()
                {
                    slot.context.staff = staff;
                    slot.context.consents = consents;
                }
                (Input::VisualChosen { scan_id }, reply)
            }
            Command::Cancel { scan_id, reply } => (Input::Cancel { scan_id }, reply),
        };
        let effects = self.handle(&reader, input);
        if let Some(refusal) = effects.iter().find_map(|e| match e {
            Effect::Refuse(r) => Some(*r),
            _ => None,
        }) {
            if let Some(slot) = self.slots.get_mut(&reader)
                && slot.context.reply.is_none()
            {
                slot.context.pin = None;
            }
            let _ = reply.send(Err(refusal.into()));
            return;
        }
        if let Some(slot) = self.slots.get_mut(&reader) {
            slot.context.reply = Some(reply);
        }
        self.execute(&reader, effects).await;
    }

    async fn done(&mut self, done: Done) {
        let Done {
            reader,
            scan_id,
            work,
        } = done;
        let Some(slot) = self.slots.get_mut(&reader) else {
            return;
        };
        if slot.context.scan_id != scan_id {
            return;
        }
        let context = &mut slot.context;
        let input = match work {
            Work::Read(Ok(read)) => {
                context.certificate = read.auth_certificate;
                Input::ReadDone {
                    scan_id,
                    token: read.token,
                    signature_certificate_available: read.signature_certificate_available,
                    pin: read.pin,
                }
            }
            Work::Read(Err(e)) => {
                debug!(reader = %reader, error = %e, "card read failed");
                Input::ReadFailed {
                    scan_id,
                    failure: read_failure(&e),
                }
            }
            Work::Challenge(Ok(challenge)) => {
                context.challenge = Some(challenge);
                Input::ChallengeReceived { scan_id }
            }
            Work::Challenge(Err(e)) => {
                warn!(reader = %reader, reason = %e.reason, "challenge not issued");
                context.pin = None;
                Input::ChallengeFailed {
                    scan_id,
                    failure: Failure::new(e.reason, e.message),
                }
            }
            Work::Sign(Ok(signed)) => {
                context.signature = Some(signed.signature);
                if signed.auth_certificate.is_some() {
                    context.certificate = signed.auth_certificate;
                }
                Input::SignDone { scan_id }
            }
            Work::Sign(Err(e)) => {
                debug!(reader = %reader, error = %e, "card sign failed");
                Input::SignFailed {
                    scan_id,
                    failure: sign_failure(&e),
                }
            }
            Work::Check(answer) => match *answer {
                Ok(answer) => {
                    let summary = CheckSummary {
                        check_id: answer.check_id().to_owned(),
                        verdict: format!(
                            "{}:{}",
                            answer.verdict().as_str(),
                            answer.validity_code()
                        ),
                    };
                    context.result = Some(Arc::new(answer));
                    Input::CheckDone { scan_id, summary }
                }
                Err(e) => {
                    warn!(reader = %reader, reason = %e.reason, "check failed");
                    Input::CheckFailed {
                        scan_id,
                        failure: Failure::new(e.reason, e.message),
                    }
                }
            },
        };
        self.feed(&reader, input).await;
    }

    /// Applies `input` to the reader's session and carries out the effects.
    async fn feed(&mut self, reader: &str, input: Input) {
        let effects = self.handle(reader, input);
        self.execute(reader, effects).await;
    }

    fn handle(&mut self, reader: &str, input: Input) -> Vec<Effect> {
        let now = self.now();
        let Some(slot) = self.slots.get_mut(reader) else {
            return Vec::new();
        };
        let effects = slot.session.handle(input, now);
        // A new scan starts with an empty context.
        if let Some(scan) = slot.session.scan()
            && scan.id != slot.context.scan_id
        {
            if let Some(reply) = slot.context.reply.take() {
                let _ = reply.send(Err(Refusal::ScanMismatch.into()));
            }
            slot.context = Context {
                scan_id: scan.id.clone(),
                trace: Some(trace::card_check(reader, &self.deps.proxy.device())),
                ..Context::default()
            };
            self.current = Some(reader.to_owned());
        }
        if let Some(scan) = slot.session.scan()
            && scan.phase.is_finished()
            && let Some(span) = slot.context.trace.take()
        {
            trace::finish(&span, scan);
        }
        effects
    }

    async fn execute(&mut self, reader: &str, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Emit(event) => self.append(event).await,
                Effect::Publish => self.publish_and_reply(reader),
                Effect::Refuse(refusal) => {
                    if let Some(slot) = self.slots.get_mut(reader)
                        && let Some(reply) = slot.context.reply.take()
                    {
                        let _ = reply.send(Err(refusal.into()));
                    }
                }
                Effect::StartRead { reader, scan_id } => {
                    let cards = self.deps.cards.clone();
                    let span = self.step_span(&reader, Step::Read);
                    self.spawn(
                        reader.clone(),
                        scan_id,
                        async move { Work::Read(cards.read(&reader).await) }.instrument(span),
                    );
                }
                Effect::FetchChallenge { scan_id } => {
                    let proxy = self.deps.proxy.clone();
                    let span = self.step_span(reader, Step::Challenge);
                    self.spawn(
                        reader.to_owned(),
                        scan_id,
                        async move { Work::Challenge(proxy.begin().await) }.instrument(span),
                    );
                }
                Effect::StartSign {
                    reader,
                    scan_id,
                    token,
                    confirm_last_try,
                } => self.start_sign(reader, scan_id, token, confirm_last_try),
                Effect::SendCheck { scan_id, method } => self.send_check(reader, scan_id, method),
            }
        }
    }

    fn start_sign(
        &mut self,
        reader: String,
        scan_id: String,
        token: crate::jpki::TokenKind,
        confirm_last_try: bool,
    ) {
        let Some(slot) = self.slots.get_mut(&reader) else {
            return;
        };
        let pin = slot.context.pin.take();
        let challenge = slot.context.challenge.as_ref().map(|c| c.bytes.clone());
        let cards = self.deps.cards.clone();
        let target = reader.clone();
        let span = self.step_span(&reader, Step::Sign);
        self.spawn(
            reader,
            scan_id,
            async move {
                let (Some(pin), Some(challenge)) = (pin, challenge) else {
                    return Work::Sign(Err(SignThreadError::Stopped));
                };
                Work::Sign(
                    cards
                        .sign(&target, token, pin, confirm_last_try, challenge)
                        .await,
                )
            }
            .instrument(span),
        );
    }

    fn send_check(&mut self, reader: &str, scan_id: String, method: Method) {
        let Some(slot) = self.slots.get_mut(reader) else {
            return;
        };
        let context = &mut slot.context;
        let call = CompleteCall {
            challenge_id: context
                .challenge
                .as_ref()
                .map(|c| c.id.clone())
                .unwrap_or_default(),
            auth_certificate: context.certificate.clone().unwrap_or_default(),
            signature: match method {
                Method::Pin => context.signature.take().unwrap_or_default(),
                Method::Visual => Vec::new(),
            },
            method,
            attesting_staff: match method {
                Method::Pin => String::new(),
                Method::Visual => context.staff.clone(),
            },
            consents: context.consents,
        };
        let proxy = self.deps.proxy.clone();
        let span = self.step_span(reader, Step::Check);
        self.spawn(
            reader.to_owned(),
            scan_id,
            async move { Work::Check(Box::new(proxy.complete(call).await)) }.instrument(span),
        );
    }

    /// The span of `step` under the `card_check` span of `reader`'s scan.
    fn step_span(&self, reader: &str, step: Step) -> Span {
        trace::step(
            self.slots
                .get(reader)
                .and_then(|slot| slot.context.trace.as_ref()),
            step,
        )
    }

    fn spawn(
        &self,
        reader: String,
        scan_id: String,
        work: impl Future<Output = Work> + Send + 'static,
    ) {
        let done = self.work.clone();
        tokio::spawn(async move {
            let work = work.await;
            let _ = done
                .send(Done {
                    reader,
                    scan_id,
                    work,
                })
                .await;
        });
    }

    async fn append(&mut self, event: Event) {
        let kind = event.kind;
        match self.deps.outbox.append(event).await {
            Ok(_) => self.outbox_pending += 1,
            Err(e) => {
                error!(kind = ?kind, error = %e, "scan event could not be written to the outbox")
            }
        }
    }

    async fn refresh_pending(&mut self) {
        match self.deps.outbox.pending_count().await {
            Ok(count) => self.outbox_pending = count,
            Err(e) => warn!(error = %e, "outbox pending count failed"),
        }
    }
}
