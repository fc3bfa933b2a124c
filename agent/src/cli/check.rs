//! `mynafleet-agent check`: one card check from the command line, through the running
//! agent's terminal API (so it never competes with `run` for the reader).
//!
//! It waits for a scan that needs the patient's identity, reads the PIN from stdin (one
//! line, into a zeroizing buffer, never echoed or logged) or uses visual mode, submits, and
//! prints the result in the app's copy format followed by the verdict. Exit codes: 0
//! eligible, 1 not eligible or staff action needed, 2 refused or failed.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::client::{CallError, Consents, Verdict};
use crate::jpki::Pin;
use crate::reason::Described;
use crate::terminal::client::{RemotePhase, RemoteScan, TerminalClient};
use crate::terminal::{self, Listen};

/// Options of `mynafleet-agent check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Read the patient's 4-digit PIN from stdin (one line).
    #[arg(long, conflicts_with = "visual", required_unless_present = "visual")]
    pub pin_stdin: bool,
    /// The running agent's terminal API [default: http://127.0.0.1:7510].
    #[arg(long, value_name = "URL")]
    pub terminal: Option<String>,
    /// 目視確認 instead of the PIN; needs --staff.
    #[arg(long, requires = "staff")]
    pub visual: bool,
    /// The staff member who compared the card photo with the patient (visual mode).
    #[arg(long, value_name = "NAME")]
    pub staff: Option<String>,
    /// Use only a scan on a reader whose name contains this text.
    #[arg(long, value_name = "NAME")]
    pub reader: Option<String>,
    /// How long to wait for a card, e.g. 60s or 2m.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// The patient saw the warning that only one PIN try is left.
    #[arg(long)]
    pub confirm_last_try: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 60s or 2m"))?;
    match unit {
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "ms" => Ok(Duration::from_millis(n)),
        _ => Err(format!("{text:?} is not a duration like 60s or 2m")),
    }
}

/// What the check ended with.
enum Outcome {
    Eligible,
    NotEligible,
    Refused(String),
}

