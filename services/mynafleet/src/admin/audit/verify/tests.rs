use super::*;
use crate::admin::audit::records::Format;
use crate::admin::audit::testing::{
    Export, edit_json_line, export, export_with, lines, seal, test_origin, write_lines,
};
use mynafleet_kit::audit_chain::{KeyRing, Signer};

fn records(x: &Export) -> std::path::PathBuf {
    x.dir.join("records.jsonl")
}

fn checkpoints(x: &Export) -> std::path::PathBuf {
    x.dir.join(CHECKPOINTS)
}

/// Verifies `x` with its trusted key file; returns the exit code and the problem lines.
fn verify(x: &Export) -> (u8, Vec<String>) {
    let result = check(&x.dir, Some(&x.trusted));
    let code = exit_code(&result);
    let problems = match result {
        Ok(v) => v.report.problems.iter().map(problem_line).collect(),
        Err(e) => vec![e.to_string()],
    };
    (code, problems)
}

/// Asserts the check failed (exit 1) and its first problem names `seq`.
fn assert_caught(x: &Export, seq: i64) -> Vec<String> {
    let (code, problems) = verify(x);
    assert_eq!(code, 1, "{problems:#?}");
    let first = problems.first().expect("a problem");
    assert!(
        [
            format!("seq {seq}:"),
            format!("seq {seq} "),
            format!("seqs {seq}..")
        ]
        .iter()
        .any(|p| first.starts_with(p)),
        "first problem names seq {seq}: {problems:#?}"
    );
    problems
}

/// Returns the index in checkpoints.jsonl of the checkpoint at `size`.
fn checkpoint_line(x: &Export, size: i64) -> usize {
    lines(&checkpoints(x))
        .iter()
        .position(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["size"] == size)
        .unwrap()
}

fn replace_checkpoint(x: &Export, size: i64, c: &mynafleet_kit::audit_chain::Checkpoint) {
    let path = checkpoints(x);
    let mut all = lines(&path);
    all[checkpoint_line(x, size)] = serde_json::to_string(&files::CheckpointLine::of(c)).unwrap();
    write_lines(&path, &all);
}

#[test]
fn an_untouched_export_verifies() {
    let x = export(Format::Jsonl, 20, 10);
    let v = check(&x.dir, Some(&x.trusted)).unwrap();
    assert!(v.report.is_ok(), "{:#?}", v.report.problems);
    assert!(!v.keys_from_export);
    assert_eq!(
        ok_line(&v),
        format!(
            "OK: 20 records, seq 1..20, 2 checkpoints, all signatures by key {}",
            x.signer.public_key().key_id
        )
    );
    // Without --keys the export's own keys are used, and the person is told what that means.
    let own = check(&x.dir, None).unwrap();
    assert!(own.report.is_ok());
    assert!(own.keys_from_export);
    assert!(OWN_KEYS_WARNING.contains("--keys"));
}

#[test]
fn a_changed_field_is_caught_at_its_seq() {
    let x = export(Format::Jsonl, 20, 10);
    edit_json_line(&records(&x), 6, |v| {
        v["actor"] = "organizations/o/operators/someone-else".into();
    });
    let problems = assert_caught(&x, 7);
    assert!(
        problems[0].contains("does not match its hash"),
        "{problems:#?}"
    );
}

#[test]
fn a_changed_detail_is_caught_at_its_seq() {
    let x = export(Format::Jsonl, 20, 10);
    edit_json_line(&records(&x), 2, |v| {
        v["detail"]["method"] = "number".into();
    });
    assert_caught(&x, 3);
}

#[test]
fn a_deleted_record_is_caught_at_its_seq() {
    let x = export(Format::Jsonl, 20, 10);
    let mut all = lines(&records(&x));
    all.remove(11);
    write_lines(&records(&x), &all);
    let problems = assert_caught(&x, 12);
    assert!(problems[0].contains("missing"), "{problems:#?}");
}

#[test]
fn two_swapped_records_are_caught_at_the_first() {
    let x = export(Format::Jsonl, 20, 10);
    let mut all = lines(&records(&x));
    all.swap(4, 5);
    write_lines(&records(&x), &all);
    assert_caught(&x, 5);
}

#[test]
fn a_truncated_tail_is_caught_after_the_last_record_kept() {
    let x = export(Format::Jsonl, 20, 10);
    let mut all = lines(&records(&x));
    all.truncate(17);
    write_lines(&records(&x), &all);
    let problems = assert_caught(&x, 18);
    assert!(
        problems.iter().any(|p| p.contains("missing at the end")),
        "{problems:#?}"
    );
}

#[test]
fn a_truncated_tail_with_its_checkpoint_removed_is_caught_by_the_manifest() {
    let x = export(Format::Jsonl, 20, 10);
    let mut all = lines(&records(&x));
    all.truncate(10);
    write_lines(&records(&x), &all);
    let mut cps = lines(&checkpoints(&x));
    cps.truncate(1);
    write_lines(&checkpoints(&x), &cps);
    let problems = assert_caught(&x, 11);
    assert!(problems[0].contains("truncated tail"), "{problems:#?}");
}

