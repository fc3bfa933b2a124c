//! Upstream adapters behind one trait (DESIGN.md §3.3 "Which upstreams can do what"): the
//! OQS simulator over gRPC ([`sim`]) and the OQS file interface ([`file`]). Each declares
//! what it can do; a check it cannot do fails with `UPSTREAM_NOT_CAPABLE`, never silently.
//! [`guard`] wraps any adapter with the per-call deadline, bounded retries on UNAVAILABLE
//! and a circuit breaker. [`Upstreams`] picks the adapter by 機関コード.
//!
//! Results are `eligibility.v1.QualificationResult` values: the OQS element tree as typed
//! data, every value the exact string returned (DOMAIN.md §10.12).

pub(crate) mod file;
pub(crate) mod guard;
pub(crate) mod sim;

use mynafleet_proto::eligibility::v1 as pb;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What an adapter can do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Capabilities {
    /// Card checks (auth certificate → 資格情報).
    pub(crate) card: bool,
    /// Card-number checks (OQSsiquc01req).
    pub(crate) numbers: bool,
    /// 再照会 by 照会番号.
    pub(crate) requery: bool,
    /// 照会番号 registration (OQSsiimm01req).
    pub(crate) register: bool,
}

/// What every query carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct QueryHeader {
    /// 医療機関コード (10 digits) of the clinic asking.
    pub(crate) institution_code: String,
    /// 資格確認日 `YYYYMMDD` (JST).
    pub(crate) confirmation_date: String,
    /// A unique id echoed in the result's header (≤ 50 characters), also used in file names.
    pub(crate) file_identifier: String,
}

/// A card check, after the proxy verified the card.
#[derive(Clone, Debug)]
pub(crate) struct CardQuery {
    pub(crate) header: QueryHeader,
    /// The auth certificate (DER).
    pub(crate) certificate_der: Vec<u8>,
    /// The patient's consent answers.
    pub(crate) consents: pb::ConsentAnswers,
}

/// A card-number check. Values as the staff typed them, validated; the insurer number is
/// already in its 8-character upstream form (6 digits right-aligned with two spaces).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NumberQuery {
    pub(crate) header: QueryHeader,
    pub(crate) insurer_number: String,
    pub(crate) symbol: String,
    pub(crate) number: String,
    pub(crate) branch: String,
    pub(crate) birthdate: String,
    /// 限度額適用認定証の提供同意 (OQSCD001 `1` when true).
    pub(crate) limit_consent: bool,
}

/// 再照会.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequeryQuery {
    pub(crate) header: QueryHeader,
    pub(crate) reference_number: String,
}

/// 照会番号 registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Registration {
    pub(crate) header: QueryHeader,
    pub(crate) reference_number: String,
    pub(crate) insurer_number: String,
    pub(crate) symbol: String,
    pub(crate) number: String,
    pub(crate) branch: String,
}

/// An upstream's answer.
#[derive(Clone, Debug, Default)]
pub(crate) struct Answer {
    /// The parsed result: the elements DOMAIN.md names, each value exactly as received.
    pub(crate) result: pb::QualificationResult,
}

/// Why an upstream call failed.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum UpstreamError {
    /// The adapter cannot do this kind of check.
    #[error("the upstream adapter {adapter} cannot do {what}")]
    NotCapable {
        /// The adapter's name.
        adapter: &'static str,
        /// What was asked ("card checks").
        what: &'static str,
    },
    /// Unreachable or answered UNAVAILABLE (retried by the guard).
    #[error("upstream unavailable: {0}")]
    Unavailable(String),
    /// No answer within the deadline.
    #[error("no upstream answer within {0:?}")]
    Timeout(Duration),
    /// The breaker is open: failing fast.
    #[error("upstream circuit open; retry in {retry_after:?}")]
    CircuitOpen {
        /// When the next probe will be let through.
        retry_after: Duration,
    },
    /// The upstream could not process the request (`.err`): its text, raw.
    #[error("upstream rejected the request: {0}")]
    Rejected(String),
    /// The answer could not be read, or names another institution or request.
    #[error("upstream answer invalid: {0}")]
    Invalid(String),
}

impl UpstreamError {
    /// Whether the guard retries it and counts it against the breaker.
    pub(crate) fn is_unavailable(&self) -> bool {
        matches!(
            self,
            UpstreamError::Unavailable(_) | UpstreamError::Timeout(_)
        )
    }
}

/// One upstream adapter.
#[tonic::async_trait]
pub(crate) trait Upstream: Send + Sync + std::fmt::Debug {
    /// A short name for logs and errors ("oqs-sim", "oqs-file").
    fn name(&self) -> &'static str;
    /// What it can do.
    fn capabilities(&self) -> Capabilities;
    /// A card check.
    async fn query_by_card(&self, q: &CardQuery) -> Result<Answer, UpstreamError>;
    /// A card-number check.
    async fn query_by_numbers(&self, q: &NumberQuery) -> Result<Answer, UpstreamError>;
    /// 再照会.
    async fn requery(&self, q: &RequeryQuery) -> Result<Answer, UpstreamError>;
    /// 照会番号 registration.
    async fn register_reference_number(
        &self,
        r: &Registration,
    ) -> Result<pb::RegisterReferenceNumberResponse, UpstreamError>;
}

/// The adapters by 機関コード, each already guarded.
#[derive(Clone, Debug)]
pub(crate) struct Upstreams {
    default: Arc<dyn Upstream>,
    by_institution: HashMap<String, Arc<dyn Upstream>>,
}

impl Upstreams {
    /// Builds every configured adapter, each behind its guards.
    pub(crate) fn from_config(
        config: &crate::config::Config,
    ) -> Result<Self, mynafleet_kit::tls::ChannelError> {
        let build = |up: &crate::config::UpstreamConfig| -> Result<Arc<dyn Upstream>, _> {
            let inner: Arc<dyn Upstream> = match &up.kind {
                crate::config::UpstreamKind::Simulator { url } => {
                    Arc::new(sim::SimUpstream::new(url, &config.client_tls, up.deadline)?)
                }
                crate::config::UpstreamKind::FileInterface(files) => {
                    // A result is read when two reads three polls apart agree.
                    Arc::new(
                        file::FileUpstream::new(files.clone(), up.deadline)
                            .with_stable_interval(files.poll_interval * 3),
                    )
                }
            };
            Ok(Arc::new(guard::Guarded::new(inner, up)))
        };
        let mut by_institution = HashMap::new();
        for (code, up) in &config.upstreams {
            by_institution.insert(code.clone(), build(up)?);
        }
        Ok(Self::new(build(&config.default_upstream)?, by_institution))
    }

    /// Returns the set.
    pub(crate) fn new(
        default: Arc<dyn Upstream>,
        by_institution: HashMap<String, Arc<dyn Upstream>>,
    ) -> Self {
        Self {
            default,
            by_institution,
        }
    }

    /// Returns the adapter configured for `institution_code`, or the default.
    pub(crate) fn for_institution(&self, institution_code: &str) -> &Arc<dyn Upstream> {
        self.by_institution
            .get(institution_code)
            .unwrap_or(&self.default)
    }
}
