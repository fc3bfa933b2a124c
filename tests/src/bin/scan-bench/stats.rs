//! The bench's arithmetic and report: per-round medians and p90 by nearest rank, the
//! median of the rounds with min and max, and the markdown table. Never measures anything.

use std::time::Duration;

use super::Args;
use super::cpu::CpuTimes;

/// Times of one scan: each transaction and the whole, plus the bench process's CPU.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sample {
    pub(crate) read: Duration,
    pub(crate) sign: Duration,
    pub(crate) total: Duration,
    pub(crate) cpu: CpuTimes,
}

/// The figures of one round for one path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Figures {
    pub(crate) median_ms: f64,
    pub(crate) p90_ms: f64,
    pub(crate) read_ms: f64,
    pub(crate) sign_ms: f64,
    pub(crate) client_cpu_us: f64,
    pub(crate) card_cpu_us: f64,
    pub(crate) pcscd_cpu_us: f64,
}

/// Returns the figures of one round from its samples.
pub(crate) fn figures(samples: &[Sample]) -> Figures {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let totals: Vec<f64> = samples.iter().map(|s| ms(s.total)).collect();
    let reads: Vec<f64> = samples.iter().map(|s| ms(s.read)).collect();
    let signs: Vec<f64> = samples.iter().map(|s| ms(s.sign)).collect();
    let us = |pick: fn(&Sample) -> Duration| -> Vec<f64> {
        samples
            .iter()
            .map(|s| pick(s).as_secs_f64() * 1e6)
            .collect()
    };
    Figures {
        median_ms: percentile(&totals, 0.5),
        p90_ms: percentile(&totals, 0.9),
        read_ms: percentile(&reads, 0.5),
        sign_ms: percentile(&signs, 0.5),
        client_cpu_us: percentile(&us(|s| s.cpu.client), 0.5),
        card_cpu_us: percentile(&us(|s| s.cpu.card), 0.5),
        pcscd_cpu_us: percentile(&us(|s| s.cpu.pcscd), 0.5),
    }
}

/// The `q` quantile by the nearest-rank method.
fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// "median (min–max)" over the rounds.
fn spread(values: impl Iterator<Item = f64>, decimals: usize) -> String {
    let values: Vec<f64> = values.collect();
    let (mid, lo, hi) = (
        percentile(&values, 0.5),
        percentile(&values, 0.0),
        percentile(&values, 1.0),
    );
    if values.len() == 1 {
        format!("{mid:.decimals$}")
    } else {
        format!("{mid:.decimals$} ({lo:.decimals$}–{hi:.decimals$})")
    }
}

/// Prints the report as a markdown table.
pub(crate) fn print_table(args: &Args, rounds: &[(Figures, Figures)], apdus: (usize, usize)) {
    let (read_apdus, sign_apdus) = apdus;
    let vpcd = if args.stock_vpcd {
        "card-sim's vpcd client"
    } else {
        "quick-ACK vpcd socket"
    };
    println!(
        "\nscan-bench: {} rounds × {} scans of each kind (interleaved), {} warm-up, {vpcd}; \
         median of the round figures (min–max)\n",
        args.rounds, args.iterations, args.warmup
    );
    println!("| figure | raw replay | agent | ratio (agent / replay) |");
    println!("|---|---|---|---|");
    let total = read_apdus + sign_apdus;
    println!(
        "| APDUs per scan (read + sign) | {total} ({read_apdus} + {sign_apdus}) | {total} \
         ({read_apdus} + {sign_apdus}) | 1.00 |"
    );
    type Pick = fn(&Figures) -> f64;
    let rows: [(&str, Pick, usize); 7] = [
        ("median ms per scan", |f| f.median_ms, 3),
        ("p90 ms per scan", |f| f.p90_ms, 3),
        ("median ms, read transaction", |f| f.read_ms, 3),
        ("median ms, verify + sign transaction", |f| f.sign_ms, 3),
        (
            "client CPU µs per scan (agent or replay)",
            |f| f.client_cpu_us,
            0,
        ),
        ("card-sim CPU µs per scan", |f| f.card_cpu_us, 0),
        ("pcscd CPU µs per scan", |f| f.pcscd_cpu_us, 0),
    ];
    for (name, pick, decimals) in rows {
        println!(
            "| {name} | {} | {} | {} |",
            spread(rounds.iter().map(|(_, r)| pick(r)), decimals),
            spread(rounds.iter().map(|(a, _)| pick(a)), decimals),
            spread(rounds.iter().map(|(a, r)| pick(a) / pick(r)), 3),
        );
    }
}
