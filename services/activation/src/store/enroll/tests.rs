//! Conformance cases for binding, activating, renewing and replacing devices: every case
//! runs on SQLite and on PostgreSQL.

use super::*;
use crate::store::codes::{CodeState, code_on, issue_on};
use crate::store::devices::get_device;
use crate::store::events;
use sqlx::AnyPool;
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    binding_makes_a_pending_device_and_uses_the_code,
    an_account_keeps_one_device_until_it_is_revoked,
    a_key_is_bound_to_one_device,
    a_code_used_or_revoked_meanwhile_does_not_bind,
    activation_makes_the_device_active_with_its_certificate,
    renewal_takes_active_devices_only_and_may_change_the_key,
    replacing_revokes_the_device_and_issues_a_new_code_together,
);

const ORG: &str = "org-a";

fn new_code(n: u32, account: &str, time: i64) -> NewCode {
    NewCode {
        id: format!("0190{n:04}-0000-7000-8000-00000000c0de"),
        organization_id: ORG.to_owned(),
        clinic_id: "c1".to_owned(),
        account_id: account.to_owned(),
        code_hash: format!("$argon2id$hash-{n}"),
        issued_by: "organizations/org-a/operators/op-1".to_owned(),
        create_time: time,
        expire_time: time + 1_000,
    }
}

fn pending(n: u32, code: &StoredCode, now: i64) -> Device {
    Device {
        id: format!("0190{n:04}-0000-7000-8000-0000000de1ce"),
        organization_id: code.organization_id.clone(),
        clinic_id: code.clinic_id.clone(),
        account_id: code.account_id.clone(),
        institution_code: "3410712362".to_owned(),
        status: DeviceStatus::Pending,
        status_cause: StatusCause::Activation,
        status_reason: String::new(),
        status_time: now,
        key_fingerprint: format!("{n:064x}"),
        code_id: code.id.clone(),
        certificate_serial: String::new(),
        certificate_not_after: None,
        certificate_pem: String::new(),
        create_time: now,
        first_seen_time: None,
        last_seen_time: None,
        facts: DeviceFacts {
            hostname: "uketsuke-01".to_owned(),
            os: "linux".to_owned(),
            agent_version: "0.1.0".to_owned(),
            readers: vec!["Virtual PCD 00 00".to_owned()],
        },
    }
}

fn cert(n: u32, not_after: i64) -> IssuedCertificate {
    IssuedCertificate {
        serial_hex: format!("{n:032x}"),
        not_after,
        pem: format!("-----BEGIN CERTIFICATE-----\n{n}\n-----END CERTIFICATE-----\n"),
    }
}

async fn binding_makes_a_pending_device_and_uses_the_code(pool: AnyPool) {
    let mut tx = pool.begin().await.unwrap();
    let code = issue_on(&mut tx, &new_code(1, "W0000001", 10))
        .await
        .unwrap();
    let device = pending(1, &code, 20);
    let bound = bind_on(&mut tx, &code, &device, 20).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(bound, device);
    assert_eq!(get_device(&pool, ORG, &device.id).await.unwrap(), device);
    let mut conn = pool.acquire().await.unwrap();
    let used = code_on(&mut conn, ORG, &code.id).await.unwrap();
    assert_eq!(used.state, CodeState::Used);
    assert_eq!(used.device_id.as_deref(), Some(device.id.as_str()));
    assert_eq!(
        used.key_fingerprint.as_deref(),
        Some(device.key_fingerprint.as_str())
    );
    let log = events::after(&pool, 0, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].device_id.as_str(), log[0].status),
        (device.id.as_str(), DeviceStatus::Pending)
    );
}

async fn an_account_keeps_one_device_until_it_is_revoked(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let first = issue_on(&mut conn, &new_code(1, "W0000001", 10))
        .await
        .unwrap();
    bind_on(&mut conn, &first, &pending(1, &first, 20), 20)
        .await
        .unwrap();
    let second = issue_on(&mut conn, &new_code(2, "W0000001", 30))
        .await
        .unwrap();
    let mut tx = pool.begin().await.unwrap();
    let err = bind_on(&mut tx, &second, &pending(2, &second, 40), 40)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeviceAlreadyActive), "{err:?}");
    tx.rollback().await.unwrap();
    // Nothing of the refused binding stayed: the new code is still live.
    assert_eq!(
        code_on(&mut conn, ORG, &second.id).await.unwrap().state,
        CodeState::Live
    );
    // Once the first device is revoked, the account may bind another.
    set_status_on(
        &mut conn,
        ORG,
        &pending(1, &first, 0).id,
        DeviceStatus::Revoked,
        StatusCause::Operator,
        "lost",
        50,
    )
    .await
    .unwrap();
    let d = bind_on(&mut conn, &second, &pending(2, &second, 60), 60)
        .await
        .unwrap();
    assert_eq!(d.status, DeviceStatus::Pending);
}

