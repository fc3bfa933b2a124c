//! `mynafleet-agent run`: the whole agent until SIGINT or SIGTERM (exit 0), or until the
//! device is cut off for good (exit non-zero): certificate renewal, the device watch, the
//! outbox and its uplink, the reader watcher and card thread, the scan service and the
//! terminal API.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};
use tracing::{error, info};

use crate::card_thread::{CardThread, PcscConnector};
use crate::event::{Event, EventKind};
use crate::identity::Identity;
use crate::outbox::{Outbox, OutboxLimits};
use crate::renewal::{RenewalEnd, spawn_renewal};
use crate::scan::{ProxyClient, ScanDeps, ScanService};
use crate::terminal::{self, Listen};
use crate::transport::spawn_watcher;
use crate::uplink::{self, UplinkState};
use crate::watch::{WatchEnd, watch_device};

/// Options of `mynafleet-agent run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Where the terminal API listens: a loopback `ip:port` or `unix:/path` (nothing else is
    /// accepted: results carry names and birth dates).
    #[arg(
        long,
        env = "MYNAFLEET_AGENT_TERMINAL_LISTEN",
        default_value = terminal::DEFAULT_LISTEN,
        value_name = "ADDR"
    )]
    pub terminal_listen: String,
    /// Most events the outbox keeps unacknowledged; past it the oldest routine events are
    /// dropped (and counted), security events never.
    #[arg(
        long,
        env = "MYNAFLEET_AGENT_OUTBOX_MAX_EVENTS",
        default_value_t = OutboxLimits::default().max_events,
        value_name = "N"
    )]
    pub outbox_max_events: u64,
    /// Use only readers whose name contains this text.
    #[arg(long, env = "MYNAFLEET_AGENT_READER", value_name = "NAME")]
    pub reader: Option<String>,
}

pub(super) async fn run(state_dir: PathBuf, args: RunArgs) -> anyhow::Result<()> {
    let listen = Listen::parse(&args.terminal_listen)?;
    let identity = Identity::load(&state_dir)?;
    let record = identity.record();
    let outbox = Outbox::open(
        &state_dir,
        OutboxLimits {
            max_events: args.outbox_max_events,
        },
    )
    .await
    .context("open the outbox")?;
    let token = terminal::ensure_token(&state_dir).context("prepare the terminal api token")?;
    outbox
        .append(Event::new(
            EventKind::AgentStarted,
            OffsetDateTime::now_utc(),
        ))
        .await
        .context("write the agent-started event")?;
    info!(
        device = %record.device,
        serial = %identity.certificate().serial,
        expires = %identity.certificate().not_after,
        terminal = %listen,
        "agent running"
    );
    let (stop, stopped) = watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };

    let (reader_tx, reader_events) = mpsc::channel(64);
    let watcher = spawn_watcher(move |event| reader_tx.blocking_send(event).is_ok());
    let (uplink_tx, uplink_rx) = watch::channel(UplinkState::default());
    let (scans, scan_task) = ScanService::start(
        ScanDeps {
            cards: CardThread::spawn(PcscConnector::new()),
            reader_events,
            proxy: Arc::new(ProxyClient::new(identity.clone())),
            outbox: outbox.clone(),
            uplink: uplink_rx,
            reader_filter: args.reader,
            clock: Arc::new(OffsetDateTime::now_utc),
        },
        until_stopped(),
    );
    let uplink_task = tokio::spawn(uplink::run(
        identity.clone(),
        outbox.clone(),
        scans.presence(),
        uplink_tx,
        until_stopped(),
    ));
    let mut terminal_task = tokio::spawn({
        let scans = scans.clone();
        let shutdown = until_stopped();
        async move { terminal::serve(&listen, scans, token, shutdown).await }
    });
    let mut renewal = spawn_renewal(identity.clone(), until_stopped());
    let mut device_watch = tokio::spawn(watch_device(identity, until_stopped()));

    let outcome = tokio::select! {
        signal = shutdown_signal() => {
            signal?;
            info!("stopping");
            Ok(())
        }
        end = &mut renewal => match end? {
            RenewalEnd::Shutdown => Ok(()),
            end => Err(anyhow::Error::new(end)),
        },
        end = &mut device_watch => match end? {
            WatchEnd::Shutdown => Ok(()),
            end => Err(anyhow::Error::new(end)),
        },
        served = &mut terminal_task => match served? {
            Ok(()) => Ok(()),
            Err(e) => {
                error!(error = %e, "terminal api stopped");
                Err(anyhow::Error::new(e))
            }
        },
    };
    let _ = stop.send(true);
    // Whichever task is still running sees the stop and ends at its next await.
    let _ = tokio::task::spawn_blocking(move || watcher.stop()).await;
    for task in [scan_task, uplink_task] {
        let _ = task.await;
    }
    if !terminal_task.is_finished() {
        let _ = terminal_task.await;
    }
    if !renewal.is_finished() {
        let _ = renewal.await;
    }
    if !device_watch.is_finished() {
        let _ = device_watch.await;
    }
    outbox.close().await;
    outcome
}

/// Completes on SIGINT or SIGTERM (Ctrl-C elsewhere).
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok(())
    }
}
