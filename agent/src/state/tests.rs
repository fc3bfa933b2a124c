use super::*;
use time::macros::datetime;

fn record() -> IdentityRecord {
    IdentityRecord {
        device: "organizations/o/clinics/c/devices/d".into(),
        account: "organizations/o/clinics/c/accounts/W0000001".into(),
        institution_code: "1312345678".into(),
        institution_name: "みなと診療所".into(),
        activation_url: "https://127.0.0.1:7502".into(),
        proxy_urls: vec![
            "https://127.0.0.1:7503".into(),
            "https://10.0.0.2:7503".into(),
        ],
        certificate_expire_time: datetime!(2026-11-20 09:00:00 UTC),
        issued_at: datetime!(2026-11-19 09:00:00.25 +09:00),
    }
}

#[test]
fn identity_record_round_trips_through_the_state_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path().join("nested/state")).unwrap();
    state.write_record(&record()).unwrap();
    assert_eq!(state.read_record().unwrap(), record());

    let mut renewed = record();
    renewed.proxy_urls.truncate(1);
    state.write_record(&renewed).unwrap();
    assert_eq!(StateDir::open(state.root()).read_record().unwrap(), renewed);
}

#[test]
fn overwrites_leave_no_temporary_files() {
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path()).unwrap();
    state.write_public(CERT_FILE, b"one").unwrap();
    state.write_public(CERT_FILE, b"two").unwrap();
    assert_eq!(state.read(CERT_FILE).unwrap(), "two");
    let names: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, [CERT_FILE]);
}

#[test]
fn missing_files_read_as_none_and_remove_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path()).unwrap();
    assert!(state.read_optional(KEY_FILE).unwrap().is_none());
    assert!(state.read_secret(KEY_FILE).unwrap().is_none());
    state.remove(KEY_FILE).unwrap();
    assert!(matches!(state.read_record(), Err(StateError::Io { .. })));
}

#[test]
fn a_foreign_identity_file_is_refused_with_its_path() {
    let tmp = tempfile::tempdir().unwrap();
    let state = StateDir::create(tmp.path()).unwrap();
    state
        .write_public(IDENTITY_FILE, b"{\"device\": 1}")
        .unwrap();
    let err = state.read_record().unwrap_err();
    assert!(err.to_string().contains(IDENTITY_FILE), "{err}");
}

#[cfg(unix)]
#[test]
fn keys_are_private_and_the_directory_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("state");
    let state = StateDir::create(&root).unwrap();
    state
        .write_private(KEY_FILE, b"-----BEGIN PRIVATE KEY-----")
        .unwrap();
    state
        .write_public(CERT_FILE, b"-----BEGIN CERTIFICATE-----")
        .unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state.path(KEY_FILE)), 0o600);
    assert_eq!(mode(&root) & 0o077, 0);
    assert_eq!(mode(&state.path(CERT_FILE)) & 0o022, 0);
    assert_eq!(
        state.read_secret(KEY_FILE).unwrap().unwrap().as_str(),
        "-----BEGIN PRIVATE KEY-----"
    );
}
