//! Loading card profiles from directories in the layout `mynafleet-oqs-sim issue-card`
//! writes (docs/card-profile.md). `fixtures/profile` was made by that binary; the variants
//! are copies with `profile.toml` edited.

use std::fs;
use std::path::{Path, PathBuf};

use mynafleet_card_sim::{Card, CardSpec, ProfileError, Token};
use tempfile::TempDir;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/profile")
}

/// Copies the fixture profile into a temp dir, with `profile.toml` replaced by `toml`.
fn profile_with(toml: &str) -> TempDir {
    let dir = TempDir::new().unwrap();
    for name in ["auth-cert.der", "auth-ca.der", "auth-key.pk8"] {
        fs::copy(fixture_dir().join(name), dir.path().join(name)).unwrap();
    }
    fs::write(dir.path().join("profile.toml"), toml).unwrap();
    dir
}

const BASE: &str = "version = 1\nperson = 7\nseed = 1\ncertificate_subject = \"AB\"\n";

#[test]
fn loads_the_profile_oqs_sim_wrote() {
    let spec = CardSpec::from_profile_dir(&fixture_dir()).unwrap();
    assert_eq!((spec.tries_left, spec.max_tries), (3, 3));
    assert_eq!(spec.token, Token::Card);
    assert_eq!(spec.label(), "JPKIAPICCTOKEN2");
    assert_eq!(
        spec.auth_cert,
        fs::read(fixture_dir().join("auth-cert.der")).unwrap()
    );
    let card = Card::from_profile_dir(&fixture_dir()).unwrap();
    assert_eq!(card.tries_left(), 3);
    assert!(card.public_key().is_some());
}

#[test]
fn reads_tries_token_and_label() {
    let dir = profile_with(&format!(
        "{BASE}pin = \"4321\"\ntries_left = 1\nmax_tries = 3\ntoken = \"android\"\n\
         token_label = \"JPKIAPGPSETOKEN\"\nunknown_key = true\n"
    ));
    let card = Card::from_profile_dir(dir.path()).unwrap();
    assert_eq!(card.tries_left(), 1);
    assert_eq!(card.token(), Some(Token::Android));

    let dir = profile_with(&format!(
        "{BASE}pin = \"4321\"\ntries_left = 0\ntoken = \"iphone\"\n"
    ));
    let card = Card::from_profile_dir(dir.path()).unwrap();
    assert!(card.pin_counter().is_blocked());
    assert_eq!(card.token(), Some(Token::Iphone));
}

#[test]
fn refuses_bad_profiles_without_quoting_the_pin() {
    type Check = fn(&ProfileError) -> bool;
    let cases: [(&str, Check); 6] = [
        ("pin = 5678\ntries_left = 3\n", |e| {
            matches!(e, ProfileError::Syntax { line: 5, .. })
        }),
        ("pin = \"56789\"\ntries_left = 3\n", |e| {
            matches!(e, ProfileError::Pin)
        }),
        ("pin = \"5678\"\ntries_left = 4\n", |e| {
            matches!(
                e,
                ProfileError::Tries {
                    tries_left: 4,
                    max_tries: 3
                }
            )
        }),
        (
            "pin = \"5678\"\ntries_left = 3\ntoken = \"watch\"\n",
            |e| matches!(e, ProfileError::Token { token } if token == "watch"),
        ),
        ("pin = \"5678\"\n", |e| {
            matches!(e, ProfileError::Syntax { .. })
        }),
        ("pin = \"5678\"\ntries_left = 3\nversion = 2\n", |e| {
            matches!(e, ProfileError::Syntax { .. })
        }),
    ];
    for (body, expected) in cases {
        let dir = profile_with(&format!("{BASE}{body}"));
        let err = CardSpec::from_profile_dir(dir.path()).unwrap_err();
        assert!(expected(&err), "{body}: {err:?}");
        let debug = format!("{err:?}");
        let text = format!("{debug} {:#}", anyhow::Error::from(err));
        assert!(!text.contains("5678"), "{text}");
    }
}

#[test]
fn refuses_an_unknown_version_a_bad_key_and_a_missing_file() {
    let dir = profile_with(&with_pin(&BASE.replace("version = 1", "version = 2")));
    let err = CardSpec::from_profile_dir(dir.path()).unwrap_err();
    assert!(
        matches!(err, ProfileError::Version { version: 2 }),
        "{err:?}"
    );

    let dir = profile_with(&with_pin(BASE));
    fs::write(dir.path().join("auth-key.pk8"), b"not a key").unwrap();
    let err = CardSpec::from_profile_dir(dir.path()).unwrap_err();
    assert!(matches!(err, ProfileError::Key { .. }), "{err:?}");

    fs::remove_file(dir.path().join("auth-cert.der")).unwrap();
    let err = CardSpec::from_profile_dir(dir.path()).unwrap_err();
    assert!(
        matches!(&err, ProfileError::Read { path, .. } if path.ends_with("auth-cert.der")),
        "{err:?}"
    );
}

fn with_pin(base: &str) -> String {
    format!("{base}pin = \"1111\"\ntries_left = 3\n")
}