async fn a_key_is_bound_to_one_device(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let a = issue_on(&mut conn, &new_code(1, "W0000001", 10))
        .await
        .unwrap();
    bind_on(&mut conn, &a, &pending(1, &a, 20), 20)
        .await
        .unwrap();
    let b = issue_on(&mut conn, &new_code(2, "W0000002", 10))
        .await
        .unwrap();
    let mut twin = pending(2, &b, 30);
    twin.key_fingerprint = pending(1, &a, 0).key_fingerprint;
    let mut tx = pool.begin().await.unwrap();
    let err = bind_on(&mut tx, &b, &twin, 30).await.unwrap_err();
    assert!(matches!(err, Error::DeviceStateConflict(_)), "{err:?}");
}

async fn a_code_used_or_revoked_meanwhile_does_not_bind(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let code = issue_on(&mut conn, &new_code(1, "W0000001", 10))
        .await
        .unwrap();
    // Read before a newer code replaced it.
    issue_on(&mut conn, &new_code(2, "W0000001", 15))
        .await
        .unwrap();
    let err = bind_on(&mut conn, &code, &pending(1, &code, 20), 20)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeviceStateConflict(_)), "{err:?}");
    assert!(matches!(
        get_device(&pool, ORG, &pending(1, &code, 0).id).await,
        Err(Error::DeviceNotFound)
    ));
}

async fn activation_makes_the_device_active_with_its_certificate(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let code = issue_on(&mut conn, &new_code(1, "W0000001", 10))
        .await
        .unwrap();
    let device = bind_on(&mut conn, &code, &pending(1, &code, 20), 20)
        .await
        .unwrap();
    let active = activate_on(&mut conn, ORG, &device.id, &cert(7, 9_000), 30)
        .await
        .unwrap();
    assert_eq!(active.status, DeviceStatus::Active);
    assert_eq!(active.status_cause, StatusCause::Activation);
    assert_eq!(active.status_time, 30);
    assert_eq!(active.certificate_serial, cert(7, 0).serial_hex);
    assert_eq!(active.certificate_not_after, Some(9_000));
    assert_eq!(active.certificate_pem, cert(7, 0).pem);
    assert_eq!(
        (active.first_seen_time, active.last_seen_time),
        (Some(30), Some(30))
    );
    let log = events::after(&pool, 0, 10).await.unwrap();
    assert_eq!(
        log.iter().map(|e| e.status).collect::<Vec<_>>(),
        [DeviceStatus::Pending, DeviceStatus::Active]
    );
    // Only a pending device becomes active this way.
    let err = activate_on(&mut conn, ORG, &device.id, &cert(8, 9_000), 40)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeviceStateConflict(_)), "{err:?}");
    set_status_on(
        &mut conn,
        ORG,
        &device.id,
        DeviceStatus::Suspended,
        StatusCause::Operator,
        "",
        50,
    )
    .await
    .unwrap();
    let err = activate_on(&mut conn, ORG, &device.id, &cert(8, 9_000), 60)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeviceSuspended), "{err:?}");
    assert!(matches!(
        activate_on(&mut conn, ORG, "no-such-device", &cert(8, 9_000), 60).await,
        Err(Error::DeviceNotFound)
    ));
}

