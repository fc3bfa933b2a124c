//! One service per process (`mynafleet serve <service> --config FILE`), for deployments:
//! configuration from the file and `MYNAFLEET_<SERVICE>_…` variables, telemetry under the
//! service's own name, the listener the file names, its metrics endpoint (`[server]
//! metrics_listen`), and shutdown on Ctrl-C or SIGTERM.

use crate::cli::{ServeArgs, Service};
use anyhow::Context as _;
use mynafleet_kit::config::{ServerSection, load};
use serde::de::DeserializeOwned;

/// Runs the service `args` names until it is told to stop.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let prefix = args.service.env_prefix();
    match args.service {
        Service::Account => {
            let file: mynafleet_account::FileConfig = read(&args, &prefix)?;
            let (listener, guard) = start(args.service, &file.server).await?;
            let config = file.into_config()?;
            finish(
                mynafleet_account::serve(config, listener, stop()).await,
                guard,
            )
            .await
        }
        Service::Activation => {
            let file: mynafleet_activation::FileConfig = read(&args, &prefix)?;
            let (listener, guard) = start(args.service, &file.server).await?;
            let config = file.into_config()?;
            finish(
                mynafleet_activation::serve(config, listener, stop()).await,
                guard,
            )
            .await
        }
        Service::EligibilityProxy => {
            let file: mynafleet_eligibility_proxy::FileConfig = read(&args, &prefix)?;
            let (listener, guard) = start(args.service, &file.server).await?;
            let config = file.into_config()?;
            finish(
                mynafleet_eligibility_proxy::serve(config, listener, stop()).await,
                guard,
            )
            .await
        }
        Service::OqsSim => {
            let file: mynafleet_oqs_sim::FileConfig = read(&args, &prefix)?;
            let (listener, guard) = start(args.service, &file.server).await?;
            let config = file.into_config()?;
            finish(
                mynafleet_oqs_sim::serve(config, listener, stop()).await,
                guard,
            )
            .await
        }
    }
}

fn read<T: DeserializeOwned>(args: &ServeArgs, prefix: &str) -> anyhow::Result<T> {
    load(&args.config, prefix).with_context(|| {
        format!(
            "load {} configuration from {} (and {prefix}* variables)",
            args.service.name(),
            args.config.display()
        )
    })
}

async fn start(
    service: Service,
    server: &ServerSection,
) -> anyhow::Result<(
    tokio::net::TcpListener,
    mynafleet_kit::telemetry::TelemetryGuard,
)> {
    let guard = mynafleet_kit::telemetry::init(service.name(), &server.telemetry)
        .context("set up telemetry")?;
    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| format!("listen on {}", server.listen))?;
    let metrics = match server.metrics_listen.address(service.metrics_port()) {
        Some(addr) => {
            let metrics = tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!(
                    "metrics endpoint: listen on {addr} (set [server] metrics_listen to \
                     another address, or \"off\")"
                )
            })?;
            mynafleet_kit::metrics::install();
            tokio::spawn(mynafleet_kit::metrics::serve(metrics, stop()));
            Some(addr)
        }
        None => None,
    };
    tracing::info!(
        service = service.name(),
        listen = %server.listen,
        metrics = ?metrics,
        production = server.production,
        "serving"
    );
    Ok((listener, guard))
}

fn stop() -> impl std::future::Future<Output = ()> + Send + 'static {
    let token = mynafleet_kit::shutdown::on_signal();
    async move { token.cancelled().await }
}

async fn finish(
    result: anyhow::Result<()>,
    guard: mynafleet_kit::telemetry::TelemetryGuard,
) -> anyhow::Result<()> {
    guard.shutdown().await;
    result
}
