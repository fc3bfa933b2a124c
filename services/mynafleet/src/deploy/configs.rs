//! The four configuration files `deploy init` writes: TOML text with comments, every path
//! absolute into the output directory, default ports 7501–7504, services reaching each
//! other on `localhost`. Only renders text; never reads or writes a file.

use super::Layout;
use anyhow::bail;
use std::fmt::Write as _;
use std::net::IpAddr;

/// Where the services keep their data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Databases {
    /// SQLite files under `DIR/data/`.
    Sqlite,
    /// One database per service on this PostgreSQL server (URL without a database name;
    /// `rest` is the query string, if any, `?…`).
    Postgres {
        /// `postgres://user[:password]@host:port`.
        server: String,
        /// `?sslmode=…` or empty.
        rest: String,
    },
}

impl Databases {
    /// The PostgreSQL databases, by service: account, activation, eligibility-proxy.
    pub const NAMES: [&str; 3] = [
        "mynafleet_account",
        "mynafleet_activation",
        "mynafleet_eligibility_proxy",
    ];

    /// Parses a PostgreSQL server URL such as `postgres://mynafleet@127.0.0.1:5432`.
    pub fn postgres(url: &str) -> anyhow::Result<Self> {
        let url = url.trim();
        let Some((scheme, after)) = url.split_once("://") else {
            bail!("--postgres {url:?} is not a URL like postgres://mynafleet@127.0.0.1:5432");
        };
        if scheme != "postgres" && scheme != "postgresql" {
            bail!("--postgres must be a postgres:// URL (got {scheme}://)");
        }
        let (main, query) = match after.split_once('?') {
            Some((m, q)) => (m, format!("?{q}")),
            None => (after, String::new()),
        };
        let authority = match main.split_once('/') {
            Some((a, "")) => a,
            Some((_, db)) => bail!(
                "--postgres names a database ({db}); give the server only, e.g. \
                 postgres://mynafleet@127.0.0.1:5432 (each service gets mynafleet_<service>)"
            ),
            None => main,
        };
        if authority.is_empty() {
            bail!("--postgres {url:?} names no host");
        }
        Ok(Self::Postgres {
            server: format!("{scheme}://{authority}"),
            rest: query,
        })
    }

    /// Returns the PostgreSQL role the URL logs in as, if it names one.
    pub fn user(&self) -> Option<String> {
        let Databases::Postgres { server, .. } = self else {
            return None;
        };
        let authority = server.split_once("://").map_or(server.as_str(), |(_, a)| a);
        let (userinfo, _) = authority.rsplit_once('@')?;
        let user = userinfo.split(':').next().unwrap_or_default();
        (!user.is_empty()).then(|| user.to_owned())
    }

    /// Returns the database URL of `service` (account, activation, eligibility-proxy).
    pub fn url(&self, layout: &Layout, service: &str) -> String {
        match self {
            Databases::Sqlite => {
                mynafleet_kit::db::sqlite_file_url(&layout.data().join(format!("{service}.db")))
            }
            Databases::Postgres { server, rest } => {
                format!("{server}/mynafleet_{}{rest}", service.replace('-', "_"))
            }
        }
    }
}

/// The names clients use for the services.
#[derive(Clone, Debug, Default)]
pub struct Hosts {
    dns: Vec<String>,
    ips: Vec<IpAddr>,
}

impl Hosts {
    /// Checks `dns` names (letters, digits, `-`, `.`; `*.` allowed first).
    pub fn new(dns: &[String], ips: &[IpAddr]) -> anyhow::Result<Self> {
        for name in dns {
            let bare = name.strip_prefix("*.").unwrap_or(name);
            let ok = !bare.is_empty()
                && bare.len() <= 253
                && bare.split('.').all(|l| {
                    !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                });
            if !ok {
                bail!("--dns {name:?} is not a DNS name");
            }
        }
        Ok(Self {
            dns: dns.iter().map(|d| d.to_ascii_lowercase()).collect(),
            ips: ips.to_vec(),
        })
    }

    /// Whether terminals reach the services from other machines (any `--dns` or `--ip`).
    pub fn exposed(&self) -> bool {
        !self.dns.is_empty() || !self.ips.is_empty()
    }

    /// The host terminals are told to use: the first `--dns`, else the first `--ip`, else
    /// `localhost`.
    pub fn public(&self) -> String {
        match (self.dns.first(), self.ips.first()) {
            (Some(d), _) => d.clone(),
            (None, Some(IpAddr::V6(ip))) => format!("[{ip}]"),
            (None, Some(ip)) => ip.to_string(),
            (None, None) => "localhost".to_owned(),
        }
    }

    /// The SANs of `service`'s certificate: its name, `localhost`, each `--dns`,
    /// `127.0.0.1` and each `--ip`, without repeats.
    pub fn certificate_names(&self, service: &str) -> Vec<String> {
        let mut names: Vec<String> = vec![service.to_owned(), "localhost".to_owned()];
        names.extend(self.dns.iter().cloned());
        names.push("127.0.0.1".to_owned());
        names.extend(self.ips.iter().map(IpAddr::to_string));
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(n.clone()));
        names
    }
}

/// Default ports of `serve` (gRPC, metrics) by service.
pub(super) fn ports(service: &str) -> (u16, u16) {
    match service {
        "account" => (7501, 9501),
        "activation" => (7502, 9502),
        "eligibility-proxy" => (7503, 9503),
        _ => (7504, 9504),
    }
}

/// Quotes `s` as a TOML basic string.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn path(p: &std::path::Path) -> String {
    quote(&p.display().to_string())
}

fn local(port: u16) -> String {
    format!("https://localhost:{port}")
}

