//! The file responder: plays the 資格確認端末 side of the OQS file interface in one folder
//! pair. It polls `req_dir` for complete `OQSsiquc01req_*.xml` files, answers each as a number
//! query would be answered, writes `OQSsiquc01res_<same suffix>.xml` into `res_dir`
//! atomically (temporary name, then rename) and removes the request. A request it cannot
//! process is moved into `res_dir` beside a `<same base name>.err` text. Test hooks: 記号
//! `ERR` forces the `.err` reply, 記号 `SILENT` is consumed and never answered. It ignores
//! the gRPC fault knobs and never logs request contents.

mod xml;

#[cfg(test)]
mod tests;

use crate::config::{Responder, ResponderEncoding};
use crate::population::fold;
use crate::sim::Sim;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const REQUEST_PREFIX: &str = "OQSsiquc01req_";
const RESULT_PREFIX: &str = "OQSsiquc01res_";
const POLL: Duration = Duration::from_millis(50);

/// Polls `r.req_dir` until `stop` is cancelled.
pub(crate) async fn run(r: Responder, sim: Arc<Sim>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut warned = false;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (r2, sim2) = (r.clone(), sim.clone());
        match tokio::task::spawn_blocking(move || sweep(&r2, &sim2)).await {
            Ok(Ok(())) => warned = false,
            Ok(Err(e)) if !warned => {
                warned = true;
                tracing::warn!(req_dir = %r.req_dir.display(), error = %e, "cannot read the request folder");
            }
            Ok(Err(_)) => {}
            Err(e) => tracing::error!(error = %e, "responder sweep panicked"),
        }
    }
}

/// Answers every complete request in the folder once.
pub(crate) fn sweep(r: &Responder, sim: &Sim) -> std::io::Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(&r.req_dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_request(n))
        .collect();
    names.sort();
    for name in names {
        if let Err(e) = handle(r, sim, &name) {
            tracing::warn!(file = %name, error = %e, "could not answer a request file");
        }
    }
    Ok(())
}

fn is_request(name: &str) -> bool {
    name.len() > REQUEST_PREFIX.len() + ".xml".len()
        && name.starts_with(REQUEST_PREFIX)
        && name.ends_with(".xml")
}

enum Outcome {
    Reply(Vec<u8>),
    Silent,
    Refused(String),
}

fn answer(bytes: &[u8], encoding: ResponderEncoding, sim: &Sim) -> Outcome {
    let request = match xml::decode(bytes).and_then(|text| xml::parse_request(&text)) {
        Ok(r) => r,
        Err(why) => return Outcome::Refused(format!("malformed request: {why}")),
    };
    match request.search.symbol.as_deref().map(fold).as_deref() {
        Some("ERR") => return Outcome::Refused("simulated error (記号 ERR)".into()),
        Some("SILENT") => return Outcome::Silent,
        _ => {}
    }
    let code = match encoding {
        ResponderEncoding::Utf8 => "0",
        ResponderEncoding::ShiftJis => "1",
    };
    let result = sim.by_numbers(&request.header, &request.search, code);
    match xml::write_result(&result, encoding) {
        Ok(bytes) => Outcome::Reply(bytes),
        Err(why) => Outcome::Refused(why),
    }
}

fn handle(r: &Responder, sim: &Sim, name: &str) -> std::io::Result<()> {
    let request = r.req_dir.join(name);
    let bytes = match std::fs::read(&request) {
        Ok(b) => b,
        // Taken away meanwhile (another responder, or the requester gave up).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    match answer(&bytes, r.encoding, sim) {
        Outcome::Reply(out) => {
            let res_name = format!("{RESULT_PREFIX}{}", &name[REQUEST_PREFIX.len()..]);
            write_atomic(&r.res_dir, &res_name, &out)?;
            std::fs::remove_file(&request)?;
            tracing::debug!(file = %res_name, "answered a request file");
            crate::metrics::file_answer("reply");
        }
        Outcome::Silent => {
            std::fs::remove_file(&request)?;
            crate::metrics::file_answer("silent");
        }
        Outcome::Refused(why) => {
            let moved = r.res_dir.join(name);
            if std::fs::rename(&request, &moved).is_err() {
                std::fs::write(&moved, &bytes)?;
                std::fs::remove_file(&request)?;
            }
            let base = name.trim_end_matches(".xml");
            write_atomic(&r.res_dir, &format!("{base}.err"), why.as_bytes())?;
            tracing::debug!(file = %name, "refused a request file");
            crate::metrics::file_answer("refused");
        }
    }
    Ok(())
}

/// Writes `name` in `dir` under a temporary name first, so readers see all or nothing.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".oqs-sim-{}.tmp", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dir.join(name)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
