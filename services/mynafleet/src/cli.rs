//! The command line of `mynafleet`: `dev`, `serve <service>` and `admin …`, and what `dev`
//! does once parsed. Flags override `MYNAFLEET_…` variables, which override config files.

use crate::admin;
use crate::dev::{self, Databases, Listeners, Ports, Setup};
use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use mynafleet_kit::clock::Clock;
use mynafleet_kit::db::sqlite_file_url;
use mynafleet_kit::tls::dev::DevPki;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Central control of My Number card eligibility terminals for clinic chains.
#[derive(Debug, Parser)]
#[command(name = "mynafleet", version)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs every service in one process on 127.0.0.1 with SQLite and the simulated upstream.
    Dev(DevArgs),
    /// Runs one service, configured by a TOML file and MYNAFLEET_<SERVICE>_… variables.
    Serve(ServeArgs),
    /// The operator CLI: log in, clinics, device accounts, applications, operators, audit.
    Admin(crate::admin::AdminArgs),
    /// Asks a service's grpc.health.v1 over TLS; exit 0 when SERVING (container probes).
    Health(crate::health::HealthArgs),
    /// Deployment helpers: `deploy init` writes certificates, keys and configuration files.
    Deploy(crate::deploy::DeployArgs),
}

/// Flags of `mynafleet dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// Where SQLite files, certificates and endpoints.json live; kept across restarts.
    #[arg(long, env = "MYNAFLEET_DEV_DATA_DIR", default_value = ".mynafleet-dev")]
    pub data_dir: PathBuf,
    /// The address every service listens on.
    #[arg(long, env = "MYNAFLEET_DEV_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The account service's port (0 = any free port).
    #[arg(long, env = "MYNAFLEET_DEV_ACCOUNT_PORT", default_value_t = Ports::DEFAULT.account)]
    pub account_port: u16,
    /// The activation service's port (0 = any free port).
    #[arg(long, env = "MYNAFLEET_DEV_ACTIVATION_PORT", default_value_t = Ports::DEFAULT.activation)]
    pub activation_port: u16,
    /// The eligibility proxy's port (0 = any free port).
    #[arg(long, env = "MYNAFLEET_DEV_PROXY_PORT", default_value_t = Ports::DEFAULT.eligibility_proxy)]
    pub proxy_port: u16,
    /// The OQS simulator's port (0 = any free port).
    #[arg(long, env = "MYNAFLEET_DEV_OQS_SIM_PORT", default_value_t = Ports::DEFAULT.oqs_sim)]
    pub oqs_sim_port: u16,
    /// The port of the one metrics endpoint of every service (plain HTTP, 0 = any).
    #[arg(long, env = "MYNAFLEET_DEV_METRICS_PORT", default_value_t = Ports::DEFAULT.metrics)]
    pub metrics_port: u16,
    /// An OTLP/gRPC collector for traces, e.g. http://127.0.0.1:4317 (unset = no export).
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
}

/// The services `serve` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Service {
    /// Organizations, clinics, operators, device accounts, audit store.
    Account,
    /// Activation codes, device CA, device registry.
    Activation,
    /// Agent streams and eligibility checks.
    EligibilityProxy,
    /// The simulated national eligibility system.
    OqsSim,
}

impl Service {
    /// Returns the service's name, as in its certificate and environment prefix.
    pub fn name(self) -> &'static str {
        match self {
            Service::Account => mynafleet_account::SERVICE_NAME,
            Service::Activation => mynafleet_activation::SERVICE_NAME,
            Service::EligibilityProxy => mynafleet_eligibility_proxy::SERVICE_NAME,
            Service::OqsSim => mynafleet_oqs_sim::SERVICE_NAME,
        }
    }

    /// Returns the default port of its metrics endpoint (DESIGN.md §7: 9501–9504).
    pub fn metrics_port(self) -> u16 {
        match self {
            Service::Account => 9501,
            Service::Activation => 9502,
            Service::EligibilityProxy => 9503,
            Service::OqsSim => 9504,
        }
    }

    /// Returns the prefix of the variables that override its file: `MYNAFLEET_ACCOUNT_`, …
    pub fn env_prefix(self) -> String {
        format!(
            "MYNAFLEET_{}_",
            self.name().to_uppercase().replace('-', "_")
        )
    }
}

/// Flags of `mynafleet serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Which service to run.
    pub service: Service,
    /// Its TOML configuration file (see docs/operations.md).
    #[arg(long)]
    pub config: PathBuf,
}

