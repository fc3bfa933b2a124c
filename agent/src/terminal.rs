//! The terminal API (`mynafleet.terminal.v1`, DESIGN.md §5): the front desk's view of the
//! readers and the current scan, PIN entry, 目視 mode, consent answers and the last result.
//!
//! It listens on a loopback address or a unix socket only ([`Listen::parse`] refuses
//! anything else), and over TCP wants `authorization: Bearer <token>` with the token this
//! module writes (0600) into the state dir as [`TOKEN_FILE`], compared in constant time.
//! `server` holds the service and the wire conversions, `client` the calls `mynafleet-agent
//! check` makes; they are the only importers of the terminal protos. Nothing here logs a PIN,
//! a token or a result.

pub(crate) mod client;
mod server;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::state::{StateDir, StateError};

pub use self::server::{ServeError, serve};

/// The token file in the state dir.
pub const TOKEN_FILE: &str = "terminal.token";

/// The default listen address (DESIGN.md §7).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7510";

/// Where the terminal API listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// A loopback TCP address; calls need the bearer token.
    Tcp(SocketAddr),
    /// A unix socket, created 0600; the file mode is the access control.
    Unix(PathBuf),
}

/// The listen address is not loopback or a unix socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    /// Not a socket address.
    #[error("--terminal-listen {0:?} is neither ip:port nor unix:/path")]
    Malformed(String),
    /// Not a loopback address.
    #[error(
        "--terminal-listen {0} is not a loopback address: the terminal API carries names and birth dates and listens only on 127.0.0.1, [::1] or a unix socket (unix:/path)"
    )]
    NotLoopback(SocketAddr),
}

impl Listen {
    /// Parses `ip:port` (loopback only) or `unix:/path`.
    pub fn parse(text: &str) -> Result<Self, ListenError> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ListenError::Malformed(text.to_owned()));
            }
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        let addr: SocketAddr = text
            .parse()
            .map_err(|_| ListenError::Malformed(text.to_owned()))?;
        if !addr.ip().is_loopback() {
            return Err(ListenError::NotLoopback(addr));
        }
        Ok(Listen::Tcp(addr))
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Tcp(addr) => write!(f, "{addr}"),
            Listen::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// The bearer token of the terminal API. `Debug` never shows it.
#[derive(Clone)]
pub struct Token(Zeroizing<String>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(****)")
    }
}

impl Token {
    /// Wraps a token as read or typed.
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    /// Returns the token text, for the `authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Returns whether `presented` equals the token, in time independent of where they
    /// differ.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let mine = self.0.as_bytes();
        if mine.len() != presented.len() {
            return false;
        }
        let diff = mine
            .iter()
            .zip(presented)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

/// Why the token could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The state dir failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The system random source failed.
    #[error("the system random source failed: {0}")]
    Random(String),
}

/// Returns the token in `state_dir`, making one (32 random bytes, hex, 0600) on first use.
pub fn ensure_token(state_dir: &Path) -> Result<Token, TokenError> {
    let state = StateDir::open(state_dir);
    if let Some(token) = read_token(state_dir)? {
        return Ok(token);
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|e| TokenError::Random(e.to_string()))?;
    let text = Zeroizing::new(hex::encode(bytes.as_ref()));
    state.write_private(TOKEN_FILE, text.as_bytes())?;
    Ok(Token(text))
}

/// Returns the token in `state_dir`, if there is one.
pub fn read_token(state_dir: &Path) -> Result<Option<Token>, StateError> {
    let state = StateDir::open(state_dir);
    Ok(state
        .read_secret(TOKEN_FILE)?
        .map(|text| Token::new(text.trim().to_owned()))
        .filter(|token| !token.expose().is_empty()))
}
