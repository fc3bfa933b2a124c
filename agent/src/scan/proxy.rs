//! [`ProxyClient`]: the scan's proxy calls over the device identity, with failover.
//!
//! A call goes to the proxy that answered last and moves on to the next of
//! `identity.json`'s proxy URLs only when a proxy cannot be reached (`UNAVAILABLE` without a
//! reason the proxy chose, or `PROXY_SHUTTING_DOWN`); any other refusal is the answer. It
//! never logs what it sends: certificates and signatures stay in the request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tonic::Code;

use super::{BoxFuture, Challenge, CheckAnswer, CheckClient, CompleteCall, ProxyError};
use crate::client::{self, CallError};
use crate::identity::Identity;
use crate::reason;

/// The real [`CheckClient`]: `EligibilityService` on the device's proxies.
#[derive(Debug)]
pub struct ProxyClient {
    identity: Arc<Identity>,
    preferred: AtomicUsize,
}

impl ProxyClient {
    /// Returns a client over `identity`'s proxies.
    pub fn new(identity: Arc<Identity>) -> Self {
        Self {
            identity,
            preferred: AtomicUsize::new(0),
        }
    }

    async fn each<T, F, Fut>(&self, call: F) -> Result<T, ProxyError>
    where
        F: Fn(tonic::transport::Channel) -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let urls = self.identity.record().proxy_urls;
        let start = self.preferred.load(Ordering::Relaxed);
        let mut last = ProxyError {
            reason: "PROXY_UNAVAILABLE".into(),
            message: "identity.json names no proxy".into(),
        };
        for offset in 0..urls.len() {
            let index = (start + offset) % urls.len();
            let channel = match self.identity.channel(&urls[index]) {
                Ok(channel) => channel,
                Err(e) => {
                    last.message = e.to_string();
                    continue;
                }
            };
            match call(channel).await {
                Ok(value) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(value);
                }
                Err(e) if unreachable(&e) => last = proxy_error(&e),
                Err(e) => return Err(proxy_error(&e)),
            }
        }
        Err(last)
    }
}

fn unreachable(e: &CallError) -> bool {
    (e.code == Code::Unavailable && e.reason.is_none()) || e.reason() == "PROXY_SHUTTING_DOWN"
}

fn proxy_error(e: &CallError) -> ProxyError {
    let reason = match e.reason.as_deref() {
        Some(reason) => reason.to_owned(),
        None if e.code == Code::Unavailable || e.code == Code::DeadlineExceeded => {
            "PROXY_UNAVAILABLE".to_owned()
        }
        None => format!("{:?}", e.code).to_uppercase(),
    };
    let message = match reason::explain(&reason) {
        Some(explanation) => explanation.to_string(),
        None => e.message.clone(),
    };
    ProxyError { reason, message }
}

impl CheckClient for ProxyClient {
    fn begin(&self) -> BoxFuture<'_, Result<Challenge, ProxyError>> {
        Box::pin(self.each(client::begin_card_check))
    }

    fn complete(&self, call: CompleteCall) -> BoxFuture<'_, Result<CheckAnswer, ProxyError>> {
        Box::pin(self.each(move |channel| client::complete_card_check(channel, call.clone())))
    }

    fn device(&self) -> String {
        self.identity.record().device
    }
}
