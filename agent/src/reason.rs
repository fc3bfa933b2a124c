//! Human messages for the stable error reasons servers send in `google.rpc.ErrorInfo`.
//!
//! Every reason listed in `activation.proto`, `agent.proto` and `common.proto` has a message
//! in English and Japanese that says what went wrong and what the person at the terminal can
//! do about it. This module only maps names to text; it never sees the request that failed,
//! so no message can carry a password or activation code.

use std::fmt;

#[cfg(test)]
mod tests;

/// What a reason means for the person at the terminal, in English and Japanese.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// English, lowercase, no trailing period.
    pub en: &'static str,
    /// Japanese.
    pub ja: &'static str,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.en, self.ja)
    }
}

const fn say(en: &'static str, ja: &'static str) -> Option<Explanation> {
    Some(Explanation { en, ja })
}

/// Returns what `reason` means, or `None` for a reason this agent does not know.
pub fn explain(reason: &str) -> Option<Explanation> {
    match reason {
        // mynafleet.activation.v1: what a terminal meets while activating or renewing.
        "CREDENTIALS_INVALID" => say(
            "the 機関コード, account ID or password is wrong — check the sheet and type them again",
            "機関コード・ID・パスワードのいずれかが違います。ユーザ設定情報を確認して再入力してください",
        ),
        "CODE_MALFORMED" => say(
            "the activation code must be 12 digits, as on the sheet (1234-5678-9012)",
            "アクティベーションコードはユーザ設定情報に記載の12桁の数字です",
        ),
        "CODE_MISMATCH" => say(
            "this activation code does not belong to this account — check the sheet (another clinic's or account's code, or a typo)",
            "このアカウントのアクティベーションコードではありません。ユーザ設定情報を確認してください",
        ),
        "CODE_EXPIRED" => say(
            "activation code expired — ask your administrator for a new one",
            "アクティベーションコードの有効期限が切れています。管理者に再発行を依頼してください",
        ),
        "CODE_REVOKED" => say(
            "activation code was revoked (a newer one was issued, or an administrator revoked it) — use the newest sheet or ask your administrator",
            "アクティベーションコードは無効化されています。最新のユーザ設定情報を使うか管理者に確認してください",
        ),
        "CODE_NOT_ISSUED" => say(
            "no activation code was issued for this account — ask your administrator to issue one",
            "このアカウントにはアクティベーションコードが発行されていません。管理者に発行を依頼してください",
        ),
        "CODE_BOUND_TO_OTHER_KEY" => say(
            "this activation code was already used by another terminal (or a reinstalled agent) — ask your administrator for a new code",
            "このアクティベーションコードは別の端末で使用済みです。管理者に新しいコードを依頼してください",
        ),
        "ACTIVATION_LOCKED" => say(
            "too many failed activations — wait for the lock to pass or ask your administrator to unlock",
            "アクティベーションの失敗が続いたためロックされています。時間をおくか管理者に解除を依頼してください",
        ),
        "ACCOUNT_ROLE_REFUSED" => say(
            "管理者 accounts cannot be used on terminals — use a device account",
            "管理者アカウントは端末では使用できません",
        ),
        "ACCOUNT_NOT_AVAILABLE" => say(
            "the device account is suspended or ended (not 利用可) — ask your administrator",
            "このアカウントは利用停止中または利用終了です。管理者に確認してください",
        ),
        "DEVICE_ACCOUNT_LOCKED" => say(
            "the account's password is locked after failed attempts — ask your administrator to unlock it",
            "パスワード誤りが続いたためアカウントがロックされています。管理者に解除を依頼してください",
        ),
        "PASSWORD_CHANGE_REQUIRED" => say(
            "the password on the sheet is temporary and must be changed first",
            "ユーザ設定情報のパスワードは仮パスワードです。変更が必要です",
        ),
        "PASSWORD_TOO_WEAK" => say(
            "the new password does not meet the password policy — choose a longer one mixing letters and digits",
            "新しいパスワードがパスワードポリシーを満たしていません",
        ),
        "CSR_INVALID" => say(
            "the server refused this terminal's certificate request — report this to your administrator",
            "証明書署名要求が受け付けられませんでした。管理者に連絡してください",
        ),
        "DEVICE_ALREADY_ACTIVE" => say(
            "this account already has an active terminal — ask your administrator to revoke or replace it first",
            "このアカウントには利用中の端末があります。管理者に端末の失効または交換を依頼してください",
        ),
        "DEVICE_NOT_FOUND" => say(
            "the server has no record of this terminal — activate it again with a new code",
            "この端末は登録されていません。再度アクティベーションしてください",
        ),
        "DEVICE_SUSPENDED" => say(
            "this terminal is suspended by an administrator",
            "この端末は管理者により一時停止されています",
        ),
        "DEVICE_REVOKED" => say(
            "this terminal is revoked for good — activate it again with a new code",
            "この端末は失効しています。新しいコードで再度アクティベーションしてください",
        ),
        "DEVICE_STATE_CONFLICT" => say(
            "the terminal is not in a state that allows this — ask your administrator",
            "端末の状態により、この操作はできません",
        ),
        "ORGANIZATION_NOT_FOUND" => say(
            "the organization does not exist on the server — ask your administrator",
            "組織が見つかりません。管理者に確認してください",
        ),
        "ACCOUNT_UNAVAILABLE" => say(
            "the account service did not answer in time — try again shortly",
            "アカウントサービスが応答しません。しばらくしてから再試行してください",
        ),
        "CODE_ALREADY_USED" => say(
            "a used activation code cannot be revoked — revoke or replace the device instead",
            "使用済みのアクティベーションコードは無効化できません",
        ),
        "CODE_NOT_FOUND" => say(
            "no such activation code",
            "アクティベーションコードが見つかりません",
        ),
        "ACCOUNT_NOT_FOUND" => say(
            "the server knows no such device account — check the account ID",
            "アカウントが見つかりません。IDを確認してください",
        ),
        "ROLE_REFUSED" => say("your role may not do this", "この操作の権限がありません"),
        "OUT_OF_SCOPE" => say(
            "that is outside your organization or clinics",
            "対象が組織または医療機関の範囲外です",
        ),
        "SESSION_INVALID" => say(
            "the operator session is unknown, expired or ended — log in again",
            "セッションが無効です。再度ログインしてください",
        ),
        "RESUME_TOKEN_INVALID" => say(
            "the server did not issue this resume token",
            "再開トークンが無効です",
        ),
        // mynafleet.agent.v1: what the proxy says about this device.
        "DEVICE_IDENTITY_MALFORMED" => say(
            "the proxy cannot read this terminal's identity from its certificate — activate it again",
            "端末証明書から端末を識別できません。再度アクティベーションしてください",
        ),
        "DEVICE_PENDING" => say(
            "the terminal has no certificate yet — finish activation first",
            "端末のアクティベーションが完了していません",
        ),
        "DEVICE_ACCOUNT_MISMATCH" => say(
            "the server registered this terminal to another account than its certificate names — ask your administrator",
            "端末の登録アカウントが証明書と一致しません。管理者に確認してください",
        ),
        "PROXY_SHUTTING_DOWN" => say(
            "the proxy is shutting down — reconnecting, to another proxy if there is one",
            "プロキシが停止中です。再接続します",
        ),
        "DEVICE_STATUS_UNAVAILABLE" => say(
            "the proxy could not learn this terminal's status — try again shortly",
            "端末の状態を確認できませんでした。しばらくしてから再試行してください",
        ),
        // mynafleet.common.v1: the plumbing every service shares.
        "REQUEST_ID_REUSED" => say(
            "the server saw this request id with a different request — retry from the start",
            "リクエストIDが別の要求で使用済みです",
        ),
        "INVALID_FIELD" => say(
            "the server refused a field of the request",
            "入力内容に誤りがあります",
        ),
        "MY_NUMBER_REFUSED" => say(
            "a field looks like an individual number (マイナンバー), which MynaFleet never accepts",
            "個人番号と思われる値は入力できません",
        ),
        "CALLER_UNKNOWN" => say(
            "the server does not recognize this terminal's certificate — it may have expired; activate again",
            "端末証明書が認識されません。期限切れの場合は再度アクティベーションしてください",
        ),
        "CALLER_KIND_REFUSED" => say(
            "this terminal may not make that call",
            "この端末からは実行できない操作です",
        ),
        "INVALID_PAGE_TOKEN" => say("the page token is not valid", "ページトークンが無効です"),
        "INTERNAL" => say(
            "the server failed internally — try again later or tell your administrator",
            "サーバー内部でエラーが発生しました",
        ),
        _ => None,
    }
}

/// Whether a renewal refused with `reason` must not be retried: the device or its account is
/// cut off (or the server has no record of the device), so only an operator can change the
/// outcome.
pub fn stops_renewal(reason: &str) -> bool {
    matches!(
        reason,
        "DEVICE_SUSPENDED" | "DEVICE_REVOKED" | "ACCOUNT_NOT_AVAILABLE" | "DEVICE_NOT_FOUND"
    )
}

/// Whether a proxy refusing the device watch with `reason` refuses it for good.
pub fn ends_watch(reason: &str) -> bool {
    matches!(
        reason,
        "DEVICE_REVOKED" | "DEVICE_NOT_FOUND" | "DEVICE_ACCOUNT_MISMATCH"
    )
}

/// A reason with its explanation, or the server's own message for a reason this agent does
/// not know, as printed to the person at the terminal.
#[derive(Clone, Copy, Debug)]
pub struct Described<'a> {
    /// The stable reason (`CODE_EXPIRED`).
    pub reason: &'a str,
    /// The server's message, used when the reason is unknown here.
    pub message: &'a str,
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match explain(self.reason) {
            Some(explanation) => write!(f, "{explanation} ({})", self.reason),
            None => write!(f, "{} ({})", self.message, self.reason),
        }
    }
}
