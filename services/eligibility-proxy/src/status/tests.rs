use super::*;

const MAX_AGE: Duration = Duration::from_secs(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// One row of the freshness table; every time is "milliseconds before now".
struct Row {
    name: &'static str,
    connected_ago: Option<u64>,
    last_seen_ago: Option<u64>,
    written_ago: Option<u64>,
    expect: Freshness,
}

#[test]
fn freshness_follows_the_table() {
    use Freshness::{AskActivation, UseCache};
    let rows = [
        Row {
            name: "live watch, entry written after connect, long ago",
            connected_ago: Some(60_000),
            last_seen_ago: Some(100),
            written_ago: Some(30_000),
            expect: UseCache,
        },
        Row {
            name: "live watch, entry written before the reconnect, long ago",
            connected_ago: Some(2_000),
            last_seen_ago: Some(100),
            written_ago: Some(30_000),
            expect: AskActivation,
        },
        Row {
            name: "live watch, entry written before the reconnect, but young",
            connected_ago: Some(300),
            last_seen_ago: Some(100),
            written_ago: Some(500),
            expect: UseCache,
        },
        Row {
            name: "live watch, entry written at the instant of connect",
            connected_ago: Some(5_000),
            last_seen_ago: Some(0),
            written_ago: Some(5_000),
            expect: UseCache,
        },
        Row {
            name: "quiet watch (last message too old), old entry after connect",
            connected_ago: Some(60_000),
            last_seen_ago: Some(1_000),
            written_ago: Some(30_000),
            expect: AskActivation,
        },
        Row {
            name: "quiet watch, young entry",
            connected_ago: Some(60_000),
            last_seen_ago: Some(5_000),
            written_ago: Some(999),
            expect: UseCache,
        },
        Row {
            name: "connected watch with no message yet, old entry after connect",
            connected_ago: Some(3_000),
            last_seen_ago: None,
            written_ago: Some(2_000),
            expect: AskActivation,
        },
        Row {
            name: "no watch, entry exactly max_age old",
            connected_ago: None,
            last_seen_ago: None,
            written_ago: Some(1_000),
            expect: AskActivation,
        },
        Row {
            name: "no watch, young entry",
            connected_ago: None,
            last_seen_ago: None,
            written_ago: Some(10),
            expect: UseCache,
        },
        Row {
            name: "live watch, no entry",
            connected_ago: Some(60_000),
            last_seen_ago: Some(10),
            written_ago: None,
            expect: AskActivation,
        },
    ];
    let now = Instant::now() + Duration::from_secs(3_600);
    for row in rows {
        let watch = WatchView {
            connected_at: row.connected_ago.map(|a| now - ms(a)),
            last_seen: row.last_seen_ago.map(|a| now - ms(a)),
        };
        let written = row.written_ago.map(|a| now - ms(a));
        assert_eq!(
            freshness(now, MAX_AGE, watch, written),
            row.expect,
            "{}",
            row.name
        );
    }
}

fn active(account: &str) -> Known {
    Known::Registered {
        account: account.to_owned(),
        status: DeviceStatus::Active,
    }
}

fn suspended(account: &str) -> Known {
    Known::Registered {
        account: account.to_owned(),
        status: DeviceStatus::Suspended,
    }
}

const DEVICE: &str = "organizations/o/clinics/c/devices/d";
const ACCOUNT: &str = "organizations/o/clinics/c/accounts/W0000001";

#[test]
fn a_fetched_answer_is_believed_for_max_age_only() {
    let mut now = Instant::now();
    let cache = StatusCache::new(MAX_AGE);
    let started = now;
    cache.store_fetched(DEVICE, active(ACCOUNT), started);
    assert_eq!(cache.fresh(DEVICE, now), Some(active(ACCOUNT)));
    now += ms(999);
    assert_eq!(cache.fresh(DEVICE, now), Some(active(ACCOUNT)));
    now += ms(1);
    assert_eq!(cache.fresh(DEVICE, now), None);
}

#[test]
fn a_live_watch_keeps_entries_fresh_until_it_reconnects() {
    let mut now = Instant::now();
    let cache = StatusCache::new(MAX_AGE);
    cache.watch_connected(now);
    cache.watch_message(
        now,
        Some(StatusChange {
            device: DEVICE.to_owned(),
            known: Some(active(ACCOUNT)),
        }),
    );
    // Heartbeats keep the watch live: the entry stays fresh long after it was written.
    for _ in 0..10 {
        now += ms(500);
        cache.watch_message(now, None);
    }
    assert_eq!(cache.fresh(DEVICE, now), Some(active(ACCOUNT)));
    // Without heartbeats the watch dies within max_age, and the entry with it.
    now += MAX_AGE;
    assert_eq!(cache.fresh(DEVICE, now), None);
    // A reconnected watch does not vouch for what was written before it.
    cache.watch_connected(now);
    cache.watch_message(now, None);
    assert_eq!(cache.fresh(DEVICE, now), None);
    assert!(cache.watch_view().last_seen.is_some());
}

#[test]
fn a_watch_change_wins_over_a_fetch_that_started_before_it() {
    let mut now = Instant::now();
    let cache = StatusCache::new(MAX_AGE);
    cache.watch_connected(now);
    let fetch_started = now;
    now += ms(10);
    cache.watch_message(
        now,
        Some(StatusChange {
            device: DEVICE.to_owned(),
            known: Some(suspended(ACCOUNT)),
        }),
    );
    // The fetch read activation before the suspension; its late answer must not undo it.
    let kept = cache.store_fetched(DEVICE, active(ACCOUNT), fetch_started);
    assert_eq!(kept, suspended(ACCOUNT));
    assert_eq!(cache.fresh(DEVICE, now), Some(suspended(ACCOUNT)));
    // A fetch started after the change replaces it.
    now += ms(1);
    let stored = cache.store_fetched(DEVICE, active(ACCOUNT), now);
    assert_eq!(stored, active(ACCOUNT));
}

#[test]
fn changes_are_announced_and_unknown_statuses_drop_the_entry() {
    let now = Instant::now();
    let cache = StatusCache::new(MAX_AGE);
    let mut changes = cache.subscribe();
    cache.watch_connected(now);
    cache.watch_message(now, None);
    cache.watch_message(
        now,
        Some(StatusChange {
            device: DEVICE.to_owned(),
            known: Some(active(ACCOUNT)),
        }),
    );
    assert_eq!(&*changes.try_recv().unwrap(), DEVICE);
    cache.watch_message(
        now,
        Some(StatusChange {
            device: DEVICE.to_owned(),
            known: None,
        }),
    );
    assert_eq!(&*changes.try_recv().unwrap(), DEVICE);
    assert_eq!(cache.fresh(DEVICE, now), None);
    // Heartbeats announce nothing.
    assert!(changes.try_recv().is_err());
}

#[test]
fn a_lost_watch_vouches_for_nothing() {
    let mut now = Instant::now();
    let cache = StatusCache::new(MAX_AGE);
    cache.watch_connected(now);
    cache.watch_message(
        now,
        Some(StatusChange {
            device: DEVICE.to_owned(),
            known: Some(active(ACCOUNT)),
        }),
    );
    now += ms(1_500);
    cache.watch_message(now, None);
    assert_eq!(cache.fresh(DEVICE, now), Some(active(ACCOUNT)));
    cache.watch_lost();
    assert_eq!(cache.fresh(DEVICE, now), None);
}
