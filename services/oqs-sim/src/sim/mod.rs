//! The simulator's engine, shared by the gRPC edge and the file responders: who a query
//! names, the 照会番号 registry (in memory, per 機関コード), and the latency and fault knobs.
//! It never sees the wire: inputs are plain values, outputs the result shape.

pub(crate) mod answer;

use crate::config::{Config, Faults, Outage};
use crate::error::{Error, Result};
use crate::jpki::TestCa;
use crate::population::{People, Person};
use answer::{Context, Kind};
use mynafleet_kit::clock::Clock;
use mynafleet_proto::eligibility::v1 as el;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The header values a query carries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Header {
    pub(crate) date: String,
    pub(crate) institution: String,
    pub(crate) file_id: String,
}

/// A number query's search info, exactly as sent (`None` = not sent).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SearchEcho {
    pub(crate) insurer_number: Option<String>,
    pub(crate) symbol: Option<String>,
    pub(crate) number: Option<String>,
    pub(crate) branch: Option<String>,
    pub(crate) birthdate: Option<String>,
    pub(crate) limit_flag: Option<String>,
    pub(crate) arbitrary_identifier: Option<String>,
}

/// The patient's consent answers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Consents {
    pub(crate) limit: bool,
    pub(crate) checkups: bool,
    pub(crate) pharmacists: bool,
    pub(crate) diagnosis: bool,
    pub(crate) operation: bool,
}

/// The run-time knobs (ConfigureFaults).
#[derive(Clone, Debug, Default)]
pub(crate) struct Knobs {
    pub(crate) delay: Duration,
    pub(crate) error_rate: f64,
    pub(crate) outage: bool,
    pub(crate) inject_consent_fields: bool,
}

/// What a registration answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Registration {
    pub(crate) status: &'static str,
    pub(crate) code: Option<&'static str>,
    pub(crate) message: Option<&'static str>,
}

#[derive(Debug, Default)]
struct References {
    /// (機関コード, 照会番号) → person.
    by_reference: HashMap<(String, String), u32>,
    /// (機関コード, person) → 照会番号.
    by_person: HashMap<(String, u32), String>,
}

/// The longest 照会番号 accepted.
const MAX_REFERENCE_CHARS: usize = 50;

/// The engine.
#[derive(Debug)]
pub(crate) struct Sim {
    people: People,
    ca: TestCa,
    clock: Clock,
    outages: Vec<Outage>,
    knobs: Mutex<Knobs>,
    references: Mutex<References>,
}

impl Sim {
    /// Builds the engine from `config` with the CA already loaded.
    pub(crate) fn new(config: &Config, ca: TestCa) -> Self {
        let people = People::generate(config.seed, config.population_size);
        Self::with(people, ca, config.clock.clone(), &config.faults)
    }

    /// Builds the engine from its parts.
    pub(crate) fn with(people: People, ca: TestCa, clock: Clock, faults: &Faults) -> Self {
        Self {
            people,
            ca,
            clock,
            outages: faults.outages.clone(),
            knobs: Mutex::new(Knobs {
                delay: Duration::from_millis(faults.delay_ms),
                error_rate: faults.error_rate,
                outage: false,
                inject_consent_fields: false,
            }),
            references: Mutex::new(References::default()),
        }
    }

