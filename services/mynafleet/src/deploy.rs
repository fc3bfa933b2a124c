//! `mynafleet deploy init`: writes what a one-host install needs before its first start —
//! the internal CA and the four service certificates, activation's device CA, every key
//! file, and one configuration file per service — into one directory, with keys 0600 and
//! directories 0700. It reuses the CAs and key files `mynafleet dev` makes (kit's
//! [`DevPki`], activation's `DeviceCa`, the account service's `Keys`), so there is one CA
//! implementation. It never overwrites a file without `--force`, never prints a key, and
//! never connects to a database or a service.

mod configs;

use anyhow::{Context as _, bail};
use mynafleet_kit::tls::CertificateAuthority;
use mynafleet_kit::tls::dev::{DevPki, write_private};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

pub use configs::{Databases, Hosts};

/// The services `deploy init` makes certificates and configuration files for.
pub const SERVICES: [&str; 4] = ["account", "activation", "eligibility-proxy", "oqs-sim"];
/// Lifetime of the internal CA (ten years).
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Lifetime of a service certificate (one year; docs/operations.md says how to renew).
pub const SERVICE_CERT_VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
const CA_NAME: &str = "MynaFleet internal CA";
/// Whether `[server] metrics_listen` is written (the key `serve` reads for its metrics port).
const METRICS_LISTEN: bool = true;

/// Flags of `mynafleet deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DeployCommand,
}

/// The subcommands of `mynafleet deploy`.
#[derive(Debug, clap::Subcommand)]
pub enum DeployCommand {
    /// Writes certificates, keys and per-service configuration files for a one-host install.
    Init(InitArgs),
}

/// Flags of `mynafleet deploy init`.
#[derive(Clone, Debug, clap::Args)]
pub struct InitArgs {
    /// The directory to write into (certs/, keys/, config/, data/); created 0700.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A DNS name clients and terminals use for the services (repeatable); the first one
    /// is what terminals are told to connect to.
    #[arg(long = "dns", value_name = "NAME")]
    pub dns: Vec<String>,
    /// An IP address clients and terminals use for the services (repeatable).
    #[arg(long = "ip", value_name = "ADDR")]
    pub ip: Vec<IpAddr>,
    /// The PostgreSQL server, e.g. postgres://mynafleet@127.0.0.1:5432 (no database name):
    /// the services use databases mynafleet_account, mynafleet_activation and
    /// mynafleet_eligibility_proxy on it. Without it: SQLite files under DIR/data/.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Replaces every file an earlier `deploy init` wrote (new CAs and keys: everything
    /// issued or sealed with the old ones stops working).
    #[arg(long)]
    pub force: bool,
}

