//! [`JpkiCard`]: the JPKI AP behind any [`CardTransport`], with the allow-list in front of it.
//!
//! Every command goes through one private path that checks [`super::allow_list::check`] first,
//! so a refused APDU never reaches the transport. Responses are split into data and a decoded
//! [`StatusWord`]; their data is never printed, not even by `Debug`.

use std::fmt;

use super::allow_list::{self, Refusal};
use super::apdu::{get_response, select_jpki_ap, with_le};
use super::status::StatusWord;
use crate::transport::{CardTransport, TransportError};

/// Errors of JPKI card operations. [`JpkiError::class`] gives each a short machine string
/// for scan events; neither the message nor the class carries card data.
#[derive(Debug, thiserror::Error)]
pub enum JpkiError {
    /// The allow-list refused the command; nothing was sent (a `COMMAND_REFUSED` event).
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
    /// SELECT of the JPKI AP did not answer `9000` (`6A82` on most cards, DOMAIN.md §1.1).
    #[error("not a my number card: the jpki ap select answered {0}")]
    NotMyNumberCard(StatusWord),
    /// A step answered a status word it must not.
    #[error("{step} answered {status}")]
    Unexpected {
        /// What the agent was doing, for example `"select ef 000A"`; steps of the sign
        /// transaction start with `sign`, the PIN's with `verify`, which picks the class.
        step: &'static str,
        /// The status word the card answered.
        status: StatusWord,
    },
    /// `61xx` / `6Cxx` went on for longer than any card needs.
    #[error("{step}: the card kept asking for more exchanges")]
    EndlessExchange {
        /// What the agent was doing.
        step: &'static str,
    },
    /// A certificate EF does not start with a DER SEQUENCE header of a definite length.
    #[error("certificate ef {ef:04X} holds no der sequence header")]
    CertificateMalformed {
        /// The EF read.
        ef: u16,
    },
    /// The DER header announces more than the 15-bit offsets of READ BINARY reach
    /// (DOMAIN.md §1.5 read loop, step 2).
    #[error("certificate ef {ef:04X} announces {total} bytes, more than 0x7FFF")]
    CertificateTooLong {
        /// The EF read.
        ef: u16,
        /// Header plus content length as announced.
        total: usize,
    },
    /// The EF ended before the length its DER header announced.
    #[error("certificate ef {ef:04X} ended after {read} of {total} bytes")]
    CertificateTruncated {
        /// The EF read.
        ef: u16,
        /// Bytes read before the end of file.
        read: usize,
        /// Bytes announced.
        total: usize,
    },
    /// The signature is not the 256 bytes of an RSA-2048 key (DOMAIN.md §1.5 signing).
    #[error("the card returned a {len}-byte signature instead of 256 bytes")]
    SignatureLength {
        /// The length received.
        len: usize,
    },
}

impl JpkiError {
    /// Returns the machine-readable failure class a scan event carries.
    pub fn class(&self) -> &'static str {
        match self {
            JpkiError::Refused(_) => "COMMAND_REFUSED",
            JpkiError::Transport(e) => e.class(),
            JpkiError::NotMyNumberCard(_) => "NOT_MY_NUMBER_CARD",
            JpkiError::Unexpected { step, .. } if step.starts_with("sign") => "SIGN_FAILED",
            JpkiError::Unexpected { step, .. } if step.starts_with("verify") => "PIN_VERIFY_FAILED",
            JpkiError::MalformedResponse { .. }
            | JpkiError::EndlessExchange { .. }
            | JpkiError::Unexpected { .. } => "CARD_READ_FAILED",
            JpkiError::CertificateMalformed { .. } | JpkiError::CertificateTruncated { .. } => {
                "CERTIFICATE_MALFORMED"
            }
            JpkiError::CertificateTooLong { .. } => "CERTIFICATE_TOO_LONG",
            JpkiError::SignatureLength { .. } => "SIGN_FAILED",
        }
    }

    /// Returns the status word of a card answer behind the error, if one is.
    pub fn status_word(&self) -> Option<StatusWord> {
        match self {
            JpkiError::NotMyNumberCard(status) | JpkiError::Unexpected { status, .. } => {
                Some(*status)
            }
            _ => None,
        }
    }
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
    refusals: u32,
}

