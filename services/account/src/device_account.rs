//! Device accounts (資格確認アカウント, DOMAIN.md §5.2) as domain values: `W` + 7-digit ids,
//! 権限区分, status, 備考, Japan-time dates and the generated temporary passwords.
//!
//! Passwords exist in clear only between [`new_credentials`] and the response that shows
//! them once; what is stored is their argon2id hash. Nothing here touches the store.

use crate::error::{Error, Result};
use crate::names::{ClinicChild, ClinicName};
use time::{Date, Month, UtcOffset};
use zeroize::Zeroizing;

/// Japan Standard Time (UTC+9, no daylight saving): the zone of every 年月日 the portal shows.
const JST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => panic!("UTC+9 is a valid offset"),
};

/// A calendar date in Japan time, shown and stored as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JapanDate(Date);

impl JapanDate {
    /// Returns the date in Japan at `micros` (microseconds since the Unix epoch).
    pub fn at(micros: i64) -> Self {
        Self(
            mynafleet_kit::clock::from_micros(micros)
                .to_offset(JST)
                .date(),
        )
    }

    /// Returns the date of `year`, `month` and `day`, if it exists.
    pub fn from_ymd(year: i32, month: u8, day: u8) -> Option<Self> {
        let month = Month::try_from(month).ok()?;
        Date::from_calendar_date(year, month, day).ok().map(Self)
    }

    /// Parses `YYYY-MM-DD` (a date that exists); `field` names the request field.
    pub fn parse(value: &str, field: &str) -> Result<Self> {
        let bad = || {
            Error::field(
                field,
                format!("must be a date as YYYY-MM-DD; got {value:?}"),
            )
        };
        let b = value.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |s: &str| -> Option<u32> {
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())
                .flatten()
        };
        let (Some(y), Some(m), Some(d)) = (num(&value[..4]), num(&value[5..7]), num(&value[8..]))
        else {
            return Err(bad());
        };
        let (Ok(y), Ok(m), Ok(d)) = (i32::try_from(y), u8::try_from(m), u8::try_from(d)) else {
            return Err(bad());
        };
        Self::from_ymd(y, m, d)
            .ok_or_else(|| Error::field(field, format!("{value} is not a date that exists")))
    }

    /// Returns the same date `years` later (29 February becomes 1 March).
    pub fn plus_years(self, years: i32) -> Self {
        let d = self.0;
        let y = d.year().saturating_add(years);
        Date::from_calendar_date(y, d.month(), d.day())
            .or_else(|_| Date::from_calendar_date(y, Month::March, 1))
            .map(Self)
            .unwrap_or(self)
    }

    /// Returns `YYYY-MM-DD`.
    pub fn as_stored(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}",
            self.0.year(),
            u8::from(self.0.month()),
            self.0.day()
        )
    }
}

impl std::fmt::Display for JapanDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_stored())
    }
}

/// An アカウントID: `W` followed by 7 digits, `W0000001` to `W9999999`, allocated in order
/// within an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(u32);

impl AccountId {
    /// The largest number an id can carry.
    pub const MAX: u32 = 9_999_999;

    /// Parses `W0000001`; `field` names the request field.
    pub fn parse(value: &str, field: &str) -> Result<Self> {
        let digits = value.strip_prefix('W').unwrap_or("");
        let n = (digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<u32>().ok())
            .flatten()
            .filter(|n| *n >= 1);
        n.map(Self).ok_or_else(|| {
            Error::field(
                field,
                format!("must be an account ID: W and 7 digits, W0000001 or later; got {value:?}"),
            )
        })
    }

    /// Returns the id that counter value `n` allocates; refuses a counter past `W9999999`.
    pub fn from_counter(n: i64) -> Result<Self> {
        match u32::try_from(n) {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(Error::Precondition {
                reason: "ACCOUNT_IDS_EXHAUSTED",
                message: "the organization has used every account ID up to W9999999".into(),
            }),
        }
    }

    /// Returns the number after the `W`.
    pub fn number(self) -> u32 {
        self.0
    }

    /// Returns `W` + 7 digits, as shown and stored.
    pub fn as_stored(self) -> String {
        format!("W{:07}", self.0)
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "W{:07}", self.0)
    }
}

/// `organizations/{org}/clinics/{clinic}/accounts/{W0000001}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountName {
    /// The clinic the account belongs to.
    pub clinic: ClinicName,
    /// The account's id.
    pub id: AccountId,
}

impl AccountName {
    /// Parses the resource name; `field` names the request field.
    pub fn parse(name: &str, field: &str) -> Result<Self> {
        let child = ClinicChild::parse(name, "accounts", field)?;
        Ok(Self {
            clinic: child.clinic,
            id: AccountId::parse(&child.id, field)?,
        })
    }

    /// Returns the resource name.
    pub fn name(&self) -> String {
        format!("{}/accounts/{}", self.clinic.name(), self.id)
    }
}

