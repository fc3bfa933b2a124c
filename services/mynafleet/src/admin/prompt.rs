//! Questions on the terminal: secrets without echo when stdin is a terminal, else one line of
//! stdin per question (scripts and tests pipe the answers in). Prompts go to stderr so stdout
//! stays the command's result.

use anyhow::{Context as _, bail};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use zeroize::Zeroizing;

/// Asks for a secret (password) without echo on a terminal.
pub(crate) async fn secret(label: &'static str) -> anyhow::Result<Zeroizing<String>> {
    tokio::task::spawn_blocking(move || {
        if std::io::stdin().is_terminal() {
            rpassword::prompt_password(format!("{label}: "))
                .map(Zeroizing::new)
                .with_context(|| format!("read {label}"))
        } else {
            line(label)
        }
    })
    .await
    .context("prompt task failed")?
}

/// Asks for a visible answer (a TOTP code).
pub(crate) async fn visible(label: &'static str) -> anyhow::Result<Zeroizing<String>> {
    tokio::task::spawn_blocking(move || {
        if std::io::stdin().is_terminal() {
            eprint!("{label}: ");
            let _ = std::io::stderr().flush();
        }
        line(label)
    })
    .await
    .context("prompt task failed")?
}

fn line(label: &str) -> anyhow::Result<Zeroizing<String>> {
    let mut s = Zeroizing::new(String::new());
    let n = std::io::stdin()
        .lock()
        .read_line(&mut s)
        .with_context(|| format!("read {label} from stdin"))?;
    if n == 0 {
        bail!("no {label} given (stdin ended)");
    }
    let trimmed = Zeroizing::new(s.trim_end_matches(['\r', '\n']).to_owned());
    Ok(trimmed)
}