/// Renders `service`'s configuration file.
pub(super) fn render(service: &str, layout: &Layout, hosts: &Hosts, dbs: &Databases) -> String {
    let (port, metrics_port) = ports(service);
    let facing_terminals = matches!(service, "activation" | "eligibility-proxy");
    let bind = if facing_terminals && hosts.exposed() {
        "0.0.0.0"
    } else {
        "127.0.0.1"
    };
    let certs = layout.certs();
    let keys = layout.keys();
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# {service}: written by `mynafleet deploy init`. Run it with\n\
         #   mynafleet serve {service} --config {}\n\
         # Every key is described in docs/configuration.md; operations in docs/operations.md.\n\
         # MYNAFLEET_{}_<SECTION>__<KEY> variables override this file.\n",
        layout.config(service).display(),
        service.to_uppercase().replace('-', "_"),
    );
    if service == "oqs-sim" {
        // Top-level keys come before the first table.
        let _ = writeln!(
            t,
            "# The simulator's test JPKI CA: the proxy trusts its ca.pem as a test root.\n\
             jpki_dir = {}\n",
            path(&layout.jpki_test_ca())
        );
    }
    let _ = writeln!(t, "[server]");
    let _ = writeln!(t, "listen = {}", quote(&format!("{bind}:{port}")));
    if super::METRICS_LISTEN {
        let _ = writeln!(
            t,
            "metrics_listen = {}  # Prometheus: GET /metrics",
            quote(&format!("127.0.0.1:{metrics_port}"))
        );
    }
    match service {
        "eligibility-proxy" => {
            let _ = writeln!(
                t,
                "# false: the proxy accepts the cards of oqs-sim's test JPKI CA ([jpki] test_roots).\n\
                 # Going live: set true, list the J-LIS roots in [jpki] roots and remove test_roots."
            );
            let _ = writeln!(t, "production = false");
        }
        "oqs-sim" => {
            let _ = writeln!(
                t,
                "production = false  # a simulator, never part of production"
            );
        }
        _ => {
            let _ = writeln!(t, "production = true");
        }
    }
    if service != "oqs-sim" {
        let _ = writeln!(t, "database_url = {}", quote(&dbs.url(layout, service)));
    }
    let _ = writeln!(t, "\n[server.tls]");
    let _ = writeln!(
        t,
        "cert = {}  # leaf + internal CA",
        path(&certs.join(format!("{service}.pem")))
    );
    let _ = writeln!(
        t,
        "key = {}",
        path(&certs.join(format!("{service}-key.pem")))
    );
    let _ = writeln!(t, "service_ca = {}", path(&certs.join("ca.pem")));
    if facing_terminals {
        let _ = writeln!(t, "device_ca = {}", path(&certs.join("device-ca.pem")));
    }
    match service {
        "account" => {
            let _ = writeln!(t, "\n[keys]");
            let _ = writeln!(t, "totp_key_file = {}", path(&keys.join("totp.key")));
            let _ = writeln!(
                t,
                "reference_key_file = {}  # the same file as the proxy's",
                path(&keys.join("reference.key"))
            );
            let _ = writeln!(
                t,
                "audit_signing_key_file = {}",
                path(&keys.join("audit-signing.key"))
            );
            let _ = writeln!(t, "\n[sheet]");
            let _ = writeln!(
                t,
                "activation_endpoint = {}  # printed on ユーザ設定情報 sheets",
                quote(&format!("{}:{}", hosts.public(), ports("activation").0))
            );
            let _ = writeln!(t, "\n[peers]");
            let _ = writeln!(
                t,
                "activation_url = {}",
                quote(&local(ports("activation").0))
            );
            let _ = writeln!(
                t,
                "\n[audit]\n# 0 keeps every record; in production anything else must be at least 1827 (five years).\n\
                 retention_days = 0"
            );
        }
        "activation" => {
            let _ = writeln!(t, "\n[peers]");
            let _ = writeln!(t, "account_url = {}", quote(&local(ports("account").0)));
            let _ = writeln!(
                t,
                "# Handed to terminals in the Activate reply: where they reach the proxies.\n\
                 proxy_urls = [{}]",
                quote(&format!(
                    "https://{}:{}",
                    hosts.public(),
                    ports("eligibility-proxy").0
                ))
            );
            let _ = writeln!(t, "\n[device_ca]");
            let _ = writeln!(t, "cert = {}", path(&certs.join("device-ca.pem")));
            let _ = writeln!(t, "key = {}", path(&keys.join("device-ca-key.pem")));
        }
        "eligibility-proxy" => {
            let _ = writeln!(t, "\n[peers]");
            let _ = writeln!(
                t,
                "activation_url = {}",
                quote(&local(ports("activation").0))
            );
            let _ = writeln!(t, "account_url = {}", quote(&local(ports("account").0)));
            let _ = writeln!(t, "\n[keys]");
            let _ = writeln!(
                t,
                "reference_key_file = {}  # the same file as the account service's",
                path(&keys.join("reference.key"))
            );
            let _ = writeln!(
                t,
                "challenge_key_file = {}  # every replica shares it",
                path(&keys.join("challenge.key"))
            );
            let _ = writeln!(t, "\n[jpki]");
            let _ = writeln!(
                t,
                "roots = []  # J-LIS auth CA roots (authca02.pem, authca03.pem) when going live"
            );
            let _ = writeln!(
                t,
                "test_roots = [{}]",
                path(&layout.jpki_test_ca().join("ca.pem"))
            );
            let _ = writeln!(t, "\n[upstream]");
            let _ = writeln!(t, "kind = \"simulator\"");
            let _ = writeln!(t, "url = {}", quote(&local(ports("oqs-sim").0)));
        }
        _ => {}
    }
    t
}