#[test]
fn a_checkpoint_replaced_for_another_head_is_caught() {
    let x = export(Format::Jsonl, 20, 10);
    // Re-signed with the real key, but over the head of seq 9 instead of seq 10.
    let forged = x
        .signer
        .sign(&test_origin(), 10, x.entries[8].hash, 1_790_000_200_000_000);
    replace_checkpoint(&x, 10, &forged);
    let problems = assert_caught(&x, 10);
    assert!(problems[0].contains("head does not match"), "{problems:#?}");
}

#[test]
fn a_checkpoint_with_a_bad_signature_is_caught() {
    let x = export(Format::Jsonl, 20, 10);
    let mut altered = seal(&x.signer, &x.entries, 10);
    altered.time += 1; // the note changes, the signature stays
    replace_checkpoint(&x, 10, &altered);
    let problems = assert_caught(&x, 10);
    assert!(
        problems[0].contains("signature does not verify"),
        "{problems:#?}"
    );
}

#[test]
fn checkpoints_signed_with_another_key_are_caught_with_the_trusted_keys() {
    let x = export(Format::Jsonl, 20, 10);
    // The attacker re-signs every checkpoint and ships their own key in keys.txt.
    let (other, _) = Signer::generate().unwrap();
    for size in [10, 20] {
        replace_checkpoint(&x, size, &seal(&other, &x.entries, size));
    }
    std::fs::write(
        x.dir.join(KEYS),
        KeyRing(vec![other.public_key().clone()]).to_text(),
    )
    .unwrap();
    // The export's own keys only prove consistency...
    let own = check(&x.dir, None).unwrap();
    assert!(own.report.is_ok() && own.keys_from_export);
    // ...the kept trusted key shows the forgery.
    let problems = assert_caught(&x, 1);
    let wanted = format!("signed with key {}", other.public_key().key_id);
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&wanted) && p.contains("not a trusted key")),
        "{problems:#?}"
    );
}

#[test]
fn a_csv_export_verifies_and_catches_a_changed_field() {
    let x = export(Format::Csv, 12, 5);
    let v = check(&x.dir, Some(&x.trusted)).unwrap();
    assert!(v.report.is_ok(), "{:#?}", v.report.problems);
    assert_eq!(v.report.entries, 12);
    assert_eq!(v.report.checkpoints, 3);

    let path = x.dir.join("records.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = text.replacen("req-4,", "req-404,", 1);
    assert_ne!(text, changed);
    std::fs::write(&path, changed).unwrap();
    assert_caught(&x, 4);
}

#[test]
fn unusable_input_names_the_file_and_line_and_exits_2() {
    let x = export(Format::Jsonl, 5, 5);
    let mut all = lines(&records(&x));
    all[2] = "{not json".to_owned();
    write_lines(&records(&x), &all);
    let (code, problems) = verify(&x);
    assert_eq!(code, 2);
    assert!(
        problems[0].starts_with("records.jsonl line 3:"),
        "{problems:?}"
    );

    let x = export(Format::Jsonl, 5, 5);
    std::fs::remove_file(checkpoints(&x)).unwrap();
    let (code, problems) = verify(&x);
    assert_eq!(code, 2);
    assert!(
        problems[0].starts_with("checkpoints.jsonl: missing"),
        "{problems:?}"
    );

    let x = export(Format::Jsonl, 5, 5);
    std::fs::write(&x.trusted, "not a key\n").unwrap();
    let (code, problems) = verify(&x);
    assert_eq!(code, 2);
    assert!(
        problems[0].contains("line 1: not a key line"),
        "{problems:?}"
    );
}

#[test]
fn a_half_written_last_line_is_unusable_until_the_export_repairs_it() {
    let x = export(Format::Jsonl, 5, 5);
    files::append(&records(&x), b"{\"seq\":6,\"prev_").unwrap();
    let (code, problems) = verify(&x);
    assert_eq!(code, 2);
    assert!(problems[0].contains("line 6: half written"), "{problems:?}");
}

#[test]
fn an_altered_fhir_event_is_caught_at_its_seq() {
    let x = export_with(Format::Jsonl, 20, 10, true);
    let (code, problems) = verify(&x);
    assert_eq!(code, 0, "{problems:#?}");
    edit_json_line(&x.dir.join(FHIR), 4, |v| {
        v["outcomeDesc"] = "rewritten after export".into();
    });
    let problems = assert_caught(&x, 5);
    assert!(
        problems[0].contains("audit-events.ndjson line 5"),
        "{problems:#?}"
    );
}

#[test]
fn fhir_events_missing_or_added_are_caught() {
    let x = export_with(Format::Jsonl, 20, 10, true);
    let path = x.dir.join(FHIR);
    let all = lines(&path);
    write_lines(&path, &all[..19]);
    let problems = assert_caught(&x, 20);
    assert!(problems[0].contains("events missing"), "{problems:#?}");

    let mut more = all.clone();
    more.push(all[19].clone());
    write_lines(&path, &more);
    let problems = assert_caught(&x, 20);
    assert!(
        problems[0].contains("past the last record"),
        "{problems:#?}"
    );
}
