//! Conformance cases for activation codes: every case runs on SQLite and on PostgreSQL.

use super::*;
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    issuing_revokes_the_live_code_of_the_account_only,
    one_live_code_per_account_holds_without_the_revoke,
    codes_list_newest_first_in_pages_per_scope,
    shown_states_follow_use_revocation_and_expiry,
    revoking_takes_live_codes_only,
    a_code_binds_once_and_only_while_live_and_unexpired,
    failed_attempts_land_on_the_live_code,
);

const ORG: &str = "org-a";

fn new_code(n: u32, clinic: &str, account: &str, time: i64) -> NewCode {
    NewCode {
        id: format!("0190{n:04}-0000-7000-8000-000000000000"),
        organization_id: ORG.to_owned(),
        clinic_id: clinic.to_owned(),
        account_id: account.to_owned(),
        code_hash: format!("$argon2id$hash-{n}"),
        issued_by: "organizations/org-a/operators/op-1".to_owned(),
        create_time: time,
        expire_time: time + 1_000,
    }
}

async fn issuing_revokes_the_live_code_of_the_account_only(pool: AnyPool) {
    let first = issue(&pool, &new_code(1, "c1", "W0000001", 10))
        .await
        .unwrap();
    assert_eq!(first.state, CodeState::Live);
    assert_eq!(first.failed_attempts, 0);
    assert_eq!(first.device_id, None);
    let neighbour = issue(&pool, &new_code(2, "c1", "W0000002", 11))
        .await
        .unwrap();
    let second = issue(&pool, &new_code(3, "c1", "W0000001", 20))
        .await
        .unwrap();
    assert_eq!(second.state, CodeState::Live);
    let first = get_code(&pool, ORG, &first.id).await.unwrap();
    assert_eq!(first.state, CodeState::Revoked);
    assert_eq!(first.revoke_time, Some(20));
    assert_eq!(
        get_code(&pool, ORG, &neighbour.id).await.unwrap().state,
        CodeState::Live
    );
    assert!(matches!(
        get_code(&pool, "org-b", &second.id).await,
        Err(Error::CodeNotFound)
    ));
    let newest = newest_for_account(&pool, ORG, "W0000001", 5).await.unwrap();
    assert_eq!(
        newest.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [second.id.as_str(), first.id.as_str()]
    );
}

async fn one_live_code_per_account_holds_without_the_revoke(pool: AnyPool) {
    issue(&pool, &new_code(1, "c1", "W0000001", 10))
        .await
        .unwrap();
    // A second live code inserted behind issue_on's back is refused by the index.
    let n = new_code(2, "c1", "W0000001", 11);
    let err = sqlx::query(
        "INSERT INTO activation_codes (id, organization_id, clinic_id, account_id, code_hash, \
         state, issued_by, create_time, expire_time) \
         VALUES ($1, $2, $3, $4, $5, 'live', $6, $7, $8)",
    )
    .bind(&n.id)
    .bind(&n.organization_id)
    .bind(&n.clinic_id)
    .bind(&n.account_id)
    .bind(&n.code_hash)
    .bind(&n.issued_by)
    .bind(n.create_time)
    .bind(n.expire_time)
    .execute(&pool)
    .await
    .unwrap_err();
    assert!(mynafleet_kit::db::is_unique_violation(&err), "{err:?}");
}

async fn codes_list_newest_first_in_pages_per_scope(pool: AnyPool) {
    // Five accounts in two clinics; two codes share a creation time.
    let made = [
        (1, "c1", "W0000001", 10),
        (2, "c1", "W0000002", 20),
        (3, "c2", "W0000003", 20),
        (4, "c2", "W0000004", 30),
        (5, "c1", "W0000005", 40),
    ];
    for (n, clinic, account, time) in made {
        issue(&pool, &new_code(n, clinic, account, time))
            .await
            .unwrap();
    }
    let mut other = new_code(9, "c1", "W0000001", 50);
    other.organization_id = "org-b".to_owned();
    issue(&pool, &other).await.unwrap();
    let all = CodeListing {
        organization_id: ORG,
        clinic_id: None,
        account_id: None,
        only_clinics: None,
    };
    let (page, next) = list_codes(&pool, &all, None, 2).await.unwrap();
    let ids = |codes: &[StoredCode]| {
        codes
            .iter()
            .map(|c| c.id[4..8].to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&page), ["0005", "0004"]);
    let next = next.unwrap();
    assert_eq!(CodeCursor::decode(&next.encode()), Some(next.clone()));
    let (page, next) = list_codes(&pool, &all, Some(&next), 2).await.unwrap();
    assert_eq!(ids(&page), ["0003", "0002"]);
    let (page, end) = list_codes(&pool, &all, next.as_ref(), 2).await.unwrap();
    assert_eq!(ids(&page), ["0001"]);
    assert_eq!(end, None);

    let clinic = CodeListing {
        clinic_id: Some("c2"),
        ..all.clone()
    };
    assert_eq!(
        ids(&list_codes(&pool, &clinic, None, 10).await.unwrap().0),
        ["0004", "0003"]
    );
    let account = CodeListing {
        account_id: Some("W0000002"),
        ..all.clone()
    };
    assert_eq!(
        ids(&list_codes(&pool, &account, None, 10).await.unwrap().0),
        ["0002"]
    );
    let scoped = ["c2".to_owned()];
    let only = CodeListing {
        only_clinics: Some(&scoped),
        ..all.clone()
    };
    assert_eq!(
        ids(&list_codes(&pool, &only, None, 10).await.unwrap().0),
        ["0004", "0003"]
    );
    let nothing = CodeListing {
        only_clinics: Some(&[]),
        ..all
    };
    assert!(
        list_codes(&pool, &nothing, None, 10)
            .await
            .unwrap()
            .0
            .is_empty()
    );
}

