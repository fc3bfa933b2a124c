use super::super::testing::{ORG, T0, link, sealed_chain, test_origin};
use super::super::{PublicKey, Signer, origin};
use super::*;

struct Fixture {
    origin: String,
    signer: Signer,
    entries: Vec<Entry>,
    checkpoints: Vec<Checkpoint>,
}

/// A chain of 20 entries with checkpoints at 10 and 20.
fn fixture() -> Fixture {
    let (entries, checkpoints, signer) = sealed_chain(20, 10);
    Fixture {
        origin: test_origin(),
        signer,
        entries,
        checkpoints,
    }
}

impl Fixture {
    fn ring(&self) -> KeyRing {
        KeyRing(vec![self.signer.public_key().clone()])
    }

    fn verify(&self) -> Report {
        self.verify_with(None, self.ring())
    }

    fn verify_with(&self, anchor: Option<Checkpoint>, keys: KeyRing) -> Report {
        let mut v = Verifier::new(&self.origin, anchor, keys);
        for e in &self.entries {
            v.entry(e);
        }
        v.finish(&self.checkpoints)
    }

    /// Re-chains the entries from `index` on (links and hashes), as an attacker without the
    /// signing key can.
    fn rechain_from(&mut self, index: usize) {
        let mut prev = if index == 0 {
            ZERO_HASH
        } else {
            self.entries[index - 1].hash
        };
        for e in &mut self.entries[index..] {
            e.prev_hash = prev;
            e.hash = entry_hash(&self.origin, e.seq, &prev, &e.record);
            prev = e.hash;
        }
    }
}

fn kinds(report: &Report) -> Vec<(Option<i64>, ProblemKind)> {
    // Every message opens with the seq it concerns, as the CLI prints it.
    for p in &report.problems {
        let seq = p.seq.unwrap();
        assert!(
            p.what.starts_with(&format!("seq {seq}"))
                || p.what.starts_with(&format!("seqs {seq}..")),
            "{p:?}"
        );
    }
    report.problems.iter().map(|p| (p.seq, p.kind)).collect()
}

fn first(report: &Report) -> &Problem {
    assert!(!report.is_ok(), "expected a problem");
    &report.problems[0]
}

#[test]
fn a_clean_chain_verifies_and_is_counted() {
    let f = fixture();
    let report = f.verify();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.entries, 20);
    assert_eq!(report.first_seq, Some(1));
    assert_eq!(report.last_seq, Some(20));
    assert_eq!(report.checkpoints, 2);
    assert_eq!(
        report.signing_keys,
        vec![f.signer.public_key().key_id.clone()]
    );
}

#[test]
fn a_chain_anchored_after_retention_verifies() {
    let mut f = fixture();
    let anchor = f.checkpoints[0].clone();
    f.entries.drain(..10);
    // Given explicitly.
    let report = f.verify_with(Some(anchor.clone()), f.ring());
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.first_seq, Some(11));
    assert_eq!(report.checkpoints, 2);
    // Or found among the exported checkpoints.
    let report = f.verify();
    assert!(report.is_ok(), "{:?}", report.problems);
}

#[test]
fn a_changed_field_names_its_seq() {
    let mut f = fixture();
    f.entries[16].record.actor = format!("{ORG}/operators/mallory");
    let report = f.verify();
    assert_eq!(
        kinds(&report),
        vec![(Some(17), ProblemKind::ContentChanged)]
    );
    assert_eq!(
        first(&report).what,
        "seq 17: record content does not match its hash (changed after it was chained)"
    );
}

#[test]
fn a_changed_detail_value_names_its_seq() {
    let mut f = fixture();
    f.entries[4]
        .record
        .detail
        .insert("result".into(), "ok".into());
    let report = f.verify();
    assert_eq!(kinds(&report), vec![(Some(5), ProblemKind::ContentChanged)]);
}

#[test]
fn a_deleted_record_names_the_missing_seq() {
    let mut f = fixture();
    f.entries.remove(17);
    let report = f.verify();
    assert_eq!(kinds(&report), vec![(Some(18), ProblemKind::Missing)]);
    assert_eq!(
        first(&report).what,
        "seq 18 missing: entries jump from 17 to 19"
    );
}

#[test]
fn several_deleted_records_name_the_range() {
    let mut f = fixture();
    f.entries.drain(3..6);
    let report = f.verify();
    assert_eq!(
        first(&report).what,
        "seqs 4..6 missing: entries jump from 3 to 7"
    );
}

#[test]
fn two_records_swapped_in_the_file_are_out_of_order() {
    let mut f = fixture();
    f.entries.swap(4, 5);
    let report = f.verify();
    assert_eq!(kinds(&report), vec![(Some(5), ProblemKind::OutOfOrder)]);
    assert_eq!(
        first(&report).what,
        "seq 5: out of order, it comes after seq 6 in the export"
    );
}

