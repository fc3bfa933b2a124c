//! The store conformance suite: every case runs on SQLite and on PostgreSQL.

use super::*;
use crate::audit::{ActionCode, RequestMeta};
use crate::auth::Actor;

fn audit() -> AuditEntry {
    AuditEntry::new(
        &Actor::Service("store-tests".into()),
        &RequestMeta::default(),
        1,
        "test.action",
        ActionCode::Execute,
    )
}
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    created_organization_reads_back,
    unknown_organization_is_not_found,
    list_pages_in_creation_order_without_gaps,
    repeated_request_id_replays_the_first_response,
    request_id_with_another_request_is_refused,
    concurrent_duplicates_create_one_organization,
    update_bumps_the_etag_and_refuses_a_stale_one,
    update_of_unknown_organization_is_not_found,
);

fn new_org(name: &str) -> NewOrganization {
    NewOrganization {
        display_name: DisplayName::parse(name, "display_name").unwrap(),
    }
}

fn key<'a>(request_id: &'a str, hash: &'a [u8]) -> RequestKey<'a> {
    RequestKey {
        caller: "service:test",
        method: "/mynafleet.account.v1.OrganizationService/CreateOrganization",
        request_id,
        request_hash: hash,
    }
}

async fn create(pool: &AnyPool, name: &str) -> Organization {
    match create_organization(pool, 1_000, &new_org(name), audit(), None, |_| Vec::new())
        .await
        .unwrap()
    {
        Idempotent::Done(o) => o,
        Idempotent::Replayed(_) => panic!("no request id, no replay"),
    }
}

async fn created_organization_reads_back(pool: AnyPool) {
    let made = create(&pool, "さくら医療グループ").await;
    let got = get_organization(&pool, made.id).await.unwrap();
    assert_eq!(got, made);
    assert_eq!(got.display_name.as_str(), "さくら医療グループ");
    assert_eq!(got.etag(), "r1");
}

async fn unknown_organization_is_not_found(pool: AnyPool) {
    let err = get_organization(&pool, OrganizationId::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OrganizationNotFound), "{err:?}");
}

async fn list_pages_in_creation_order_without_gaps(pool: AnyPool) {
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(create(&pool, &format!("group {i}")).await.id);
    }
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let (page, next) = list_organizations(&pool, token, 3).await.unwrap();
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|o| o.id));
        pages += 1;
        match next {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, made);
}

async fn repeated_request_id_replays_the_first_response(pool: AnyPool) {
    let rid = uuid::Uuid::new_v4().to_string();
    let k = key(&rid, b"hash-a");
    let first = create_organization(&pool, 1, &new_org("A"), audit(), Some(&k), |o| {
        o.id.name().into_bytes()
    })
    .await
    .unwrap();
    let Idempotent::Done(org) = first else {
        panic!("first call must create")
    };
    let again = create_organization(&pool, 2, &new_org("A"), audit(), Some(&k), |_| {
        b"other".to_vec()
    })
    .await
    .unwrap();
    match again {
        Idempotent::Replayed(bytes) => assert_eq!(bytes, org.id.name().into_bytes()),
        Idempotent::Done(o) => panic!("second call created {o:?}"),
    }
    let (all, _) = list_organizations(&pool, None, 10).await.unwrap();
    assert_eq!(all.len(), 1);
}

async fn request_id_with_another_request_is_refused(pool: AnyPool) {
    let rid = uuid::Uuid::new_v4().to_string();
    create_organization(
        &pool,
        1,
        &new_org("A"),
        audit(),
        Some(&key(&rid, b"a")),
        |_| Vec::new(),
    )
    .await
    .unwrap();
    let err = create_organization(
        &pool,
        2,
        &new_org("B"),
        audit(),
        Some(&key(&rid, b"b")),
        |_| Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::RequestIdReused), "{err:?}");
    let (all, _) = list_organizations(&pool, None, 10).await.unwrap();
    assert_eq!(all.len(), 1, "the refused request changed nothing");
}

async fn concurrent_duplicates_create_one_organization(pool: AnyPool) {
    let rid = uuid::Uuid::new_v4().to_string();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = pool.clone();
        let rid = rid.clone();
        tasks.push(tokio::spawn(async move {
            create_organization(
                &pool,
                1,
                &new_org("A"),
                audit(),
                Some(&key(&rid, b"h")),
                |o| o.id.name().into_bytes(),
            )
            .await
            .map(|r| match r {
                Idempotent::Done(o) => o.id.name().into_bytes(),
                Idempotent::Replayed(b) => b,
            })
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap().unwrap());
    }
    answers.dedup();
    assert_eq!(answers.len(), 1, "every duplicate got the first response");
    let (all, _) = list_organizations(&pool, None, 10).await.unwrap();
    assert_eq!(all.len(), 1);
}

async fn update_bumps_the_etag_and_refuses_a_stale_one(pool: AnyPool) {
    let made = create(&pool, "old").await;
    let update = OrganizationUpdate {
        id: made.id,
        display_name: Some(DisplayName::parse("new", "n").unwrap()),
        expected_revision: Organization::parse_etag(&made.etag()),
    };
    let Idempotent::Done(updated) =
        update_organization(&pool, 5_000, &update, audit(), None, |_| Vec::new())
            .await
            .unwrap()
    else {
        panic!("no request id, no replay")
    };
    assert_eq!(updated.display_name.as_str(), "new");
    assert_eq!(updated.etag(), "r2");
    assert_eq!(updated.update_time, 5_000);
    assert_eq!(updated.create_time, made.create_time);
    let stale = update_organization(&pool, 6_000, &update, audit(), None, |_| Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(stale, Error::EtagMismatch), "{stale:?}");
    assert_eq!(get_organization(&pool, made.id).await.unwrap(), updated);
}

async fn update_of_unknown_organization_is_not_found(pool: AnyPool) {
    let update = OrganizationUpdate {
        id: OrganizationId::new(),
        display_name: Some(DisplayName::parse("x", "n").unwrap()),
        expected_revision: None,
    };
    let err = update_organization(&pool, 1, &update, audit(), None, |_| Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OrganizationNotFound), "{err:?}");
}
