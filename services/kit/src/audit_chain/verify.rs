//! The offline verifier (issue #7 item 6): entries fed in export order and the checkpoints
//! beside them are checked for a gap-free chain whose every hash recomputes, checkpoints whose
//! signatures verify under trusted keys and whose heads match the entries, and an end that
//! some checkpoint seals (so a truncated tail shows).

use super::{Checkpoint, Entry, KeyRing};

/// One thing wrong with an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The first seq concerned, when one is.
    pub seq: Option<i64>,
    /// What is wrong, for a person.
    pub what: String,
}

/// What the verifier found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Entries read.
    pub entries: u64,
    /// Seq of the first and last entry read.
    pub first_seq: Option<i64>,
    /// See `first_seq`.
    pub last_seq: Option<i64>,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Every problem, in the order found (the first names the first bad seq).
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks one chain; feed entries with [`Verifier::entry`] in file order, then call
/// [`Verifier::finish`] with the checkpoints.
#[derive(Debug)]
#[allow(dead_code, reason = "skeleton: filled in by the verifier work of #7")]
pub struct Verifier {
    origin: String,
    anchor: Option<Checkpoint>,
    keys: KeyRing,
    report: Report,
}

impl Verifier {
    /// Starts a check of the chain `origin`. `anchor` is the checkpoint the first entry
    /// continues from when retention removed the chain's beginning (None: entry 1 first).
    pub fn new(origin: &str, anchor: Option<Checkpoint>, keys: KeyRing) -> Self {
        Self {
            origin: origin.to_owned(),
            anchor,
            keys,
            report: Report::default(),
        }
    }

    /// Checks the next entry.
    pub fn entry(&mut self, e: &Entry) {
        let _ = e;
    }

    /// Checks `checkpoints` against what was fed and returns the report.
    pub fn finish(self, checkpoints: &[Checkpoint]) -> Report {
        let _ = checkpoints;
        self.report
    }
}
