//! Conformance cases for clinics (SQLite and PostgreSQL), and the fixtures the device account
//! and application cases share.

use super::*;
use crate::audit::{ActionCode, RequestMeta};
use crate::auth::Actor;
use crate::clinic::{BankDigits, ClinicInput};
use crate::device_account::JapanDate;
use crate::organization::NewOrganization;
use mynafleet_kit::keys::SecretKey;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    created_clinic_reads_back_with_prefecture_and_warnings,
    institution_keys_are_unique_across_the_deployment,
    a_clinic_of_an_unknown_organization_is_refused,
    lists_are_scoped_ordered_and_paged,
    updates_check_the_etag_and_publish_clinic_changes,
    bank_digits_are_stored_only_as_a_keyed_hash,
    a_repeated_create_replays_the_first,
);

/// The start of every test clock (2025-06-01 12:00 JST).
pub(crate) const NOW: i64 = 1_748_746_800_000_000;

/// An audit record template of a test caller.
pub(crate) fn audit() -> AuditEntry {
    AuditEntry::new(
        &Actor::Service("store-tests".into()),
        &RequestMeta::default(),
        NOW,
        "test.action",
        ActionCode::Execute,
    )
}

/// An organization and the reference key its bank digits hash under.
#[derive(Debug)]
pub(crate) struct Fixture {
    pub(crate) org: OrganizationId,
    pub(crate) key: SecretKey,
}

impl Fixture {
    /// Creates an organization.
    pub(crate) async fn new(pool: &AnyPool) -> Self {
        let new = NewOrganization {
            display_name: DisplayName::parse("さくら医療グループ", "n").unwrap(),
        };
        let org =
            match crate::store::create_organization(pool, NOW, &new, audit(), None, |_| Vec::new())
                .await
                .unwrap()
            {
                Idempotent::Done(o) => o.id,
                Idempotent::Replayed(_) => unreachable!("no request id"),
            };
        Self {
            org,
            key: SecretKey::generate().unwrap(),
        }
    }

    /// Returns a 医科 clinic with `code`, bank digits 1234 and 訪問診療等機能 as given.
    pub(crate) fn clinic(&self, code: &str, home_visit: bool) -> NewClinic {
        let input = ClinicInput {
            kind: Some(ClinicKind::Medical),
            institution_code: code,
            display_name: "さくら内科クリニック",
            home_visit_enabled: home_visit,
            bank_account_last4: "1234",
            ..Default::default()
        };
        NewClinic::parse(self.org, &input, JapanDate::at(NOW), &self.key).unwrap()
    }

    /// Registers `new` and returns it.
    pub(crate) async fn create(&self, pool: &AnyPool, new: &NewClinic) -> Clinic {
        match create_clinic(pool, NOW, new, audit(), None, |_| Vec::new())
            .await
            .unwrap()
        {
            Idempotent::Done(c) => c,
            Idempotent::Replayed(_) => unreachable!("no request id"),
        }
    }
}

fn done<T>(i: Idempotent<T>) -> T {
    match i {
        Idempotent::Done(t) => t,
        Idempotent::Replayed(_) => panic!("unexpected replay"),
    }
}

async fn created_clinic_reads_back_with_prefecture_and_warnings(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let made = f.create(&pool, &f.clinic("3410712362", false)).await;
    assert_eq!(made.prefecture, 34);
    assert!(made.warnings.is_empty());
    assert!(made.bank_account_registered);
    assert_eq!(made.institution_shown(), "3410712362");
    assert_eq!(made.etag(), "r1");
    assert_eq!(get_clinic(&pool, made.name).await.unwrap(), made);

    let legacy = f.create(&pool, &f.clinic("0110000001", false)).await;
    assert_eq!(legacy.warnings, vec!["CHECK_DIGIT_MISMATCH".to_owned()]);
    assert_eq!(legacy.prefecture, 1);

    // A clinic is found only under its own organization.
    let other = Fixture::new(&pool).await;
    let wrong = ClinicName {
        organization: other.org,
        clinic: made.name.clinic,
    };
    assert!(matches!(
        get_clinic(&pool, wrong).await,
        Err(Error::NotFound {
            reason: "CLINIC_NOT_FOUND",
            ..
        })
    ));
}

