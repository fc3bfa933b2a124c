//! Card scan benchmark (issue #6, BENCHMARKS.md): one full scan at the reader through the
//! agent's card path versus a raw replay of the same APDUs over the same pcscd and vpcd slot,
//! measured interleaved in the same run.
//!
//! A scan at the card is what the agent's card thread does for one check: the read
//! transaction (`CardThread::read`) and the verify-and-sign transaction (`CardThread::sign`
//! with a fresh 32-byte challenge). The proxy round trips of a real check are not part of it.
//! The replay records the APDUs of one agent scan from card-sim's log (the masked VERIFY gets
//! the fixture PIN back) and sends them with the agent's raw PC/SC transport in the same
//! grouping: per group one connect, one transaction, the APDUs, then the disconnect (with the
//! card reset) — no JPKI logic, no card thread.
//!
//! Needs the shared pcscd with the vpcd driver; the card-sim card goes into the slot of
//! `--port` (default 35964, "Virtual PCD 00 01"), by default over a quick-ACK socket
//! ([`slot`] says why), with `--stock-vpcd` through card-sim's own client. It never prints
//! APDU payloads or the PIN.
//!
//! Run: `cargo run --release -p mynafleet-tests --bin scan-bench -- --iterations 200`.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use mynafleet_agent::card_thread::{CardThread, PcscConnector};
use mynafleet_agent::jpki::Pin;
use mynafleet_agent::transport::{CardTransport, PcscContext, SlotState};
use mynafleet_card_sim::{ApduLog, Card};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use self::cpu::CpuClock;
use self::slot::CardInSlot;
use self::stats::{Sample, figures, print_table};

mod cpu;
mod slot;
mod stats;

/// The PIN of card-sim's fixture card (`Card::my_number`), a test value.
const FIXTURE_PIN: &[u8; 4] = b"1234";

/// vpcd's port for reader slot 0; slot `n` listens on this plus `n`.
const VPCD_SLOT_0_PORT: u16 = 35963;

#[derive(Parser, Debug)]
#[command(about = "Agent card scans vs a raw replay of the same APDUs over pcscd")]
struct Args {
    /// Measured scans of each kind per round.
    #[arg(long, default_value_t = 200)]
    iterations: usize,
    /// Unmeasured scans of each kind before the first round.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Rounds (the median of the round figures is reported, with min and max).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// The vpcd host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// The vpcd port of the slot to use (35963 + slot).
    #[arg(long, default_value_t = 35964)]
    port: u16,
    /// The reader name; by default "Virtual PCD 00 <slot>" for `--port`.
    #[arg(long)]
    reader: Option<String>,
    /// Insert the card with card-sim's own vpcd client, whose socket delays ACKs (~40 ms per
    /// message with vpcd 3.3).
    #[arg(long)]
    stock_vpcd: bool,
}

/// The APDUs of one scan, one list per card transaction; the VERIFY carries the PIN, so the
/// whole recording is zeroized when dropped.
struct Recording {
    groups: Zeroizing<Vec<Vec<Vec<u8>>>>,
    /// The status word each APDU answered in the checked replay, for the timed replays.
    status_words: Vec<Vec<[u8; 2]>>,
}

impl Recording {
    fn apdu_count(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.iterations > 0 && args.rounds > 0,
        "iterations and rounds must be positive"
    );
    let reader = match &args.reader {
        Some(reader) => reader.clone(),
        None => {
            let slot = args
                .port
                .checked_sub(VPCD_SLOT_0_PORT)
                .context("--port is below vpcd's slot 0 port; name the reader with --reader")?;
            format!("Virtual PCD 00 {slot:02}")
        }
    };
    let context = PcscContext::establish()?;
    let before = context.wait_for(&reader, SlotState::Empty, Duration::from_secs(5));
    before.with_context(|| format!("reader {reader:?} must be attached and empty"))?;

