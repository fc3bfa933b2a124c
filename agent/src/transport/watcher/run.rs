//! The watcher loop over a [`StatusMonitor`]: list readers, wait for a change, report it;
//! lose and regain pcscd. Pure logic over the trait, so the tests drive it with a fake.

use std::time::Duration;

use tracing::{debug, info, warn};

use super::{PNP_READER, ReaderEvent, Slot, StatusMonitor, Stop, WatchConfig, log_event, state};
use crate::transport::TransportError;

/// A watched reader and what was last reported about it.
struct Reader {
    slot: Slot,
    /// Whether its first state came back yet (it starts UNAWARE).
    seen: bool,
    /// Whether a card was last reported on it.
    card: bool,
    /// The card event count last seen.
    count: u16,
}

struct Watcher<'a, M, S> {
    monitor: &'a mut M,
    config: WatchConfig,
    sink: S,
    stop: &'a Stop,
    /// The PnP pseudo-reader's slot; `None` where PnP is missing (poll instead).
    pnp: Option<Slot>,
    readers: Vec<Reader>,
}

/// Runs until `stop` is set or `sink` returns `false`.
pub(super) fn run<M, S>(monitor: &mut M, config: WatchConfig, sink: S, stop: &Stop)
where
    M: StatusMonitor,
    S: FnMut(ReaderEvent) -> bool,
{
    let mut watcher = Watcher {
        monitor,
        config,
        sink,
        stop,
        pnp: None,
        readers: Vec::new(),
    };
    watcher.run();
}

