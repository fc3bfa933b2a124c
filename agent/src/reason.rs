//! Human messages for the stable error reasons servers send in `google.rpc.ErrorInfo`.
//!
//! Every reason listed in `activation.proto`, `agent.proto`, `eligibility.proto`,
//! `terminal.proto` and `common.proto` has a message in English and Japanese that says what
//! went wrong and what the person at the terminal can do about it. This module only maps names to text; it never sees the request that failed,
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
        "STREAM_HELLO_REQUIRED" => say(
            "the proxy expected the event stream to open with a hello — report this to your administrator",
            "イベント送信の開始手順がプロキシに受け付けられませんでした。管理者に連絡してください",
        ),
        "EVENT_MALFORMED" => say(
            "the proxy refused a malformed scan event — report this to your administrator",
            "スキャンイベントの形式がプロキシに受け付けられませんでした。管理者に連絡してください",
        ),
        "EVENT_STORE_UNAVAILABLE" => say(
            "the proxy could not store scan events — they stay on this terminal and are sent again",
            "プロキシがスキャンイベントを保存できませんでした。端末に保持して再送します",
        ),
        "DEVICE_STATUS_UNAVAILABLE" => say(
            "the proxy could not learn this terminal's status — try again shortly",
            "端末の状態を確認できませんでした。しばらくしてから再試行してください",
        ),
        // mynafleet.eligibility.v1: what the proxy says about a check.
        "CHALLENGE_UNKNOWN" => say(
            "the proxy did not issue this challenge — put the card on the reader again",
            "照会用のチャレンジが不正です。カードを置き直してください",
        ),
        "CHALLENGE_EXPIRED" => say(
            "the check took too long and its challenge expired — put the card on the reader again",
            "時間切れです。カードを置き直してください",
        ),
        "CHALLENGE_REPLAYED" => say(
            "this challenge was already used — put the card on the reader again",
            "チャレンジは使用済みです。カードを置き直してください",
        ),
        "CHALLENGE_DEVICE_MISMATCH" => say(
            "the challenge was issued to another terminal — put the card on the reader again",
            "別の端末に発行されたチャレンジです。カードを置き直してください",
        ),
        "SIGNATURE_INVALID" => say(
            "the card's signature did not verify — put the card on the reader again, or use visual mode",
            "カードの署名を検証できませんでした。置き直すか目視確認を使ってください",
        ),
        "CERTIFICATE_MALFORMED" => say(
            "the card's certificate cannot be read — use visual mode or check by insurance numbers",
            "カードの証明書を読み取れません。目視確認または保険証番号で確認してください",
        ),
        "CERTIFICATE_UNTRUSTED" => say(
            "the card's certificate is not from a trusted JPKI authority — check the card",
            "カードの証明書が信頼できる発行元のものではありません",
        ),
        "CERTIFICATE_TEST_ROOT_REFUSED" => say(
            "this is a test card, refused in production",
            "テスト用カードは本番環境では使用できません",
        ),
        "CERTIFICATE_EXPIRED" => say(
            "the card's certificate is expired or not yet valid — the holder must renew it at the municipal office",
            "カードの電子証明書が有効期間外です。市区町村の窓口で更新が必要です",
        ),
        "STAFF_ATTESTATION_REQUIRED" => say(
            "visual mode needs the staff member who compared the photo",
            "目視確認には確認した職員の入力が必要です",
        ),
        "SIGNATURE_NOT_EXPECTED" => say(
            "a visual check carries no signature — report this to your administrator",
            "目視確認では署名は送信しません。管理者に連絡してください",
        ),
        "INSURER_NUMBER_INVALID" => say(
            "the 保険者番号 must be 6 or 8 digits with a valid check digit",
            "保険者番号が正しくありません",
        ),
        "ACCOUNT_SCOPE_UNAVAILABLE" => say(
            "the proxy could not look up this terminal's account — try again shortly",
            "アカウント情報を確認できませんでした。しばらくしてから再試行してください",
        ),
        "UPSTREAM_NOT_CAPABLE" => say(
            "the clinic's eligibility connection cannot do this kind of check — ask your administrator",
            "この医療機関の接続方式ではこの照会はできません。管理者に確認してください",
        ),
        "UPSTREAM_UNAVAILABLE" => say(
            "the eligibility system did not answer — try again shortly",
            "資格確認システムが応答しません。しばらくしてから再試行してください",
        ),
        "UPSTREAM_TIMEOUT" => say(
            "the eligibility system did not answer in time — try again shortly",
            "資格確認システムの応答が時間内にありませんでした。再試行してください",
        ),
        "UPSTREAM_CIRCUIT_OPEN" => say(
            "the eligibility system failed repeatedly; checks pause briefly — try again in a moment",
            "資格確認システムの障害が続いています。少し待ってから再試行してください",
        ),
        "UPSTREAM_REQUEST_REJECTED" => say(
            "the eligibility system refused the request",
            "資格確認システムが要求を受け付けませんでした",
        ),
        "UPSTREAM_ANSWER_INVALID" => say(
            "the eligibility system's answer could not be read — try again or ask your administrator",
            "資格確認システムの応答を読み取れませんでした",
        ),
        "REFERENCE_NUMBER_INVALID" => say(
            "the 照会番号 must be 1–50 characters and not an individual number",
            "照会番号が正しくありません",
        ),
        // mynafleet.terminal.v1: what the agent's terminal API refuses.
        "TERMINAL_TOKEN_INVALID" => say(
            "the terminal api token is missing or wrong — it is terminal.token in the agent's state dir",
            "端末APIのトークンが違います（エージェントの状態ディレクトリの terminal.token）",
        ),
        "NO_SCAN_WAITING" => say(
            "no card waits for a pin or visual check — put the card on the reader",
            "暗証番号または目視確認を待っているカードがありません。カードを置いてください",
        ),
        "SCAN_MISMATCH" => say(
            "the card on the reader changed — start again with the current card",
            "カードが入れ替わりました。現在のカードでやり直してください",
        ),
        "PIN_MALFORMED" => say(
            "the pin must be exactly 4 digits",
            "暗証番号は4桁の数字です",
        ),
        "LAST_TRY_NOT_CONFIRMED" => say(
            "one pin try is left and a wrong pin blocks the card — confirm the warning first, or use visual mode",
            "暗証番号の残り回数は1回です。警告を確認してから入力するか目視確認を使ってください",
        ),
        "PIN_BLOCKED" => say(
            "the card's pin is blocked; only the municipal office can unblock it — use visual mode",
            "暗証番号がロックされています（解除は市区町村の窓口のみ）。目視確認を使ってください",
        ),
        "STAFF_ID_REQUIRED" => say(
            "visual mode needs the attesting staff member",
            "目視確認には確認した職員の入力が必要です",
        ),
        "SCAN_BUSY" => say(
            "the card is already being checked — wait for the result",
            "照会中です。結果をお待ちください",
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
