use super::*;
use crate::testing::shared_key;

#[test]
fn a_card_profile_holds_the_persons_certificate_key_and_pin() {
    let tmp = tempfile::tempdir().unwrap();
    let mut req = CardRequest::new(5, tmp.path().join("card5"), tmp.path().join("ca"));
    req.pin = Some("1234".into());
    req.token = Token::Android;
    req.key_pkcs8 = Some(shared_key().to_vec());
    let card = issue_card(&req).unwrap();
    assert_eq!(card.person.index, 5);
    assert_eq!(card.pin, "1234");
    assert_eq!(card.token_label, "JPKIAPGPSETOKEN");
    let ca = crate::jpki::load_or_create(&req.ca_dir).unwrap();
    let der = std::fs::read(&card.certificate).unwrap();
    assert_eq!(ca.verify(&der).unwrap(), card.person.certificate_subject);
    assert_eq!(std::fs::read(&card.ca_certificate).unwrap(), ca.cert_der());
    assert_eq!(std::fs::read(&card.private_key).unwrap(), shared_key());
    let profile = std::fs::read_to_string(&card.profile).unwrap();
    assert!(profile.contains("person = 5\n"), "{profile}");
    assert!(profile.contains("pin = \"1234\"\n"));
    assert!(profile.contains("tries_left = 3\n"));
    assert!(profile.contains("token_label = \"JPKIAPGPSETOKEN\"\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&card.private_key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Only the profile and the CA directory exist: no temporary directory is left.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 2);

    // A second profile into the same directory is refused, a bad PIN too.
    assert!(matches!(issue_card(&req), Err(JpkiError::OutputExists(_))));
    let mut bad = req.clone();
    bad.out = tmp.path().join("other");
    bad.pin = Some("12a4".into());
    assert!(matches!(issue_card(&bad), Err(JpkiError::InvalidPin)));
    bad.pin = None;
    bad.person = 10_000;
    assert!(matches!(
        issue_card(&bad),
        Err(JpkiError::PersonOutOfRange { .. })
    ));
}
