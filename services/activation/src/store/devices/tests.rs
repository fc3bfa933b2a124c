//! The store conformance suite: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::device::{DeviceFacts, DeviceStatus, StatusCause};
use crate::store::events;
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    devices_list_per_organization_in_pages,
    devices_list_per_clinic,
    a_key_belongs_to_one_device,
    an_account_has_one_device_that_is_not_revoked,
    a_status_change_is_stored_and_logged,
    a_status_change_rolled_back_leaves_no_trace,
    locking_returns_the_device_or_not_found,
    an_account_device_is_found_only_while_not_revoked,
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

fn in_clinic(org: &str, n: u32, clinic: &str) -> Device {
    Device {
        clinic_id: clinic.to_owned(),
        ..device(org, n)
    }
}

fn ids(devices: &[Device]) -> Vec<String> {
    devices.iter().map(|d| d.id.clone()).collect()
}

async fn devices_list_per_organization_in_pages(pool: AnyPool) {
    for n in 1..=5 {
        insert_device(&pool, &device("org-a", n)).await.unwrap();
    }
    insert_device(&pool, &device("org-b", 9)).await.unwrap();
    let (first, next) = list_devices(&pool, "org-a", Clinics::All, None, 3)
        .await
        .unwrap();
    assert_eq!(
        first,
        (1..=3).map(|n| device("org-a", n)).collect::<Vec<_>>()
    );
    let (rest, end) = list_devices(&pool, "org-a", Clinics::All, next.as_deref(), 3)
        .await
        .unwrap();
    assert_eq!(
        rest,
        (4..=5).map(|n| device("org-a", n)).collect::<Vec<_>>()
    );
    assert_eq!(end, None);
    let (none, _) = list_devices(&pool, "org-c", Clinics::All, None, 3)
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn devices_list_per_clinic(pool: AnyPool) {
    insert_device(&pool, &in_clinic("org-a", 1, "c1"))
        .await
        .unwrap();
    insert_device(&pool, &in_clinic("org-a", 2, "c2"))
        .await
        .unwrap();
    insert_device(&pool, &in_clinic("org-a", 3, "c3"))
        .await
        .unwrap();
    insert_device(&pool, &in_clinic("org-a", 4, "c2"))
        .await
        .unwrap();
    insert_device(&pool, &in_clinic("org-b", 5, "c2"))
        .await
        .unwrap();

    let c2 = ["c2".to_owned()];
    let (one, next) = list_devices(&pool, "org-a", Clinics::Only(&c2), None, 1)
        .await
        .unwrap();
    assert_eq!(ids(&one), ids(&[device("org-a", 2)]));
    let (two, end) = list_devices(&pool, "org-a", Clinics::Only(&c2), next.as_deref(), 1)
        .await
        .unwrap();
    assert_eq!(ids(&two), ids(&[device("org-a", 4)]));
    assert_eq!(end, None);

    let some = ["c1".to_owned(), "c3".to_owned()];
    let (listed, _) = list_devices(&pool, "org-a", Clinics::Only(&some), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&listed), ids(&[device("org-a", 1), device("org-a", 3)]));

    let (nothing, end) = list_devices(&pool, "org-a", Clinics::Only(&[]), None, 10)
        .await
        .unwrap();
    assert!(nothing.is_empty() && end.is_none());
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

async fn an_account_has_one_device_that_is_not_revoked(pool: AnyPool) {
    let first = device("org-a", 1);
    insert_device(&pool, &first).await.unwrap();
    // A second terminal for the same account is refused while the first is not revoked…
    let second = Device {
        account_id: first.account_id.clone(),
        status: DeviceStatus::Pending,
        ..device("org-a", 2)
    };
    let err = insert_device(&pool, &second).await.unwrap_err();
    assert!(
        matches!(&err, Error::Db(e) if mynafleet_kit::db::is_unique_violation(e)),
        "{err:?}"
    );
    // …even a suspended one…
    let mut conn = pool.acquire().await.unwrap();
    set_status_on(
        &mut conn,
        "org-a",
        &first.id,
        DeviceStatus::Suspended,
        StatusCause::Operator,
        "lost",
        50,
    )
    .await
    .unwrap();
    assert!(insert_device(&pool, &second).await.is_err());
    // …and admitted once it is revoked; another organization's W0000001 is another account.
    set_status_on(
        &mut conn,
        "org-a",
        &first.id,
        DeviceStatus::Revoked,
        StatusCause::Operator,
        "replaced",
        60,
    )
    .await
    .unwrap();
    insert_device(&pool, &second).await.unwrap();
    let other_org = Device {
        account_id: first.account_id.clone(),
        ..device("org-b", 3)
    };
    insert_device(&pool, &other_org).await.unwrap();
    // Reviving the revoked one would make two: refused.
    let err = set_status_on(
        &mut conn,
        "org-a",
        &first.id,
        DeviceStatus::Active,
        StatusCause::Operator,
        "",
        70,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::Db(e) if mynafleet_kit::db::is_unique_violation(e)),
        "{err:?}"
    );
}

