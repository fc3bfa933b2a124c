//! Hand-off of results to a clinic's レセコン (DESIGN.md §3.3): OQS-compatible result XML
//! (`OQSsiquc01res_face_…`, like a reader result) and/or the app's copy format as TSV, each
//! written to a temporary file in the same folder, synced and renamed, so a watcher sees it
//! complete or not at all ([`atomic`]). Clinics without a hand-off get nothing written; it
//! never changes the result it hands off.

pub(crate) mod atomic;
mod tsv;

pub(crate) use tsv::render as copy_text;

use crate::config::HandoffConfig;
use crate::oqs::xml;
use mynafleet_proto::eligibility::v1 as pb;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
#[derive(Clone, Debug)]
pub(crate) struct Handoff {
    by_institution: BTreeMap<String, HandoffConfig>,
    fill: atomic::Fill,
}

impl Default for Handoff {
    fn default() -> Self {
        Self::new(BTreeMap::new())
    }
}

impl Handoff {
    /// Returns the hand-off for the configured clinics.
    pub(crate) fn new(by_institution: BTreeMap<String, HandoffConfig>) -> Self {
        Self {
            by_institution,
            fill: atomic::write_all,
        }
    }

    /// Replaces how files are filled (tests inject a failure mid-write).
    #[cfg(test)]
    fn with_fill(mut self, fill: atomic::Fill) -> Self {
        self.fill = fill;
        self
    }

    /// Writes `result` for `institution_code` (if it has a hand-off) and returns the file
    /// names written; none when the clinic has no hand-off. Both files share the base name
    /// `OQSsiquc01res_face_<機関コード><20 digits>_<YYYYMMDDHHmmss JST of when>`.
    pub(crate) async fn write(
        &self,
        institution_code: &str,
        result: &pb::QualificationResult,
        when: time::OffsetDateTime,
    ) -> Result<Vec<String>, HandoffError> {
        let Some(config) = self.by_institution.get(institution_code) else {
            return Ok(Vec::new());
        };
        let base = base_name(institution_code, when);
        let mut files: Vec<(PathBuf, String, Vec<u8>)> = Vec::new();
        if let Some(dir) = &config.xml_dir {
            let bytes =
                xml::write_result(result, config.encoding).map_err(|e| HandoffError::Write {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                })?;
            files.push((dir.clone(), format!("{base}.xml"), bytes));
        }
        if let Some(dir) = &config.tsv_dir {
            files.push((
                dir.clone(),
                format!("{base}.tsv"),
                tsv::render(result).into_bytes(),
            ));
        }
        let fill = self.fill;
        let folders = files
            .iter()
            .map(|(dir, _, _)| dir.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        tokio::task::spawn_blocking(move || {
            let mut names = Vec::with_capacity(files.len());
            for (dir, name, bytes) in files {
                atomic::write_with(&dir, &name, &bytes, fill).map_err(|e| HandoffError::Write {
                    path: dir.display().to_string(),
                    message: e.to_string(),
                })?;
                names.push(name);
            }
            Ok(names)
        })
        .await
        .map_err(|e| HandoffError::Write {
            path: folders,
            message: e.to_string(),
        })?
    }
}

/// `OQSsiquc01res_face_<機関コード><20 random digits>_<YYYYMMDDHHmmss JST>`.
fn base_name(institution_code: &str, when: time::OffsetDateTime) -> String {
    let jst = when.to_offset(time::macros::offset!(+9));
    let random = uuid::Uuid::new_v4().as_u128() % 100_000_000_000_000_000_000;
    format!(
        "OQSsiquc01res_face_{institution_code}{random:020}_{:04}{:02}{:02}{:02}{:02}{:02}",
        jst.year(),
        u8::from(jst.month()),
        jst.day(),
        jst.hour(),
        jst.minute(),
        jst.second(),
    )
}

#[cfg(test)]
mod tests;
