//! Conformance cases for applications (SQLite and PostgreSQL), including flow A.

use super::*;
use crate::application::ApplicationInput;
use crate::device_account::Privilege;
use crate::store::clinics::tests::{Fixture, NOW, audit};
use crate::store::device_accounts::{AccountListing, list_device_accounts};
use crate::store::events::{self, EventKind};

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    flow_a_start_addition_release,
    a_facility_check_mismatch_is_refused,
    starts_and_additions_follow_the_ordering_rules,
    medical_info_applications_need_home_visit,
    rejection_records_the_reason_and_ends_review,
    releases_name_live_accounts_of_the_clinic,
    lists_are_newest_first_filtered_and_scoped,
    a_repeated_approval_replays_without_issuing_again,
    application_rows_hold_no_bank_digits,
);

const DAY: i64 = 86_400_000_000;

fn done<T>(i: Idempotent<T>) -> T {
    match i {
        Idempotent::Done(t) => t,
        Idempotent::Replayed(_) => panic!("unexpected replay"),
    }
}

fn start(f: &Fixture, clinic: ClinicName, devices: i32, bank: &str) -> NewApplication {
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Start),
        staff_count: 8,
        device_count: devices,
        bank_account_last4: bank,
        ..Default::default()
    };
    NewApplication::parse(clinic, &input, &f.key).unwrap()
}

fn addition(f: &Fixture, clinic: ClinicName, devices: i32, p: Option<Privilege>) -> NewApplication {
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Addition),
        device_count: devices,
        privilege: p,
        ..Default::default()
    };
    NewApplication::parse(clinic, &input, &f.key).unwrap()
}

fn release(f: &Fixture, clinic: ClinicName, ids: &[&str]) -> NewApplication {
    let names: Vec<String> = ids
        .iter()
        .map(|id| format!("{}/accounts/{id}", clinic.name()))
        .collect();
    let input = ApplicationInput {
        kind: Some(ApplicationKind::Release),
        accounts: &names,
        ..Default::default()
    };
    NewApplication::parse(clinic, &input, &f.key).unwrap()
}

async fn submit(pool: &AnyPool, now: i64, new: &NewApplication) -> Result<Application> {
    submit_application(pool, now, new, audit(), None, |_| Vec::new())
        .await
        .map(done)
}

fn hashes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("$argon2id$fake{i}")).collect()
}

async fn approve(pool: &AnyPool, now: i64, app: &Application) -> Result<Approved> {
    approve_application(
        pool,
        now,
        app.name,
        &hashes(app.accounts_to_issue()),
        audit(),
        None,
        |_| Vec::new(),
    )
    .await
    .map(done)
}

fn precondition<T: std::fmt::Debug>(r: Result<T>, reason: &str) {
    match r {
        Err(Error::Precondition { reason: got, .. }) if got == reason => {}
        other => panic!("expected {reason}, got {other:?}"),
    }
}

fn ids(accounts: &[DeviceAccount]) -> Vec<String> {
    accounts.iter().map(|a| a.name.id.to_string()).collect()
}

