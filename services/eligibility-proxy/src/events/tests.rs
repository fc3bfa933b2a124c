//! The event store on SQLite and PostgreSQL, through the group-commit writer; the registry
//! of open streams.

use super::store::{count_events, seqs};
use super::*;
use sqlx::{AnyPool, Row as _};
use tokio_util::sync::CancellationToken;

const DEVICE: &str = "organizations/o1/clinics/c1/devices/d1";

mynafleet_kit::store_conformance!(
    crate::store::MIGRATIONS;
    a_batch_is_stored_once_and_duplicates_are_counted,
    the_position_follows_the_highest_seq_and_its_outbox,
    a_new_outbox_above_the_last_seq_takes_over_the_position,
    every_field_round_trips,
    concurrent_streams_share_commits_without_mixing_devices,
);

pub(crate) fn event(seq: u64) -> AgentEvent {
    AgentEvent {
        seq,
        kind: "CARD_INSERTED".into(),
        time: 1_700_000_000_000_000 + i64::try_from(seq).unwrap(),
        scan_id: String::new(),
        reader: "ACS ACR39U 00 00".into(),
        token: String::new(),
        tries_left: None,
        status_word: String::new(),
        error_class: String::new(),
        duration_ms: 0,
        verdict: String::new(),
        check_id: String::new(),
        security: false,
        dropped_events: 0,
        signature_certificate_available: None,
        agent_version: String::new(),
    }
}

fn batch(device: &str, outbox: &str, seqs: impl IntoIterator<Item = u64>) -> EventBatch {
    EventBatch {
        device: device.into(),
        outbox_id: outbox.into(),
        agent_version: "0.1.0".into(),
        received_time: 1_800_000_000_000_000,
        events: seqs.into_iter().map(event).collect(),
    }
}

async fn a_batch_is_stored_once_and_duplicates_are_counted(pool: AnyPool) {
    let store = EventStore::spawn(pool.clone(), CancellationToken::new());
    let first = store.write(batch(DEVICE, "ob-1", 1..=3)).await.unwrap();
    assert_eq!(
        first,
        Stored {
            stored: 3,
            duplicates: 0
        }
    );
    // A resend after a lost ack overlaps what is held.
    let again = store.write(batch(DEVICE, "ob-1", 2..=5)).await.unwrap();
    assert_eq!(
        again,
        Stored {
            stored: 2,
            duplicates: 2
        }
    );
    assert_eq!(count_events(&pool, DEVICE).await.unwrap(), 5);
    assert_eq!(seqs(&pool, DEVICE).await.unwrap(), [1, 2, 3, 4, 5]);
    assert_eq!(
        count_events(&pool, "organizations/o1/clinics/c1/devices/other")
            .await
            .unwrap(),
        0
    );
}

async fn the_position_follows_the_highest_seq_and_its_outbox(pool: AnyPool) {
    let store = EventStore::spawn(pool.clone(), CancellationToken::new());
    assert_eq!(store.position(DEVICE).await.unwrap(), Position::default());
    store.write(batch(DEVICE, "ob-1", [1, 2, 4])).await.unwrap();
    let at = store.position(DEVICE).await.unwrap();
    assert_eq!(
        at,
        Position {
            last_seq: 4,
            outbox_id: "ob-1".into()
        }
    );
    // A late duplicate below the position does not move it back.
    store.write(batch(DEVICE, "ob-1", [2])).await.unwrap();
    assert_eq!(store.position(DEVICE).await.unwrap().last_seq, 4);
    // An empty batch changes nothing.
    let none = store.write(batch(DEVICE, "ob-1", [])).await.unwrap();
    assert_eq!(none, Stored::default());
    assert_eq!(store.position(DEVICE).await.unwrap().last_seq, 4);
}

async fn a_new_outbox_above_the_last_seq_takes_over_the_position(pool: AnyPool) {
    let store = EventStore::spawn(pool.clone(), CancellationToken::new());
    store.write(batch(DEVICE, "ob-old", 1..=10)).await.unwrap();
    // The wiped agent renumbered its events above 10.
    let stored = store.write(batch(DEVICE, "ob-new", 11..=12)).await.unwrap();
    assert_eq!(stored.stored, 2);
    assert_eq!(
        store.position(DEVICE).await.unwrap(),
        Position {
            last_seq: 12,
            outbox_id: "ob-new".into()
        }
    );
    assert_eq!(count_events(&pool, DEVICE).await.unwrap(), 12);
}

