//! People and terminals in a [`Cluster`]: the first org_admin made by the real
//! `mynafleet admin bootstrap` with the account service's generated config (as the
//! operations guide says), logged in with TOTP at the system clock (the processes read it),
//! a clinic and a device account, and a terminal activated through the agent library
//! exactly as `mynafleet-agent activate` does it, pointed at every proxy replica.

use std::time::Duration;

use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::activation::v1 as act;
use mynafleet_proto::tonic::service::interceptor::InterceptedService;

use super::{Cluster, Node};
use crate::fleet::{TestAccount, TestClinic, create_clinic, create_device_account, rid};
use crate::operators::{Authed, Bearer, NEW_PASSWORD};
use crate::{DEADLINE, binaries};

/// A logged-in org_admin.
#[derive(Clone, Debug)]
pub struct Admin {
    /// The session token.
    pub token: String,
    /// `organizations/{org}`.
    pub organization: String,
}

impl Cluster {
    /// Runs `mynafleet admin bootstrap --config <deploy>/config/account.toml` (with the
    /// cluster's account database) and logs the new org_admin in, changing the initial
    /// password on the way.
    pub async fn bootstrap_admin(&self) -> Admin {
        let out = tokio::process::Command::new(binaries::path("mynafleet"))
            .args(["admin", "--output", "json", "bootstrap", "--config"])
            .arg(self.config("account"))
            .args(["--organization", "みなと医療グループ"])
            .args(["--login-id", "minato-admin", "--display-name", "管理 花子"])
            .env(
                "MYNAFLEET_ACCOUNT_SERVER__DATABASE_URL",
                self.account_database_url(),
            )
            .output();
        let out = tokio::time::timeout(DEADLINE, out)
            .await
            .expect("bootstrap finished within the deadline")
            .expect("run mynafleet admin bootstrap");
        assert!(
            out.status.success(),
            "admin bootstrap failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let made: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("bootstrap prints json");
        let field = |k: &str| made[k].as_str().unwrap_or_default().to_owned();
        let (login_id, password, uri) = (field("login_id"), field("password"), field("totp_uri"));
        let totp = totp_rs::Totp::from_url(&uri).expect("parse the totp uri");
        let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp())
            .expect("time after 1970");
        let mut sessions = pb::session_service_client::SessionServiceClient::new(
            self.anonymous(&self.account.url()),
        );
        let resp = sessions
            .login(pb::LoginRequest {
                login_id,
                password: password.clone(),
                totp_code: totp.generate(now).to_string(),
            })
            .await
            .unwrap_or_else(|e| panic!("log the bootstrapped admin in: {e:?}"))
            .into_inner();
        let admin = Admin {
            token: resp.session_token,
            organization: field("organization"),
        };
        pb::session_service_client::SessionServiceClient::new(self.authed(&self.account, &admin))
            .change_password(pb::ChangePasswordRequest {
                current_password: password,
                new_password: NEW_PASSWORD.to_owned(),
            })
            .await
            .unwrap_or_else(|e| panic!("change the initial password: {e:?}"));
        admin
    }

    /// Returns a channel to `node` carrying `admin`'s session token.
    pub fn authed(&self, node: &Node, admin: &Admin) -> Authed {
        InterceptedService::new(self.anonymous(&node.url()), Bearer(admin.token.clone()))
    }

    /// Registers a 訪問診療等 clinic and issues `n` 医療情報閲覧 device accounts there.
    pub async fn device_accounts(&self, admin: &Admin, n: usize) -> Vec<TestAccount> {
        let clinic = TestClinic::from(
            create_clinic(
                self.authed(&self.account, admin),
                &admin.organization,
                "3410712362",
                "みなと在宅クリニック",
                true,
            )
            .await,
        );
        let mut accounts = Vec::with_capacity(n);
        for _ in 0..n {
            let account = create_device_account(
                self.authed(&self.account, admin),
                &clinic,
                pb::Privilege::MedicalInfo,
                "訪問用タブレット",
            )
            .await;
            assert!(
                !account.sheet_code.is_empty(),
                "account reached activation for the sheet's code"
            );
            accounts.push(account);
        }
        accounts
    }

    /// Activates a terminal for `account` at the first activation replica (CA pinned by its
    /// fingerprint, temporary password changed) into a new state dir that lists every
    /// proxy replica, in order.
    pub async fn activated_terminal(&self, account: &TestAccount) -> tempfile::TempDir {
        let state =
            crate::terminal_host::activate_at(&self.activations[0].url(), self.ca_pem(), account)
                .await;
        let urls: Vec<String> = self.proxies.iter().map(Node::url).collect();
        crate::terminal_host::set_proxy_urls(state.path(), urls);
        state
    }

    /// Suspends `device` through activation replica `replica`; returns when it answered.
    pub async fn suspend_device(&self, admin: &Admin, replica: usize, device: &str) {
        let mut client = act::device_service_client::DeviceServiceClient::new(
            self.authed(&self.activations[replica], admin),
        );
        let call = client.suspend_device(act::SuspendDeviceRequest {
            name: device.to_owned(),
            reason: "タブレット紛失".to_owned(),
            request_id: rid(),
        });
        tokio::time::timeout(Duration::from_secs(10), call)
            .await
            .expect("suspend answered within 10 s")
            .unwrap_or_else(|e| panic!("suspend {device}: {e:?}"));
    }
}
