//! Conformance cases for the activation lock: every case runs on SQLite and on PostgreSQL.

use super::*;
use sqlx::AnyPool;
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    a_scope_locks_at_the_maximum_and_only_that_scope,
    a_running_lock_is_kept_and_an_expired_one_restarts_the_count,
    clearing_forgets_the_failures_and_says_whether_it_was_locked,
);

const MAX: u32 = 3;
const COOL_DOWN: i64 = 1_000;

async fn a_scope_locks_at_the_maximum_and_only_that_scope(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let account = account_scope("org-a", "W0000001");
    assert_eq!(account, "account:org-a/W0000001");
    let source = source_scope("192.0.2.7");
    assert_eq!(source, "source:192.0.2.7");
    for (n, t) in [(1, 10), (2, 20)] {
        let f = record_failure_on(&mut conn, &account, t, MAX, COOL_DOWN)
            .await
            .unwrap();
        assert_eq!(
            f,
            Failures {
                count: n,
                locked_until: None
            }
        );
        assert_eq!(locked_until_on(&mut conn, &account, t).await.unwrap(), None);
    }
    record_failure_on(&mut conn, &source, 25, MAX, COOL_DOWN)
        .await
        .unwrap();
    let third = record_failure_on(&mut conn, &account, 30, MAX, COOL_DOWN)
        .await
        .unwrap();
    assert_eq!(
        third,
        Failures {
            count: 3,
            locked_until: Some(1_030)
        }
    );
    assert_eq!(
        locked_until_on(&mut conn, &account, 31).await.unwrap(),
        Some(1_030)
    );
    assert_eq!(locked_until_on(&mut conn, &source, 31).await.unwrap(), None);
    assert_eq!(
        locked_until_on(&mut conn, &account_scope("org-b", "W0000001"), 31)
            .await
            .unwrap(),
        None
    );
    // The cool-down ends the lock by itself.
    assert_eq!(
        locked_until_on(&mut conn, &account, 1_030).await.unwrap(),
        None
    );
    // A policy of one failure locks at once.
    let strict = record_failure_on(&mut conn, "source:198.51.100.1", 40, 1, COOL_DOWN)
        .await
        .unwrap();
    assert_eq!(
        strict,
        Failures {
            count: 1,
            locked_until: Some(1_040)
        }
    );
}

async fn a_running_lock_is_kept_and_an_expired_one_restarts_the_count(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let scope = account_scope("org-a", "W0000001");
    for t in [10, 20, 30] {
        record_failure_on(&mut conn, &scope, t, MAX, COOL_DOWN)
            .await
            .unwrap();
    }
    // Failing again while locked neither extends nor clears the lock.
    let during = record_failure_on(&mut conn, &scope, 500, MAX, COOL_DOWN)
        .await
        .unwrap();
    assert_eq!(
        during,
        Failures {
            count: 4,
            locked_until: Some(1_030)
        }
    );
    // After the cool-down the count starts again from this failure.
    let after = record_failure_on(&mut conn, &scope, 2_000, MAX, COOL_DOWN)
        .await
        .unwrap();
    assert_eq!(
        after,
        Failures {
            count: 1,
            locked_until: None
        }
    );
    record_failure_on(&mut conn, &scope, 2_010, MAX, COOL_DOWN)
        .await
        .unwrap();
    let relocked = record_failure_on(&mut conn, &scope, 2_020, MAX, COOL_DOWN)
        .await
        .unwrap();
    assert_eq!(
        relocked,
        Failures {
            count: 3,
            locked_until: Some(3_020)
        }
    );
}

async fn clearing_forgets_the_failures_and_says_whether_it_was_locked(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    let scope = source_scope("192.0.2.7");
    assert!(
        !clear_on(&mut conn, &scope, 10).await.unwrap(),
        "nothing to clear"
    );
    record_failure_on(&mut conn, &scope, 10, MAX, COOL_DOWN)
        .await
        .unwrap();
    assert!(
        !clear_on(&mut conn, &scope, 11).await.unwrap(),
        "counted, not locked"
    );
    for t in [20, 30, 40] {
        record_failure_on(&mut conn, &scope, t, MAX, COOL_DOWN)
            .await
            .unwrap();
    }
    assert!(clear_on(&mut conn, &scope, 50).await.unwrap());
    assert_eq!(locked_until_on(&mut conn, &scope, 50).await.unwrap(), None);
    // The count starts from zero again.
    let next = record_failure_on(&mut conn, &scope, 60, MAX, COOL_DOWN)
        .await
        .unwrap();
    assert_eq!(
        next,
        Failures {
            count: 1,
            locked_until: None
        }
    );
    // A lock that ran out was not a lock any more.
    for t in [70, 80] {
        record_failure_on(&mut conn, &scope, t, MAX, COOL_DOWN)
            .await
            .unwrap();
    }
    assert!(!clear_on(&mut conn, &scope, 5_000).await.unwrap());
}
