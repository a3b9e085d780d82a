//! Expectations: the creates and deletes a sync issued and the informers have not reported yet,
//! so the next sync does not act on a stale cache (spec §1.9, upstream `ControllerExpectations`).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Expectations older than this are taken as satisfied (upstream `ExpectationsTimeout`, 5 min).
pub const EXPECTATIONS_TIMEOUT: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Expected {
    adds: i64,
    /// Keys (`namespace/name`) of pods whose deletion was requested and not yet observed.
    deletes: HashSet<String>,
    set_at: Instant,
}

/// Outstanding expectations per DaemonSet key.
#[derive(Debug, Default)]
pub struct Expectations {
    by_key: Mutex<HashMap<String, Expected>>,
}

impl Expectations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Expected>> {
        self.by_key.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// True when nothing is outstanding for `key` (or what is outstanding has expired, E3).
    pub fn satisfied(&self, key: &str) -> bool {
        match self.lock().get(key) {
            None => true,
            Some(e) => {
                (e.adds <= 0 && e.deletes.is_empty()) || e.set_at.elapsed() > EXPECTATIONS_TIMEOUT
            }
        }
    }

    /// Records the creates and deletes a sync is about to issue (replacing older ones, E1).
    pub fn expect(&self, key: &str, adds: usize, deletes: impl IntoIterator<Item = String>) {
        self.lock().insert(
            key.to_owned(),
            Expected {
                adds: i64::try_from(adds).unwrap_or(i64::MAX),
                deletes: deletes.into_iter().collect(),
                set_at: Instant::now(),
            },
        );
    }

    /// A pod of `key` was seen created (or a create failed / was skipped: E4).
    pub fn creation_observed(&self, key: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.adds -= 1;
        }
    }

    /// The pod `pod_key` of `key` was seen deleted (or its delete failed).
    pub fn deletion_observed(&self, key: &str, pod_key: &str) {
        if let Some(e) = self.lock().get_mut(key) {
            e.deletes.remove(pod_key);
        }
    }

    /// Forgets `key` (its DaemonSet is gone).
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfied_once_every_create_and_delete_is_observed() {
        let expectations = Expectations::default();
        assert!(expectations.satisfied("ns/ds"));
        expectations.expect("ns/ds", 2, ["ns/p1".to_owned()]);
        assert!(!expectations.satisfied("ns/ds"));
        expectations.creation_observed("ns/ds");
        expectations.creation_observed("ns/ds");
        assert!(!expectations.satisfied("ns/ds"));
        expectations.deletion_observed("ns/ds", "ns/p1");
        assert!(expectations.satisfied("ns/ds"));
    }

    #[test]
    fn observing_an_unexpected_pod_changes_nothing() {
        let expectations = Expectations::default();
        expectations.expect("ns/ds", 0, ["ns/p1".to_owned()]);
        expectations.deletion_observed("ns/ds", "ns/other");
        assert!(!expectations.satisfied("ns/ds"));
    }
}
