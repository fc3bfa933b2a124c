//! Certificate renewal: `Renew` at about 70 % of the certificate's lifetime, counted from when
//! it was received, with ±10 % jitter so a fleet activated together does not renew together.
//!
//! Each renewal makes a new key (written `0600` first, as `renew-key.pem`), sends its CSR to
//! activation at the URL in `identity.json` over mTLS with the current certificate, and on
//! success switches new channels to the new certificate ([`Identity::install`]). Failures
//! back off exponentially with jitter until the certificate expires; a refusal that only an
//! operator can lift (suspended or revoked device, account not 利用可) stops renewing and is
//! logged at error. Nothing here logs key material.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::certificate;
use crate::client::{self, CallError};
use crate::facts::DeviceFacts;
use crate::identity::{Identity, IdentityError, NewCertificate};
use crate::reason::{self, Described};
use crate::state::RENEW_KEY_FILE;

#[cfg(test)]
mod tests;

/// The point of a certificate's lifetime at which it is renewed.
pub const RENEW_AT: f64 = 0.7;
/// The jitter around [`RENEW_AT`], as a fraction of it.
pub const JITTER: f64 = 0.1;

/// Why the renewal task ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenewalEnd {
    /// The shutdown future completed.
    #[error("stopped")]
    Shutdown,
    /// The server refused for good: only an operator can change this.
    #[error("renewal refused: {}", Described { reason, message })]
    Refused {
        /// `DEVICE_SUSPENDED`, `DEVICE_REVOKED` or `ACCOUNT_NOT_AVAILABLE`.
        reason: String,
        /// The server's message.
        message: String,
    },
    /// The certificate expired before a renewal succeeded.
    #[error(
        "the device certificate expired before it could be renewed; run `mynafleet-agent activate` with a new code"
    )]
    Expired,
    /// The new key or certificate could not be stored.
    #[error("renewal failed on this terminal: {0}")]
    Local(String),
}

/// Returns when a certificate valid until `not_after`, received at `issued_at`, is due for
/// renewal: `issued_at + RENEW_AT × (1 + JITTER × jitter) × lifetime`, with `jitter` in
/// `[-1, 1]` (clamped). A certificate with no lifetime left is due at `issued_at`.
pub fn renewal_due(
    issued_at: OffsetDateTime,
    not_after: OffsetDateTime,
    jitter: f64,
) -> OffsetDateTime {
    let lifetime = not_after - issued_at;
    if !lifetime.is_positive() {
        return issued_at;
    }
    let fraction = RENEW_AT * (1.0 + JITTER * jitter.clamp(-1.0, 1.0));
    issued_at + lifetime * fraction
}

/// Returns a uniformly random number in `[-1, 1)`, taken from backon's jitter (seeded by the
/// OS), so the agent needs no random-number crate of its own.
fn random_jitter() -> f64 {
    let base = Duration::from_secs(1);
    let drawn = ExponentialBuilder::new()
        .with_jitter()
        .with_min_delay(base)
        .with_max_times(1)
        .build()
        .next()
        .unwrap_or(base);
    // backon adds a jitter in [0, base) to the first delay.
    let unit = (drawn.as_secs_f64() - base.as_secs_f64()).clamp(0.0, 1.0);
    unit * 2.0 - 1.0
}

type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Spawns the renewal task: it renews `identity`'s certificate, again and again, until
/// `shutdown` completes or renewal becomes impossible. Observe renewals through
/// [`Identity::renewals`].
pub fn spawn_renewal(
    identity: Arc<Identity>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> JoinHandle<RenewalEnd> {
    tokio::spawn(async move {
        let mut shutdown: Shutdown = Box::pin(shutdown);
        loop {
            let issued_at = identity.record().issued_at;
            let not_after = identity.certificate().not_after;
            let now = OffsetDateTime::now_utc();
            if now >= not_after {
                error!(expired = %not_after, "device certificate expired; activate again");
                return RenewalEnd::Expired;
            }
            let due = renewal_due(issued_at, not_after, random_jitter());
            debug!(due = %due, expires = %not_after, "certificate renewal scheduled");
            tokio::select! {
                () = &mut shutdown => return RenewalEnd::Shutdown,
                () = tokio::time::sleep(until(now, due)) => {}
            }
            if let Err(end) = renew_until_expiry(&identity, &mut shutdown).await {
                return end;
            }
        }
    })
}

/// One renewal: a new key, then Renew until it succeeds, is refused for good, or the
/// certificate expires.
async fn renew_until_expiry(
    identity: &Identity,
    shutdown: &mut Shutdown,
) -> Result<(), RenewalEnd> {
    let local = |e: &dyn std::fmt::Display| {
        error!(error = %e, "renewal failed on this terminal");
        RenewalEnd::Local(e.to_string())
    };
    let made = certificate::new_key_and_csr().map_err(|e| local(&e))?;
    identity
        .state()
        .write_private(RENEW_KEY_FILE, made.key_pem.as_bytes())
        .map_err(|e| local(&e))?;
    let facts = DeviceFacts::local();
    let mut backoff = ExponentialBuilder::new()
        .with_jitter()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(300))
        .without_max_times()
        .build();
    loop {
        let url = identity.record().activation_url;
        let attempt = match identity.channel(&url) {
            Ok(channel) => client::renew(channel, made.csr_der.clone(), &facts)
                .await
                .map_err(Failure::Call),
            Err(e) => Err(Failure::Channel(e)),
        };
        let failure = match attempt {
            Ok(renewed) => {
                let installed = identity
                    .install(NewCertificate {
                        key_pem: made.key_pem.clone(),
                        certificate_pem: renewed.certificate_pem,
                        server_ca_pem: renewed.server_ca_pem,
                        proxy_urls: renewed.proxy_urls,
                        received_at: OffsetDateTime::now_utc(),
                    })
                    .map_err(|e| local(&e))?;
                info!(serial = %installed.serial, expires = %installed.not_after, "device certificate renewed");
                return Ok(());
            }
            Err(failure) => failure,
        };
        if let Failure::Call(e) = &failure
            && reason::stops_renewal(e.reason())
        {
            let _ = identity.state().remove(RENEW_KEY_FILE);
            error!(reason = e.reason(), server = %url, "renewal refused; renewing stops until an administrator acts");
            return Err(RenewalEnd::Refused {
                reason: e.reason().to_owned(),
                message: e.message.clone(),
            });
        }
        let now = OffsetDateTime::now_utc();
        let not_after = identity.certificate().not_after;
        if now >= not_after {
            error!(server = %url, error = %failure, "device certificate expired before it could be renewed; activate again");
            return Err(RenewalEnd::Expired);
        }
        let delay = backoff
            .next()
            .unwrap_or(Duration::from_secs(300))
            .min(until(now, not_after));
        warn!(server = %url, error = %failure, retry_in = ?delay, "certificate renewal failed; retrying");
        tokio::select! {
            () = &mut *shutdown => return Err(RenewalEnd::Shutdown),
            () = tokio::time::sleep(delay) => {}
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Call(CallError),
    #[error(transparent)]
    Channel(IdentityError),
}

/// Returns the time from `now` until `then`, zero if it has passed.
fn until(now: OffsetDateTime, then: OffsetDateTime) -> Duration {
    Duration::try_from(then - now).unwrap_or(Duration::ZERO)
}
