//! The simulator's own metrics (docs/metrics.md): its gRPC answers are counted by the server
//! frame; this counts what the file-interface responder did with each request file, which
//! no RPC shows. Every series carries `service="oqs-sim"`; labels are fixed words.

use crate::SERVICE_NAME;

/// Counter `{result}`: request files answered (`reply`), swallowed (`silent`) or refused
/// with an `.err` file (`refused`).
pub(crate) const FILE_ANSWERS: &str = "mynafleet_oqs_sim_file_answers_total";

/// Counts one request file the responder handled with `result`.
pub(crate) fn file_answer(result: &'static str) {
    metrics::counter!(FILE_ANSWERS, "service" => SERVICE_NAME, "result" => result).increment(1);
}
