//! The account service: organizations (clinic groups), clinics, operators, device accounts,
//! applications and the central audit store.
//!
//! It owns its database and is reached only over gRPC; it never reads another service's
//! tables. Only `grpc/` and `client.rs` (its calls to the activation service) see prost
//! types.

pub mod application;
pub mod audit;
pub mod audit_seal;
pub mod auth;
mod bootstrap;
mod client;
pub mod clinic;
mod config;
pub mod device_account;
mod error;
mod grpc;
mod metrics;
pub mod names;
pub mod operator;
mod organization;
mod password;
pub mod sheet;
pub mod store;
pub mod totp;

pub use bootstrap::{Bootstrapped, bootstrap, bootstrap_with_pool};
pub use clinic::{ClinicKind, CodeWarning, FacilityCode, InstitutionCode, RegistrationNumber};
pub use config::{
    ActivationPeer, AuditSection, AuditSettings, Config, FileConfig, Keys,
    MIN_PRODUCTION_RETENTION_DAYS, SessionPolicy, SheetSettings,
};
pub use error::{Error, Result};
pub use organization::{DisplayName, NewOrganization, Organization, OrganizationId, PageToken};

use mynafleet_kit::db::{MigrationFile, Migrations};
use std::future::Future;

/// The service's short name: its SAN URI, span attribute and data file stem.
pub const SERVICE_NAME: &str = "account";

/// The account service's migrations.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        MigrationFile {
            version: 1,
            description: "create_organizations",
            sql: include_str!("../migrations/sqlite/0001_create_organizations.sql"),
        },
        MigrationFile {
            version: 2,
            description: "create_portal",
            sql: include_str!("../migrations/sqlite/0002_create_portal.sql"),
        },
        MigrationFile {
            version: 3,
            description: "add_audit_detail",
            sql: include_str!("../migrations/sqlite/0003_add_audit_detail.sql"),
        },
        MigrationFile {
            version: 4,
            description: "create_audit_chain",
            sql: include_str!("../migrations/sqlite/0004_create_audit_chain.sql"),
        },
        MigrationFile {
            version: 5,
            description: "index_audit_patient",
            sql: include_str!("../migrations/sqlite/0005_index_audit_patient.sql"),
        },
    ],
    postgres: &[
        MigrationFile {
            version: 1,
            description: "create_organizations",
            sql: include_str!("../migrations/postgres/0001_create_organizations.sql"),
        },
        MigrationFile {
            version: 2,
            description: "create_portal",
            sql: include_str!("../migrations/postgres/0002_create_portal.sql"),
        },
        MigrationFile {
            version: 3,
            description: "add_audit_detail",
            sql: include_str!("../migrations/postgres/0003_add_audit_detail.sql"),
        },
        MigrationFile {
            version: 4,
            description: "create_audit_chain",
            sql: include_str!("../migrations/postgres/0004_create_audit_chain.sql"),
        },
        MigrationFile {
            version: 5,
            description: "index_audit_patient",
            sql: include_str!("../migrations/postgres/0005_index_audit_patient.sql"),
        },
    ],
};

/// Runs the account service on `listener` until `shutdown` completes.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let pool = mynafleet_kit::db::connect(&config.database_url, &MIGRATIONS)
        .await
        .context("open account store")?;
    audit_seal::start(&pool, &config)
        .await
        .context("prepare the audit chain")?;
    // Streams end on this token; the frame then waits for their connections to close.
    let streams = tokio_util::sync::CancellationToken::new();
    // The checkpointer and retention stop on this one.
    let tasks = tokio_util::sync::CancellationToken::new();
    let sealing = audit_seal::spawn(pool.clone(), &config, tasks.clone());
    let _metrics = metrics::start(pool.clone(), config.clock.clone());
    let (frame, routes) = match grpc::frame(config, pool, streams.clone()) {
        Ok(built) => built,
        Err(e) => {
            tasks.cancel();
            return Err(e).context("build the activation client");
        }
    };
    let stop_tasks = tasks.clone();
    let shutdown = async move {
        shutdown.await;
        streams.cancel();
        stop_tasks.cancel();
    };
    let served = mynafleet_kit::grpc::serve(frame, routes, listener, shutdown)
        .await
        .context("serve account");
    tasks.cancel();
    for task in sealing {
        // A task that panicked has nothing left to stop; its panic was already reported.
        let _ = task.await;
    }
    served?;
    Ok(())
}
