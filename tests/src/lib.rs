//! The whole-suite test harness. [`Suite::start`] binds every listener on `127.0.0.1:0`,
//! builds each service's configuration from the real addresses through the same wiring as
//! `mynafleet dev`, issues certificates in memory, and runs every service in-process on
//! temp-dir SQLite or on a fresh PostgreSQL database. Dropping the suite stops it.
//!
//! Logs print only with `TEST_LOG=1`.

use mynafleet::dev::{self, Addresses, Databases, Listeners, Ports, Setup};
use mynafleet_kit::auth::{DeviceIdentity, device_uri};
use mynafleet_kit::clock::Clock;
pub use mynafleet_kit::db::Backend;
use mynafleet_kit::db::testing::{TestDatabase, fresh_database};
use mynafleet_kit::tls::ca::LeafUse;
use mynafleet_kit::tls::dev::DevPki;
use mynafleet_kit::tls::{CertificateAuthority, ClientTls, TlsIdentity};
use mynafleet_proto::tonic::transport::Channel;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub mod admin;
pub mod api_docs;
pub mod bench;
pub mod binaries;
pub mod cable;
pub mod card;
pub mod child;
pub mod cluster;
pub mod fleet;
pub mod health;
pub mod jpki;
pub mod late_proxy;
pub mod metrics;
pub mod operators;
pub mod otlp;
pub mod pcscd;
pub mod ports;
pub mod terminal_api;
pub mod terminal_host;

const DAY: Duration = Duration::from_secs(86_400);
/// How long a test waits for something that should happen at once.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Expands e2e cases `async fn case(backend: Backend)` into one `#[tokio::test]` per backend,
/// in modules `sqlite` and `postgres`: `on_both_backends!(case_a, case_b);`
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case($crate::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// Installs the test log subscriber once per process when `TEST_LOG` is set.
pub fn init_test_log() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(
                    "debug,h2=info,hyper=info",
                ))
                .with_test_writer()
                .try_init();
        }
    });
}

/// Changes the proxy's and simulator's configuration; gets the suite's directory.
pub type CustomizeFn =
    Box<dyn FnOnce(&mut dev::ProxyConfig, &mut dev::OqsConfig, &std::path::Path) + Send>;

/// How to start a suite.
pub struct SuiteOptions {
    /// Where the services store.
    pub backend: Backend,
    /// Lifetime of the device certificates activation issues.
    pub certificate_lifetime: Duration,
    /// Last-minute changes to the proxy's and simulator's configuration; the suite's
    /// directory is passed for folders.
    pub customize: Option<CustomizeFn>,
    /// Activation reaches the account service through a [`cable::Cable`] the test can cut
    /// ([`Suite::account_cable`]); everyone else reaches it directly.
    pub account_cable: bool,
}

impl std::fmt::Debug for SuiteOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SuiteOptions")
            .field("backend", &self.backend)
            .field("certificate_lifetime", &self.certificate_lifetime)
            .field("customize", &self.customize.is_some())
            .field("account_cable", &self.account_cable)
            .finish()
    }
}

impl Default for SuiteOptions {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            certificate_lifetime: DAY,
            customize: None,
            account_cable: false,
        }
    }
}

impl SuiteOptions {
    /// Returns the default options on `backend`.
    pub fn on(backend: Backend) -> Self {
        Self {
            backend,
            ..Self::default()
        }
    }
}

/// Which service a client talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The account service.
    Account,
    /// The activation service.
    Activation,
    /// The eligibility proxy.
    EligibilityProxy,
    /// The OQS simulator.
    OqsSim,
}

impl Target {
    /// Every service.
    pub const ALL: [Target; 4] = [
        Target::Account,
        Target::Activation,
        Target::EligibilityProxy,
        Target::OqsSim,
    ];
}

/// Who a test client claims to be.
#[derive(Clone, Debug)]
pub enum As {
    /// Nobody: no client certificate.
    Anonymous,
    /// A service, with a certificate from the internal CA.
    Service(&'static str),
    /// A device, with a certificate from the suite's device CA.
    Device(DeviceIdentity),
    /// Someone with a certificate from a CA no service trusts.
    Stranger,
}

/// A running suite.
#[derive(Debug)]
pub struct Suite {
    /// Where each service listens.
    pub addresses: Addresses,
    /// The clock every service reads; tests advance it instead of waiting.
    pub clock: Clock,
    ca_pem: String,
    services: Vec<(&'static str, TlsIdentity)>,
    device_ca: mynafleet_activation::DeviceCa,
    stranger_ca: CertificateAuthority,
    token: CancellationToken,
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    account_database_url: String,
    account_cable: Option<cable::Cable>,
    _databases: Vec<TestDatabase>,
    dir: tempfile::TempDir,
}

impl Suite {
    /// Starts every service on SQLite and waits until each reports SERVING.
    pub async fn start() -> Self {
        Self::start_with(SuiteOptions::default()).await
    }

