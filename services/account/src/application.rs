//! Applications (DOMAIN.md §5.2): 利用開始申請 (START), 追加申請 (ADDITION) and 解除申請
//! (RELEASE), as domain values. An application is SUBMITTED, then APPROVED and COMPLETED in
//! the one transaction that issues or ends its accounts, or REJECTED with a reason.
//!
//! The facility check's bank digits never reach this module in clear past validation: a
//! START carries only their keyed hash.

use crate::clinic::{BankDigits, BankHash};
use crate::device_account::{AccountId, AccountName, Privilege};
use crate::error::{Error, Result};
use crate::names::{ClinicChild, ClinicName};
use mynafleet_kit::keys::SecretKey;
use uuid::Uuid;

/// The most devices one application may ask for, or accounts one 解除申請 may end.
pub const MAX_DEVICES: i32 = 100;
/// The largest 職員数.
pub const MAX_STAFF: i32 = 9999;

/// What an application asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApplicationKind {
    /// 利用開始申請.
    Start,
    /// 追加申請.
    Addition,
    /// 解除申請.
    Release,
}

impl ApplicationKind {
    /// Returns the stored spelling.
    pub fn as_stored(self) -> &'static str {
        match self {
            ApplicationKind::Start => "start",
            ApplicationKind::Addition => "addition",
            ApplicationKind::Release => "release",
        }
    }

    /// Parses the stored spelling.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "start" => ApplicationKind::Start,
            "addition" => ApplicationKind::Addition,
            "release" => ApplicationKind::Release,
            _ => return None,
        })
    }
}

/// Where an application is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApplicationStatus {
    /// Waiting for review.
    Submitted,
    /// Approved; its accounts are being issued or ended (same transaction as COMPLETED).
    Approved,
    /// Its accounts were issued or ended.
    Completed,
    /// Refused with a reason.
    Rejected,
}

impl ApplicationStatus {
    /// Returns the stored spelling.
    pub fn as_stored(self) -> &'static str {
        match self {
            ApplicationStatus::Submitted => "submitted",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Completed => "completed",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    /// Parses the stored spelling.
    pub fn from_stored(s: &str) -> Option<Self> {
        Some(match s {
            "submitted" => ApplicationStatus::Submitted,
            "approved" => ApplicationStatus::Approved,
            "completed" => ApplicationStatus::Completed,
            "rejected" => ApplicationStatus::Rejected,
            _ => return None,
        })
    }
}

/// `organizations/{org}/clinics/{clinic}/applications/{uuid}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApplicationName {
    /// The clinic it is for.
    pub clinic: ClinicName,
    /// Its id (UUIDv7: newer ids sort later).
    pub id: Uuid,
}

impl ApplicationName {
    /// Parses the resource name; `field` names the request field.
    pub fn parse(name: &str, field: &str) -> Result<Self> {
        let child = ClinicChild::parse(name, "applications", field)?;
        let id = Uuid::parse_str(&child.id)
            .map_err(|_| Error::field(field, "the application id is not a UUID"))?;
        Ok(Self {
            clinic: child.clinic,
            id,
        })
    }

    /// Returns the resource name.
    pub fn name(&self) -> String {
        format!("{}/applications/{}", self.clinic.name(), self.id)
    }
}

/// An application as a request describes it, before validation (no wire types). Counts are
/// 0 and lists empty when not given.
#[derive(Clone, Debug, Default)]
pub struct ApplicationInput<'a> {
    /// The kind; `None` when unspecified.
    pub kind: Option<ApplicationKind>,
    /// 職員数.
    pub staff_count: i32,
    /// 申請台数.
    pub device_count: i32,
    /// Last 4 bank digits.
    pub bank_account_last4: &'a str,
    /// 権限区分; `None` when unspecified.
    pub privilege: Option<Privilege>,
    /// Names of accounts to end.
    pub accounts: &'a [String],
}

/// What a validated application asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplicationBody {
    /// 利用開始申請.
    Start {
        /// 職員数 1–9999.
        staff_count: i32,
        /// 申請台数 1–100.
        device_count: i32,
        /// Keyed hash of the bank digits, compared with the clinic's.
        bank: BankHash,
        /// 権限区分 of the accounts to issue.
        privilege: Privilege,
    },
    /// 追加申請.
    Addition {
        /// 申請台数 1–100.
        device_count: i32,
        /// 権限区分 of the accounts to issue.
        privilege: Privilege,
    },
    /// 解除申請.
    Release {
        /// The accounts to end, in ID order, without repeats.
        accounts: Vec<AccountId>,
    },
}

impl ApplicationBody {
    /// Returns the kind.
    pub fn kind(&self) -> ApplicationKind {
        match self {
            ApplicationBody::Start { .. } => ApplicationKind::Start,
            ApplicationBody::Addition { .. } => ApplicationKind::Addition,
            ApplicationBody::Release { .. } => ApplicationKind::Release,
        }
    }
}

/// A validated application to submit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApplication {
    /// The clinic it is for.
    pub clinic: ClinicName,
    /// What it asks for.
    pub body: ApplicationBody,
}

fn count(value: i32, max: i32, field: &str, what: &str) -> Result<i32> {
    if (1..=max).contains(&value) {
        Ok(value)
    } else {
        Err(Error::field(
            field,
            format!("{what} must be 1 to {max}; got {value}"),
        ))
    }
}

fn not_for(kind: &str, field: &str) -> Error {
    Error::field(field, format!("is not part of a {kind} application"))
}

