//! Secrets at rest and in logs: after a run through operators, clinics, applications,
//! password resets and a device credential check, neither the SQLite files (database, WAL)
//! nor the captured logs hold a password, a TOTP secret, a session token or the bank digits.

use crate::portal::{MHLW_CODE, accounts, applications, create_clinic, submit};
use mynafleet_proto::account::v1 as pb;
use mynafleet_tests::{As, Suite, Target};
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether `digits` occur in `text` as a number of their own (not inside a longer run of
/// digits or hex, as in a timestamp or a hash).
fn has_standalone(text: &str, digits: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(digits).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + digits.len()).copied();
        let free = |b: Option<u8>| b.is_none_or(|b| !b.is_ascii_hexdigit());
        free(before) && free(after)
    })
}

#[tokio::test]
async fn no_plaintext_secret_reaches_the_database_files_or_the_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("install capturing subscriber");

    let suite = Suite::start().await;
    let b = mynafleet_account::bootstrap(
        &suite.account_config(),
        "秘密保持医療グループ",
        "secret-admin",
        "秘密 花子",
    )
    .await
    .unwrap();
    let mut secrets: Vec<(String, String)> = vec![
        ("bootstrap password".into(), b.password.to_string()),
        ("TOTP secret".into(), totp_secret(&b.totp_uri)),
    ];
    let admin = suite.log_in(&b.login_id, &b.password, &b.totp_uri).await;
    secrets.push(("session token".into(), admin.token.clone()));
    secrets.push(("changed password".into(), admin.password.clone()));

    let clinic = create_clinic(&suite, &admin, MHLW_CODE, "秘密クリニック", false).await;
    let app = submit(
        &suite,
        &admin,
        &clinic.name,
        pb::Application {
            kind: pb::ApplicationKind::Start as i32,
            staff_count: 4,
            device_count: 2,
            bank_account_last4: "7391".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let approved = applications(&suite, &admin)
        .approve_application(pb::ApproveApplicationRequest {
            name: app.name,
            request_id: rid(),
        })
        .await
        .unwrap()
        .into_inner();
    for sheet in &approved.sheets {
        secrets.push((
            format!("password of {}", sheet.account_id),
            sheet.password.clone(),
        ));
    }
    let reset = accounts(&suite, &admin)
        .reset_device_account_password(pb::ResetDeviceAccountPasswordRequest {
            name: approved.device_accounts[0].name.clone(),
            request_id: rid(),
        })
        .await
        .unwrap()
        .into_inner();
    let new_password = reset.sheet.unwrap().password;
    secrets.push(("reset password".into(), new_password.clone()));

    // A terminal's credentials checked by a service, right and wrong.
    let mut internal = pb::account_internal_service_client::AccountInternalServiceClient::new(
        suite.channel(Target::Account, As::Service("activation")),
    );
    for password in [new_password.as_str(), "Wrong-Password-99"] {
        let _ = internal
            .verify_device_credentials(pb::VerifyDeviceCredentialsRequest {
                institution_code: MHLW_CODE.into(),
                account_id: "W0000001".into(),
                password: password.into(),
                source_address: "192.0.2.10".into(),
            })
            .await;
    }
    secrets.push((
        "mistyped device password".into(),
        "Wrong-Password-99".into(),
    ));

    let db = suite_db_path(&suite);
    let mut files = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(bytes) = std::fs::read(&path) {
            files.push((path, bytes));
        }
    }
    assert!(!files.is_empty(), "no database file at {}", db.display());
    let logs = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logs.contains("organization created") || !logs.is_empty(),
        "logs were captured"
    );
    for (what, secret) in &secrets {
        assert!(!secret.is_empty(), "{what} is known to the test");
        for (path, bytes) in &files {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{what} found in {}",
                path.display()
            );
        }
        assert!(!logs.contains(secret.as_str()), "{what} found in the logs");
    }
    assert!(
        !has_standalone(&logs, "7391"),
        "bank digits found in the logs"
    );
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !has_standalone(&text, "7391"),
            "bank digits found in {}",
            path.display()
        );
    }
}

fn totp_secret(uri: &str) -> String {
    uri.split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .expect("otpauth uri has a secret")
        .to_owned()
}

fn suite_db_path(suite: &Suite) -> std::path::PathBuf {
    let url = suite.account_database_url();
    let path = url
        .strip_prefix("sqlite://")
        .expect("the default suite runs on SQLite");
    std::path::PathBuf::from(path.split('?').next().unwrap_or(path))
}
