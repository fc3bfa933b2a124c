//! The demo data of `mynafleet dev`: on the first start of a data dir, the organization
//! 「デモ医療グループ」 and its first org_admin (bootstrapped through the account crate before
//! the services start), then two clinics created over gRPC as that admin, logged in with the
//! TOTP code computed from the enrolment URI. The credentials are printed once; a marker
//! file (no secrets in it) tells later starts that they were.
//!
//! Failures here are reported, never fatal: dev mode keeps running without demo data.

use super::connect::Bearer;
use super::errors::Failure;
use anyhow::Context as _;
use mynafleet_kit::tls::ClientTls;
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::service::interceptor::InterceptedService;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;
use zeroize::Zeroizing;

/// The demo organization's name.
pub const ORGANIZATION: &str = "デモ医療グループ";
/// The demo admin's login id.
pub const LOGIN_ID: &str = "admin";
/// The marker file in the data dir.
const MARKER: &str = "demo.json";
/// The namespace of the demo clinics' request ids (fixed, so a retry cannot duplicate them).
const NAMESPACE: uuid::Uuid = uuid::uuid!("0b7c1e36-2f4d-5a8b-8c9e-4d1f2a3b5c6d");

/// The demo clinics: kind, 機関コード (valid check digits), name, 訪問診療等機能.
const CLINICS: &[(pb::ClinicKind, &str, &str, bool)] = &[
    (
        pb::ClinicKind::Medical,
        "1310112345",
        "デモ内科クリニック",
        true,
    ),
    (pb::ClinicKind::Dental, "1330134568", "デモ歯科医院", false),
];

/// What the marker file records.
#[derive(Debug, Deserialize, Serialize)]
struct Marker {
    organization: String,
    login_id: String,
}

/// The state after [`bootstrap`].
#[derive(Debug)]
pub struct Demo {
    state: State,
}

#[derive(Debug)]
enum State {
    Fresh(mynafleet_account::Bootstrapped),
    Existing { login_id: String },
    Failed(String),
}

/// Returns the configuration bootstrap writes with. Bootstrap opens the store and never
/// serves, so the configuration carries no certificate.
pub fn account_config(
    database_url: String,
    keys: mynafleet_account::Keys,
    ca_pem: &str,
) -> mynafleet_account::Config {
    use mynafleet_kit::tls::{ServerTls, TlsIdentity, TrustRoots};
    let tls = ServerTls {
        identity: TlsIdentity {
            cert_pem: String::new(),
            key_pem: String::new(),
        },
        roots: TrustRoots {
            service_ca_pem: ca_pem.to_owned(),
            device_ca_pem: None,
        },
    };
    let mut config = mynafleet_account::Config::for_tests(database_url, tls);
    config.clock = mynafleet_kit::clock::Clock::system();
    config.keys = keys;
    config
}

/// Bootstraps the demo organization unless this data dir already has it. Run it before the
/// services start (it applies the account migrations).
pub async fn bootstrap(data_dir: &Path, config: &mynafleet_account::Config) -> Demo {
    let marker = data_dir.join(MARKER);
    if let Ok(text) = std::fs::read_to_string(&marker)
        && let Ok(m) = serde_json::from_str::<Marker>(&text)
    {
        return Demo {
            state: State::Existing {
                login_id: m.login_id,
            },
        };
    }
    let state = match mynafleet_account::bootstrap(config, ORGANIZATION, LOGIN_ID, "デモ 管理者")
        .await
    {
        Ok(b) => {
            let m = Marker {
                organization: b.organization.clone(),
                login_id: b.login_id.clone(),
            };
            match write_marker(&marker, &m) {
                Ok(()) => State::Fresh(b),
                Err(e) => State::Failed(format!("{e:#}")),
            }
        }
        Err(e) => match super::bootstrap::reason(e) {
            (Some(r), _) if r == "LOGIN_ID_TAKEN" => State::Existing {
                login_id: LOGIN_ID.to_owned(),
            },
            (_, e) => State::Failed(format!("{e:#}")),
        },
    };
    Demo { state }
}

fn write_marker(path: &Path, m: &Marker) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(m)?)
        .with_context(|| format!("write {}", path.display()))
}

