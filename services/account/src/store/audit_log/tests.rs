//! Audit-log reads on SQLite and PostgreSQL.

use super::*;
use crate::audit::{self, ActionCode, AuditEntry, Outcome, RequestMeta};
use crate::auth::Actor;
use crate::organization::{DisplayName, NewOrganization};
use crate::store::{self, Idempotent};

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    records_list_newest_first_in_pages_without_gaps,
    the_action_filter_and_the_organization_bound_the_list,
    ingest_is_idempotent_by_id_and_lists_with_the_organization,
    ingest_keeps_records_without_an_organization_out_of_every_list,
    forwarded_detail_and_patient_references_are_listed_as_sent,
    search_filters_each_narrow_the_list,
);

async fn org(pool: &AnyPool, name: &str) -> OrganizationId {
    let new = NewOrganization {
        display_name: DisplayName::parse(name, "f").unwrap(),
    };
    let entry = AuditEntry::new(
        &Actor::Service("tests".into()),
        &RequestMeta::default(),
        1,
        "organization.create",
        ActionCode::Create,
    );
    match store::create_organization(pool, 1, &new, entry, None, |_| Vec::new())
        .await
        .unwrap()
    {
        Idempotent::Done(o) => o.id,
        Idempotent::Replayed(_) => panic!("no request id, no replay"),
    }
}

async fn write(pool: &AnyPool, org: OrganizationId, time: i64, action: &'static str) -> String {
    let e = AuditEntry::new(
        &Actor::Service("tests".into()),
        &RequestMeta {
            source_address: "192.0.2.7:1234".into(),
            request_id: String::new(),
            traceparent: String::new(),
        },
        time,
        action,
        ActionCode::Execute,
    )
    .organization(org)
    .target(org.name())
    .outcome(Outcome::Failure, "WHY");
    audit::append_alone(pool, &e).await.unwrap();
    e.id.to_string()
}

async fn records_list_newest_first_in_pages_without_gaps(pool: AnyPool) {
    let o = org(&pool, "さくら医療グループ").await;
    let mut written = Vec::new();
    // Two records share each time, so the id breaks ties.
    for t in [10, 10, 20, 20, 30] {
        written.push((t, write(&pool, o, t, "session.login").await));
    }
    written.sort_by(|a, b| b.cmp(a));
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let (page, next) = list(&pool, o, None, token.as_ref(), 2).await.unwrap();
        seen.extend(page.iter().map(|r| (r.time, r.id.clone())));
        match next {
            Some(t) => token = AuditPageToken::decode(&t.encode()).unwrap(),
            None => break,
        }
    }
    // The organization's own create record came first of all (time 1).
    assert_eq!(seen.last().unwrap().0, 1);
    seen.pop();
    assert_eq!(seen, written);

    let (first, _) = list(&pool, o, None, None, 1).await.unwrap();
    let r = &first[0];
    assert_eq!(r.organization, Some(o));
    assert_eq!(r.actor, "services/tests");
    assert_eq!(r.actor_kind, "service");
    assert_eq!(r.action_code, "E");
    assert_eq!(r.outcome, "failure");
    assert_eq!(r.reason, "WHY");
    assert_eq!(r.source_address, "192.0.2.7:1234");
    assert_eq!(r.producer, "account");
}

async fn the_action_filter_and_the_organization_bound_the_list(pool: AnyPool) {
    let mine = org(&pool, "さくら医療グループ").await;
    let theirs = org(&pool, "ひまわり会").await;
    write(&pool, mine, 10, "session.login").await;
    write(&pool, mine, 20, "operator.create").await;
    write(&pool, theirs, 30, "session.login").await;
    let (logins, next) = list(&pool, mine, Some("session.login"), None, 10)
        .await
        .unwrap();
    assert_eq!(next, None);
    assert_eq!(logins.len(), 1);
    assert_eq!(logins[0].time, 10);
    let (all, _) = list(&pool, mine, None, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        vec!["operator.create", "session.login", "organization.create"]
    );
    assert!(all.iter().all(|r| r.organization == Some(mine)));
}

