//! Tests of the internal API: its pure parts, and the handlers driven directly (no network)
//! on SQLite and PostgreSQL, including the event stream's replay, follow, heartbeats,
//! resume tokens and shutdown.

use super::*;
use crate::config::Config;
use crate::store::credentials::tests::{CODE, PASSWORD, add_account, fixture};
use sqlx::AnyPool;
use std::sync::Arc;
use tokio_stream::StreamExt as _;
use tokio_util::sync::CancellationToken;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    verify_returns_the_scope_on_the_wire,
    operators_and_devices_are_refused,
    password_change_checks_the_new_password_first,
    stream_replays_follows_and_heartbeats,
    stream_resumes_after_its_token_and_ends_on_shutdown,
    operator_token_resolves_to_the_operator,
    scope_look_up_by_account_name,
    ingest_counts_new_records_and_checks_the_producer,
);

fn api(pool: AnyPool) -> Api {
    let pki = mynafleet_kit::tls::dev::DevPki::in_memory().unwrap();
    let identity = pki.service_identity("account").unwrap();
    let tls = pki.server_tls(identity, None);
    let mut config = Config::for_tests("sqlite::memory:".into(), tls);
    config.device_max_failed_checks = 3;
    Api {
        pool,
        config: Arc::new(config),
        activation: None,
        shutdown: CancellationToken::new(),
    }
}

fn from_service<T>(msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.extensions_mut().insert(Caller::Service {
        name: "activation".into(),
    });
    req
}

fn verify_request(password: &str) -> pb::VerifyDeviceCredentialsRequest {
    pb::VerifyDeviceCredentialsRequest {
        institution_code: CODE.into(),
        account_id: "W0000001".into(),
        password: password.into(),
        source_address: "198.51.100.4:40000".into(),
    }
}

async fn verify_returns_the_scope_on_the_wire(pool: AnyPool) {
    let f = fixture(&pool).await;
    let api = api(pool.clone());
    let scope = api
        .verify_device_credentials(from_service(verify_request(PASSWORD)))
        .await
        .unwrap()
        .into_inner()
        .scope
        .unwrap();
    let clinic = format!("organizations/{}/clinics/{}", f.org.stored(), f.clinic);
    assert_eq!(
        scope,
        pb::DeviceAccountScope {
            account: format!("{clinic}/accounts/W0000001"),
            organization: f.org.name(),
            clinic,
            institution_code: CODE.into(),
            institution_name: "さくら内科".into(),
            privilege: pb::Privilege::General.into(),
            status: pb::DeviceAccountStatus::Available.into(),
            must_change_password: true,
            home_visit_enabled: true,
        }
    );
    let wrong = api
        .verify_device_credentials(from_service(verify_request("Wrong#Password9")))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::Unauthenticated);
    let rows = crate::store::credentials::tests::audits(&pool).await;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.4 == "services/activation" && r.5 == "198.51.100.4:40000")
    );
}

async fn operators_and_devices_are_refused(pool: AnyPool) {
    fixture(&pool).await;
    let api = api(pool);
    let anonymous = Request::new(verify_request(PASSWORD));
    let refused = api.verify_device_credentials(anonymous).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let watch = api
        .watch_account_events(Request::new(pb::WatchAccountEventsRequest::default()))
        .await;
    assert_eq!(
        watch.err().map(|s| s.code()),
        Some(tonic::Code::PermissionDenied)
    );
}

