use super::*;
use time::macros::datetime;

fn record() -> IdentityRecord {
    IdentityRecord {
        device: "organizations/o1/clinics/c1/devices/d1".into(),
        account: "organizations/o1/clinics/c1/accounts/W0000001".into(),
        institution_code: "1312345678".into(),
        institution_name: "みなと診療所".into(),
        activation_url: "https://127.0.0.1:7502".into(),
        proxy_urls: vec![
            "https://127.0.0.1:7503".into(),
            "https://10.0.0.2:7503".into(),
        ],
        certificate_expire_time: datetime!(2026-11-20 09:00:00 UTC),
        issued_at: datetime!(2026-11-19 09:00:00 UTC),
    }
}

fn certificate() -> CertificateInfo {
    CertificateInfo {
        serial: "1A2B3C".into(),
        not_before: datetime!(2026-11-19 08:55:00 UTC),
        not_after: datetime!(2026-11-20 09:00:00 UTC),
        public_key: Vec::new(),
    }
}

#[test]
fn a_fresh_certificate_shows_identity_servers_and_when_it_renews() {
    let text = render(
        &record(),
        &certificate(),
        Path::new("/var/lib/mynafleet-agent"),
        datetime!(2026-11-19 10:00:00 UTC),
    );
    for want in [
        "organizations/o1/clinics/c1/devices/d1",
        "organizations/o1/clinics/c1/accounts/W0000001",
        "機関コード",
        "1312345678",
        "みなと診療所",
        "https://127.0.0.1:7502",
        "https://127.0.0.1:7503, https://10.0.0.2:7503",
        "serial 1A2B3C",
        "2026-11-20T09:00:00Z",
        // 70 % of 24 h after 09:00 is 01:48 the next day: 15 h 48 m after 10:00.
        "renews in about 15h 48m",
        "/var/lib/mynafleet-agent",
    ] {
        assert!(text.contains(want), "{want:?} missing from\n{text}");
    }
}

#[test]
fn an_overdue_renewal_and_an_expired_certificate_say_so() {
    let overdue = render(
        &record(),
        &certificate(),
        Path::new("/s"),
        datetime!(2026-11-20 08:00:00 UTC),
    );
    assert!(overdue.contains("renewal due"), "{overdue}");
    assert!(overdue.contains("expires in 1h 0m"), "{overdue}");

    let expired = render(
        &record(),
        &certificate(),
        Path::new("/s"),
        datetime!(2026-11-22 10:30:00 UTC),
    );
    assert!(expired.contains("expired 2d 1h ago"), "{expired}");
}

#[test]
fn durations_read_like_a_person_writes_them() {
    for (secs, want) in [
        (7, "7s"),
        (303, "5m 3s"),
        (60_480, "16h 48m"),
        (183_600, "2d 3h"),
    ] {
        assert_eq!(Human(Duration::from_secs(secs)).to_string(), want);
    }
}

#[test]
fn a_terminal_without_proxies_says_none() {
    let mut record = record();
    record.proxy_urls.clear();
    let text = render(
        &record,
        &certificate(),
        Path::new("/s"),
        datetime!(2026-11-19 10:00:00 UTC),
    );
    assert!(text.contains("(none)"), "{text}");
}
