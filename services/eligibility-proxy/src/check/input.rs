//! Validation of what staff typed for number checks and 照会番号 (DOMAIN.md §3.2, §4.3,
//! §10.11): every field checked, every violation reported at once, nothing trimmed or
//! rewritten beyond what the upstream form requires (6-digit 保険者番号 right-aligned with two
//! spaces). A value that looks like a 12-digit My Number is refused with its own reason.

use crate::error::Error;
use mynafleet_kit::guard::{looks_like_my_number, luhn_valid, normalize_digits};
use mynafleet_kit::status::FieldViolation;

/// The longest 記号 or 番号 (single source, DOMAIN.md §3.2).
const MAX_SYMBOL_CHARS: usize = 20;
/// The longest 照会番号.
const MAX_REFERENCE_CHARS: usize = 50;

/// Number-check fields, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Numbers {
    /// 8 characters as sent upstream.
    pub(crate) insurer_number: String,
    pub(crate) symbol: String,
    pub(crate) number: String,
    pub(crate) branch: String,
    pub(crate) birthdate: String,
}

impl Numbers {
    /// The patient these numbers name, for the keyed audit reference.
    pub(crate) fn patient(&self) -> crate::audit::PatientKey {
        crate::audit::PatientKey {
            insurer: self.insurer_number.clone(),
            symbol: self.symbol.clone(),
            number: self.number.clone(),
            branch: self.branch.clone(),
        }
    }
}

/// Fields as they arrived.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawNumbers<'a> {
    pub(crate) insurer_number: &'a str,
    pub(crate) symbol: &'a str,
    pub(crate) number: &'a str,
    pub(crate) branch: &'a str,
    /// `None` for 照会番号 registration, which carries no birth date.
    pub(crate) birthdate: Option<&'a str>,
}

/// Refuses a field holding a My Number before anything else looks at it.
fn refuse_my_number(fields: &[(&str, &str)]) -> Result<(), Error> {
    for (name, value) in fields {
        if looks_like_my_number(value) {
            return Err(Error::MyNumber((*name).to_owned()));
        }
    }
    Ok(())
}

/// Returns the insurer number in its 8-character upstream form, or why it is refused.
pub(crate) fn insurer_number(raw: &str) -> Result<String, String> {
    let digits = normalize_digits(raw);
    if digits.is_empty() {
        return Err("required: 6 or 8 digits".to_owned());
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(digits.len(), 6 | 8) {
        return Err("must be 6 or 8 digits".to_owned());
    }
    if !luhn_valid(&digits) {
        return Err("check digit does not match; check the number on the card".to_owned());
    }
    Ok(format!("{digits:>8}"))
}

fn date(raw: &str) -> Result<String, String> {
    let digits = normalize_digits(raw);
    let format = time::macros::format_description!("[year][month][day]");
    if digits.len() != 8 || time::Date::parse(&digits, format).is_err() {
        return Err("must be a date YYYYMMDD".to_owned());
    }
    Ok(digits)
}

/// Validates a number check; every violation is reported at once.
pub(crate) fn numbers(raw: RawNumbers<'_>) -> Result<Numbers, Error> {
    refuse_my_number(&[
        ("insurer_number", raw.insurer_number),
        ("insured_card_symbol", raw.symbol),
        ("insured_identification_number", raw.number),
        ("insured_branch_number", raw.branch),
    ])?;
    let mut violations = Vec::new();
    let insurer = insurer_number(raw.insurer_number).unwrap_or_else(|e| {
        violations.push(FieldViolation::new("insurer_number", e));
        String::new()
    });
    if raw.symbol.chars().count() > MAX_SYMBOL_CHARS {
        violations.push(FieldViolation::new(
            "insured_card_symbol",
            format!("at most {MAX_SYMBOL_CHARS} characters"),
        ));
    }
    if raw.number.trim().is_empty() {
        violations.push(FieldViolation::new(
            "insured_identification_number",
            "required: the 番号 as printed on the card",
        ));
    } else if raw.number.chars().count() > MAX_SYMBOL_CHARS {
        violations.push(FieldViolation::new(
            "insured_identification_number",
            format!("at most {MAX_SYMBOL_CHARS} characters"),
        ));
    }
    let branch = normalize_digits(raw.branch);
    let two_digits = branch.len() == 2 && branch.bytes().all(|b| b.is_ascii_digit());
    if !branch.is_empty() && !two_digits {
        violations.push(FieldViolation::new(
            "insured_branch_number",
            "must be 2 digits (or empty when the card has none)",
        ));
    }
    let birthdate = match raw.birthdate {
        None => String::new(),
        Some(b) => date(b).unwrap_or_else(|e| {
            violations.push(FieldViolation::new("birthdate", e));
            String::new()
        }),
    };
    if !violations.is_empty() {
        return Err(Error::Fields(violations));
    }
    Ok(Numbers {
        insurer_number: insurer,
        symbol: raw.symbol.to_owned(),
        number: raw.number.to_owned(),
        branch,
        birthdate,
    })
}

/// Validates a 照会番号.
pub(crate) fn reference_number(field: &str, raw: &str) -> Result<String, Error> {
    if looks_like_my_number(raw) {
        return Err(Error::MyNumber(field.to_owned()));
    }
    let n = raw.chars().count();
    if raw.trim().is_empty() || n > MAX_REFERENCE_CHARS {
        return Err(Error::ReferenceNumber(format!(
            "the 照会番号 must be 1 to {MAX_REFERENCE_CHARS} characters"
        )));
    }
    Ok(raw.to_owned())
}

#[cfg(test)]
mod tests;
