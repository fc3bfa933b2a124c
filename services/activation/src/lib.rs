//! The activation service: one-time activation codes, the device CA and the device registry.
//! Today it serves the registry's list, checked against the account service over service
//! mTLS; codes, `Activate` and the device CA arrive with #4.
//!
//! It owns its database and reaches the account service only through `client.rs`.

mod client;
mod config;
mod device;
mod error;
mod grpc;
pub mod store;

pub use config::{Config, FileConfig, Peers};
pub use device::{Device, DeviceStatus};
pub use error::{Error, Result};

use mynafleet_kit::db::{MigrationFile, Migrations};
use std::future::Future;

/// The service's short name: its SAN URI, span attribute and data file stem.
pub const SERVICE_NAME: &str = "activation";

/// The activation service's migrations.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[MigrationFile {
        version: 1,
        description: "create_devices",
        sql: include_str!("../migrations/sqlite/0001_create_devices.sql"),
    }],
    postgres: &[MigrationFile {
        version: 1,
        description: "create_devices",
        sql: include_str!("../migrations/postgres/0001_create_devices.sql"),
    }],
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
    let (frame, routes) = grpc::frame(config, pool, account);
    mynafleet_kit::grpc::serve(frame, routes, listener, shutdown)
        .await
        .context("serve activation")?;
    Ok(())
}
