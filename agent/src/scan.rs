//! The scan service: the async side of a scan (DESIGN.md §3.3, STYLE.md §8).
//!
//! It feeds reader events from the watcher, the outcomes of card work on the
//! [`CardThread`] and of proxy calls through a [`CheckClient`] into one
//! [`Session`](crate::session::Session) per reader, and carries out the effects: card
//! transactions (one to read at insert, one to verify and sign at PIN submit, none held
//! across a proxy call or the PIN prompt), the challenge and the check, every event written
//! to the [`Outbox`] in order. It publishes the terminal's view ([`TerminalState`]) and the
//! fleet's ([`Presence`]) on `watch` channels, and answers the terminal API's commands
//! through [`ScanService`].
//!
//! The PIN goes from [`ScanService::submit_pin`] straight to the card thread; the service
//! never logs it, never stores it beyond the sign transaction, and never sends a PIN twice
//! on its own. Certificates and results are kept in memory for the current scan only and
//! never logged.

mod actor;
mod proxy;
mod trace;

#[cfg(test)]
pub(crate) mod tests;

use std::future::Future;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::card_thread::CardThread;
use crate::event::Presence;
use crate::jpki::Pin;
use crate::outbox::Outbox;
use crate::session::{Refusal, Scan};
use crate::transport::ReaderEvent;
use crate::uplink::UplinkState;

pub use self::proxy::ProxyClient;
pub use crate::client::{Challenge, CheckAnswer, CompleteCall, Consents, Verdict};

/// A boxed future, for the object-safe [`CheckClient`].
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The proxy calls a scan makes; [`ProxyClient`] is the real one, tests use a fake.
pub trait CheckClient: Send + Sync + 'static {
    /// Asks for a challenge (`BeginCardCheck`).
    fn begin(&self) -> BoxFuture<'_, Result<Challenge, ProxyError>>;
    /// Completes the check (`CompleteCardCheck`).
    fn complete(&self, call: CompleteCall) -> BoxFuture<'_, Result<CheckAnswer, ProxyError>>;
    /// The device the proxy knows this terminal as, for the scan's trace (empty if unknown).
    fn device(&self) -> String {
        String::new()
    }
}

/// A proxy call that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct ProxyError {
    /// The `ErrorInfo` reason, or `PROXY_UNAVAILABLE` when no proxy answered.
    pub reason: String,
    /// What staff should read.
    pub message: String,
}

/// Why the terminal's command was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TerminalError {
    /// The session refused it; nothing reached the card.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The PIN is not 4 digits.
    #[error("the pin must be exactly 4 digits")]
    PinMalformed,
    /// Visual mode needs the attesting staff member.
    #[error("visual mode needs the attesting staff member")]
    StaffIdRequired,
    /// The service has stopped.
    #[error("the scan service stopped")]
    Stopped,
}

/// A reader as the terminal sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderView {
    /// PC/SC reader name.
    pub name: String,
    /// Whether a card is on it.
    pub card_present: bool,
}

/// A scan as the terminal sees it: the session's scan and, once done, the proxy's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanView {
    /// The scan.
    pub scan: Scan,
    /// The answer (DONE only).
    pub result: Option<Arc<CheckAnswer>>,
}

/// The terminal's view of the agent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TerminalState {
    /// Increases with every change.
    pub version: u64,
    /// Attached readers.
    pub readers: Vec<ReaderView>,
    /// The current scan, or the last one.
    pub scan: Option<ScanView>,
    /// The last finished scan.
    pub last_finished: Option<ScanView>,
    /// False while pcscd cannot be reached.
    pub pcsc_available: bool,
    /// Whether the event stream to the proxy is open.
    pub uplink_connected: bool,
    /// Events not yet acknowledged by the proxy.
    pub outbox_pending: u64,
}