/// The files `mynafleet dev` keeps in its data directory.
#[derive(Debug)]
pub struct DevLayout {
    /// The data directory, absolute.
    pub root: PathBuf,
}

impl DevLayout {
    /// Returns the layout of `dir`, made absolute.
    pub fn new(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("create data directory {}", dir.display()))?;
        let root = dir
            .canonicalize()
            .with_context(|| format!("resolve data directory {}", dir.display()))?;
        Ok(Self { root })
    }

    /// The certificates' directory.
    pub fn certs(&self) -> PathBuf {
        self.root.join("certs")
    }

    /// The endpoints file other programs read.
    pub fn endpoints(&self) -> PathBuf {
        self.root.join("endpoints.json")
    }
}

/// Runs `mynafleet dev` until Ctrl-C or SIGTERM, or until a service fails.
pub async fn run_dev(args: DevArgs) -> anyhow::Result<()> {
    let layout = DevLayout::new(&args.data_dir)?;
    let pki = DevPki::load_or_create(&layout.certs()).context("load development CA")?;
    let ca_bundle = pki
        .ca_bundle_path()
        .context("development CA has no directory")?;
    let listeners = Listeners::bind(
        args.host,
        Ports {
            account: args.account_port,
            activation: args.activation_port,
            eligibility_proxy: args.proxy_port,
            oqs_sim: args.oqs_sim_port,
            metrics: args.metrics_port,
        },
    )
    .await?;
    // A leftover file from an earlier run must not be mistaken for this one's.
    let _ = std::fs::remove_file(layout.endpoints());
    let account_db = sqlite_file_url(&layout.root.join("account.db"));
    let account_keys = mynafleet_account::Keys::load_or_create(&layout.root)
        .context("read or create the account service's keys")?;
    let ca_pem = pki.ca().cert_pem().to_owned();
    // Before the services start: bootstrap applies the account migrations on a fresh data dir.
    let demo = admin::demo::bootstrap(
        &layout.root,
        &admin::demo::account_config(account_db.clone(), account_keys.clone(), &ca_pem),
    )
    .await;
    let setup = Setup {
        pki,
        databases: Databases {
            account: account_db,
            activation: sqlite_file_url(&layout.root.join("activation.db")),
            eligibility_proxy: sqlite_file_url(&layout.root.join("eligibility-proxy.db")),
        },
        clock: Clock::system(),
        device_ca: mynafleet_activation::DeviceCa::load_or_create(&layout.root)
            .context("read or create the device CA")?,
        certificate_lifetime: std::time::Duration::from_secs(24 * 3600),
        account_keys,
        challenge_key: mynafleet_kit::keys::SecretKey::load_or_create(
            &layout.root.join("challenge.key"),
        )
        .context("read or create the proxy's challenge key")?,
        jpki_dir: layout.root.join("jpki-test-ca"),
        customize: None,
    };
    let token = mynafleet_kit::shutdown::on_signal();
    let running = dev::start(setup, listeners, token)?;
    let a = running.addresses;
    let endpoints = serde_json::json!({
        "account": format!("localhost:{}", a.account.port()),
        "activation": format!("localhost:{}", a.activation.port()),
        "eligibility_proxy": format!("localhost:{}", a.eligibility_proxy.port()),
        "oqs_sim": format!("localhost:{}", a.oqs_sim.port()),
        "metrics": format!("http://{}/metrics", a.metrics),
        "ca_bundle": ca_bundle.display().to_string(),
    });
    write_atomically(
        &layout.endpoints(),
        &serde_json::to_string_pretty(&endpoints)?,
    )?;
    println!(
        "MynaFleet dev is running; data in {}",
        layout.root.display()
    );
    println!("  account            {}", dev::url(a.account));
    println!("  activation         {}", dev::url(a.activation));
    println!("  eligibility-proxy  {}", dev::url(a.eligibility_proxy));
    println!("  oqs-sim            {}", dev::url(a.oqs_sim));
    println!("  metrics            http://{}/metrics", a.metrics);
    println!("  CA bundle          {}", ca_bundle.display());
    println!("  endpoints file     {}", layout.endpoints().display());
    admin::demo::finish(demo, &dev::url(a.account), &ca_pem).await;
    println!("Press Ctrl-C to stop.");
    let result = running.wait().await;
    let _ = std::fs::remove_file(layout.endpoints());
    result?;
    println!("MynaFleet dev stopped.");
    Ok(())
}

fn write_atomically(path: &Path, contents: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, contents).with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("write {}", path.display()))
}
