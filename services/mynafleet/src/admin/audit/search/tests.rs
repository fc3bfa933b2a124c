use super::*;

#[test]
fn dates_are_midnight_japan_time_and_until_takes_the_whole_day() {
    let since = parse_since("2026-11-21").unwrap();
    assert_eq!(since.unix_timestamp(), 1_795_186_800); // 2026-11-20T15:00:00Z
    let until = parse_until("2026-11-21").unwrap();
    assert_eq!(until.unix_timestamp() - since.unix_timestamp(), 86_400);
    let exact = parse_until("2026-11-21T09:30:00+09:00").unwrap();
    assert_eq!(exact.unix_timestamp(), 1_795_186_800 + 9 * 3600 + 1800);
    assert!(parse_since("21/11/2026").unwrap_err().contains("RFC 3339"));
}

#[test]
fn devices_are_named_as_the_audit_log_names_them() {
    assert_eq!(device_name(" 0192f1c2 "), "devices/0192f1c2");
    assert_eq!(device_name("devices/x"), "devices/x");
}

#[test]
fn rows_show_japan_time_actor_and_the_clinic_id() {
    let r = audit_pb::AuditRecord {
        time: Some(Timestamp {
            seconds: 1_795_186_800,
            nanos: 0,
        }),
        actor_kind: "anonymous".into(),
        action: "session.login".into(),
        outcome: audit_pb::Outcome::Failure.into(),
        reason: "BAD_CREDENTIALS".into(),
        clinic: "organizations/o/clinics/c1".into(),
        ..Default::default()
    };
    assert_eq!(
        row(&r),
        [
            "2026-11-21 00:00:00",
            "anonymous",
            "session.login",
            "",
            "failure",
            "BAD_CREDENTIALS",
            "c1"
        ]
        .map(str::to_owned)
    );
}