/// Returns the current time; tests hand in a manual clock.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// What the service runs on.
pub struct ScanDeps {
    /// The card thread (pcsc in production, an in-memory card in tests).
    pub cards: CardThread,
    /// Reader events, in order (from [`crate::transport::spawn_watcher`] or a test).
    pub reader_events: mpsc::Receiver<ReaderEvent>,
    /// The proxy.
    pub proxy: Arc<dyn CheckClient>,
    /// Where events go.
    pub outbox: Outbox,
    /// The uplink's state, for the terminal view.
    pub uplink: watch::Receiver<UplinkState>,
    /// Only readers whose name contains this are used.
    pub reader_filter: Option<String>,
    /// The time.
    pub clock: Clock,
}

impl std::fmt::Debug for ScanDeps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanDeps")
            .field("reader_filter", &self.reader_filter)
            .finish_non_exhaustive()
    }
}

/// A command from the terminal API.
#[derive(Debug)]
enum Command {
    SubmitPin {
        scan_id: String,
        pin: Pin,
        confirm_last_try: bool,
        consents: Consents,
        reply: Reply,
    },
    ChooseVisual {
        scan_id: String,
        staff: String,
        consents: Consents,
        reply: Reply,
    },
    Cancel {
        scan_id: String,
        reply: Reply,
    },
}

type Reply = oneshot::Sender<Result<ScanView, TerminalError>>;

/// Handle to the running scan service; cheap to clone.
#[derive(Debug, Clone)]
pub struct ScanService {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<TerminalState>,
    presence: watch::Receiver<Presence>,
}

impl ScanService {
    /// Starts the service; it runs until `shutdown` completes.
    pub fn start(
        deps: ScanDeps,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> (Self, JoinHandle<()>) {
        let (commands, commands_rx) = mpsc::channel(16);
        let (state_tx, state) = watch::channel(TerminalState {
            pcsc_available: true,
            ..TerminalState::default()
        });
        let (presence_tx, presence) = watch::channel(Presence::default());
        let task = tokio::spawn(actor::run(
            deps,
            commands_rx,
            state_tx,
            presence_tx,
            shutdown,
        ));
        (
            Self {
                commands,
                state,
                presence,
            },
            task,
        )
    }

    /// Verifies `pin` on the card of scan `scan_id`, signs the challenge and runs the check.
    /// Returns when the check is done, or at once when the card rejected the PIN (the scan
    /// waits again with fewer tries; the PIN is never retried).
    pub async fn submit_pin(
        &self,
        scan_id: &str,
        pin: Pin,
        confirm_last_try: bool,
        consents: Consents,
    ) -> Result<ScanView, TerminalError> {
        self.call(|reply| Command::SubmitPin {
            scan_id: scan_id.to_owned(),
            pin,
            confirm_last_try,
            consents,
            reply,
        })
        .await
    }

    /// Runs the check of scan `scan_id` in 目視 mode, attested by `staff`.
    pub async fn choose_visual(
        &self,
        scan_id: &str,
        staff: &str,
        consents: Consents,
    ) -> Result<ScanView, TerminalError> {
        let staff = staff.trim();
        if staff.is_empty() {
            return Err(TerminalError::StaffIdRequired);
        }
        self.call(|reply| Command::ChooseVisual {
            scan_id: scan_id.to_owned(),
            staff: staff.to_owned(),
            consents,
            reply,
        })
        .await
    }

    /// Ends scan `scan_id` without a check.
    pub async fn cancel(&self, scan_id: &str) -> Result<ScanView, TerminalError> {
        self.call(|reply| Command::Cancel {
            scan_id: scan_id.to_owned(),
            reply,
        })
        .await
    }

    /// Returns the terminal's view: the current value at once, then every change.
    pub fn state(&self) -> watch::Receiver<TerminalState> {
        self.state.clone()
    }

    /// Returns the presence the uplink streams to the proxy.
    pub fn presence(&self) -> watch::Receiver<Presence> {
        self.presence.clone()
    }

    async fn call(
        &self,
        command: impl FnOnce(Reply) -> Command,
    ) -> Result<ScanView, TerminalError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| TerminalError::Stopped)?;
        answer.await.map_err(|_| TerminalError::Stopped)?
    }
}