async fn a_status_change_is_stored_and_logged(pool: AnyPool) {
    let d = device("org-a", 1);
    insert_device(&pool, &d).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let now = set_status_on(
        &mut conn,
        "org-a",
        &d.id,
        DeviceStatus::Suspended,
        StatusCause::Operator,
        "タブレット紛失",
        1_000,
    )
    .await
    .unwrap();
    let expected = Device {
        status: DeviceStatus::Suspended,
        status_cause: StatusCause::Operator,
        status_reason: "タブレット紛失".to_owned(),
        status_time: 1_000,
        ..d.clone()
    };
    assert_eq!(now, expected);
    assert_eq!(get_device(&pool, "org-a", &d.id).await.unwrap(), expected);
    let logged = events::after(&pool, 0, 10).await.unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(
        (logged[0].status, logged[0].cause, logged[0].time),
        (DeviceStatus::Suspended, StatusCause::Operator, 1_000)
    );
    assert_eq!(logged[0].device_name(), d.name());
    assert_eq!(logged[0].account_name(), d.account_name());

    // Another organization cannot name it.
    let err = set_status_on(
        &mut conn,
        "org-b",
        &d.id,
        DeviceStatus::Revoked,
        StatusCause::Operator,
        "",
        2_000,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::DeviceNotFound), "{err:?}");
    assert_eq!(events::head(&pool).await.unwrap(), logged[0].seq);
}

async fn a_status_change_rolled_back_leaves_no_trace(pool: AnyPool) {
    let d = device("org-a", 1);
    insert_device(&pool, &d).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    set_status_on(
        &mut tx,
        "org-a",
        &d.id,
        DeviceStatus::Revoked,
        StatusCause::Operator,
        "",
        5,
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(get_device(&pool, "org-a", &d.id).await.unwrap(), d);
    assert_eq!(events::head(&pool).await.unwrap(), 0);
    assert!(events::after(&pool, 0, 10).await.unwrap().is_empty());
}

async fn locking_returns_the_device_or_not_found(pool: AnyPool) {
    let d = device("org-a", 1);
    insert_device(&pool, &d).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    assert_eq!(lock_device_on(&mut tx, "org-a", &d.id).await.unwrap(), d);
    let err = lock_device_on(&mut tx, "org-b", &d.id).await.unwrap_err();
    assert!(matches!(err, Error::DeviceNotFound), "{err:?}");
    let err = lock_device_on(&mut tx, "org-a", "nope").await.unwrap_err();
    assert!(matches!(err, Error::DeviceNotFound), "{err:?}");
    tx.commit().await.unwrap();
    // Locking changes nothing and logs nothing.
    assert_eq!(get_device(&pool, "org-a", &d.id).await.unwrap(), d);
    assert_eq!(events::head(&pool).await.unwrap(), 0);
}

async fn an_account_device_is_found_only_while_not_revoked(pool: AnyPool) {
    let d = device("org-a", 1);
    insert_device(&pool, &d).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    let found = lock_account_device_on(&mut tx, "org-a", &d.account_id)
        .await
        .unwrap();
    assert_eq!(found, Some(d.clone()));
    assert_eq!(
        lock_account_device_on(&mut tx, "org-b", &d.account_id)
            .await
            .unwrap(),
        None
    );
    set_status_on(
        &mut tx,
        "org-a",
        &d.id,
        DeviceStatus::Revoked,
        StatusCause::Account,
        "ACCOUNT_ENDED",
        9,
    )
    .await
    .unwrap();
    assert_eq!(
        lock_account_device_on(&mut tx, "org-a", &d.account_id)
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();
}
