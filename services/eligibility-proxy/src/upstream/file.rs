//! The OQS file interface adapter (DOMAIN.md §3.1–3.2): writes `OQSsiquc01req_<12 digits>.xml`
//! into the request folder (temporary name, then rename), waits for the matching
//! `OQSsiquc01res_….xml` or `.err` in the result folder (subfolders included) until the
//! deadline, and reads a result only once two reads apart are identical. It can do
//! card-number checks only; it never deletes or moves the terminal's result files, and it
//! never blocks the runtime (folder work runs on `spawn_blocking` or `tokio::fs`).

mod folder;

use super::{
    Answer, Capabilities, CardQuery, NumberQuery, Registration, RequeryQuery, Upstream,
    UpstreamError,
};
use crate::config::FileInterfaceConfig;
use crate::oqs::xml;
use folder::{Found, Names, Pending};
use mynafleet_proto::eligibility::v1 as pb;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How much of an `.err` file's text is kept.
const ERR_TEXT_LIMIT: usize = 1024;

/// The OQS file interface of one 資格確認端末.
#[derive(Debug)]
pub(crate) struct FileUpstream {
    config: FileInterfaceConfig,
    deadline: Duration,
    /// Two reads of a result this far apart must be identical before it is parsed.
    stable_interval: Duration,
    /// Request names in flight from this process (the folder check alone races).
    in_flight: Arc<Mutex<HashSet<String>>>,
}

impl FileUpstream {
    /// Returns the adapter; `deadline` bounds the wait for a result. A result is read when
    /// two reads 300 ms apart agree (see [`FileUpstream::with_stable_interval`]).
    pub(crate) fn new(config: FileInterfaceConfig, deadline: Duration) -> Self {
        Self {
            config,
            deadline,
            stable_interval: Duration::from_millis(300),
            in_flight: Arc::default(),
        }
    }

    /// Sets how far apart the two identical reads of a result must be.
    pub(crate) fn with_stable_interval(mut self, interval: Duration) -> Self {
        self.stable_interval = interval;
        self
    }

    /// Waits for the result or `.err` of `names`; `None` never returns (the caller's
    /// deadline ends the wait).
    async fn wait(&self, names: &Names) -> Result<Reply, UpstreamError> {
        let mut tick = tokio::time::interval(self.config.poll_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let found = folder::find(self.config.res_dir.clone(), names.clone())
                .await
                .map_err(|e| unavailable("look for the result", &e))?;
            match found {
                None => {}
                Some(Found::Result(path)) => {
                    if let Some(bytes) = self.stable_read(&path, false).await? {
                        return Ok(Reply::Result(bytes));
                    }
                }
                Some(Found::Err(path)) => {
                    if let Some(bytes) = self.stable_read(&path, true).await? {
                        return Ok(Reply::Rejected(err_text(&bytes)));
                    }
                }
            }
        }
    }

    /// Returns the file's bytes when two reads `stable_interval` apart are identical (and,
    /// unless `empty_ok`, non-empty); `None` while it is still changing or gone.
    async fn stable_read(
        &self,
        path: &std::path::Path,
        empty_ok: bool,
    ) -> Result<Option<Vec<u8>>, UpstreamError> {
        let Some(first) = read_if_present(path).await? else {
            return Ok(None);
        };
        if first.is_empty() && !empty_ok {
            return Ok(None);
        }
        tokio::time::sleep(self.stable_interval).await;
        let second = read_if_present(path).await?;
        Ok(second.filter(|s| *s == first))
    }
}

enum Reply {
    Result(Vec<u8>),
    Rejected(String),
}

async fn read_if_present(path: &std::path::Path) -> Result<Option<Vec<u8>>, UpstreamError> {
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(unavailable("read the result", &e)),
    }
}

fn unavailable(action: &str, e: &std::io::Error) -> UpstreamError {
    UpstreamError::Unavailable(format!("oqs file interface: {action}: {e}"))
}

/// The `.err` text, raw: UTF-8 if it is, else Windows-31J with replacement; capped.
fn err_text(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t.to_owned(),
        Err(_) => encoding_rs::SHIFT_JIS.decode(bytes).0.into_owned(),
    };
    if text.len() <= ERR_TEXT_LIMIT {
        return text;
    }
    let mut end = ERR_TEXT_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Refuses a result that names another institution or request.
fn check_matches(result: &pb::QualificationResult, q: &NumberQuery) -> Result<(), UpstreamError> {
    let header = result.header.as_ref();
    let institution = header.and_then(|h| h.medical_institution_code.as_deref());
    if institution != Some(q.header.institution_code.as_str()) {
        return Err(UpstreamError::Invalid(format!(
            "the result names institution {institution:?}, not {:?}",
            q.header.institution_code
        )));
    }
    let identifier = header.and_then(|h| h.arbitrary_file_identifier.as_deref());
    if identifier != Some(q.header.file_identifier.as_str()) {
        return Err(UpstreamError::Invalid(format!(
            "the result answers request {identifier:?}, not {:?}",
            q.header.file_identifier
        )));
    }
    Ok(())
}

#[tonic::async_trait]
impl Upstream for FileUpstream {
    fn name(&self) -> &'static str {
        "oqs-file"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            numbers: true,
            ..Capabilities::default()
        }
    }

    async fn query_by_card(&self, _q: &CardQuery) -> Result<Answer, UpstreamError> {
        Err(UpstreamError::NotCapable {
            adapter: self.name(),
            what: "card checks",
        })
    }

    async fn query_by_numbers(&self, q: &NumberQuery) -> Result<Answer, UpstreamError> {
        let until = tokio::time::Instant::now() + self.deadline;
        let request = xml::write_number_request(q, self.config.encoding)
            .map_err(|e| UpstreamError::Rejected(format!("the request cannot be written: {e}")))?;
        let pending = Pending::place(&self.config, &self.in_flight, request).await?;
        let reply = match tokio::time::timeout_at(until, self.wait(pending.names())).await {
            Ok(reply) => reply,
            Err(_) => {
                pending.withdraw().await;
                return Err(UpstreamError::Timeout(self.deadline));
            }
        };
        match reply {
            Err(e) => {
                pending.withdraw().await;
                Err(e)
            }
            Ok(Reply::Rejected(text)) => {
                pending.answered();
                Err(UpstreamError::Rejected(text))
            }
            Ok(Reply::Result(bytes)) => {
                pending.answered();
                let result = xml::parse_result(&bytes).map_err(|e| {
                    UpstreamError::Invalid(format!("the result cannot be read: {e}"))
                })?;
                check_matches(&result, q)?;
                Ok(Answer { result })
            }
        }
    }

    async fn requery(&self, _q: &RequeryQuery) -> Result<Answer, UpstreamError> {
        Err(UpstreamError::NotCapable {
            adapter: self.name(),
            what: "再照会",
        })
    }

    async fn register_reference_number(
        &self,
        _r: &Registration,
    ) -> Result<pb::RegisterReferenceNumberResponse, UpstreamError> {
        Err(UpstreamError::NotCapable {
            adapter: self.name(),
            what: "照会番号 registration",
        })
    }
}

#[cfg(test)]
mod tests;
