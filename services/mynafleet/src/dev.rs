//! Every service in one process: the wiring `mynafleet dev` and `Suite::start` share. The
//! caller binds the listeners and picks the databases; this module builds each service's
//! configuration from the real addresses (so port 0 works), issues service certificates
//! from one development CA, and runs everything under one cancellation token.

use anyhow::Context as _;
use mynafleet_kit::clock::Clock;
use mynafleet_kit::tls::dev::DevPki;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The default ports of `mynafleet dev` (DESIGN.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// The account service (7501).
    pub account: u16,
    /// The activation service (7502).
    pub activation: u16,
    /// The eligibility proxy (7503).
    pub eligibility_proxy: u16,
    /// The OQS simulator (7504).
    pub oqs_sim: u16,
    /// The one metrics endpoint of every service in the process (9500).
    pub metrics: u16,
}

impl Ports {
    /// The fixed defaults.
    pub const DEFAULT: Ports = Ports {
        account: 7501,
        activation: 7502,
        eligibility_proxy: 7503,
        oqs_sim: 7504,
        metrics: 9500,
    };

    /// Every port 0: the system picks free ones (tests).
    pub const ANY: Ports = Ports {
        account: 0,
        activation: 0,
        eligibility_proxy: 0,
        oqs_sim: 0,
        metrics: 0,
    };
}

/// One bound listener per service.
#[derive(Debug)]
pub struct Listeners {
    /// The account service's.
    pub account: TcpListener,
    /// The activation service's.
    pub activation: TcpListener,
    /// The eligibility proxy's.
    pub eligibility_proxy: TcpListener,
    /// The OQS simulator's.
    pub oqs_sim: TcpListener,
    /// The shared metrics endpoint's (plain HTTP).
    pub metrics: TcpListener,
}

impl Listeners {
    /// Binds every listener on `host`; a port in use is reported with the flag that moves it.
    pub async fn bind(host: IpAddr, ports: Ports) -> anyhow::Result<Self> {
        async fn one(host: IpAddr, port: u16, flag: &str) -> anyhow::Result<TcpListener> {
            TcpListener::bind((host, port)).await.with_context(|| {
                format!("cannot listen on {host}:{port} (in use? pick another with {flag})")
            })
        }
        Ok(Self {
            account: one(host, ports.account, "--account-port").await?,
            activation: one(host, ports.activation, "--activation-port").await?,
            eligibility_proxy: one(host, ports.eligibility_proxy, "--proxy-port").await?,
            oqs_sim: one(host, ports.oqs_sim, "--oqs-sim-port").await?,
            metrics: one(host, ports.metrics, "--metrics-port").await?,
        })
    }

    /// Returns the addresses the listeners really got.
    pub fn addresses(&self) -> anyhow::Result<Addresses> {
        Ok(Addresses {
            account: self.account.local_addr()?,
            activation: self.activation.local_addr()?,
            eligibility_proxy: self.eligibility_proxy.local_addr()?,
            oqs_sim: self.oqs_sim.local_addr()?,
            metrics: self.metrics.local_addr()?,
        })
    }
}

/// Where each service listens.
#[derive(Clone, Copy, Debug)]
pub struct Addresses {
    /// The account service.
    pub account: SocketAddr,
    /// The activation service.
    pub activation: SocketAddr,
    /// The eligibility proxy.
    pub eligibility_proxy: SocketAddr,
    /// The OQS simulator.
    pub oqs_sim: SocketAddr,
    /// The metrics endpoint: `http://<addr>/metrics`.
    pub metrics: SocketAddr,
}

/// Returns the URL clients use for `addr`: `https://localhost:<port>`, the name every
/// development certificate carries.
pub fn url(addr: SocketAddr) -> String {
    format!("https://localhost:{}", addr.port())
}

/// The databases of the services that have one.
#[derive(Clone, Debug)]
pub struct Databases {
    /// The account service's URL.
    pub account: String,
    /// The activation service's URL.
    pub activation: String,
    /// The eligibility proxy's URL.
    pub eligibility_proxy: String,
}

/// Adjusts the proxy's and the simulator's configuration before they start (tests: upstream
/// folders, hand-off, production mode, breaker timings).
pub struct Customize(pub CustomizeFn);

/// A change to the proxy's and the simulator's configuration.
pub type CustomizeFn = Box<dyn FnOnce(&mut ProxyConfig, &mut OqsConfig) + Send>;

impl std::fmt::Debug for Customize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Customize(..)")
    }
}

/// The proxy's configuration.
pub type ProxyConfig = mynafleet_eligibility_proxy::Config;
/// The simulator's configuration.
pub type OqsConfig = mynafleet_oqs_sim::Config;

/// What the suite runs with besides listeners and databases.
#[derive(Debug)]
pub struct Setup {
    /// The development CA that issues every service certificate.
    pub pki: DevPki,
    /// The databases.
    pub databases: Databases,
    /// The clock every service reads.
    pub clock: Clock,
    /// Activation's device CA; the proxy and activation accept device certificates from it.
    pub device_ca: mynafleet_activation::DeviceCa,
    /// Lifetime of device certificates (24 h unless a test wants renewals to happen).
    pub certificate_lifetime: Duration,
    /// The account service's key files (TOTP sealing, patient references); the proxy uses
    /// the same reference key.
    pub account_keys: mynafleet_account::Keys,
    /// The proxy's challenge key.
    pub challenge_key: mynafleet_kit::keys::SecretKey,
    /// oqs-sim's test JPKI CA directory; its certificate is the proxy's test root.
    pub jpki_dir: std::path::PathBuf,
    /// Last-minute changes to the proxy's and simulator's configuration.
    pub customize: Option<Customize>,
}

