//! The test JPKI hierarchy shared by every test of a run: oqs-sim's test CA, a "stranger" CA
//! no proxy trusts, a small pool of RSA-2048 keys and the card profiles issued with them, all
//! made once under `target/test-jpki/` (key generation is slow in debug builds) and reused by
//! every test process. Each file or directory appears whole (temporary name, then rename),
//! so processes racing to make the same one end with one good copy.

use crate::card::SoftwareCard;
use std::path::{Path, PathBuf};

/// How many keys the pool holds.
const KEYS: u32 = 4;

/// The shared fixture.
#[derive(Clone, Debug)]
pub struct Fixture {
    root: PathBuf,
}

/// Which card certificate to issue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CardOptions {
    /// Issued by a CA the proxy does not trust.
    pub stranger_ca: bool,
    /// Expired yesterday.
    pub expired: bool,
}

/// Returns the fixture under the build's `target/` directory.
pub fn fixture() -> Fixture {
    let exe = std::env::current_exe().expect("test executable path");
    let target = exe
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map_or_else(std::env::temp_dir, Path::to_owned);
    Fixture {
        root: target.join("test-jpki"),
    }
}

impl Fixture {
    /// The test CA's directory, as oqs-sim's `jpki_dir`.
    pub fn ca_dir(&self) -> PathBuf {
        self.root.join("ca")
    }

    fn key(&self, n: u32) -> Vec<u8> {
        let path = self.root.join("keys").join(format!("key-{n}.pk8"));
        if let Ok(key) = std::fs::read(&path) {
            return key;
        }
        let key = mynafleet_oqs_sim::generate_key().expect("generate RSA-2048 key");
        let dir = path.parent().expect("keys dir");
        std::fs::create_dir_all(dir).expect("make keys dir");
        let tmp = dir.join(format!(".key-{n}.{}.tmp", uuid::Uuid::new_v4()));
        std::fs::write(&tmp, &*key).expect("write key");
        std::fs::rename(&tmp, &path).expect("place key");
        key.to_vec()
    }

    /// Returns the directory of a card profile for `person` (issued once per run).
    pub fn card_profile(&self, person: u32, options: CardOptions) -> PathBuf {
        let variant = match (options.stranger_ca, options.expired) {
            (false, false) => "ok",
            (true, false) => "stranger",
            (false, true) => "expired",
            (true, true) => "stranger-expired",
        };
        let out = self.root.join("cards").join(format!("p{person}-{variant}"));
        if out.join("auth-cert.der").exists() {
            return out;
        }
        let ca_dir = if options.stranger_ca {
            self.root.join("stranger-ca")
        } else {
            self.ca_dir()
        };
        let mut req = mynafleet_oqs_sim::CardRequest::new(person, out.clone(), ca_dir);
        req.key_pkcs8 = Some(self.key(person % KEYS));
        req.pin = Some("1234".to_owned());
        if options.expired {
            let now = time::OffsetDateTime::now_utc();
            req.not_before = Some(now - time::Duration::days(5 * 365));
            req.not_after = Some(now - time::Duration::days(1));
        }
        match mynafleet_oqs_sim::issue_card(&req) {
            Ok(_) => out,
            // Another test process made it first.
            Err(_) if out.join("auth-cert.der").exists() => out,
            Err(e) => panic!("issue card profile {}: {e}", out.display()),
        }
    }

    /// Returns a software card for `person`.
    pub fn card(&self, person: u32, options: CardOptions) -> SoftwareCard {
        SoftwareCard::from_profile(&self.card_profile(person, options))
    }
}
