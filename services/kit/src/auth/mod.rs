//! Caller identity, decided before any handler runs. A request's caller is a **service**
//! (client certificate from the internal CA, SAN URI `spiffe://mynafleet/service/<name>`), a
//! **device** (client certificate from the device CA, SAN URI naming its organization,
//! clinic, account and device) or an **operator** (`authorization: Bearer`, checked by the
//! service that owns sessions). [`CallerLayer`] applies each service's [`AccessPolicy`]:
//! no or an unknown identity gets UNAUTHENTICATED, the wrong kind PERMISSION_DENIED, and
//! handlers find the [`Caller`] in the request's extensions.
//!
//! Which CA issued a certificate is told by its issuer name, so the internal CA and the
//! device CA must have different subject names (checked when the layer is built).

mod layer;
mod policy;

pub use layer::{CallerLayer, CallerService};
pub use policy::{AccessPolicy, Decision};

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

const SERVICE_PREFIX: &str = "spiffe://mynafleet/service/";
const DEVICE_PREFIX: &str = "spiffe://mynafleet/";

/// Returns the SAN URI of a service identity.
pub fn service_uri(service: &str) -> String {
    format!("{SERVICE_PREFIX}{service}")
}

/// Returns the SAN URI of a device identity.
pub fn device_uri(device: &DeviceIdentity) -> String {
    format!("{DEVICE_PREFIX}{}", device.resource_path())
}

/// The kinds of caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallerKind {
    /// A MynaFleet service.
    Service,
    /// A clinic terminal.
    Device,
    /// A person with an operator session.
    Operator,
}

/// A device as its certificate names it. The parts are opaque strings here; services parse
/// them into their own types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// The organization id.
    pub organization: String,
    /// The clinic id.
    pub clinic: String,
    /// The device account id (`W` + 7 digits).
    pub account: String,
    /// The device id.
    pub device: String,
}

impl DeviceIdentity {
    /// Returns `organizations/{org}/clinics/{clinic}/accounts/{W…}/devices/{uuid}`.
    pub fn resource_path(&self) -> String {
        format!(
            "organizations/{}/clinics/{}/accounts/{}/devices/{}",
            self.organization, self.clinic, self.account, self.device
        )
    }

    fn parse(path: &str) -> Option<Self> {
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            [
                "organizations",
                org,
                "clinics",
                clinic,
                "accounts",
                account,
                "devices",
                device,
            ] if [org, clinic, account, device]
                .iter()
                .all(|p| valid_segment(p)) =>
            {
                Some(Self {
                    organization: (*org).to_owned(),
                    clinic: (*clinic).to_owned(),
                    account: (*account).to_owned(),
                    device: (*device).to_owned(),
                })
            }
            _ => None,
        }
    }
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An operator's bearer token, unverified. `Debug` never shows it.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    /// Returns the token to hand to the session check; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// Who is calling, as the identity layer established it.
#[derive(Clone, Debug)]
pub enum Caller {
    /// A MynaFleet service, by name (`account`, `activation`, …).
    Service {
        /// The service's name.
        name: String,
    },
    /// A clinic terminal.
    Device(DeviceIdentity),
    /// A bearer token still to be checked by the service that owns sessions.
    Operator(BearerToken),
}

impl Caller {
    /// Returns the caller's kind.
    pub fn kind(&self) -> CallerKind {
        match self {
            Caller::Service { .. } => CallerKind::Service,
            Caller::Device(_) => CallerKind::Device,
            Caller::Operator(_) => CallerKind::Operator,
        }
    }

    /// Returns a stable key for per-caller bookkeeping (idempotency), never a secret.
    pub fn key(&self) -> String {
        match self {
            Caller::Service { name } => format!("service:{name}"),
            Caller::Device(d) => format!("device:{}", d.resource_path()),
            // Operators are keyed by their operator id once sessions are checked; the raw
            // token never becomes a key.
            Caller::Operator(_) => "operator:unverified".to_owned(),
        }
    }

    /// Returns the caller set by [`CallerLayer`], if the request passed through it.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<&Caller> {
        request.extensions().get::<Caller>()
    }
}

/// The issuer names of the internal CA and the device CA, as raw DER.
#[derive(Clone, Debug)]
pub struct Issuers {
    service: Vec<u8>,
    device: Option<Vec<u8>>,
}

/// Why the identity layer could not be built.
#[derive(Debug, thiserror::Error)]
pub enum IssuersError {
    /// A CA certificate could not be parsed.
    #[error("parse {which} CA certificate: {detail}")]
    Parse {
        /// Which CA.
        which: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// Both CAs have the same subject name, so their certificates could not be told apart.
    #[error(
        "the internal CA and the device CA have the same subject name; give them different names"
    )]
    SameSubject,
}

impl Issuers {
    /// Reads the subject names of the two CAs.
    pub fn from_roots(roots: &crate::tls::TrustRoots) -> Result<Self, IssuersError> {
        let service = subject_of(&roots.service_ca_pem, "internal")?;
        let device = roots
            .device_ca_pem
            .as_deref()
            .map(|p| subject_of(p, "device"))
            .transpose()?;
        if device.as_ref() == Some(&service) {
            return Err(IssuersError::SameSubject);
        }
        Ok(Self { service, device })
    }

    /// Identifies the caller of a TLS connection from its verified client certificate chain.
    /// `None` when the certificate names nothing we know.
    pub fn identify(&self, leaf_der: &[u8]) -> Option<Caller> {
        let (_, cert) = X509Certificate::from_der(leaf_der).ok()?;
        let issuer = cert.issuer().as_raw();
        let uri = san_uri(&cert)?;
        if issuer == self.service.as_slice() {
            let name = uri.strip_prefix(SERVICE_PREFIX)?;
            return valid_segment(name).then(|| Caller::Service {
                name: name.to_owned(),
            });
        }
        if self.device.as_deref() == Some(issuer) {
            let path = uri.strip_prefix(DEVICE_PREFIX)?;
            return DeviceIdentity::parse(path).map(Caller::Device);
        }
        None
    }
}

fn subject_of(pem: &str, which: &'static str) -> Result<Vec<u8>, IssuersError> {
    let err = |detail: String| IssuersError::Parse { which, detail };
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| err(e.to_string()))?;
    let cert = pem.parse_x509().map_err(|e| err(e.to_string()))?;
    Ok(cert.subject().as_raw().to_vec())
}

fn san_uri(cert: &X509Certificate<'_>) -> Option<String> {
    let san = cert.subject_alternative_name().ok()??;
    let mut uris = san.value.general_names.iter().filter_map(|n| match n {
        GeneralName::URI(u) => Some(*u),
        _ => None,
    });
    let first = uris.next()?;
    // A certificate naming two identities is refused rather than guessed at.
    uris.next().is_none().then(|| first.to_owned())
}

#[cfg(test)]
mod tests;
