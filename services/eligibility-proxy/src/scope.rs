//! Device accounts' scope (DESIGN.md §3.3 *Scope*): the account's 権限区分 and status and the
//! clinic's 機関コード and 訪問診療等機能, from the account service's internal API, cached and
//! invalidated by its account event stream. Without a live stream every lookup asks account.

/// 権限区分.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Privilege {
    /// 一般.
    General,
    /// 医療情報閲覧.
    MedicalInformation,
    /// 管理者 (never on a device).
    Administrator,
    /// Unspecified or unknown.
    Other,
}

/// What the proxy needs to know about a device account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AccountScope {
    /// `organizations/{org}/clinics/{clinic}/accounts/{W…}`.
    pub(crate) account: String,
    /// `organizations/{org}`.
    pub(crate) organization: String,
    /// `organizations/{org}/clinics/{clinic}`.
    pub(crate) clinic: String,
    /// 機関コード.
    pub(crate) institution_code: String,
    /// 権限区分.
    pub(crate) privilege: Privilege,
    /// 利用可.
    pub(crate) available: bool,
    /// The clinic's 訪問診療等機能.
    pub(crate) home_visit: bool,
}

/// Why a scope could not be had.
#[derive(Clone, Debug, thiserror::Error)]
pub(crate) enum ScopeError {
    /// The account service could not be asked.
    #[error("account scope unavailable: {0}")]
    Unavailable(String),
    /// The account service knows no such account.
    #[error("device account not found")]
    NotFound,
}

/// The scope cache.
#[derive(Clone, Debug)]
pub(crate) struct Scopes {}

impl Scopes {
    /// Returns the scope of `account` (a resource name).
    pub(crate) async fn get(&self, _account: &str) -> Result<AccountScope, ScopeError> {
        Err(ScopeError::Unavailable("not built yet".to_owned()))
    }
}
