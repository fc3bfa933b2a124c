//! Challenge claims on SQLite and PostgreSQL, through the batching writer.

use super::*;
use crate::store::Store;
use sqlx::Row as _;
use tokio_util::sync::CancellationToken;

mynafleet_kit::store_conformance!(
    crate::store::MIGRATIONS;
    a_challenge_is_claimed_once,
    concurrent_claims_of_one_id_have_one_winner,
    expired_claims_are_pruned_and_live_ones_kept,
    audit_records_reach_the_outbox,
);

async fn a_challenge_is_claimed_once(pool: AnyPool) {
    let store = Store::spawn(pool, CancellationToken::new());
    assert!(store.claim_challenge("c1", 1_000).await.unwrap());
    assert!(!store.claim_challenge("c1", 1_000).await.unwrap());
    assert!(store.claim_challenge("c2", 1_000).await.unwrap());
}

async fn concurrent_claims_of_one_id_have_one_winner(pool: AnyPool) {
    let store = Store::spawn(pool.clone(), CancellationToken::new());
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let store = store.clone();
            // Other ids interleave, so the winner shares its batch with strangers.
            let id = if i % 2 == 0 {
                "same".to_owned()
            } else {
                format!("other-{i}")
            };
            tokio::spawn(async move { (id.clone(), store.claim_challenge(&id, 5).await.unwrap()) })
        })
        .collect();
    let mut same_wins = 0;
    for t in tasks {
        let (id, first) = t.await.unwrap();
        if id == "same" {
            same_wins += usize::from(first);
        } else {
            assert!(first, "{id} was claimed by no one else");
        }
    }
    assert_eq!(same_wins, 1);
    // A second pool-level claim (another replica) also loses.
    let mut conn = pool.acquire().await.unwrap();
    let again = Claim {
        id: "same".to_owned(),
        expires: 5,
    };
    assert!(!claim_on(&mut conn, &again).await.unwrap());
}

async fn expired_claims_are_pruned_and_live_ones_kept(pool: AnyPool) {
    let store = Store::spawn(pool.clone(), CancellationToken::new());
    assert!(store.claim_challenge("old", 100).await.unwrap());
    assert!(store.claim_challenge("edge", 200).await.unwrap());
    assert!(store.claim_challenge("live", 300).await.unwrap());
    assert_eq!(prune_challenges(&pool, 200).await.unwrap(), 1);
    let left: Vec<String> = sqlx::query("SELECT id FROM used_challenges ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get("id").unwrap())
        .collect();
    assert_eq!(left, ["edge", "live"]);
    // A live claim still refuses a replay after a prune.
    assert!(!store.claim_challenge("live", 300).await.unwrap());
}

async fn audit_records_reach_the_outbox(pool: AnyPool) {
    let store = Store::spawn(pool.clone(), CancellationToken::new());
    let record = mynafleet_kit::outbox::OutboxRecord {
        id: uuid::Uuid::now_v7().to_string(),
        action: "eligibility.check_card".to_owned(),
        outcome: "success".to_owned(),
        ..Default::default()
    };
    store.append_audit(record.clone()).await.unwrap();
    assert_eq!(
        mynafleet_kit::outbox::pending(store.pool(), 10)
            .await
            .unwrap(),
        [record]
    );
}
