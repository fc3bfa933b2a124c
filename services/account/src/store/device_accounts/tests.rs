//! Conformance cases for device accounts (SQLite and PostgreSQL).

use super::*;
use crate::store::clinics::tests::{Fixture, NOW, audit};
use crate::store::events::StoredEvent;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    ids_are_allocated_in_order_per_organization,
    concurrent_issues_get_distinct_consecutive_ids,
    medical_info_needs_the_clinics_home_visit_function,
    suspend_and_resume_move_status_and_dates,
    wrong_state_transitions_conflict,
    lists_filter_by_clinic_scope_and_status_in_id_order,
    password_reset_and_unlock,
    notes_update_with_the_etag,
    rows_hold_no_plaintext_password,
    a_repeated_create_replays_without_issuing_again,
);

fn listing(
    organization: OrganizationId,
    clinic: Option<Uuid>,
    only: Option<&[Uuid]>,
    status: Option<AccountStatus>,
) -> AccountListing<'_> {
    AccountListing {
        organization,
        clinic,
        only,
        status,
    }
}

/// 2025-06-01 15:30 UTC: already 2025-06-02 in Japan.
const AFTER_JST_MIDNIGHT: i64 = 1_748_791_800_000_000;

fn done<T>(i: Idempotent<T>) -> T {
    match i {
        Idempotent::Done(t) => t,
        Idempotent::Replayed(_) => panic!("unexpected replay"),
    }
}

async fn issue(
    pool: &AnyPool,
    clinic: ClinicName,
    privilege: Privilege,
    now: i64,
) -> Result<DeviceAccount> {
    create_device_account(
        pool,
        now,
        clinic,
        privilege,
        &Note::parse("受付1", "n").unwrap(),
        "$argon2id$fake".into(),
        audit(),
        None,
        |_| Vec::new(),
    )
    .await
    .map(|i| done(i).accounts.remove(0))
}

async fn events(pool: &AnyPool) -> Vec<StoredEvent> {
    events::after(pool, 0, 1000).await.unwrap()
}

async fn ids_are_allocated_in_order_per_organization(pool: AnyPool) {
    let a = Fixture::new(&pool).await;
    let b = Fixture::new(&pool).await;
    let a1 = a.create(&pool, &a.clinic("3410712362", false)).await.name;
    let a2 = a.create(&pool, &a.clinic("3410712370", false)).await.name;
    let b1 = b.create(&pool, &b.clinic("1310000013", false)).await.name;

    let mut got = Vec::new();
    for clinic in [a1, a2, a1, b1, b1] {
        got.push(
            issue(&pool, clinic, Privilege::General, NOW)
                .await
                .unwrap()
                .name
                .id
                .to_string(),
        );
    }
    assert_eq!(
        got,
        ["W0000001", "W0000002", "W0000003", "W0000001", "W0000002"]
    );

    let first = get_device_account(
        &pool,
        AccountName {
            clinic: a1,
            id: AccountId::parse("W0000001", "id").unwrap(),
        },
    )
    .await
    .unwrap();
    assert_eq!(first.status, AccountStatus::Available);
    assert_eq!(first.privilege, Privilege::General);
    assert_eq!(first.start_date, "2025-06-01");
    assert_eq!(first.note.as_str(), "受付1");
    assert!(first.must_change_password);
    assert!(!first.locked);
    assert_eq!(first.institution_code, "3410712362");
    assert_eq!(
        (first.suspend_date.clone(), first.end_date.clone()),
        (None, None)
    );

    // W0000002 belongs to a2, so it is not found under a1.
    let elsewhere = AccountName {
        clinic: a1,
        id: AccountId::parse("W0000002", "id").unwrap(),
    };
    assert!(matches!(
        get_device_account(&pool, elsewhere).await,
        Err(Error::NotFound {
            reason: "DEVICE_ACCOUNT_NOT_FOUND",
            ..
        })
    ));
    let issued = events(&pool).await;
    assert_eq!(issued.len(), 5);
    assert!(issued.iter().all(|e| e.kind == EventKind::Issued));
    assert_eq!(issued[0].account_id, "W0000001");
    assert_eq!(issued[0].clinic, a1.clinic.to_string());
}

