use super::*;
use time::macros::datetime;

const T: time::OffsetDateTime = datetime!(2026-11-21 09:00 UTC);

fn routine(n: u32) -> Event {
    Event::new(EventKind::CardInserted, T).reader(format!("reader {n}"))
}

fn security() -> Event {
    Event::new(EventKind::PinRejected, T)
}

async fn open(dir: &Path, max_events: u64) -> Outbox {
    Outbox::open(dir, OutboxLimits { max_events })
        .await
        .unwrap()
}

fn seqs(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn events_get_consecutive_seqs_and_come_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 100).await;
    for n in 1..=5 {
        assert_eq!(outbox.append(routine(n)).await.unwrap(), u64::from(n));
    }
    assert_eq!(outbox.pending_count().await.unwrap(), 5);
    let all = outbox.pending_after(0, 10).await.unwrap();
    assert_eq!(seqs(&all), [1, 2, 3, 4, 5]);
    assert_eq!(all[2].event, routine(3));
    assert_eq!(seqs(&outbox.pending_after(2, 2).await.unwrap()), [3, 4]);
}

#[tokio::test]
async fn an_ack_deletes_up_to_its_seq_and_numbering_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 100).await;
    for n in 1..=4 {
        outbox.append(routine(n)).await.unwrap();
    }
    assert_eq!(outbox.ack(3).await.unwrap(), 3);
    assert_eq!(
        outbox.ack(3).await.unwrap(),
        0,
        "a repeated ack deletes nothing"
    );
    assert_eq!(outbox.pending_count().await.unwrap(), 1);
    assert_eq!(outbox.append(routine(5)).await.unwrap(), 5);
    assert_eq!(seqs(&outbox.pending_after(0, 10).await.unwrap()), [4, 5]);
}

#[tokio::test]
async fn events_and_numbering_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 100).await;
    let id = outbox.outbox_id().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    for n in 1..=3 {
        outbox.append(routine(n)).await.unwrap();
    }
    outbox.ack(1).await.unwrap();
    outbox.close().await;
    drop(outbox);

    let again = open(dir.path(), 100).await;
    assert_eq!(again.outbox_id(), id, "the outbox keeps its id");
    assert_eq!(again.pending_count().await.unwrap(), 2);
    assert_eq!(again.append(routine(4)).await.unwrap(), 4);
    assert_eq!(seqs(&again.pending_after(0, 10).await.unwrap()), [2, 3, 4]);
    assert_eq!(*again.subscribe().borrow(), 4);
}

#[tokio::test]
async fn a_new_file_gets_a_new_outbox_id() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let first = open(a.path(), 10).await;
    let second = open(b.path(), 10).await;
    assert_ne!(first.outbox_id(), second.outbox_id());
}

#[tokio::test]
async fn the_file_is_in_wal_mode_with_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 10).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&outbox.pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&outbox.pool)
        .await
        .unwrap();
    assert_eq!(sync, 2, "FULL");
    assert!(dir.path().join(OUTBOX_FILE).exists());
}

#[tokio::test]
async fn an_append_wakes_subscribers() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 10).await;
    let mut appended = outbox.subscribe();
    let writer = outbox.clone();
    let task = tokio::spawn(async move { writer.append(routine(1)).await.unwrap() });
    tokio::time::timeout(Duration::from_secs(10), appended.changed())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(*appended.borrow(), 1);
    task.await.unwrap();
}

#[tokio::test]
async fn a_full_outbox_drops_the_oldest_routine_events_only_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 10).await;
    // seq 1 and 2 are security events among routine ones.
    outbox.append(security()).await.unwrap();
    outbox.append(security()).await.unwrap();
    for n in 3..=10 {
        outbox.append(routine(n)).await.unwrap();
    }
    assert_eq!(outbox.dropped_count().await.unwrap(), 0);
    // The 11th event overflows: down to 9 kept, then the report makes 10.
    assert_eq!(outbox.append(routine(11)).await.unwrap(), 11);
    let left = outbox.pending_after(0, 100).await.unwrap();
    assert_eq!(seqs(&left), [1, 2, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert!(
        left[..2]
            .iter()
            .all(|e| e.event.kind == EventKind::PinRejected)
    );
    let report = &left[9].event;
    assert_eq!(report.kind, EventKind::EventsDropped);
    assert_eq!(report.dropped_events, 2);
    assert_eq!(outbox.dropped_count().await.unwrap(), 2);
    assert_eq!(outbox.pending_count().await.unwrap(), 10);
}

#[tokio::test]
async fn security_events_are_kept_past_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 3).await;
    for _ in 0..6 {
        outbox.append(security()).await.unwrap();
    }
    assert_eq!(outbox.pending_count().await.unwrap(), 6);
    assert_eq!(outbox.dropped_count().await.unwrap(), 0);
    assert_eq!(
        seqs(&outbox.pending_after(0, 10).await.unwrap()),
        [1, 2, 3, 4, 5, 6],
        "nothing dropped, no report of nothing"
    );
}

#[tokio::test]
async fn renumbering_moves_pending_events_above_the_proxys_last_seq() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 100).await;
    for n in 1..=4 {
        outbox.append(routine(n)).await.unwrap();
    }
    outbox.ack(1).await.unwrap();
    // The proxy holds up to 50 from another outbox: 2, 3, 4 become 51, 52, 53.
    assert_eq!(outbox.renumber_above(50).await.unwrap(), 49);
    let moved = outbox.pending_after(0, 10).await.unwrap();
    assert_eq!(seqs(&moved), [51, 52, 53]);
    assert_eq!(moved[0].event, routine(2));
    assert_eq!(outbox.append(routine(5)).await.unwrap(), 54);
    // Already above: nothing moves.
    assert_eq!(outbox.renumber_above(10).await.unwrap(), 0);
    assert_eq!(outbox.pending_count().await.unwrap(), 4);
}

#[tokio::test]
async fn renumbering_an_empty_outbox_moves_the_next_seq() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 100).await;
    assert_eq!(outbox.renumber_above(7).await.unwrap(), 7);
    assert_eq!(outbox.append(routine(1)).await.unwrap(), 8);
}

#[tokio::test]
async fn renumbering_keeps_gaps_left_by_dropped_events() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 100).await;
    for n in 1..=5 {
        outbox.append(routine(n)).await.unwrap();
    }
    sqlx::query("DELETE FROM events WHERE seq = 3")
        .execute(&outbox.pool)
        .await
        .unwrap();
    outbox.renumber_above(2).await.unwrap();
    assert_eq!(
        seqs(&outbox.pending_after(0, 10).await.unwrap()),
        [3, 4, 6, 7]
    );
}

#[tokio::test]
async fn the_stored_body_is_the_event_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(dir.path(), 10).await;
    let mut event = Event::new(EventKind::PinTriesLeft, T).scan("s-1");
    event.tries_left = Some(2);
    outbox.append(event.clone()).await.unwrap();
    let (kind, security, body): (String, i64, String) =
        sqlx::query_as("SELECT kind, security, body FROM events WHERE seq = 1")
            .fetch_one(&outbox.pool)
            .await
            .unwrap();
    assert_eq!(kind, "PinTriesLeft");
    assert_eq!(security, 0);
    assert_eq!(serde_json::from_str::<Event>(&body).unwrap(), event);
}
