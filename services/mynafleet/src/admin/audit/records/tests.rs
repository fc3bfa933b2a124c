use super::*;
use crate::admin::audit::testing::chain;
use mynafleet_kit::audit_chain::ENCODING;

#[test]
fn both_formats_read_back_exactly_what_was_written() {
    let entries = chain(7);
    for format in [Format::Jsonl, Format::Csv] {
        let mut text = render(format, &entries[..3], ENCODING, true).unwrap();
        text.extend(render(format, &entries[3..], ENCODING, false).unwrap());
        let back = parse(format, &text).unwrap();
        assert_eq!(
            back.iter().map(|e| e.entry.clone()).collect::<Vec<_>>(),
            entries,
            "{format:?}"
        );
        assert!(back.iter().all(|e| e.encoding == ENCODING));
    }
}

#[test]
fn jsonl_lines_carry_detail_as_an_object_and_csv_as_a_json_column() {
    let entries = chain(3);
    let jsonl = render(Format::Jsonl, &entries[2..], ENCODING, true).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&jsonl).unwrap();
    assert_eq!(v["seq"], 3);
    assert_eq!(v["detail"]["method"], "card");
    assert_eq!(v["encoding"], ENCODING);
    assert_eq!(v["hash"].as_str().unwrap().len(), 64);

    let csv = render(Format::Csv, &entries[2..], ENCODING, true).unwrap();
    let mut r = csv::Reader::from_reader(csv.as_slice());
    let headers = r.headers().unwrap().clone();
    assert_eq!(&headers[0], "seq");
    assert_eq!(headers.iter().next_back(), Some("detail"));
    let row = r.records().next().unwrap().unwrap();
    let detail: serde_json::Value = serde_json::from_str(&row[headers.len() - 1]).unwrap();
    assert_eq!(detail["note"], "受付, \"二番\"\n窓口");
}

#[test]
fn malformed_lines_are_named_by_file_and_line() {
    let entries = chain(3);
    let mut text = render(Format::Jsonl, &entries, ENCODING, true).unwrap();
    text.extend(b"{\"seq\": 4}\n");
    let e = parse(Format::Jsonl, &text).unwrap_err();
    assert!(e.0.starts_with("records.jsonl line 4:"), "{e}");

    let mut text = render(Format::Csv, &entries, ENCODING, true).unwrap();
    text.extend(b"x,y\n");
    let e = parse(Format::Csv, &text).unwrap_err();
    assert!(e.0.starts_with("records.csv line "), "{e}");
}
