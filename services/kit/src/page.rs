//! List pagination shared by every List RPC: page-size bounds and opaque page tokens that
//! carry "after this key" under a per-list tag, so a token from one list is refused by another.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The page size used when a request asks for 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page size a request may ask for.
pub const MAX_PAGE_SIZE: i32 = 1000;

/// Validates a requested page size: 0 means [`DEFAULT_PAGE_SIZE`]; the error describes the
/// bound for the `page_size` field violation.
pub fn page_size(requested: i32) -> Result<u32, String> {
    match requested {
        0 => Ok(DEFAULT_PAGE_SIZE),
        n if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n.unsigned_abs()),
        _ => Err(format!("must be between 0 and {MAX_PAGE_SIZE}")),
    }
}

/// Encodes "the next page starts after `last`" for the list tagged `tag`.
pub fn encode_token(tag: &str, last: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{tag}:{last}"))
}

/// Decodes a token of the list tagged `tag`: `Ok(None)` for the first page (empty token),
/// `Err(())` for a token this list never issued.
#[allow(
    clippy::result_unit_err,
    reason = "callers map it to their own INVALID_PAGE_TOKEN"
)]
pub fn decode_token(tag: &str, token: &str) -> Result<Option<String>, ()> {
    if token.is_empty() {
        return Ok(None);
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| ())?;
    let s = String::from_utf8(bytes).map_err(|_| ())?;
    let last = s
        .strip_prefix(tag)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or(())?;
    Ok(Some(last.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_only_within_their_list() {
        let t = encode_token("org", "0190");
        assert_eq!(decode_token("org", &t), Ok(Some("0190".to_owned())));
        assert_eq!(decode_token("dev", &t), Err(()));
        assert_eq!(decode_token("org", ""), Ok(None));
        assert_eq!(decode_token("org", "***"), Err(()));
    }

    #[test]
    fn page_sizes_default_and_are_bounded() {
        assert_eq!(page_size(0), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(1000), Ok(1000));
        assert!(page_size(1001).is_err());
        assert!(page_size(-1).is_err());
    }
}
