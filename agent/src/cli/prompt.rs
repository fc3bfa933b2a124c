//! Reading what the command line did not give: visible answers and hidden secrets on a
//! terminal, and secrets piped on stdin (`--password-stdin`, `--new-password-stdin`, one per
//! line, in that order). Secrets land in zeroizing buffers and are never echoed.

use std::io::{self, BufRead, IsTerminal, Write};

use anyhow::{Context, bail};
use zeroize::Zeroizing;

/// Whether prompts can be shown (stdin is a terminal).
pub(super) fn interactive() -> bool {
    io::stdin().is_terminal()
}

/// Returns `given`, or asks for it on the terminal; `flag` names the option to use when there
/// is no terminal.
pub(super) fn visible(given: Option<String>, label: &str, flag: &str) -> anyhow::Result<String> {
    if let Some(value) = given.filter(|v| !v.trim().is_empty()) {
        return Ok(value.trim().to_owned());
    }
    if !interactive() {
        bail!("{flag} is missing and there is no terminal to ask on");
    }
    loop {
        eprint!("{label}: ");
        io::stderr().flush()?;
        let mut line = String::new();
        if io::stdin().lock().read_line(&mut line)? == 0 {
            bail!("{flag} is missing (end of input)");
        }
        let answer = line.trim();
        if !answer.is_empty() {
            return Ok(answer.to_owned());
        }
    }
}

/// Asks for a secret on the terminal without echoing it.
pub(super) fn hidden(label: &str, flag: &str) -> anyhow::Result<Zeroizing<String>> {
    if !interactive() {
        bail!("{flag} is missing and there is no terminal to ask on");
    }
    loop {
        let answer = Zeroizing::new(
            rpassword::prompt_password(format!("{label}: ")).context("read from the terminal")?,
        );
        if !answer.is_empty() {
            return Ok(answer);
        }
    }
}

/// Reads the next line of stdin as a secret (without its line ending).
pub(super) fn stdin_line(flag: &str) -> anyhow::Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::new());
    if io::stdin().lock().read_line(&mut line)? == 0 {
        bail!("{flag}: stdin ended before the line was read");
    }
    let len = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(len);
    if line.is_empty() {
        bail!("{flag}: the line read from stdin is empty");
    }
    Ok(line)
}

/// Asks twice for a new secret until both answers agree.
pub(super) fn new_secret(label: &str, flag: &str) -> anyhow::Result<Zeroizing<String>> {
    for _ in 0..3 {
        let first = hidden(label, flag)?;
        let again = hidden(&format!("{label} (again / 再入力)"), flag)?;
        if first == again {
            return Ok(first);
        }
        eprintln!("the two entries differ; try again / 入力が一致しません");
    }
    bail!("the new password was not confirmed")
}
