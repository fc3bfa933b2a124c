//! `mynafleet health`: one grpc.health.v1 Check over TLS, for container and systemd probes
//! (Kubernetes' built-in gRPC probe speaks plaintext only, and every MynaFleet port is TLS).
//! Exit 0 when the server answers SERVING, 1 otherwise with a message a person can act on.
//! It never retries (the prober does) and never needs a client identity: health answers
//! anyone who completes the TLS handshake.

use anyhow::Context as _;
use mynafleet_proto::tonic;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Flags of `mynafleet health`.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The server to ask, e.g. `https://localhost:7501` (TLS only; the host must be a name
    /// or address in the server's certificate).
    #[arg(long)]
    pub url: String,
    /// The CA certificate (PEM) that issued the server's certificate.
    #[arg(long)]
    pub ca: PathBuf,
    /// A client certificate chain (PEM) to present; health needs none on MynaFleet servers.
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
    /// The gRPC service to ask about, e.g. `mynafleet.account.v1.OrganizationService`;
    /// empty asks about the server as a whole.
    #[arg(long, default_value = "")]
    pub service: String,
    /// How long the whole check may take, connection and TLS handshake included.
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
}

/// Runs the check; exit 0 when SERVING, 1 (with a message on stderr) otherwise.
pub async fn run(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let status = check(&args).await?;
    let what = if args.service.is_empty() {
        "server".to_owned()
    } else {
        format!("service {}", args.service)
    };
    if status == ServingStatus::Serving {
        println!("{}: {what} SERVING", args.url);
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "mynafleet: {}: {what} is {} (the process is up but not ready, or shutting down)",
            args.url,
            status.as_str_name()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Asks the server once and returns its answer, or why there was none.
pub async fn check(args: &HealthArgs) -> anyhow::Result<ServingStatus> {
    if !args.url.starts_with("https://") {
        anyhow::bail!(
            "--url {} must be https://HOST:PORT: MynaFleet servers speak TLS only",
            args.url
        );
    }
    let timeout = Duration::from_millis(args.timeout_ms.max(1));
    let identity = args.cert.as_deref().zip(args.key.as_deref());
    let tls = crate::pem::client_tls(&args.ca, identity)?;
    let channel = tls
        .lazy_channel(&args.url, timeout)
        .with_context(|| format!("prepare a channel to {}", args.url))?;
    let request = HealthCheckRequest {
        service: args.service.clone(),
    };
    let answer = tokio::time::timeout(timeout, HealthClient::new(channel).check(request)).await;
    match answer {
        Err(_) => anyhow::bail!(
            "{}: no answer within {} ms (is the port open to this host? a firewall or a \
             server that is not MynaFleet can swallow the connection)",
            args.url,
            args.timeout_ms
        ),
        Ok(Ok(response)) => Ok(response.into_inner().status()),
        Ok(Err(status)) => Err(explain(&args.url, &args.ca, &args.service, &status)),
    }
}

/// What went wrong with a call that ended in a gRPC status, in words an operator can act on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Nothing listens there, or the host cannot be reached.
    Unreachable,
    /// The TLS handshake failed: usually the wrong CA, or a name missing from the certificate.
    Tls,
    /// Something answered, but not with TLS (a metrics port, another program).
    NotTls,
    /// The connection or the call took too long.
    Timeout,
    /// The server does not know the service asked about.
    UnknownService,
    /// Any other status.
    Other,
}

/// Sorts a failed call by its status code and the text of its error chain (tonic reports
/// connection failures as UNAVAILABLE with the transport error as the source).
pub(crate) fn classify(code: tonic::Code, chain: &str) -> Failure {
    let lower = chain.to_lowercase();
    match code {
        tonic::Code::NotFound => Failure::UnknownService,
        tonic::Code::DeadlineExceeded => Failure::Timeout,
        _ if lower.contains("corrupt message") || lower.contains("invalidcontenttype") => {
            Failure::NotTls
        }
        _ if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
            || lower.contains("invalidcert")
            || lower.contains("unknownissuer") =>
        {
            Failure::Tls
        }
        _ if lower.contains("timed out") || lower.contains("timeout") => Failure::Timeout,
        tonic::Code::Unavailable => Failure::Unreachable,
        _ => Failure::Other,
    }
}

/// Returns the status's message and every source below it, joined by `: `.
fn chain_text(status: &tonic::Status) -> String {
    let mut parts = vec![status.message().to_owned()];
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    parts.retain(|p| !p.is_empty());
    parts.join(": ")
}

fn explain(url: &str, ca: &Path, service: &str, status: &tonic::Status) -> anyhow::Error {
    let chain = chain_text(status);
    match classify(status.code(), &chain) {
        Failure::Unreachable => anyhow::anyhow!(
            "{url}: unreachable ({chain}); is the service running and listening on that port?"
        ),
        Failure::Tls => anyhow::anyhow!(
            "{url}: tls handshake failed ({chain}); is {} the CA that issued the server's \
             certificate, and is the url's host one of the names in it?",
            ca.display()
        ),
        Failure::NotTls => anyhow::anyhow!(
            "{url}: the server does not speak TLS ({chain}); is this a MynaFleet gRPC port \
             (7501-7504) rather than a metrics port (9501-9504) or another program?"
        ),
        Failure::Timeout => anyhow::anyhow!("{url}: timed out ({chain})"),
        Failure::UnknownService => {
            anyhow::anyhow!("{url}: the server does not know service {service:?} ({chain})")
        }
        Failure::Other => anyhow::anyhow!(
            "{url}: health check failed with {:?} ({chain})",
            status.code()
        ),
    }
}

#[cfg(test)]
mod tests;
