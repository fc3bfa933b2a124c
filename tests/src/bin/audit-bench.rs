//! Benchmark of the audit chain's append (issue #7, BENCHMARKS.md): durable chained appends
//! per second through the account store's ingest (seq, previous hash and hash assigned under
//! the chain row's lock, the record inserted, the head moved, one commit per batch) versus raw
//! batched inserts of the same records, in the same batches, into a plain table of the same
//! columns in the same database file — measured in the same run, rounds alternating which goes
//! first.
//!
//! Durability is the store's own: SQLite in WAL mode with `synchronous=FULL` (kit::db), so a
//! batch is on disk when its commit returns. `--database-url postgres://…` measures a
//! PostgreSQL server instead (its `fsync`/`synchronous_commit` are printed; the test cluster
//! of TOOLCHAIN.md runs with fsync off and is not for figures).
//!
//! After each round's appends, a patient search (`store::audit_log::search` by the keyed
//! patient reference, first page of 50, as `ListAuditRecords` runs it) over that round's
//! records is timed with the `audit_records_by_patient` index and with it dropped, in the same
//! database, alternating which goes first.
//!
//! Run: `cargo run --release -p mynafleet-tests --bin audit-bench -- --records 50000`.

use anyhow::Context as _;
use clap::Parser;
use mynafleet_account::OrganizationId;
use mynafleet_account::store::audit_log::{self, StoredRecord};
use mynafleet_kit::db::Placeholders;
use mynafleet_tests::bench::cpu_micros;
use sqlx::AnyPool;
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(about = "Durable chained audit appends vs raw batched inserts")]
struct Args {
    /// Records per phase and round.
    #[arg(long, default_value_t = 50_000)]
    records: usize,
    /// Records per transaction (both phases).
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Rounds (the median is reported, with min and max).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// A PostgreSQL database to measure instead of a fresh SQLite file (it must be empty or
    /// hold only MynaFleet account tables; a fresh database is created per round beside it).
    #[arg(long)]
    database_url: Option<String>,
    /// Patient searches per round and index state (0 skips the search figures).
    #[arg(long, default_value_t = 200)]
    searches: usize,
}

/// The index a patient search uses (account migration 0005).
const PATIENT_INDEX: &str = "audit_records_by_patient";

/// Returns the median time in milliseconds of `n` patient searches of `round`'s records.
async fn searches(
    pool: &AnyPool,
    org: OrganizationId,
    records: usize,
    round: usize,
    n: usize,
) -> anyhow::Result<f64> {
    let mut millis = Vec::with_capacity(n);
    for q in 0..n {
        // Spread over the whole round, old and new records alike.
        let i = (q * 7919) % records;
        let filter = audit_log::AuditFilter {
            patient_ref: Some(format!("{:064x}", i * 13 + round)),
            ..Default::default()
        };
        let start = Instant::now();
        let (found, _) = audit_log::search(pool, org, &filter, None, 50).await?;
        millis.push(start.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(found.len() == 1, "patient search {q} found {}", found.len());
    }
    millis.sort_by(f64::total_cmp);
    Ok(millis[millis.len() / 2])
}

/// Times patient searches with the index and without it (dropped, then made again).
async fn search_phase(
    pool: &AnyPool,
    org: OrganizationId,
    args: &Args,
    round: usize,
) -> anyhow::Result<(f64, f64)> {
    let drop = format!("DROP INDEX {PATIENT_INDEX}");
    let make = format!(
        "CREATE INDEX {PATIENT_INDEX} ON audit_records (organization_id, patient_ref, time)"
    );
    let without = async || -> anyhow::Result<f64> {
        sqlx::query(sqlx::AssertSqlSafe(drop.clone()))
            .execute(pool)
            .await?;
        let t = searches(pool, org, args.records, round, args.searches).await?;
        sqlx::query(sqlx::AssertSqlSafe(make.clone()))
            .execute(pool)
            .await?;
        Ok(t)
    };
    if round % 2 == 1 {
        let with = searches(pool, org, args.records, round, args.searches).await?;
        Ok((with, without().await?))
    } else {
        let w = without().await?;
        Ok((
            searches(pool, org, args.records, round, args.searches).await?,
            w,
        ))
    }
}

const RAW_COLUMNS: &str = "id, organization_id, time, producer, actor_kind, actor, actor_role, \
     auth_method, session_ref, action, action_code, clinic, target, outcome, reason, \
     source_address, request_id, patient_ref, patient_ref_key_id, traceparent, detail";

const RAW_TABLE: &str = "CREATE TABLE raw_audit_records (
    id TEXT PRIMARY KEY, organization_id TEXT, time BIGINT NOT NULL, producer TEXT NOT NULL,
    actor_kind TEXT NOT NULL, actor TEXT NOT NULL, actor_role TEXT NOT NULL,
    auth_method TEXT NOT NULL, session_ref TEXT NOT NULL, action TEXT NOT NULL,
    action_code TEXT NOT NULL, clinic TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL,
    reason TEXT NOT NULL, source_address TEXT NOT NULL, request_id TEXT NOT NULL,
    patient_ref TEXT NOT NULL, patient_ref_key_id TEXT NOT NULL, traceparent TEXT NOT NULL,
    detail TEXT NOT NULL)";