    let card = Card::my_number();
    let log = card.apdu_log_handle();
    let mut inserted = if args.stock_vpcd {
        CardInSlot::stock(&args.host, args.port, card)?
    } else {
        CardInSlot::quick_ack(&args.host, args.port, card)?
    };
    context
        .wait_for(&reader, SlotState::Card, Duration::from_secs(10))
        .context("wait for the inserted card")?;

    let result = bench(&args, &reader, &context, &log);
    inserted.remove()?;
    result
}

fn bench(args: &Args, reader: &str, context: &PcscContext, log: &ApduLog) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let agent = Agent {
        thread: CardThread::spawn(PcscConnector::new()),
        rt,
        random: SystemRandom::new(),
        pin: Pin::parse(std::str::from_utf8(FIXTURE_PIN)?)?,
        reader: reader.to_owned(),
        clock: CpuClock::new(),
    };
    if !agent.clock.sees_pcscd() {
        eprintln!("pcscd's process not found in this mount namespace: its cpu reads as 0");
    }
    let recording = record(&agent, context, reader, log)?;
    let agent_apdus = recording.apdu_count();
    let [read_apdus, sign_apdus] = [0, 1].map(|i| recording.groups.get(i).map_or(0, Vec::len));

    for _ in 0..args.warmup {
        agent.scan(log, agent_apdus)?;
        replay(context, reader, &recording, log, &agent.clock)?;
    }
    let mut rounds = Vec::with_capacity(args.rounds);
    for round in 0..args.rounds {
        let mut agent_samples = Vec::with_capacity(args.iterations);
        let mut replay_samples = Vec::with_capacity(args.iterations);
        for i in 0..args.iterations {
            // ABAB..., with the order flipped every other pair so neither side always follows
            // the other.
            if i % 2 == 0 {
                agent_samples.push(agent.scan(log, agent_apdus)?);
                replay_samples.push(replay(context, reader, &recording, log, &agent.clock)?);
            } else {
                replay_samples.push(replay(context, reader, &recording, log, &agent.clock)?);
                agent_samples.push(agent.scan(log, agent_apdus)?);
            }
        }
        let figures = (figures(&agent_samples), figures(&replay_samples));
        eprintln!(
            "round {}: agent median {:.3} ms, replay median {:.3} ms, ratio {:.3}",
            round + 1,
            figures.0.median_ms,
            figures.1.median_ms,
            figures.0.median_ms / figures.1.median_ms
        );
        rounds.push(figures);
    }
    print_table(args, &rounds, (read_apdus, sign_apdus));
    Ok(())
}

/// The agent's card path as a scan drives it.
struct Agent {
    thread: CardThread,
    rt: tokio::runtime::Runtime,
    random: SystemRandom,
    pin: Pin,
    reader: String,
    clock: CpuClock,
}

impl Agent {
    /// One scan: the read transaction, then verify and sign a fresh challenge. Checks the
    /// APDU count against the recording's.
    fn scan(&self, log: &ApduLog, expected_apdus: usize) -> anyhow::Result<Sample> {
        log.clear();
        let challenge = self.challenge()?;
        let cpu = self.clock.now();
        let started = Instant::now();
        let read = self.rt.block_on(self.thread.read(&self.reader))?;
        let read_done = Instant::now();
        let signed = self.rt.block_on(self.thread.sign(
            &self.reader,
            read.token,
            self.pin.clone(),
            false,
            challenge,
        ))?;
        let done = Instant::now();
        let cpu = self.clock.now().since(cpu);
        ensure!(
            signed.signature.len() == 256,
            "the card's signature is not 256 bytes"
        );
        ensure!(
            log.len() == expected_apdus,
            "an agent scan sent {} apdus, the recorded one {expected_apdus}",
            log.len()
        );
        Ok(Sample {
            read: read_done - started,
            sign: done - read_done,
            total: done - started,
            cpu,
        })
    }

