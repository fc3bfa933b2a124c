//! PEM files a person names on the command line (`--ca`, `--cert`, `--key`, or the paths a
//! session or endpoints.json remembers), read into client TLS settings; an unreadable file is
//! named with what it was for. Never prints what a file holds.

use anyhow::Context as _;
use mynafleet_kit::tls::{ClientTls, TlsIdentity};
use std::path::Path;

/// Returns the text of `path`, or an error naming `what` it is and where.
pub(crate) fn read(path: &Path, what: &str) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("read {what} {}", path.display()))
}

/// Returns client TLS settings that trust the CA certificate in `ca` and present `identity`
/// (certificate chain, private key) when one is given.
pub(crate) fn client_tls(ca: &Path, identity: Option<(&Path, &Path)>) -> anyhow::Result<ClientTls> {
    Ok(ClientTls {
        server_ca_pem: read(ca, "CA certificate")?,
        identity: match identity {
            Some((cert, key)) => Some(TlsIdentity {
                cert_pem: read(cert, "client certificate")?,
                key_pem: read(key, "client key")?,
            }),
            None => None,
        },
    })
}