/// Rows per raw INSERT statement (21 binds each: well under both engines' limits).
const RAW_ROWS_PER_STATEMENT: usize = 200;

/// Returns `n` records shaped like the proxy's card-check records (the biggest kind).
fn records(org: OrganizationId, n: usize, round: usize) -> Vec<StoredRecord> {
    (0..n)
        .map(|i| {
            let mut detail = BTreeMap::new();
            detail.insert("check_kind".to_owned(), "card".to_owned());
            detail.insert("identity_method".to_owned(), "pin".to_owned());
            detail.insert("validity".to_owned(), "1".to_owned());
            detail.insert("verdict".to_owned(), "ELIGIBLE".to_owned());
            detail.insert("upstream".to_owned(), "oqs-sim".to_owned());
            detail.insert("account".to_owned(), "W0000001".to_owned());
            detail.insert(
                "certificate_serial_ref".to_owned(),
                format!("{:064x}", i * 7 + 3),
            );
            StoredRecord {
                id: uuid::Uuid::now_v7().to_string(),
                organization: Some(org),
                time: 1_790_000_000_000_000 + i64::try_from(i).unwrap_or(0) * 1000,
                producer: "eligibility-proxy".to_owned(),
                actor_kind: "device".to_owned(),
                actor: format!("devices/{:08}", i % 300),
                actor_role: "一般".to_owned(),
                auth_method: "mtls+pin".to_owned(),
                session_ref: String::new(),
                action: "eligibility.check_card".to_owned(),
                action_code: "E".to_owned(),
                clinic: format!("{}/clinics/{:04}", org.name(), i % 40),
                target: format!("patients/{:064x}", i * 13 + round),
                outcome: "success".to_owned(),
                reason: String::new(),
                source_address: format!("10.0.{}.{}", i % 200, i % 250),
                request_id: String::new(),
                patient_ref: format!("{:064x}", i * 13 + round),
                patient_ref_key_id: "k1/patient-ref/org".to_owned(),
                traceparent: format!("00-{:032x}-{:016x}-01", i + 1, i + 1),
                detail,
            }
        })
        .collect()
}

async fn raw_insert(pool: &AnyPool, batch: &[StoredRecord]) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    // The same placeholders as the chain store's multi-row inserts (`?` on SQLite).
    let mut marks = Placeholders::of(&tx);
    for chunk in batch.chunks(RAW_ROWS_PER_STATEMENT) {
        marks.restart();
        let mut sql = format!("INSERT INTO raw_audit_records ({RAW_COLUMNS}) VALUES ");
        for (row, _) in chunk.iter().enumerate() {
            if row > 0 {
                sql.push_str(", ");
            }
            let marks: Vec<String> = (0..21).map(|_| marks.next()).collect();
            sql.push_str(&format!("({})", marks.join(", ")));
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.id.clone())
                .bind(r.organization.map(|o| o.stored()))
                .bind(r.time)
                .bind(r.producer.clone())
                .bind(r.actor_kind.clone())
                .bind(r.actor.clone())
                .bind(r.actor_role.clone())
                .bind(r.auth_method.clone())
                .bind(r.session_ref.clone())
                .bind(r.action.clone())
                .bind(r.action_code.clone())
                .bind(r.clinic.clone())
                .bind(r.target.clone())
                .bind(r.outcome.clone())
                .bind(r.reason.clone())
                .bind(r.source_address.clone())
                .bind(r.request_id.clone())
                .bind(r.patient_ref.clone())
                .bind(r.patient_ref_key_id.clone())
                .bind(r.traceparent.clone())
                .bind(mynafleet_kit::outbox::detail_to_json(&r.detail));
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One phase's figures.
#[derive(Clone, Copy, Debug)]
struct Phase {
    per_second: f64,
    cpu_us_per_record: f64,
}

async fn phase<F, Fut>(records: &[StoredRecord], batch: usize, write: F) -> anyhow::Result<Phase>
where
    F: Fn(Vec<StoredRecord>) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let cpu = cpu_micros(std::process::id()).unwrap_or(0);
    let start = Instant::now();
    for chunk in records.chunks(batch) {
        write(chunk.to_vec()).await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let n = records.len() as f64;
    Ok(Phase {
        per_second: n / secs,
        cpu_us_per_record: cpu_micros(std::process::id())
            .unwrap_or(0)
            .saturating_sub(cpu) as f64
            / n,
    })
}

async fn open(args: &Args, dir: &std::path::Path, round: usize) -> anyhow::Result<AnyPool> {
    let url = match &args.database_url {
        None => mynafleet_kit::db::sqlite_file_url(&dir.join(format!("bench-{round}.db"))),
        Some(base) => {
            sqlx::any::install_default_drivers();
            let admin = AnyPool::connect(base)
                .await
                .context("connect to the PostgreSQL server")?;
            let name = format!("audit_bench_{}_{round}", std::process::id());
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .context("create the bench database")?;
            let (prefix, _) = base
                .rsplit_once('/')
                .context("the database URL names no database")?;
            format!("{prefix}/{name}")
        }
    };
    let pool = mynafleet_kit::db::connect(&url, &mynafleet_account::MIGRATIONS)
        .await
        .context("open the account store")?;
    sqlx::query(RAW_TABLE).execute(&pool).await?;
    Ok(pool)
}

async fn durability(pool: &AnyPool, postgres: bool) -> String {
    let one = |sql: &'static str| async move {
        sqlx::query_scalar::<_, String>(sql)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| format!("? ({e})"))
    };
    if postgres {
        format!(
            "PostgreSQL fsync={} synchronous_commit={}",
            one("SHOW fsync").await,
            one("SHOW synchronous_commit").await
        )
    } else {
        let journal = one("PRAGMA journal_mode").await;
        let sync = sqlx::query_scalar::<_, i64>("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .map(|s| {
                if s == 2 {
                    "FULL".to_owned()
                } else {
                    s.to_string()
                }
            })
            .unwrap_or_default();
        format!("SQLite journal_mode={journal} synchronous={sync}")
    }
}

