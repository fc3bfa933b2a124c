//! `agent-events`: a terminal's event pipeline without a card, for the no-loss test (issue
//! #6): opens the agent's outbox in an activated state dir, runs the agent's uplink, and
//! appends events until the outbox holds `--total` (counting those a killed earlier run left
//! there — the test keeps the proxy down meanwhile, so nothing was acked yet), printing
//! `appended N` after each durable append. Then it waits until the outbox is drained (every
//! event acked by a proxy), prints `drained` and exits 0 — unless the test kills it first,
//! with SIGKILL, half way.
//!
//! It links the agent library, so what is tested is the agent's own outbox and uplink.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use mynafleet_agent::event::{Event, EventKind, Presence};
use mynafleet_agent::identity::Identity;
use mynafleet_agent::outbox::{Outbox, OutboxLimits};
use mynafleet_agent::uplink::{self, UplinkState};
use tokio::sync::watch;

#[derive(Debug, Parser)]
struct Args {
    /// An activated agent state directory.
    #[arg(long)]
    state_dir: PathBuf,
    /// How many events the outbox should hold before draining.
    #[arg(long)]
    total: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let identity = Identity::load(&args.state_dir).context("load the identity")?;
    let outbox = Outbox::open(&args.state_dir, OutboxLimits::default())
        .await
        .context("open the outbox")?;
    let (_presence_tx, presence) = watch::channel(Presence::default());
    let (state_tx, _state) = watch::channel(UplinkState::default());
    let uplink = tokio::spawn(uplink::run(
        identity,
        outbox.clone(),
        presence,
        state_tx,
        std::future::pending::<()>(),
    ));
    let mut stdout = std::io::stdout();
    let already = outbox
        .pending_count()
        .await
        .context("count pending events")?;
    for n in already + 1..=args.total {
        let kind = if n % 2 == 1 {
            EventKind::CardInserted
        } else {
            EventKind::CardRemoved
        };
        let event = Event::new(kind, time::OffsetDateTime::now_utc())
            .reader("Virtual PCD 00 00")
            .scan(format!("load-{n}"));
        outbox.append(event).await.context("append an event")?;
        writeln!(stdout, "appended {n}")?;
        stdout.flush()?;
    }
    // Drained: every event acked. Polled on interval ticks; the test bounds the whole run.
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        if outbox
            .pending_count()
            .await
            .context("count pending events")?
            == 0
        {
            break;
        }
    }
    writeln!(stdout, "drained")?;
    stdout.flush()?;
    uplink.abort();
    Ok(())
}
