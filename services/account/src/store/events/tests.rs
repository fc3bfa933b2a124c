//! Conformance cases for the account event log (SQLite and PostgreSQL).

use super::*;
use sqlx::Acquire;

mynafleet_kit::store_conformance!(
    crate::MIGRATIONS;
    events_read_back_in_order_after_a_position,
    concurrent_appends_get_distinct_gap_free_seqs,
    rolled_back_append_leaves_no_event_and_no_gap,
    every_kind_round_trips,
);

async fn append_one(pool: &AnyPool, kind: EventKind, account: &str, now: i64) {
    let mut tx = pool.begin().await.unwrap();
    append(&mut tx, kind, "org-1", "clinic-1", account, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn events_read_back_in_order_after_a_position(pool: AnyPool) {
    assert!(after(&pool, 0, 10).await.unwrap().is_empty());
    append_one(&pool, EventKind::Issued, "W0000001", 10).await;
    append_one(&pool, EventKind::Suspended, "W0000001", 20).await;
    append_one(&pool, EventKind::ClinicChanged, "", 30).await;

    let all = after(&pool, 0, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| (e.seq, e.kind)).collect::<Vec<_>>(),
        vec![
            (1, EventKind::Issued),
            (2, EventKind::Suspended),
            (3, EventKind::ClinicChanged)
        ]
    );
    assert_eq!(
        all[0],
        StoredEvent {
            seq: 1,
            kind: EventKind::Issued,
            organization: "org-1".into(),
            clinic: "clinic-1".into(),
            account_id: "W0000001".into(),
            time: 10,
        }
    );
    assert_eq!(
        all[2].account_id, "",
        "a clinic-wide event names no account"
    );

    let rest = after(&pool, 1, 10).await.unwrap();
    assert_eq!(rest.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3]);
    let page = after(&pool, 0, 2).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert!(after(&pool, 3, 10).await.unwrap().is_empty());
}

async fn concurrent_appends_get_distinct_gap_free_seqs(pool: AnyPool) {
    let mut tasks = Vec::new();
    for task in 0..2 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..20 {
                let mut tx = pool.begin().await.unwrap();
                let conn = tx.acquire().await.unwrap();
                append(
                    conn,
                    EventKind::PasswordReset,
                    "org-1",
                    "clinic-1",
                    &format!("W{task}{i:06}"),
                    i,
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = after(&pool, 0, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    let mut accounts = all.iter().map(|e| e.account_id.clone()).collect::<Vec<_>>();
    accounts.sort();
    accounts.dedup();
    assert_eq!(accounts.len(), 40, "every append is in the log once");
}

async fn rolled_back_append_leaves_no_event_and_no_gap(pool: AnyPool) {
    append_one(&pool, EventKind::Issued, "W0000001", 1).await;
    {
        let mut tx = pool.begin().await.unwrap();
        append(
            &mut tx,
            EventKind::Ended,
            "org-1",
            "clinic-1",
            "W0000001",
            2,
        )
        .await
        .unwrap();
        tx.rollback().await.unwrap();
    }
    append_one(&pool, EventKind::Resumed, "W0000001", 3).await;
    let all = after(&pool, 0, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| (e.seq, e.kind)).collect::<Vec<_>>(),
        vec![(1, EventKind::Issued), (2, EventKind::Resumed)]
    );
}

async fn every_kind_round_trips(pool: AnyPool) {
    let kinds = [
        EventKind::Suspended,
        EventKind::Resumed,
        EventKind::Ended,
        EventKind::PrivilegeChanged,
        EventKind::ClinicChanged,
        EventKind::Issued,
        EventKind::PasswordReset,
    ];
    for (i, kind) in kinds.iter().enumerate() {
        append_one(&pool, *kind, "W0000001", i as i64).await;
        assert_eq!(EventKind::from_stored(kind.as_str()), Some(*kind));
    }
    let all = after(&pool, 0, 10).await.unwrap();
    assert_eq!(all.iter().map(|e| e.kind).collect::<Vec<_>>(), kinds);
    assert_eq!(EventKind::from_stored("renamed"), None);
}