async fn concurrent_issues_get_distinct_consecutive_ids(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..20 {
                ids.push(
                    issue(&pool, clinic, Privilege::General, NOW)
                        .await
                        .unwrap()
                        .name
                        .id
                        .number(),
                );
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let ids = t.await.unwrap();
        // Each task sees its own ids rise.
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        all.extend(ids);
    }
    all.sort_unstable();
    assert_eq!(all, (1..=40).collect::<Vec<u32>>());
    let listing = AccountListing {
        organization: f.org,
        clinic: Some(clinic.clinic),
        only: None,
        status: None,
    };
    let (listed, _) = list_device_accounts(&pool, &listing, None, 100)
        .await
        .unwrap();
    assert_eq!(listed.len(), 40);
}

async fn medical_info_needs_the_clinics_home_visit_function(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let plain = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let home = f.create(&pool, &f.clinic("3410712370", true)).await.name;
    let refused = issue(&pool, plain, Privilege::MedicalInfo, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            Error::Precondition {
                reason: "HOME_VISIT_REQUIRED",
                ..
            }
        ),
        "{refused:?}"
    );
    // The refusal used no id and left nothing behind.
    let ok = issue(&pool, home, Privilege::MedicalInfo, NOW)
        .await
        .unwrap();
    assert_eq!(ok.name.id.to_string(), "W0000001");
    assert_eq!(ok.privilege, Privilege::MedicalInfo);
    // 管理者 accounts may exist (activation refuses them on devices).
    let admin = issue(&pool, plain, Privilege::Administrator, NOW)
        .await
        .unwrap();
    assert_eq!(admin.privilege, Privilege::Administrator);
    assert_eq!(events(&pool).await.len(), 2);
}

async fn suspend_and_resume_move_status_and_dates(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let a = issue(&pool, clinic, Privilege::General, NOW).await.unwrap();

    let suspended = done(
        suspend_device_account(&pool, AFTER_JST_MIDNIGHT, a.name, audit(), None, |_| {
            Vec::new()
        })
        .await
        .unwrap(),
    );
    assert_eq!(suspended.status, AccountStatus::Suspended);
    // 15:30 UTC on 1 June is 00:30 on 2 June in Japan.
    assert_eq!(suspended.suspend_date.as_deref(), Some("2025-06-02"));
    assert_eq!(suspended.revision, 2);

    let resumed = done(
        resume_device_account(&pool, AFTER_JST_MIDNIGHT + 1, a.name, audit(), None, |_| {
            Vec::new()
        })
        .await
        .unwrap(),
    );
    assert_eq!(resumed.status, AccountStatus::Available);
    assert_eq!(resumed.suspend_date.as_deref(), Some("2025-06-02"));

    let mut tx = pool.begin().await.unwrap();
    let ended = end_on(&mut tx, AFTER_JST_MIDNIGHT + 2, a.name, &audit())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ended.status, AccountStatus::Ended);
    assert_eq!(ended.end_date.as_deref(), Some("2025-06-02"));

    let kinds: Vec<_> = events(&pool).await.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Issued,
            EventKind::Suspended,
            EventKind::Resumed,
            EventKind::Ended
        ]
    );
    let actions: Vec<String> =
        sqlx::query("SELECT action FROM audit_records WHERE target = $1 ORDER BY id")
            .bind(a.name.name())
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get("action").unwrap())
            .collect();
    assert_eq!(
        actions,
        [
            "device_account.issue",
            "test.action",
            "test.action",
            "device_account.end"
        ]
    );
}

