//! The cascade against a real store: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::client::{AccountEventKind, Privilege};
use crate::device::{Device, DeviceFacts, DeviceStatus};
use crate::store::audit::pending;
use crate::store::devices::{get_device, insert_device};
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    a_suspended_account_suspends_its_device_until_it_resumes,
    an_operator_suspension_outlives_the_account_resume,
    an_ended_account_revokes_its_device,
    a_pending_device_resumes_to_pending,
    a_message_is_applied_once,
    heartbeats_move_the_position_only,
    other_accounts_devices_are_untouched,
);

#[test]
fn account_statuses_map_to_device_actions() {
    assert_eq!(action_for(AccountStatus::Suspended), Action::Suspend);
    assert_eq!(action_for(AccountStatus::Available), Action::Resume);
    assert_eq!(action_for(AccountStatus::Ended), Action::Revoke);
    assert_eq!(
        recorded_as(Action::Suspend),
        ("device.suspend", ActionCode::Update, "ACCOUNT_SUSPENDED")
    );
    assert_eq!(
        recorded_as(Action::Resume),
        ("device.resume", ActionCode::Update, "ACCOUNT_RESUMED")
    );
    assert_eq!(
        recorded_as(Action::Revoke),
        ("device.revoke", ActionCode::Delete, "ACCOUNT_ENDED")
    );
}

const ORG: &str = "org-a";

fn device(n: u32, status: DeviceStatus, cause: StatusCause, certified: bool) -> Device {
    Device {
        id: format!("dev-{n}"),
        organization_id: ORG.to_owned(),
        clinic_id: "c1".to_owned(),
        account_id: format!("W{n:07}"),
        institution_code: "1310112345".to_owned(),
        status,
        status_cause: cause,
        status_reason: String::new(),
        status_time: 1,
        key_fingerprint: format!("k{n}"),
        code_id: String::new(),
        certificate_serial: if certified {
            "01".to_owned()
        } else {
            String::new()
        },
        certificate_not_after: None,
        certificate_pem: String::new(),
        create_time: 1,
        first_seen_time: None,
        last_seen_time: None,
        facts: DeviceFacts::default(),
    }
}

fn event(token: &str, org: &str, n: u32, status: AccountStatus) -> AccountEventMessage {
    let kind = match status {
        AccountStatus::Available => AccountEventKind::Resumed,
        AccountStatus::Suspended => AccountEventKind::Suspended,
        AccountStatus::Ended => AccountEventKind::Ended,
    };
    AccountEventMessage {
        event: Some((
            kind,
            AccountScope {
                organization_id: org.to_owned(),
                clinic_id: "c1".to_owned(),
                account_id: format!("W{n:07}"),
                institution_code: "1310112345".to_owned(),
                institution_name: "あおば診療所".to_owned(),
                privilege: Privilege::General,
                status,
                must_change_password: false,
            },
        )),
        resume_token: token.to_owned(),
    }
}

fn heartbeat(token: &str) -> AccountEventMessage {
    AccountEventMessage {
        event: None,
        resume_token: token.to_owned(),
    }
}

fn clock() -> Clock {
    Clock::manual(time::macros::datetime!(2025-04-01 09:00 UTC))
}

async fn state(pool: &AnyPool, n: u32) -> (DeviceStatus, StatusCause, String) {
    let d = get_device(pool, ORG, &format!("dev-{n}")).await.unwrap();
    (d.status, d.status_cause, d.status_reason)
}

/// Returns (action, actor, reason, target) of every waiting audit record.
async fn audited(pool: &AnyPool) -> Vec<(String, String, String, String)> {
    pending(pool, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.action, r.actor, r.reason, r.target))
        .collect()
}

async fn position(pool: &AnyPool) -> Option<String> {
    store::watch::position(pool, STREAM).await.unwrap()
}

async fn a_suspended_account_suspends_its_device_until_it_resumes(pool: AnyPool) {
    let clock = clock();
    let d = device(1, DeviceStatus::Active, StatusCause::Activation, true);
    insert_device(&pool, &d).await.unwrap();

    apply(
        &pool,
        &clock,
        "",
        &event("t1", ORG, 1, AccountStatus::Suspended),
    )
    .await
    .unwrap();
    assert_eq!(
        state(&pool, 1).await,
        (
            DeviceStatus::Suspended,
            StatusCause::Account,
            "ACCOUNT_SUSPENDED".to_owned()
        )
    );
    assert_eq!(position(&pool).await.as_deref(), Some("t1"));
    let changed = get_device(&pool, ORG, &d.id).await.unwrap();
    assert_eq!(changed.status_time, clock.now_micros());
    // The proxies' watch sees it.
    let logged = store::events::after(&pool, 0, 10).await.unwrap();
    assert_eq!(
        logged
            .iter()
            .map(|e| (e.status, e.cause))
            .collect::<Vec<_>>(),
        [(DeviceStatus::Suspended, StatusCause::Account)]
    );

    clock.advance(Duration::from_secs(60));
    apply(
        &pool,
        &clock,
        "t1",
        &event("t2", ORG, 1, AccountStatus::Available),
    )
    .await
    .unwrap();
    assert_eq!(
        state(&pool, 1).await,
        (
            DeviceStatus::Active,
            StatusCause::Account,
            "ACCOUNT_RESUMED".to_owned()
        )
    );
    assert_eq!(position(&pool).await.as_deref(), Some("t2"));
    let records = audited(&pool).await;
    assert_eq!(
        records,
        [
            (
                "device.suspend".to_owned(),
                "services/account".to_owned(),
                "ACCOUNT_SUSPENDED".to_owned(),
                d.name()
            ),
            (
                "device.resume".to_owned(),
                "services/account".to_owned(),
                "ACCOUNT_RESUMED".to_owned(),
                d.name()
            ),
        ]
    );
    let first = &pending(&pool, 1).await.unwrap()[0];
    assert_eq!(
        (
            first.actor_kind.as_str(),
            first.organization_id.as_str(),
            first.clinic.as_str()
        ),
        ("service", ORG, "organizations/org-a/clinics/c1")
    );
}

