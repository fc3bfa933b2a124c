//! What the verifier reports: each problem with the seq it concerns, a kind a program can
//! match on and wording an auditor understands. It never holds record contents.

/// What kind of thing is wrong; each kind has its own wording in [`Problem::what`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// A seq below 1.
    InvalidSeq,
    /// The recomputed hash differs from the stored one: the record, its seq or its previous
    /// hash was changed after it was chained.
    ContentChanged,
    /// Entry 1 does not start from [`ZERO_HASH`].
    FirstNotZero,
    /// An entry's previous hash is not the hash of the entry before it.
    BrokenLink,
    /// An entry comes after a higher seq in the export.
    OutOfOrder,
    /// A seq appears more than once.
    Duplicate,
    /// Seqs are missing between two entries.
    Missing,
    /// The export starts after seq 1 and no checkpoint anchors its beginning.
    Unanchored,
    /// A checkpoint of another chain.
    CheckpointOrigin,
    /// A checkpoint signed with a key that is not trusted.
    CheckpointUnknownKey,
    /// A checkpoint whose signature does not verify (altered, replaced or forged).
    CheckpointBadSignature,
    /// A checkpoint whose head is not the hash of the entry at its size.
    CheckpointHeadMismatch,
    /// A checkpoint beyond the export's last entry: records are missing at the end.
    TruncatedTail,
    /// Entries after the last checkpoint.
    Unsealed,
    /// A FHIR AuditEvent of an export that is not the one its entry gives (the derived
    /// `audit-events.ndjson` was altered, or has events no entry has).
    FhirMismatch,
}

/// One thing wrong with an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The first seq concerned, when one is.
    pub seq: Option<i64>,
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// What is wrong, for a person; it names the seq itself (`seq 17: …`).
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.what)
    }
}

/// What the verifier found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Entries read.
    pub entries: u64,
    /// The lowest seq read.
    pub first_seq: Option<i64>,
    /// The highest seq read.
    pub last_seq: Option<i64>,
    /// Checkpoints checked (the anchor included).
    pub checkpoints: u64,
    /// Ids of the keys whose signatures verified, in the order first seen.
    pub signing_keys: Vec<String>,
    /// Every problem, ordered by the seq it names (problems at one seq in the order found),
    /// so the first names the first bad seq.
    pub problems: Vec<Problem>,
}

impl Report {
    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}
