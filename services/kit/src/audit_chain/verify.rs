//! The offline verifier (issue #7 item 6): entries fed in export order and the checkpoints
//! beside them are checked for a gap-free chain whose every hash recomputes, checkpoints whose
//! signatures verify under trusted keys and whose heads match the entries, and an end that
//! some checkpoint seals (so a truncated tail shows).
//!
//! It is pure: it never reads files or talks to a server, so the CLI decides where an export
//! and the trusted keys come from. It keeps one seq and hash per entry (40 bytes), never the
//! records themselves.

mod report;

pub use report::{Problem, ProblemKind, Report};

use super::{Checkpoint, CheckpointError, Entry, Hash, KeyRing, ZERO_HASH, entry_hash};

/// Checks one chain; feed entries with [`Verifier::entry`] in file order, then call
/// [`Verifier::finish`] with the checkpoints.
#[derive(Debug)]
pub struct Verifier {
    origin: String,
    anchor: Option<Checkpoint>,
    keys: KeyRing,
    report: Report,
    /// Seq and stored hash of every entry, in file order until `finish` sorts them.
    hashes: Vec<(i64, Hash)>,
    /// Seq and previous hash of entries whose predecessor in the file was not the entry
    /// before them in the chain; their links are checked once everything is read.
    unlinked: Vec<(i64, Hash)>,
    /// Seq and hash of the entry fed last.
    last: Option<(i64, Hash)>,
    /// Whether no entry came after a higher seq in the file.
    in_order: bool,
}

fn seqs(from: i64, to: i64) -> String {
    if from == to {
        format!("seq {from}")
    } else {
        format!("seqs {from}..{to}")
    }
}

impl Verifier {
    /// Starts a check of the chain `origin`. `anchor` is the checkpoint the first entry
    /// continues from when retention removed the chain's beginning (None: entry 1 first, or
    /// the checkpoint among those given to [`Verifier::finish`] whose size is one below the
    /// lowest seq).
    pub fn new(origin: &str, anchor: Option<Checkpoint>, keys: KeyRing) -> Self {
        Self {
            origin: origin.to_owned(),
            anchor,
            keys,
            report: Report::default(),
            hashes: Vec::new(),
            unlinked: Vec::new(),
            last: None,
            in_order: true,
        }
    }

    fn problem(&mut self, seq: i64, kind: ProblemKind, what: String) {
        self.report.problems.push(Problem {
            seq: Some(seq),
            kind,
            what,
        });
    }

    /// Checks the next entry.
    pub fn entry(&mut self, e: &Entry) {
        let seq = e.seq;
        self.report.entries += 1;
        if seq < 1 {
            self.problem(
                seq,
                ProblemKind::InvalidSeq,
                format!("seq {seq}: not a place in a chain (seqs start at 1)"),
            );
            return;
        }
        self.report.first_seq = Some(self.report.first_seq.map_or(seq, |f| f.min(seq)));
        if entry_hash(&self.origin, seq, &e.prev_hash, &e.record) != e.hash {
            self.problem(
                seq,
                ProblemKind::ContentChanged,
                format!(
                    "seq {seq}: record content does not match its hash (changed after it was chained)"
                ),
            );
        }
        if seq == 1 && e.prev_hash != ZERO_HASH {
            self.problem(
                seq,
                ProblemKind::FirstNotZero,
                "seq 1: its previous hash is not zero, so it does not start the chain".into(),
            );
        }
        match self.report.last_seq {
            Some(max) if seq == max => self.problem(
                seq,
                ProblemKind::Duplicate,
                format!("seq {seq}: appears more than once in the export"),
            ),
            Some(max) if seq < max => {
                self.in_order = false;
                self.problem(
                    seq,
                    ProblemKind::OutOfOrder,
                    format!("seq {seq}: out of order, it comes after seq {max} in the export"),
                );
            }
            _ => self.report.last_seq = Some(seq),
        }
        let follows = self
            .last
            .is_some_and(|(prev_seq, _)| prev_seq.checked_add(1) == Some(seq));
        if follows {
            if self.last.is_some_and(|(_, h)| h != e.prev_hash) {
                self.problem(seq, ProblemKind::BrokenLink, broken_link(seq));
            }
        } else if seq > 1 {
            self.unlinked.push((seq, e.prev_hash));
        }
        self.last = Some((seq, e.hash));
        self.hashes.push((seq, e.hash));
    }