async fn institution_keys_are_unique_across_the_deployment(pool: AnyPool) {
    let a = Fixture::new(&pool).await;
    let b = Fixture::new(&pool).await;
    a.create(&pool, &a.clinic("3410712362", false)).await;
    let taken = create_clinic(
        &pool,
        NOW,
        &b.clinic("3410712362", false),
        audit(),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            taken,
            Error::Taken {
                reason: "INSTITUTION_CODE_TAKEN",
                field: "clinic.institution_code",
                ..
            }
        ),
        "{taken:?}"
    );

    let treatment = |f: &Fixture| {
        let input = ClinicInput {
            kind: Some(ClinicKind::Treatment),
            registration_number: "契1234567-0-0",
            display_name: "みどり整骨院",
            prefecture: 13,
            ..Default::default()
        };
        NewClinic::parse(f.org, &input, JapanDate::at(NOW), &f.key).unwrap()
    };
    let t = a.create(&pool, &treatment(&a)).await;
    assert_eq!(t.institution_shown(), "契123456700");
    assert_eq!(t.institution_code, None);
    assert!(!t.bank_account_registered);
    let taken = create_clinic(&pool, NOW, &treatment(&b), audit(), None, |_| Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(
        taken,
        Error::Taken {
            field: "clinic.registration_number",
            ..
        }
    ));
}

async fn a_clinic_of_an_unknown_organization_is_refused(pool: AnyPool) {
    let f = Fixture {
        org: OrganizationId::new(),
        key: SecretKey::generate().unwrap(),
    };
    let err = create_clinic(
        &pool,
        NOW,
        &f.clinic("3410712362", false),
        audit(),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::OrganizationNotFound), "{err:?}");
}

async fn lists_are_scoped_ordered_and_paged(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let other = Fixture::new(&pool).await;
    let mut made = Vec::new();
    for code in ["3410712362", "3410712370", "3410712388", "3410712396"] {
        made.push(f.create(&pool, &f.clinic(code, false)).await.name.clinic);
    }
    other
        .create(&pool, &other.clinic("1310000013", false))
        .await;

    let (page1, next) = list_clinics(&pool, f.org, None, None, 3).await.unwrap();
    assert_eq!(
        page1.iter().map(|c| c.name.clinic).collect::<Vec<_>>(),
        made[..3]
    );
    let (page2, end) = list_clinics(&pool, f.org, None, next, 3).await.unwrap();
    assert_eq!(
        page2.iter().map(|c| c.name.clinic).collect::<Vec<_>>(),
        made[3..]
    );
    assert_eq!(end, None);

    let mine = [made[1], made[3]];
    let (scoped, _) = list_clinics(&pool, f.org, Some(&mine), None, 10)
        .await
        .unwrap();
    assert_eq!(
        scoped.iter().map(|c| c.name.clinic).collect::<Vec<_>>(),
        mine
    );
    let (none, next) = list_clinics(&pool, f.org, Some(&[]), None, 10)
        .await
        .unwrap();
    assert!(none.is_empty() && next.is_none());
    // Another organization's clinic id in the filter shows nothing of it.
    let (foreign, _) = list_clinics(&pool, other.org, Some(&mine), None, 10)
        .await
        .unwrap();
    assert!(foreign.is_empty());
}

