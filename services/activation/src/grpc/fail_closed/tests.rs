//! Fail-closed audit (issue #7): a change whose audit record cannot be written to the outbox
//! does not happen. The real activation server runs over TLS on a test database (SQLite and
//! PostgreSQL) with an account stand-in; a trigger makes every INSERT into `audit_outbox`
//! fail, and each mutation — codes issued for accounts, an operator's suspension, an
//! activation, a renewal — must be refused with the state exactly as before. Once the
//! trigger is gone the same request goes through, so the refusal was the audit's doing.

use super::served::{ACCOUNT_ID, ORG, csr, serve};
use crate::store;
use mynafleet_kit::db::testing::{allow_inserts, count, refuse_inserts};
use mynafleet_kit::tls::TlsIdentity;
use mynafleet_proto::activation::v1 as pb;
use mynafleet_proto::tonic::{self, Status};
use sqlx::AnyPool;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    codes_whose_audit_cannot_be_written_are_not_issued,
    a_suspension_whose_audit_cannot_be_written_does_not_happen,
    an_activation_whose_audit_cannot_be_written_binds_no_device,
    a_renewal_whose_audit_cannot_be_written_keeps_the_old_certificate,
);

async fn outbox(pool: &AnyPool) -> i64 {
    count(pool, "SELECT COUNT(*) FROM audit_outbox").await
}

fn refused(e: &Status) {
    assert_ne!(e.code(), tonic::Code::Ok);
    assert_eq!(e.code(), tonic::Code::Internal, "{e:?}");
    assert!(
        !e.message().contains("refuses"),
        "no database text reaches the caller: {e:?}"
    );
}

async fn codes_whose_audit_cannot_be_written_are_not_issued(pool: AnyPool) {
    let s = serve(pool.clone()).await;
    refuse_inserts(&pool, "audit_outbox").await;
    let rid = uuid::Uuid::new_v4().to_string();
    let e = s.issue_code(&rid).await.unwrap_err();
    refused(&e);
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM activation_codes").await,
        0
    );
    assert_eq!(outbox(&pool).await, 0);

    // The request id was not spent on the refused call: the same request issues the code.
    allow_inserts(&pool, "audit_outbox").await;
    let issued = s.issue_code(&rid).await.unwrap();
    assert!(issued.codes[0].activation_code.is_some(), "{issued:?}");
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM activation_codes").await,
        1
    );
    assert!(outbox(&pool).await >= 1);
}

async fn a_suspension_whose_audit_cannot_be_written_does_not_happen(pool: AnyPool) {
    let s = serve(pool.clone()).await;
    let (device, _key, _cert) = s.activated().await;
    let events = count(&pool, "SELECT COUNT(*) FROM device_events").await;
    let audited = outbox(&pool).await;
    refuse_inserts(&pool, "audit_outbox").await;
    let suspend = pb::SuspendDeviceRequest {
        name: device.clone(),
        reason: "タブレット紛失".into(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let e = s
        .as_operator()
        .suspend_device(suspend.clone())
        .await
        .unwrap_err();
    refused(&e);
    let now = s
        .as_operator()
        .get_device(pb::GetDeviceRequest {
            name: device.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .device
        .unwrap();
    assert_eq!(
        now.status(),
        pb::DeviceStatus::Active,
        "the device stays active"
    );
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM device_events").await,
        events
    );
    assert_eq!(outbox(&pool).await, audited);

    allow_inserts(&pool, "audit_outbox").await;
    let done = s
        .as_operator()
        .suspend_device(suspend)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(done.device.unwrap().status(), pb::DeviceStatus::Suspended);
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM device_events").await,
        events + 1
    );
}

async fn an_activation_whose_audit_cannot_be_written_binds_no_device(pool: AnyPool) {
    let s = serve(pool.clone()).await;
    let issued = s
        .issue_code(&uuid::Uuid::new_v4().to_string())
        .await
        .unwrap();
    let code = issued.codes[0].activation_code.clone().unwrap().code;
    refuse_inserts(&pool, "audit_outbox").await;
    let key = rcgen::KeyPair::generate().unwrap();
    let e = s.activate(&code, &key).await.unwrap_err();
    refused(&e);
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM devices").await, 0);
    let live = store::codes::newest_for_account(&pool, ORG, ACCOUNT_ID, 10)
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(
        live[0].state,
        store::codes::CodeState::Live,
        "the code is not used up"
    );
    assert_eq!(
        live[0].failed_attempts, 0,
        "a refused audit costs the terminal no attempt"
    );

    allow_inserts(&pool, "audit_outbox").await;
    let reply = s.activate(&code, &key).await.unwrap();
    assert!(!reply.certificate_pem.is_empty());
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM devices").await, 1);
}

async fn a_renewal_whose_audit_cannot_be_written_keeps_the_old_certificate(pool: AnyPool) {
    let s = serve(pool.clone()).await;
    let (device, key, cert) = s.activated().await;
    let id = device.rsplit('/').next().unwrap().to_owned();
    let before = store::devices::get_device(&pool, ORG, &id).await.unwrap();
    let as_device = || {
        s.activation(Some(TlsIdentity {
            cert_pem: cert.clone(),
            key_pem: key.serialize_pem(),
        }))
    };
    refuse_inserts(&pool, "audit_outbox").await;
    let fresh = rcgen::KeyPair::generate().unwrap();
    let renew = pb::RenewRequest {
        csr_der: csr(&fresh),
        facts: None,
    };
    let e = as_device().renew(renew.clone()).await.unwrap_err();
    refused(&e);
    let after = store::devices::get_device(&pool, ORG, &id).await.unwrap();
    assert_eq!(
        after, before,
        "key, certificate and facts stay as they were"
    );

    allow_inserts(&pool, "audit_outbox").await;
    let renewed = as_device().renew(renew).await.unwrap().into_inner();
    assert_ne!(renewed.certificate_pem, cert);
    let after = store::devices::get_device(&pool, ORG, &id).await.unwrap();
    assert_ne!(after.certificate_serial, before.certificate_serial);
}