async fn shown_states_follow_use_revocation_and_expiry(pool: AnyPool) {
    let live = issue(&pool, &new_code(1, "c1", "W0000001", 10))
        .await
        .unwrap();
    assert_eq!(live.shown_state(10), ShownState::Unused);
    assert_eq!(live.shown_state(1_009), ShownState::Unused);
    assert_eq!(live.shown_state(1_010), ShownState::Expired);
    let mut conn = pool.acquire().await.unwrap();
    assert!(
        bind_on(&mut conn, ORG, &live.id, "dev-1", "fp-1", 11)
            .await
            .unwrap()
    );
    let used = code_on(&mut conn, ORG, &live.id).await.unwrap();
    assert_eq!(used.shown_state(5_000), ShownState::Used);
    let newer = issue_on(&mut conn, &new_code(2, "c1", "W0000002", 12))
        .await
        .unwrap();
    let revoked = revoke_on(&mut conn, ORG, &newer.id, 13).await.unwrap();
    assert_eq!(revoked.shown_state(13), ShownState::Revoked);
    assert_eq!(
        revoked.name(),
        format!(
            "organizations/{ORG}/clinics/c1/accounts/W0000002/activationCodes/{}",
            newer.id
        )
    );
}

async fn revoking_takes_live_codes_only(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let a = issue_on(&mut conn, &new_code(1, "c1", "W0000001", 10))
        .await
        .unwrap();
    let revoked = revoke_on(&mut conn, ORG, &a.id, 20).await.unwrap();
    assert_eq!(
        (revoked.state, revoked.revoke_time),
        (CodeState::Revoked, Some(20))
    );
    // Again: returned as it is, the first revocation time kept.
    let again = revoke_on(&mut conn, ORG, &a.id, 30).await.unwrap();
    assert_eq!(again.revoke_time, Some(20));
    let b = issue_on(&mut conn, &new_code(2, "c1", "W0000002", 10))
        .await
        .unwrap();
    assert!(
        bind_on(&mut conn, ORG, &b.id, "dev-1", "fp-1", 11)
            .await
            .unwrap()
    );
    assert!(matches!(
        revoke_on(&mut conn, ORG, &b.id, 12).await,
        Err(Error::CodeAlreadyUsed)
    ));
    assert!(matches!(
        revoke_on(&mut conn, ORG, "no-such-code", 12).await,
        Err(Error::CodeNotFound)
    ));
    // An expired code is still live, so it can be revoked.
    let c = issue_on(&mut conn, &new_code(3, "c1", "W0000003", 10))
        .await
        .unwrap();
    let expired = revoke_on(&mut conn, ORG, &c.id, 5_000).await.unwrap();
    assert_eq!(expired.state, CodeState::Revoked);
}

async fn a_code_binds_once_and_only_while_live_and_unexpired(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let a = issue_on(&mut conn, &new_code(1, "c1", "W0000001", 10))
        .await
        .unwrap();
    // Past its expiry it does not bind.
    assert!(
        !bind_on(&mut conn, ORG, &a.id, "dev-1", "fp-1", 1_010)
            .await
            .unwrap()
    );
    assert!(
        bind_on(&mut conn, ORG, &a.id, "dev-1", "fp-1", 500)
            .await
            .unwrap()
    );
    // Used: a second binding (another device or key) changes nothing.
    assert!(
        !bind_on(&mut conn, ORG, &a.id, "dev-2", "fp-2", 501)
            .await
            .unwrap()
    );
    let used = code_on(&mut conn, ORG, &a.id).await.unwrap();
    assert_eq!(used.state, CodeState::Used);
    assert_eq!(used.use_time, Some(500));
    assert_eq!(used.last_attempt_time, Some(500));
    assert_eq!(used.device_id.as_deref(), Some("dev-1"));
    assert_eq!(used.key_fingerprint.as_deref(), Some("fp-1"));
    // A revoked code does not bind either.
    let b = issue_on(&mut conn, &new_code(2, "c1", "W0000002", 10))
        .await
        .unwrap();
    revoke_on(&mut conn, ORG, &b.id, 11).await.unwrap();
    assert!(
        !bind_on(&mut conn, ORG, &b.id, "dev-3", "fp-3", 12)
            .await
            .unwrap()
    );
}

async fn failed_attempts_land_on_the_live_code(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let old = issue_on(&mut conn, &new_code(1, "c1", "W0000001", 10))
        .await
        .unwrap();
    let live = issue_on(&mut conn, &new_code(2, "c1", "W0000001", 20))
        .await
        .unwrap();
    for t in [30, 40] {
        record_failed_attempt_on(&mut conn, ORG, "W0000001", t)
            .await
            .unwrap();
    }
    // An account without a live code: nothing to note, no error.
    record_failed_attempt_on(&mut conn, ORG, "W0000009", 50)
        .await
        .unwrap();
    let live = code_on(&mut conn, ORG, &live.id).await.unwrap();
    assert_eq!(
        (live.failed_attempts, live.last_attempt_time),
        (2, Some(40))
    );
    let old = code_on(&mut conn, ORG, &old.id).await.unwrap();
    assert_eq!((old.failed_attempts, old.last_attempt_time), (0, None));
}
