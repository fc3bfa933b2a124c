//! Hand-off of results to a clinic's レセコン (DESIGN.md §3.3): OQS-compatible result XML
//! (`OQSsiquc01res_face_…`) and/or the app's copy format as TSV, each written to a temporary
//! file in the same folder, synced and renamed, so a watcher sees it complete or not at all.

use crate::config::HandoffConfig;
use mynafleet_proto::eligibility::v1 as pb;
use std::collections::BTreeMap;

/// Why a hand-off failed (the check itself still succeeded).
#[derive(Debug, thiserror::Error)]
pub(crate) enum HandoffError {
    /// Writing failed.
    #[error("hand-off to {path} failed: {message}")]
    Write {
        /// The folder.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Hand-off folders by 機関コード.
#[derive(Clone, Debug, Default)]
pub(crate) struct Handoff {
    #[allow(dead_code, reason = "skeleton")]
    by_institution: BTreeMap<String, HandoffConfig>,
}

impl Handoff {
    /// Returns the hand-off for the configured clinics.
    pub(crate) fn new(by_institution: BTreeMap<String, HandoffConfig>) -> Self {
        Self { by_institution }
    }

    /// Writes `result` for `institution_code` (if it has a hand-off) and returns the file
    /// names written; none when the clinic has no hand-off.
    pub(crate) async fn write(
        &self,
        _institution_code: &str,
        _result: &pb::QualificationResult,
        _when: time::OffsetDateTime,
    ) -> Result<Vec<String>, HandoffError> {
        Ok(Vec::new())
    }
}