async fn wrong_state_transitions_conflict(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let a = issue(&pool, clinic, Privilege::General, NOW).await.unwrap();
    let conflict = |r: Result<Idempotent<DeviceAccount>>| {
        assert!(
            matches!(
                r,
                Err(Error::Precondition {
                    reason: "ACCOUNT_STATE_CONFLICT",
                    ..
                })
            ),
            "{r:?}"
        );
    };
    conflict(resume_device_account(&pool, NOW, a.name, audit(), None, |_| Vec::new()).await);
    done(
        suspend_device_account(&pool, NOW, a.name, audit(), None, |_| Vec::new())
            .await
            .unwrap(),
    );
    conflict(suspend_device_account(&pool, NOW, a.name, audit(), None, |_| Vec::new()).await);

    let mut tx = pool.begin().await.unwrap();
    end_on(&mut tx, NOW, a.name, &audit()).await.unwrap();
    tx.commit().await.unwrap();
    conflict(resume_device_account(&pool, NOW, a.name, audit(), None, |_| Vec::new()).await);
    conflict(suspend_device_account(&pool, NOW, a.name, audit(), None, |_| Vec::new()).await);
    let mut tx = pool.begin().await.unwrap();
    assert!(matches!(
        end_on(&mut tx, NOW, a.name, &audit()).await,
        Err(Error::Precondition {
            reason: "ACCOUNT_STATE_CONFLICT",
            ..
        })
    ));
    drop(tx);
    let reset = reset_device_account_password(
        &pool,
        NOW,
        a.name,
        "$argon2id$new".into(),
        audit(),
        None,
        |_| Vec::new(),
    )
    .await;
    assert!(matches!(
        reset,
        Err(Error::Precondition {
            reason: "ACCOUNT_STATE_CONFLICT",
            ..
        })
    ));

    let missing = AccountName {
        clinic,
        id: AccountId::parse("W0000099", "id").unwrap(),
    };
    assert!(matches!(
        suspend_device_account(&pool, NOW, missing, audit(), None, |_| Vec::new()).await,
        Err(Error::NotFound {
            reason: "DEVICE_ACCOUNT_NOT_FOUND",
            ..
        })
    ));
    // Refused transitions left no event behind.
    let kinds: Vec<_> = events(&pool).await.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [EventKind::Issued, EventKind::Suspended, EventKind::Ended]
    );
}

async fn lists_filter_by_clinic_scope_and_status_in_id_order(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let c1 = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let c2 = f.create(&pool, &f.clinic("3410712370", false)).await.name;
    for clinic in [c1, c2, c1, c2, c1] {
        issue(&pool, clinic, Privilege::General, NOW).await.unwrap();
    }
    let w = |n: u32| AccountId::from_counter(i64::from(n)).unwrap();
    done(
        suspend_device_account(
            &pool,
            NOW,
            AccountName {
                clinic: c1,
                id: w(3),
            },
            audit(),
            None,
            |_| Vec::new(),
        )
        .await
        .unwrap(),
    );
    let org = f.org;
    let ids = |v: Vec<DeviceAccount>| v.iter().map(|a| a.name.id.number()).collect::<Vec<_>>();

    let (all, next) = list_device_accounts(&pool, &listing(org, None, None, None), None, 3)
        .await
        .unwrap();
    assert_eq!(ids(all), [1, 2, 3]);
    assert_eq!(next, Some(w(3)));
    let (rest, end) = list_device_accounts(&pool, &listing(org, None, None, None), next, 3)
        .await
        .unwrap();
    assert_eq!(ids(rest), [4, 5]);
    assert_eq!(end, None);

    let (c1_only, _) =
        list_device_accounts(&pool, &listing(org, Some(c1.clinic), None, None), None, 10)
            .await
            .unwrap();
    assert_eq!(ids(c1_only), [1, 3, 5]);
    let (suspended, _) = list_device_accounts(
        &pool,
        &listing(org, None, None, Some(AccountStatus::Suspended)),
        None,
        10,
    )
    .await
    .unwrap();
    assert_eq!(ids(suspended), [3]);

    let scope: &[Uuid] = &[c2.clinic];
    let (scoped, _) = list_device_accounts(&pool, &listing(org, None, Some(scope), None), None, 10)
        .await
        .unwrap();
    assert_eq!(ids(scoped), [2, 4]);
    // A clinic outside the scope shows nothing even when asked for by name.
    let (outside, _) = list_device_accounts(
        &pool,
        &listing(org, Some(c1.clinic), Some(scope), None),
        None,
        10,
    )
    .await
    .unwrap();
    assert!(outside.is_empty());
}

