//! A second eligibility proxy that starts only when a test says so: the "proxy is down, then
//! back" half of the no-loss test (issue #6). It is the suite's own proxy configuration (same
//! TLS identity, keys, activation and account peers) with a database of its own, served on a
//! port reserved up front so an agent can be pointed at it while nothing listens there.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mynafleet::dev;
use mynafleet_kit::tls::ClientTls;
use tokio_util::sync::CancellationToken;

use crate::{CustomizeFn, DEADLINE, Suite, health};

/// Where [`capture`] keeps the suite's proxy configuration.
pub type Captured = Arc<Mutex<Option<dev::ProxyConfig>>>;

/// Returns a customization that records the suite's proxy configuration, and where to find it.
pub fn capture() -> (CustomizeFn, Captured) {
    let captured: Captured = Arc::default();
    let keep = captured.clone();
    let change: CustomizeFn = Box::new(move |proxy, _oqs, _dir| {
        *keep.lock().expect("capture lock") = Some(proxy.clone());
    });
    (change, captured)
}

/// A proxy that is not running yet, or is.
#[derive(Debug)]
pub struct LateProxy {
    config: dev::ProxyConfig,
    port: u16,
    dir: tempfile::TempDir,
    token: CancellationToken,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl LateProxy {
    /// Reserves a port for a copy of the captured configuration with its own SQLite database.
    pub fn reserve(captured: &Captured) -> Self {
        let mut config = captured
            .lock()
            .expect("capture lock")
            .clone()
            .expect("the suite was started with late_proxy::capture()");
        let dir = tempfile::tempdir().expect("late proxy directory");
        config.database_url = format!("sqlite://{}", dir.path().join("proxy.db").display());
        // Nothing listens on the port until start(): connections are refused, as for a proxy
        // that is down.
        let port = crate::ports::free(&mut std::collections::HashSet::new());
        Self {
            config,
            port,
            dir,
            token: CancellationToken::new(),
            task: None,
        }
    }

    /// Returns the proxy's URL (the dev certificates name 127.0.0.1).
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Returns the proxy's database URL, for checks on what it stored.
    pub fn database_url(&self) -> String {
        self.config.database_url.clone()
    }

    /// Returns the proxy's database file.
    pub fn database_path(&self) -> std::path::PathBuf {
        self.dir.path().join("proxy.db")
    }

    /// Starts the proxy on the reserved port and waits until it reports SERVING.
    pub async fn start(&mut self, suite: &Suite) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the reserved port again");
        let token = self.token.clone();
        self.task = Some(tokio::spawn(mynafleet_eligibility_proxy::serve(
            self.config.clone(),
            listener,
            async move { token.cancelled().await },
        )));
        let channel = ClientTls {
            server_ca_pem: suite.ca_pem().to_owned(),
            identity: None,
        }
        .lazy_channel(&self.url(), Duration::from_secs(10))
        .expect("build channel");
        health::wait_serving(channel, "", DEADLINE).await;
    }

    /// Stops the proxy and waits for it.
    pub async fn stop(mut self) {
        self.token.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}