async fn password_change_checks_the_new_password_first(pool: AnyPool) {
    fixture(&pool).await;
    let api = api(pool.clone());
    let change = |current: &str, new: &str| pb::ChangeDevicePasswordRequest {
        institution_code: CODE.into(),
        account_id: "W0000001".into(),
        current_password: current.into(),
        new_password: new.into(),
        source_address: "198.51.100.4:40000".into(),
    };
    let weak = api
        .change_device_password(from_service(change(PASSWORD, "short")))
        .await
        .unwrap_err();
    assert_eq!(weak.code(), tonic::Code::InvalidArgument);
    let same = api
        .change_device_password(from_service(change(PASSWORD, PASSWORD)))
        .await
        .unwrap_err();
    assert_eq!(same.code(), tonic::Code::InvalidArgument);
    assert!(
        crate::store::credentials::tests::audits(&pool)
            .await
            .is_empty(),
        "refused new passwords cost no failed check"
    );
    let scope = api
        .change_device_password(from_service(change(PASSWORD, "Nw4%second-Pass")))
        .await
        .unwrap()
        .into_inner()
        .scope
        .unwrap();
    assert!(!scope.must_change_password);
    let old = api
        .verify_device_credentials(from_service(verify_request(PASSWORD)))
        .await
        .unwrap_err();
    assert_eq!(old.code(), tonic::Code::Unauthenticated);
}

async fn append(pool: &AnyPool, kind: EventKind, org: &str, clinic: &str, account: &str) {
    let mut tx = pool.begin().await.unwrap();
    events::append(&mut tx, kind, org, clinic, account, 7)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

type Stream = ReceiverStream<Result<pb::WatchAccountEventsResponse, Status>>;

async fn next(stream: &mut Stream) -> pb::WatchAccountEventsResponse {
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("a message within 5 s")
        .expect("the stream is open")
        .expect("no error")
}

async fn watch(api: &Api, token: &str) -> Stream {
    api.watch_account_events(from_service(pb::WatchAccountEventsRequest {
        resume_token: token.into(),
    }))
    .await
    .unwrap()
    .into_inner()
}

fn event(m: &pb::WatchAccountEventsResponse) -> (pb::AccountEventKind, String, i32) {
    let e = m.event.as_ref().expect("an event, not a heartbeat");
    let scope = e.scope.as_ref().unwrap();
    (
        e.kind(),
        scope.account.rsplit('/').next().unwrap().to_owned(),
        scope.status,
    )
}

async fn stream_replays_follows_and_heartbeats(pool: AnyPool) {
    let f = fixture(&pool).await;
    add_account(&pool, f.org, f.clinic, "W0000002", "suspended").await;
    let (org, clinic) = (f.org.stored(), f.clinic.to_string());
    append(&pool, EventKind::Issued, &org, &clinic, "W0000001").await;
    append(&pool, EventKind::Suspended, &org, &clinic, "W0000002").await;
    let api = api(pool.clone());
    let mut stream = watch(&api, "").await;

    // Replay, with each account's current scope.
    let first = next(&mut stream).await;
    assert_eq!(
        event(&first),
        (
            pb::AccountEventKind::Issued,
            "W0000001".into(),
            pb::DeviceAccountStatus::Available.into()
        )
    );
    let second = next(&mut stream).await;
    assert_eq!(
        event(&second),
        (
            pb::AccountEventKind::Suspended,
            "W0000002".into(),
            pb::DeviceAccountStatus::Suspended.into()
        )
    );
    assert_ne!(first.resume_token, second.resume_token);

    // Quiet: heartbeats carry the last token and keep coming (every ~400 ms; the bound
    // leaves room for a loaded test machine).
    let beat = next(&mut stream).await;
    assert!(beat.event.is_none());
    assert_eq!(beat.resume_token, second.resume_token);
    let t = Instant::now();
    let beat = next(&mut stream).await;
    assert!(beat.event.is_none());
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "{:?}",
        t.elapsed()
    );

    // Live: a clinic change is one message per account; only the last one moves the token.
    append(&pool, EventKind::ClinicChanged, &org, &clinic, "").await;
    let mut live = next(&mut stream).await;
    while live.event.is_none() {
        live = next(&mut stream).await;
    }
    let last = next(&mut stream).await;
    assert_eq!(
        (
            event(&live).0,
            event(&live).1,
            event(&last).0,
            event(&last).1
        ),
        (
            pb::AccountEventKind::ClinicChanged,
            "W0000001".into(),
            pb::AccountEventKind::ClinicChanged,
            "W0000002".into()
        )
    );
    assert_eq!(live.resume_token, second.resume_token);
    assert_eq!(last.resume_token, resume_token(3));
}