    fn knobs(&self) -> Knobs {
        self.knobs.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Replaces the run-time knobs.
    pub(crate) fn configure(&self, knobs: Knobs) {
        if let Ok(mut k) = self.knobs.lock() {
            *k = knobs;
        }
    }

    /// Returns the population.
    pub(crate) fn people(&self) -> &People {
        &self.people
    }

    /// Returns the test CA.
    pub(crate) fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// Applies the fault knobs to one query: waits the delay, then fails on an outage or
    /// when the error rate strikes.
    pub(crate) async fn gate(&self) -> Result<()> {
        let k = self.knobs();
        if !k.delay.is_zero() {
            tokio::time::sleep(k.delay).await;
        }
        let now = self.clock.now();
        if k.outage || self.outages.iter().any(|o| o.start <= now && now < o.end) {
            return Err(Error::SimulatedOutage);
        }
        if k.error_rate > 0.0 {
            use rsa::rand_core::RngCore as _;
            let draw = rsa::rand_core::OsRng.next_u64() as f64 / u64::MAX as f64;
            if draw < k.error_rate {
                return Err(Error::SimulatedError);
            }
        }
        Ok(())
    }

    fn reference_of(&self, institution: &str, index: u32) -> Option<String> {
        let refs = self.references.lock().ok()?;
        refs.by_person
            .get(&(institution.to_owned(), index))
            .cloned()
    }

    fn context<'a>(
        &self,
        kind: Kind,
        header: &'a Header,
        character_code: &'static str,
    ) -> Context<'a> {
        Context {
            kind,
            header,
            search: None,
            consents: Consents::default(),
            now: self.clock.now(),
            inject_consent_fields: self.knobs().inject_consent_fields,
            character_code,
            reference_number: None,
            not_found_message: None,
        }
    }

    /// Answers a card query: the certificate must be one the test CA issued.
    pub(crate) fn by_card(
        &self,
        header: &Header,
        certificate: &[u8],
        consents: Consents,
    ) -> Result<el::QualificationResult> {
        let cn = self.ca.verify(certificate).map_err(|e| match e {
            crate::jpki::VerifyError::Malformed => Error::CertificateUnknown("not a certificate"),
            crate::jpki::VerifyError::UnknownIssuer => {
                Error::CertificateUnknown("not issued by the simulator's test ca")
            }
            crate::jpki::VerifyError::NoSubject => Error::CertificateUnknown("no subject"),
        })?;
        let person = self
            .people
            .by_subject(&cn)
            .ok_or(Error::CertificateUnknown("no person has this subject"))?;
        let mut cx = self.context(Kind::Card, header, "0");
        cx.consents = consents;
        cx.reference_number = self.reference_of(&header.institution, person.index);
        Ok(answer::build(Some(person), &cx))
    }

    /// Answers a number query; no match is 該当資格なし (validity 4).
    pub(crate) fn by_numbers(
        &self,
        header: &Header,
        search: &SearchEcho,
        character_code: &'static str,
    ) -> el::QualificationResult {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        let person = self
            .people
            .by_numbers(
                &s(&search.insurer_number),
                &s(&search.symbol),
                &s(&search.number),
                &s(&search.branch),
            )
            .filter(|p| p.card.birthdate == s(&search.birthdate));
        let mut cx = self.context(Kind::Numbers, header, character_code);
        cx.search = Some(search);
        cx.consents.limit = search.limit_flag.as_deref() == Some("1");
        cx.reference_number = person.and_then(|p| self.reference_of(&header.institution, p.index));
        answer::build(person, &cx)
    }

    /// Answers a 再照会 by a 照会番号 that institution registered; unknown → validity 4.
    pub(crate) fn requery(
        &self,
        header: &Header,
        reference: &str,
    ) -> Result<el::QualificationResult> {
        check_reference(reference)?;
        let index = self.references.lock().ok().and_then(|r| {
            r.by_reference
                .get(&(header.institution.clone(), reference.to_owned()))
                .copied()
        });
        let person = index.and_then(|i| self.people.get(i));
        let mut cx = self.context(Kind::Requery, header, "0");
        cx.reference_number = person.map(|_| reference.to_owned());
        cx.not_found_message = Some("照会番号が登録されていません。");
        Ok(answer::build(person, &cx))
    }

    /// Registers `reference` for the person with these card numbers at `institution`.
    pub(crate) fn register(
        &self,
        institution: &str,
        reference: &str,
        numbers: [&str; 4],
    ) -> Result<Registration> {
        check_reference(reference)?;
        let [insurer, symbol, number, branch] = numbers;
        let Some(person) = self.people.by_numbers(insurer, symbol, number, branch) else {
            return Ok(Registration {
                status: "2",
                code: None,
                message: Some("該当する資格情報がありません。"),
            });
        };
        let mut refs = self.references.lock().map_err(|_| Error::SimulatedError)?;
        let key = (institution.to_owned(), person.index);
        if let Some(old) = refs.by_person.remove(&key) {
            refs.by_reference.remove(&(institution.to_owned(), old));
        }
        refs.by_reference
            .insert((institution.to_owned(), reference.to_owned()), person.index);
        refs.by_person.insert(key, reference.to_owned());
        Ok(Registration {
            status: "1",
            code: None,
            message: None,
        })
    }

    /// Returns person `index`.
    pub(crate) fn person(&self, index: u32) -> Result<&Person> {
        self.people.get(index).ok_or(Error::PersonNotFound(index))
    }
}

fn check_reference(reference: &str) -> Result<()> {
    let n = reference.chars().count();
    if n == 0 || n > MAX_REFERENCE_CHARS {
        return Err(Error::InvalidField {
            field: "reference_number",
            description: format!("must be 1 to {MAX_REFERENCE_CHARS} characters"),
        });
    }
    Ok(())
}
