//! ユーザ設定情報 sheets on the wire, and the activation codes printed on them (DESIGN.md
//! §3.1). After an RPC that issues sheets commits, [`Api::issue_codes`] asks the activation
//! service for the codes of the accounts a code applies to (not 管理者). When activation is
//! not configured or fails in any way, the accounts still exist: their sheets go out without
//! codes and `sheets_missing_code` names them, for `mynafleet admin codes issue`.
//!
//! The copy of a response kept for request-id replays carries neither passwords nor codes,
//! and names every sheet a code applies to as missing one. Codes are never logged.

use super::Api;
use crate::clinic::Clinic;
use crate::device_account::DeviceAccount;
use crate::sheet::{self, IssuedCodes, Sheet};
use crate::store::credentials::DeviceScope;
use mynafleet_proto::account::v1 as pb;
use uuid::Uuid;
use zeroize::Zeroizing;

/// The namespace of the request ids derived for `IssueActivationCodes` calls.
const CODE_REQUESTS: Uuid = Uuid::from_u128(0x6d79_6e61_666c_6565_7473_6865_6574_636f);

/// What a fresh response prints on its sheets; the replay copy has none of it.
#[derive(Clone, Copy)]
pub(super) struct Secrets<'a> {
    /// The generated passwords, in the order of the accounts.
    pub(super) passwords: &'a [Zeroizing<String>],
    /// The activation codes the activation service issued.
    pub(super) codes: &'a IssuedCodes,
}

/// Returns the wire form of a sheet.
fn sheet_to_pb(s: &Sheet) -> pb::UserSettingsSheet {
    pb::UserSettingsSheet {
        institution_code: s.institution_code.clone(),
        institution_name: s.institution_name.clone(),
        account_id: s.account_id.clone(),
        password: s.password.as_str().to_owned(),
        activation_code: s.activation_code.as_str().to_owned(),
        activation_endpoint: s.activation_endpoint.clone(),
        ca_fingerprint: s.ca_fingerprint.clone(),
        issue_date: s.issue_date.clone(),
        account: s.account.clone(),
    }
}

/// Returns the sheets of `accounts` at `clinic`, one per account, with the passwords and
/// codes of `secrets`, or blank ones for the stored replay.
pub(super) fn sheets(
    api: &Api,
    clinic: &Clinic,
    accounts: &[DeviceAccount],
    secrets: Option<Secrets<'_>>,
) -> Vec<pb::UserSettingsSheet> {
    let now = api.now();
    accounts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let password = secrets
                .and_then(|s| s.passwords.get(i).cloned())
                .unwrap_or_default();
            let sheet = Sheet::new(clinic, a, password, &api.config.sheet, now);
            let sheet = match secrets {
                Some(s) => sheet.with_code(s.codes),
                None => sheet,
            };
            sheet_to_pb(&sheet)
        })
        .collect()
}

/// Returns the names of `accounts` whose sheet lacks the code it should carry.
pub(super) fn missing(accounts: &[DeviceAccount], secrets: Option<Secrets<'_>>) -> Vec<String> {
    sheet::missing_codes(accounts, secrets.map(|s| s.codes))
}

/// Returns the request id of the `IssueActivationCodes` call made after an RPC of `caller`
/// to `method` with request id `rid`: the same for every retry of that RPC, so the
/// activation service answers a repeat with its first response instead of revoking the codes
/// it issued; a fresh one when the RPC had no request id.
pub(super) fn code_request_id(caller: &str, method: &str, rid: Option<&str>) -> String {
    match rid {
        Some(rid) => Uuid::new_v5(
            &CODE_REQUESTS,
            format!("{caller}\n{method}\n{rid}").as_bytes(),
        )
        .to_string(),
        None => Uuid::now_v7().to_string(),
    }
}

impl Api {
    /// Asks the activation service for the codes of `accounts` at `clinic` (those a code
    /// applies to). Never fails: without an answer the sheets go out without codes, and one
    /// warning says why.
    pub(super) async fn issue_codes(
        &self,
        clinic: &Clinic,
        accounts: &[DeviceAccount],
        request_id: &str,
    ) -> IssuedCodes {
        let scopes: Vec<DeviceScope> = accounts
            .iter()
            .filter(|a| sheet::code_applies(a.privilege))
            .map(|a| DeviceScope::of(clinic, a))
            .collect();
        if scopes.is_empty() {
            return IssuedCodes::default();
        }
        let Some(activation) = &self.activation else {
            tracing::warn!(
                clinic = %clinic.name.name(),
                accounts = scopes.len(),
                "activation service not configured; sheets issued without activation codes"
            );
            return IssuedCodes::default();
        };
        match activation.issue_codes(&scopes, request_id).await {
            Ok((codes, refused)) => {
                if refused > 0 {
                    tracing::warn!(
                        clinic = %clinic.name.name(),
                        accounts = scopes.len(),
                        refused,
                        "activation service issued no code for some sheets"
                    );
                }
                codes
            }
            Err(e) => {
                tracing::warn!(
                    clinic = %clinic.name.name(),
                    accounts = scopes.len(),
                    error = %e,
                    "activation codes not issued; sheets lack them"
                );
                IssuedCodes::default()
            }
        }
    }
}

#[cfg(test)]
mod tests;
