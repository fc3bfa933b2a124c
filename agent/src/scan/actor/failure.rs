//! How card-thread errors become session inputs: which are worth another read, which mean
//! the card left, which are the PIN's outcome.

use crate::card_thread::{ReadError, SignThreadError};
use crate::jpki::{JpkiError, SignError};
use crate::session::{ReadFailure, SignFailure};
use crate::transport::TransportError;

fn status_word(error: &JpkiError) -> String {
    error
        .status_word()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

fn transport_read_failure(error: &TransportError) -> ReadFailure {
    match error {
        TransportError::CardRemoved | TransportError::NoCard => ReadFailure::CardRemoved,
        TransportError::Cancelled | TransportError::WaitTimedOut { .. } => ReadFailure::Failed {
            class: error.class().to_owned(),
            status_word: String::new(),
        },
        _ => ReadFailure::Transient {
            class: error.class().to_owned(),
        },
    }
}

pub(super) fn read_failure(error: &ReadError) -> ReadFailure {
    match error {
        ReadError::Transport(e) => transport_read_failure(e),
        ReadError::Card(JpkiError::Transport(e)) => transport_read_failure(e),
        ReadError::Card(JpkiError::Refused(_)) => ReadFailure::Refused,
        ReadError::Card(e @ JpkiError::NotMyNumberCard(_)) => ReadFailure::NotMyNumber {
            status_word: status_word(e),
        },
        ReadError::Card(e @ JpkiError::MalformedResponse { .. }) => ReadFailure::Transient {
            class: e.class().to_owned(),
        },
        ReadError::Card(e) => ReadFailure::Failed {
            class: e.class().to_owned(),
            status_word: status_word(e),
        },
        ReadError::Stopped => ReadFailure::Failed {
            class: "CARD_THREAD_STOPPED".into(),
            status_word: String::new(),
        },
    }
}

pub(super) fn sign_failure(error: &SignThreadError) -> SignFailure {
    let transport = |e: &TransportError| match e {
        TransportError::CardRemoved | TransportError::NoCard => SignFailure::CardRemoved,
        other => SignFailure::Failed {
            class: other.class().to_owned(),
            status_word: String::new(),
        },
    };
    match error {
        SignThreadError::Sign(SignError::PinRejected { tries_left }) => SignFailure::Rejected {
            tries_left: *tries_left,
        },
        SignThreadError::Sign(SignError::PinBlocked) => SignFailure::Blocked,
        SignThreadError::Sign(SignError::LastTryNotConfirmed) => SignFailure::LastTryNotConfirmed,
        SignThreadError::Sign(SignError::Card(JpkiError::Refused(_))) => SignFailure::Refused,
        SignThreadError::Sign(SignError::Card(JpkiError::Transport(e)))
        | SignThreadError::Transport(e) => transport(e),
        SignThreadError::Sign(SignError::Card(e)) => SignFailure::Failed {
            class: e.class().to_owned(),
            status_word: status_word(e),
        },
        SignThreadError::Stopped => SignFailure::Failed {
            class: "CARD_THREAD_STOPPED".into(),
            status_word: String::new(),
        },
    }
}