async fn every_field_round_trips(pool: AnyPool) {
    let store = EventStore::spawn(pool.clone(), CancellationToken::new());
    let full = AgentEvent {
        seq: 7,
        kind: "PIN_REJECTED".into(),
        time: 1_700_000_000_123_456,
        scan_id: "0193a0c2-0000-7000-8000-000000000001".into(),
        reader: "vpcd 0".into(),
        token: "CARD".into(),
        tries_left: Some(2),
        status_word: "63C2".into(),
        error_class: "PIN_WRONG".into(),
        duration_ms: 120,
        verdict: String::new(),
        check_id: String::new(),
        security: true,
        dropped_events: 0,
        signature_certificate_available: Some(false),
        agent_version: "0.2.0".into(),
    };
    let mut b = batch(DEVICE, "ob-1", []);
    b.events = vec![full, event(8)];
    store.write(b).await.unwrap();
    let row = sqlx::query(
        "SELECT kind, time, received_time, scan_id, reader, token, tries_left, status_word, \
           error_class, duration_ms, security, signature_certificate_available, agent_version, \
           outbox_id \
         FROM agent_events WHERE device = $1 AND seq = 7",
    )
    .bind(DEVICE)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.try_get::<String, _>("kind").unwrap(), "PIN_REJECTED");
    assert_eq!(
        row.try_get::<i64, _>("time").unwrap(),
        1_700_000_000_123_456
    );
    assert_eq!(
        row.try_get::<i64, _>("received_time").unwrap(),
        1_800_000_000_000_000
    );
    assert_eq!(row.try_get::<String, _>("token").unwrap(), "CARD");
    assert_eq!(
        row.try_get::<Option<i64>, _>("tries_left").unwrap(),
        Some(2)
    );
    assert_eq!(row.try_get::<String, _>("status_word").unwrap(), "63C2");
    assert_eq!(row.try_get::<i64, _>("duration_ms").unwrap(), 120);
    assert_eq!(row.try_get::<i64, _>("security").unwrap(), 1);
    assert_eq!(
        row.try_get::<Option<i64>, _>("signature_certificate_available")
            .unwrap(),
        Some(0)
    );
    assert_eq!(row.try_get::<String, _>("agent_version").unwrap(), "0.2.0");
    assert_eq!(row.try_get::<String, _>("outbox_id").unwrap(), "ob-1");
    // Unset optional fields stay NULL; the hello's version fills in.
    let plain = sqlx::query(
        "SELECT tries_left, signature_certificate_available, agent_version \
         FROM agent_events WHERE device = $1 AND seq = 8",
    )
    .bind(DEVICE)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(plain.try_get::<Option<i64>, _>("tries_left").unwrap(), None);
    assert_eq!(
        plain
            .try_get::<Option<i64>, _>("signature_certificate_available")
            .unwrap(),
        None
    );
    assert_eq!(
        plain.try_get::<String, _>("agent_version").unwrap(),
        "0.1.0"
    );
}

async fn concurrent_streams_share_commits_without_mixing_devices(pool: AnyPool) {
    let store = EventStore::spawn(pool.clone(), CancellationToken::new());
    let tasks: Vec<_> = (0..16)
        .map(|d| {
            let store = store.clone();
            tokio::spawn(async move {
                let device = format!("organizations/o1/clinics/c1/devices/d{d}");
                for chunk in 0..4u64 {
                    let from = chunk * 25 + 1;
                    let stored = store
                        .write(batch(&device, "ob", from..from + 25))
                        .await
                        .unwrap();
                    assert_eq!(stored.stored, 25);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    for d in 0..16 {
        let device = format!("organizations/o1/clinics/c1/devices/d{d}");
        assert_eq!(
            seqs(&pool, &device).await.unwrap(),
            (1..=100).collect::<Vec<_>>()
        );
        assert_eq!(store.position(&device).await.unwrap().last_seq, 100);
    }
}

#[test]
fn only_the_newest_stream_of_a_device_takes_it_offline() {
    let streams = OpenStreams::default();
    let old = streams.open(DEVICE);
    let new = streams.open(DEVICE);
    let other = streams.open("organizations/o1/clinics/c1/devices/d2");
    assert!(!streams.close(DEVICE, old), "a newer stream is open");
    assert!(streams.close(DEVICE, new));
    assert!(streams.close("organizations/o1/clinics/c1/devices/d2", other));
}