#[test]
fn two_records_with_swapped_contents_do_not_match_their_hashes() {
    let mut f = fixture();
    let a = f.entries[4].record.clone();
    f.entries[4].record = f.entries[5].record.clone();
    f.entries[5].record = a;
    let report = f.verify();
    assert_eq!(
        kinds(&report),
        vec![
            (Some(5), ProblemKind::ContentChanged),
            (Some(6), ProblemKind::ContentChanged),
        ]
    );
}

#[test]
fn two_records_swapped_and_rechained_do_not_match_the_checkpoint() {
    let mut f = fixture();
    let a = f.entries[4].record.clone();
    f.entries[4].record = f.entries[5].record.clone();
    f.entries[5].record = a;
    f.rechain_from(4);
    let report = f.verify();
    assert_eq!(
        kinds(&report),
        vec![
            (Some(10), ProblemKind::CheckpointHeadMismatch),
            (Some(20), ProblemKind::CheckpointHeadMismatch),
        ]
    );
    assert_eq!(
        first(&report).what,
        "seq 10: checkpoint head does not match the hash of seq 10 (the checkpoint at size 10 was replaced or the records re-chained)"
    );
}

#[test]
fn a_broken_link_names_the_seq_after_it() {
    let mut f = fixture();
    // Seq 8 re-hashed after a change, seq 9 left alone: 8 recomputes, 9 no longer links.
    f.entries[7].record.outcome = "denied".into();
    let e = &mut f.entries[7];
    e.hash = entry_hash(&f.origin, e.seq, &e.prev_hash, &e.record);
    let report = f.verify();
    assert_eq!(kinds(&report), vec![(Some(9), ProblemKind::BrokenLink)]);
    assert_eq!(
        first(&report).what,
        "seq 9: its previous hash does not match the hash of seq 8 (the chain is broken between them)"
    );
}

