use super::*;

fn csr() -> Vec<u8> {
    let key = rcgen::KeyPair::generate().unwrap();
    rcgen::CertificateParams::new(Vec::<String>::new())
        .unwrap()
        .serialize_request(&key)
        .unwrap()
        .der()
        .to_vec()
}

fn request() -> pb::ActivateRequest {
    pb::ActivateRequest {
        institution_code: " 3410712362 ".to_owned(),
        account_id: "W0000001".to_owned(),
        password: "Generated-1a".to_owned(),
        activation_code: "１２３４ー５６７８ー９０１２".to_owned(),
        csr_der: csr(),
        facts: Some(pb::DeviceFacts {
            hostname: "uketsuke\u{7}-01".to_owned(),
            os: "linux".to_owned(),
            agent_version: "0.1.0".to_owned(),
            readers: vec!["Virtual PCD 00 00".to_owned(), String::new()],
        }),
        request_id: String::new(),
        new_password: String::new(),
    }
}

fn refused(r: pb::ActivateRequest) -> Error {
    match check(r) {
        Err(e) => e,
        Ok(_) => panic!("accepted"),
    }
}

fn fields(e: &Error) -> Vec<&str> {
    match e {
        Error::InvalidFields(v) => v.iter().map(|f| f.field.as_str()).collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_valid_request_is_trimmed_bounded_and_fingerprinted() {
    let r = request();
    let wanted = mynafleet_kit::tls::ca::csr_key_fingerprint(&r.csr_der).unwrap();
    let (c, rid) = check(r).unwrap();
    assert_eq!(c.institution_code, "3410712362");
    assert_eq!(c.code.digits(), "123456789012");
    assert_eq!(c.key_fingerprint, wanted);
    assert_eq!(c.facts.hostname, "uketsuke-01");
    assert_eq!(c.facts.readers, ["Virtual PCD 00 00"]);
    assert_eq!(rid, None);
}

#[test]
fn missing_items_are_listed_together_before_the_code_is_looked_at() {
    let e = refused(pb::ActivateRequest {
        institution_code: " ".to_owned(),
        account_id: String::new(),
        password: String::new(),
        activation_code: "letters".to_owned(),
        ..request()
    });
    assert_eq!(fields(&e), ["institution_code", "account_id", "password"]);
}

#[test]
fn bad_codes_csrs_request_ids_and_my_numbers_are_told_apart() {
    let e = refused(pb::ActivateRequest {
        activation_code: "1234-5678-901".to_owned(),
        ..request()
    });
    assert!(matches!(e, Error::CodeMalformed(_)), "{e:?}");
    let e = refused(pb::ActivateRequest {
        csr_der: b"not a csr".to_vec(),
        ..request()
    });
    assert!(matches!(e, Error::CsrInvalid(_)), "{e:?}");
    let e = refused(pb::ActivateRequest {
        csr_der: Vec::new(),
        ..request()
    });
    assert!(matches!(e, Error::CsrInvalid(_)), "{e:?}");
    let e = refused(pb::ActivateRequest {
        request_id: "not-a-uuid".to_owned(),
        ..request()
    });
    assert_eq!(fields(&e), ["request_id"]);
    let e = refused(pb::ActivateRequest {
        account_id: "1234-5678-9018".to_owned(),
        ..request()
    });
    assert!(
        matches!(
            e,
            Error::MyNumberRefused {
                field: "account_id"
            }
        ),
        "{e:?}"
    );
    let e = refused(pb::ActivateRequest {
        new_password: "Generated-1a".to_owned(),
        ..request()
    });
    assert!(matches!(e, Error::PasswordTooWeak(_)), "{e:?}");
}

#[test]
fn a_lock_says_when_to_retry_in_whole_seconds() {
    let secs = |e: Error| match e {
        Error::ActivationLocked { retry_after_secs } => retry_after_secs,
        other => panic!("{other:?}"),
    };
    assert_eq!(secs(locked(10_000_000, 0)), 10);
    assert_eq!(secs(locked(10_000_001, 0)), 11);
    assert_eq!(secs(locked(5, 5)), 1);
}