/// How many `61xx` / `6Cxx` rounds one command may take before the card is given up on: a
/// signature or a 256-byte chunk needs at most two.
const MAX_EXCHANGE_ROUNDS: usize = 8;

impl<T: CardTransport> JpkiCard<T> {
    /// Wraps `transport`; every command sent through the result passes the allow-list.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            refusals: 0,
        }
    }

    /// Returns the transport.
    pub fn into_inner(self) -> T {
        self.transport
    }

    /// Returns how many commands the allow-list refused so far (each one a `COMMAND_REFUSED`
    /// event for the session).
    pub fn refusals(&self) -> u32 {
        self.refusals
    }

    /// Selects the JPKI AP and says whether the card is a My Number card (DOMAIN.md §1.1,
    /// §1.5). On [`CardKind::MyNumber`] the JPKI AP is the current application.
    pub fn identify(&mut self) -> Result<CardKind, JpkiError> {
        let response = self.exchange(&select_jpki_ap(), "select jpki ap", Resend::Allowed)?;
        Ok(match response.status() {
            StatusWord::Success => CardKind::MyNumber,
            other => CardKind::NotMyNumber(other),
        })
    }

    /// Sends `apdu` as it is, through the allow-list: a refused command fails with
    /// [`JpkiError::Refused`] and never reaches the card. No `61xx` / `6Cxx` handling.
    pub fn send_raw(&mut self, apdu: &[u8]) -> Result<Response, JpkiError> {
        self.transmit(apdu)
    }

    /// Sends one command the way every command goes (DOMAIN.md §1.1): `6Cxx` resends it once
    /// with Le = xx (unless `resend` forbids it, as for a VERIFY with a PIN, which is never
    /// sent twice), `61xx` fetches the rest with GET RESPONSE and appends it.
    pub(crate) fn exchange(
        &mut self,
        apdu: &[u8],
        step: &'static str,
        resend: Resend,
    ) -> Result<Response, JpkiError> {
        let mut response = self.transmit(apdu)?;
        if let (StatusWord::WrongLe(le), Resend::Allowed) = (response.status(), resend)
            && let Some(resent) = with_le(apdu, le)
        {
            response = self.transmit(&resent)?;
        }
        let mut data = Vec::new();
        for _ in 0..MAX_EXCHANGE_ROUNDS {
            match response.status() {
                StatusWord::MoreData(n) => {
                    data.extend_from_slice(response.data());
                    response = self.transmit(&get_response(n))?;
                    if let StatusWord::WrongLe(le) = response.status() {
                        response = self.transmit(&get_response(le))?;
                    }
                }
                _ if data.is_empty() => return Ok(response),
                status => {
                    data.extend_from_slice(response.data());
                    return Ok(Response { data, status });
                }
            }
        }
        Err(JpkiError::EndlessExchange { step })
    }

    /// Checks `apdu` against the allow-list, then transmits it and parses the response.
    pub(crate) fn transmit(&mut self, apdu: &[u8]) -> Result<Response, JpkiError> {
        if let Err(refusal) = allow_list::check(apdu) {
            self.refusals = self.refusals.saturating_add(1);
            return Err(refusal.into());
        }
        let raw = self.transport.transmit(apdu)?;
        Response::parse(raw)
    }
}

/// Whether [`JpkiCard::exchange`] may resend a command after `6Cxx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// Resend with the Le the card asked for.
    Allowed,
    /// Never send the command twice (VERIFY with a PIN: a resend would be a second try).
    Never,
}