/// Runs the deploy subcommand.
pub async fn run(args: DeployArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DeployCommand::Init(init_args) => {
            let owner = match &init_args.postgres {
                Some(url) => Databases::postgres(url)?.user(),
                None => None,
            };
            let layout = tokio::task::spawn_blocking(move || init(&init_args))
                .await
                .context("deploy init stopped unexpectedly")??;
            print_summary(&layout, owner.as_deref().unwrap_or("mynafleet"));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Where `deploy init` puts each file under its output directory.
#[derive(Clone, Debug)]
pub struct Layout {
    /// The output directory, absolute.
    pub root: PathBuf,
    /// Whether the services use PostgreSQL (else SQLite under `data/`).
    pub postgres: bool,
}

impl Layout {
    /// Certificates: `ca.pem`, `<svc>.pem`, `device-ca.pem` and the two CA-issued keys.
    pub fn certs(&self) -> PathBuf {
        self.root.join("certs")
    }

    /// Key files.
    pub fn keys(&self) -> PathBuf {
        self.root.join("keys")
    }

    /// Configuration files, one per service.
    pub fn config_dir(&self) -> PathBuf {
        self.root.join("config")
    }

    /// SQLite databases (when no PostgreSQL URL was given).
    pub fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The configuration file of `service`.
    pub fn config(&self, service: &str) -> PathBuf {
        self.config_dir().join(format!("{service}.toml"))
    }

    /// The internal CA's key, which belongs offline once init is done.
    pub fn ca_key(&self) -> PathBuf {
        self.certs().join("ca-key.pem")
    }

    /// oqs-sim's test JPKI CA (a simulator's CA; the proxy's test root).
    pub fn jpki_test_ca(&self) -> PathBuf {
        self.keys().join("jpki-test-ca")
    }

    /// Every file (and the test CA directory) `init` writes.
    pub fn generated(&self) -> Vec<PathBuf> {
        let (certs, keys) = (self.certs(), self.keys());
        let mut files = vec![certs.join("ca.pem"), self.ca_key()];
        for svc in SERVICES {
            files.push(certs.join(format!("{svc}.pem")));
            files.push(certs.join(format!("{svc}-key.pem")));
        }
        files.push(certs.join("device-ca.pem"));
        for key in [
            "device-ca-key.pem",
            "totp.key",
            "reference.key",
            "audit-signing.key",
            "challenge.key",
        ] {
            files.push(keys.join(key));
        }
        files.push(self.jpki_test_ca());
        files.extend(SERVICES.iter().map(|svc| self.config(svc)));
        files
    }
}

/// Writes everything into `args.out` and returns where it went.
pub fn init(args: &InitArgs) -> anyhow::Result<Layout> {
    let databases = match &args.postgres {
        Some(url) => Databases::postgres(url)?,
        None => Databases::Sqlite,
    };
    let hosts = Hosts::new(&args.dns, &args.ip)?;
    let created = !args.out.exists();
    std::fs::create_dir_all(&args.out).with_context(|| format!("create {}", args.out.display()))?;
    let root = args
        .out
        .canonicalize()
        .with_context(|| format!("resolve {}", args.out.display()))?;
    let layout = Layout {
        root,
        postgres: args.postgres.is_some(),
    };
    if created {
        private_dir(&layout.root)?;
    }
    let existing: Vec<PathBuf> = layout
        .generated()
        .into_iter()
        .filter(|p| p.exists())
        .collect();
    if let Some(first) = existing.first() {
        if !args.force {
            bail!(
                "{} already exists ({} generated files in all); refusing to overwrite \
                 (--force replaces them with new CAs and keys)",
                first.display(),
                existing.len()
            );
        }
        for path in &existing {
            remove(path)?;
        }
    }
    for dir in [layout.certs(), layout.keys(), layout.config_dir()] {
        private_dir(&dir)?;
    }
    if !layout.postgres {
        private_dir(&layout.data())?;
    }
    write_pki(&layout, &hosts)?;
    write_keys(&layout)?;
    for svc in SERVICES {
        let text = configs::render(svc, &layout, &hosts, &databases);
        let path = layout.config(svc);
        // Private: a PostgreSQL URL may carry a password.
        write_private(&path, &text).with_context(|| format!("write {}", path.display()))?;
    }
    Ok(layout)
}

fn write_pki(layout: &Layout, hosts: &Hosts) -> anyhow::Result<()> {
    let certs = layout.certs();
    let ca = CertificateAuthority::generate(CA_NAME, CA_VALIDITY).context("make the CA")?;
    write_private(&layout.ca_key(), ca.key_pem())?;
    write_public(&certs.join("ca.pem"), ca.cert_pem())?;
    // DevPki finds the CA just written and writes `<svc>.pem` (leaf + CA) and `<svc>-key.pem`
    // (0600) beside it.
    let pki = DevPki::load_or_create(&certs).context("load the CA just written")?;
    for svc in SERVICES {
        let names = hosts.certificate_names(svc);
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        pki.service_identity_for(svc, &names, SERVICE_CERT_VALIDITY)
            .with_context(|| format!("issue the {svc} certificate"))?;
    }
    let device_ca = mynafleet_activation::DeviceCa::generate().context("make the device CA")?;
    write_private(
        &layout.keys().join("device-ca-key.pem"),
        device_ca.authority().key_pem(),
    )?;
    write_public(&certs.join("device-ca.pem"), device_ca.cert_pem())?;
    mynafleet_oqs_sim::test_ca_pem(&layout.jpki_test_ca())
        .context("make oqs-sim's test JPKI CA")?;
    private_dir(&layout.jpki_test_ca())
}

fn write_keys(layout: &Layout) -> anyhow::Result<()> {
    let keys = layout.keys();
    mynafleet_account::Keys::load_or_create(&keys)
        .context("make the account service's key files")?;
    mynafleet_kit::keys::SecretKey::load_or_create(&keys.join("challenge.key"))
        .context("make the proxy's challenge key")?;
    Ok(())
}

fn write_public(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("write {}", path.display()))
}

fn remove(path: &Path) -> anyhow::Result<()> {
    let removed = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.with_context(|| format!("remove {}", path.display()))
}

/// Creates `dir` (and parents) and makes it 0700.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("make {} private (0700)", dir.display()))?;
    }
    Ok(())
}

fn print_summary(layout: &Layout, owner: &str) {
    let root = layout.root.display();
    let bin = "mynafleet";
    println!("Wrote a MynaFleet deployment to {root}:");
    println!("  certs/   internal CA (ca.pem), service certificates, device CA certificate");
    println!("  keys/    TOTP, patient-reference, audit-signing, challenge and device-CA keys");
    println!("  config/  account.toml activation.toml eligibility-proxy.toml oqs-sim.toml");
    println!();
    println!(
        "IMPORTANT: {} is the internal CA's key. Nothing running needs it:",
        layout.ca_key().display()
    );
    println!("  move it to offline storage now (you need it only to issue new service");
    println!("  certificates) and back up keys/ — losing keys/ loses operators' TOTP");
    println!("  enrolments, patient-reference search and device enrolment (docs/operations.md).");
    println!();
    println!("Next steps (docs/operations.md has the details):");
    let mut step = 1;
    if layout.postgres {
        println!("  {step}. create the databases (as the PostgreSQL superuser):");
        for db in Databases::NAMES {
            println!("       createdb --owner {owner} {db}");
        }
        step += 1;
    }
    println!("  {step}. start each service (its own process, or systemd unit):");
    for svc in SERVICES {
        println!(
            "       {bin} serve {svc} --config {}",
            layout.config(svc).display()
        );
    }
    step += 1;
    println!("  {step}. make the first organization and its org_admin:");
    println!(
        "       {bin} admin bootstrap --config {} --organization NAME --login-id ID --display-name NAME",
        layout.config("account").display()
    );
    step += 1;
    println!("  {step}. check each service:");
    println!(
        "       {bin} health --url https://localhost:7501 --ca {}/certs/ca.pem",
        root
    );
    println!(
        "     and log in: {bin} admin --endpoint https://localhost:7501 --ca {}/certs/ca.pem login",
        root
    );
    println!();
    println!("The eligibility proxy is configured for oqs-sim's test cards (production = false);");
    println!("for real My Number cards see \"Going live\" in docs/operations.md.");
}

#[cfg(test)]
mod tests;
