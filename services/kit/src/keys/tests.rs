use super::*;

#[test]
fn key_files_round_trip_with_owner_only_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    let a = SecretKey::load_or_create(&path).unwrap();
    let b = SecretKey::load_or_create(&path).unwrap();
    assert_eq!(a.id(), b.id());
    assert_eq!(a.hmac_hex(&["x"]), b.hmac_hex(&["x"]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            SecretKey::from_file(&path),
            Err(KeyError::TooOpen(_))
        ));
    }
    assert!(!format!("{a:?}").contains(&hex::encode(*a.bytes)));
}

#[test]
fn derived_keys_differ_by_label_and_scope() {
    let k = SecretKey::generate().unwrap();
    let a = k.derive("bank", "org-1").hmac_hex(&["1234"]);
    assert_ne!(a, k.derive("bank", "org-2").hmac_hex(&["1234"]));
    assert_ne!(a, k.derive("patient", "org-1").hmac_hex(&["1234"]));
    assert_eq!(a, k.derive("bank", "org-1").hmac_hex(&["1234"]));
    assert_ne!(k.hmac_hex(&["ab", "c"]), k.hmac_hex(&["a", "bc"]));
}

#[test]
fn sealed_values_open_only_with_key_and_context() {
    let k = SecretKey::generate().unwrap();
    let sealed = k.seal(b"JBSWY3DPEHPK3PXP", b"operator-1").unwrap();
    assert_eq!(
        &*k.open(&sealed, b"operator-1").unwrap(),
        b"JBSWY3DPEHPK3PXP"
    );
    assert!(k.open(&sealed, b"operator-2").is_err());
    assert!(
        SecretKey::generate()
            .unwrap()
            .open(&sealed, b"operator-1")
            .is_err()
    );
    let mut bent = sealed.clone();
    bent[20] ^= 1;
    assert!(k.open(&bent, b"operator-1").is_err());
    assert!(k.open(&sealed[..5], b"operator-1").is_err());
}

#[test]
fn passwords_hash_with_argon2id_and_verify() {
    let h = password::hash("correct horse").unwrap();
    assert!(h.starts_with("$argon2id$"));
    assert!(password::verify("correct horse", &h));
    assert!(!password::verify("wrong horse", &h));
    assert!(!password::verify("correct horse", "not a hash"));
    assert!(!password::verify("anything", password::decoy()));
}