async fn flow_a_start_addition_release(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;

    // 利用開始申請 for 3 devices, checked with the bank digits.
    let submitted = submit(&pool, NOW, &start(&f, clinic, 3, "1234"))
        .await
        .unwrap();
    assert_eq!(submitted.kind, ApplicationKind::Start);
    assert_eq!(submitted.status, ApplicationStatus::Submitted);
    assert_eq!(
        (submitted.staff_count, submitted.device_count),
        (Some(8), Some(3))
    );
    assert_eq!(submitted.privilege, Some(Privilege::General));
    assert_eq!(submitted.submitter, "services/store-tests");
    assert_eq!(submitted.institution_code, "3410712362");
    assert_eq!(
        get_application(&pool, submitted.name).await.unwrap(),
        submitted
    );

    // Approval issues 3 accounts in order and completes the application.
    let approved = approve(&pool, NOW + DAY, &submitted).await.unwrap();
    assert_eq!(
        ids(&approved.accounts),
        ["W0000001", "W0000002", "W0000003"]
    );
    assert!(
        approved
            .accounts
            .iter()
            .all(|a| a.status == AccountStatus::Available
                && a.start_date == "2025-06-02"
                && a.must_change_password)
    );
    let app = &approved.application;
    assert_eq!(app.status, ApplicationStatus::Completed);
    assert_eq!(app.review_time, Some(NOW + DAY));
    assert_eq!(app.complete_time, Some(NOW + DAY));
    assert_eq!(app.reviewer.as_deref(), Some("services/store-tests"));
    assert_eq!(
        app.result_accounts,
        approved
            .accounts
            .iter()
            .map(|a| a.name.id)
            .collect::<Vec<_>>()
    );
    assert_eq!(approved.clinic.name, clinic);

    // 追加申請 for 2 more continues the numbering.
    let more = submit(&pool, NOW + 2 * DAY, &addition(&f, clinic, 2, None))
        .await
        .unwrap();
    let added = approve(&pool, NOW + 2 * DAY, &more).await.unwrap();
    assert_eq!(ids(&added.accounts), ["W0000004", "W0000005"]);

    // 解除申請 ends two accounts with their end date.
    let rel = submit(
        &pool,
        NOW + 3 * DAY,
        &release(&f, clinic, &["W0000005", "W0000002"]),
    )
    .await
    .unwrap();
    assert_eq!(
        rel.accounts
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>(),
        ["W0000002", "W0000005"]
    );
    let released = approve(&pool, NOW + 3 * DAY, &rel).await.unwrap();
    assert_eq!(ids(&released.accounts), ["W0000002", "W0000005"]);
    for a in &released.accounts {
        assert_eq!(a.status, AccountStatus::Ended);
        assert_eq!(a.end_date.as_deref(), Some("2025-06-04"));
    }
    assert_eq!(released.application.status, ApplicationStatus::Completed);

    let listing = AccountListing {
        organization: f.org,
        clinic: Some(clinic.clinic),
        only: None,
        status: Some(AccountStatus::Available),
    };
    let (live, _) = list_device_accounts(&pool, &listing, None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&live), ["W0000001", "W0000003", "W0000004"]);

    let kinds: Vec<_> = events::after(&pool, 0, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::Issued).count(), 5);
    assert_eq!(kinds.iter().filter(|k| **k == EventKind::Ended).count(), 2);
    let actions: Vec<String> = sqlx::query("SELECT action FROM audit_records ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("action").unwrap())
        .collect();
    for a in ["device_account.issue", "device_account.end"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

async fn a_facility_check_mismatch_is_refused(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    precondition(
        submit(&pool, NOW, &start(&f, clinic, 1, "4321")).await,
        "FACILITY_CHECK_FAILED",
    );
    // A clinic without registered digits cannot be checked.
    let bare = {
        let input = crate::clinic::ClinicInput {
            kind: Some(crate::clinic::ClinicKind::Medical),
            institution_code: "3410712370",
            display_name: "口座未登録クリニック",
            ..Default::default()
        };
        let new = crate::clinic::NewClinic::parse(
            f.org,
            &input,
            crate::device_account::JapanDate::at(NOW),
            &f.key,
        )
        .unwrap();
        f.create(&pool, &new).await.name
    };
    precondition(
        submit(&pool, NOW, &start(&f, bare, 1, "1234")).await,
        "BANK_ACCOUNT_NOT_REGISTERED",
    );
    // Refusals leave no application behind; the right digits pass.
    let filter = ApplicationFilter::default();
    let listing = ApplicationListing {
        organization: f.org,
        clinic: None,
        only: None,
        filter: &filter,
    };
    assert!(
        list_applications(&pool, &listing, None, 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );
    submit(&pool, NOW, &start(&f, clinic, 1, "１２３４"))
        .await
        .unwrap();
}

async fn starts_and_additions_follow_the_ordering_rules(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    precondition(
        submit(&pool, NOW, &addition(&f, clinic, 1, None)).await,
        "NOT_STARTED",
    );
    // Two STARTs may be pending, but only one can be approved.
    let first = submit(&pool, NOW, &start(&f, clinic, 1, "1234"))
        .await
        .unwrap();
    let second = submit(&pool, NOW, &start(&f, clinic, 1, "1234"))
        .await
        .unwrap();
    approve(&pool, NOW, &first).await.unwrap();
    precondition(approve(&pool, NOW, &second).await, "ALREADY_STARTED");
    assert_eq!(
        get_application(&pool, second.name).await.unwrap().status,
        ApplicationStatus::Submitted
    );
    precondition(
        submit(&pool, NOW, &start(&f, clinic, 1, "1234")).await,
        "ALREADY_STARTED",
    );
    submit(&pool, NOW, &addition(&f, clinic, 1, None))
        .await
        .unwrap();
    // An approved application cannot be approved again.
    precondition(
        approve(&pool, NOW, &first).await,
        "APPLICATION_STATE_CONFLICT",
    );
    let missing = ApplicationName {
        clinic,
        id: Uuid::now_v7(),
    };
    assert!(matches!(
        get_application(&pool, missing).await,
        Err(Error::NotFound {
            reason: "APPLICATION_NOT_FOUND",
            ..
        })
    ));
    let unknown_clinic = ClinicName {
        organization: f.org,
        clinic: Uuid::now_v7(),
    };
    assert!(matches!(
        submit(&pool, NOW, &start(&f, unknown_clinic, 1, "1234")).await,
        Err(Error::NotFound {
            reason: "CLINIC_NOT_FOUND",
            ..
        })
    ));
}

async fn medical_info_applications_need_home_visit(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let plain = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let home = f.create(&pool, &f.clinic("3410712370", true)).await.name;
    for clinic in [plain, home] {
        let s = submit(&pool, NOW, &start(&f, clinic, 1, "1234"))
            .await
            .unwrap();
        approve(&pool, NOW, &s).await.unwrap();
    }
    precondition(
        submit(
            &pool,
            NOW,
            &addition(&f, plain, 1, Some(Privilege::MedicalInfo)),
        )
        .await,
        "HOME_VISIT_REQUIRED",
    );
    let ok = submit(
        &pool,
        NOW,
        &addition(&f, home, 2, Some(Privilege::MedicalInfo)),
    )
    .await
    .unwrap();
    let approved = approve(&pool, NOW, &ok).await.unwrap();
    assert!(
        approved
            .accounts
            .iter()
            .all(|a| a.privilege == Privilege::MedicalInfo)
    );
}

async fn rejection_records_the_reason_and_ends_review(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let s = submit(&pool, NOW, &start(&f, clinic, 2, "1234"))
        .await
        .unwrap();
    let reason = RejectReason::parse("台数の根拠を添えて再申請してください", "reason").unwrap();
    let rejected = done(
        reject_application(&pool, NOW + 7, s.name, &reason, audit(), None, |_| {
            Vec::new()
        })
        .await
        .unwrap(),
    );
    assert_eq!(rejected.status, ApplicationStatus::Rejected);
    assert_eq!(rejected.reject_reason.as_deref(), Some(reason.as_str()));
    assert_eq!(rejected.review_time, Some(NOW + 7));
    assert_eq!(rejected.complete_time, None);
    precondition(
        reject_application(&pool, NOW, s.name, &reason, audit(), None, |_| Vec::new()).await,
        "APPLICATION_STATE_CONFLICT",
    );
    precondition(approve(&pool, NOW, &s).await, "APPLICATION_STATE_CONFLICT");
    // A rejected START does not count as started.
    precondition(
        submit(&pool, NOW, &addition(&f, clinic, 1, None)).await,
        "NOT_STARTED",
    );
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM device_accounts")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, 0);
}

async fn releases_name_live_accounts_of_the_clinic(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let other = f.create(&pool, &f.clinic("3410712370", false)).await.name;
    let s = submit(&pool, NOW, &start(&f, clinic, 1, "1234"))
        .await
        .unwrap();
    approve(&pool, NOW, &s).await.unwrap();
    let o = submit(&pool, NOW, &start(&f, other, 1, "1234"))
        .await
        .unwrap();
    approve(&pool, NOW, &o).await.unwrap();

    // W0000002 is the other clinic's.
    assert!(matches!(
        submit(&pool, NOW, &release(&f, clinic, &["W0000002"])).await,
        Err(Error::NotFound {
            reason: "DEVICE_ACCOUNT_NOT_FOUND",
            ..
        })
    ));
    // Two releases of one account: the second cannot be approved once the first ended it.
    let r1 = submit(&pool, NOW, &release(&f, clinic, &["W0000001"]))
        .await
        .unwrap();
    let r2 = submit(&pool, NOW, &release(&f, clinic, &["W0000001"]))
        .await
        .unwrap();
    approve(&pool, NOW, &r1).await.unwrap();
    precondition(approve(&pool, NOW, &r2).await, "ACCOUNT_STATE_CONFLICT");
    assert_eq!(
        get_application(&pool, r2.name).await.unwrap().status,
        ApplicationStatus::Submitted
    );
    precondition(
        submit(&pool, NOW, &release(&f, clinic, &["W0000001"])).await,
        "ACCOUNT_STATE_CONFLICT",
    );
}

async fn lists_are_newest_first_filtered_and_scoped(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let c1 = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let c2 = f.create(&pool, &f.clinic("3410712370", false)).await.name;
    let a = submit(&pool, NOW, &start(&f, c1, 1, "1234")).await.unwrap();
    approve(&pool, NOW, &a).await.unwrap();
    let b = submit(&pool, NOW, &start(&f, c2, 1, "1234")).await.unwrap();
    let c = submit(&pool, NOW, &addition(&f, c1, 1, None))
        .await
        .unwrap();
    let d = submit(&pool, NOW, &release(&f, c1, &["W0000001"]))
        .await
        .unwrap();

    let names = |v: Vec<Application>| v.iter().map(|a| a.name.id).collect::<Vec<_>>();
    let filter = ApplicationFilter::default();
    let mut listing = ApplicationListing {
        organization: f.org,
        clinic: None,
        only: None,
        filter: &filter,
    };
    let (p1, next) = list_applications(&pool, &listing, None, 3).await.unwrap();
    assert_eq!(names(p1), [d.name.id, c.name.id, b.name.id]);
    let (p2, end) = list_applications(&pool, &listing, next, 3).await.unwrap();
    assert_eq!(names(p2), [a.name.id]);
    assert_eq!(end, None);

    listing.clinic = Some(c1.clinic);
    let (of_c1, _) = list_applications(&pool, &listing, None, 10).await.unwrap();
    assert_eq!(names(of_c1), [d.name.id, c.name.id, a.name.id]);

    let submitted_starts = ApplicationFilter {
        kind: Some(ApplicationKind::Start),
        status: Some(ApplicationStatus::Submitted),
    };
    let filtered = ApplicationListing {
        organization: f.org,
        clinic: None,
        only: None,
        filter: &submitted_starts,
    };
    let (starts, _) = list_applications(&pool, &filtered, None, 10).await.unwrap();
    assert_eq!(names(starts), [b.name.id]);

    let scope = [c2.clinic];
    let scoped = ApplicationListing {
        organization: f.org,
        clinic: None,
        only: Some(&scope),
        filter: &filter,
    };
    let (mine, _) = list_applications(&pool, &scoped, None, 10).await.unwrap();
    assert_eq!(names(mine), [b.name.id]);
}

async fn a_repeated_approval_replays_without_issuing_again(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    let s = submit(&pool, NOW, &start(&f, clinic, 2, "1234"))
        .await
        .unwrap();
    let key = RequestKey {
        caller: "operator:x",
        method: "/mynafleet.account.v1.ApplicationService/ApproveApplication",
        request_id: "0190a5d0-0000-7000-8000-000000000003",
        request_hash: b"h",
    };
    let encode = |a: &Approved| ids(&a.accounts).join(",").into_bytes();
    let first = done(
        approve_application(&pool, NOW, s.name, &hashes(2), audit(), Some(&key), encode)
            .await
            .unwrap(),
    );
    match approve_application(&pool, NOW, s.name, &[], audit(), Some(&key), encode)
        .await
        .unwrap()
    {
        Idempotent::Replayed(b) => assert_eq!(b, ids(&first.accounts).join(",").into_bytes()),
        Idempotent::Done(_) => panic!("a repeat must replay"),
    }
    let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM device_accounts")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("n")
        .unwrap();
    assert_eq!(n, 2);
}

async fn application_rows_hold_no_bank_digits(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let clinic = f.create(&pool, &f.clinic("3410712362", false)).await.name;
    submit(&pool, NOW, &start(&f, clinic, 1, "1234"))
        .await
        .unwrap();
    let row = sqlx::query("SELECT bank_hash, bank_key_id, accounts, submitter FROM applications")
        .fetch_one(&pool)
        .await
        .unwrap();
    let hash: String = row.try_get("bank_hash").unwrap();
    assert_eq!(hash.len(), 64);
    // (The hash is 64 hex digits, which may contain any 4 digits by chance.)
    for c in ["bank_key_id", "accounts", "submitter"] {
        assert!(
            !row.try_get::<String, _>(c).unwrap().contains("1234"),
            "{c}"
        );
    }
    // The hash is the clinic's own: the same digits under the same organization key.
    let clinic_hash: String = sqlx::query("SELECT bank_hash FROM clinics")
        .fetch_one(&pool)
        .await
        .unwrap()
        .try_get("bank_hash")
        .unwrap();
    assert_eq!(hash, clinic_hash);
}