pub(super) async fn run(state_dir: &Path, args: CheckArgs) -> ExitCode {
    match check(state_dir, args).await {
        Ok(Outcome::Eligible) => ExitCode::from(0),
        Ok(Outcome::NotEligible) => ExitCode::from(1),
        Ok(Outcome::Refused(message)) => {
            eprintln!("mynafleet-agent: {message}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("mynafleet-agent: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn terminal_url(flag: Option<&str>) -> anyhow::Result<String> {
    let text = flag.unwrap_or(terminal::DEFAULT_LISTEN);
    if text.starts_with("http://") {
        return Ok(text.to_owned());
    }
    match Listen::parse(text)? {
        Listen::Tcp(addr) => Ok(format!("http://{addr}")),
        Listen::Unix(_) => anyhow::bail!(
            "check reaches the terminal api over loopback tcp only; run the agent with a tcp --terminal-listen"
        ),
    }
}

async fn check(state_dir: &Path, args: CheckArgs) -> anyhow::Result<Outcome> {
    let url = terminal_url(args.terminal.as_deref())?;
    let token = terminal::read_token(state_dir)?;
    let mut client = TerminalClient::connect(&url, token)
        .await
        .map_err(described)?;
    let waited = tokio::time::timeout(args.timeout, wait_for_scan(&mut client, &args)).await;
    let scan = match waited {
        Ok(scan) => scan?,
        Err(_) => {
            return Ok(Outcome::Refused(format!(
                "no card was ready within {:?} / 時間内にカードが読み取れませんでした",
                args.timeout
            )));
        }
    };
    let answered = if args.visual {
        let staff = args.staff.as_deref().unwrap_or_default();
        client
            .choose_visual(&scan.scan_id, staff, Consents::default())
            .await
    } else {
        if scan.pin_blocked {
            return Ok(Outcome::Refused(blocked_message()));
        }
        if scan.last_try && !args.confirm_last_try {
            return Ok(Outcome::Refused(last_try_message()));
        }
        let pin = read_pin().await?;
        client
            .submit_pin(
                &scan.scan_id,
                &pin,
                args.confirm_last_try,
                Consents::default(),
            )
            .await
    };
    match answered {
        Ok(scan) => Ok(report(&scan)),
        Err(e) => Ok(Outcome::Refused(refusal(&e))),
    }
}

/// Waits for a scan in AWAITING_IDENTITY, telling the person what to do meanwhile.
async fn wait_for_scan(
    client: &mut TerminalClient,
    args: &CheckArgs,
) -> anyhow::Result<RemoteScan> {
    let mut states = client.watch().await.map_err(described)?;
    let mut told = false;
    let mut last_failure = String::new();
    loop {
        let Some(state) = states.next().await.map_err(described)? else {
            anyhow::bail!("the agent ended the state stream; is it stopping?");
        };
        let scan = state.scan.filter(|scan| {
            args.reader
                .as_deref()
                .is_none_or(|filter| scan.reader.contains(filter))
        });
        match scan {
            Some(scan) if scan.phase == RemotePhase::AwaitingIdentity => {
                if let Some(tries) = scan.tries_left {
                    eprintln!("暗証番号の残り回数: {tries} / pin tries left: {tries}");
                }
                return Ok(scan);
            }
            Some(scan) if scan.phase == RemotePhase::Failed && scan.scan_id != last_failure => {
                eprintln!("{} ({})", scan.failure_message, scan.failure_reason);
                last_failure = scan.scan_id;
            }
            _ => {}
        }
        if !told {
            if !state.pcsc_available {
                eprintln!(
                    "pcscd is not reachable; the agent keeps trying / カードリーダーのサービスに接続できません"
                );
            }
            eprintln!("カードをリーダーに置いてください / place the card on the reader");
            told = true;
        }
    }
}

async fn read_pin() -> anyhow::Result<Pin> {
    let line = tokio::task::spawn_blocking(|| {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await??;
    Pin::parse(line.trim_end_matches(['\r', '\n'])).map_err(|_| {
        anyhow::anyhow!("the pin on stdin must be exactly 4 digits / 暗証番号は4桁の数字です")
    })
}

fn report(scan: &RemoteScan) -> Outcome {
    match scan.phase {
        RemotePhase::Done => {
            print!("{}", scan.copy_text);
            if !scan.copy_text.is_empty() && !scan.copy_text.ends_with('\n') {
                println!();
            }
            let verdict = scan.verdict.unwrap_or(Verdict::Unknown);
            println!("{} (check {})", verdict_line(verdict), scan.check_id);
            if !scan.processing_result_message.is_empty() {
                println!("{}", scan.processing_result_message);
            }
            match verdict {
                Verdict::Eligible => Outcome::Eligible,
                Verdict::NotEligible | Verdict::NeedsStaffAction | Verdict::Unknown => {
                    Outcome::NotEligible
                }
                Verdict::UpstreamError => {
                    Outcome::Refused("the upstream reported an error / 照会エラー".into())
                }
            }
        }
        RemotePhase::AwaitingIdentity if scan.pin_blocked => Outcome::Refused(blocked_message()),
        RemotePhase::AwaitingIdentity if scan.pin_rejected => {
            let tries = scan.tries_left.unwrap_or(0);
            let mut message = format!(
                "the card rejected the pin; {tries} tries left / 暗証番号が違います。残り{tries}回"
            );
            if tries == 1 {
                message.push_str(
                    " — the next wrong pin blocks the card; retry with --confirm-last-try, or use visual mode (--visual --staff NAME)",
                );
            }
            Outcome::Refused(message)
        }
        RemotePhase::Failed => Outcome::Refused(format!(
            "{} ({})",
            scan.failure_message, scan.failure_reason
        )),
        _ => Outcome::Refused(format!(
            "the scan ended unexpectedly ({:?}) / 照会が完了しませんでした",
            scan.phase
        )),
    }
}

fn verdict_line(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Eligible => "有効 / eligible",
        Verdict::NotEligible => "無効または該当資格なし / not eligible",
        Verdict::NeedsStaffAction => "要確認 / staff action needed",
        Verdict::UpstreamError => "照会エラー / upstream error",
        Verdict::Unknown => "不明 / unknown verdict",
    }
}

fn blocked_message() -> String {
    "the card's pin is blocked; use visual mode (--visual --staff NAME); only the municipal office can unblock the pin / 暗証番号がロックされています。目視確認を使ってください（ロック解除は市区町村の窓口のみ）".into()
}

fn last_try_message() -> String {
    "one pin try is left: a wrong pin blocks the card; after the patient saw this warning, rerun with --confirm-last-try, or use visual mode (--visual --staff NAME) / 暗証番号の残り回数は1回です".into()
}

fn refusal(e: &CallError) -> String {
    match e.reason() {
        "PIN_BLOCKED" => blocked_message(),
        "LAST_TRY_NOT_CONFIRMED" => last_try_message(),
        _ => described(e.clone()).to_string(),
    }
}

fn described(e: CallError) -> anyhow::Error {
    if e.reason.is_some() {
        anyhow::anyhow!(
            "{}",
            Described {
                reason: e.reason(),
                message: &e.message,
            }
        )
    } else {
        anyhow::anyhow!("{}", e.message)
    }
}
