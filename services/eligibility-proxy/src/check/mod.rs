//! Eligibility checks (DESIGN.md §3.3–3.4): the one place that orders the steps of a check.
//! A card check opens and claims the challenge, verifies the card (signature for PIN, the
//! attesting staff member for VISUAL) and its certificate, looks up the account's scope,
//! asks the clinic's upstream, filters the result to the scope, writes the audit record
//! durably and only then answers; the hand-off follows. Number checks and 再照会 skip the
//! card steps. Every refusal after the device gate is audited too.
//!
//! It never sends the upstream consent answers an account may not see the outcome of, and
//! nothing but the typed result (DOMAIN.md §3.2–3.3 elements) ever leaves it.

pub(crate) mod input;
mod scope_filter;
mod trace;

use crate::audit::{CheckAudit, CheckKind, Method, Outcome, PatientKey};
use crate::challenge::Challenges;
use crate::error::Error;
use crate::handoff::Handoff;
use crate::oqs::{self, Reading};
use crate::scope::{AccountScope, Scopes};
use crate::store::Store;
use crate::upstream::{
    Capabilities, CardQuery, NumberQuery, QueryHeader, Registration, RequeryQuery, Upstream,
    UpstreamError, Upstreams,
};
use crate::verify::{self, TrustStore};
use mynafleet_kit::clock::Clock;
use mynafleet_proto::eligibility::v1 as pb;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tracing::Instrument as _;

pub(crate) use scope_filter::{filter, scope_of};

/// Who is asking: the admitted device and facts about the call.
#[derive(Clone, Debug)]
pub(crate) struct Asker {
    /// `organizations/{org}/clinics/{clinic}/devices/{uuid}`.
    pub(crate) device: String,
    /// `organizations/{org}/clinics/{clinic}/accounts/{W…}`.
    pub(crate) account: String,
    /// The terminal's address.
    pub(crate) source_address: String,
    /// W3C traceparent of the call.
    pub(crate) traceparent: String,
}

/// A card check as the device completed it.
#[derive(Clone, Debug)]
pub(crate) struct CardInput {
    pub(crate) challenge_id: String,
    pub(crate) certificate_der: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) method: pb::IdentityMethod,
    pub(crate) attesting_staff: String,
    pub(crate) consents: pb::ConsentAnswers,
}

/// What a check returns.
#[derive(Clone, Debug)]
pub(crate) struct Checked {
    pub(crate) check_id: String,
    pub(crate) reading: Reading,
    pub(crate) scope: pb::ResultScope,
    pub(crate) result: pb::QualificationResult,
    pub(crate) handoff_files: Vec<String>,
    pub(crate) handoff_error: String,
}

/// Everything a check needs.
#[derive(Debug)]
pub(crate) struct Checker {
    challenges: Challenges,
    trust: Arc<TrustStore>,
    upstreams: Upstreams,
    scopes: Scopes,
    store: Store,
    handoff: Handoff,
    clock: Clock,
    keys: mynafleet_kit::keys::SecretKey,
    sequence: AtomicU32,
}

/// JST, where 資格確認日 and file times are reckoned.
fn jst() -> time::UtcOffset {
    time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC)
}

