use super::*;

fn reader(name: &str, card_present: bool) -> PresenceReader {
    PresenceReader {
        name: name.to_owned(),
        card_present,
    }
}

#[test]
fn a_report_is_cleaned_and_bounded_before_it_is_kept() {
    let mut readers = vec![reader("Virtual\tPCD\n00 00", true), reader("\n", false)];
    readers.extend((0..40).map(|n| reader(&format!("reader {n}"), false)));
    let p = DevicePresence {
        online: true,
        readers,
        last_scan_time: Some(5),
        agent_version: format!("0.1.0\u{7}{}", "x".repeat(500)),
        report_time: 7,
        proxy: "proxy-1\r\n".to_owned(),
    }
    .bounded();
    assert_eq!(p.readers.len(), 16);
    assert_eq!(p.readers[0], reader("VirtualPCD00 00", true));
    assert_eq!(
        p.readers[1],
        reader("reader 0", false),
        "the empty name is dropped"
    );
    assert_eq!(p.agent_version.chars().count(), 200);
    assert!(p.agent_version.starts_with("0.1.0x"));
    assert_eq!(p.proxy, "proxy-1");
    assert!(p.online);
    assert_eq!((p.last_scan_time, p.report_time), (Some(5), 7));
}
