//! The store conformance suite: every case runs on SQLite and on PostgreSQL.

use super::*;
mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    a_position_moves_only_from_where_it_is,
    a_rolled_back_move_leaves_the_position,
    a_reset_position_starts_again,
);

async fn a_position_moves_only_from_where_it_is(pool: AnyPool) {
    assert_eq!(position(&pool, "account").await.unwrap(), None);
    let mut conn = pool.acquire().await.unwrap();
    assert!(advance_on(&mut conn, "account", "", "t1").await.unwrap());
    assert_eq!(
        position(&pool, "account").await.unwrap().as_deref(),
        Some("t1")
    );
    // A replica that saw the same first message finds it applied.
    assert!(!advance_on(&mut conn, "account", "", "t1").await.unwrap());
    assert!(advance_on(&mut conn, "account", "t1", "t2").await.unwrap());
    // The same token again (a group of messages under one token) moves nothing but is fine.
    assert!(advance_on(&mut conn, "account", "t2", "t2").await.unwrap());
    assert!(!advance_on(&mut conn, "account", "t1", "t3").await.unwrap());
    assert_eq!(
        position(&pool, "account").await.unwrap().as_deref(),
        Some("t2")
    );
    // Streams are independent.
    assert!(advance_on(&mut conn, "other", "", "x1").await.unwrap());
    assert_eq!(
        position(&pool, "account").await.unwrap().as_deref(),
        Some("t2")
    );
}

async fn a_rolled_back_move_leaves_the_position(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    assert!(advance_on(&mut conn, "account", "", "t1").await.unwrap());
    drop(conn);
    let mut tx = pool.begin().await.unwrap();
    assert!(advance_on(&mut tx, "account", "t1", "t2").await.unwrap());
    tx.rollback().await.unwrap();
    assert_eq!(
        position(&pool, "account").await.unwrap().as_deref(),
        Some("t1")
    );
}

async fn a_reset_position_starts_again(pool: AnyPool) {
    let mut conn = pool.acquire().await.unwrap();
    assert!(advance_on(&mut conn, "account", "", "t1").await.unwrap());
    reset(&pool, "account").await.unwrap();
    assert_eq!(position(&pool, "account").await.unwrap(), None);
    assert!(advance_on(&mut conn, "account", "", "t9").await.unwrap());
}