/// Returns a record as the activation service would forward it.
fn forwarded(org: Option<OrganizationId>, time: i64, action: &str) -> StoredRecord {
    StoredRecord {
        id: uuid::Uuid::now_v7().to_string(),
        organization: org,
        time,
        producer: "activation".into(),
        actor_kind: "terminal".into(),
        actor: "organizations/o/clinics/c/accounts/W0000001".into(),
        actor_role: "general".into(),
        auth_method: "password+activation-code".into(),
        session_ref: String::new(),
        action: action.into(),
        action_code: "E".into(),
        clinic: "organizations/o/clinics/c".into(),
        target: "organizations/o/clinics/c/devices/d".into(),
        outcome: "failure".into(),
        reason: "CODE_MISMATCH".into(),
        source_address: "198.51.100.9:50000".into(),
        request_id: String::new(),
        patient_ref: String::new(),
        patient_ref_key_id: String::new(),
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
        detail: BTreeMap::new(),
    }
}

async fn ingest_is_idempotent_by_id_and_lists_with_the_organization(pool: AnyPool) {
    let o = org(&pool, "さくら医療グループ").await;
    let a = forwarded(Some(o), 100, "activation.attempt");
    let b = forwarded(Some(o), 200, "activation.complete");
    assert_eq!(ingest(&pool, &[a.clone(), b.clone()]).await.unwrap(), 2);
    // A forwarder that lost the reply sends the batch again, with one new record; a batch
    // may even repeat a record within itself.
    let c = forwarded(Some(o), 300, "device.renew");
    assert_eq!(
        ingest(&pool, &[a.clone(), b.clone(), c.clone(), c.clone()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(ingest(&pool, &[]).await.unwrap(), 0);
    let (all, next) = list(&pool, o, None, None, 10).await.unwrap();
    assert_eq!(next, None);
    assert_eq!(
        all.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        vec![
            "device.renew",
            "activation.complete",
            "activation.attempt",
            "organization.create"
        ]
    );
    // Stored as sent, column for column.
    assert_eq!(all[2], a);
    let (attempts, _) = list(&pool, o, Some("activation.attempt"), None, 10)
        .await
        .unwrap();
    assert_eq!(attempts, vec![a]);
}

async fn ingest_keeps_records_without_an_organization_out_of_every_list(pool: AnyPool) {
    let o = org(&pool, "さくら医療グループ").await;
    let anonymous = forwarded(None, 100, "activation.attempt");
    assert_eq!(
        ingest(&pool, std::slice::from_ref(&anonymous))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        ingest(&pool, std::slice::from_ref(&anonymous))
            .await
            .unwrap(),
        0
    );
    let (all, _) = list(&pool, o, None, None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        vec!["organization.create"]
    );
    let stored: Option<String> =
        sqlx::query_scalar("SELECT organization_id FROM audit_records WHERE id = $1")
            .bind(&anonymous.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, None);
}

#[test]
fn page_tokens_refuse_forgeries() {
    assert_eq!(AuditPageToken::decode("").unwrap(), None);
    for bad in [
        mynafleet_kit::page::encode_token("audit", "12"),
        mynafleet_kit::page::encode_token("audit", "x/0190a000-0000-7000-8000-000000000001"),
        mynafleet_kit::page::encode_token("audit", "12/not-a-uuid"),
        mynafleet_kit::page::encode_token("operator", "12/0190a000-0000-7000-8000-000000000001"),
        "%%%".to_owned(),
    ] {
        assert!(
            matches!(AuditPageToken::decode(&bad), Err(Error::InvalidPageToken)),
            "{bad:?}"
        );
    }
}

async fn forwarded_detail_and_patient_references_are_listed_as_sent(pool: AnyPool) {
    let o = org(&pool, "さくら医療グループ").await;
    let mut r = forwarded(Some(o), 100, "eligibility.check_card");
    r.producer = "eligibility-proxy".into();
    r.patient_ref = "ab".repeat(32);
    r.patient_ref_key_id = "0123456789ab".into();
    r.detail = BTreeMap::from([
        ("identity_method".to_owned(), "pin".to_owned()),
        ("validity".to_owned(), "1".to_owned()),
        ("reference_number_ref".to_owned(), "cd".repeat(32)),
    ]);
    assert_eq!(ingest(&pool, std::slice::from_ref(&r)).await.unwrap(), 1);
    let (listed, _) = list(&pool, o, Some("eligibility.check_card"), None, 10)
        .await
        .unwrap();
    assert_eq!(listed, [r]);
    // The service's own records carry no detail.
    let (own, _) = list(&pool, o, Some("organization.create"), None, 10)
        .await
        .unwrap();
    assert!(own[0].detail.is_empty());
}

async fn search_filters_each_narrow_the_list(pool: AnyPool) {
    let o = org(&pool, "さくら医療グループ").await;
    let other = org(&pool, "ひまわり会").await;
    let device = "organizations/o/clinics/c2/devices/d".to_owned();
    let with = |time, action: &str, f: &dyn Fn(&mut StoredRecord)| {
        let mut r = forwarded(Some(o), time, action);
        f(&mut r);
        r
    };
    let r1 = with(100, "eligibility.check_card", &|r| {
        r.actor = "devices/a".into();
        r.clinic = "organizations/o/clinics/c1".into();
        r.outcome = "success".into();
        r.patient_ref = "11".repeat(32);
    });
    let r2 = with(200, "eligibility.check_card", &|r| {
        r.actor = device.clone();
        r.clinic = "organizations/o/clinics/c2".into();
        r.patient_ref = "22".repeat(32);
    });
    let r3 = with(300, "device.suspend", &|r| {
        r.actor = "organizations/o/operators/x".into();
        r.clinic = "organizations/o/clinics/c1".into();
        r.target = device.clone();
        r.outcome = "success".into();
    });
    let r4 = with(400, "session.login", &|r| {
        r.actor = "devices/a".into();
        r.clinic = String::new();
        r.outcome = "denied".into();
    });
    let mut theirs = r1.clone();
    theirs.id = uuid::Uuid::now_v7().to_string();
    theirs.organization = Some(other);
    ingest(
        &pool,
        &[r1.clone(), r2.clone(), r3.clone(), r4.clone(), theirs],
    )
    .await
    .unwrap();
    let found = async |filter: AuditFilter| {
        let (page, next) = search(&pool, o, &filter, None, 100).await.unwrap();
        assert_eq!(next, None);
        page.into_iter().map(|r| r.time).collect::<Vec<_>>()
    };
    let text = |s: &str| Some(s.to_owned());
    // The organization's own create record is at time 1.
    assert_eq!(
        found(AuditFilter::default()).await,
        vec![400, 300, 200, 100, 1]
    );
    let between = AuditFilter {
        start: Some(200),
        end: Some(400),
        ..AuditFilter::default()
    };
    assert_eq!(found(between).await, vec![300, 200]);
    let cases = [
        (
            AuditFilter {
                actor: text("devices/a"),
                ..AuditFilter::default()
            },
            vec![400, 100],
        ),
        (
            AuditFilter {
                action: text("eligibility.check_card"),
                ..AuditFilter::default()
            },
            vec![200, 100],
        ),
        (
            AuditFilter {
                clinic: text("organizations/o/clinics/c1"),
                ..AuditFilter::default()
            },
            vec![300, 100],
        ),
        (
            AuditFilter {
                device: Some(device.clone()),
                ..AuditFilter::default()
            },
            vec![300, 200],
        ),
        (
            AuditFilter {
                outcome: text("denied"),
                ..AuditFilter::default()
            },
            vec![400],
        ),
        (
            AuditFilter {
                patient_ref: Some("22".repeat(32)),
                ..AuditFilter::default()
            },
            vec![200],
        ),
        (
            AuditFilter {
                actor: text("devices/a"),
                start: Some(200),
                ..AuditFilter::default()
            },
            vec![400],
        ),
        (
            AuditFilter {
                end: Some(1),
                ..AuditFilter::default()
            },
            vec![],
        ),
    ];
    for (filter, want) in cases {
        assert_eq!(found(filter.clone()).await, want, "{filter:?}");
    }
    // Pages of a filtered search continue the same search.
    let by_device = AuditFilter {
        device: Some(device),
        ..AuditFilter::default()
    };
    let (first, next) = search(&pool, o, &by_device, None, 1).await.unwrap();
    assert_eq!(first, [r3]);
    let token = AuditPageToken::decode(&next.unwrap().encode()).unwrap();
    let (second, next) = search(&pool, o, &by_device, token.as_ref(), 1)
        .await
        .unwrap();
    assert_eq!((second, next), (vec![r2], None));
}