async fn stream_resumes_after_its_token_and_ends_on_shutdown(pool: AnyPool) {
    let f = fixture(&pool).await;
    let (org, clinic) = (f.org.stored(), f.clinic.to_string());
    append(&pool, EventKind::Issued, &org, &clinic, "W0000001").await;
    append(&pool, EventKind::PasswordReset, &org, &clinic, "W0000001").await;
    let api = api(pool.clone());
    let mut stream = watch(&api, "").await;
    let first = next(&mut stream).await;
    drop(stream);

    let mut resumed = watch(&api, &first.resume_token).await;
    let again = next(&mut resumed).await;
    assert_eq!(event(&again).0, pb::AccountEventKind::PasswordReset);
    assert!(next(&mut resumed).await.event.is_none(), "then a heartbeat");

    api.shutdown.cancel();
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(m) = resumed.next().await {
            m.unwrap();
        }
    })
    .await;
    assert!(end.is_ok(), "the stream ends when the server shuts down");

    let bad = api
        .watch_account_events(from_service(pb::WatchAccountEventsRequest {
            resume_token: mynafleet_kit::page::encode_token("organization", "1"),
        }))
        .await
        .err()
        .unwrap();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
}

async fn operator_token_resolves_to_the_operator(pool: AnyPool) {
    let f = fixture(&pool).await;
    let operator = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO operators (id, organization_id, login_id, display_name, role, \
         password_hash, must_change_password, totp_sealed, totp_key_id, totp_last_step, \
         failed_logins, locked, disabled, create_time, update_time, last_login_time) \
         VALUES ($1, $2, 'hanako', '山田花子', 'clinic_admin', 'x', 0, NULL, NULL, 0, 0, 0, 0, \
         1, 1, NULL)",
    )
    .bind(operator.to_string())
    .bind(f.org.stored())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO operator_clinics (operator_id, clinic_id) VALUES ($1, $2)")
        .bind(operator.to_string())
        .bind(f.clinic.to_string())
        .execute(&pool)
        .await
        .unwrap();
    let api = api(pool.clone());
    let (token, hash) = sessions::new_token().unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sessions::open(&mut conn, operator, &hash, api.now(), &api.config.sessions)
        .await
        .unwrap();
    drop(conn);
    let answer = api
        .check_operator_token(from_service(pb::CheckOperatorTokenRequest {
            session_token: token,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.organization, f.org.name());
    assert_eq!(answer.max_age_millis, 1000);
    let op = answer.operator.unwrap();
    assert_eq!(
        (op.login_id.as_str(), op.display_name.as_str(), op.role()),
        ("hanako", "山田花子", pb::Role::ClinicAdmin)
    );
    assert_eq!(
        op.clinics,
        vec![format!(
            "organizations/{}/clinics/{}",
            f.org.stored(),
            f.clinic
        )]
    );
    let unknown = api
        .check_operator_token(from_service(pb::CheckOperatorTokenRequest {
            session_token: "mfs_nope".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::Unauthenticated);
}

#[test]
fn resume_tokens_round_trip_and_foreign_ones_are_refused() {
    assert_eq!(parse_resume_token("").unwrap(), 0);
    assert_eq!(parse_resume_token(&resume_token(42)).unwrap(), 42);
    let page = mynafleet_kit::page::encode_token("organization", "42");
    for bad in [page.as_str(), "***", "YWNjb3VudF9ldmVudHM6LTE"] {
        assert!(
            matches!(parse_resume_token(bad), Err(Error::ResumeTokenInvalid)),
            "{bad}"
        );
    }
    let status = Status::from(Error::ResumeTokenInvalid);
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
}

#[test]
fn credential_fields_are_required_and_bounded() {
    assert!(check_credentials("1312345675", "W0000001", "pw", "password").is_ok());
    let Err(Error::InvalidFields(v)) = check_credentials(" ", "", "", "current_password") else {
        panic!("empty fields must be refused");
    };
    let fields: Vec<_> = v.iter().map(|f| f.field.clone()).collect();
    assert_eq!(
        fields,
        ["institution_code", "account_id", "current_password"]
    );
    let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    assert!(check_credentials("1312345675", "W0000001", &long, "password").is_err());
}

#[test]
fn relayed_address_is_kept_and_bounded() {
    assert_eq!(
        relayed_meta("192.0.2.7:50000").unwrap().source_address,
        "192.0.2.7:50000"
    );
    assert!(relayed_meta(&"1".repeat(MAX_ADDRESS_BYTES + 1)).is_err());
}

async fn scope_look_up_by_account_name(pool: AnyPool) {
    let f = fixture(&pool).await;
    let api = api(pool);
    let clinic = format!("organizations/{}/clinics/{}", f.org.stored(), f.clinic);
    let ask = |account: String| {
        api.get_device_account_scope(from_service(pb::GetDeviceAccountScopeRequest { account }))
    };
    let scope = ask(format!("{clinic}/accounts/W0000001"))
        .await
        .unwrap()
        .into_inner()
        .scope
        .unwrap();
    assert_eq!(scope.account, format!("{clinic}/accounts/W0000001"));
    assert_eq!(scope.institution_code, CODE);
    assert_eq!(scope.status, pb::DeviceAccountStatus::Available as i32);
    let other_clinic = format!(
        "organizations/{}/clinics/{}/accounts/W0000001",
        f.org.stored(),
        Uuid::now_v7()
    );
    for unknown in [format!("{clinic}/accounts/W0000009"), other_clinic] {
        let e = ask(unknown).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::NotFound);
        assert_eq!(
            mynafleet_kit::status::reason_of(&e).as_deref(),
            Some("DEVICE_ACCOUNT_NOT_FOUND")
        );
    }
    let bad = ask(format!("{clinic}/accounts/X1")).await.unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        mynafleet_kit::status::violated_fields(&bad),
        vec!["account"]
    );
    let anonymous = api
        .get_device_account_scope(Request::new(pb::GetDeviceAccountScopeRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::PermissionDenied);
}

async fn ingest_counts_new_records_and_checks_the_producer(pool: AnyPool) {
    use mynafleet_proto::audit::v1 as audit_pb;
    let f = fixture(&pool).await;
    let api = api(pool.clone());
    let record = |action: &str| audit_pb::AuditRecord {
        id: Uuid::now_v7().to_string(),
        organization: f.org.name(),
        time: Some(mynafleet_proto::prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 0,
        }),
        action: action.into(),
        outcome: audit_pb::Outcome::Success.into(),
        producer: "activation".into(),
        actor_kind: "service".into(),
        ..Default::default()
    };
    let batch = vec![record("activation.complete"), record("device.renew")];
    let ingest = |records: Vec<audit_pb::AuditRecord>| {
        api.ingest_audit_records(from_service(pb::IngestAuditRecordsRequest { records }))
    };
    assert_eq!(
        ingest(batch.clone()).await.unwrap().into_inner().inserted,
        2
    );
    assert_eq!(
        ingest(batch.clone()).await.unwrap().into_inner().inserted,
        0
    );
    let (listed, _) = crate::store::audit_log::list(&pool, f.org, Some("device.renew"), None, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].producer, "activation");

    let mut forged = record("activation.complete");
    forged.producer = "account".into();
    let e = ingest(vec![record("x.y"), forged]).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        mynafleet_kit::status::reason_of(&e).as_deref(),
        Some("AUDIT_RECORD_INVALID")
    );
    assert_eq!(
        mynafleet_kit::status::violated_fields(&e),
        vec!["records[1].producer"]
    );
    let anonymous = api
        .ingest_audit_records(Request::new(pb::IngestAuditRecordsRequest {
            records: batch,
        }))
        .await
        .unwrap_err();
    assert_eq!(anonymous.code(), tonic::Code::PermissionDenied);
}