impl<M: StatusMonitor, S: FnMut(ReaderEvent) -> bool> Watcher<'_, M, S> {
    fn run(&mut self) {
        match self.monitor.establish() {
            Ok(()) => self.probe_pnp(),
            Err(e) => {
                debug!(error = %e, "cannot reach pcscd at start");
                self.emit(ReaderEvent::ServiceLost);
                if !self.reconnect() {
                    return;
                }
            }
        }
        while !self.stop.is_stopped() {
            match self.round() {
                Ok(()) => {}
                Err(e) if e.needs_new_context() => {
                    self.lose_service();
                    if !self.reconnect() {
                        return;
                    }
                }
                // Stop cancels the wait; anything else that cancels it just waits again.
                Err(TransportError::Cancelled) => {}
                // A reader left between listing and waiting: list again.
                Err(TransportError::UnknownReader) => {}
                Err(e) => {
                    warn!(error = %e, "waiting for reader changes failed");
                    if !self.stop.pause(self.config.poll_interval) {
                        return;
                    }
                }
            }
        }
    }

    /// One round: bring the reader list up to date, wait for a change, report it.
    fn round(&mut self) -> Result<(), TransportError> {
        self.sync_readers()?;
        if self.stop.is_stopped() {
            return Ok(());
        }
        let timeout = match self.pnp {
            Some(_) => self.config.pnp_wait,
            None if self.readers.is_empty() => {
                // Nothing to wait on and no PnP: look at the list again later.
                self.stop.pause(self.config.poll_interval);
                return Ok(());
            }
            None => self.config.poll_interval,
        };
        let mut slots: Vec<Slot> = self.pnp.iter().cloned().collect();
        slots.extend(self.readers.iter().map(|r| r.slot.clone()));
        let changed = self.monitor.get_status_change(timeout, &mut slots)?;
        let mut slots = slots.into_iter();
        if let Some(pnp) = &mut self.pnp
            && let Some(slot) = slots.next()
        {
            *pnp = slot;
            pnp.sync_current_state();
        }
        for (reader, slot) in self.readers.iter_mut().zip(slots) {
            reader.slot = slot;
        }
        if changed {
            self.report_cards();
        }
        for reader in &mut self.readers {
            reader.slot.sync_current_state();
        }
        Ok(())
    }

    /// Reports readers that left (their card first) and readers that appeared.
    fn sync_readers(&mut self) -> Result<(), TransportError> {
        let listed = self.monitor.list_readers()?;
        let mut kept = Vec::with_capacity(self.readers.len());
        for reader in std::mem::take(&mut self.readers) {
            if listed.contains(&reader.slot.name) {
                kept.push(reader);
            } else {
                self.report_removed(reader);
            }
        }
        self.readers = kept;
        for name in listed {
            if name == PNP_READER || self.readers.iter().any(|r| r.slot.name == name) {
                continue;
            }
            self.emit(ReaderEvent::Attached {
                reader: name.clone(),
            });
            self.readers.push(Reader {
                slot: Slot::unaware(name),
                seen: false,
                card: false,
                count: 0,
            });
        }
        Ok(())
    }

    /// Compares every reader's reported state with what was last reported.
    fn report_cards(&mut self) {
        let mut events = Vec::new();
        for reader in &mut self.readers {
            let event = reader.slot.event;
            if event & (state::UNKNOWN | state::IGNORE) != 0 {
                // Going away: the next listing reports it removed.
                continue;
            }
            let present = event & state::PRESENT != 0;
            let count = reader.slot.event_count();
            let name = &reader.slot.name;
            let inserted = || ReaderEvent::CardInserted {
                reader: name.clone(),
                atr: reader.slot.atr.clone(),
            };
            let removed = || ReaderEvent::CardRemoved {
                reader: name.clone(),
            };
            if !reader.seen {
                if present {
                    events.push(inserted());
                }
            } else {
                let moved = count.wrapping_sub(reader.count);
                match (reader.card, present) {
                    // Out and in again between two waits: the count moved (DOMAIN.md §7).
                    (true, true) if moved != 0 => events.extend([removed(), inserted()]),
                    (true, false) => events.push(removed()),
                    (false, true) => events.push(inserted()),
                    // In and out again between two waits.
                    (false, false) if moved >= 2 => events.extend([inserted(), removed()]),
                    _ => {}
                }
            }
            reader.seen = true;
            reader.card = present;
            reader.count = count;
        }
        for event in events {
            self.emit(event);
        }
    }

    fn report_removed(&mut self, reader: Reader) {
        if reader.card {
            self.emit(ReaderEvent::CardRemoved {
                reader: reader.slot.name.clone(),
            });
        }
        self.emit(ReaderEvent::Removed {
            reader: reader.slot.name,
        });
    }

    /// Reports every reader removed, then the service lost.
    fn lose_service(&mut self) {
        for reader in std::mem::take(&mut self.readers) {
            self.report_removed(reader);
        }
        self.pnp = None;
        self.emit(ReaderEvent::ServiceLost);
    }

    /// Establishes a context again with jittered, capped backoff until pcscd answers or the
    /// watcher stops; returns whether it goes on.
    fn reconnect(&mut self) -> bool {
        let mut delays = self.config.reconnect_delays();
        loop {
            let delay = delays.next().unwrap_or(self.config.reconnect_max);
            if !self.stop.pause(delay) {
                return false;
            }
            let reached = self
                .monitor
                .establish()
                .and_then(|()| self.monitor.list_readers());
            match reached {
                Ok(_) => break,
                Err(e) => debug!(error = %e, "pcscd still unreachable"),
            }
        }
        self.emit(ReaderEvent::ServiceRestored);
        self.probe_pnp();
        !self.stop.is_stopped()
    }

    /// Finds out whether the PnP pseudo-reader works here; without it the reader list is
    /// polled (macOS, DOMAIN.md §7).
    fn probe_pnp(&mut self) {
        let mut slots = [Slot::unaware(PNP_READER)];
        let works = match self.monitor.get_status_change(Duration::ZERO, &mut slots) {
            Ok(_) => slots[0].event & (state::UNKNOWN | state::IGNORE) == 0,
            Err(e) => {
                debug!(error = %e, "pnp notification probe failed");
                false
            }
        };
        if works {
            let [mut slot] = slots;
            slot.sync_current_state();
            self.pnp = Some(slot);
        } else {
            info!(
                poll_ms = self.config.poll_interval.as_millis() as u64,
                "no pnp notification; polling the reader list"
            );
            self.pnp = None;
        }
    }

    fn emit(&mut self, event: ReaderEvent) {
        if self.stop.is_stopped() {
            return;
        }
        log_event(&event);
        if !(self.sink)(event) {
            self.stop.stop();
        }
    }
}
