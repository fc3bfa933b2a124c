//! The store conformance suite: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::device::{DeviceFacts, DeviceStatus, StatusCause};
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    devices_list_per_organization_in_pages,
    a_key_belongs_to_one_device,
);

fn device(org: &str, n: u32) -> Device {
    Device {
        id: format!("0190{n:04}-0000-7000-8000-000000000000"),
        organization_id: org.to_owned(),
        clinic_id: "c1".to_owned(),
        account_id: format!("W{n:07}"),
        institution_code: "1310112345".to_owned(),
        status: DeviceStatus::Active,
        status_cause: StatusCause::Activation,
        status_reason: String::new(),
        status_time: i64::from(n),
        key_fingerprint: format!("{org}-{n:064}"),
        code_id: String::new(),
        certificate_serial: format!("{n:032x}"),
        certificate_not_after: Some(i64::from(n) + 1000),
        certificate_pem: String::new(),
        create_time: i64::from(n),
        first_seen_time: Some(i64::from(n)),
        last_seen_time: n.is_multiple_of(2).then_some(i64::from(n) + 10),
        facts: DeviceFacts {
            hostname: "reception-1".to_owned(),
            os: "linux".to_owned(),
            agent_version: "0.1.0".to_owned(),
            readers: vec![
                "Virtual PCD 00 00".to_owned(),
                "Virtual PCD 00 01".to_owned(),
            ],
        },
    }
}

async fn devices_list_per_organization_in_pages(pool: AnyPool) {
    for n in 1..=5 {
        insert_device(&pool, &device("org-a", n)).await.unwrap();
    }
    insert_device(&pool, &device("org-b", 9)).await.unwrap();
    let (first, next) = list_devices(&pool, "org-a", None, None, 3).await.unwrap();
    assert_eq!(
        first,
        (1..=3).map(|n| device("org-a", n)).collect::<Vec<_>>()
    );
    let (rest, end) = list_devices(&pool, "org-a", None, next.as_deref(), 3)
        .await
        .unwrap();
    assert_eq!(
        rest,
        (4..=5).map(|n| device("org-a", n)).collect::<Vec<_>>()
    );
    assert_eq!(end, None);
    let (none, _) = list_devices(&pool, "org-c", None, None, 3).await.unwrap();
    assert!(none.is_empty());
}

async fn a_key_belongs_to_one_device(pool: AnyPool) {
    insert_device(&pool, &device("org-a", 1)).await.unwrap();
    let mut twin = device("org-a", 2);
    twin.key_fingerprint = device("org-a", 1).key_fingerprint;
    let err = insert_device(&pool, &twin).await.unwrap_err();
    assert!(
        matches!(&err, Error::Db(e) if mynafleet_kit::db::is_unique_violation(e)),
        "{err:?}"
    );
}
