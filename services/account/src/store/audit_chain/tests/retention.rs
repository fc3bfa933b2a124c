//! Retention and adoption on both engines: records leave only inside sealed segments, the
//! kept checkpoint anchors what remains, and records written before the chain get a place.

use super::*;

/// Appends `n` records to `org`'s chain.
async fn grow(pool: &AnyPool, org: OrganizationId, n: i64) {
    let batch: Vec<_> = (0..n).map(|t| record(Some(org), t, "x.y")).collect();
    ingest(pool, &batch).await.unwrap();
}

async fn set_pruned(pool: &AnyPool, chain: &str, through: i64) -> bool {
    sqlx::query("UPDATE audit_chains SET pruned_through = $2 WHERE chain = $1")
        .bind(chain)
        .bind(through)
        .execute(pool)
        .await
        .is_ok()
}

async fn delete_seq(pool: &AnyPool, chain: &str, seq: i64) -> bool {
    sqlx::query("DELETE FROM audit_records WHERE chain = $1 AND seq = $2")
        .bind(chain)
        .bind(seq)
        .execute(pool)
        .await
        .is_ok()
}

pub(super) async fn delete_is_allowed_only_inside_a_pruned_segment(pool: AnyPool) {
    let o = OrganizationId::new();
    let chain = o.name();
    let s = signer();
    grow(&pool, o, 3).await;
    seal(&pool, &s, &chain, 100).await;
    grow(&pool, o, 2).await;
    assert!(
        !delete_seq(&pool, &chain, 2).await,
        "deleted before any pruning"
    );
    assert!(set_pruned(&pool, &chain, 3).await);
    assert!(delete_seq(&pool, &chain, 2).await);
    assert!(
        !delete_seq(&pool, &chain, 4).await,
        "deleted past the sealed segment"
    );
    let res = sqlx::query("UPDATE audit_records SET outcome = 'x' WHERE chain = $1 AND seq = 1")
        .bind(&chain)
        .execute(&pool)
        .await;
    assert!(res.is_err(), "changed a record of a released segment");
    let left: Vec<i64> = all(&pool, &chain).await.iter().map(|e| e.seq).collect();
    assert_eq!(left, vec![1, 3, 4, 5]);
}

pub(super) async fn pruned_through_moves_only_forward_and_only_to_a_checkpoint(pool: AnyPool) {
    let o = OrganizationId::new();
    let chain = o.name();
    let s = signer();
    grow(&pool, o, 2).await;
    seal(&pool, &s, &chain, 100).await;
    grow(&pool, o, 2).await;
    seal(&pool, &s, &chain, 200).await;
    grow(&pool, o, 1).await;
    assert!(
        !set_pruned(&pool, &chain, 3).await,
        "pruned to a size no checkpoint covers"
    );
    assert!(
        !set_pruned(&pool, &chain, 5).await,
        "pruned past the newest checkpoint"
    );
    assert!(set_pruned(&pool, &chain, 4).await);
    assert!(!set_pruned(&pool, &chain, 2).await, "moved the mark back");
    assert_eq!(
        head(&pool, &chain).await.unwrap().unwrap().pruned_through,
        4
    );
}

pub(super) async fn prune_keeps_the_anchor_checkpoint_and_the_rest_links_to_it(pool: AnyPool) {
    let a = OrganizationId::new();
    let b = OrganizationId::new();
    let (chain_a, chain_b) = (a.name(), b.name());
    let s = signer();
    grow(&pool, a, 3).await;
    let three = seal(&pool, &s, &chain_a, 100).await;
    grow(&pool, a, 2).await;
    let five = seal(&pool, &s, &chain_a, 200).await;
    grow(&pool, a, 2).await;
    grow(&pool, b, 2).await;
    let b_two = seal(&pool, &s, &chain_b, 500).await;

    assert_eq!(prune(&pool, 150).await.unwrap(), vec![(chain_a.clone(), 3)]);
    let rest = all(&pool, &chain_a).await;
    assert_links(&chain_a, &rest, 4, three.head);
    assert_eq!(rest.len(), 4);
    assert_eq!(
        head(&pool, &chain_a).await.unwrap().unwrap().pruned_through,
        3
    );
    assert_eq!(prune(&pool, 150).await.unwrap(), vec![]);

    let mut pruned = prune(&pool, 1_000).await.unwrap();
    pruned.sort();
    let mut want = vec![(chain_a.clone(), 5), (chain_b.clone(), 2)];
    want.sort();
    assert_eq!(pruned, want);
    assert_links(&chain_a, &all(&pool, &chain_a).await, 6, five.head);
    // Every checkpoint stays, the anchors among them.
    assert_eq!(
        checkpoints(&pool, &chain_a, 0, 10).await.unwrap(),
        vec![three, five]
    );
    // A chain pruned to its head carries on from the kept checkpoint.
    assert!(all(&pool, &chain_b).await.is_empty());
    grow(&pool, b, 1).await;
    assert_links(&chain_b, &all(&pool, &chain_b).await, 3, b_two.head);
}

/// Inserts `r` as a record written before migration 0004 (no chain, no seq).
async fn legacy(pool: &AnyPool, r: &StoredRecord) {
    let insert = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO audit_records ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
         $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    )));
    bind_record(insert, r).execute(pool).await.unwrap();
}

pub(super) async fn adopt_unchained_chains_legacy_records_oldest_first(pool: AnyPool) {
    let o = OrganizationId::new();
    let chain = o.name();
    grow(&pool, o, 1).await;
    let old: Vec<_> = [30, 10, 20]
        .into_iter()
        .map(|t| record(Some(o), t, "session.login"))
        .collect();
    let anonymous = record(None, 5, "session.login");
    for r in old.iter().chain([&anonymous]) {
        legacy(&pool, r).await;
    }
    assert_eq!(adopt_unchained(&pool).await.unwrap(), 4);
    assert_eq!(adopt_unchained(&pool).await.unwrap(), 0);

    let entries = all(&pool, &chain).await;
    assert_links(&chain, &entries, 1, ZERO_HASH);
    assert_eq!(
        entries[1..]
            .iter()
            .map(|e| e.record.time)
            .collect::<Vec<_>>(),
        vec![10, 20, 30]
    );
    assert_eq!(entries[3].record, old[0].to_chain_record());
    let deployment = all(&pool, kit::DEPLOYMENT_CHAIN).await;
    assert_links(kit::DEPLOYMENT_CHAIN, &deployment, 1, ZERO_HASH);
    assert_eq!(deployment[0].record.id, anonymous.id);
    // Chained now, so they are as fixed as any other record, and the chain carries on.
    let res = sqlx::query("UPDATE audit_records SET seq = NULL WHERE id = $1")
        .bind(&old[0].id)
        .execute(&pool)
        .await;
    assert!(res.is_err());
    grow(&pool, o, 1).await;
    assert_links(&chain, &all(&pool, &chain).await, 1, ZERO_HASH);
    assert_eq!(head(&pool, &chain).await.unwrap().unwrap().size, 5);
}