async fn renewal_takes_active_devices_only_and_may_change_the_key(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let code = issue_on(&mut conn, &new_code(1, "W0000001", 10))
        .await
        .unwrap();
    let device = bind_on(&mut conn, &code, &pending(1, &code, 20), 20)
        .await
        .unwrap();
    let err = renew_on(
        &mut conn,
        ORG,
        &device.id,
        &device.key_fingerprint,
        &cert(1, 900),
        None,
        25,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::DeviceStateConflict(_)), "{err:?}");
    activate_on(&mut conn, ORG, &device.id, &cert(1, 900), 30)
        .await
        .unwrap();
    let facts = DeviceFacts {
        hostname: "uketsuke-02".to_owned(),
        os: "windows".to_owned(),
        agent_version: "0.2.0".to_owned(),
        readers: vec!["A".to_owned(), "B".to_owned()],
    };
    let new_key = format!("{:064x}", 99);
    let renewed = renew_on(
        &mut conn,
        ORG,
        &device.id,
        &new_key,
        &cert(2, 1_900),
        Some(&facts),
        40,
    )
    .await
    .unwrap();
    assert_eq!(renewed.key_fingerprint, new_key);
    assert_eq!(renewed.certificate_serial, cert(2, 0).serial_hex);
    assert_eq!(renewed.certificate_not_after, Some(1_900));
    assert_eq!(renewed.facts, facts);
    assert_eq!(
        (renewed.first_seen_time, renewed.last_seen_time),
        (Some(30), Some(40))
    );
    assert_eq!(renewed.status, DeviceStatus::Active);
    // Without facts, the reported ones stay.
    let again = renew_on(
        &mut conn,
        ORG,
        &device.id,
        &new_key,
        &cert(3, 2_900),
        None,
        50,
    )
    .await
    .unwrap();
    assert_eq!(again.facts, facts);
    // Renewals change no status, so the log has only pending and active.
    assert_eq!(events::after(&pool, 0, 10).await.unwrap().len(), 2);
    // A key another device holds is refused.
    let other_code = issue_on(&mut conn, &new_code(2, "W0000002", 10))
        .await
        .unwrap();
    let other = bind_on(&mut conn, &other_code, &pending(2, &other_code, 20), 20)
        .await
        .unwrap();
    let err = renew_on(
        &mut conn,
        ORG,
        &device.id,
        &other.key_fingerprint,
        &cert(4, 3_900),
        None,
        60,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::DeviceStateConflict(_)), "{err:?}");
    for (status, wanted) in [
        (DeviceStatus::Suspended, "suspended"),
        (DeviceStatus::Revoked, "revoked"),
    ] {
        set_status_on(
            &mut conn,
            ORG,
            &device.id,
            status,
            StatusCause::Operator,
            "",
            70,
        )
        .await
        .unwrap();
        let err = renew_on(
            &mut conn,
            ORG,
            &device.id,
            &new_key,
            &cert(5, 4_900),
            None,
            80,
        )
        .await
        .unwrap_err();
        match (wanted, &err) {
            ("suspended", Error::DeviceSuspended) | ("revoked", Error::DeviceRevoked) => {}
            _ => panic!("{wanted}: {err:?}"),
        }
    }
    let kept = get_device(&pool, ORG, &device.id).await.unwrap();
    assert_eq!(kept.certificate_serial, cert(3, 0).serial_hex);
}

async fn replacing_revokes_the_device_and_issues_a_new_code_together(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let code = issue_on(&mut conn, &new_code(1, "W0000001", 10))
        .await
        .unwrap();
    let device = bind_on(&mut conn, &code, &pending(1, &code, 20), 20)
        .await
        .unwrap();
    activate_on(&mut conn, ORG, &device.id, &cert(1, 900), 30)
        .await
        .unwrap();
    // A live code issued later (say, a password reset) is revoked by the replacement's.
    let stale = issue_on(&mut conn, &new_code(2, "W0000001", 35))
        .await
        .unwrap();
    let replacement = ReplacementCode {
        id: new_code(3, "W0000001", 0).id,
        code_hash: "$argon2id$hash-3".to_owned(),
        issued_by: "organizations/org-a/operators/op-1".to_owned(),
        expire_time: 5_000,
    };
    let mut tx = pool.begin().await.unwrap();
    let (revoked, issued) = replace_on(&mut tx, ORG, &device.id, "端末故障", &replacement, 40)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(revoked.status, DeviceStatus::Revoked);
    assert_eq!(revoked.status_cause, StatusCause::Operator);
    assert_eq!(revoked.status_reason, "端末故障");
    assert_eq!(issued.state, CodeState::Live);
    assert_eq!(issued.account_name(), device.account_name());
    assert_eq!((issued.create_time, issued.expire_time), (40, 5_000));
    assert_eq!(
        code_on(&mut conn, ORG, &stale.id).await.unwrap().state,
        CodeState::Revoked
    );
    let last = events::after(&pool, 0, 10).await.unwrap().pop().unwrap();
    assert_eq!(last.status, DeviceStatus::Revoked);
    // A revoked device cannot be replaced again (the code already exists).
    let again = ReplacementCode {
        id: new_code(4, "W0000001", 0).id,
        ..replacement
    };
    let mut tx = pool.begin().await.unwrap();
    let err = replace_on(&mut tx, ORG, &device.id, "", &again, 50)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DeviceRevoked), "{err:?}");
    tx.rollback().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    assert!(matches!(
        replace_on(&mut tx, ORG, "no-such-device", "", &again, 50).await,
        Err(Error::DeviceNotFound)
    ));
}
