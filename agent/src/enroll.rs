//! Activation (DESIGN.md §3.2): the four items of the ユーザ設定情報 sheet plus a CSR for a
//! key made on this terminal, answered with a device certificate and the servers' CA bundle.
//!
//! The key is written (`0600`) before its CSR is sent, and reused while no certificate exists,
//! so a retry after a lost reply presents the same key and gets the same certificate. The
//! server is verified (by a CA file or the pinned CA fingerprint) before the password or code
//! is sent. Passwords and codes stay in zeroizing buffers and are never logged; this module
//! never prompts (the CLI does).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use time::OffsetDateTime;
use tonic::Code;
use tracing::{info, warn};
use zeroize::Zeroizing;

use crate::certificate::{self, CertificateError, CertificateInfo};
use crate::client::{self, ActivateCall, CallError};
use crate::facts::DeviceFacts;
use crate::fingerprint::Fingerprint;
use crate::identity::{self, IdentityError};
use crate::pin::{self, PinError};
use crate::reason::Described;
use crate::server_url::ServerUrl;
use crate::state::{CERT_FILE, IdentityRecord, KEY_FILE, SERVER_CA_FILE, StateDir, StateError};

/// How long the pinning handshake may take.
const PIN_TIMEOUT: Duration = Duration::from_secs(15);
/// Activate is retried this many times when the server is unavailable.
const UNAVAILABLE_RETRIES: usize = 3;

/// How the terminal knows it reached the real server.
#[derive(Clone, Debug)]
pub enum Trust {
    /// A PEM bundle of CA certificates, from a file.
    CaFile(PathBuf),
    /// A PEM bundle of CA certificates.
    CaPem(String),
    /// The SHA-256 fingerprint of the CA, as printed on the sheet.
    Fingerprint(Fingerprint),
}

/// Everything Activate needs.
#[derive(Clone)]
pub struct ActivateParams {
    /// The state directory to fill.
    pub state_dir: PathBuf,
    /// The activation service.
    pub server: ServerUrl,
    /// How to verify it.
    pub trust: Trust,
    /// 機関コード (or 登録記号番号).
    pub institution_code: String,
    /// `W` + 7 digits.
    pub account_id: String,
    /// The account's password.
    pub password: Zeroizing<String>,
    /// The 12-digit activation code.
    pub activation_code: Zeroizing<String>,
    /// The new password, after [`EnrollError::PasswordChangeRequired`].
    pub new_password: Option<Zeroizing<String>>,
    /// What the terminal says about itself.
    pub facts: DeviceFacts,
}

impl fmt::Debug for ActivateParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivateParams")
            .field("state_dir", &self.state_dir)
            .field("server", &self.server)
            .field("trust", &self.trust)
            .field("institution_code", &self.institution_code)
            .field("account_id", &self.account_id)
            .field("password", &"<redacted>")
            .field("activation_code", &"<redacted>")
            .field(
                "new_password",
                &self.new_password.as_ref().map(|_| "<redacted>"),
            )
            .field("facts", &self.facts)
            .finish()
    }
}

/// A terminal that was just activated.
#[derive(Clone, Debug)]
pub struct Activated {
    /// `organizations/{org}/clinics/{clinic}/devices/{uuid}`.
    pub device: String,
    /// `organizations/{org}/clinics/{clinic}/accounts/{W…}`.
    pub account: String,
    /// 機関コード.
    pub institution_code: String,
    /// 機関名.
    pub institution_name: String,
    /// Where the proxies are.
    pub proxy_urls: Vec<String>,
    /// The certificate's serial and validity.
    pub certificate: CertificateInfo,
    /// Where key, certificate and CA were written.
    pub state_dir: PathBuf,
}

/// Why activation did not complete.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    /// The state directory already holds a certificate.
    #[error(
        "already activated: {0} holds a device certificate (see `mynafleet-agent status`); \
         to activate again, move that directory away first"
    )]
    AlreadyActivated(PathBuf),
    /// The state directory could not be used.
    #[error(transparent)]
    State(#[from] StateError),
    /// The CA file could not be read.
    #[error("read ca file {path}: {source}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The CA file holds no PEM certificate.
    #[error("ca file {0} holds no pem certificate")]
    CaFileEmpty(PathBuf),
    /// The server could not be verified against the pinned fingerprint.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// The key or CSR could not be made.
    #[error(transparent)]
    Key(#[from] CertificateError),
    /// The channel could not be configured.
    #[error(transparent)]
    Channel(#[from] IdentityError),
    /// The account's password is temporary: call again with `new_password`.
    #[error(
        "the password on the sheet is temporary and must be changed first / \
         ユーザ設定情報のパスワードは仮パスワードです。変更が必要です (PASSWORD_CHANGE_REQUIRED)"
    )]
    PasswordChangeRequired,
    /// The server refused with a stable reason.
    #[error("{}{}", Described { reason, message }, RetryHint(*retry_after))]
    Refused {
        /// The reason (`CODE_EXPIRED`).
        reason: String,
        /// The server's message.
        message: String,
        /// When the server says a retry may succeed.
        retry_after: Option<Duration>,
    },
    /// The server refused without a reason.
    #[error("activation failed ({code:?}): {message}")]
    Failed {
        /// The gRPC code.
        code: Code,
        /// The server's message.
        message: String,
    },
    /// The server could not be reached.
    #[error("cannot reach the activation server {server}: {message}")]
    Unreachable {
        /// The server.
        server: String,
        /// What went wrong.
        message: String,
    },
    /// The server's reply was unusable.
    #[error("the server's reply is unusable: {0}")]
    BadReply(String),
}

