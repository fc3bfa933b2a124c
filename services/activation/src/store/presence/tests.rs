//! The store conformance suite: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::device::{Device, DeviceFacts, DeviceStatus, StatusCause};
use crate::store::devices;
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    a_report_is_kept_and_moves_last_seen_and_version,
    a_newer_report_wins_and_an_older_one_is_ignored,
    a_report_without_scan_or_version_keeps_the_known_ones,
    an_unknown_device_or_another_clinic_is_not_found,
    presence_of_many_devices_is_read_by_id,
);

const ORG: &str = "org-a";
const CLINIC: &str = "c1";

fn device_id(n: u32) -> String {
    format!("0190{n:04}-0000-7000-8000-000000000000")
}

async fn registered(pool: &AnyPool, n: u32) -> String {
    let d = Device {
        id: device_id(n),
        organization_id: ORG.to_owned(),
        clinic_id: CLINIC.to_owned(),
        account_id: format!("W{n:07}"),
        institution_code: "1310112345".to_owned(),
        status: DeviceStatus::Active,
        status_cause: StatusCause::Activation,
        status_reason: String::new(),
        status_time: 1,
        key_fingerprint: format!("key-{n}"),
        code_id: String::new(),
        certificate_serial: String::new(),
        certificate_not_after: None,
        certificate_pem: String::new(),
        create_time: 1,
        first_seen_time: Some(1),
        last_seen_time: Some(50),
        facts: DeviceFacts {
            agent_version: "0.0.9".to_owned(),
            ..DeviceFacts::default()
        },
    };
    devices::insert_device(pool, &d).await.unwrap();
    d.id
}

fn report(online: bool, report_time: i64, proxy: &str) -> DevicePresence {
    DevicePresence {
        online,
        readers: vec![
            PresenceReader {
                name: "Virtual PCD 00 00".to_owned(),
                card_present: true,
            },
            PresenceReader {
                name: "Virtual PCD 00 01".to_owned(),
                card_present: false,
            },
        ],
        last_scan_time: Some(report_time - 5),
        agent_version: "0.1.0".to_owned(),
        report_time,
        proxy: proxy.to_owned(),
    }
}

async fn a_report_is_kept_and_moves_last_seen_and_version(pool: AnyPool) {
    let id = registered(&pool, 1).await;
    assert_eq!(get(&pool, &id).await.unwrap(), None, "no report yet");
    let p = report(true, 100, "proxy-a");
    assert_eq!(
        record(&pool, ORG, CLINIC, &id, &p).await.unwrap(),
        Recorded::Kept
    );
    assert_eq!(get(&pool, &id).await.unwrap(), Some(p));
    let d = devices::get_device(&pool, ORG, &id).await.unwrap();
    assert_eq!(d.last_seen_time, Some(100));
    assert_eq!(d.facts.agent_version, "0.1.0");
}

async fn a_newer_report_wins_and_an_older_one_is_ignored(pool: AnyPool) {
    let id = registered(&pool, 1).await;
    // Proxy B's stream opened (t=200) after proxy A's closed, but A's offline report (t=150)
    // arrives last: the device stays online.
    let newer = report(true, 200, "proxy-b");
    record(&pool, ORG, CLINIC, &id, &newer).await.unwrap();
    let older = DevicePresence {
        agent_version: "0.0.1".to_owned(),
        ..report(false, 150, "proxy-a")
    };
    assert_eq!(
        record(&pool, ORG, CLINIC, &id, &older).await.unwrap(),
        Recorded::Stale
    );
    assert_eq!(get(&pool, &id).await.unwrap(), Some(newer.clone()));
    let d = devices::get_device(&pool, ORG, &id).await.unwrap();
    assert_eq!(d.last_seen_time, Some(200), "never moves back");
    assert_eq!(
        d.facts.agent_version, "0.1.0",
        "a stale version is not kept"
    );
    // At an equal time the later call wins (one proxy, a clock that did not move).
    let same_time = report(false, 200, "proxy-b");
    assert_eq!(
        record(&pool, ORG, CLINIC, &id, &same_time).await.unwrap(),
        Recorded::Kept
    );
    assert!(!get(&pool, &id).await.unwrap().unwrap().online);
}

async fn a_report_without_scan_or_version_keeps_the_known_ones(pool: AnyPool) {
    let id = registered(&pool, 1).await;
    record(&pool, ORG, CLINIC, &id, &report(true, 100, "proxy-a"))
        .await
        .unwrap();
    let bare = DevicePresence {
        online: false,
        readers: Vec::new(),
        last_scan_time: None,
        agent_version: String::new(),
        report_time: 120,
        proxy: "proxy-a".to_owned(),
    };
    record(&pool, ORG, CLINIC, &id, &bare).await.unwrap();
    let kept = get(&pool, &id).await.unwrap().unwrap();
    assert!(!kept.online);
    assert!(kept.readers.is_empty());
    assert_eq!(kept.last_scan_time, Some(95));
    assert_eq!(kept.agent_version, "0.1.0");
    assert_eq!(kept.report_time, 120);
    let d = devices::get_device(&pool, ORG, &id).await.unwrap();
    assert_eq!(d.facts.agent_version, "0.1.0");
    assert_eq!(d.last_seen_time, Some(120));
}

async fn an_unknown_device_or_another_clinic_is_not_found(pool: AnyPool) {
    let id = registered(&pool, 1).await;
    let p = report(true, 100, "proxy-a");
    for (org, clinic, device) in [
        (ORG, CLINIC, device_id(2)),
        (ORG, "c2", id.clone()),
        ("org-b", CLINIC, id.clone()),
    ] {
        assert!(
            matches!(
                record(&pool, org, clinic, &device, &p).await,
                Err(Error::DeviceNotFound)
            ),
            "{org} {clinic} {device}"
        );
    }
    assert_eq!(get(&pool, &id).await.unwrap(), None, "nothing was kept");
    let d = devices::get_device(&pool, ORG, &id).await.unwrap();
    assert_eq!(d.last_seen_time, Some(50));
}

async fn presence_of_many_devices_is_read_by_id(pool: AnyPool) {
    let ids = [
        registered(&pool, 1).await,
        registered(&pool, 2).await,
        registered(&pool, 3).await,
    ];
    record(&pool, ORG, CLINIC, &ids[0], &report(true, 100, "proxy-a"))
        .await
        .unwrap();
    record(&pool, ORG, CLINIC, &ids[2], &report(false, 90, "proxy-b"))
        .await
        .unwrap();
    let all = of_devices(&pool, &ids).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[&ids[0]], report(true, 100, "proxy-a"));
    assert_eq!(all[&ids[2]], report(false, 90, "proxy-b"));
    assert!(!all.contains_key(&ids[1]));
    assert!(of_devices(&pool, &[]).await.unwrap().is_empty());
}
