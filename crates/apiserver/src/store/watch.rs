//! The watch window: the most recent events in revision order, and watchers that read from it.
//!
//! Each watcher keeps only a cursor (the last revision it delivered). When woken it copies the
//! events after its cursor out of the window; a watcher whose cursor fell behind the window's
//! floor gets [`WatchOutcome::Expired`] (HTTP 410 `Expired`, so clients relist).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::StoredObject;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change. `previous` lets filtered watchers turn "stopped matching" into DELETED.
#[derive(Debug)]
pub struct WatchEvent {
    pub event: EventType,
    pub object: Arc<StoredObject>,
    pub previous: Option<Arc<StoredObject>>,
}

impl WatchEvent {
    pub fn revision(&self) -> u64 {
        self.object.revision
    }
}

/// What a watcher gets next.
#[derive(Debug)]
pub enum WatchOutcome {
    Events(Vec<Arc<WatchEvent>>),
    /// The requested revision is older than the window keeps.
    Expired {
        requested: u64,
        oldest: u64,
    },
    /// The store is gone.
    Closed,
}

struct State {
    events: VecDeque<Arc<WatchEvent>>,
    /// Every event with a revision above `floor` is retained.
    floor: u64,
    capacity: usize,
}

#[derive(Clone)]
pub(super) struct Window {
    state: Arc<Mutex<State>>,
    revision: tokio::sync::watch::Sender<u64>,
}

impl Window {
    pub(super) fn new(revision: u64, capacity: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                events: VecDeque::new(),
                floor: revision,
                capacity: capacity.max(1),
            })),
            revision: tokio::sync::watch::Sender::new(revision),
        }
    }

    pub(super) fn revision(&self) -> u64 {
        *self.revision.borrow()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Appends committed events (called by the writer while it holds the tables' write lock, so a
    /// list and the revision it reports are always consistent) and wakes the watchers.
    pub(super) fn publish(&self, events: Vec<Arc<WatchEvent>>, revision: u64) {
        {
            let mut state = self.lock();
            state.events.extend(events);
            while state.events.len() > state.capacity {
                if let Some(oldest) = state.events.pop_front() {
                    state.floor = oldest.revision();
                }
            }
        }
        self.revision.send_replace(revision);
    }

    /// Calls `each` for every event after `revision`, newest first, without copying the
    /// window; or returns the window's floor when it no longer holds all of them. Called under
    /// the tables' read lock, so the events and the tables describe the same revision.
    pub(super) fn each_after_newest_first(
        &self,
        revision: u64,
        mut each: impl FnMut(&WatchEvent),
    ) -> Result<(), u64> {
        let state = self.lock();
        if revision < state.floor {
            return Err(state.floor);
        }
        let start = state
            .events
            .partition_point(|event| event.revision() <= revision);
        state.events.range(start..).rev().for_each(|e| each(e));
        Ok(())
    }

    /// Waits until the newest revision is at least `revision`, at most `timeout`; returns
    /// whether it arrived.
    pub(super) async fn wait_for(&self, revision: u64, timeout: std::time::Duration) -> bool {
        let mut changes = self.revision.subscribe();
        let arrived = changes.wait_for(|current| *current >= revision);
        matches!(tokio::time::timeout(timeout, arrived).await, Ok(Ok(_)))
    }

    pub(super) fn watcher(&self, from: Option<u64>) -> Result<Watcher, WatchOutcome> {
        let cursor = from.unwrap_or_else(|| self.revision());
        let floor = self.lock().floor;
        if cursor < floor {
            return Err(WatchOutcome::Expired {
                requested: cursor,
                oldest: floor,
            });
        }
        Ok(Watcher {
            window: self.clone(),
            changes: self.revision.subscribe(),
            cursor,
        })
    }
}

/// A reader of the window from a cursor on.
pub struct Watcher {
    window: Window,
    changes: tokio::sync::watch::Receiver<u64>,
    cursor: u64,
}

impl Watcher {
    /// The revision of the last event delivered (or the starting revision).
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Waits for events after the cursor and returns them in revision order.
    pub async fn next(&mut self) -> WatchOutcome {
        loop {
            // Mark the current value seen before reading, so a publish racing with the read
            // still wakes the `changed()` below.
            self.changes.borrow_and_update();
            {
                let state = self.window.lock();
                if self.cursor < state.floor {
                    return WatchOutcome::Expired {
                        requested: self.cursor,
                        oldest: state.floor,
                    };
                }
                let start = state
                    .events
                    .partition_point(|event| event.revision() <= self.cursor);
                if start < state.events.len() {
                    let events: Vec<_> = state.events.range(start..).cloned().collect();
                    if let Some(last) = events.last() {
                        self.cursor = last.revision();
                    }
                    return WatchOutcome::Events(events);
                }
            }
            if self.changes.changed().await.is_err() {
                return WatchOutcome::Closed;
            }
        }
    }
}
