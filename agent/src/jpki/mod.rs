//! Layer 2 (STYLE.md §8): the JPKI AP of the My Number card.
//!
//! Pure APDU builders that cite DOMAIN.md ([`select_jpki_ap`]), status words decoded into
//! [`StatusWord`], the [`allow_list`] every command passes before it reaches a transport, and
//! [`JpkiCard`], the one way this layer talks to a card. Nothing here does IO of its own, knows
//! tokio, or logs APDU payloads; and no path here can select an application other than the JPKI
//! AP (DOMAIN.md §10 rules 1–2).

pub mod allow_list;
mod apdu;
mod card;
mod ops;
mod read;
mod status;

#[cfg(test)]
pub(crate) mod tests;

pub use self::allow_list::Refusal;
pub use self::apdu::{
    EF_AUTH_CA_CERTIFICATE, EF_AUTH_CERTIFICATE, EF_AUTH_KEY, EF_AUTH_PIN, EF_CERT_AVAILABILITY,
    EF_TOKEN_INFO, JPKI_AP_AID, SHA256_DIGEST_INFO_LEN, SHA256_DIGEST_INFO_PREFIX, SecretApdu,
    digest_info_sha256, get_response, last_command_indicator, read_binary, select_ef,
    select_jpki_ap, sign, verify, verify_query,
};
pub use self::card::{CardKind, JpkiCard, JpkiError, Response};
pub use self::ops::{CardRead, Pin, PinCounter, PinFormatError, SignError, Signed, TokenKind};
pub use self::status::StatusWord;
