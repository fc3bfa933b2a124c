//! Validation of an Activate request: the four items, the code's shape, the CSR's
//! self-signature, the request id and the reported facts. Nothing here is counted as a
//! failed activation; it never sees the account service or the store.

use crate::activation_code::ActivationCode;
use crate::device::DeviceFacts;
use crate::error::{Error, Result};
use mynafleet_kit::guard::text_contains_my_number;
use mynafleet_kit::status::FieldViolation;
use mynafleet_proto::activation::v1 as pb;
use zeroize::Zeroizing;

/// The longest 機関コード or account ID accepted (both are far shorter).
pub(super) const MAX_ID_CHARS: usize = 64;
/// The longest password accepted, in bytes (as the account service).
const MAX_PASSWORD_BYTES: usize = 1024;

/// An Activate request once its fields are valid.
pub(super) struct Checked {
    pub(super) institution_code: String,
    pub(super) account_id: String,
    pub(super) password: Zeroizing<String>,
    pub(super) new_password: Zeroizing<String>,
    pub(super) code: ActivationCode,
    pub(super) csr_der: Vec<u8>,
    pub(super) key_fingerprint: String,
    pub(super) facts: DeviceFacts,
}

/// Validates an Activate request. Malformed input is refused before anything is counted.
pub(super) fn check(mut r: pb::ActivateRequest) -> Result<(Checked, Option<String>)> {
    let password = Zeroizing::new(std::mem::take(&mut r.password));
    let new_password = Zeroizing::new(std::mem::take(&mut r.new_password));
    let code = Zeroizing::new(std::mem::take(&mut r.activation_code));
    let institution_code = r.institution_code.trim().to_owned();
    let account_id = r.account_id.trim().to_owned();
    let mut bad = Vec::new();
    for (field, value) in [
        ("institution_code", &institution_code),
        ("account_id", &account_id),
    ] {
        if value.is_empty() {
            bad.push(FieldViolation::new(field, "is required"));
        } else if value.chars().count() > MAX_ID_CHARS {
            bad.push(FieldViolation::new(
                field,
                format!("must be at most {MAX_ID_CHARS} characters"),
            ));
        }
    }
    for (field, value) in [("password", &password), ("new_password", &new_password)] {
        if value.len() > MAX_PASSWORD_BYTES {
            bad.push(FieldViolation::new(
                field,
                format!("must have at most {MAX_PASSWORD_BYTES} bytes"),
            ));
        }
    }
    if password.is_empty() {
        bad.push(FieldViolation::new("password", "is required"));
    }
    if !bad.is_empty() {
        return Err(Error::InvalidFields(bad));
    }
    for (field, value) in [
        ("institution_code", &institution_code),
        ("account_id", &account_id),
    ] {
        if text_contains_my_number(value) {
            return Err(Error::MyNumberRefused { field });
        }
    }
    let code = ActivationCode::parse(&code)?;
    if r.csr_der.is_empty() {
        return Err(Error::CsrInvalid(
            "is required: a PKCS#10 request made with the terminal's own key".to_owned(),
        ));
    }
    let key_fingerprint = mynafleet_kit::tls::ca::csr_key_fingerprint(&r.csr_der)
        .map_err(|e| Error::CsrInvalid(e.to_string()))?;
    if !new_password.is_empty() && *new_password == *password {
        return Err(Error::PasswordTooWeak(
            "must differ from the current password".to_owned(),
        ));
    }
    let request_id = crate::grpc::request_id(&r.request_id)?;
    let facts = r
        .facts
        .take()
        .map(facts_from_pb)
        .unwrap_or_default()
        .bounded();
    Ok((
        Checked {
            institution_code,
            account_id,
            password,
            new_password,
            code,
            csr_der: std::mem::take(&mut r.csr_der),
            key_fingerprint,
            facts,
        },
        request_id,
    ))
}

/// Returns the domain form of reported facts.
pub(super) fn facts_from_pb(f: pb::DeviceFacts) -> DeviceFacts {
    DeviceFacts {
        hostname: f.hostname,
        os: f.os,
        agent_version: f.agent_version,
        readers: f.readers,
    }
}

/// Returns the error of a lock that runs until `until` (microseconds) at `now`.
pub(super) fn locked(until: i64, now: i64) -> Error {
    let micros = u64::try_from(until.saturating_sub(now)).unwrap_or(0);
    Error::ActivationLocked {
        retry_after_secs: micros.div_ceil(1_000_000).max(1),
    }
}

#[cfg(test)]
mod tests;
