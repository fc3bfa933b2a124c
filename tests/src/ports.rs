//! Ports for servers a test starts later than it names them (separate `serve` processes, a
//! proxy that comes up after its agent): taken from below Linux's ephemeral range
//! (32768–60999), so no test that binds port 0 can be handed one between the check here and
//! the server's own bind. Never a port a test holds bound; a bound listener is handed over
//! wherever the server can take one.

use std::collections::HashSet;

/// Where the ports come from.
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// Returns the lock that keeps cluster tests (each in its own process under nextest) from
/// picking ports at the same time or taking a killed node's port before it restarts; the
/// caller holds it for the cluster's life.
pub fn lock() -> std::fs::File {
    let path = std::env::temp_dir().join("mynafleet-cluster-ports.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
    file
}

/// Returns a port that is free now and not among `taken`, and adds it there.
pub fn free(taken: &mut HashSet<u16>) -> u16 {
    let span = u128::from(PORTS.end - PORTS.start);
    loop {
        let offset = u16::try_from(uuid::Uuid::new_v4().as_u128() % span).unwrap_or(0);
        let port = PORTS.start + offset;
        if !taken.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            taken.insert(port);
            return port;
        }
    }
}
