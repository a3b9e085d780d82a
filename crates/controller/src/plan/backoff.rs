//! The failed-pod backoff table as a value: the planner reads it and returns updates (spec §0, §1.7 D2; upstream `flowcontrol.Backoff`).

use std::collections::HashMap;
use std::time::Duration;

use everynode_core::keys::{FAILED_POD_BACKOFF_INITIAL, FAILED_POD_BACKOFF_MAX};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::DaemonSet;

/// One node's backoff state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffEntry {
    /// Current delay.
    pub delay: Duration,
    /// When the delay was last advanced.
    pub last_update: Timestamp,
}

/// Failed-pod backoff: initial delay doubling up to a max; an entry idle for more than twice the
/// max is fresh again (spec §0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedPodBackoff {
    /// First delay (1 s in kube-controller-manager; upstream unit tests use 50 ms).
    pub initial: Duration,
    /// Cap (15 min; tests 500 ms).
    pub max: Duration,
    /// Entries by key `"<ds-uid>/<observedGeneration>/<node>"`.
    pub entries: HashMap<String, BackoffEntry>,
}

impl Default for FailedPodBackoff {
    fn default() -> Self {
        FailedPodBackoff::new(FAILED_POD_BACKOFF_INITIAL, FAILED_POD_BACKOFF_MAX)
    }
}

fn elapsed(now: Timestamp, since: Timestamp) -> SignedDuration {
    now.duration_since(since)
}

fn to_signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

impl FailedPodBackoff {
    /// An empty table with the given policy.
    pub fn new(initial: Duration, max: Duration) -> Self {
        FailedPodBackoff {
            initial,
            max,
            entries: HashMap::new(),
        }
    }

    fn expired(&self, entry: &BackoffEntry, now: Timestamp) -> bool {
        elapsed(now, entry.last_update) > to_signed(self.max).saturating_mul(2)
    }

    /// Upstream `IsInBackOffSinceUpdate`: the entry exists, is not expired, and
    /// `now - last_update < delay`. Returns the delay to re-queue after.
    pub fn in_backoff(&self, key: &str, now: Timestamp) -> Option<Duration> {
        let entry = self.entries.get(key)?;
        if self.expired(entry, now) {
            return None;
        }
        (elapsed(now, entry.last_update) < to_signed(entry.delay)).then_some(entry.delay)
    }

    /// Upstream `Next`: the entry after one more kill at `now` (fresh → initial, else doubled
    /// up to the max). Pure: the caller stores it.
    pub fn next(&self, key: &str, now: Timestamp) -> BackoffEntry {
        let delay = match self.entries.get(key) {
            Some(entry) if !self.expired(entry, now) => (entry.delay * 2).min(self.max),
            _ => self.initial,
        };
        BackoffEntry {
            delay,
            last_update: now,
        }
    }

    /// Stores updates returned by a plan.
    pub fn apply(&mut self, updates: impl IntoIterator<Item = (String, BackoffEntry)>) {
        self.entries.extend(updates);
    }

    /// Upstream `GC`: drops entries idle for more than twice the max.
    pub fn gc(&mut self, now: Timestamp) {
        let limit = to_signed(self.max).saturating_mul(2);
        self.entries
            .retain(|_, e| elapsed(now, e.last_update) <= limit);
    }
}

/// Upstream `failedPodsBackoffKey`: a new observedGeneration starts a fresh backoff.
pub fn backoff_key(ds: &DaemonSet, node: &str) -> String {
    let uid = ds.metadata.uid.as_deref().unwrap_or("");
    let generation = ds
        .status
        .as_ref()
        .and_then(|s| s.observed_generation)
        .unwrap_or(0);
    format!("{uid}/{generation}/{node}")
}
