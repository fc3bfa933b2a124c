//! What the scan service shows: the terminal state and presence it publishes, the view of a
//! reader's scan, and the answer to a command waiting for its scan to finish.

use super::Actor;
use crate::event::{Presence, ReaderPresence};
use crate::scan::{ReaderView, ScanView};
use crate::session::Phase;

impl Actor {
    /// Publishes the state and answers the reader's pending command once its scan no longer
    /// signs or checks.
    pub(super) fn publish_and_reply(&mut self, reader: &str) {
        self.publish();
        let view = self.view(reader);
        let Some(slot) = self.slots.get_mut(reader) else {
            return;
        };
        let busy = slot
            .session
            .scan()
            .is_some_and(|s| matches!(s.phase, Phase::Signing | Phase::Checking));
        if !busy
            && let Some(reply) = slot.context.reply.take()
            && let Some(view) = view
        {
            let _ = reply.send(Ok(view));
        }
        if let Some(scan) = slot.session.scan()
            && scan.phase.is_finished()
        {
            slot.context.pin = None;
            slot.context.signature = None;
        }
    }

    pub(super) fn view(&self, reader: &str) -> Option<ScanView> {
        let slot = self.slots.get(reader)?;
        let scan = slot.session.scan()?.clone();
        let result = if scan.phase == Phase::Done {
            slot.context.result.clone()
        } else {
            None
        };
        Some(ScanView { scan, result })
    }

    pub(super) fn reader_of(&self, scan_id: &str) -> Option<String> {
        self.slots
            .iter()
            .find(|(_, slot)| slot.session.scan().is_some_and(|s| s.id == scan_id))
            .map(|(reader, _)| reader.clone())
    }

    pub(super) fn current_scan_exists(&self) -> bool {
        self.slots
            .values()
            .any(|slot| slot.session.scan().is_some())
    }

    pub(super) fn publish(&mut self) {
        let current = match &self.current {
            Some(reader) => self.view(reader).or_else(|| self.last_view.clone()),
            None => None,
        };
        let latest_finished = self
            .slots
            .values()
            .filter_map(|slot| {
                let scan = slot.session.scan()?;
                scan.phase
                    .is_finished()
                    .then(|| self.view(slot.session.reader()))?
            })
            .max_by_key(|view| view.scan.end_time);
        if let Some(view) = latest_finished
            && self
                .last_finished
                .as_ref()
                .is_none_or(|last| last.scan.end_time <= view.scan.end_time)
        {
            self.last_finished = Some(view);
        }
        let readers: Vec<ReaderView> = self
            .slots
            .values()
            .map(|slot| ReaderView {
                name: slot.session.reader().to_owned(),
                card_present: slot.session.card_present(),
            })
            .collect();
        let uplink_connected = self.deps.uplink.borrow().connected;
        let last_finished = self.last_finished.clone();
        let pcsc_available = self.pcsc_available;
        let outbox_pending = self.outbox_pending;
        self.state.send_modify(|state| {
            state.version += 1;
            state.readers = readers.clone();
            state.scan = current;
            state.last_finished = last_finished;
            state.pcsc_available = pcsc_available;
            state.uplink_connected = uplink_connected;
            state.outbox_pending = outbox_pending;
        });
        let presence = Presence {
            readers: readers
                .into_iter()
                .map(|r| ReaderPresence {
                    name: r.name,
                    card_present: r.card_present,
                })
                .collect(),
            last_scan_time: self.last_finished.as_ref().and_then(|v| v.scan.end_time),
        };
        self.presence.send_if_modified(|old| {
            if *old == presence {
                false
            } else {
                *old = presence;
                true
            }
        });
    }
}
