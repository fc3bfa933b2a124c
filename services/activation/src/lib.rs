//! The activation service: one-time activation codes, the device CA and the device registry.
//! Terminals activate with the four items of their sheet and a CSR, and renew over their
//! device certificate; operators issue codes and suspend, resume, revoke or replace
//! devices; proxies watch device status. Account suspensions and ends cascade to devices.
//!
//! It owns its database and reaches the account service only through `client.rs`; its
//! audit records go through a local outbox to the account service's central store.

pub mod activation_code;
mod audit;
mod auth;
pub mod ca;
mod cascade;
mod client;
mod config;
mod device;
mod error;
mod forward;
mod grpc;
mod metrics;
mod presence;
mod registry;
pub mod store;

pub use ca::DeviceCa;
pub use config::{ActivationSection, Config, DeviceCaFiles, FileConfig, LockoutPolicy, Peers};
pub use device::{Device, DeviceFacts, DeviceStatus, StatusCause};
pub use error::{Error, Result};

use mynafleet_kit::db::{MigrationFile, Migrations};
use std::future::Future;

/// The service's short name: its SAN URI, span attribute and data file stem.
pub const SERVICE_NAME: &str = "activation";

/// The activation service's migrations.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        MigrationFile {
            version: 1,
            description: "create_devices",
            sql: include_str!("../migrations/sqlite/0001_create_devices.sql"),
        },
        MigrationFile {
            version: 2,
            description: "create_activation",
            sql: include_str!("../migrations/sqlite/0002_create_activation.sql"),
        },
        MigrationFile {
            version: 3,
            description: "add_audit_outbox_patient_refs",
            sql: include_str!("../migrations/sqlite/0003_add_audit_outbox_patient_refs.sql"),
        },
        MigrationFile {
            version: 4,
            description: "create_device_presence",
            sql: include_str!("../migrations/sqlite/0004_create_device_presence.sql"),
        },
    ],
    postgres: &[
        MigrationFile {
            version: 1,
            description: "create_devices",
            sql: include_str!("../migrations/postgres/0001_create_devices.sql"),
        },
        MigrationFile {
            version: 2,
            description: "create_activation",
            sql: include_str!("../migrations/postgres/0002_create_activation.sql"),
        },
        MigrationFile {
            version: 3,
            description: "add_audit_outbox_patient_refs",
            sql: include_str!("../migrations/postgres/0003_add_audit_outbox_patient_refs.sql"),
        },
        MigrationFile {
            version: 4,
            description: "create_device_presence",
            sql: include_str!("../migrations/postgres/0004_create_device_presence.sql"),
        },
    ],
};

/// Runs the activation service on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let pool = mynafleet_kit::db::connect(&config.database_url, &MIGRATIONS)
        .await
        .context("open activation store")?;
    let account = client::AccountClient::new(&config).context("build account client")?;
    let token = tokio_util::sync::CancellationToken::new();
    // Background work stops with the server: the account-event cascade and the audit
    // forwarder (which tries once more to empty the outbox as it stops).
    let cascade = tokio::spawn(cascade::run(
        pool.clone(),
        account.clone(),
        config.clock.clone(),
        token.clone(),
    ));
    let forwarder = tokio::spawn(forward::run(pool.clone(), account.clone(), token.clone()));
    let _metrics = metrics::start(pool.clone(), config.clock.clone());
    let api = grpc::Api::new(config, pool, account, token.clone());
    let (frame, routes) = grpc::frame(api);
    let stop = token.clone();
    let served = mynafleet_kit::grpc::serve(frame, routes, listener, async move {
        shutdown.await;
        stop.cancel();
    })
    .await;
    token.cancel();
    for (task, name) in [(cascade, "account cascade"), (forwarder, "audit forwarder")] {
        if let Err(e) = task.await {
            tracing::error!(error = %e, task = name, "background task failed");
        }
    }
    served.context("serve activation")?;
    Ok(())
}
