//! [`JpkiCard`]: the JPKI AP behind any [`CardTransport`], with the allow-list in front of it.
//!
//! Every command goes through one private path that checks [`super::allow_list::check`] first,
//! so a refused APDU never reaches the transport. Responses are split into data and a decoded
//! [`StatusWord`]; their data is never printed, not even by `Debug`.

use std::fmt;

use super::allow_list::{self, Refusal};
use super::apdu::select_jpki_ap;
use super::status::StatusWord;
use crate::transport::{CardTransport, TransportError};

/// Errors of JPKI card operations.
#[derive(Debug, thiserror::Error)]
pub enum JpkiError {
    /// The allow-list refused the command; nothing was sent.
    #[error("command refused before reaching the card: {0}")]
    Refused(#[from] Refusal),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The card answered fewer than the two status bytes.
    #[error("card response of {len} bytes has no status word")]
    MalformedResponse {
        /// The response length.
        len: usize,
    },
}

/// What a card in a reader is, decided by SELECT of the JPKI AP and never by ATR
/// (DOMAIN.md §1.1, §10 rule 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardKind {
    /// The JPKI AP answered `9000`: a My Number card (or a token speaking its protocol).
    MyNumber,
    /// Anything else answered the SELECT (`6A82` on most cards), kept for diagnostics.
    NotMyNumber(StatusWord),
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    data: Vec<u8>,
    status: StatusWord,
}

impl Response {
    /// Splits a raw response APDU into data and status word.
    pub fn parse(mut raw: Vec<u8>) -> Result<Self, JpkiError> {
        let len = raw.len();
        let Some(at) = len.checked_sub(2) else {
            return Err(JpkiError::MalformedResponse { len });
        };
        let status = StatusWord::from_bytes(raw[at], raw[at + 1]);
        raw.truncate(at);
        Ok(Self { data: raw, status })
    }

    /// Returns the response data (without the status word).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Returns the decoded status word.
    pub fn status(&self) -> StatusWord {
        self.status
    }
}

/// Shows the data length only: response data can be certificates or other card contents.
impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("data_len", &self.data.len())
            .field("status", &self.status)
            .finish()
    }
}

/// The JPKI AP of the card behind a transport.
#[derive(Debug)]
pub struct JpkiCard<T> {
    transport: T,
}

impl<T: CardTransport> JpkiCard<T> {
    /// Wraps `transport`; every command sent through the result passes the allow-list.
    pub fn new(transport: T) -> Self {
        Self { transport }
    }

    /// Returns the transport.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// Selects the JPKI AP and says whether the card is a My Number card (DOMAIN.md §1.1,
    /// §1.5). On [`CardKind::MyNumber`] the JPKI AP is the current application.
    pub fn identify(&mut self) -> Result<CardKind, JpkiError> {
        let response = self.transmit(&select_jpki_ap())?;
        Ok(match response.status() {
            StatusWord::Success => CardKind::MyNumber,
            other => CardKind::NotMyNumber(other),
        })
    }

    /// Checks `apdu` against the allow-list, then transmits it and parses the response.
    pub(crate) fn transmit(&mut self, apdu: &[u8]) -> Result<Response, JpkiError> {
        allow_list::check(apdu)?;
        let raw = self.transport.transmit(apdu)?;
        Response::parse(raw)
    }
}