impl Checker {
    /// Returns the checker.
    #[allow(
        clippy::too_many_arguments,
        reason = "one field each, built once in serve"
    )]
    pub(crate) fn new(
        challenges: Challenges,
        trust: Arc<TrustStore>,
        upstreams: Upstreams,
        scopes: Scopes,
        store: Store,
        handoff: Handoff,
        clock: Clock,
        keys: mynafleet_kit::keys::SecretKey,
    ) -> Self {
        Self {
            challenges,
            trust,
            upstreams,
            scopes,
            store,
            handoff,
            clock,
            keys,
            sequence: AtomicU32::new(0),
        }
    }

    /// Starts the audit record of a check by `asker`.
    fn audit(&self, kind: CheckKind, asker: &Asker) -> CheckAudit {
        let mut audit =
            CheckAudit::new(kind, &asker.device, &asker.account, self.clock.now_micros());
        audit.source_address.clone_from(&asker.source_address);
        audit.traceparent.clone_from(&asker.traceparent);
        audit
    }

    /// Issues a challenge to `asker`'s device.
    pub(crate) fn begin(&self, asker: &Asker) -> crate::challenge::Issued {
        self.challenges.issue(&asker.device)
    }

    /// The header of a query made now for `scope`'s clinic.
    fn header(&self, scope: &AccountScope) -> QueryHeader {
        let now = self.clock.now().to_offset(jst());
        let date = format!(
            "{:04}{:02}{:02}",
            now.year(),
            u8::from(now.month()),
            now.day()
        );
        // Unique per request and readable in a folder listing: MF + time + a counter.
        let n = self.sequence.fetch_add(1, Ordering::Relaxed) % 10_000;
        let file_identifier = format!(
            "MF{date}{:02}{:02}{:02}{:06}{n:04}",
            now.hour(),
            now.minute(),
            now.second(),
            now.microsecond()
        );
        QueryHeader {
            institution_code: scope.institution_code.clone(),
            confirmation_date: date,
            file_identifier,
        }
    }

    /// The scope of the asking account, refused when it may not check.
    async fn scope(&self, asker: &Asker) -> Result<AccountScope, Error> {
        let scope = self
            .scopes
            .get(&asker.account)
            .await
            .map_err(Error::Scope)?;
        if !scope.available {
            return Err(Error::AccountNotAvailable);
        }
        Ok(scope)
    }

    /// The upstream of `scope`'s clinic, refused up front when it cannot do `what` (so a
    /// card check does not spend its challenge on an adapter that cannot answer it).
    fn upstream(
        &self,
        scope: &AccountScope,
        can: fn(Capabilities) -> bool,
        what: &'static str,
        audit: &mut CheckAudit,
    ) -> Result<&Arc<dyn Upstream>, Error> {
        let upstream = self.upstreams.for_institution(&scope.institution_code);
        audit.upstream = upstream.name().to_owned();
        trace::institution(&scope.institution_code);
        if can(upstream.capabilities()) {
            Ok(upstream)
        } else {
            Err(Error::Upstream(UpstreamError::NotCapable {
                adapter: upstream.name(),
                what,
            }))
        }
    }

    /// Completes a card check.
    pub(crate) async fn card(&self, asker: &Asker, input: CardInput) -> Result<Checked, Error> {
        let method = match input.method {
            pb::IdentityMethod::Pin => Method::Pin,
            pb::IdentityMethod::Visual => Method::Visual,
            pb::IdentityMethod::Unspecified => {
                return Err(Error::field(
                    "identity_method",
                    "required: PIN or VISUAL (目視確認)",
                ));
            }
        };
        let mut audit = self.audit(CheckKind::Card, asker);
        audit.method = Some(method);
        let span = trace::check_span(CheckKind::Card, asker);
        let outcome = self
            .card_steps(asker, input, method, &mut audit)
            .instrument(span.clone())
            .await;
        self.finish(audit, outcome).instrument(span).await
    }

    async fn card_steps(
        &self,
        asker: &Asker,
        input: CardInput,
        method: Method,
        audit: &mut CheckAudit,
    ) -> Result<Answered, Error> {
        let scope = self.scope(asker).await?;
        audit.scope(&scope);
        let upstream = self.upstream(&scope, |c| c.card, "card checks", audit)?;
        let issued = self
            .challenges
            .open(&input.challenge_id, &asker.device)
            .map_err(Error::Challenge)?;
        match method {
            Method::Visual => {
                if input.attesting_staff.trim().is_empty() {
                    return Err(Error::StaffRequired);
                }
                if !input.signature.is_empty() {
                    return Err(Error::SignatureNotExpected);
                }
                audit.attesting_staff = Some(input.attesting_staff.clone());
            }
            Method::Pin => {
                verify::verify_signature(&input.certificate_der, &issued.bytes, &input.signature)
                    .map_err(Error::Card)?;
            }
        }
        let certificate = self
            .trust
            .verify_certificate(&input.certificate_der, self.clock.now())
            .map_err(Error::Card)?;
        audit.certificate_serial = Some(certificate.serial_hex);
        let expires = mynafleet_kit::clock::to_micros(issued.expires);
        if !self
            .store
            .claim_challenge(issued.claim_key(), expires)
            .await
            .map_err(|e| Error::Store(e.to_string()))?
        {
            return Err(Error::ChallengeReplayed);
        }
        let scoped = scope_of(&scope);
        let mut consents = input.consents;
        if scoped != pb::ResultScope::WithConsent {
            // Answers to questions this account may not see the outcome of are not sent.
            consents.specific_health_checkups = false;
            consents.pharmacists = false;
            consents.diagnosis = false;
            consents.operation = false;
        }
        let query = CardQuery {
            header: self.header(&scope),
            certificate_der: input.certificate_der,
            consents,
        };
        let answer = upstream
            .query_by_card(&query)
            .await
            .map_err(Error::Upstream)?;
        Ok(Answered {
            scope,
            result: answer.result,
        })
    }

    /// A card-number check.
    pub(crate) async fn numbers(
        &self,
        asker: &Asker,
        numbers: input::Numbers,
        limit_consent: bool,
    ) -> Result<Checked, Error> {
        let mut audit = self.audit(CheckKind::Numbers, asker);
        let span = trace::check_span(CheckKind::Numbers, asker);
        audit.patient = Some(numbers.patient());
        let outcome = async {
            let scope = self.scope(asker).await?;
            audit.scope(&scope);
            let query = NumberQuery {
                header: self.header(&scope),
                insurer_number: numbers.insurer_number,
                symbol: numbers.symbol,
                number: numbers.number,
                branch: numbers.branch,
                birthdate: numbers.birthdate,
                limit_consent,
            };
            let upstream = self.upstream(&scope, |c| c.numbers, "number checks", &mut audit)?;
            let answer = upstream
                .query_by_numbers(&query)
                .await
                .map_err(Error::Upstream)?;
            Ok(Answered {
                scope,
                result: answer.result,
            })
        }
        .instrument(span.clone())
        .await;
        self.finish(audit, outcome).instrument(span).await
    }

    /// 再照会.
    pub(crate) async fn requery(
        &self,
        asker: &Asker,
        reference_number: String,
    ) -> Result<Checked, Error> {
        let mut audit = self.audit(CheckKind::Requery, asker);
        let span = trace::check_span(CheckKind::Requery, asker);
        audit.reference_number = Some(reference_number.clone());
        let outcome = async {
            let scope = self.scope(asker).await?;
            audit.scope(&scope);
            let query = RequeryQuery {
                header: self.header(&scope),
                reference_number,
            };
            let upstream = self.upstream(&scope, |c| c.requery, "再照会", &mut audit)?;
            let answer = upstream.requery(&query).await.map_err(Error::Upstream)?;
            Ok(Answered {
                scope,
                result: answer.result,
            })
        }
        .instrument(span.clone())
        .await;
        self.finish(audit, outcome).instrument(span).await
    }

    /// 照会番号 registration.
    pub(crate) async fn register(
        &self,
        asker: &Asker,
        reference_number: String,
        numbers: input::Numbers,
    ) -> Result<pb::RegisterReferenceNumberResponse, Error> {
        let mut audit = self.audit(CheckKind::Register, asker);
        audit.reference_number = Some(reference_number.clone());
        audit.patient = Some(numbers.patient());
        let outcome = async {
            let scope = self.scope(asker).await?;
            audit.scope(&scope);
            let registration = Registration {
                header: self.header(&scope),
                reference_number,
                insurer_number: numbers.insurer_number,
                symbol: numbers.symbol,
                number: numbers.number,
                branch: numbers.branch,
            };
            let upstream =
                self.upstream(&scope, |c| c.register, "照会番号 registration", &mut audit)?;
            upstream
                .register_reference_number(&registration)
                .await
                .map_err(Error::Upstream)
        }
        .await;
        match outcome {
            Ok(answer) => {
                audit.verdict = format!(
                    "registration:{}",
                    answer.processing_result_status.as_deref().unwrap_or("")
                );
                self.record(audit).await?;
                Ok(answer)
            }
            Err(e) => {
                failed(&mut audit, &e);
                self.record(audit).await?;
                Err(e)
            }
        }
    }

    /// Writes the audit record (before anything is answered) and builds the answer.
    async fn finish(
        &self,
        mut audit: CheckAudit,
        outcome: Result<Answered, Error>,
    ) -> Result<Checked, Error> {
        let Answered { scope, mut result } = match outcome {
            Ok(answered) => answered,
            Err(e) => {
                failed(&mut audit, &e);
                trace::ended(&audit);
                self.record(audit).await?;
                return Err(e);
            }
        };
        let scoped = scope_of(&scope);
        filter(&mut result, scoped);
        let reading = oqs::read(&result);
        read(&mut audit, &reading, &result);
        let check_id = audit.id.to_string();
        trace::ended(&audit);
        self.record(audit).await?;
        let (handoff_files, handoff_error) = match self
            .handoff
            .write(&scope.institution_code, &result, self.clock.now())
            .await
        {
            Ok(files) => (files, String::new()),
            Err(e) => {
                tracing::warn!(error = %e, clinic = %scope.clinic, "hand-off failed");
                (Vec::new(), e.to_string())
            }
        };
        Ok(Checked {
            check_id,
            reading,
            scope: scoped,
            result,
            handoff_files,
            handoff_error,
        })
    }

    /// Appends the record durably; a check whose record cannot be written fails (closed).
    async fn record(&self, audit: CheckAudit) -> Result<(), Error> {
        let counted = crate::metrics::Check::of(&audit);
        let record = audit.into_outbox(&self.keys);
        let written = self.store.append_audit(record).await;
        counted.count(written.is_ok());
        written.map_err(|e| Error::Store(e.to_string()))
    }
}

/// An upstream answer and the scope it is for.
#[derive(Debug)]
struct Answered {
    scope: AccountScope,
    result: pb::QualificationResult,
}

/// Notes a refusal or failure on the record.
fn failed(audit: &mut CheckAudit, e: &Error) {
    let outcome = if e.is_denial() {
        Outcome::Denied
    } else {
        Outcome::Failure
    };
    audit.fail(outcome, e.reason());
}

/// Notes the proxy's reading of a result on the record; a card check learns the patient
/// (keyed, never clear) from the one result it returned.
fn read(audit: &mut CheckAudit, reading: &Reading, result: &pb::QualificationResult) {
    audit.validity = result.qualification_validity.clone().unwrap_or_default();
    audit.verdict = reading.verdict.as_str_name().to_owned();
    if audit.patient.is_none()
        && let [q] = result.results.as_slice()
    {
        audit.patient = Some(PatientKey {
            insurer: q.insurer_number.clone().unwrap_or_default(),
            symbol: q.insured_card_symbol.clone().unwrap_or_default(),
            number: q.insured_identification_number.clone().unwrap_or_default(),
            branch: q.insured_branch_number.clone().unwrap_or_default(),
        });
    }
}