    /// Checks `checkpoints` (and the anchor) against what was fed and returns the report.
    pub fn finish(mut self, checkpoints: &[Checkpoint]) -> Report {
        if !self.in_order {
            self.hashes.sort_by_key(|&(seq, _)| seq);
        }
        self.check_order_and_gaps();
        self.check_deferred_links();
        let mut all: Vec<&Checkpoint> = Vec::with_capacity(checkpoints.len() + 1);
        let anchor = self.anchor.take();
        if let Some(a) = &anchor
            && !checkpoints.contains(a)
        {
            all.push(a);
        }
        all.extend(checkpoints);
        self.check_start(&all);
        let mut sealed_to: Option<i64> = None;
        for cp in all {
            if self.checkpoint(cp) {
                sealed_to = Some(sealed_to.map_or(cp.size, |s| s.max(cp.size)));
            }
        }
        if let Some(last) = self.report.last_seq {
            let after = sealed_to.unwrap_or(0);
            if after < last {
                let from = (after + 1).max(self.report.first_seq.unwrap_or(1));
                self.problem(
                    from,
                    ProblemKind::Unsealed,
                    format!(
                        "{}: not sealed by any checkpoint (the export should end at a checkpoint, so records after seq {after} may have been added or removed)",
                        seqs(from, last)
                    ),
                );
            }
        }
        self.report
            .problems
            .sort_by_key(|p| p.seq.unwrap_or(i64::MAX));
        self.report
    }

    /// Returns the stored hash of entry `seq`, when it was read.
    fn hash_of(&self, seq: i64) -> Option<Hash> {
        self.hashes
            .binary_search_by_key(&seq, |&(s, _)| s)
            .ok()
            .map(|i| self.hashes[i].1)
    }

    /// Reports duplicates the file order did not show and seqs missing between entries.
    fn check_order_and_gaps(&mut self) {
        let mut found = Vec::new();
        for pair in self.hashes.windows(2) {
            let (a, b) = (pair[0].0, pair[1].0);
            if a == b && !self.in_order {
                found.push((
                    a,
                    ProblemKind::Duplicate,
                    format!("seq {a}: appears more than once in the export"),
                ));
            } else if b - a > 1 {
                found.push((
                    a + 1,
                    ProblemKind::Missing,
                    format!(
                        "{} missing: entries jump from {a} to {b}",
                        seqs(a + 1, b - 1)
                    ),
                ));
            }
        }
        if !self.in_order {
            // Out-of-order duplicates are found above; drop the ones `entry` already named.
            found.retain(|(seq, kind, _)| {
                *kind != ProblemKind::Duplicate
                    || !self
                        .report
                        .problems
                        .iter()
                        .any(|p| p.seq == Some(*seq) && p.kind == ProblemKind::Duplicate)
            });
        }
        for (seq, kind, what) in found {
            self.problem(seq, kind, what);
        }
    }

    /// Checks the links of entries that did not follow their predecessor in the file.
    fn check_deferred_links(&mut self) {
        let unlinked = std::mem::take(&mut self.unlinked);
        for &(seq, prev) in &unlinked {
            if let Some(hash) = self.hash_of(seq - 1)
                && hash != prev
            {
                self.problem(seq, ProblemKind::BrokenLink, broken_link(seq));
            }
        }
        // Kept: the first entry's previous hash is checked against the anchor.
        self.unlinked = unlinked;
    }

    /// Checks that an export starting after seq 1 has a checkpoint anchoring its beginning.
    fn check_start(&mut self, checkpoints: &[&Checkpoint]) {
        let Some(first) = self.report.first_seq else {
            return;
        };
        if first == 1 {
            return;
        }
        let anchored = checkpoints
            .iter()
            .any(|cp| cp.origin == self.origin && cp.size == first - 1);
        if !anchored {
            self.problem(
                1,
                ProblemKind::Unanchored,
                format!(
                    "{} missing: the export starts at seq {first} and no checkpoint anchors its beginning",
                    seqs(1, first - 1)
                ),
            );
        }
    }

