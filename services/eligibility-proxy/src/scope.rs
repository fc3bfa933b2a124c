//! Device accounts' scope (DESIGN.md §3.3 *Scope*): the account's 権限区分 and status and the
//! clinic's 機関コード and 訪問診療等機能, from the account service's internal API, cached and
//! kept current by its account event stream (suspend, resume, end, 権限区分 and clinic-flag
//! changes each carry the account's scope after the change, which replaces the entry).
//!
//! The freshness rule mirrors the device-status cache (`status.rs`, whose [`WatchView`] it
//! shares): a cached entry answers only while the event stream is live (a message within
//! `stale_after`, twice account's heartbeat) and the entry was written since the stream
//! (re)connected, so every later change would have reached it. Otherwise [`Scopes::get`] asks
//! account (within the call timeout) and caches the answer. Freshness is measured on the
//! monotonic clock. This module never decides a refusal and never changes an account.

use crate::client::AccountClient;
use crate::status::WatchView;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// 権限区分.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Privilege {
    /// 一般.
    General,
    /// 医療情報閲覧.
    MedicalInformation,
    /// 管理者 (never on a device).
    Administrator,
    /// Unspecified or unknown.
    Other,
}

impl Privilege {
    /// Returns the spelling audit records use (as activation's records do).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Privilege::General => "general",
            Privilege::MedicalInformation => "medical_info",
            Privilege::Administrator => "administrator",
            Privilege::Other => "unspecified",
        }
    }
}

/// What the proxy needs to know about a device account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AccountScope {
    /// `organizations/{org}/clinics/{clinic}/accounts/{W…}`.
    pub(crate) account: String,
    /// `organizations/{org}`.
    pub(crate) organization: String,
    /// `organizations/{org}/clinics/{clinic}`.
    pub(crate) clinic: String,
    /// 機関コード.
    pub(crate) institution_code: String,
    /// 権限区分.
    pub(crate) privilege: Privilege,
    /// 利用可.
    pub(crate) available: bool,
    /// The clinic's 訪問診療等機能.
    pub(crate) home_visit: bool,
}

/// Why a scope could not be had.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum ScopeError {
    /// The account service could not be asked.
    #[error("account scope unavailable: {0}")]
    Unavailable(String),
    /// The account service knows no such account.
    #[error("device account not found")]
    NotFound,
}

/// One message of the account event stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScopeMessage {
    /// The account's scope after the event; `None` on a heartbeat.
    pub(crate) scope: Option<AccountScope>,
    /// Where to resume after this message (empty when none was sent).
    pub(crate) resume_token: String,
}

/// Why the event stream could not be opened or broke.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WatchError {
    /// Account refused the resume token; the stream starts again from the oldest event.
    #[error("resume token refused")]
    ResumeTokenInvalid,
    /// Anything else.
    #[error("account event stream failed: {0}")]
    Failed(String),
}

/// Where scopes come from: the account service (`client.rs`), or a fake in tests.
pub(crate) trait ScopeSource: Clone + Send + Sync + 'static {
    /// Returns `account`'s scope (a resource name).
    fn scope(&self, account: &str)
    -> impl Future<Output = Result<AccountScope, ScopeError>> + Send;

    /// Opens the event stream after `resume_token` (empty: from the oldest retained event).
    fn events(
        &self,
        resume_token: &str,
    ) -> impl Future<
        Output = Result<BoxStream<'static, Result<ScopeMessage, WatchError>>, WatchError>,
    > + Send;
}

#[derive(Debug)]
struct Entry {
    scope: AccountScope,
    written: Instant,
    by_watch: bool,
}

#[derive(Debug, Default)]
struct State {
    watch: WatchView,
    entries: HashMap<String, Entry>,
}

#[derive(Debug)]
struct Inner<S> {
    source: S,
    stale_after: Duration,
    call_timeout: Duration,
    state: Mutex<State>,
}

/// The scope cache, shared by every call and the event-stream task; clones share it.
#[derive(Debug)]
pub(crate) struct Scopes<S = AccountClient> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for Scopes<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// Returns whether an entry written at `written` may answer at `now`: the stream is live
/// (its last message under `stale_after` old) and the entry is no older than the connect.
pub(crate) fn is_fresh(
    now: Instant,
    stale_after: Duration,
    watch: WatchView,
    written: Instant,
) -> bool {
    let live = watch
        .last_seen
        .is_some_and(|t| now.saturating_duration_since(t) < stale_after);
    live && watch.connected_at.is_some_and(|c| written >= c)
}

