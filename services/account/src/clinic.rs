//! Clinics as domain values: the institution kind and its identifier (DOMAIN.md §4.2–4.3).
//! A clinic is identified by `{kind, code}`: a 10-digit 医療機関コード for most kinds, or the
//! 登録記号番号 a 施術所 may register with instead.
//!
//! The 医療機関コード check digit (modulus 10, weights 2-1 over the nine preceding digits)
//! is advisory: a code is whatever the 地方厚生局 assigned, so a mismatch is accepted with a
//! recorded warning, while a malformed code is refused.

use crate::device_account::JapanDate;
use crate::error::{Error, Result};
use crate::names::ClinicName;
use crate::organization::{DisplayName, OrganizationId};
use mynafleet_kit::guard::{luhn_check_digit, normalize_digits};
use mynafleet_kit::keys::SecretKey;
use mynafleet_kit::status::FieldViolation;
use zeroize::Zeroizing;

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

impl CodeWarning {
    /// Returns the stable name recorded with the clinic and shown in `warnings`.
    pub fn as_reason(&self) -> &'static str {
        match self {
            CodeWarning::CheckDigitMismatch { .. } => "CHECK_DIGIT_MISMATCH",
        }
    }
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

    /// Returns a code read back from the store, which validated it on the way in.
    pub fn from_stored(s: String) -> Self {
        Self(s)
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

    /// Returns a number read back from the store, which validated it on the way in.
    pub fn from_stored(s: String) -> Self {
        Self(s)
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

impl InstitutionCode {
    /// Returns the deployment-wide unique key: the 10 digits, or `R` + the 登録記号番号.
    pub fn key(&self) -> String {
        match self {
            InstitutionCode::Facility(c) => c.as_str().to_owned(),
            InstitutionCode::Registration(r) => format!("R{}", r.as_str()),
        }
    }

    /// Returns what sheets and lists show: the 機関コード or the 登録記号番号.
    pub fn as_shown(&self) -> &str {
        match self {
            InstitutionCode::Facility(c) => c.as_str(),
            InstitutionCode::Registration(r) => r.as_str(),
        }
    }
}

/// The HKDF label of the key that hashes bank digits (DESIGN.md §5).
pub const BANK_CHECK_LABEL: &str = "bank-account-check";

/// The last 4 digits of a clinic's bank account for claim payments (施設の確認). Held only
/// long enough to hash; its `Debug` never shows them.
pub struct BankDigits(Zeroizing<String>);

impl std::fmt::Debug for BankDigits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BankDigits(****)")
    }
}

impl BankDigits {
    /// Parses exactly 4 digits (full-width digits fold to ASCII) as the request field `field`.
    pub fn parse(value: &str, field: &str) -> Result<Self> {
        let digits = Zeroizing::new(normalize_digits(value));
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::field(
                field,
                "must be exactly 4 digits: the last 4 of the bank account used for claim payments",
            ));
        }
        Ok(Self(digits))
    }

    /// Returns the keyed hash of the digits under the organization's bank-check key, which
    /// HKDF derives from the reference key.
    pub fn keyed_hash(&self, reference: &SecretKey, org: OrganizationId) -> BankHash {
        let key = reference.derive(BANK_CHECK_LABEL, &org.stored());
        BankHash {
            hash: key.hmac_hex(&[self.0.as_str()]),
            key_id: key.id().to_owned(),
        }
    }
}

/// Bank digits as stored: their keyed hash and the id of the key that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankHash {
    /// Hex HMAC-SHA256.
    pub hash: String,
    /// The id of the (parent) key.
    pub key_id: String,
}

