//! Card profiles: everything card-sim needs to play one person's My Number card (auth
//! certificate, CA certificate, private key, PIN, tries, token label), written as a directory
//! that appears complete or not at all. The layout is docs/card-profile.md; card-sim reads it
//! without sharing this crate. It never logs the PIN or the key.

#[cfg(test)]
mod tests;

use crate::jpki::{self, JpkiError, LeafRequest, io};
use crate::population::{Person, person};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Which JPKI token the card profile plays (DOMAIN.md §1.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Token {
    /// A physical 個人番号カード (`JPKIAPICCTOKEN2`).
    #[default]
    Card,
    /// スマホ用電子証明書 on Android (`JPKIAPGPSETOKEN`).
    Android,
    /// マイナンバーカード on iPhone (`JPKIAPIOSTOKEN`).
    Iphone,
}

impl Token {
    /// Returns the token label EF 0006 starts with.
    pub fn label(self) -> &'static str {
        match self {
            Self::Card => "JPKIAPICCTOKEN2",
            Self::Android => "JPKIAPGPSETOKEN",
            Self::Iphone => "JPKIAPIOSTOKEN",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Android => "android",
            Self::Iphone => "iphone",
        }
    }
}

/// What to issue a card profile for.
#[derive(Clone)]
pub struct CardRequest {
    /// The person's index.
    pub person: u32,
    /// The profile directory to create.
    pub out: PathBuf,
    /// The test CA directory (another one issues an "unknown CA" card).
    pub ca_dir: PathBuf,
    /// The population seed.
    pub seed: u64,
    /// The population size (the index must be below it).
    pub population_size: u32,
    /// The PIN, 4 digits; random when absent.
    pub pin: Option<String>,
    /// PIN tries left.
    pub tries_left: u8,
    /// Which token to play.
    pub token: Token,
    /// An existing PKCS#8 DER RSA-2048 key; a new key is made when absent.
    pub key_pkcs8: Option<Vec<u8>>,
    /// Certificate validity start (default now − 1 day).
    pub not_before: Option<OffsetDateTime>,
    /// Certificate validity end (default not_before + 5 years).
    pub not_after: Option<OffsetDateTime>,
}

impl std::fmt::Debug for CardRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardRequest")
            .field("person", &self.person)
            .field("out", &self.out)
            .field("ca_dir", &self.ca_dir)
            .field("seed", &self.seed)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl CardRequest {
    /// Returns a request for person `person` of the default population, with a random PIN,
    /// 3 tries, a physical card and a new key.
    pub fn new(person: u32, out: impl Into<PathBuf>, ca_dir: impl Into<PathBuf>) -> Self {
        Self {
            person,
            out: out.into(),
            ca_dir: ca_dir.into(),
            seed: crate::Population::DEFAULT_SEED,
            population_size: crate::Population::DEFAULT_SIZE,
            pin: None,
            tries_left: 3,
            token: Token::Card,
            key_pkcs8: None,
            not_before: None,
            not_after: None,
        }
    }
}

/// A written card profile.
#[derive(Clone)]
pub struct CardProfile {
    /// The profile directory.
    pub dir: PathBuf,
    /// `auth-cert.der` (EF 000A).
    pub certificate: PathBuf,
    /// `auth-ca.der` (EF 000B).
    pub ca_certificate: PathBuf,
    /// `auth-key.pk8` (PKCS#8 DER, 0600).
    pub private_key: PathBuf,
    /// `profile.toml`.
    pub profile: PathBuf,
    /// The person the card belongs to, with their card numbers.
    pub person: Person,
    /// The PIN (tests enter it; never log it).
    pub pin: String,
    /// PIN tries left.
    pub tries_left: u8,
    /// The token label.
    pub token_label: &'static str,
}

impl std::fmt::Debug for CardProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardProfile")
            .field("dir", &self.dir)
            .field("person", &self.person.index)
            .field("token_label", &self.token_label)
            .finish_non_exhaustive()
    }
}

/// Issues person `req.person`'s auth certificate from the test CA in `req.ca_dir` (created
/// when missing) and writes the card profile into `req.out`, complete or not at all.
pub fn issue_card(req: &CardRequest) -> Result<CardProfile, JpkiError> {
    if req.person >= req.population_size {
        return Err(JpkiError::PersonOutOfRange {
            index: req.person,
            size: req.population_size,
        });
    }
    let pin = match &req.pin {
        Some(p) if p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()) => p.clone(),
        Some(_) => return Err(JpkiError::InvalidPin),
        None => random_pin(),
    };
    let who = person(req.seed, req.person);
    let ca = jpki::load_or_create(&req.ca_dir)?;
    let leaf = ca.issue(&LeafRequest {
        subject_cn: &who.certificate_subject,
        key_pkcs8: req.key_pkcs8.as_deref(),
        not_before: req.not_before,
        not_after: req.not_after,
    })?;

    let out = &req.out;
    if std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(JpkiError::OutputExists(out.clone()));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io("create", &parent))?;
    let base = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "card".to_owned());
    let tmp = parent.join(format!(".{base}.tmp-{}", uuid::Uuid::new_v4()));
    let written = write_profile(&tmp, req, &who, &pin, ca.cert_der(), &leaf);
    let placed = written.and_then(|()| std::fs::rename(&tmp, out).map_err(io("rename", out)));
    if let Err(e) = placed {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    Ok(CardProfile {
        dir: out.clone(),
        certificate: out.join("auth-cert.der"),
        ca_certificate: out.join("auth-ca.der"),
        private_key: out.join("auth-key.pk8"),
        profile: out.join("profile.toml"),
        person: who,
        pin,
        tries_left: req.tries_left,
        token_label: req.token.label(),
    })
}

fn random_pin() -> String {
    use rsa::rand_core::RngCore as _;
    let n = rsa::rand_core::OsRng.next_u32() % 10_000;
    format!("{n:04}")
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), JpkiError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io("create", path))?;
    f.write_all(bytes).map_err(io("write", path))
}

fn write_profile(
    dir: &Path,
    req: &CardRequest,
    who: &Person,
    pin: &str,
    ca_der: &[u8],
    leaf: &jpki::Leaf,
) -> Result<(), JpkiError> {
    std::fs::create_dir(dir).map_err(io("create", dir))?;
    let cert = dir.join("auth-cert.der");
    std::fs::write(&cert, &leaf.cert_der).map_err(io("write", &cert))?;
    let ca = dir.join("auth-ca.der");
    std::fs::write(&ca, ca_der).map_err(io("write", &ca))?;
    write_private(&dir.join("auth-key.pk8"), &leaf.key_pkcs8)?;
    let toml = format!(
        "# MynaFleet card profile (docs/card-profile.md). Test data: every person is made up.\n\
         version = 1\n\
         person = {person}\n\
         seed = {seed}\n\
         certificate_subject = \"{subject}\"\n\
         pin = \"{pin}\"\n\
         tries_left = {tries}\n\
         max_tries = 3\n\
         token = \"{token}\"\n\
         token_label = \"{label}\"\n",
        person = who.index,
        seed = req.seed,
        subject = who.certificate_subject,
        tries = req.tries_left,
        token = req.token.name(),
        label = req.token.label(),
    );
    write_private(&dir.join("profile.toml"), toml.as_bytes())
}