    /// Starts every service as `options` say and waits until each reports SERVING.
    pub async fn start_with(options: SuiteOptions) -> Self {
        init_test_log();
        let listeners = Listeners::bind(IpAddr::V4(Ipv4Addr::LOCALHOST), Ports::ANY)
            .await
            .expect("bind 127.0.0.1:0 listeners");
        let account_db = fresh_database(options.backend).await;
        let activation_db = fresh_database(options.backend).await;
        let proxy_db = fresh_database(options.backend).await;
        let pki = DevPki::in_memory().expect("make development CA");
        let device_ca = mynafleet_activation::DeviceCa::generate().expect("device CA");
        let stranger_ca =
            CertificateAuthority::generate("Somebody else's CA", DAY).expect("stranger CA");
        let services = ["e2e-tests", "activation"]
            .into_iter()
            .map(|name| {
                (
                    name,
                    pki.service_identity(name).expect("issue test identity"),
                )
            })
            .collect();
        let ca_pem = pki.ca().cert_pem().to_owned();
        let clock = Clock::manual(time::OffsetDateTime::now_utc());
        let dir = tempfile::tempdir().expect("make suite directory");
        let setup = Setup {
            pki,
            databases: Databases {
                account: account_db.url.clone(),
                activation: activation_db.url.clone(),
                eligibility_proxy: proxy_db.url.clone(),
            },
            clock: clock.clone(),
            device_ca: device_ca.clone(),
            certificate_lifetime: options.certificate_lifetime,
            account_keys: mynafleet_account::Keys::load_or_create(dir.path())
                .expect("create account key files"),
            challenge_key: mynafleet_kit::keys::SecretKey::generate().expect("challenge key"),
            jpki_dir: jpki::fixture().ca_dir(),
            customize: options.customize.map(|change| {
                let path = dir.path().to_owned();
                dev::Customize(Box::new(
                    move |proxy: &mut dev::ProxyConfig, oqs: &mut dev::OqsConfig| {
                        change(proxy, oqs, &path);
                    },
                ))
            }),
        };
        let account_cable = if options.account_cable {
            let account = listeners.account.local_addr().expect("account address");
            Some(cable::Cable::start(account).await)
        } else {
            None
        };
        let account_url = account_cable.as_ref().map(cable::Cable::url);
        let token = CancellationToken::new();
        let running = dev::start_with(
            setup,
            listeners,
            token.clone(),
            Box::new(move |activation: &mut dev::ActivationConfig| {
                if let Some(url) = account_url {
                    activation.account_url = url;
                }
            }),
        )
        .expect("start services");
        let addresses = running.addresses;
        let suite = Self {
            addresses,
            clock,
            ca_pem,
            services,
            device_ca,
            stranger_ca,
            token,
            running: Some(tokio::spawn(running.wait())),
            account_database_url: account_db.url.clone(),
            account_cable,
            _databases: vec![account_db, activation_db, proxy_db],
            dir,
        };
        for target in Target::ALL {
            health::wait_serving(suite.channel(target, As::Anonymous), "", DEADLINE).await;
        }
        suite
    }

    /// Returns the URL of a service.
    pub fn url(&self, target: Target) -> String {
        let a = &self.addresses;
        dev::url(match target {
            Target::Account => a.account,
            Target::Activation => a.activation,
            Target::EligibilityProxy => a.eligibility_proxy,
            Target::OqsSim => a.oqs_sim,
        })
    }

    /// Returns the suite's directory: the account service's key files `totp.key` and
    /// `reference.key` live there.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Returns the account service's database URL.
    pub fn account_database_url(&self) -> &str {
        &self.account_database_url
    }

    /// Returns activation's database URL.
    pub fn activation_database_url(&self) -> &str {
        &self._databases[1].url
    }

    /// Returns the cable between activation and the account service.
    ///
    /// # Panics
    /// When the suite was started without `SuiteOptions::account_cable`.
    pub fn account_cable(&self) -> &cable::Cable {
        self.account_cable
            .as_ref()
            .expect("start the suite with SuiteOptions { account_cable: true, .. }")
    }

    /// Returns the eligibility proxy's database URL.
    pub fn proxy_database_url(&self) -> &str {
        &self._databases[2].url
    }

    /// Returns the internal CA certificate (PEM) that issued the servers' certificates.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Returns a channel to `target` that presents `who`'s certificate (if any).
    pub fn channel(&self, target: Target, who: As) -> Channel {
        let identity = match who {
            As::Anonymous => None,
            As::Service(name) => Some(
                self.services
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, id)| id.clone())
                    .unwrap_or_else(|| panic!("the suite issued no identity for service {name}")),
            ),
            As::Device(d) => Some(
                self.device_ca
                    .authority()
                    .issue(&d.device, &device_uri(&d), &[], LeafUse::Client, DAY)
                    .expect("issue device certificate"),
            ),
            As::Stranger => Some(
                self.stranger_ca
                    .issue(
                        "x",
                        "spiffe://mynafleet/service/account",
                        &[],
                        LeafUse::Client,
                        DAY,
                    )
                    .expect("issue stranger certificate"),
            ),
        };
        ClientTls {
            server_ca_pem: self.ca_pem.clone(),
            identity,
        }
        .lazy_channel(&self.url(target), Duration::from_secs(10))
        .expect("build channel")
    }

    /// Returns the identity the suite issued to service `name` ("e2e-tests", "activation").
    pub fn service_identity(&self, name: &str) -> TlsIdentity {
        self.services
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| id.clone())
            .unwrap_or_else(|| panic!("the suite issued no identity for service {name}"))
    }

    /// Stops every service and returns how they ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.token.cancel();
        match self.running.take() {
            Some(h) => h.await?,
            None => Ok(()),
        }
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        self.token.cancel();
    }
}