#[test]
fn a_broken_link_is_found_when_the_file_is_out_of_order() {
    let mut f = fixture();
    f.entries[12].prev_hash = [9; 32];
    let e = &mut f.entries[12];
    e.hash = entry_hash(&f.origin, e.seq, &e.prev_hash, &e.record);
    f.rechain_from(13);
    f.entries.swap(12, 14);
    let report = f.verify();
    assert!(
        kinds(&report).contains(&(Some(13), ProblemKind::BrokenLink)),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_truncated_tail_is_caught_by_the_checkpoint_beyond_it() {
    let mut f = fixture();
    f.entries.truncate(17);
    let report = f.verify();
    assert_eq!(kinds(&report), vec![(Some(18), ProblemKind::TruncatedTail)]);
    assert_eq!(
        first(&report).what,
        "seq 18: checkpoint at size 20 but the export ends at seq 17 (records missing at the end)"
    );
}

#[test]
fn a_truncated_tail_with_its_checkpoint_removed_is_unsealed() {
    let mut f = fixture();
    f.entries.truncate(17);
    f.checkpoints.pop();
    let report = f.verify();
    assert_eq!(kinds(&report), vec![(Some(11), ProblemKind::Unsealed)]);
    assert!(
        first(&report)
            .what
            .starts_with("seqs 11..17: not sealed by any checkpoint")
    );
}

#[test]
fn records_appended_after_the_last_checkpoint_are_unsealed() {
    let mut f = fixture();
    let more = link(&f.origin, 21, 21, f.entries[19].hash);
    f.entries.extend(more);
    let report = f.verify();
    assert_eq!(kinds(&report), vec![(Some(21), ProblemKind::Unsealed)]);
    assert!(
        first(&report)
            .what
            .starts_with("seq 21: not sealed by any checkpoint")
    );
}

#[test]
fn a_replaced_checkpoint_with_another_head_does_not_match_the_records() {
    let mut f = fixture();
    let cp = &f.checkpoints[0];
    f.checkpoints[0] = f.signer.sign(&cp.origin, cp.size, [3; 32], cp.time);
    let report = f.verify();
    assert_eq!(
        kinds(&report),
        vec![(Some(10), ProblemKind::CheckpointHeadMismatch)]
    );
}

#[test]
fn a_checkpoint_altered_after_signing_does_not_verify() {
    let mut f = fixture();
    f.checkpoints[0].head = f.entries[8].hash;
    let report = f.verify();
    assert_eq!(
        kinds(&report),
        vec![(Some(10), ProblemKind::CheckpointBadSignature)]
    );
    let key = &f.signer.public_key().key_id;
    assert_eq!(
        first(&report).what,
        format!(
            "seq 10: signature does not verify under key {key} for the checkpoint at size 10 (it was altered, replaced or signed with another key)"
        )
    );
}

#[test]
fn a_checkpoint_signed_with_an_untrusted_key_is_caught() {
    let mut f = fixture();
    let (other, _) = Signer::generate().unwrap();
    let cp = &f.checkpoints[1];
    f.checkpoints[1] = other.sign(&cp.origin, cp.size, cp.head, cp.time);
    let report = f.verify();
    // Untrusted, so it does not seal the entries after seq 10 either.
    assert_eq!(
        kinds(&report),
        vec![
            (Some(11), ProblemKind::Unsealed),
            (Some(20), ProblemKind::CheckpointUnknownKey),
        ]
    );
    let key = &other.public_key().key_id;
    assert_eq!(
        report.problems[1].what,
        format!(
            "seq 20: the checkpoint at size 20 is signed with key {key}, which is not a trusted key"
        )
    );
}

#[test]
fn a_checkpoint_signed_with_another_key_under_a_trusted_key_id_is_caught() {
    let mut f = fixture();
    let (other, _) = Signer::generate().unwrap();
    let cp = &f.checkpoints[1];
    let mut forged = other.sign(&cp.origin, cp.size, cp.head, cp.time);
    // Claims the trusted key's id; the signature is the other key's.
    forged.key_id = cp.key_id.clone();
    f.checkpoints[1] = forged;
    let report = f.verify();
    assert!(
        kinds(&report).contains(&(Some(20), ProblemKind::CheckpointBadSignature)),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_checkpoint_of_another_origin_is_caught() {
    let mut f = fixture();
    let cp = &f.checkpoints[1];
    let elsewhere = origin("organizations/01J0000000000000000000ORG2");
    f.checkpoints
        .push(f.signer.sign(&elsewhere, cp.size, cp.head, cp.time));
    let report = f.verify();
    assert_eq!(
        kinds(&report),
        vec![(Some(20), ProblemKind::CheckpointOrigin)]
    );
    assert!(first(&report).what.contains("belongs to another chain"));
}

#[test]
fn an_export_starting_after_seq_1_without_an_anchor_is_caught() {
    let mut f = fixture();
    f.entries.drain(..10);
    f.checkpoints.remove(0);
    let report = f.verify();
    assert_eq!(kinds(&report), vec![(Some(1), ProblemKind::Unanchored)]);
    assert_eq!(
        first(&report).what,
        "seqs 1..10 missing: the export starts at seq 11 and no checkpoint anchors its beginning"
    );
}

#[test]
fn an_anchor_that_does_not_match_the_first_entry_is_caught() {
    let mut f = fixture();
    f.entries.drain(..10);
    let anchor = f.signer.sign(&f.origin, 10, [5; 32], T0);
    f.checkpoints.remove(0);
    let report = f.verify_with(Some(anchor), f.ring());
    assert_eq!(
        kinds(&report),
        vec![(Some(11), ProblemKind::CheckpointHeadMismatch)]
    );
    assert!(first(&report).what.starts_with(
        "seq 11: its previous hash does not match the head of the anchor checkpoint at size 10"
    ));
}

#[test]
fn an_anchor_that_does_not_verify_is_caught() {
    let mut f = fixture();
    f.entries.drain(..10);
    let mut anchor = f.checkpoints.remove(0);
    anchor.time += 1;
    let report = f.verify_with(Some(anchor), f.ring());
    assert_eq!(
        kinds(&report),
        vec![(Some(10), ProblemKind::CheckpointBadSignature)]
    );
    assert!(
        first(&report)
            .what
            .starts_with("seq 10: signature does not verify under key")
    );
    assert!(
        first(&report)
            .what
            .contains("for the anchor checkpoint at size 10")
    );
}

#[test]
fn entry_1_must_start_from_the_zero_hash() {
    let mut f = fixture();
    let e = &mut f.entries[0];
    e.prev_hash = [1; 32];
    e.hash = entry_hash(&f.origin, 1, &e.prev_hash, &e.record);
    f.rechain_from(1);
    let report = f.verify();
    assert_eq!(kinds(&report)[0], (Some(1), ProblemKind::FirstNotZero));
}

#[test]
fn a_duplicated_record_is_caught() {
    let mut f = fixture();
    let copy = f.entries[6].clone();
    f.entries.insert(7, copy.clone());
    f.entries.push(copy);
    let report = f.verify();
    assert_eq!(
        kinds(&report),
        vec![
            (Some(7), ProblemKind::Duplicate),
            (Some(7), ProblemKind::OutOfOrder),
        ]
    );
}

#[test]
fn an_entry_moved_from_another_chain_does_not_match_its_hash() {
    let mut f = fixture();
    let elsewhere = origin("organizations/01J0000000000000000000ORG2");
    let other = link(&elsewhere, 1, 3, ZERO_HASH);
    f.entries[2] = other[2].clone();
    let report = f.verify();
    assert_eq!(kinds(&report)[0], (Some(3), ProblemKind::ContentChanged));
}

#[test]
fn a_key_ring_without_the_signer_trusts_nothing() {
    let f = fixture();
    let (other, _) = Signer::generate().unwrap();
    let ring = KeyRing(vec![PublicKey::from_bytes(other.public_key().bytes)]);
    let report = f.verify_with(None, ring);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::CheckpointUnknownKey),
        "{:?}",
        report.problems
    );
}
