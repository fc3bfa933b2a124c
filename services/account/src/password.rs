//! Generated passwords and the password policy (DOMAIN.md §5, §6, §10.17–18).
//!
//! Generated passwords (device accounts, initial operator passwords) are 16 characters from
//! an alphabet without look-alikes (no 0/O/o, 1/l/I, 5/S/s, 2/Z, 8/B), with at least one upper
//! case letter, one lower case letter, one digit and one symbol, drawn from the operating
//! system's random source. They are temporary: the holder must change them.

use crate::error::{Error, Result};

const UPPER: &[u8] = b"ACDEFGHJKLMNPQRTUVWXY";
const LOWER: &[u8] = b"abcdefghijkmnpqrtuvwxyz";
const DIGITS: &[u8] = b"34679";
const SYMBOLS: &[u8] = b"#%+-=?@";
/// Length of generated passwords.
pub(crate) const GENERATED_LEN: usize = 16;

fn pick(set: &[u8]) -> Result<u8> {
    // Rejection sampling keeps the choice uniform.
    let limit = 256 - (256 % set.len());
    loop {
        let mut b = [0u8; 1];
        mynafleet_kit::keys::random_bytes(&mut b).map_err(|e| Error::Secret(e.to_string()))?;
        if usize::from(b[0]) < limit {
            return Ok(set[usize::from(b[0]) % set.len()]);
        }
    }
}

/// Returns a new random password that meets [`check_device`] and [`check_operator`].
pub(crate) fn generate() -> Result<zeroize::Zeroizing<String>> {
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let mut chars = vec![pick(UPPER)?, pick(LOWER)?, pick(DIGITS)?, pick(SYMBOLS)?];
    while chars.len() < GENERATED_LEN {
        chars.push(pick(&all)?);
    }
    // Fisher–Yates, so the guaranteed classes are not always first.
    for i in (1..chars.len()).rev() {
        let j = loop {
            let mut b = [0u8; 1];
            mynafleet_kit::keys::random_bytes(&mut b).map_err(|e| Error::Secret(e.to_string()))?;
            let limit = 256 - (256 % (i + 1));
            if usize::from(b[0]) < limit {
                break usize::from(b[0]) % (i + 1);
            }
        };
        chars.swap(i, j);
    }
    Ok(zeroize::Zeroizing::new(
        chars.into_iter().map(char::from).collect(),
    ))
}

fn classes(password: &str) -> usize {
    let mut c = [false; 4];
    for ch in password.chars() {
        if ch.is_ascii_uppercase() {
            c[0] = true;
        } else if ch.is_ascii_lowercase() {
            c[1] = true;
        } else if ch.is_ascii_digit() {
            c[2] = true;
        } else {
            c[3] = true;
        }
    }
    c.iter().filter(|x| **x).count()
}

fn check(password: &str, min_len: usize) -> Result<()> {
    let len = password.chars().count();
    if len < min_len {
        return Err(Error::PasswordTooWeak(format!(
            "must have at least {min_len} characters (has {len})"
        )));
    }
    if len > 128 {
        return Err(Error::PasswordTooWeak(
            "must have at most 128 characters".into(),
        ));
    }
    if classes(password) < 3 {
        return Err(Error::PasswordTooWeak(
            "must mix three of: upper case, lower case, digits, symbols".into(),
        ));
    }
    Ok(())
}

/// Checks a device account's new password: at least 12 characters from three classes.
pub(crate) fn check_device(password: &str) -> Result<()> {
    check(password, 12)
}

/// Checks an operator's new password: at least 13 characters from three classes
/// (guideline 6.0 Q&A シQ-54 (a), which holds even where TOTP is switched off).
pub(crate) fn check_operator(password: &str) -> Result<()> {
    check(password, 13)
}

#[cfg(test)]
mod tests;
