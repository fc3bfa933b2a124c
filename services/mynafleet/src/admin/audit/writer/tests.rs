use super::*;
use crate::admin::audit::testing::{chain, export, lines, seal, test_origin};
use crate::admin::audit::verify::{check, exit_code};
use mynafleet_kit::audit_chain::Signer;

fn seqs(path: &Path) -> Vec<i64> {
    lines(path)
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

fn open(dir: &Path, format: Option<Format>, fhir: bool) -> anyhow::Result<Writer> {
    Writer::open(dir, &test_origin(), format, fhir, "https://test", "t2")
}

#[test]
fn a_second_export_resumes_after_the_last_seq_without_duplicates() {
    let x = export(Format::Jsonl, 10, 10);
    let more = chain(15);
    let mut w = open(&x.dir, None, false).unwrap();
    assert_eq!(w.last_seq(), 10);
    // The server's pages may overlap what the export has; only new entries are appended.
    let added = w
        .append(
            &more[5..],
            &[seal(&x.signer, &more, 10), seal(&x.signer, &more, 15)],
        )
        .unwrap();
    assert_eq!(added, 5);
    w.finish("t3").unwrap();
    assert_eq!(
        seqs(&x.dir.join("records.jsonl")),
        (1..=15).collect::<Vec<_>>()
    );
    let sizes: Vec<i64> = seqs_of_checkpoints(&x.dir);
    assert_eq!(sizes, [10, 15]);
    let m = files::read_manifest(&x.dir).unwrap().unwrap();
    assert_eq!((m.first_seq, m.last_seq), (Some(1), Some(15)));
    assert_eq!(m.exported_at, "t3");
    let v = check(&x.dir, Some(&x.trusted)).unwrap();
    assert!(v.report.is_ok(), "{:#?}", v.report.problems);
}

fn seqs_of_checkpoints(dir: &Path) -> Vec<i64> {
    lines(&dir.join(CHECKPOINTS))
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["size"]
                .as_i64()
                .unwrap()
        })
        .collect()
}

#[test]
fn a_half_written_line_is_cut_off_before_resuming() {
    for format in [Format::Jsonl, Format::Csv] {
        let x = export(format, 10, 5);
        let path = x.dir.join(format.file_name());
        files::append(&path, b"{\"seq\":11,\"prev_hash\":\"00").unwrap();
        files::append(&x.dir.join(CHECKPOINTS), b"{\"origin\":").unwrap();
        assert_eq!(exit_code(&check(&x.dir, Some(&x.trusted))), 2);

        let more = chain(14);
        let mut w = open(&x.dir, None, false).unwrap();
        assert_eq!(w.last_seq(), 10);
        assert!(
            w.notes.iter().any(|n| n.contains("half-written")),
            "{:?}",
            w.notes
        );
        w.append(&more[10..], &[seal(&x.signer, &more, 14)])
            .unwrap();
        w.finish("t3").unwrap();
        let v = check(&x.dir, Some(&x.trusted)).unwrap();
        assert!(v.report.is_ok(), "{format:?}: {:#?}", v.report.problems);
        assert_eq!(v.report.entries, 14);
        assert_eq!(v.report.checkpoints, 3);
    }
}

#[test]
fn a_server_chain_that_does_not_continue_the_export_is_refused() {
    let x = export(Format::Jsonl, 10, 10);
    let mut other = chain(12);
    other[10].prev_hash = [7; 32];
    let mut w = open(&x.dir, None, false).unwrap();
    let e = w.append(&other[10..], &[]).unwrap_err();
    assert!(format!("{e:#}").contains("seq 11 does not follow"), "{e:#}");
    let e = w.append(&other[11..], &[]).unwrap_err();
    assert!(format!("{e:#}").contains("continues at seq 12"), "{e:#}");
    assert_eq!(seqs(&x.dir.join("records.jsonl")).len(), 10);
}

#[test]
fn directories_that_hold_something_else_are_refused() {
    let x = export(Format::Jsonl, 3, 3);
    let e = Writer::open(
        &x.dir,
        "mynafleet-audit/organizations/other",
        None,
        false,
        "",
        "",
    )
    .unwrap_err();
    assert!(format!("{e:#}").contains("holds an export of"), "{e:#}");
    let e = open(&x.dir, Some(Format::Csv), false).unwrap_err();
    assert!(format!("{e:#}").contains("holds a jsonl export"), "{e:#}");

    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let e = open(tmp.path(), None, false).unwrap_err();
    assert!(format!("{e:#}").contains("holds no export"), "{e:#}");
}

#[test]
fn records_the_manifest_does_not_know_of_are_refused_when_lines_went_missing() {
    let x = export(Format::Jsonl, 10, 10);
    let path = x.dir.join("records.jsonl");
    let mut all = lines(&path);
    all.truncate(8);
    crate::admin::audit::testing::write_lines(&path, &all);
    let e = open(&x.dir, None, false).unwrap_err();
    assert!(format!("{e:#}").contains("ends before seq 10"), "{e:#}");
}

#[test]
fn fhir_events_follow_the_records_one_per_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x");
    let (signer, _) = Signer::generate().unwrap();
    let all = chain(9);
    // A first export without FHIR, then one with: the earlier entries get their events too.
    let mut w = open(&dir, None, false).unwrap();
    w.append(&all[..4], &[seal(&signer, &all, 4)]).unwrap();
    let mut w = open(&dir, None, true).unwrap();
    assert_eq!(lines(&dir.join(FHIR)).len(), 4);
    w.append(&all[4..6], &[]).unwrap();
    // An interrupted run that wrote events but not their records: the extra events go.
    files::append(
        &dir.join(FHIR),
        b"{\"resourceType\":\"AuditEvent\"}\n{\"res",
    )
    .unwrap();
    let mut w = open(&dir, None, false).unwrap();
    assert_eq!(lines(&dir.join(FHIR)).len(), 6);
    w.append(&all[6..], &[seal(&signer, &all, 9)]).unwrap();
    let events = lines(&dir.join(FHIR));
    assert_eq!(events.len(), 9);
    for e in &events {
        let v: serde_json::Value = serde_json::from_str(e).unwrap();
        assert_eq!(v["resourceType"], "AuditEvent");
    }
}

#[test]
fn an_empty_chain_exports_and_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("x");
    let (signer, _) = Signer::generate().unwrap();
    let mut w = open(&dir, Some(Format::Csv), false).unwrap();
    w.append(&[], &[seal(&signer, &[], 0)]).unwrap();
    w.write_keys(&KeyRing(vec![signer.public_key().clone()]))
        .unwrap();
    w.finish("t").unwrap();
    let v = check(&dir, None).unwrap();
    assert!(v.report.is_ok(), "{:#?}", v.report.problems);
    assert_eq!(v.report.entries, 0);
    // A later export with records appends the CSV header first.
    let all = chain(2);
    let mut w = open(&dir, None, false).unwrap();
    w.append(&all, &[seal(&signer, &all, 2)]).unwrap();
    let v = check(&dir, None).unwrap();
    assert!(v.report.is_ok(), "{:#?}", v.report.problems);
    assert_eq!(v.report.entries, 2);
}