impl EnrollError {
    /// Returns the stable reason of a refusal, if there is one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::PasswordChangeRequired => Some("PASSWORD_CHANGE_REQUIRED"),
            Self::Refused { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

struct RetryHint(Option<Duration>);

impl fmt::Display for RetryHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, "; try again in {}", crate::status::Human(d)),
            None => Ok(()),
        }
    }
}

/// Activates this terminal and writes its key, certificate, CA bundle and `identity.json`.
pub async fn activate(params: ActivateParams) -> Result<Activated, EnrollError> {
    let state = StateDir::create(&params.state_dir)?;
    if state.exists(CERT_FILE) {
        return Err(EnrollError::AlreadyActivated(params.state_dir));
    }
    let ca_pem = trusted_ca(&params.trust, &params.server).await?;

    // The key goes to disk before anything is sent, and a key left by an earlier attempt is
    // used again: the server binds the code to the first key it sees.
    let (key_pem, csr_der) = match state.read_secret(KEY_FILE)? {
        Some(key) => {
            let csr = certificate::csr_for_key(&key)?;
            (key, csr)
        }
        None => {
            let made = certificate::new_key_and_csr()?;
            state.write_private(KEY_FILE, made.key_pem.as_bytes())?;
            (made.key_pem, made.csr_der)
        }
    };

    let channel = identity::lazy_channel(&params.server, &ca_pem, None)?;
    let mut backoff = ExponentialBuilder::new()
        .with_jitter()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(4))
        .with_max_times(UNAVAILABLE_RETRIES)
        .build();
    let issued = loop {
        let call = ActivateCall {
            institution_code: params.institution_code.trim(),
            account_id: params.account_id.trim(),
            password: &params.password,
            activation_code: params.activation_code.trim(),
            new_password: params.new_password.as_deref().map(String::as_str),
            csr_der: csr_der.clone(),
            facts: &params.facts,
        };
        match client::activate(channel.clone(), call).await {
            Ok(issued) => break issued,
            Err(e) if e.code == Code::Unavailable => match backoff.next() {
                Some(delay) => {
                    warn!(server = %params.server, error = %e.message, "activation server unavailable; retrying");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(unreachable(&params.server, e)),
            },
            Err(e) => return Err(refusal(&params.server, e)),
        }
    };

    let received_at = OffsetDateTime::now_utc();
    let certificate = CertificateInfo::from_pem(&issued.certificate_pem)
        .map_err(|e| EnrollError::BadReply(e.to_string()))?;
    if !certificate.matches_key(&key_pem) {
        return Err(EnrollError::BadReply(
            "the certificate is not for this terminal's key".into(),
        ));
    }
    let server_ca_pem = if issued.server_ca_pem.trim().is_empty() {
        ca_pem
    } else {
        issued.server_ca_pem
    };
    let record = IdentityRecord {
        device: issued.device,
        account: issued.account,
        institution_code: if issued.institution_code.is_empty() {
            params.institution_code.trim().to_owned()
        } else {
            issued.institution_code
        },
        institution_name: issued.institution_name,
        activation_url: params.server.to_string(),
        proxy_urls: issued.proxy_urls,
        certificate_expire_time: certificate.not_after,
        issued_at: received_at,
    };
    // cert.pem last: its presence means "activated", so everything it needs is there first.
    state.write_public(SERVER_CA_FILE, server_ca_pem.as_bytes())?;
    state.write_record(&record)?;
    state.write_public(CERT_FILE, issued.certificate_pem.as_bytes())?;
    info!(device = %record.device, serial = %certificate.serial, expires = %certificate.not_after, "terminal activated");
    Ok(Activated {
        device: record.device,
        account: record.account,
        institution_code: record.institution_code,
        institution_name: record.institution_name,
        proxy_urls: record.proxy_urls,
        certificate,
        state_dir: params.state_dir,
    })
}

/// Returns the CA bundle (PEM) to trust for `server`, verifying a pin by handshake.
async fn trusted_ca(trust: &Trust, server: &ServerUrl) -> Result<String, EnrollError> {
    let pem = match trust {
        Trust::Fingerprint(pin) => {
            return Ok(pin::fetch_pinned_ca(server, *pin, PIN_TIMEOUT).await?.pem());
        }
        Trust::CaPem(pem) => pem.clone(),
        Trust::CaFile(path) => {
            std::fs::read_to_string(path).map_err(|source| EnrollError::CaFile {
                path: path.clone(),
                source,
            })?
        }
    };
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .count();
    if certs == 0 {
        let path = match trust {
            Trust::CaFile(path) => path.clone(),
            Trust::CaPem(_) | Trust::Fingerprint(_) => PathBuf::from("<ca pem>"),
        };
        return Err(EnrollError::CaFileEmpty(path));
    }
    Ok(pem)
}

fn unreachable(server: &ServerUrl, e: CallError) -> EnrollError {
    EnrollError::Unreachable {
        server: server.to_string(),
        message: e.message,
    }
}

fn refusal(server: &ServerUrl, e: CallError) -> EnrollError {
    match (e.reason.as_deref(), e.code) {
        (Some("PASSWORD_CHANGE_REQUIRED"), _) => EnrollError::PasswordChangeRequired,
        (Some(_), _) => EnrollError::Refused {
            reason: e.reason().to_owned(),
            message: e.message,
            retry_after: e.retry_after,
        },
        (None, Code::DeadlineExceeded | Code::Unavailable) => unreachable(server, e),
        (None, code) => EnrollError::Failed {
            code,
            message: e.message,
        },
    }
}
