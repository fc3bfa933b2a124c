//! Driving the real `mynafleet admin` binary against a running suite: the account service's
//! config file that `admin bootstrap --config` reads (the suite's own database and key
//! files, so the CLI's bootstrap and the running service share the TOTP key), the CA file
//! the CLI trusts, and a runner with a deadline that feeds stdin and captures the output.

use crate::{DEADLINE, Suite, Target, binaries};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;

impl Suite {
    /// Writes the account service's TOML configuration into `dir` (`account.toml`, with
    /// throwaway TLS files beside it) and returns its path. It names the suite's account
    /// database and the key files in [`Suite::dir`].
    pub fn write_account_config(&self, dir: &Path) -> PathBuf {
        let certs = dir.join("account-certs");
        let pki = mynafleet_kit::tls::dev::DevPki::load_or_create(&certs).expect("throwaway CA");
        pki.service_identity("account")
            .expect("throwaway account identity");
        let s = |p: PathBuf| toml::Value::String(p.display().to_string());
        let mut tls = toml::Table::new();
        tls.insert("cert".into(), s(certs.join("account.pem")));
        tls.insert("key".into(), s(certs.join("account-key.pem")));
        tls.insert("service_ca".into(), s(certs.join("ca.pem")));
        let mut server = toml::Table::new();
        server.insert("listen".into(), toml::Value::String("127.0.0.1:0".into()));
        server.insert("production".into(), toml::Value::Boolean(false));
        server.insert(
            "database_url".into(),
            toml::Value::String(self.account_database_url().to_owned()),
        );
        server.insert("tls".into(), toml::Value::Table(tls));
        let mut keys = toml::Table::new();
        keys.insert("totp_key_file".into(), s(self.dir().join("totp.key")));
        keys.insert(
            "reference_key_file".into(),
            s(self.dir().join("reference.key")),
        );
        keys.insert(
            "audit_signing_key_file".into(),
            s(self.dir().join("audit-signing.key")),
        );
        let mut root = toml::Table::new();
        root.insert("server".into(), toml::Value::Table(server));
        root.insert("keys".into(), toml::Value::Table(keys));
        let path = dir.join("account.toml");
        std::fs::write(&path, toml::to_string(&root).expect("render account.toml"))
            .expect("write account.toml");
        path
    }
}

/// The `mynafleet admin` binary pointed at a suite's account service, with its own config
/// directory (session file) and working directory (sheet files).
#[derive(Debug)]
pub struct AdminCli {
    bin: PathBuf,
    endpoint: String,
    ca: PathBuf,
    /// Where the session file goes (`--config-dir`).
    pub config_dir: PathBuf,
    /// The working directory of every run; sheets land here.
    pub work_dir: PathBuf,
}

/// What one run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    /// The exit code (None when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with the output unless the run exited with `code`.
    pub fn expect_code(self, code: i32, what: &str) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl AdminCli {
    /// Returns a CLI for `suite`'s account service that keeps its files under `dir`.
    pub fn new(suite: &Suite, dir: &Path) -> Self {
        let ca = dir.join("suite-ca.pem");
        std::fs::write(&ca, suite.ca_pem()).expect("write the suite's CA");
        let work_dir = dir.join("work");
        std::fs::create_dir_all(&work_dir).expect("create work dir");
        Self {
            bin: binaries::path("mynafleet"),
            endpoint: suite.url(Target::Account),
            ca,
            config_dir: dir.join("config"),
            work_dir,
        }
    }

    /// Runs `mynafleet admin <args>` with `stdin` as its input, within [`DEADLINE`].
    pub async fn run(&self, args: &[&str], stdin: &str) -> Run {
        self.run_within(args, stdin, DEADLINE).await
    }

    /// Like [`AdminCli::run`] with a deadline of its own (long imports).
    pub async fn run_within(&self, args: &[&str], stdin: &str, deadline: Duration) -> Run {
        let mut child = tokio::process::Command::new(&self.bin)
            .arg("admin")
            .arg("--endpoint")
            .arg(&self.endpoint)
            .arg("--ca")
            .arg(&self.ca)
            .arg("--config-dir")
            .arg(&self.config_dir)
            .args(args)
            .current_dir(&self.work_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start mynafleet admin");
        let mut input = child.stdin.take().expect("piped stdin");
        input
            .write_all(stdin.as_bytes())
            .await
            .expect("write stdin");
        drop(input);
        let out = tokio::time::timeout(deadline, child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("mynafleet admin {args:?} did not finish in {deadline:?}"))
            .expect("wait for mynafleet admin");
        Run::from(out)
    }
}
