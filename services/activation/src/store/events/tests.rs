//! The store conformance suite: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::device::DeviceFacts;
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    events_come_in_commit_order_from_any_point,
    a_rolled_back_change_leaves_no_gap,
    a_change_waits_for_an_uncommitted_one,
);

fn device(n: u32, status: DeviceStatus, cause: StatusCause, time: i64) -> Device {
    Device {
        id: format!("dev-{n}"),
        organization_id: "org-a".to_owned(),
        clinic_id: "c1".to_owned(),
        account_id: format!("W{n:07}"),
        institution_code: String::new(),
        status,
        status_cause: cause,
        status_reason: String::new(),
        status_time: time,
        key_fingerprint: format!("k{n}"),
        code_id: String::new(),
        certificate_serial: String::new(),
        certificate_not_after: None,
        certificate_pem: String::new(),
        create_time: 0,
        first_seen_time: None,
        last_seen_time: None,
        facts: DeviceFacts::default(),
    }
}

async fn append_alone(pool: &AnyPool, d: &Device) -> i64 {
    let mut tx = pool.begin().await.unwrap();
    let seq = append(&mut tx, d).await.unwrap();
    tx.commit().await.unwrap();
    seq
}

async fn events_come_in_commit_order_from_any_point(pool: AnyPool) {
    assert_eq!(head(&pool).await.unwrap(), 0);
    assert!(after(&pool, 0, 10).await.unwrap().is_empty());
    let changes = [
        device(1, DeviceStatus::Pending, StatusCause::Activation, 10),
        device(1, DeviceStatus::Active, StatusCause::Activation, 11),
        device(2, DeviceStatus::Suspended, StatusCause::Account, 12),
        device(1, DeviceStatus::Revoked, StatusCause::Operator, 13),
    ];
    let mut seqs = Vec::new();
    for d in &changes {
        seqs.push(append_alone(&pool, d).await);
    }
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(head(&pool).await.unwrap(), 4);

    let all = after(&pool, 0, 10).await.unwrap();
    let seen: Vec<_> = all
        .iter()
        .map(|e| (e.seq, e.device_id.as_str(), e.status, e.cause, e.time))
        .collect();
    assert_eq!(
        seen,
        [
            (
                1,
                "dev-1",
                DeviceStatus::Pending,
                StatusCause::Activation,
                10
            ),
            (
                2,
                "dev-1",
                DeviceStatus::Active,
                StatusCause::Activation,
                11
            ),
            (
                3,
                "dev-2",
                DeviceStatus::Suspended,
                StatusCause::Account,
                12
            ),
            (4, "dev-1", DeviceStatus::Revoked, StatusCause::Operator, 13),
        ]
    );
    assert_eq!(
        all[2].device_name(),
        "organizations/org-a/clinics/c1/devices/dev-2"
    );
    assert_eq!(
        all[2].account_name(),
        "organizations/org-a/clinics/c1/accounts/W0000002"
    );

    // Pages: a limit, then on from the last one seen; nothing after the head.
    let first = after(&pool, 0, 2).await.unwrap();
    assert_eq!(first.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    let rest = after(&pool, 2, 10).await.unwrap();
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
    assert!(after(&pool, 4, 10).await.unwrap().is_empty());
}

async fn a_rolled_back_change_leaves_no_gap(pool: AnyPool) {
    append_alone(
        &pool,
        &device(1, DeviceStatus::Active, StatusCause::Activation, 1),
    )
    .await;
    let mut tx = pool.begin().await.unwrap();
    let lost = append(
        &mut tx,
        &device(1, DeviceStatus::Revoked, StatusCause::Operator, 2),
    )
    .await
    .unwrap();
    assert_eq!(lost, 2);
    tx.rollback().await.unwrap();
    assert_eq!(head(&pool).await.unwrap(), 1);
    // The number is used again: a reader that saw 1 misses nothing.
    let next = append_alone(
        &pool,
        &device(1, DeviceStatus::Suspended, StatusCause::Operator, 3),
    )
    .await;
    assert_eq!(next, 2);
    let seen: Vec<_> = after(&pool, 1, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.status))
        .collect();
    assert_eq!(seen, [(2, DeviceStatus::Suspended)]);
}

async fn a_change_waits_for_an_uncommitted_one(pool: AnyPool) {
    let mut first = pool.begin().await.unwrap();
    let seq = append(
        &mut first,
        &device(1, DeviceStatus::Active, StatusCause::Activation, 1),
    )
    .await
    .unwrap();
    assert_eq!(seq, 1);
    // A second writer queues behind the first instead of taking a later number and
    // committing before it (which a reader polling "after 1" would never see).
    let second = tokio::spawn({
        let pool = pool.clone();
        async move {
            append_alone(
                &pool,
                &device(2, DeviceStatus::Suspended, StatusCause::Operator, 2),
            )
            .await
        }
    });
    assert!(after(&pool, 0, 10).await.unwrap().is_empty());
    first.commit().await.unwrap();
    assert_eq!(second.await.unwrap(), 2);
    let seqs: Vec<_> = after(&pool, 0, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2]);
}