impl NewApplication {
    /// Validates `input` for `clinic`; `reference` derives the bank-check key of the
    /// organization. Violations name `application.*` request fields.
    pub fn parse(
        clinic: ClinicName,
        input: &ApplicationInput<'_>,
        reference: &SecretKey,
    ) -> Result<Self> {
        let kind = input
            .kind
            .ok_or_else(|| Error::field("application.kind", "is required"))?;
        let body = match kind {
            ApplicationKind::Start => {
                if !input.accounts.is_empty() {
                    return Err(not_for("START", "application.accounts"));
                }
                ApplicationBody::Start {
                    staff_count: count(
                        input.staff_count,
                        MAX_STAFF,
                        "application.staff_count",
                        "職員数",
                    )?,
                    device_count: count(
                        input.device_count,
                        MAX_DEVICES,
                        "application.device_count",
                        "申請台数",
                    )?,
                    bank: BankDigits::parse(
                        input.bank_account_last4,
                        "application.bank_account_last4",
                    )?
                    .keyed_hash(reference, clinic.organization),
                    privilege: input.privilege.unwrap_or(Privilege::General),
                }
            }
            ApplicationKind::Addition => {
                if input.staff_count != 0 {
                    return Err(not_for("ADDITION", "application.staff_count"));
                }
                if !input.bank_account_last4.is_empty() {
                    return Err(not_for("ADDITION", "application.bank_account_last4"));
                }
                if !input.accounts.is_empty() {
                    return Err(not_for("ADDITION", "application.accounts"));
                }
                ApplicationBody::Addition {
                    device_count: count(
                        input.device_count,
                        MAX_DEVICES,
                        "application.device_count",
                        "申請台数",
                    )?,
                    privilege: input.privilege.unwrap_or(Privilege::General),
                }
            }
            ApplicationKind::Release => {
                for (given, field) in [
                    (input.staff_count != 0, "application.staff_count"),
                    (input.device_count != 0, "application.device_count"),
                    (
                        !input.bank_account_last4.is_empty(),
                        "application.bank_account_last4",
                    ),
                    (input.privilege.is_some(), "application.privilege"),
                ] {
                    if given {
                        return Err(not_for("RELEASE", field));
                    }
                }
                let len = i32::try_from(input.accounts.len()).unwrap_or(i32::MAX);
                count(
                    len,
                    MAX_DEVICES,
                    "application.accounts",
                    "the number of accounts",
                )?;
                let mut accounts = Vec::with_capacity(input.accounts.len());
                for (i, raw) in input.accounts.iter().enumerate() {
                    let field = format!("application.accounts[{i}]");
                    let name = AccountName::parse(raw, &field)?;
                    if name.clinic != clinic {
                        return Err(Error::field(
                            &field,
                            "names an account of another clinic; a 解除申請 ends accounts of \
                             the clinic it is filed for",
                        ));
                    }
                    accounts.push(name.id);
                }
                accounts.sort();
                accounts.dedup();
                ApplicationBody::Release { accounts }
            }
        };
        Ok(Self { clinic, body })
    }
}

/// A reject reason: 1 to 500 characters, never a My Number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectReason(String);

impl RejectReason {
    /// The most characters a reason may have.
    pub const MAX_CHARS: usize = 500;

    /// Validates `value` as the request field `field`.
    pub fn parse(value: &str, field: &str) -> Result<Self> {
        let v = value.trim();
        let n = v.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(Error::field(
                field,
                format!("must be 1 to {} characters", Self::MAX_CHARS),
            ));
        }
        if v.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Error::field(
                field,
                "must not contain control characters other than line breaks",
            ));
        }
        if mynafleet_kit::guard::text_contains_my_number(v) {
            return Err(Error::MyNumberRefused {
                field: field.to_owned(),
            });
        }
        Ok(Self(v.to_owned()))
    }

    /// Returns the reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    /// Its resource name.
    pub name: ApplicationName,
    /// Its kind.
    pub kind: ApplicationKind,
    /// Its status.
    pub status: ApplicationStatus,
    /// 職員数 (START).
    pub staff_count: Option<i32>,
    /// 申請台数 (START, ADDITION).
    pub device_count: Option<i32>,
    /// 権限区分 of the accounts to issue (START, ADDITION).
    pub privilege: Option<Privilege>,
    /// Accounts to end (RELEASE).
    pub accounts: Vec<AccountId>,
    /// Accounts issued or ended by the approval.
    pub result_accounts: Vec<AccountId>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// Who submitted (a resource name).
    pub submitter: String,
    /// Who approved or rejected.
    pub reviewer: Option<String>,
    /// When it was submitted, µs.
    pub submit_time: i64,
    /// When it was reviewed, µs.
    pub review_time: Option<i64>,
    /// When its accounts were issued or ended, µs.
    pub complete_time: Option<i64>,
    /// The clinic's 機関コード (or 登録記号番号).
    pub institution_code: String,
}

impl Application {
    /// Returns the names of `ids`, accounts of this application's clinic.
    pub fn account_names(&self, ids: &[AccountId]) -> Vec<String> {
        ids.iter()
            .map(|id| {
                AccountName {
                    clinic: self.name.clinic,
                    id: *id,
                }
                .name()
            })
            .collect()
    }

    /// Returns how many accounts approving it issues (0 for a RELEASE).
    pub fn accounts_to_issue(&self) -> usize {
        match self.kind {
            ApplicationKind::Start | ApplicationKind::Addition => {
                usize::try_from(self.device_count.unwrap_or(0)).unwrap_or(0)
            }
            ApplicationKind::Release => 0,
        }
    }
}

/// Filters of the 申請状況 list.
#[derive(Clone, Debug, Default)]
pub struct ApplicationFilter {
    /// Only this kind.
    pub kind: Option<ApplicationKind>,
    /// Only this status.
    pub status: Option<ApplicationStatus>,
}

#[cfg(test)]
mod tests;
