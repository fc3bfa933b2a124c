use super::*;

#[test]
fn generated_passwords_meet_both_policies_and_avoid_look_alikes() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let p = generate().unwrap();
        assert_eq!(p.chars().count(), GENERATED_LEN);
        check_device(&p).unwrap();
        check_operator(&p).unwrap();
        assert!(
            !p.chars().any(|c| "0Oo1lI5S2Z8B".contains(c)),
            "{}",
            p.as_str()
        );
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        assert!(seen.insert(p.to_string()));
    }
}

#[test]
fn weak_passwords_are_refused_with_a_reason() {
    for weak in ["short1A!", "alllowercaseletters", "ALLUPPER1234567", ""] {
        let err = check_operator(weak).unwrap_err();
        assert!(matches!(err, Error::PasswordTooWeak(_)), "{weak}");
    }
    assert!(check_device("Abcdefgh1234").is_ok());
    assert!(check_operator("Abcdefgh1234").is_err());
    assert!(check_operator("Abcdefgh12345").is_ok());
}
