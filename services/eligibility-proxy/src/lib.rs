//! The eligibility proxy: agents' event streams in, eligibility checks out (#5, #6). It serves
//! `AgentService` (`WhoAmI`, the `WatchDevice` stream, the `StreamEvents` uplink whose events
//! it stores once per (device, seq) and whose presence it forwards to activation) and
//! `EligibilityService` for devices. Every agent call is let through only for a device
//! activation reports ACTIVE, from a status cache fed by activation's device-status watch and
//! never older than `status_max_age`.
//!
//! It reaches activation and account only through `client.rs`; its database holds challenge
//! claims, the audit outbox and scan events.

mod audit;
mod challenge;
mod check;
mod client;
mod config;
mod error;
mod events;
mod gate;
mod grpc;
mod handoff;
mod metrics;
mod oqs;
mod presence;
mod scope;
mod status;
mod store;
mod upstream;
mod verify;
mod watch;

pub use config::{
    Config, FileConfig, FileInterfaceConfig, HandoffConfig, ProxyKeys, TrustRoots, UpstreamConfig,
    UpstreamKind, XmlEncoding,
};

use std::future::Future;

/// The service's short name: its SAN URI and span attribute.
pub const SERVICE_NAME: &str = "eligibility-proxy";

/// Runs the proxy on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let pool = store::connect(&config.database_url)
        .await
        .context("open the proxy database")?;
    let activation = client::ActivationClient::new(&config).context("build activation client")?;
    let account = client::AccountClient::new(&config).context("build account client")?;
    let trust = verify::TrustStore::new(&config.trust, config.production)
        .context("read the JPKI trust roots")?;
    let upstreams = upstream::Upstreams::from_config(&config).context("build the upstreams")?;
    let cache = status::StatusCache::new(config.status_max_age);
    let token = tokio_util::sync::CancellationToken::new();
    // The store and the audit forwarder outlive the server: checks still being answered
    // while it drains must get their records written.
    let background = tokio_util::sync::CancellationToken::new();
    // A watch silent for twice the freshness bound is reopened; heartbeats come every 500 ms.
    let watcher = tokio::spawn(watch::run(
        activation.clone(),
        cache.clone(),
        config.status_max_age * 2,
        token.clone(),
    ));
    let scopes = scope::Scopes::new(
        account.clone(),
        config.status_max_age * 2,
        config.call_timeout,
    );
    let scope_watch = tokio::spawn(scopes.clone().run(token.clone()));
    let store = store::Store::spawn(pool, background.clone());
    let _metrics = metrics::start(store.pool().clone());
    let event_store = events::EventStore::spawn(store.pool().clone(), background.clone());
    let forwarder = audit::spawn_forwarder(store.pool().clone(), account, background.clone());
    let pruner = tokio::spawn(store::run_pruner(
        store.pool().clone(),
        config.clock.clone(),
        background.clone(),
    ));
    let gate = gate::Gate::new(cache, activation.clone());
    let checker = check::Checker::new(
        challenge::Challenges::new(
            config.keys.challenge.clone(),
            config.challenge_ttl,
            config.clock.clone(),
        ),
        std::sync::Arc::new(trust),
        upstreams,
        scopes,
        store,
        handoff::Handoff::new(config.handoff.clone()),
        config.clock.clone(),
        config.keys.reference.clone(),
    );
    let eligibility = grpc::Eligibility::new(gate.clone(), std::sync::Arc::new(checker));
    let (presences, presence_forwarder) = presence::Presences::spawn(
        activation.clone(),
        config.clock.clone(),
        presence::instance_name(listener.local_addr().map_or(0, |a| a.port())),
        background.clone(),
    );
    let agents = grpc::Agents::new(
        gate,
        presences,
        event_store,
        config.watch_heartbeat,
        config.clock.clone(),
        token.clone(),
    );
    let (frame, routes) = grpc::frame(config.tls, agents, eligibility);
    let stop = token.clone();
    let served = mynafleet_kit::grpc::serve(frame, routes, listener, async move {
        shutdown.await;
        stop.cancel();
    })
    .await;
    // The server may also stop on its own (an error); everything stops with it.
    token.cancel();
    background.cancel();
    for (name, task) in [
        ("device status watch", watcher),
        ("account scope watch", scope_watch),
        ("audit forwarder", forwarder),
        ("challenge pruner", pruner),
        ("presence forwarder", presence_forwarder),
    ] {
        if let Err(e) = task.await {
            tracing::warn!(error = %e, task = name, "background task failed");
        }
    }
    served.context("serve eligibility-proxy")?;
    Ok(())
}
