//! The container configurations in deploy/ (Kubernetes and compose) are read by the same
//! code `mynafleet serve` uses, so a misspelt or removed key fails here rather than in a
//! crash-looping pod. Files they name are checked by scripts/check-deploy.sh, where the
//! manifests are rendered.

use mynafleet_kit::config::load;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(path)
}

/// Loads `path` as `mynafleet serve` would, with a variable prefix nothing sets.
fn parse<T: DeserializeOwned>(path: &str) -> T {
    let file = deploy(path);
    load(&file, "MYNAFLEET_DEPLOY_CONFIG_TEST_UNSET_")
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn under(path: &Path, dir: &str) {
    assert!(
        path.starts_with(dir),
        "{} should be under {dir} (the containers' mount)",
        path.display()
    );
}

fn tls_in_mounts(tls: &mynafleet_kit::config::TlsFiles) {
    for p in [&tls.cert, &tls.key, &tls.service_ca]
        .into_iter()
        .chain(tls.device_ca.as_ref())
    {
        under(p, "/etc/mynafleet/certs");
    }
}

#[test]
fn deploy_container_configs_are_accepted_by_serve() {
    let account: mynafleet_account::FileConfig = parse("config/account.toml");
    assert_eq!(account.server.listen.port(), 7501);
    assert!(account.server.production);
    tls_in_mounts(&account.server.tls);
    for key in [
        &account.keys.totp_key_file,
        &account.keys.reference_key_file,
        &account.keys.audit_signing_key_file,
    ] {
        under(key, "/etc/mynafleet/keys");
    }

    let activation: mynafleet_activation::FileConfig = parse("config/activation.toml");
    assert_eq!(activation.server.listen.port(), 7502);
    assert!(activation.server.production);
    tls_in_mounts(&activation.server.tls);
    under(&activation.device_ca.key, "/etc/mynafleet/keys");
    assert_eq!(activation.peers.account_url, "https://account:7501");

    let proxy: mynafleet_eligibility_proxy::FileConfig = parse("config/eligibility-proxy.toml");
    assert_eq!(proxy.server.listen.port(), 7503);
    // The demo trusts oqs-sim's test JPKI CA, which production mode refuses.
    assert!(!proxy.server.production);
    assert!(!proxy.jpki.test_roots.is_empty());
    tls_in_mounts(&proxy.server.tls);
    assert_eq!(proxy.peers.activation_url, "https://activation:7502");
    assert_eq!(proxy.peers.account_url, "https://account:7501");

    let sim: mynafleet_oqs_sim::FileConfig = parse("config/oqs-sim.toml");
    assert_eq!(sim.server.listen.port(), 7504);
    tls_in_mounts(&sim.server.tls);
    // The proxy's test root is the simulator's CA.
    let jpki_dir = sim.jpki_dir.expect("oqs-sim names its jpki_dir");
    assert_eq!(proxy.jpki.test_roots, vec![jpki_dir.join("ca.pem")]);

    let production: mynafleet_eligibility_proxy::FileConfig =
        parse("kubernetes/overlays/production/eligibility-proxy.toml");
    assert!(production.server.production);
    assert!(production.jpki.test_roots.is_empty());
    assert!(!production.jpki.roots.is_empty());
    tls_in_mounts(&production.server.tls);
}
