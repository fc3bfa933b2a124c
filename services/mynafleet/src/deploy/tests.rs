use super::*;
use std::os::unix::fs::PermissionsExt as _;

fn args(out: &Path) -> InitArgs {
    InitArgs {
        out: out.to_owned(),
        dns: vec!["mynafleet.clinic.example".to_owned()],
        ip: vec!["10.1.2.3".parse().unwrap()],
        postgres: None,
        force: false,
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn sans(pem_path: &Path) -> (Vec<String>, Vec<String>, Vec<String>) {
    use x509_parser::extensions::GeneralName;
    let pem = std::fs::read(pem_path).unwrap();
    let (_, block) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let cert = block.parse_x509().unwrap();
    let san = cert.subject_alternative_name().unwrap().unwrap();
    let (mut uris, mut dns, mut ips) = (vec![], vec![], vec![]);
    for name in &san.value.general_names {
        match name {
            GeneralName::URI(u) => uris.push((*u).to_owned()),
            GeneralName::DNSName(d) => dns.push((*d).to_owned()),
            GeneralName::IPAddress(b) => ips.push(match b.len() {
                4 => std::net::IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()).to_string(),
                _ => std::net::IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()).to_string(),
            }),
            _ => {}
        }
    }
    (uris, dns, ips)
}

#[test]
fn init_writes_every_file_with_private_keys_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deploy");
    let layout = init(&args(&out)).unwrap();
    for path in layout.generated() {
        assert!(path.exists(), "{} was written", path.display());
    }
    for d in ["", "certs", "keys", "config", "data", "keys/jpki-test-ca"] {
        assert_eq!(mode(&out.join(d)), 0o700, "{d}/ is 0700");
    }
    let mut private = vec![
        "certs/ca-key.pem".to_owned(),
        "keys/device-ca-key.pem".to_owned(),
        "keys/totp.key".to_owned(),
        "keys/reference.key".to_owned(),
        "keys/audit-signing.key".to_owned(),
        "keys/challenge.key".to_owned(),
    ];
    for svc in SERVICES {
        private.push(format!("certs/{svc}-key.pem"));
        private.push(format!("config/{svc}.toml"));
    }
    for f in &private {
        assert_eq!(mode(&out.join(f)), 0o600, "{f} is 0600");
    }
    let reference = std::fs::read_to_string(out.join("keys/reference.key")).unwrap();
    assert_eq!(reference.trim().len(), 64, "64 hex digits");
    assert!(reference.trim().chars().all(|c| c.is_ascii_hexdigit()));
    let signing = std::fs::read_to_string(out.join("keys/audit-signing.key")).unwrap();
    assert!(
        signing.starts_with("-----BEGIN PRIVATE KEY-----"),
        "PKCS#8 PEM"
    );
}

#[test]
fn service_certificates_name_the_service_its_hosts_and_chain_to_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let layout = init(&args(dir.path())).unwrap();
    let ca = std::fs::read_to_string(layout.certs().join("ca.pem")).unwrap();
    for svc in SERVICES {
        let path = layout.certs().join(format!("{svc}.pem"));
        let (uris, dns, ips) = sans(&path);
        assert_eq!(uris, [format!("spiffe://mynafleet/service/{svc}")]);
        assert_eq!(dns, [svc, "localhost", "mynafleet.clinic.example"]);
        assert_eq!(ips, ["127.0.0.1", "10.1.2.3"]);
        let chain = std::fs::read_to_string(&path).unwrap();
        assert!(
            chain.ends_with(&ca),
            "{svc}.pem ends with the CA certificate"
        );
    }
    let device_ca = std::fs::read_to_string(layout.certs().join("device-ca.pem")).unwrap();
    let subject = |pem: &str| {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        block.parse_x509().unwrap().subject().to_string()
    };
    assert_ne!(subject(&ca), subject(&device_ca), "distinct CA subjects");
}

#[test]
fn init_refuses_to_overwrite_without_force_and_replaces_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let layout = init(&args(dir.path())).unwrap();
    let key = layout.keys().join("totp.key");
    let before = std::fs::read_to_string(&key).unwrap();
    let err = init(&args(dir.path())).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), before, "untouched");

    let forced = InitArgs {
        force: true,
        ..args(dir.path())
    };
    init(&forced).unwrap();
    assert_ne!(std::fs::read_to_string(&key).unwrap(), before, "replaced");
    assert_eq!(mode(&key), 0o600);
}