impl BankHash {
    /// Returns whether this hash equals `stored`, in time independent of where they differ.
    pub fn matches(&self, stored: &str) -> bool {
        let (a, b) = (self.hash.as_bytes(), stored.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The earliest 運用開始日 accepted: the マイナ保険証 online check started in 2021.
pub const EARLIEST_OPERATION_START: (i32, u8, u8) = (2021, 1, 1);

/// Parses a 運用開始日: empty for none, else an existing `YYYY-MM-DD` from 2021-01-01 to one
/// year after `today`.
pub fn operation_start_date(
    value: &str,
    today: JapanDate,
    field: &str,
) -> Result<Option<JapanDate>> {
    if value.is_empty() {
        return Ok(None);
    }
    let date = JapanDate::parse(value, field)?;
    let (y, m, d) = EARLIEST_OPERATION_START;
    let earliest = JapanDate::from_ymd(y, m, d).unwrap_or(date);
    let latest = today.plus_years(1);
    if date < earliest {
        return Err(Error::field(
            field,
            format!("must not be before {earliest}; got {date}"),
        ));
    }
    if date > latest {
        return Err(Error::field(
            field,
            format!("must not be more than a year ahead (at most {latest}); got {date}"),
        ));
    }
    Ok(Some(date))
}

/// Returns the 都道府県番号: derived from `code` when `requested` is 0, checked against it when
/// both are given, and required (1–47) when there is no code.
pub fn prefecture(requested: i32, code: Option<&FacilityCode>, field: &str) -> Result<u8> {
    match (requested, code) {
        (0, Some(c)) => Ok(c.prefecture()),
        (0, None) => Err(Error::field(
            field,
            "is required (1–47) when the clinic has no 機関コード",
        )),
        (n, Some(c)) if n == i32::from(c.prefecture()) => Ok(c.prefecture()),
        (n, Some(c)) => Err(Error::field(
            field,
            format!(
                "is {n}, but the 機関コード {} belongs to prefecture {}; send 0 to derive it",
                c.as_str(),
                c.prefecture()
            ),
        )),
        (n, None) => u8::try_from(n)
            .ok()
            .filter(|p| (1..=47).contains(p))
            .ok_or_else(|| Error::field(field, format!("must be 1–47; got {n}"))),
    }
}

/// A clinic as a request describes it, before validation (no wire types).
#[derive(Clone, Debug, Default)]
pub struct ClinicInput<'a> {
    /// The kind; `None` when the request left it unspecified.
    pub kind: Option<ClinicKind>,
    /// 機関コード as typed.
    pub institution_code: &'a str,
    /// 登録記号番号 as typed.
    pub registration_number: &'a str,
    /// 機関名.
    pub display_name: &'a str,
    /// 都道府県番号, 0 to derive.
    pub prefecture: i32,
    /// 訪問診療等機能.
    pub home_visit_enabled: bool,
    /// 運用開始日, empty for none.
    pub operation_start_date: &'a str,
    /// Last 4 bank digits, empty for none.
    pub bank_account_last4: &'a str,
}

/// A validated clinic to register.
#[derive(Clone, Debug)]
pub struct NewClinic {
    /// The organization it belongs to.
    pub organization: OrganizationId,
    /// Its kind.
    pub kind: ClinicKind,
    /// Its 機関コード, if it has one.
    pub institution_code: Option<FacilityCode>,
    /// Its 登録記号番号 (施術所 only).
    pub registration_number: Option<RegistrationNumber>,
    /// What was noticed about the code.
    pub warnings: Vec<CodeWarning>,
    /// 機関名.
    pub display_name: DisplayName,
    /// 都道府県番号 1–47.
    pub prefecture: u8,
    /// 訪問診療等機能.
    pub home_visit_enabled: bool,
    /// 運用開始日.
    pub operation_start_date: Option<JapanDate>,
    /// Keyed hash of the bank digits, if given.
    pub bank: Option<BankHash>,
}

impl NewClinic {
    /// Validates `input` for `org`; `today` bounds the 運用開始日 and `reference` derives the
    /// bank-check key. Violations name `clinic.*` request fields.
    pub fn parse(
        org: OrganizationId,
        input: &ClinicInput<'_>,
        today: JapanDate,
        reference: &SecretKey,
    ) -> Result<Self> {
        let kind = input
            .kind
            .ok_or_else(|| Error::field("clinic.kind", "is required"))?;
        let registration_number = if input.registration_number.trim().is_empty() {
            None
        } else if kind == ClinicKind::Treatment {
            Some(RegistrationNumber::parse(
                input.registration_number,
                "clinic.registration_number",
            )?)
        } else {
            return Err(Error::field(
                "clinic.registration_number",
                "only a 施術所 (PRACTITIONER) registers with a 登録記号番号",
            ));
        };
        let (institution_code, warnings) = if input.institution_code.trim().is_empty() {
            if registration_number.is_none() {
                return Err(Error::field(
                    "clinic.institution_code",
                    if kind == ClinicKind::Treatment {
                        "is required unless registration_number is set"
                    } else {
                        "is required"
                    },
                ));
            }
            (None, Vec::new())
        } else {
            let (code, warning) =
                FacilityCode::parse(input.institution_code, kind, "clinic.institution_code")?;
            (Some(code), warning.into_iter().collect())
        };
        let prefecture = prefecture(
            input.prefecture,
            institution_code.as_ref(),
            "clinic.prefecture",
        )?;
        let bank = if input.bank_account_last4.is_empty() {
            None
        } else {
            Some(
                BankDigits::parse(input.bank_account_last4, "clinic.bank_account_last4")?
                    .keyed_hash(reference, org),
            )
        };
        Ok(Self {
            organization: org,
            kind,
            institution_code,
            registration_number,
            warnings,
            display_name: DisplayName::parse(input.display_name, "clinic.display_name")?,
            prefecture,
            home_visit_enabled: input.home_visit_enabled,
            operation_start_date: operation_start_date(
                input.operation_start_date,
                today,
                "clinic.operation_start_date",
            )?,
            bank,
        })
    }

    /// Returns what identifies the clinic in the deployment: the 機関コード when there is
    /// one, else the 登録記号番号.
    pub fn institution(&self) -> Option<InstitutionCode> {
        match (&self.institution_code, &self.registration_number) {
            (Some(c), _) => Some(InstitutionCode::Facility(c.clone())),
            (None, Some(r)) => Some(InstitutionCode::Registration(r.clone())),
            (None, None) => None,
        }
    }
}

/// A stored clinic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clinic {
    /// Its resource name.
    pub name: ClinicName,
    /// Its kind.
    pub kind: ClinicKind,
    /// Its 機関コード, if it has one.
    pub institution_code: Option<FacilityCode>,
    /// Its 登録記号番号, if it has one.
    pub registration_number: Option<RegistrationNumber>,
    /// 機関名.
    pub display_name: DisplayName,
    /// 都道府県番号.
    pub prefecture: u8,
    /// 訪問診療等機能.
    pub home_visit_enabled: bool,
    /// 運用開始日 (`YYYY-MM-DD`).
    pub operation_start_date: Option<String>,
    /// Whether bank digits are registered (they are never read back).
    pub bank_account_registered: bool,
    /// Warnings recorded at registration (`CHECK_DIGIT_MISMATCH`).
    pub warnings: Vec<String>,
    /// Bumped on every update.
    pub revision: i64,
    /// Creation time, µs.
    pub create_time: i64,
    /// Last update time, µs.
    pub update_time: i64,
}

impl Clinic {
    /// Returns what sheets and accounts show as the clinic's code: the 機関コード, else the
    /// 登録記号番号.
    pub fn institution_shown(&self) -> &str {
        match (&self.institution_code, &self.registration_number) {
            (Some(c), _) => c.as_str(),
            (None, Some(r)) => r.as_str(),
            (None, None) => "",
        }
    }

    /// Returns the etag.
    pub fn etag(&self) -> String {
        format!("r{}", self.revision)
    }

    /// Parses an etag into the revision it names.
    pub fn parse_etag(etag: &str) -> Option<i64> {
        etag.strip_prefix('r')?.parse().ok()
    }
}

/// What a clinic update changes; `None` leaves a field as it is.
#[derive(Clone, Debug)]
pub struct ClinicUpdate {
    /// The clinic.
    pub name: ClinicName,
    /// New 機関名.
    pub display_name: Option<DisplayName>,
    /// New 訪問診療等機能.
    pub home_visit_enabled: Option<bool>,
    /// New 運用開始日 (`Some(None)` clears it).
    pub operation_start_date: Option<Option<JapanDate>>,
    /// New bank digits' hash.
    pub bank: Option<BankHash>,
    /// The revision the client read; `None` to update unconditionally.
    pub expected_revision: Option<i64>,
}

#[cfg(test)]
mod tests;
