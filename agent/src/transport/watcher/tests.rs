//! The watcher loop against a fake PC/SC world: readers and cards change while the loop
//! waits, one scripted step per wait, and the tests read the events it reported.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::{PNP_READER, ReaderEvent, Slot, StatusMonitor, Stop, WatchConfig, run, state};
use crate::transport::TransportError;

/// Something that happens in the world while the watcher waits.
#[derive(Debug, Clone)]
enum Step {
    Attach(&'static str),
    Detach(&'static str),
    Insert(&'static str),
    Remove(&'static str),
    /// Out and in again before the watcher looks.
    Swap(&'static str),
    ServiceDown,
    ServiceUp,
    /// Nothing happens: the wait times out.
    Idle,
}

struct FakeReader {
    name: &'static str,
    card: bool,
    count: u16,
}

struct World {
    readers: Vec<FakeReader>,
    /// Bumped on every reader attach or detach (the PnP pseudo-reader's count).
    pnp_count: u16,
    pnp: bool,
    service_up: bool,
    context_valid: bool,
    script: VecDeque<Step>,
    stop: Arc<Stop>,
    /// Timeouts the loop waited with, in order.
    timeouts: Vec<Duration>,
}

const ATR: [u8; 4] = [0x3B, 0x80, 0x80, 0x01];

impl World {
    fn new(readers: &[(&'static str, bool)], script: Vec<Step>, stop: Arc<Stop>) -> Self {
        Self {
            readers: readers
                .iter()
                .map(|&(name, card)| FakeReader {
                    name,
                    card,
                    count: u16::from(card),
                })
                .collect(),
            pnp_count: 0,
            pnp: true,
            service_up: true,
            context_valid: false,
            script: script.into(),
            stop,
            timeouts: Vec::new(),
        }
    }

    /// Applies the next step; stops the watcher once the script is done.
    fn advance(&mut self) -> bool {
        let Some(step) = self.script.pop_front() else {
            self.stop.stop();
            return false;
        };
        match step {
            Step::Attach(name) => {
                self.readers.push(FakeReader {
                    name,
                    card: false,
                    count: 0,
                });
                self.pnp_count += 1;
            }
            Step::Detach(name) => {
                self.readers.retain(|r| r.name != name);
                self.pnp_count += 1;
            }
            Step::Insert(name) | Step::Remove(name) => {
                let reader = self.reader(name);
                reader.card = matches!(step, Step::Insert(_));
                reader.count += 1;
            }
            Step::Swap(name) => self.reader(name).count += 2,
            Step::ServiceDown => {
                self.service_up = false;
                self.context_valid = false;
            }
            Step::ServiceUp => self.service_up = true,
            Step::Idle => {}
        }
        true
    }

    fn reader(&mut self, name: &str) -> &mut FakeReader {
        self.readers.iter_mut().find(|r| r.name == name).unwrap()
    }

    /// The event state pcscd would report for `slot`.
    fn event(&self, slot: &Slot) -> Result<u32, TransportError> {
        if slot.name == PNP_READER {
            return if self.pnp {
                Ok(u32::from(self.pnp_count) << 16)
            } else {
                Err(TransportError::UnknownReader)
            };
        }
        let reader = self
            .readers
            .iter()
            .find(|r| r.name == slot.name)
            .ok_or(TransportError::UnknownReader)?;
        let flags = if reader.card {
            state::PRESENT
        } else {
            state::EMPTY
        };
        Ok(flags | (u32::from(reader.count) << 16))
    }
}

impl StatusMonitor for World {
    fn establish(&mut self) -> Result<(), TransportError> {
        if self.service_up {
            self.context_valid = true;
            Ok(())
        } else {
            // Time passes between two attempts.
            self.advance();
            Err(TransportError::ServiceUnavailable)
        }
    }

    fn list_readers(&mut self) -> Result<Vec<String>, TransportError> {
        if !self.context_valid {
            return Err(TransportError::ServiceStopped);
        }
        Ok(self.readers.iter().map(|r| r.name.to_owned()).collect())
    }

    fn get_status_change(
        &mut self,
        timeout: Duration,
        slots: &mut [Slot],
    ) -> Result<bool, TransportError> {
        if timeout > Duration::ZERO {
            self.timeouts.push(timeout);
        }
        loop {
            if !self.context_valid {
                return Err(TransportError::ServiceStopped);
            }
            let events = slots
                .iter()
                .map(|slot| self.event(slot))
                .collect::<Result<Vec<_>, _>>()?;
            if slots
                .iter()
                .zip(&events)
                .any(|(slot, &e)| slot.current != e)
            {
                for (slot, event) in slots.iter_mut().zip(events) {
                    slot.event = event;
                    slot.atr = if event & state::PRESENT != 0 {
                        ATR.to_vec()
                    } else {
                        Vec::new()
                    };
                }
                return Ok(true);
            }
            if timeout == Duration::ZERO {
                return Ok(false);
            }
            if matches!(self.script.front(), Some(Step::Idle)) {
                self.advance();
                return Ok(false);
            }
            if !self.advance() {
                return Err(TransportError::Cancelled);
            }
        }
    }

    fn canceller(&self) -> super::Canceller {
        Arc::new(|| {})
    }
}

fn config() -> WatchConfig {
    WatchConfig {
        poll_interval: Duration::from_millis(500),
        pnp_wait: Duration::from_secs(2),
        reconnect_min: Duration::ZERO,
        reconnect_max: Duration::ZERO,
    }
}

/// Runs the loop over a world with `readers` (name, card present) until `script` is done.
fn watch(
    readers: &[(&'static str, bool)],
    script: Vec<Step>,
    pnp: bool,
) -> (Vec<ReaderEvent>, World) {
    let stop = Arc::new(Stop::default());
    let mut world = World::new(readers, script, Arc::clone(&stop));
    world.pnp = pnp;
    let mut events = Vec::new();
    run::run(
        &mut world,
        config(),
        |event| {
            events.push(event);
            true
        },
        &stop,
    );
    (events, world)
}

fn attached(reader: &str) -> ReaderEvent {
    ReaderEvent::Attached {
        reader: reader.to_owned(),
    }
}
fn removed(reader: &str) -> ReaderEvent {
    ReaderEvent::Removed {
        reader: reader.to_owned(),
    }
}
fn inserted(reader: &str) -> ReaderEvent {
    ReaderEvent::CardInserted {
        reader: reader.to_owned(),
        atr: ATR.to_vec(),
    }
}
fn card_removed(reader: &str) -> ReaderEvent {
    ReaderEvent::CardRemoved {
        reader: reader.to_owned(),
    }
}

#[test]
fn reports_readers_and_cards_present_at_start() {
    let (events, _) = watch(&[("A", true), ("B", false)], vec![], true);
    assert_eq!(events, [attached("A"), attached("B"), inserted("A")]);
}

#[test]
fn reports_attach_and_remove_of_readers() {
    let script = vec![
        Step::Attach("B"),
        Step::Insert("B"),
        Step::Detach("B"),
        Step::Detach("A"),
    ];
    let (events, _) = watch(&[("A", false)], script, true);
    assert_eq!(
        events,
        [
            attached("A"),
            attached("B"),
            inserted("B"),
            card_removed("B"),
            removed("B"),
            removed("A"),
        ]
    );
}

#[test]
fn reports_card_insert_and_remove() {
    let script = vec![
        Step::Insert("A"),
        Step::Idle,
        Step::Remove("A"),
        Step::Insert("A"),
    ];
    let (events, _) = watch(&[("A", false)], script, true);
    assert_eq!(
        events,
        [
            attached("A"),
            inserted("A"),
            card_removed("A"),
            inserted("A")
        ]
    );
}

#[test]
fn a_fast_swap_between_two_waits_is_seen_through_the_event_count() {
    let (events, _) = watch(&[("A", true)], vec![Step::Swap("A")], true);
    assert_eq!(
        events,
        [
            attached("A"),
            inserted("A"),
            card_removed("A"),
            inserted("A")
        ]
    );
}

#[test]
fn service_lost_reports_readers_removed_and_recovers() {
    let script = vec![
        Step::ServiceDown,
        Step::Idle,
        Step::Idle,
        Step::ServiceUp,
        Step::Insert("B"),
    ];
    let (events, world) = watch(&[("A", true), ("B", false)], script, true);
    assert_eq!(
        events,
        [
            attached("A"),
            attached("B"),
            inserted("A"),
            card_removed("A"),
            removed("A"),
            removed("B"),
            ReaderEvent::ServiceLost,
            ReaderEvent::ServiceRestored,
            attached("A"),
            attached("B"),
            inserted("A"),
            inserted("B"),
        ]
    );
    assert!(world.context_valid);
}

#[test]
fn no_pcscd_at_start_is_service_lost_until_it_comes() {
    let stop = Arc::new(Stop::default());
    let mut world = World::new(
        &[("A", false)],
        vec![Step::Idle, Step::ServiceUp],
        Arc::clone(&stop),
    );
    world.service_up = false;
    let mut events = Vec::new();
    run::run(
        &mut world,
        config(),
        |event| {
            events.push(event);
            true
        },
        &stop,
    );
    assert_eq!(
        events,
        [
            ReaderEvent::ServiceLost,
            ReaderEvent::ServiceRestored,
            attached("A")
        ]
    );
}

#[test]
fn without_pnp_the_reader_list_is_polled_with_a_wait_timeout() {
    let script = vec![Step::Idle, Step::Attach("B"), Step::Idle, Step::Insert("B")];
    let (events, world) = watch(&[("A", false)], script, false);
    assert_eq!(events, [attached("A"), attached("B"), inserted("B")]);
    assert!(!world.timeouts.is_empty());
    assert!(
        world
            .timeouts
            .iter()
            .all(|&t| t == Duration::from_millis(500)),
        "{:?}",
        world.timeouts
    );
}

#[test]
fn with_pnp_the_wait_blocks_on_the_pnp_reader() {
    let (_, world) = watch(&[("A", false)], vec![Step::Idle, Step::Attach("B")], true);
    assert!(world.timeouts.iter().all(|&t| t == Duration::from_secs(2)));
}

#[test]
fn a_sink_returning_false_stops_the_watcher() {
    let stop = Arc::new(Stop::default());
    let mut world = World::new(
        &[("A", true), ("B", true)],
        vec![Step::Idle; 3],
        Arc::clone(&stop),
    );
    let mut events = Vec::new();
    run::run(
        &mut world,
        config(),
        |event| {
            events.push(event);
            false
        },
        &stop,
    );
    assert_eq!(events, [attached("A")]);
    assert!(stop.is_stopped());
}
