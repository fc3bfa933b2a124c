//! マイナ資格確認アプリ ユーザ設定情報 (DOMAIN.md §5.2 step 5): what staff type into a terminal
//! — 機関コード, 機関名, ID, password and activation code — plus where to connect and the CA
//! fingerprint to pin (DESIGN.md §3.1).
//!
//! A sheet is made when accounts are issued or a password is reset, and shown once. The
//! copy kept for request-id replays is [`Sheet::without_password`]; a sheet is never stored
//! or logged with its password or activation code. The code comes from the activation
//! service after the accounts are committed; a 管理者 account gets none (it never runs on a
//! terminal), and a sheet whose code could not be had is named by [`missing_codes`].

use crate::clinic::Clinic;
use crate::config::SheetSettings;
use crate::device_account::{DeviceAccount, JapanDate, Privilege};
use std::collections::HashMap;
use zeroize::Zeroizing;

/// Activation codes the activation service issued, by account resource name, each shown
/// `1234-5678-9012`. Never logged: its `Debug` names the accounts only.
#[derive(Clone, Default)]
pub struct IssuedCodes(HashMap<String, Zeroizing<String>>);

impl std::fmt::Debug for IssuedCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl IssuedCodes {
    /// Records `code` for `account`; returns false (and keeps nothing) unless `code` is 12
    /// digits, with or without hyphens and spaces.
    pub fn insert(&mut self, account: String, code: &str) -> bool {
        match display_code(code) {
            Some(shown) => {
                self.0.insert(account, shown);
                true
            }
            None => false,
        }
    }

    /// Returns the code of `account`, shown `1234-5678-9012`.
    pub fn get(&self, account: &str) -> Option<&str> {
        self.0.get(account).map(|c| c.as_str())
    }

    /// Returns how many codes there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Returns whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Returns a 12-digit activation code as `1234-5678-9012`, or `None` for anything else.
pub fn display_code(raw: &str) -> Option<Zeroizing<String>> {
    let digits: Zeroizing<String> =
        Zeroizing::new(raw.chars().filter(|c| !matches!(c, '-' | ' ')).collect());
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Zeroizing::new(format!(
        "{}-{}-{}",
        &digits[..4],
        &digits[4..8],
        &digits[8..]
    )))
}

/// Returns whether an account of `privilege` gets an activation code on its sheet (管理者
/// accounts are never used on a terminal).
pub fn code_applies(privilege: Privilege) -> bool {
    privilege != Privilege::Administrator
}

/// Returns the resource names of `accounts` whose sheet lacks the code it should carry:
/// every account a code applies to that `codes` has none for (all of them without codes,
/// as in the copy kept for replays).
pub fn missing_codes(accounts: &[DeviceAccount], codes: Option<&IssuedCodes>) -> Vec<String> {
    accounts
        .iter()
        .filter(|a| code_applies(a.privilege))
        .map(|a| a.name.name())
        .filter(|name| codes.and_then(|c| c.get(name)).is_none())
        .collect()
}

/// One account's ユーザ設定情報.
#[derive(Clone)]
pub struct Sheet {
    /// 機関コード (or 登録記号番号).
    pub institution_code: String,
    /// 機関名.
    pub institution_name: String,
    /// ID (`W…`).
    pub account_id: String,
    /// パスワード (temporary); empty in a replayed copy.
    pub password: Zeroizing<String>,
    /// アクティベーションコード `1234-5678-9012`; empty when none was issued or none applies.
    pub activation_code: Zeroizing<String>,
    /// The activation endpoint.
    pub activation_endpoint: String,
    /// SHA-256 fingerprint of the servers' CA.
    pub ca_fingerprint: String,
    /// Date of issue, `YYYY-MM-DD` (Japan time).
    pub issue_date: String,
    /// The account's resource name.
    pub account: String,
}

impl std::fmt::Debug for Sheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sheet")
            .field("institution_code", &self.institution_code)
            .field("account_id", &self.account_id)
            .field("password", &"****")
            .field("activation_code", &"****")
            .field("issue_date", &self.issue_date)
            .finish_non_exhaustive()
    }
}

impl Sheet {
    /// Returns the sheet of `account` at `clinic` with `password`, issued at `now` (µs).
    pub fn new(
        clinic: &Clinic,
        account: &DeviceAccount,
        password: Zeroizing<String>,
        settings: &SheetSettings,
        now: i64,
    ) -> Self {
        Self {
            institution_code: clinic.institution_shown().to_owned(),
            institution_name: clinic.display_name.as_str().to_owned(),
            account_id: account.name.id.to_string(),
            password,
            activation_code: Zeroizing::new(String::new()),
            activation_endpoint: settings.activation_endpoint.clone(),
            ca_fingerprint: settings.ca_fingerprint.clone(),
            issue_date: JapanDate::at(now).to_string(),
            account: account.name.name(),
        }
    }

    /// Puts the account's code from `codes` on the sheet, if it has one.
    pub fn with_code(mut self, codes: &IssuedCodes) -> Self {
        if let Some(code) = codes.get(&self.account) {
            self.activation_code = Zeroizing::new(code.to_owned());
        }
        self
    }

    /// Returns the copy kept for replays: everything but the password and the code.
    pub fn without_password(&self) -> Self {
        Self {
            password: Zeroizing::new(String::new()),
            activation_code: Zeroizing::new(String::new()),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests;
