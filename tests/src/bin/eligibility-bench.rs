//! Load generator for card checks (issue #5, BENCHMARKS.md): card checks per second and
//! latency through the eligibility proxy versus the same query made directly to oqs-sim,
//! measured in the same run against the same server process.
//!
//! `eligibility-bench` starts itself as a child (`eligibility-bench serve`), which runs every
//! service in one process (SQLite, durable: WAL + synchronous=FULL), activates one terminal
//! and writes what the load generator needs. The parent then runs rounds of the two phases
//! and reads the child's CPU time from `/proc/<pid>/stat` around each, so the figures are
//! server CPU per operation beside the wall-clock rate. The card's RSA-2048 signature is made
//! by the load generator with ring (as a card would, off the server), and reported apart.
//!
//! Run: `cargo run --release -p mynafleet-tests --bin eligibility-bench -- --seconds 10`.

use anyhow::Context as _;
use clap::Parser;
use mynafleet_kit::tls::{ClientTls, TlsIdentity};
use mynafleet_proto::eligibility::v1 as pb;
use mynafleet_proto::oqs::v1 as oqs_pb;
use mynafleet_proto::tonic::transport::Channel;
use mynafleet_tests::bench::{cpu_micros, peak_rss_kib};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Card checks through the proxy vs direct oqs-sim calls")]
struct Args {
    /// `serve` runs the services (internal; the parent starts it).
    mode: Option<String>,
    /// Seconds per phase and round.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Rounds (the median is reported, with min and max).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Where the child writes its hand-over file.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// What the server child hands to the load generator.
#[derive(Serialize, Deserialize, Debug)]
struct Ready {
    proxy_url: String,
    oqs_url: String,
    ca_pem: String,
    device: TlsIdentityFiles,
    service: TlsIdentityFiles,
    card_certificate_der: Vec<u8>,
    card_key_pkcs8: Vec<u8>,
    institution_code: String,
}

#[derive(Serialize, Deserialize, Debug)]
struct TlsIdentityFiles {
    cert_pem: String,
    key_pem: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.mode.as_deref() {
        Some("serve") => rt.block_on(serve(args.dir.context("serve needs --dir")?)),
        None => rt.block_on(run(&args)),
        Some(other) => anyhow::bail!("unknown mode {other:?}; run without arguments"),
    }
}

/// The child: every service in one process, one activated terminal, a card.
async fn serve(dir: PathBuf) -> anyhow::Result<()> {
    use mynafleet_proto::account::v1 as account_pb;
    use mynafleet_tests::{Suite, SuiteOptions, Target, jpki};
    let suite = Suite::start_with(SuiteOptions::default()).await;
    let admin = suite.org_admin("ベンチ医療グループ", "bench-admin").await;
    let clinic = suite
        .clinic(&admin, "3410712362", "ベンチ内科", false)
        .await;
    let account = suite
        .device_account(&admin, &clinic, account_pb::Privilege::General)
        .await;
    let code = suite.issue_code(&admin, &account).await;
    let terminal = suite.activate_terminal(&account, &code).await;
    let profile = jpki::fixture().card_profile(0, jpki::CardOptions::default());
    let service = suite.service_identity("e2e-tests");
    let ready = Ready {
        proxy_url: suite.url(Target::EligibilityProxy),
        oqs_url: suite.url(Target::OqsSim),
        ca_pem: suite.ca_pem().to_owned(),
        device: TlsIdentityFiles {
            cert_pem: terminal.reply.certificate_pem.clone(),
            key_pem: terminal.key.key_pem.clone(),
        },
        service: TlsIdentityFiles {
            cert_pem: service.cert_pem,
            key_pem: service.key_pem,
        },
        card_certificate_der: std::fs::read(profile.join("auth-cert.der"))?,
        card_key_pkcs8: std::fs::read(profile.join("auth-key.pk8"))?,
        institution_code: clinic.institution_code.clone(),
    };
    let tmp = dir.join("ready.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&ready)?)?;
    std::fs::rename(&tmp, dir.join("ready.json"))?;
    // Runs until the parent closes stdin.
    let mut stdin = tokio::io::stdin();
    let mut sink = Vec::new();
    let _ = tokio::io::AsyncReadExt::read_to_end(&mut stdin, &mut sink).await;
    suite.stop().await
}

async fn wait_ready(dir: &Path, child: &mut tokio::process::Child) -> anyhow::Result<Ready> {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        if let Ok(bytes) = std::fs::read(dir.join("ready.json")) {
            return Ok(serde_json::from_slice(&bytes)?);
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the server child exited early: {status}");
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the server child never got ready"
        );
    }
}

fn channel(ready: &Ready, url: &str, id: &TlsIdentityFiles) -> anyhow::Result<Channel> {
    Ok(ClientTls {
        server_ca_pem: ready.ca_pem.clone(),
        identity: Some(TlsIdentity {
            cert_pem: id.cert_pem.clone(),
            key_pem: id.key_pem.clone(),
        }),
    }
    .lazy_channel(url, Duration::from_secs(30))?)
}

/// One phase's figures.
#[derive(Debug, Clone, Copy)]
struct Figures {
    ops_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    server_cpu_us_per_op: f64,
    client_sign_ms_per_op: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// Runs `concurrency` workers doing `op` for `seconds`; latencies are what `op` returns.
async fn phase<F, Fut>(pid: u32, seconds: u64, concurrency: usize, op: F) -> anyhow::Result<Figures>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<(Duration, Duration)>> + Send,
{
    let cpu_before = cpu_micros(pid)?;
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let op = op.clone();
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut signing = Duration::ZERO;
            while Instant::now() < end {
                let (latency, sign) = op().await?;
                latencies.push(latency);
                signing += sign;
            }
            anyhow::Ok((latencies, signing))
        });
    }
    let mut all = Vec::new();
    let mut signing = Duration::ZERO;
    while let Some(joined) = workers.join_next().await {
        let (l, s) = joined??;
        all.extend(l);
        signing += s;
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_micros(pid)? - cpu_before;
    all.sort_unstable();
    let n = all.len().max(1) as f64;
    Ok(Figures {
        ops_per_sec: all.len() as f64 / wall,
        p50_ms: percentile(&all, 0.50),
        p99_ms: percentile(&all, 0.99),
        server_cpu_us_per_op: cpu as f64 / n,
        client_sign_ms_per_op: signing.as_secs_f64() * 1000.0 / n,
    })
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(exe)
        .arg("serve")
        .arg("--dir")
        .arg(dir.path())
        .stdin(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("start the server child")?;
    let pid = child.id().context("child pid")?;
    let ready = std::sync::Arc::new(wait_ready(dir.path(), &mut child).await?);
    let device = channel(&ready, &ready.proxy_url, &ready.device)?;
    let service = channel(&ready, &ready.oqs_url, &ready.service)?;
    let key = std::sync::Arc::new(
        ring::signature::RsaKeyPair::from_pkcs8(&ready.card_key_pkcs8)
            .map_err(|e| anyhow::anyhow!("card key: {e}"))?,
    );

    let direct = {
        let ready = ready.clone();
        move || {
            let mut sim = oqs_pb::oqs_service_client::OqsServiceClient::new(service.clone());
            let ready = ready.clone();
            async move {
                let t = Instant::now();
                sim.query_by_card(oqs_pb::QueryByCardRequest {
                    medical_institution_code: ready.institution_code.clone(),
                    qualification_confirmation_date: "20261121".to_owned(),
                    auth_certificate: ready.card_certificate_der.clone(),
                    consents: None,
                    arbitrary_file_identifier: "MFBENCH".to_owned(),
                })
                .await?;
                Ok((t.elapsed(), Duration::ZERO))
            }
        }
    };
    let proxied = {
        let ready = ready.clone();
        move || {
            let mut proxy =
                pb::eligibility_service_client::EligibilityServiceClient::new(device.clone());
            let ready = ready.clone();
            let key = key.clone();
            async move {
                let t = Instant::now();
                let begun = proxy
                    .begin_card_check(pb::BeginCardCheckRequest {})
                    .await?
                    .into_inner();
                let s = Instant::now();
                let mut signature = vec![0; key.public().modulus_len()];
                key.sign(
                    &ring::signature::RSA_PKCS1_SHA256,
                    &ring::rand::SystemRandom::new(),
                    &begun.challenge,
                    &mut signature,
                )
                .map_err(|e| anyhow::anyhow!("sign: {e}"))?;
                let signing = s.elapsed();
                let check = proxy
                    .complete_card_check(pb::CompleteCardCheckRequest {
                        challenge_id: begun.challenge_id,
                        auth_certificate: ready.card_certificate_der.clone(),
                        signature,
                        identity_method: pb::IdentityMethod::Pin as i32,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                anyhow::ensure!(
                    check
                        .check
                        .is_some_and(|c| c.verdict() == pb::Verdict::Eligible),
                    "a check did not come back eligible"
                );
                Ok((t.elapsed() - signing, signing))
            }
        }
    };

    // Warm-up: connections, caches, JIT-free but page cache and allocator.
    phase(pid, 2, args.concurrency, direct.clone()).await?;
    phase(pid, 2, args.concurrency, proxied.clone()).await?;
    let mut d_runs = Vec::new();
    let mut p_runs = Vec::new();
    for _ in 0..args.rounds {
        d_runs.push(phase(pid, args.seconds, args.concurrency, direct.clone()).await?);
        p_runs.push(phase(pid, args.seconds, args.concurrency, proxied.clone()).await?);
    }
    let rss = peak_rss_kib(pid);
    drop(child.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;

    let pick = |runs: &[Figures], f: fn(&Figures) -> f64| median(runs.iter().map(f).collect());
    let show = |name: &str, f: fn(&Figures) -> f64| {
        let (dm, dmin, dmax) = pick(&d_runs, f);
        let (pm, pmin, pmax) = pick(&p_runs, f);
        println!(
            "| {name} | {dm:.2} ({dmin:.2}–{dmax:.2}) | {pm:.2} ({pmin:.2}–{pmax:.2}) | {:.2} |",
            pm / dm
        );
    };
    println!(
        "eligibility-bench: {} rounds × {} s, {} clients, {} cores",
        args.rounds,
        args.seconds,
        args.concurrency,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!("| figure (median, min–max) | direct oqs-sim | through the proxy | ratio |");
    println!("|---|---|---|---|");
    show("checks/s (wall clock)", |f| f.ops_per_sec);
    show("p50 latency ms", |f| f.p50_ms);
    show("p99 latency ms", |f| f.p99_ms);
    show("server CPU µs per check", |f| f.server_cpu_us_per_op);
    let (cpu_d, _, _) = pick(&d_runs, |f| f.server_cpu_us_per_op);
    let (cpu_p, _, _) = pick(&p_runs, |f| f.server_cpu_us_per_op);
    let (p99_d, _, _) = pick(&d_runs, |f| f.p99_ms);
    let (p99_p, _, _) = pick(&p_runs, |f| f.p99_ms);
    let (sign, _, _) = pick(&p_runs, |f| f.client_sign_ms_per_op);
    println!();
    println!(
        "server CPU per check: {cpu_p:.0} µs through the proxy ({cpu_d:.0} µs of it the direct query), \
         implying {:.0} checks/s per core and {:.0} on 2 cores",
        1e6 / cpu_p,
        2e6 / cpu_p
    );
    println!("added p99 latency: {:.2} ms", p99_p - p99_d);
    println!("load generator RSA signing: {sign:.3} ms per check (ring), not server time");
    if let Some(kib) = rss {
        println!("server peak RSS: {} MiB", kib / 1024);
    }
    Ok(())
}