impl<S: ScopeSource> Scopes<S> {
    /// Returns an empty cache over `source`; entries count as live while the event stream
    /// sent something within `stale_after`; each look-up waits at most `call_timeout`.
    pub(crate) fn new(source: S, stale_after: Duration, call_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                source,
                stale_after,
                call_timeout,
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns the scope of `account` (a resource name): the cached entry when it is fresh,
    /// else account's answer (then cached).
    pub(crate) async fn get(&self, account: &str) -> Result<AccountScope, ScopeError> {
        if let Some(scope) = self.fresh(account, Instant::now()) {
            return Ok(scope);
        }
        let started = Instant::now();
        let answer =
            tokio::time::timeout(self.inner.call_timeout, self.inner.source.scope(account))
                .await
                .map_err(|_| {
                    ScopeError::Unavailable("account did not answer in time".to_owned())
                })??;
        Ok(self.store_fetched(answer, started))
    }

    /// Returns the cached scope of `account` if it is fresh at `now`.
    fn fresh(&self, account: &str, now: Instant) -> Option<AccountScope> {
        let state = self.state();
        let entry = state.entries.get(account)?;
        is_fresh(now, self.inner.stale_after, state.watch, entry.written)
            .then(|| entry.scope.clone())
    }

    /// Stores a look-up started at `started`; an event that arrived since is newer and kept.
    fn store_fetched(&self, scope: AccountScope, started: Instant) -> AccountScope {
        let mut state = self.state();
        if let Some(e) = state.entries.get(&scope.account)
            && e.by_watch
            && e.written >= started
        {
            return e.scope.clone();
        }
        state.entries.insert(
            scope.account.clone(),
            Entry {
                scope: scope.clone(),
                written: started,
                by_watch: false,
            },
        );
        scope
    }

    fn connected(&self, now: Instant) {
        self.state().watch = WatchView {
            connected_at: Some(now),
            last_seen: None,
        };
    }

    fn lost(&self) {
        self.state().watch = WatchView::default();
    }

    fn message(&self, now: Instant, scope: Option<AccountScope>) {
        let mut state = self.state();
        state.watch.last_seen = Some(now);
        if let Some(scope) = scope {
            state.entries.insert(
                scope.account.clone(),
                Entry {
                    scope,
                    written: now,
                    by_watch: true,
                },
            );
        }
    }

    /// Follows account's event stream until `shutdown` is cancelled: the first connect
    /// starts from the oldest retained event, every reconnect after the last token seen,
    /// with jittered backoff between tries. A stream silent for `stale_after` is reopened.
    pub(crate) async fn run(self, shutdown: CancellationToken) {
        let mut resume = String::new();
        let mut delays = backoff();
        // Log a lost stream once, not on every failed reconnect.
        let mut live = true;
        loop {
            let opened = tokio::select! {
                () = shutdown.cancelled() => break,
                opened = self.inner.source.events(&resume) => opened,
            };
            match opened {
                Ok(stream) => {
                    self.connected(Instant::now());
                    let delivered = self.follow(stream, &mut resume, &shutdown).await;
                    self.lost();
                    if delivered {
                        delays = backoff();
                        if !live {
                            tracing::info!("account event stream restored");
                        }
                        live = true;
                    }
                }
                Err(WatchError::ResumeTokenInvalid) => {
                    tracing::warn!("account event stream resume token refused; starting over");
                    resume.clear();
                }
                Err(WatchError::Failed(error)) => {
                    tracing::debug!(error, "account event stream not opened");
                }
            }
            if shutdown.is_cancelled() {
                break;
            }
            if live {
                tracing::warn!("account event stream lost; asking account on each check");
                live = false;
            }
            let delay = delays.next().unwrap_or(Duration::from_secs(5));
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
        self.lost();
    }

    /// Reads one open stream until it ends, fails, stalls or shutdown; returns whether it
    /// delivered any message.
    async fn follow(
        &self,
        mut stream: BoxStream<'static, Result<ScopeMessage, WatchError>>,
        resume: &mut String,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut delivered = false;
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return delivered,
                next = tokio::time::timeout(self.inner.stale_after, stream.next()) => next,
            };
            match next {
                Err(_) => {
                    tracing::warn!(
                        silent_ms = self.inner.stale_after.as_millis(),
                        "account event stream stalled"
                    );
                    return delivered;
                }
                Ok(None) => {
                    tracing::info!("account event stream ended by account");
                    return delivered;
                }
                Ok(Some(Err(WatchError::ResumeTokenInvalid))) => {
                    tracing::warn!("account event stream resume token refused; starting over");
                    resume.clear();
                    return delivered;
                }
                Ok(Some(Err(WatchError::Failed(error)))) => {
                    tracing::info!(error, "account event stream broke");
                    return delivered;
                }
                Ok(Some(Ok(m))) => {
                    delivered = true;
                    if !m.resume_token.is_empty() {
                        *resume = m.resume_token;
                    }
                    self.message(Instant::now(), m.scope);
                }
            }
        }
    }

    /// Returns what the stream looks like now (for tests).
    #[cfg(test)]
    fn watch_view(&self) -> WatchView {
        self.state().watch
    }
}

fn backoff() -> backon::ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests;