/// 権限区分.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// 一般: 資格情報 only (資格確認限定型).
    General,
    /// 医療情報閲覧: needs the clinic's 訪問診療等機能.
    MedicalInfo,
    /// 管理者: may exist, never usable on a device.
    Administrator,
}

impl Privilege {
    /// Returns the stored spelling.
    pub fn as_stored(self) -> &'static str {
        match self {
            Privilege::General => "general",
            Privilege::MedicalInfo => "medical_info",
            Privilege::Administrator => "administrator",
        }
    }

    /// Parses the stored spelling.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "general" => Privilege::General,
            "medical_info" => Privilege::MedicalInfo,
            "administrator" => Privilege::Administrator,
            _ => return None,
        })
    }

    /// Refuses 医療情報閲覧 at a clinic without 訪問診療等機能 (DOMAIN.md §10.15).
    pub fn check_clinic(self, home_visit_enabled: bool) -> Result<()> {
        if self == Privilege::MedicalInfo && !home_visit_enabled {
            return Err(Error::Precondition {
                reason: "HOME_VISIT_REQUIRED",
                message: "医療情報閲覧 accounts need the clinic's 訪問診療等機能 on; enable it \
                          with UpdateClinic (home_visit_enabled) first"
                    .into(),
            });
        }
        Ok(())
    }
}

/// ステータス.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// 利用可.
    Available,
    /// 停止 (reversible).
    Suspended,
    /// 利用終了 (final).
    Ended,
}

impl AccountStatus {
    /// Returns the stored spelling.
    pub fn as_stored(self) -> &'static str {
        match self {
            AccountStatus::Available => "available",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Ended => "ended",
        }
    }

    /// Parses the stored spelling.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "available" => AccountStatus::Available,
            "suspended" => AccountStatus::Suspended,
            "ended" => AccountStatus::Ended,
            _ => return None,
        })
    }
}

/// 備考 (利用者名、端末名等): up to 100 characters, no control characters, never a My Number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Note(String);

impl Note {
    /// The most characters a note may have.
    pub const MAX_CHARS: usize = 100;

    /// Validates `value` (trimmed; empty is allowed) as the request field `field`.
    pub fn parse(value: &str, field: &str) -> Result<Self> {
        let v = value.trim();
        if v.chars().count() > Self::MAX_CHARS {
            return Err(Error::field(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if v.chars().any(char::is_control) {
            return Err(Error::field(field, "must not contain control characters"));
        }
        if mynafleet_kit::guard::text_contains_my_number(v) {
            return Err(Error::MyNumberRefused {
                field: field.to_owned(),
            });
        }
        Ok(Self(v.to_owned()))
    }

    /// Returns a value read back from the store, which validated it on the way in.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    /// Returns the note.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored device account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceAccount {
    /// Its resource name (clinic and id).
    pub name: AccountName,
    /// 権限区分.
    pub privilege: Privilege,
    /// ステータス.
    pub status: AccountStatus,
    /// 利用開始年月日.
    pub start_date: String,
    /// 利用停止年月日 of the latest suspension.
    pub suspend_date: Option<String>,
    /// 利用終了年月日.
    pub end_date: Option<String>,
    /// 備考.
    pub note: Note,
    /// Whether the generated password must still be changed.
    pub must_change_password: bool,
    /// Whether failed password checks locked it.
    pub locked: bool,
    /// The clinic's 機関コード (or 登録記号番号).
    pub institution_code: String,
    /// Bumped on every change; the etag is made from it.
    pub revision: i64,
    /// Creation time, µs since the epoch.
    pub create_time: i64,
    /// Last update time, µs since the epoch.
    pub update_time: i64,
}

impl DeviceAccount {
    /// Returns the etag clients send back to refuse lost updates.
    pub fn etag(&self) -> String {
        format!("r{}", self.revision)
    }

    /// Parses an etag into the revision it names; `None` for one this server never made.
    pub fn parse_etag(etag: &str) -> Option<i64> {
        etag.strip_prefix('r')?.parse().ok()
    }
}

/// A generated password and its argon2id hash.
#[derive(Debug)]
pub struct Credential {
    /// The password, shown once on the sheet.
    pub password: Zeroizing<String>,
    /// Its argon2id PHC string, the only form stored.
    pub hash: String,
}

/// Generates `n` temporary passwords and hashes them on the blocking pool (argon2id is
/// CPU-bound), in parallel.
pub async fn new_credentials(n: usize) -> Result<Vec<Credential>> {
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let password = crate::password::generate()?;
        tasks.push(tokio::task::spawn_blocking(move || {
            let hash = mynafleet_kit::keys::password::hash(&password).map_err(Error::Secret)?;
            Ok::<_, Error>(Credential { password, hash })
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(
            t.await
                .map_err(|e| Error::Secret(format!("hash task: {e}")))??,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
