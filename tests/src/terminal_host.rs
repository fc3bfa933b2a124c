//! A clinic terminal for agent tests (issue #6): an agent state directory activated through
//! the agent library exactly as `mynafleet-agent activate` does it (temporary password
//! changed on the way), so `mynafleet-agent run`, `check` and test binaries linking the agent
//! can be started on it.

use mynafleet_agent::facts::DeviceFacts;
use mynafleet_agent::fingerprint::Fingerprint;
use mynafleet_agent::server_url::ServerUrl;
use mynafleet_agent::state::StateDir;
use mynafleet_agent::{ActivateParams, EnrollError, Trust};
use mynafleet_proto::account::v1 as account_pb;
use zeroize::Zeroizing;

use crate::fleet::{DEVICE_PASSWORD, TestAccount};
use crate::operators::Operator;
use crate::{Suite, Target};

/// An organization, a 訪問診療等 clinic and a 医療情報閲覧 device account in `suite`.
pub async fn device_account(suite: &Suite) -> TestAccount {
    device_account_and_admin(suite).await.0
}

/// Like [`device_account`], also returning the organization's administrator.
pub async fn device_account_and_admin(suite: &Suite) -> (TestAccount, Operator) {
    let admin = suite.org_admin("さくら在宅医療会", "sakura-admin").await;
    let clinic = suite
        .clinic(&admin, "3410712362", "さくら在宅クリニック", true)
        .await;
    let account = suite
        .device_account(&admin, &clinic, account_pb::Privilege::MedicalInfo)
        .await;
    (account, admin)
}

/// Returns an activated agent state directory for `account`.
pub async fn activated_state_dir(suite: &Suite, account: &TestAccount) -> tempfile::TempDir {
    activate_at(&suite.url(Target::Activation), suite.ca_pem(), account).await
}

/// Activates `account` at the activation service at `activation_url` (CA pinned by the
/// fingerprint of `ca_pem`, temporary password changed) into a new agent state directory.
pub async fn activate_at(
    activation_url: &str,
    ca_pem: &str,
    account: &TestAccount,
) -> tempfile::TempDir {
    let state = tempfile::tempdir().expect("agent state dir");
    let params = |new_password: Option<&str>| ActivateParams {
        state_dir: state.path().to_owned(),
        server: ServerUrl::parse(activation_url).expect("activation url"),
        trust: Trust::Fingerprint(
            Fingerprint::parse(&mynafleet_kit::tls::fingerprint_pem(ca_pem))
                .expect("ca fingerprint"),
        ),
        institution_code: account.institution_code.clone(),
        account_id: account.account_id.clone(),
        password: Zeroizing::new(account.password.clone()),
        activation_code: Zeroizing::new(account.sheet_code.clone()),
        new_password: new_password.map(|p| Zeroizing::new(p.to_owned())),
        facts: DeviceFacts::local(),
    };
    match mynafleet_agent::activate(params(None)).await {
        Err(EnrollError::PasswordChangeRequired) => {}
        other => panic!("expected the temporary password to need a change: {other:?}"),
    }
    mynafleet_agent::activate(params(Some(DEVICE_PASSWORD)))
        .await
        .expect("activate with the new password");
    state
}

/// Points the agent in `state` at `proxy_urls` instead of what activation listed.
pub fn set_proxy_urls(state: &std::path::Path, proxy_urls: Vec<String>) {
    let dir = StateDir::open(state);
    let mut record = dir.read_record().expect("read identity.json");
    record.proxy_urls = proxy_urls;
    dir.write_record(&record).expect("write identity.json");
}
