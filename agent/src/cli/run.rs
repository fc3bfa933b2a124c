//! `mynafleet-agent run`: the renewal task and the device watch side by side until SIGINT or
//! SIGTERM (exit 0), or until the device is cut off for good (exit non-zero).

use std::path::PathBuf;

use tokio::sync::watch;
use tracing::info;

use crate::identity::Identity;
use crate::renewal::{RenewalEnd, spawn_renewal};
use crate::watch::{WatchEnd, watch_device};

pub(super) async fn run(state_dir: PathBuf) -> anyhow::Result<()> {
    let identity = Identity::load(&state_dir)?;
    let record = identity.record();
    info!(
        device = %record.device,
        serial = %identity.certificate().serial,
        expires = %identity.certificate().not_after,
        "agent running"
    );
    let (stop, stopped) = watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let mut renewal = spawn_renewal(identity.clone(), until_stopped());
    let mut watcher = tokio::spawn(watch_device(identity, until_stopped()));
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
        end = &mut watcher => match end? {
            WatchEnd::Shutdown => Ok(()),
            end => Err(anyhow::Error::new(end)),
        },
    };
    let _ = stop.send(true);
    // Whichever task is still running sees the stop and ends at its next await.
    if !renewal.is_finished() {
        let _ = renewal.await;
    }
    if !watcher.is_finished() {
        let _ = watcher.await;
    }
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
