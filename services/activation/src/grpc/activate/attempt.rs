//! What an Activate call has learnt so far, for its audit records, and the activation
//! lock: refusing a locked account or address, and counting a failure with its record in
//! one transaction. It never holds the code, a password or the CSR.

use super::request::locked;
use crate::audit::{self, ActionCode, AuditActor, AuditEntry, Outcome, RequestMeta};
use crate::client::AccountScope;
use crate::error::{Error, Result};
use crate::grpc::Api;
use crate::store::{codes, locks};

/// What an Activate call has learnt so far, for its audit records.
pub(super) struct Attempt {
    pub(super) actor: AuditActor,
    pub(super) organization: String,
    pub(super) clinic: String,
    pub(super) target: String,
    pub(super) meta: RequestMeta,
    /// A failure was recorded already (with its count, in one transaction).
    pub(super) audited: bool,
}

impl Attempt {
    pub(super) fn new(meta: RequestMeta) -> Self {
        Self {
            actor: AuditActor {
                kind: "terminal",
                name: String::new(),
                role: String::new(),
                auth_method: "password+activation-code",
            },
            organization: String::new(),
            clinic: String::new(),
            target: String::new(),
            meta,
            audited: false,
        }
    }

    /// Names the actor by the account the account service confirmed.
    pub(super) fn knows(&mut self, scope: &AccountScope) {
        self.actor.name = scope.account_name();
        self.actor.role = scope.privilege.as_str().to_owned();
        self.organization = scope.organization_id.clone();
        self.clinic = scope.clinic_name();
        self.target = scope.account_name();
    }

    pub(super) fn entry(&self, now: i64, action: &'static str, code: ActionCode) -> AuditEntry {
        AuditEntry::new(self.actor.clone(), &self.meta, now, action, code)
            .organization(self.organization.clone())
            .clinic(self.clinic.clone())
            .target(self.target.clone())
    }

    fn failure(&self, now: i64, e: &Error) -> AuditEntry {
        self.entry(now, "activation.attempt", ActionCode::Execute)
            .outcome(Outcome::Failure, e.reason())
    }

    /// Records a failure that counted nothing (best effort: the refusal stands).
    pub(super) async fn audit_failure(&self, api: &Api, e: &Error) {
        if let Err(err) = audit::append_alone(&api.pool, &self.failure(api.now(), e)).await {
            tracing::error!(error = %err, "audit of a failed activation failed");
        }
    }
}

impl Api {
    pub(super) async fn refuse_if_locked(&self, scope: &str) -> Result<()> {
        let now = self.now();
        let mut conn = self.pool.acquire().await?;
        match locks::locked_until_on(&mut conn, scope, now).await? {
            Some(until) => Err(locked(until, now)),
            None => Ok(()),
        }
    }

    /// Counts a failure on the account (and its live code) when known and on the source
    /// address, with its audit record, in one transaction; returns `e` (or why counting
    /// failed).
    pub(super) async fn count(
        &self,
        attempt: &mut Attempt,
        account: Option<(&AccountScope, &str)>,
        source: Option<&str>,
        e: Error,
    ) -> Error {
        let policy = &self.config.lockout;
        let cool_down = i64::try_from(policy.cool_down.as_micros()).unwrap_or(i64::MAX);
        let now = self.now();
        let counted: Result<()> = async {
            let mut tx = mynafleet_kit::db::begin_write(&self.pool).await?;
            if let Some((scope, lock)) = account {
                let f = locks::record_failure_on(
                    &mut tx,
                    lock,
                    now,
                    policy.max_failures_per_account,
                    cool_down,
                )
                .await?;
                codes::record_failed_attempt_on(
                    &mut tx,
                    &scope.organization_id,
                    &scope.account_id,
                    now,
                )
                .await?;
                if f.locked_until.is_some() && f.count == i64::from(policy.max_failures_per_account) {
                    tracing::warn!(account = %scope.account_name(), "activation locked for the account");
                    crate::metrics::locked("account");
                }
            }
            if let Some(lock) = source {
                let f = locks::record_failure_on(
                    &mut tx,
                    lock,
                    now,
                    policy.max_failures_per_source,
                    cool_down,
                )
                .await?;
                if f.locked_until.is_some() && f.count == i64::from(policy.max_failures_per_source) {
                    tracing::warn!(scope = lock, "activation locked for the source address");
                    crate::metrics::locked("source");
                }
            }
            audit::append(&mut tx, &attempt.failure(now, &e)).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        match counted {
            Ok(()) => {
                attempt.audited = true;
                e
            }
            Err(db) => db,
        }
    }
}