async fn password_reset_and_unlock(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let a = issue(&pool, clinic, Privilege::General, NOW).await.unwrap();
    // Failed checks locked it, and the terminal changed its password meanwhile.
    sqlx::query(
        "UPDATE device_accounts SET locked = 1, failed_checks = 5, must_change_password = 0",
    )
    .execute(&pool)
    .await
    .unwrap();
    let unlocked = done(
        unlock_device_account(&pool, NOW, a.name, audit(), None, |_| Vec::new())
            .await
            .unwrap(),
    );
    assert!(!unlocked.locked);
    let failed: i64 = sqlx::query("SELECT failed_checks FROM device_accounts")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("failed_checks")
        .unwrap();
    assert_eq!(failed, 0);

    let reset = done(
        reset_device_account_password(
            &pool,
            NOW,
            a.name,
            "$argon2id$second".into(),
            audit(),
            None,
            |_| Vec::new(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(reset.clinic.name, clinic);
    assert!(reset.accounts[0].must_change_password);
    let hash: String = sqlx::query("SELECT password_hash FROM device_accounts")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("password_hash")
        .unwrap();
    assert_eq!(hash, "$argon2id$second");
    assert_eq!(
        events(&pool).await.last().map(|e| e.kind),
        Some(EventKind::PasswordReset)
    );
}

async fn notes_update_with_the_etag(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let a = issue(&pool, clinic, Privilege::General, NOW).await.unwrap();
    let note = Note::parse("診察室2 タブレット", "n").unwrap();
    let updated = done(
        update_device_account(
            &pool,
            NOW + 5,
            a.name,
            &note,
            Some(1),
            audit(),
            None,
            |_| Vec::new(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(updated.note, note);
    assert_eq!(updated.etag(), "r2");
    assert_eq!(updated.update_time, NOW + 5);
    let stale = update_device_account(&pool, NOW, a.name, &note, Some(1), audit(), None, |_| {
        Vec::new()
    })
    .await
    .unwrap_err();
    assert!(matches!(stale, Error::EtagMismatch), "{stale:?}");
    let missing = AccountName {
        clinic,
        id: AccountId::parse("W0000002", "id").unwrap(),
    };
    assert!(matches!(
        update_device_account(&pool, NOW, missing, &note, None, audit(), None, |_| {
            Vec::new()
        })
        .await,
        Err(Error::NotFound { .. })
    ));
}

async fn rows_hold_no_plaintext_password(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let creds = crate::device_account::new_credentials(1).await.unwrap();
    let issued = done(
        create_device_account(
            &pool,
            NOW,
            clinic,
            Privilege::General,
            &Note::default(),
            creds[0].hash.clone(),
            audit(),
            None,
            |_| Vec::new(),
        )
        .await
        .unwrap(),
    );
    let name = issued.accounts[0].name;
    let row = sqlx::query(
        "SELECT account_id, privilege, status, start_date, note, password_hash \
         FROM device_accounts",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let password = creds[0].password.as_str();
    for column in [
        "account_id",
        "privilege",
        "status",
        "start_date",
        "note",
        "password_hash",
    ] {
        let v: String = row.try_get(column).unwrap();
        assert!(!v.contains(password), "{column} holds the password");
    }
    let stored: String = row.try_get("password_hash").unwrap();
    assert!(mynafleet_kit::keys::password::verify(password, &stored));
    let audit_rows = sqlx::query("SELECT action, target, reason FROM audit_records")
        .fetch_all(&pool)
        .await
        .unwrap();
    for r in &audit_rows {
        for c in ["action", "target", "reason"] {
            assert!(!r.try_get::<String, _>(c).unwrap().contains(password));
        }
    }
    assert!(
        audit_rows
            .iter()
            .any(|r| r.try_get::<String, _>("target").unwrap() == name.name())
    );
}

async fn a_repeated_create_replays_without_issuing_again(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let key = RequestKey {
        caller: "operator:x",
        method: "/mynafleet.account.v1.DeviceAccountService/CreateDeviceAccount",
        request_id: "0190a5d0-0000-7000-8000-000000000002",
        request_hash: b"h",
    };
    let note = Note::default();
    let create = || {
        create_device_account(
            &pool,
            NOW,
            clinic,
            Privilege::General,
            &note,
            "$argon2id$fake".into(),
            audit(),
            Some(&key),
            |i: &Issued| i.accounts[0].name.name().into_bytes(),
        )
    };
    let first = done(create().await.unwrap());
    match create().await.unwrap() {
        Idempotent::Replayed(b) => assert_eq!(b, first.accounts[0].name.name().into_bytes()),
        Idempotent::Done(_) => panic!("a repeat must replay"),
    }
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM device_accounts")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, 1);
}