async fn an_operator_suspension_outlives_the_account_resume(pool: AnyPool) {
    let clock = clock();
    insert_device(
        &pool,
        &device(1, DeviceStatus::Suspended, StatusCause::Operator, true),
    )
    .await
    .unwrap();
    apply(
        &pool,
        &clock,
        "",
        &event("t1", ORG, 1, AccountStatus::Suspended),
    )
    .await
    .unwrap();
    apply(
        &pool,
        &clock,
        "t1",
        &event("t2", ORG, 1, AccountStatus::Available),
    )
    .await
    .unwrap();
    assert_eq!(
        state(&pool, 1).await,
        (
            DeviceStatus::Suspended,
            StatusCause::Operator,
            String::new()
        )
    );
    assert!(audited(&pool).await.is_empty());
    assert_eq!(position(&pool).await.as_deref(), Some("t2"));
}

async fn an_ended_account_revokes_its_device(pool: AnyPool) {
    let clock = clock();
    let d = device(1, DeviceStatus::Suspended, StatusCause::Operator, true);
    insert_device(&pool, &d).await.unwrap();
    apply(
        &pool,
        &clock,
        "",
        &event("t1", ORG, 1, AccountStatus::Ended),
    )
    .await
    .unwrap();
    assert_eq!(
        state(&pool, 1).await,
        (
            DeviceStatus::Revoked,
            StatusCause::Account,
            "ACCOUNT_ENDED".to_owned()
        )
    );
    // Revoked is for good: a later Available (a replay) changes nothing.
    apply(
        &pool,
        &clock,
        "t1",
        &event("t2", ORG, 1, AccountStatus::Available),
    )
    .await
    .unwrap();
    assert_eq!(state(&pool, 1).await.0, DeviceStatus::Revoked);
    assert_eq!(
        audited(&pool)
            .await
            .into_iter()
            .map(|r| (r.0, r.2))
            .collect::<Vec<_>>(),
        [("device.revoke".to_owned(), "ACCOUNT_ENDED".to_owned())]
    );
}

async fn a_pending_device_resumes_to_pending(pool: AnyPool) {
    let clock = clock();
    insert_device(
        &pool,
        &device(1, DeviceStatus::Pending, StatusCause::Activation, false),
    )
    .await
    .unwrap();
    apply(
        &pool,
        &clock,
        "",
        &event("t1", ORG, 1, AccountStatus::Suspended),
    )
    .await
    .unwrap();
    assert_eq!(state(&pool, 1).await.0, DeviceStatus::Suspended);
    apply(
        &pool,
        &clock,
        "t1",
        &event("t2", ORG, 1, AccountStatus::Available),
    )
    .await
    .unwrap();
    assert_eq!(state(&pool, 1).await.0, DeviceStatus::Pending);
}

async fn a_message_is_applied_once(pool: AnyPool) {
    let clock = clock();
    insert_device(
        &pool,
        &device(1, DeviceStatus::Active, StatusCause::Activation, true),
    )
    .await
    .unwrap();
    let suspend = event("t1", ORG, 1, AccountStatus::Suspended);
    apply(&pool, &clock, "", &suspend).await.unwrap();
    // A second replica that read the same message from the same position finds it applied.
    apply(&pool, &clock, "", &suspend).await.unwrap();
    assert_eq!(audited(&pool).await.len(), 1);
    assert_eq!(store::events::head(&pool).await.unwrap(), 1);
    // A stale follower cannot move the position back.
    apply(
        &pool,
        &clock,
        "",
        &event("t0", ORG, 1, AccountStatus::Available),
    )
    .await
    .unwrap();
    assert_eq!(state(&pool, 1).await.0, DeviceStatus::Suspended);
    assert_eq!(position(&pool).await.as_deref(), Some("t1"));
}

async fn heartbeats_move_the_position_only(pool: AnyPool) {
    let clock = clock();
    insert_device(
        &pool,
        &device(1, DeviceStatus::Active, StatusCause::Activation, true),
    )
    .await
    .unwrap();
    apply(&pool, &clock, "", &heartbeat("")).await.unwrap();
    assert_eq!(position(&pool).await, None);
    apply(&pool, &clock, "", &heartbeat("t5")).await.unwrap();
    assert_eq!(position(&pool).await.as_deref(), Some("t5"));
    apply(&pool, &clock, "t5", &heartbeat("t5")).await.unwrap();
    assert_eq!(position(&pool).await.as_deref(), Some("t5"));
    assert_eq!(state(&pool, 1).await.0, DeviceStatus::Active);
    assert!(audited(&pool).await.is_empty());
}

async fn other_accounts_devices_are_untouched(pool: AnyPool) {
    let clock = clock();
    insert_device(
        &pool,
        &device(1, DeviceStatus::Active, StatusCause::Activation, true),
    )
    .await
    .unwrap();
    // The same W id in another organization, and an account without a device.
    apply(
        &pool,
        &clock,
        "",
        &event("t1", "org-b", 1, AccountStatus::Ended),
    )
    .await
    .unwrap();
    apply(
        &pool,
        &clock,
        "t1",
        &event("t2", ORG, 2, AccountStatus::Ended),
    )
    .await
    .unwrap();
    assert_eq!(state(&pool, 1).await.0, DeviceStatus::Active);
    assert!(audited(&pool).await.is_empty());
    assert_eq!(position(&pool).await.as_deref(), Some("t2"));
}