fn summary(label: &str, values: &mut [f64], unit: &str) -> f64 {
    values.sort_by(f64::total_cmp);
    let median = values[values.len() / 2];
    println!(
        "{label:<34} median {median:>10.2} {unit}  (min {:.2}, max {:.2})",
        values[0],
        values[values.len() - 1]
    );
    median
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.rounds > 0 && args.batch > 0,
        "rounds and batch must be > 0"
    );
    let dir = tempfile::tempdir()?;
    let org = OrganizationId::new();
    let postgres = args.database_url.is_some();
    let (mut chained, mut raw, mut ratios, mut chained_cpu, mut raw_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut search_with, mut search_without, mut search_ratios) =
        (Vec::new(), Vec::new(), Vec::new());
    // Warm-up: one small round that is not counted.
    let warm = open(&args, dir.path(), 0).await?;
    println!("durability: {}", durability(&warm, postgres).await);
    let sample = records(org, args.batch * 4, 0);
    audit_log::ingest(&warm, &sample).await?;
    raw_insert(&warm, &sample).await?;
    warm.close().await;
    for round in 1..=args.rounds {
        let pool = open(&args, dir.path(), round).await?;
        let batch = records(org, args.records, round);
        let run_chained = || {
            phase(&batch, args.batch, |b| {
                let pool = pool.clone();
                async move {
                    audit_log::ingest(&pool, &b).await?;
                    Ok(())
                }
            })
        };
        let run_raw = || {
            phase(&batch, args.batch, |b| {
                let pool = pool.clone();
                async move { raw_insert(&pool, &b).await }
            })
        };
        // Alternate which phase goes first, so neither always gets the warmer cache.
        let (c, r) = if round % 2 == 1 {
            let c = run_chained().await?;
            (c, run_raw().await?)
        } else {
            let r = run_raw().await?;
            (run_chained().await?, r)
        };
        let size: i64 = sqlx::query_scalar("SELECT size FROM audit_chains WHERE chain = $1")
            .bind(org.name())
            .fetch_one(&pool)
            .await?;
        anyhow::ensure!(
            usize::try_from(size).unwrap_or(0) == args.records,
            "the chain holds {size} entries, expected {}",
            args.records
        );
        println!(
            "round {round}: chained {:.0}/s, raw {:.0}/s, ratio {:.2}",
            c.per_second,
            r.per_second,
            c.per_second / r.per_second
        );
        if args.searches > 0 {
            let (with, without) = search_phase(&pool, org, &args, round).await?;
            println!(
                "round {round}: patient search {with:.3} ms with the index, {without:.3} ms \
                 without, ratio {:.3}",
                with / without
            );
            search_with.push(with);
            search_without.push(without);
            search_ratios.push(with / without);
        }
        chained.push(c.per_second);
        raw.push(r.per_second);
        ratios.push(c.per_second / r.per_second);
        chained_cpu.push(c.cpu_us_per_record);
        raw_cpu.push(r.cpu_us_per_record);
        pool.close().await;
    }
    println!(
        "\n{} records per phase, {} per transaction, {} rounds",
        args.records, args.batch, args.rounds
    );
    summary("chained appends", &mut chained, "records/s");
    summary("raw batched inserts", &mut raw, "records/s");
    summary("ratio chained / raw", &mut ratios, "");
    summary("chained CPU", &mut chained_cpu, "µs/record");
    summary("raw CPU", &mut raw_cpu, "µs/record");
    if args.searches > 0 {
        println!(
            "\npatient search, first page of 50, among {} records of the organization, {} \
             searches per round (median per round)",
            args.records, args.searches
        );
        summary("with the patient index", &mut search_with, "ms");
        summary("without it", &mut search_without, "ms");
        summary("ratio with / without", &mut search_ratios, "");
    }
    Ok(())
}
