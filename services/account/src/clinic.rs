//! Clinics as domain values: the institution kind and its identifier (DOMAIN.md §4.2–4.3).
//! A clinic is identified by `{kind, code}`: a 10-digit 医療機関コード for most kinds, or the
//! 登録記号番号 a 施術所 may register with instead.
//!
//! The 医療機関コード check digit (modulus 10, weights 2-1 over the nine preceding digits)
//! is advisory: a code is whatever the 地方厚生局 assigned, so a mismatch is accepted with a
//! recorded warning, while a malformed code is refused.

use crate::error::{Error, Result};
use mynafleet_kit::guard::{luhn_check_digit, normalize_digits};
use mynafleet_kit::status::FieldViolation;

/// The kinds of institution that use eligibility terminals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClinicKind {
    /// 医科 (点数表 1).
    Medical,
    /// 歯科 (点数表 3).
    Dental,
    /// 薬局 (点数表 4).
    Pharmacy,
    /// 訪問看護ステーション (点数表 6, unconfirmed).
    HomeNursing,
    /// 柔整・あはき 施術所 (点数表 unknown; may register by 登録記号番号).
    Treatment,
    /// 助産所 (点数表 unknown).
    Midwifery,
    /// 健診実施機関 (点数表 2, unconfirmed).
    HealthCheckup,
}

impl ClinicKind {
    /// Returns the 点数表番号 codes of this kind carry, when it is known.
    pub fn fee_schedule_digit(self) -> Option<u8> {
        match self {
            ClinicKind::Medical => Some(1),
            ClinicKind::Dental => Some(3),
            ClinicKind::Pharmacy => Some(4),
            ClinicKind::HomeNursing => Some(6),
            ClinicKind::HealthCheckup => Some(2),
            ClinicKind::Treatment | ClinicKind::Midwifery => None,
        }
    }

    /// Returns the stored spelling.
    pub fn as_stored(self) -> &'static str {
        match self {
            ClinicKind::Medical => "medical",
            ClinicKind::Dental => "dental",
            ClinicKind::Pharmacy => "pharmacy",
            ClinicKind::HomeNursing => "home_nursing",
            ClinicKind::Treatment => "treatment",
            ClinicKind::Midwifery => "midwifery",
            ClinicKind::HealthCheckup => "health_checkup",
        }
    }

    /// Parses the stored spelling.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "medical" => ClinicKind::Medical,
            "dental" => ClinicKind::Dental,
            "pharmacy" => ClinicKind::Pharmacy,
            "home_nursing" => ClinicKind::HomeNursing,
            "treatment" => ClinicKind::Treatment,
            "midwifery" => ClinicKind::Midwifery,
            "health_checkup" => ClinicKind::HealthCheckup,
            _ => return None,
        })
    }
}

/// Something about an accepted code that a person should know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeWarning {
    /// The last digit is not the check digit of the nine before it; legacy codes exist, so
    /// the code is kept, and the warning recorded with it.
    CheckDigitMismatch {
        /// The check digit the nine digits call for.
        expected: u8,
    },
}

/// A 10-digit 医療機関コード (or 薬局コード), normalised to ASCII digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FacilityCode(String);

impl FacilityCode {
    /// Parses `value` (full-width digits, spaces and hyphens allowed) as the code of a `kind`
    /// institution. Malformed codes are refused with a violation of `field`; a check-digit
    /// mismatch is accepted and returned as a warning.
    pub fn parse(
        value: &str,
        kind: ClinicKind,
        field: &str,
    ) -> Result<(Self, Option<CodeWarning>)> {
        let digits = normalize_digits(value);
        let bad = |why: String| Error::InvalidFields(vec![FieldViolation::new(field, why)]);
        if digits.len() != 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!(
                "must be 10 digits (都道府県2 + 点数表1 + 郡市区2 + 機関番号4 + 検証番号1); got {} characters",
                digits.chars().count()
            )));
        }
        let d = digits.as_bytes();
        let prefecture = (d[0] - b'0') * 10 + (d[1] - b'0');
        if !(1..=47).contains(&prefecture) && !(51..=97).contains(&prefecture) {
            return Err(bad(format!(
                "starts with prefecture number {prefecture:02}, which is neither 01–47 nor 51–97"
            )));
        }
        let fee_schedule = d[2] - b'0';
        if let Some(expected) = kind.fee_schedule_digit()
            && fee_schedule != expected
        {
            return Err(bad(format!(
                "third digit (点数表番号) is {fee_schedule}, but a {} institution's code has {expected}",
                kind.as_stored()
            )));
        }
        let warning = match luhn_check_digit(&digits[..9]) {
            Some(expected) if expected != d[9] - b'0' => {
                Some(CodeWarning::CheckDigitMismatch { expected })
            }
            _ => None,
        };
        Ok((Self(digits), warning))
    }

    /// Returns the 10 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the 都道府県番号, folding the alternates 51–97 back to 01–47.
    pub fn prefecture(&self) -> u8 {
        let b = self.0.as_bytes();
        let p = (b[0] - b'0') * 10 + (b[1] - b'0');
        if p > 50 { p - 50 } else { p }
    }
}

/// A 施術所's 登録記号番号 (受領委任 registration number), hyphens and spaces removed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegistrationNumber(String);

impl RegistrationNumber {
    /// The most characters a registration number may have.
    pub const MAX_CHARS: usize = 20;

    /// Parses `value` as the request field `field`.
    pub fn parse(value: &str, field: &str) -> Result<Self> {
        let folded = normalize_digits(value);
        let ok = !folded.is_empty()
            && folded.chars().count() <= Self::MAX_CHARS
            && folded.chars().all(char::is_alphanumeric);
        if !ok {
            return Err(Error::field(
                field,
                format!(
                    "must be the 登録記号番号 (e.g. 契1234567-0-0): 1 to {} letters and digits; hyphens are dropped",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Self(folded.to_ascii_uppercase()))
    }

    /// Returns the number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What identifies a clinic across the deployment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum InstitutionCode {
    /// A 医療機関コード.
    Facility(FacilityCode),
    /// A 施術所's 登録記号番号.
    Registration(RegistrationNumber),
}

#[cfg(test)]
mod tests;