#[test]
fn a_lone_existing_file_is_enough_to_refuse() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(dir.path().join("config/oqs-sim.toml"), "# mine\n").unwrap();
    let err = init(&args(dir.path())).unwrap_err().to_string();
    assert!(err.contains("oqs-sim.toml"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("config/oqs-sim.toml")).unwrap(),
        "# mine\n"
    );
}

#[test]
fn the_configs_load_as_serve_reads_them() {
    use mynafleet_kit::config::load;
    let dir = tempfile::tempdir().unwrap();
    let layout = init(&args(dir.path())).unwrap();
    let none = "MYNAFLEET_DEPLOY_TEST_NOTHING_";
    let account: mynafleet_account::FileConfig = load(&layout.config("account"), none).unwrap();
    assert!(account.server.production);
    assert_eq!(account.server.listen.to_string(), "127.0.0.1:7501");
    let account = account.into_config().unwrap();
    assert!(account.database_url.starts_with("sqlite://"));
    assert!(account.database_url.contains("/data/account.db"));
    assert_eq!(
        account.sheet.activation_endpoint,
        "mynafleet.clinic.example:7502"
    );

    let activation: mynafleet_activation::FileConfig =
        load(&layout.config("activation"), none).unwrap();
    assert_eq!(activation.server.listen.to_string(), "0.0.0.0:7502");
    let activation = activation.into_config().unwrap();
    assert_eq!(
        activation.proxy_urls,
        ["https://mynafleet.clinic.example:7503"]
    );
    assert_eq!(activation.account_url, "https://localhost:7501");

    let proxy: mynafleet_eligibility_proxy::FileConfig =
        load(&layout.config("eligibility-proxy"), none).unwrap();
    assert!(
        !proxy.server.production,
        "test roots need production = false"
    );
    let proxy = proxy.into_config().unwrap();
    assert_eq!(proxy.trust.test_roots.len(), 1);

    let oqs: mynafleet_oqs_sim::FileConfig = load(&layout.config("oqs-sim"), none).unwrap();
    assert_eq!(oqs.server.listen.to_string(), "127.0.0.1:7504");
    assert_eq!(oqs.into_config().unwrap().jpki_dir, layout.jpki_test_ca());
}

#[test]
fn postgres_databases_are_one_per_service_on_the_given_server() {
    let dbs =
        Databases::postgres("postgres://mynafleet:pw@127.0.0.1:5432/?sslmode=disable").unwrap();
    let layout = Layout {
        root: PathBuf::from("/srv/mynafleet"),
        postgres: true,
    };
    assert_eq!(
        dbs.url(&layout, "eligibility-proxy"),
        "postgres://mynafleet:pw@127.0.0.1:5432/mynafleet_eligibility_proxy?sslmode=disable"
    );
    assert_eq!(
        Databases::postgres("postgresql://db.internal")
            .unwrap()
            .url(&layout, "account"),
        "postgresql://db.internal/mynafleet_account"
    );
    let err = Databases::postgres("postgres://db.internal/mynafleet")
        .unwrap_err()
        .to_string();
    assert!(err.contains("names a database"), "{err}");
    assert!(Databases::postgres("mysql://db").is_err());
    assert_eq!(dbs.user().as_deref(), Some("mynafleet"));
    assert_eq!(
        Databases::postgres("postgres://db:5432").unwrap().user(),
        None
    );
}

#[test]
fn without_hosts_everything_listens_on_loopback() {
    let hosts = Hosts::new(&[], &[]).unwrap();
    let layout = Layout {
        root: PathBuf::from("/srv/mynafleet"),
        postgres: false,
    };
    for svc in SERVICES {
        let text = configs::render(svc, &layout, &hosts, &Databases::Sqlite);
        let listen = format!("listen = \"127.0.0.1:{}\"", configs::ports(svc).0);
        assert!(text.contains(&listen), "{svc}: {text}");
    }
    assert!(Hosts::new(&["bad name".to_owned()], &[]).is_err());
}

#[test]
fn toml_strings_are_escaped() {
    assert_eq!(configs::quote(r#"a"b\c"#), r#""a\"b\\c""#);
    assert_eq!(configs::quote("x\ny"), r#""x\u000Ay""#);
}