    /// Checks one checkpoint; returns whether it is trustworthy and seals its size.
    fn checkpoint(&mut self, cp: &Checkpoint) -> bool {
        self.report.checkpoints += 1;
        let size = cp.size;
        let first = self.report.first_seq;
        let is_anchor = first.is_some_and(|f| f > 1 && size == f - 1);
        let name = if is_anchor {
            format!("anchor checkpoint at size {size}")
        } else {
            format!("checkpoint at size {size}")
        };
        let at = size.max(1);
        if cp.origin != self.origin {
            self.problem(
                at,
                ProblemKind::CheckpointOrigin,
                format!(
                    "seq {at}: the {name} belongs to another chain ({}, not {})",
                    cp.origin, self.origin
                ),
            );
            return false;
        }
        match cp.verify(&self.keys) {
            Ok(()) => {
                if !self.report.signing_keys.contains(&cp.key_id) {
                    self.report.signing_keys.push(cp.key_id.clone());
                }
            }
            Err(CheckpointError::UnknownKey(key)) => {
                self.problem(
                    at,
                    ProblemKind::CheckpointUnknownKey,
                    format!(
                        "seq {at}: the {name} is signed with key {key}, which is not a trusted key"
                    ),
                );
                return false;
            }
            Err(CheckpointError::BadSignature(key)) => {
                self.problem(
                    at,
                    ProblemKind::CheckpointBadSignature,
                    format!(
                        "seq {at}: signature does not verify under key {key} for the {name} (it was altered, replaced or signed with another key)"
                    ),
                );
                return false;
            }
            Err(CheckpointError::MalformedSignature) => {
                self.problem(
                    at,
                    ProblemKind::CheckpointBadSignature,
                    format!("seq {at}: the signature of the {name} is malformed"),
                );
                return false;
            }
        }
        // Signed by a trusted key, so it seals its size even when the records disagree.
        self.checkpoint_head(cp, &name);
        true
    }

    /// Checks a checkpoint's head against the entries.
    fn checkpoint_head(&mut self, cp: &Checkpoint, name: &str) {
        let size = cp.size;
        let (Some(first), Some(last)) = (self.report.first_seq, self.report.last_seq) else {
            // No entries: only an empty chain's checkpoint can be checked.
            if size == 0 && cp.head != ZERO_HASH {
                self.head_mismatch(1, format!("seq 1: checkpoint head does not match an empty chain (the {name} must have a zero head)"));
                return;
            }
            if size > 0 {
                self.problem(
                    1,
                    ProblemKind::TruncatedTail,
                    format!(
                        "seq 1: {name} but the export holds no records (records missing at the end)"
                    ),
                );
            }
            return;
        };
        if size > last {
            self.problem(
                last + 1,
                ProblemKind::TruncatedTail,
                format!(
                    "seq {}: {name} but the export ends at seq {last} (records missing at the end)",
                    last + 1
                ),
            );
            return;
        }
        let expected = if size == 0 {
            Some(ZERO_HASH)
        } else if size == first - 1 {
            // The anchor: the first entry continues from its head.
            self.unlinked_prev(first).or_else(|| self.hash_of(size))
        } else {
            self.hash_of(size)
        };
        match expected {
            Some(head) if head == cp.head => {}
            Some(_) if size == first - 1 => {
                self.head_mismatch(
                    first,
                    format!(
                        "seq {first}: its previous hash does not match the head of the {name} (the anchor was replaced or the records re-chained)"
                    ),
                );
            }
            Some(_) => {
                self.head_mismatch(
                    size,
                    format!(
                        "seq {size}: checkpoint head does not match the hash of seq {size} (the {name} was replaced or the records re-chained)"
                    ),
                );
            }
            // Before the export's first entry or at a missing seq (reported as missing).
            None => {}
        }
    }

    /// Returns the previous hash the entry `seq` carries, when it was deferred.
    fn unlinked_prev(&self, seq: i64) -> Option<Hash> {
        self.unlinked
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|&(_, h)| h)
    }

    fn head_mismatch(&mut self, seq: i64, what: String) {
        self.problem(seq, ProblemKind::CheckpointHeadMismatch, what);
    }
}

fn broken_link(seq: i64) -> String {
    let before = seq - 1;
    format!(
        "seq {seq}: its previous hash does not match the hash of seq {before} (the chain is broken between them)"
    )
}

#[cfg(test)]
mod tests;