async fn updates_check_the_etag_and_publish_clinic_changes(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let made = f.create(&pool, &f.clinic("3410712362", false)).await;
    let update =
        |home: Option<bool>, date: Option<Option<JapanDate>>, rev: Option<i64>| ClinicUpdate {
            name: made.name,
            display_name: None,
            home_visit_enabled: home,
            operation_start_date: date,
            bank: None,
            expected_revision: rev,
        };
    let events_now = || async {
        events::after(&pool, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == EventKind::ClinicChanged)
            .count()
    };

    let day = JapanDate::from_ymd(2025, 4, 1).unwrap();
    let dated = done(
        update_clinic(
            &pool,
            NOW + 1,
            &update(None, Some(Some(day)), Some(1)),
            audit(),
            None,
            |_| Vec::new(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(dated.operation_start_date.as_deref(), Some("2025-04-01"));
    assert_eq!(dated.etag(), "r2");
    assert_eq!(dated.update_time, NOW + 1);
    assert_eq!(events_now().await, 0, "a date change is no account event");

    let stale = update_clinic(
        &pool,
        NOW + 2,
        &update(Some(true), None, Some(1)),
        audit(),
        None,
        |_| Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(stale, Error::EtagMismatch), "{stale:?}");
    assert!(
        !get_clinic(&pool, made.name)
            .await
            .unwrap()
            .home_visit_enabled
    );

    let on = done(
        update_clinic(
            &pool,
            NOW + 3,
            &update(Some(true), None, Some(2)),
            audit(),
            None,
            |_| Vec::new(),
        )
        .await
        .unwrap(),
    );
    assert!(on.home_visit_enabled);
    assert_eq!(on.operation_start_date.as_deref(), Some("2025-04-01"));
    let changed: Vec<_> = events::after(&pool, 0, 100).await.unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].kind, EventKind::ClinicChanged);
    assert_eq!(changed[0].clinic, made.name.clinic.to_string());
    assert_eq!(changed[0].account_id, "");

    // Setting the same value again publishes nothing; clearing the date works.
    let cleared = done(
        update_clinic(
            &pool,
            NOW + 4,
            &update(Some(true), Some(None), None),
            audit(),
            None,
            |_| Vec::new(),
        )
        .await
        .unwrap(),
    );
    assert_eq!(cleared.operation_start_date, None);
    assert_eq!(events_now().await, 1);

    let missing = ClinicUpdate {
        name: ClinicName {
            organization: f.org,
            clinic: Uuid::now_v7(),
        },
        ..update(Some(false), None, None)
    };
    assert!(matches!(
        update_clinic(&pool, NOW, &missing, audit(), None, |_| Vec::new()).await,
        Err(Error::NotFound {
            reason: "CLINIC_NOT_FOUND",
            ..
        })
    ));
}

async fn bank_digits_are_stored_only_as_a_keyed_hash(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let made = f.create(&pool, &f.clinic("3410712362", false)).await;
    let new_bank = BankDigits::parse("9876", "b")
        .unwrap()
        .keyed_hash(&f.key, f.org);
    done(
        update_clinic(
            &pool,
            NOW,
            &ClinicUpdate {
                name: made.name,
                display_name: None,
                home_visit_enabled: None,
                operation_start_date: None,
                bank: Some(new_bank.clone()),
                expected_revision: None,
            },
            audit(),
            None,
            |_| Vec::new(),
        )
        .await
        .unwrap(),
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS}, bank_key_id FROM clinics"
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    let hash: String = row.try_get("bank_hash").unwrap();
    assert_eq!(hash, new_bank.hash);
    assert_eq!(row.try_get::<String, _>("bank_key_id").unwrap(), f.key.id());
    for column in ["institution_code", "display_name", "warnings"] {
        let v: Option<String> = row.try_get(column).unwrap();
        let v = v.unwrap_or_default();
        assert!(!v.contains("9876") && !v.contains("1234"), "{column}: {v}");
    }
    let audits: Vec<String> = sqlx::query("SELECT target, clinic, reason FROM audit_records")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.try_get::<String, _>("target").unwrap(),
                r.try_get::<String, _>("clinic").unwrap(),
                r.try_get::<String, _>("reason").unwrap()
            )
        })
        .collect();
    // Resource ids are random hex and may hold "9876" by chance: only the other words count.
    let words: Vec<&str> = audits
        .iter()
        .flat_map(|a| a.split(['/', ' ']))
        .filter(|w| Uuid::parse_str(w).is_err())
        .collect();
    assert!(words.iter().all(|w| !w.contains("9876")), "{audits:?}");
}

async fn a_repeated_create_replays_the_first(pool: AnyPool) {
    let f = Fixture::new(&pool).await;
    let new = f.clinic("3410712362", false);
    let key = RequestKey {
        caller: "operator:x",
        method: "/mynafleet.account.v1.ClinicService/CreateClinic",
        request_id: "0190a5d0-0000-7000-8000-000000000001",
        request_hash: b"h",
    };
    let first = done(
        create_clinic(&pool, NOW, &new, audit(), Some(&key), |c| {
            c.name.name().into_bytes()
        })
        .await
        .unwrap(),
    );
    match create_clinic(&pool, NOW, &new, audit(), Some(&key), |_| Vec::new())
        .await
        .unwrap()
    {
        Idempotent::Replayed(bytes) => assert_eq!(bytes, first.name.name().into_bytes()),
        Idempotent::Done(_) => panic!("a repeat must replay"),
    }
    let (all, _) = list_clinics(&pool, f.org, None, None, 10).await.unwrap();
    assert_eq!(all.len(), 1);
}
