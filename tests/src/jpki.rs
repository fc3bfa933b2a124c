//! The test JPKI hierarchy shared by every test of a run: oqs-sim's test CA and a pool of
//! RSA-2048 keys, made once under `target/test-jpki/` (key generation is slow in debug
//! builds) and reused by every test process.

use std::path::PathBuf;

/// The shared fixture.
#[derive(Clone, Debug)]
pub struct Fixture {
    root: PathBuf,
}

/// Returns the fixture, creating it when missing.
pub fn fixture() -> Fixture {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/e2e-… → target/test-jpki
    let target = exe
        .ancestors()
        .nth(3)
        .expect("test executable under target/<profile>/deps")
        .to_owned();
    Fixture {
        root: target.join("test-jpki"),
    }
}

impl Fixture {
    /// The test CA's directory, as oqs-sim's `jpki_dir`.
    pub fn ca_dir(&self) -> PathBuf {
        self.root.join("ca")
    }
}
