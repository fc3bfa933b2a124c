//! Test fixtures shared by the crate's unit tests: one test CA and one RSA key for every test
//! process of a machine (nextest runs each test in its own process and key generation is
//! slow), kept under the system temp directory and created race-safely.

use crate::config::Faults;
use crate::jpki::{self, TestCa};
use crate::population::People;
use crate::sim::Sim;
use mynafleet_kit::clock::Clock;
use std::path::PathBuf;
use std::sync::OnceLock;

fn root() -> PathBuf {
    std::env::temp_dir().join("mynafleet-oqs-sim-unit-tests")
}

/// Returns the shared RSA-2048 key (PKCS#8 DER).
pub(crate) fn shared_key() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let path = root().join("key.pk8");
        if let Ok(k) = std::fs::read(&path) {
            return k;
        }
        std::fs::create_dir_all(root()).unwrap();
        let key = jpki::generate_key().unwrap().to_vec();
        let tmp = root().join(format!(".key-{}.tmp", uuid::Uuid::new_v4()));
        std::fs::write(&tmp, &key).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        std::fs::read(&path).unwrap()
    })
}

/// Returns the shared test CA's directory.
pub(crate) fn ca_dir() -> PathBuf {
    root().join("ca")
}

/// Returns the shared test CA.
pub(crate) fn ca() -> TestCa {
    jpki::load_or_create(&ca_dir()).unwrap()
}

/// Returns an engine over the first 200 people of the default seed, on `clock`.
pub(crate) fn sim(clock: Clock, faults: &Faults) -> Sim {
    let people = People::generate(crate::Population::DEFAULT_SEED, 200);
    Sim::with(people, ca(), clock, faults)
}