/// The running services.
#[derive(Debug)]
pub struct Running {
    /// Where they listen.
    pub addresses: Addresses,
    tasks: JoinSet<anyhow::Result<()>>,
    token: CancellationToken,
}

/// Activation's configuration.
pub type ActivationConfig = mynafleet_activation::Config;

/// A change to activation's configuration before it starts (tests: reaching the account
/// service through a relay they can cut).
pub type CustomizeActivationFn = Box<dyn FnOnce(&mut ActivationConfig) + Send>;

/// Starts every service on its listener; they stop when `token` is cancelled.
pub fn start(
    setup: Setup,
    listeners: Listeners,
    token: CancellationToken,
) -> anyhow::Result<Running> {
    start_with(setup, listeners, token, Box::new(|_| {}))
}

/// Like [`start`], with `customize_activation` applied to activation's configuration last.
pub fn start_with(
    setup: Setup,
    listeners: Listeners,
    token: CancellationToken,
    customize_activation: CustomizeActivationFn,
) -> anyhow::Result<Running> {
    let addresses = listeners.addresses()?;
    let pki = &setup.pki;
    // Devices call activation and the proxy only; the other services never trust the device CA.
    let server_tls = |service: &str, accepts_devices: bool| -> anyhow::Result<_> {
        let id = pki
            .service_identity(service)
            .with_context(|| format!("issue {service} certificate"))?;
        let device_ca = accepts_devices.then(|| setup.device_ca.cert_pem().to_owned());
        Ok((pki.server_tls(id.clone(), device_ca), id))
    };

    let (tls, account_identity) = server_tls(mynafleet_account::SERVICE_NAME, false)?;
    let mut account = mynafleet_account::Config::for_tests(setup.databases.account.clone(), tls);
    account.clock = setup.clock.clone();
    account.keys = setup.account_keys.clone();
    account.sheet.activation_endpoint = format!("localhost:{}", addresses.activation.port());
    account.activation = Some(mynafleet_account::ActivationPeer {
        url: url(addresses.activation),
        client_tls: pki.client_tls(Some(account_identity)),
        call_timeout: Duration::from_secs(5),
    });

    let (tls, id) = server_tls(mynafleet_activation::SERVICE_NAME, true)?;
    let mut activation = mynafleet_activation::Config::for_tests(
        setup.databases.activation.clone(),
        tls,
        pki.client_tls(Some(id)),
        url(addresses.account),
    );
    activation.clock = setup.clock.clone();
    activation.call_timeout = Duration::from_secs(5);
    activation.device_ca = setup.device_ca.clone();
    activation.certificate_lifetime = setup.certificate_lifetime;
    activation.proxy_urls = vec![url(addresses.eligibility_proxy)];
    customize_activation(&mut activation);

    let (tls, id) = server_tls(mynafleet_eligibility_proxy::SERVICE_NAME, true)?;
    let mut proxy = mynafleet_eligibility_proxy::Config::for_tests(
        setup.databases.eligibility_proxy.clone(),
        tls,
        pki.client_tls(Some(id)),
        url(addresses.activation),
        url(addresses.account),
    );
    proxy.clock = setup.clock.clone();
    proxy.keys = mynafleet_eligibility_proxy::ProxyKeys {
        reference: setup.account_keys.reference.clone(),
        challenge: setup.challenge_key.clone(),
    };
    proxy.trust.test_roots = vec![
        mynafleet_oqs_sim::test_ca_pem(&setup.jpki_dir)
            .context("read or create oqs-sim's test JPKI CA")?,
    ];
    proxy.default_upstream =
        mynafleet_eligibility_proxy::UpstreamConfig::simulator(url(addresses.oqs_sim));

    let (tls, _) = server_tls(mynafleet_oqs_sim::SERVICE_NAME, false)?;
    let mut oqs = mynafleet_oqs_sim::Config::for_tests(tls, setup.jpki_dir.clone());
    oqs.clock = setup.clock.clone();
    if let Some(Customize(change)) = setup.customize {
        change(&mut proxy, &mut oqs);
    }

    let mut tasks = JoinSet::new();
    let stop = |t: &CancellationToken| {
        let t = t.clone();
        async move { t.cancelled().await }
    };
    // One recorder and one endpoint for every service of the process; series tell the
    // services apart by their `service` label (DESIGN.md §6).
    mynafleet_kit::metrics::install();
    tokio::spawn(mynafleet_kit::metrics::serve(
        listeners.metrics,
        stop(&token),
    ));
    tasks.spawn(mynafleet_account::serve(
        account,
        listeners.account,
        stop(&token),
    ));
    tasks.spawn(mynafleet_activation::serve(
        activation,
        listeners.activation,
        stop(&token),
    ));
    tasks.spawn(mynafleet_eligibility_proxy::serve(
        proxy,
        listeners.eligibility_proxy,
        stop(&token),
    ));
    tasks.spawn(mynafleet_oqs_sim::serve(
        oqs,
        listeners.oqs_sim,
        stop(&token),
    ));
    Ok(Running {
        addresses,
        tasks,
        token,
    })
}

impl Running {
    /// Waits until every service has stopped. The first to fail stops the others, and its
    /// error is returned.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        while let Some(joined) = self.tasks.join_next().await {
            let result = joined.context("service task panicked").and_then(|r| r);
            if let Err(e) = result {
                self.token.cancel();
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
