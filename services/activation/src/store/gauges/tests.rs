//! Conformance cases: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::device::{Device, DeviceFacts, DeviceStatus, StatusCause};
use crate::store::devices::insert_device;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    an_empty_registry_has_no_devices_and_no_expiry,
    devices_are_counted_per_status,
    only_active_devices_count_towards_certificate_expiry,
);

const NOW: i64 = 1_800_000_000_000_000;
const HOUR: i64 = 3_600_000_000;

fn device(n: u32, status: DeviceStatus, not_after: Option<i64>) -> Device {
    Device {
        id: format!("0190{n:04}-0000-7000-8000-000000000000"),
        organization_id: "org-a".to_owned(),
        clinic_id: "c1".to_owned(),
        account_id: format!("W{n:07}"),
        institution_code: "1310112345".to_owned(),
        status,
        status_cause: StatusCause::Activation,
        status_reason: String::new(),
        status_time: 1,
        key_fingerprint: format!("{n:064}"),
        code_id: String::new(),
        certificate_serial: format!("{n:032x}"),
        certificate_not_after: not_after,
        certificate_pem: String::new(),
        create_time: 1,
        first_seen_time: None,
        last_seen_time: None,
        facts: DeviceFacts::default(),
    }
}

async fn an_empty_registry_has_no_devices_and_no_expiry(pool: AnyPool) {
    assert!(devices_by_status(&pool).await.unwrap().is_empty());
    assert_eq!(
        certificate_expiry(&pool, NOW).await.unwrap(),
        CertificateExpiry::default()
    );
}

async fn devices_are_counted_per_status(pool: AnyPool) {
    let statuses = [
        DeviceStatus::Active,
        DeviceStatus::Active,
        DeviceStatus::Pending,
        DeviceStatus::Suspended,
        DeviceStatus::Revoked,
        DeviceStatus::Revoked,
        DeviceStatus::Revoked,
    ];
    for (n, status) in (1..).zip(statuses) {
        insert_device(&pool, &device(n, status, None))
            .await
            .unwrap();
    }
    assert_eq!(
        devices_by_status(&pool).await.unwrap(),
        vec![
            ("active".to_owned(), 2),
            ("pending".to_owned(), 1),
            ("revoked".to_owned(), 3),
            ("suspended".to_owned(), 1),
        ]
    );
}

async fn only_active_devices_count_towards_certificate_expiry(pool: AnyPool) {
    let active = [
        NOW - HOUR,           // expired an hour ago
        NOW,                  // expires right now: expired
        NOW + 2 * HOUR,       // within a day
        NOW + 3 * 24 * HOUR,  // within 7 days
        NOW + 20 * 24 * HOUR, // within 30 days
        NOW + 90 * 24 * HOUR, // later
    ];
    for (n, not_after) in (1..).zip(active) {
        insert_device(&pool, &device(n, DeviceStatus::Active, Some(not_after)))
            .await
            .unwrap();
    }
    // Neither a suspended device, nor a revoked one, nor one without a certificate counts.
    let others = [
        device(20, DeviceStatus::Suspended, Some(NOW - 10 * HOUR)),
        device(21, DeviceStatus::Revoked, Some(NOW + HOUR)),
        device(22, DeviceStatus::Pending, None),
    ];
    for d in &others {
        insert_device(&pool, d).await.unwrap();
    }
    assert_eq!(
        certificate_expiry(&pool, NOW).await.unwrap(),
        CertificateExpiry {
            expired: 2,
            within_1d: 1,
            within_7d: 2,
            within_30d: 3,
            earliest: Some(NOW - HOUR),
        }
    );
}
