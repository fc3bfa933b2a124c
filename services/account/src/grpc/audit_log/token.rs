//! Page tokens of the audit API bound to the caller's session: a token carries where the
//! next page starts and a MAC over it, the caller (session id, or service name) and what was
//! asked (the chain, or the search's filters). A continued read is not recorded again, so a
//! token must not be a free pass: one made up, altered, or taken to another session or
//! another search is refused.

use crate::auth::Actor;
use crate::error::{Error, Result};
use mynafleet_kit::keys::SecretKey;

/// HKDF label of the token MAC key (derived from the reference key).
const LABEL: &str = "audit-page-token";

/// Hex digits of the MAC a token carries (128 bits).
const MAC_HEX: usize = 32;

/// Makes and opens the tokens of one caller.
pub(super) struct Tokens {
    key: SecretKey,
    caller: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").finish_non_exhaustive()
    }
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Tokens {
    /// Returns the tokens of `actor` under keys derived from `reference`.
    pub(super) fn new(reference: &SecretKey, actor: &Actor) -> Self {
        let caller = match actor {
            Actor::Operator(p) => format!("session:{}", p.session_id),
            Actor::Service(name) => format!("service:{name}"),
        };
        Self {
            key: reference.derive(LABEL, ""),
            caller,
        }
    }

    fn mac(&self, tag: &str, scope: &str, inner: &str) -> String {
        let mut mac = self.key.hmac_hex(&[tag, &self.caller, scope, inner]);
        mac.truncate(MAC_HEX);
        mac
    }

    /// Returns the token of list `tag` for what `scope` names, continuing after `inner`.
    pub(super) fn seal(&self, tag: &str, scope: &str, inner: &str) -> String {
        let mac = self.mac(tag, scope, inner);
        mynafleet_kit::page::encode_token(tag, &format!("{inner}~{mac}"))
    }

    /// Opens a token made by [`Tokens::seal`] for the same caller, `tag` and `scope`; `None`
    /// for an empty token (a first page).
    pub(super) fn open(&self, tag: &str, scope: &str, token: &str) -> Result<Option<String>> {
        let Some(body) =
            mynafleet_kit::page::decode_token(tag, token).map_err(|()| Error::InvalidPageToken)?
        else {
            return Ok(None);
        };
        let (inner, mac) = body.rsplit_once('~').ok_or(Error::InvalidPageToken)?;
        if !same(mac, &self.mac(tag, scope, inner)) {
            return Err(Error::InvalidPageToken);
        }
        Ok(Some(inner.to_owned()))
    }
}
