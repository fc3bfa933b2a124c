//! The server frame every service runs in: TLS with optional client certificates, the caller
//! identity layer, RPC metrics, trace-context extraction, `grpc.health.v1`, reflection v1 and v1alpha,
//! and graceful shutdown. A service hands over its routes and tables; the frame binds
//! nothing (the caller passes an already bound listener).

use crate::auth::{AccessPolicy, CallerLayer, Issuers, IssuersError};
use crate::metrics::RpcMetricsLayer;
use crate::tls::ServerTls;
use std::future::Future;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;

use tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET as REFLECTION_V1;
use tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET as REFLECTION_V1ALPHA;

/// The services the frame adds to every server.
const FRAME_SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// What a service tells the frame about itself.
#[derive(Debug)]
pub struct Frame {
    /// The service's short name, on every span (`account`, `activation`, …).
    pub service: &'static str,
    /// TLS identity and client roots.
    pub tls: ServerTls,
    /// Who may call which RPC.
    pub policy: AccessPolicy,
    /// Fully qualified names of the services reported SERVING by health.
    pub health_names: &'static [&'static str],
    /// Encoded descriptor sets served by reflection.
    pub descriptor_sets: &'static [&'static [u8]],
}

/// Why the frame could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS settings were refused.
    #[error("tls settings: {0}")]
    Tls(#[source] tonic::transport::Error),
    /// The client roots could not be read.
    #[error(transparent)]
    Issuers(#[from] IssuersError),
    /// Reflection could not be built from the descriptor sets.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The server stopped with an error.
    #[error("serve: {0}")]
    Serve(#[source] tonic::transport::Error),
}

/// Serves `routes` inside the frame on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    frame: Frame,
    routes: Routes,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    for name in frame.health_names {
        reporter
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    let reflection = || {
        let mut b = tonic_reflection::server::Builder::configure()
            .include_reflection_service(false)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(REFLECTION_V1)
            .register_encoded_file_descriptor_set(REFLECTION_V1ALPHA);
        for set in frame.descriptor_sets {
            b = b.register_encoded_file_descriptor_set(set);
        }
        // Only what this server serves is listed, though the descriptor sets describe more.
        for name in frame.health_names.iter().chain(FRAME_SERVICES) {
            b = b.with_service_name(*name);
        }
        b
    };
    let (v1, v1alpha) = (reflection().build_v1()?, reflection().build_v1alpha()?);
    let routes = routes
        .add_service(health)
        .add_service(v1)
        .add_service(v1alpha);
    let issuers = Issuers::from_roots(&frame.tls.roots)?;
    let service = frame.service;
    let names = frame.health_names;
    let known: Vec<&'static str> = names.iter().chain(FRAME_SERVICES).copied().collect();
    Server::builder()
        .tls_config(frame.tls.to_tonic())
        .map_err(ServeError::Tls)?
        .trace_fn(move |req| crate::telemetry::server_span(service, req))
        // Outermost, so refusals of the identity layer are counted too.
        .layer(RpcMetricsLayer::new(service, &known))
        .layer(CallerLayer::new(frame.policy, issuers))
        .add_routes(routes)
        // Without TCP_NODELAY small gRPC frames wait for delayed ACKs (~40 ms per call).
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            async move {
                shutdown.await;
                reporter
                    .set_service_status("", ServingStatus::NotServing)
                    .await;
                for name in names {
                    reporter
                        .set_service_status(*name, ServingStatus::NotServing)
                        .await;
                }
            },
        )
        .await
        .map_err(ServeError::Serve)
}

/// Returns the caller's IP address without the port (a terminal's source port changes with
/// every connection, so counters and audit records name the address only).
pub fn source_address<T>(req: &tonic::Request<T>) -> String {
    req.remote_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}
