//! Server addresses as people type them: `https://host:port` or `host:port`, as printed on
//! the ユーザ設定情報 sheet.
//!
//! A [`ServerUrl`] is always `https`: MynaFleet speaks TLS everywhere, so a plain `http://`
//! address is refused rather than quietly upgraded. This module only parses; it never
//! resolves or connects.

use std::fmt;

#[cfg(test)]
mod tests;

/// An `https` server address with its host and port split out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    host: String,
    port: u16,
}

/// Why an address was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ServerUrlError {
    /// Nothing was typed.
    #[error("server address is empty")]
    Empty,
    /// `http://` or another scheme.
    #[error("server address {0:?} must use https (mynafleet speaks tls only)")]
    NotHttps(String),
    /// A path, query or user part after the address.
    #[error("server address {0:?} must be host:port with no path")]
    HasPath(String),
    /// The port is not a number from 1 to 65535.
    #[error("server address {0:?} has an invalid port")]
    BadPort(String),
    /// An empty host or an unclosed `[` of an IPv6 address.
    #[error("server address {0:?} has an invalid host")]
    BadHost(String),
}

impl ServerUrl {
    /// Parses `https://host:port`, `host:port`, `https://host` (port 443) or `[::1]:port`.
    pub fn parse(text: &str) -> Result<Self, ServerUrlError> {
        let typed = text.trim();
        if typed.is_empty() {
            return Err(ServerUrlError::Empty);
        }
        let rest = match typed.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
            Some(_) => return Err(ServerUrlError::NotHttps(typed.to_owned())),
            None => typed,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(ServerUrlError::HasPath(typed.to_owned()));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| ServerUrlError::BadHost(typed.to_owned()))?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(ServerUrlError::BadHost(typed.to_owned())),
                },
            }
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() || host.contains([' ', '[', ']']) {
            return Err(ServerUrlError::BadHost(typed.to_owned()));
        }
        let port = match port {
            None => 443,
            Some(port) => match port.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => return Err(ServerUrlError::BadPort(typed.to_owned())),
            },
        };
        Ok(Self {
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// Returns the host name or address, without IPv6 brackets (for TLS server names).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Returns the port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Returns `host:port` for connecting a socket (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Prints `https://host:port`, the form tonic endpoints take.
impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "https://{}", self.authority())
    }
}
