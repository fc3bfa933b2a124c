//! The test JPKI hierarchy: an RSA-2048 CA clearly named as a test (`O=JPKI-TEST`) that issues
//! per-person 利用者証明用電子証明書 look-alikes (DOMAIN.md §1.7), and verifies them again for
//! card queries. RSA keys come from the `rsa` crate, since ring cannot generate them
//! (TOOLCHAIN.md §5). It never puts a name in a certificate and never logs key material.

#[cfg(test)]
mod tests;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

/// The test CA's subject CN.
pub(crate) const CA_COMMON_NAME: &str = "MynaFleet JPKI-TEST auth CA";
const CA_UNIT: &str = "JPKI for user authentication";
const CA_ORGANIZATION: &str = "JPKI-TEST";

/// Why a test CA or a certificate could not be made, read or checked.
#[derive(Debug, thiserror::Error)]
pub enum JpkiError {
    /// A file or directory operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// RSA key generation or encoding failed.
    #[error("rsa key: {0}")]
    Key(String),
    /// rcgen refused the key or the certificate parameters.
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The CA files are present but unreadable.
    #[error("test ca in {path}: {why}")]
    BadCa {
        /// The CA directory.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The person index is outside the population.
    #[error("person {index} is outside the population of {size}")]
    PersonOutOfRange {
        /// The index asked for.
        index: u32,
        /// The population size.
        size: u32,
    },
    /// The PIN is not 4 ASCII digits.
    #[error("the pin must be 4 digits")]
    InvalidPin,
    /// The output directory already holds something.
    #[error("{0} already exists and is not empty")]
    OutputExists(PathBuf),
}

pub(crate) fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> JpkiError + 'a {
    move |source| JpkiError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// The test CA: its certificate and the issuer that signs with its key.
pub struct TestCa {
    dir: PathBuf,
    cert_pem: String,
    cert_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("dir", &self.dir)
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

/// What a leaf certificate is issued with.
#[derive(Clone, Debug, Default)]
pub struct LeafRequest<'a> {
    /// The subject CN (opaque; never a name).
    pub subject_cn: &'a str,
    /// An existing PKCS#8 DER RSA key; a new RSA-2048 key is made when absent.
    pub key_pkcs8: Option<&'a [u8]>,
    /// Start of validity (default: now − 1 day).
    pub not_before: Option<OffsetDateTime>,
    /// End of validity (default: not_before + 5 years).
    pub not_after: Option<OffsetDateTime>,
}

/// An issued certificate and its key.
pub struct Leaf {
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub key_pkcs8: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaf")
            .field("cert_len", &self.cert_der.len())
            .finish_non_exhaustive()
    }
}

/// Why a certificate was not accepted as one of this CA's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// Not a DER X.509 certificate.
    #[error("not a der x.509 certificate")]
    Malformed,
    /// Not signed by this CA.
    #[error("not issued by the test jpki ca")]
    UnknownIssuer,
    /// Signed, but carrying no subject CN.
    #[error("no subject common name")]
    NoSubject,
}

/// Returns a new RSA-2048 private key as PKCS#8 DER.
pub fn generate_key() -> Result<Zeroizing<Vec<u8>>, JpkiError> {
    use rsa::pkcs8::EncodePrivateKey as _;
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| JpkiError::Key(e.to_string()))?;
    let doc = key
        .to_pkcs8_der()
        .map_err(|e| JpkiError::Key(e.to_string()))?;
    Ok(Zeroizing::new(doc.as_bytes().to_vec()))
}

fn random_serial() -> SerialNumber {
    use rsa::rand_core::RngCore as _;
    let mut bytes = [0u8; 16];
    rsa::rand_core::OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7F;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn ca_params(now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "JP");
    dn.push(DnType::OrganizationName, CA_ORGANIZATION);
    dn.push(DnType::OrganizationalUnitName, CA_UNIT);
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(365 * 20);
    params.serial_number = Some(random_serial());
    params
}