/// Finishes the demo once the services run: on a first start, adds the clinics as the demo
/// admin and prints the credentials once; on later starts, says they were shown before.
pub async fn finish(demo: Demo, account_url: &str, ca_pem: &str) {
    match demo.state {
        State::Existing { login_id } => println!(
            "Demo organization {ORGANIZATION}: operator {login_id:?} exists; its credentials \
             were shown at the first start (delete the data dir to start over)."
        ),
        State::Failed(e) => {
            println!("Demo organization not created: {e}");
        }
        State::Fresh(b) => {
            let mut new_password = None;
            if let Err(e) = seed(&b, account_url, ca_pem, &mut new_password).await {
                println!("Demo clinics not created: {e:#}");
            }
            let changed = new_password.is_some();
            let password = new_password.unwrap_or_else(|| b.password.clone());
            println!("Demo organization {ORGANIZATION} ({})", b.organization);
            println!("  first operator (org_admin), shown ONCE:");
            println!("  login id   {}", b.login_id);
            println!("  password   {}", password.as_str());
            println!("  TOTP URI   {}", b.totp_uri);
            if changed {
                println!(
                    "  (dev mode already replaced the initial password with this one and used \
                     the current TOTP code: log in with the next one)"
                );
            }
            println!(
                "  log in:    mynafleet admin login --login-id {}  (endpoint and CA come from \
                 endpoints.json)",
                b.login_id
            );
        }
    }
}

/// Logs in as the demo admin, replaces the initial password (into `new_password`, kept even
/// when a later step fails) and creates the demo clinics.
async fn seed(
    b: &mynafleet_account::Bootstrapped,
    account_url: &str,
    ca_pem: &str,
    new_password: &mut Option<Zeroizing<String>>,
) -> anyhow::Result<()> {
    let channel = ClientTls {
        server_ca_pem: ca_pem.to_owned(),
        identity: None,
    }
    .lazy_channel(account_url, Duration::from_secs(10))?;
    let code = totp_rs::Totp::from_url(&b.totp_uri)
        .map_err(|e| anyhow::anyhow!("read the TOTP URI: {e}"))?
        .generate_current()
        .to_string();
    let mut sessions = pb::session_service_client::SessionServiceClient::new(channel.clone());
    let login = sessions
        .login(pb::LoginRequest {
            login_id: b.login_id.clone(),
            password: b.password.to_string(),
            totp_code: code,
        })
        .await
        .map_err(Failure::from)
        .context("log in as the demo admin")?
        .into_inner();
    let authed = InterceptedService::new(channel, Bearer::new(&login.session_token)?);
    if login
        .operator
        .as_ref()
        .is_some_and(|o| o.must_change_password)
    {
        let p = generate_password()?;
        pb::session_service_client::SessionServiceClient::new(authed.clone())
            .change_password(pb::ChangePasswordRequest {
                current_password: b.password.to_string(),
                new_password: p.to_string(),
            })
            .await
            .map_err(Failure::from)
            .context("change the demo admin's initial password")?;
        *new_password = Some(p);
    }
    let mut clinics = pb::clinic_service_client::ClinicServiceClient::new(authed.clone());
    for (kind, code, name, home_visit) in CLINICS {
        clinics
            .create_clinic(pb::CreateClinicRequest {
                parent: b.organization.clone(),
                clinic: Some(pb::Clinic {
                    kind: *kind as i32,
                    institution_code: (*code).to_owned(),
                    display_name: (*name).to_owned(),
                    home_visit_enabled: *home_visit,
                    ..Default::default()
                }),
                request_id: uuid::Uuid::new_v5(&NAMESPACE, code.as_bytes()).to_string(),
            })
            .await
            .map_err(Failure::from)
            .with_context(|| format!("create demo clinic {name}"))?;
    }
    let _ = pb::session_service_client::SessionServiceClient::new(authed)
        .logout(pb::LogoutRequest {})
        .await;
    Ok(())
}

/// Returns a 19-character password in four groups (upper, lower, digits; no look-alikes).
fn generate_password() -> anyhow::Result<Zeroizing<String>> {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    const ALL: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut random = Zeroizing::new([0u8; 16]);
    mynafleet_kit::keys::random_bytes(random.as_mut())
        .map_err(|e| anyhow::anyhow!("random source: {e}"))?;
    let mut out = Zeroizing::new(String::with_capacity(19));
    for (i, b) in random.iter().enumerate() {
        let set = match i {
            0 => UPPER,
            1 => LOWER,
            2 => DIGIT,
            _ => ALL,
        };
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(set[usize::from(*b) % set.len()]));
    }
    Ok(out)
}

/// Returns the marker file of `data_dir` (for tests and docs).
pub fn marker_path(data_dir: &Path) -> PathBuf {
    data_dir.join(MARKER)
}

#[cfg(test)]
mod tests;
