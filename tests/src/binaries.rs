//! Finding the workspace's binaries from a test: `CARGO_BIN_EXE_*` exists only for a test's
//! own package, so tests look beside their executable (`target/<profile>/`), where
//! `make test` builds them first.

use std::path::PathBuf;

/// Returns the path of the binary `name`, panicking with what to do when it is missing.
pub fn path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current test executable");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable lives in target/<profile>/deps");
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build --workspace --bins` (make test does)",
        bin.display()
    );
    bin
}
