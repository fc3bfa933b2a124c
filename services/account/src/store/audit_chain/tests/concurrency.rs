//! Concurrent writers of one organization (issue #7's acceptance): the chain row's lock
//! queues them, so the chain stays gap-free and every link recomputes, on both engines.

use super::*;
use std::collections::HashSet;

const WRITERS: i64 = 8;
const PER_WRITER: i64 = 1_000;

pub(super) async fn eight_concurrent_writers_make_one_gap_free_chain(pool: AnyPool) {
    let o = OrganizationId::new();
    let chain = o.name();
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let pool = pool.clone();
        writers.spawn(async move {
            let mine: Vec<_> = (0..PER_WRITER)
                .map(|i| record(Some(o), w * PER_WRITER + i, "eligibility.check_card"))
                .collect();
            // Transactions of 1 to 10 records, sizes differing between writers.
            let mut rest = &mine[..];
            let mut n = 0;
            while !rest.is_empty() {
                let size = ((n + w) % 10 + 1) as usize;
                let (batch, tail) = rest.split_at(size.min(rest.len()));
                assert_eq!(ingest(&pool, batch).await.unwrap(), batch.len() as u64);
                rest = tail;
                n += 1;
            }
            mine.into_iter().map(|r| r.id).collect::<Vec<_>>()
        });
    }
    let mut written = Vec::new();
    while let Some(ids) = writers.join_next().await {
        written.push(ids.unwrap());
    }

    let entries = all(&pool, &chain).await;
    assert_eq!(entries.len(), (WRITERS * PER_WRITER) as usize);
    assert_links(&chain, &entries, 1, ZERO_HASH);
    let h = head(&pool, &chain).await.unwrap().unwrap();
    assert_eq!(
        (h.size, h.head),
        (WRITERS * PER_WRITER, entries[entries.len() - 1].hash)
    );
    let chained: Vec<&str> = entries.iter().map(|e| e.record.id.as_str()).collect();
    assert_eq!(
        chained.iter().collect::<HashSet<_>>().len(),
        chained.len(),
        "a record is chained twice"
    );
    // Every writer's records are there, in the order that writer wrote them.
    let place: std::collections::HashMap<&str, usize> =
        chained.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    for ids in &written {
        let places: Vec<usize> = ids.iter().map(|id| place[id.as_str()]).collect();
        assert!(places.windows(2).all(|p| p[0] < p[1]));
    }
}
