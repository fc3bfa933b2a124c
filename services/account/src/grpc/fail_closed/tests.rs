//! Fail-closed audit (issue #7) in the account service, which writes its own records into
//! `audit_records` in the transaction of the change: with a trigger refusing every INSERT
//! there, creating a clinic and suspending a device account are refused and change nothing,
//! on SQLite and PostgreSQL. Without the trigger the same request goes through, so the
//! refusal was the audit's doing.

use super::super::Api;
use crate::config::Config;
use crate::store::credentials::tests::fixture;
use mynafleet_kit::auth::Caller;
use mynafleet_kit::db::testing::{allow_inserts, count, refuse_inserts};
use mynafleet_proto::account::v1 as pb;
use mynafleet_proto::tonic::{self, Request, Status};
use pb::clinic_service_server::ClinicService as _;
use pb::device_account_service_server::DeviceAccountService as _;
use sqlx::{AnyPool, Row};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    a_clinic_whose_audit_cannot_be_written_is_not_created,
    a_device_account_suspension_whose_audit_cannot_be_written_does_not_happen,
);

fn api(pool: AnyPool) -> Api {
    let pki = mynafleet_kit::tls::dev::DevPki::in_memory().unwrap();
    let tls = pki.server_tls(pki.service_identity("account").unwrap(), None);
    Api {
        pool,
        config: Arc::new(Config::for_tests("sqlite::memory:".into(), tls)),
        activation: None,
        shutdown: CancellationToken::new(),
    }
}

fn from_service<T>(msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.extensions_mut().insert(Caller::Service {
        name: "tests".into(),
    });
    req
}

fn refused(e: &Status) {
    assert_eq!(e.code(), tonic::Code::Internal, "{e:?}");
    assert!(
        !e.message().contains("refuses"),
        "no database text reaches the caller: {e:?}"
    );
}

async fn a_clinic_whose_audit_cannot_be_written_is_not_created(pool: AnyPool) {
    let f = fixture(&pool).await;
    let api = api(pool.clone());
    let create = pb::CreateClinicRequest {
        parent: f.org.name(),
        clinic: Some(pb::Clinic {
            kind: pb::ClinicKind::Medical.into(),
            institution_code: "3410712362".into(),
            display_name: "さくら在宅クリニック".into(),
            bank_account_last4: "7391".into(),
            ..Default::default()
        }),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let clinics = count(&pool, "SELECT COUNT(*) FROM clinics").await;
    let records = count(&pool, "SELECT COUNT(*) FROM audit_records").await;
    refuse_inserts(&pool, "audit_records").await;
    let e = api
        .create_clinic(from_service(create.clone()))
        .await
        .unwrap_err();
    refused(&e);
    assert_eq!(count(&pool, "SELECT COUNT(*) FROM clinics").await, clinics);
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM audit_records").await,
        records
    );

    // The request id was not spent on the refused call: the same request creates it.
    allow_inserts(&pool, "audit_records").await;
    let made = api
        .create_clinic(from_service(create))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(made.clinic.unwrap().institution_code, "3410712362");
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM clinics").await,
        clinics + 1
    );
}

async fn a_device_account_suspension_whose_audit_cannot_be_written_does_not_happen(pool: AnyPool) {
    let f = fixture(&pool).await;
    let api = api(pool.clone());
    let name = format!(
        "organizations/{}/clinics/{}/accounts/W0000001",
        f.org.stored(),
        f.clinic
    );
    let suspend = pb::SuspendDeviceAccountRequest {
        name: name.clone(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let status = || async {
        sqlx::query("SELECT status FROM device_accounts WHERE account_id = 'W0000001'")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get::<String, _>(0)
    };
    let events = count(&pool, "SELECT COUNT(*) FROM account_events").await;
    refuse_inserts(&pool, "audit_records").await;
    let e = api
        .suspend_device_account(from_service(suspend.clone()))
        .await
        .unwrap_err();
    refused(&e);
    assert_eq!(status().await, "available", "the account stays available");
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM account_events").await,
        events,
        "no suspension event reaches activation's cascade"
    );

    allow_inserts(&pool, "audit_records").await;
    let done = api
        .suspend_device_account(from_service(suspend))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        done.device_account.unwrap().status(),
        pb::DeviceAccountStatus::Suspended
    );
    assert_eq!(status().await, "suspended");
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM account_events").await,
        events + 1
    );
}