    fn challenge(&self) -> anyhow::Result<Vec<u8>> {
        let mut challenge = vec![0u8; 32];
        self.random
            .fill(&mut challenge)
            .map_err(|_| anyhow::anyhow!("no random challenge"))?;
        Ok(challenge)
    }
}

/// Records one agent scan from the card's log, split at the transaction boundary, restores
/// the PIN in the masked VERIFY, and replays it once with every answer checked.
fn record(
    agent: &Agent,
    context: &PcscContext,
    reader: &str,
    log: &ApduLog,
) -> anyhow::Result<Recording> {
    log.clear();
    let read = agent.rt.block_on(agent.thread.read(reader))?;
    let read_group = log.snapshot();
    log.clear();
    let challenge = agent.challenge()?;
    let signed = agent.rt.block_on(agent.thread.sign(
        reader,
        read.token,
        agent.pin.clone(),
        false,
        challenge,
    ))?;
    ensure!(
        signed.signature.len() == 256,
        "the card's signature is not 256 bytes"
    );
    let mut sign_group = log.snapshot();
    log.clear();
    let mut verifies = 0;
    for apdu in &mut sign_group {
        // VERIFY with data: `00 20 00 80 Lc <PIN>`, the PIN masked in the log.
        if apdu.get(..2) == Some(&[0x00, 0x20]) && apdu.len() == 5 + FIXTURE_PIN.len() {
            apdu[5..].copy_from_slice(FIXTURE_PIN);
            verifies += 1;
        }
    }
    ensure!(
        verifies == 1,
        "expected one verify with the pin in the sign transaction"
    );
    let groups = Zeroizing::new(vec![read_group, sign_group]);

    // The checked replay: every APDU answered, VERIFY and the signature accepted.
    let mut status_words = Vec::new();
    for group in groups.iter() {
        let mut card = context.connect(reader)?;
        let mut tx = card.transaction()?;
        let mut words = Vec::with_capacity(group.len());
        for apdu in group {
            let response = tx.transmit(apdu)?;
            words.push(status_word(&response)?);
            if apdu.get(..2) == Some(&[0x00, 0x20]) && apdu.len() > 5 {
                ensure!(response == [0x90, 0x00], "the replayed verify was refused");
            }
            if apdu.get(..2) == Some(&[0x80, 0x2A]) {
                ensure!(
                    response.len() == 258,
                    "the replayed signature is not 256 bytes"
                );
            }
        }
        status_words.push(words);
    }
    log.clear();
    Ok(Recording {
        groups,
        status_words,
    })
}

/// One raw replay: per group, connect, begin a transaction, send the APDUs, end and
/// disconnect with a reset, as the agent's connector does.
fn replay(
    context: &PcscContext,
    reader: &str,
    recording: &Recording,
    log: &ApduLog,
    clock: &CpuClock,
) -> anyhow::Result<Sample> {
    log.clear();
    let cpu = clock.now();
    let started = Instant::now();
    let mut marks = [started; 2];
    for (i, (group, words)) in recording
        .groups
        .iter()
        .zip(&recording.status_words)
        .enumerate()
    {
        let mut card = context.connect(reader)?;
        let mut tx = card.transaction()?;
        for (apdu, word) in group.iter().zip(words) {
            let response = tx.transmit(apdu)?;
            ensure!(
                status_word(&response)? == *word,
                "a replayed apdu answered differently"
            );
        }
        drop(tx);
        drop(card);
        if let Some(mark) = marks.get_mut(i) {
            *mark = Instant::now();
        }
    }
    let done = Instant::now();
    let cpu = clock.now().since(cpu);
    ensure!(log.len() == recording.apdu_count(), "the replay lost apdus");
    Ok(Sample {
        read: marks[0] - started,
        sign: marks[1] - marks[0],
        total: done - started,
        cpu,
    })
}

fn status_word(response: &[u8]) -> anyhow::Result<[u8; 2]> {
    match response {
        [.., sw1, sw2] => Ok([*sw1, *sw2]),
        _ => bail!("a response without a status word"),
    }
}
