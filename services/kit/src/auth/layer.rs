//! The tower layer that identifies callers and applies the access table.

use super::{AccessPolicy, BearerToken, Caller, Decision, Issuers};
use crate::status::{COMMON_DOMAIN, with_reason};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tonic::Code;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

/// Identifies callers and refuses those the [`AccessPolicy`] does not admit.
#[derive(Clone, Debug)]
pub struct CallerLayer {
    policy: Arc<AccessPolicy>,
    issuers: Arc<Issuers>,
}

impl CallerLayer {
    /// Returns a layer applying `policy`, telling CAs apart by `issuers`.
    pub fn new(policy: AccessPolicy, issuers: Issuers) -> Self {
        Self {
            policy: Arc::new(policy),
            issuers: Arc::new(issuers),
        }
    }
}

impl<S> tower::Layer<S> for CallerLayer {
    type Service = CallerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallerService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`CallerLayer`] wraps around a server's routes.
#[derive(Clone, Debug)]
pub struct CallerService<S> {
    inner: S,
    layer: CallerLayer,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for CallerService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let refuse = |status: tonic::Status| -> Self::Future {
            Box::pin(std::future::ready(Ok(status.into_http())))
        };
        let kinds = match self.layer.policy.decide(req.uri().path()) {
            Decision::Public => return Box::pin(inner.call(req)),
            Decision::Unlisted => {
                return refuse(tonic::Status::unimplemented("no such method"));
            }
            Decision::Kinds(kinds) => kinds,
        };
        let caller = identify(&self.layer.issuers, &req);
        match caller {
            None => refuse(with_reason(
                Code::Unauthenticated,
                COMMON_DOMAIN,
                "CALLER_UNKNOWN",
                "no trusted client certificate or session token",
            )),
            Some(c) if !kinds.contains(&c.kind()) => {
                tracing::debug!(path = req.uri().path(), kind = ?c.kind(), "caller kind refused");
                refuse(with_reason(
                    Code::PermissionDenied,
                    COMMON_DOMAIN,
                    "CALLER_KIND_REFUSED",
                    "this kind of caller may not call this method",
                ))
            }
            Some(c) => {
                req.extensions_mut().insert(c);
                Box::pin(inner.call(req))
            }
        }
    }
}

fn identify<B>(issuers: &Issuers, req: &http::Request<B>) -> Option<Caller> {
    let from_cert = req
        .extensions()
        .get::<TlsConnectInfo<TcpConnectInfo>>()
        .and_then(|i| i.peer_certs())
        .and_then(|certs| {
            certs
                .first()
                .and_then(|leaf| issuers.identify(leaf.as_ref()))
        });
    if from_cert.is_some() {
        return from_cert;
    }
    let header = req
        .headers()
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = header.strip_prefix("Bearer ")?.trim();
    (!token.is_empty()).then(|| Caller::Operator(BearerToken(token.to_owned())))
}
