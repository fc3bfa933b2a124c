use super::*;

fn wire(seconds: i64, nanos: i32) -> Timestamp {
    Timestamp { seconds, nanos }
}

fn reported() -> pb::DevicePresence {
    pb::DevicePresence {
        online: true,
        readers: vec![
            pb::DeviceReader {
                name: "Virtual PCD 00 00".into(),
                card_present: true,
            },
            pb::DeviceReader {
                name: "Virtual\nPCD 00 01".into(),
                card_present: false,
            },
        ],
        last_scan_time: Some(wire(1_700_000_000, 250_000_000)),
        agent_version: "0.1.0".into(),
        report_time: Some(wire(1_700_000_010, 0)),
        proxy: "proxy-1:7443".into(),
    }
}

#[test]
fn a_reported_presence_is_parsed_cleaned_and_shown_again() {
    let p = presence_from_pb(Some(&reported())).unwrap();
    assert!(p.online);
    assert_eq!(p.report_time, 1_700_000_010_000_000);
    assert_eq!(p.last_scan_time, Some(1_700_000_000_250_000));
    assert_eq!(
        p.readers[1].name, "VirtualPCD 00 01",
        "control characters go"
    );
    let back = presence_to_pb(&p);
    assert_eq!(back.readers[0], reported().readers[0]);
    assert_eq!(back.last_scan_time, reported().last_scan_time);
    assert_eq!(back.report_time, reported().report_time);
    assert_eq!(back.proxy, "proxy-1:7443");
    assert_eq!(back.agent_version, "0.1.0");
}

#[test]
fn a_report_without_presence_or_a_valid_time_is_a_field_violation() {
    let no_time = pb::DevicePresence {
        report_time: None,
        ..reported()
    };
    let bad_time = pb::DevicePresence {
        report_time: Some(wire(1, -1)),
        ..reported()
    };
    let bad_scan = pb::DevicePresence {
        last_scan_time: Some(wire(i64::MAX, 0)),
        ..reported()
    };
    for (p, field) in [
        (None, "presence"),
        (Some(&no_time), "presence.report_time"),
        (Some(&bad_time), "presence.report_time"),
        (Some(&bad_scan), "presence.last_scan_time"),
    ] {
        let err = presence_from_pb(p).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidFields(v) if v.len() == 1 && v[0].field == field),
            "{field}: {err:?}"
        );
    }
    let no_scan = pb::DevicePresence {
        last_scan_time: None,
        ..reported()
    };
    assert_eq!(
        presence_from_pb(Some(&no_scan)).unwrap().last_scan_time,
        None
    );
}
