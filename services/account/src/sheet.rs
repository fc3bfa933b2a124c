//! マイナ資格確認アプリ ユーザ設定情報 (DOMAIN.md §5.2 step 5): what staff type into a terminal
//! — 機関コード, 機関名, ID, password and activation code — plus where to connect and the CA
//! fingerprint to pin (DESIGN.md §3.1).
//!
//! A sheet is made when accounts are issued or a password is reset, and shown once. The
//! copy kept for request-id replays is [`Sheet::without_password`]; a sheet is never stored
//! or logged with its password.

use crate::clinic::Clinic;
use crate::config::SheetSettings;
use crate::device_account::{DeviceAccount, JapanDate};
use zeroize::Zeroizing;

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
    /// アクティベーションコード; empty until the activation service issues codes (#4).
    pub activation_code: String,
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
            activation_code: String::new(),
            activation_endpoint: settings.activation_endpoint.clone(),
            ca_fingerprint: settings.ca_fingerprint.clone(),
            issue_date: JapanDate::at(now).to_string(),
            account: account.name.name(),
        }
    }

    /// Returns the copy kept for replays: everything but the password.
    pub fn without_password(&self) -> Self {
        Self {
            password: Zeroizing::new(String::new()),
            ..self.clone()
        }
    }
}