/// Loads the test CA from `dir` (`ca.pem`, `ca.key`), creating it when missing.
///
/// Safe when several processes call it at once on an empty or absent `dir`: the CA is built
/// in a temporary directory beside it and renamed into place; whoever loses the rename loads
/// the winner's CA.
pub fn load_or_create(dir: &Path) -> Result<TestCa, JpkiError> {
    let pem_path = dir.join("ca.pem");
    if pem_path.exists() {
        return load(dir);
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io("create", &parent))?;
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "jpki".to_owned());
    let tmp = parent.join(format!(".{base}.tmp-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&tmp).map_err(io("create", &tmp))?;
    let built = write_new_ca(&tmp);
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // rename(2) replaces an absent or empty directory; a non-empty one means another process
    // won the race (or the directory holds other files: then place the two files one by one).
    match std::fs::rename(&tmp, dir) {
        Ok(()) => {}
        Err(_) if pem_path.exists() => {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(_) => {
            let result = place_files(&tmp, dir);
            let _ = std::fs::remove_dir_all(&tmp);
            result?;
        }
    }
    load(dir)
}

/// Places `ca.key` then `ca.pem` into an existing directory with hard links, which fail
/// instead of replacing a file another process already placed.
fn place_files(from: &Path, dir: &Path) -> Result<(), JpkiError> {
    for name in ["ca.key", "ca.pem"] {
        let target = dir.join(name);
        match std::fs::hard_link(from.join(name), &target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
            Err(e) => return Err(io("link", &target)(e)),
        }
    }
    Ok(())
}

fn write_new_ca(dir: &Path) -> Result<(), JpkiError> {
    let key = KeyPair::try_from(generate_key()?.as_slice())?;
    let cert = ca_params(OffsetDateTime::now_utc()).self_signed(&key)?;
    let key_path = dir.join("ca.key");
    mynafleet_kit::tls::dev::write_private(&key_path, &key.serialize_pem()).map_err(|e| {
        JpkiError::BadCa {
            path: key_path.clone(),
            why: e.to_string(),
        }
    })?;
    let pem_path = dir.join("ca.pem");
    std::fs::write(&pem_path, cert.pem()).map_err(io("write", &pem_path))
}

fn load(dir: &Path) -> Result<TestCa, JpkiError> {
    let bad = |why: String| JpkiError::BadCa {
        path: dir.to_owned(),
        why,
    };
    let pem_path = dir.join("ca.pem");
    let key_path = dir.join("ca.key");
    let cert_pem = std::fs::read_to_string(&pem_path).map_err(io("read", &pem_path))?;
    let key_pem =
        Zeroizing::new(std::fs::read_to_string(&key_path).map_err(io("read", &key_path))?);
    let key = KeyPair::from_pem(&key_pem).map_err(|e| bad(format!("ca.key: {e}")))?;
    let (_, block) = x509_parser::pem::parse_x509_pem(cert_pem.as_bytes())
        .map_err(|e| bad(format!("ca.pem: {e}")))?;
    let cert_der = block.contents;
    let issuer = Issuer::from_ca_cert_der(&cert_der.as_slice().into(), key)
        .map_err(|e| bad(format!("ca.pem: {e}")))?;
    Ok(TestCa {
        dir: dir.to_owned(),
        cert_pem,
        cert_der,
        issuer,
    })
}

impl TestCa {
    /// Returns the CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Returns the CA certificate, DER (EF 000B of a card profile).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Returns the SHA-256 fingerprint of the CA certificate.
    pub fn fingerprint(&self) -> String {
        mynafleet_kit::tls::fingerprint_pem(&self.cert_pem)
    }

    /// Issues an auth certificate: subject `CN=<subject_cn>, C=JP`, random serial,
    /// digitalSignature, RSA-2048.
    pub fn issue(&self, req: &LeafRequest<'_>) -> Result<Leaf, JpkiError> {
        let key_pkcs8 = match req.key_pkcs8 {
            Some(k) => Zeroizing::new(k.to_vec()),
            None => generate_key()?,
        };
        let key = KeyPair::try_from(key_pkcs8.as_slice())?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "JP");
        dn.push(DnType::CommonName, req.subject_cn);
        params.distinguished_name = dn;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.serial_number = Some(random_serial());
        let not_before = req
            .not_before
            .unwrap_or_else(|| OffsetDateTime::now_utc() - Duration::days(1));
        params.not_before = not_before;
        params.not_after = req
            .not_after
            .unwrap_or(not_before + Duration::days(365 * 5));
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Leaf {
            cert_der: cert.der().to_vec(),
            key_pkcs8,
        })
    }

    /// Returns the subject CN of `cert_der` when this CA signed it. Validity dates are not
    /// checked: the simulator answers for expired cards too (the proxy refuses them).
    pub fn verify(&self, cert_der: &[u8]) -> Result<String, VerifyError> {
        let (_, ca) = x509_parser::parse_x509_certificate(&self.cert_der)
            .map_err(|_| VerifyError::UnknownIssuer)?;
        let (rest, cert) =
            x509_parser::parse_x509_certificate(cert_der).map_err(|_| VerifyError::Malformed)?;
        if !rest.is_empty() {
            return Err(VerifyError::Malformed);
        }
        cert.verify_signature(Some(ca.public_key()))
            .map_err(|_| VerifyError::UnknownIssuer)?;
        cert.subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned)
            .ok_or(VerifyError::NoSubject)
    }
}
