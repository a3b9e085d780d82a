//! The work queue: DaemonSet keys to sync, each at most once in the queue and never synced by
//! two workers at once, with delayed re-adds (client-go's rate-limited workqueue, minus the
//! rate limiting the planner's own backoff makes unnecessary).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;

/// `namespace/name` of a DaemonSet.
pub type Key = String;

#[derive(Default)]
struct State {
    queue: VecDeque<Key>,
    /// Keys in `queue`: adding one again is a no-op.
    queued: HashSet<Key>,
    /// Keys a worker is syncing now; re-adds wait in `dirty` until it is done.
    active: HashSet<Key>,
    dirty: HashSet<Key>,
    /// The earliest pending delayed add of each key.
    delayed: HashMap<Key, tokio::time::Instant>,
    shut_down: bool,
}

/// A deduplicating queue of keys shared by the event handlers and the workers.
#[derive(Clone, Default)]
pub struct WorkQueue {
    state: Arc<Mutex<State>>,
    ready: Arc<Notify>,
}

impl WorkQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `key` unless it is queued already.
    pub fn add(&self, key: Key) {
        let mut state = self.lock();
        if state.shut_down {
            return;
        }
        if state.active.contains(&key) {
            state.dirty.insert(key);
            return;
        }
        if state.queued.insert(key.clone()) {
            state.queue.push_back(key);
            drop(state);
            self.ready.notify_one();
        }
    }

    /// Queues `key` after `delay`; an earlier pending delayed add of the same key wins.
    pub fn add_after(&self, key: Key, delay: Duration) {
        if delay.is_zero() {
            return self.add(key);
        }
        let due = tokio::time::Instant::now() + delay;
        {
            let mut state = self.lock();
            match state.delayed.get(&key) {
                Some(existing) if *existing <= due => return,
                _ => {
                    state.delayed.insert(key.clone(), due);
                }
            }
        }
        let queue = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(due).await;
            let still_due = {
                let mut state = queue.lock();
                if state.delayed.get(&key) == Some(&due) {
                    state.delayed.remove(&key);
                    true
                } else {
                    false
                }
            };
            if still_due {
                queue.add(key);
            }
        });
    }

    /// Waits for the next key and marks it active; `None` once shut down.
    pub async fn next(&self) -> Option<Key> {
        loop {
            let notified = self.ready.notified();
            {
                let mut state = self.lock();
                if state.shut_down {
                    return None;
                }
                if let Some(key) = state.queue.pop_front() {
                    state.queued.remove(&key);
                    state.active.insert(key.clone());
                    return Some(key);
                }
            }
            notified.await;
        }
    }

    /// Marks `key` done; if it was added while active, it is queued again.
    pub fn done(&self, key: &str) {
        let again = {
            let mut state = self.lock();
            state.active.remove(key);
            state.dirty.remove(key)
        };
        if again {
            self.add(key.to_owned());
        }
    }

    /// How many keys wait to be synced (for the queue-depth metric).
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wakes every waiting worker with `None`.
    pub fn shut_down(&self) {
        self.lock().shut_down = true;
        self.ready.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_queued_once() {
        let queue = WorkQueue::default();
        queue.add("ns/a".into());
        queue.add("ns/a".into());
        queue.add("ns/b".into());
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.next().await.as_deref(), Some("ns/a"));
        assert_eq!(queue.next().await.as_deref(), Some("ns/b"));
    }

    #[tokio::test]
    async fn a_key_added_while_active_is_synced_again_after_done() {
        let queue = WorkQueue::default();
        queue.add("ns/a".into());
        let key = queue.next().await.expect("key");
        queue.add("ns/a".into());
        assert!(
            queue.is_empty(),
            "must not be handed to a second worker while active"
        );
        queue.done(&key);
        assert_eq!(queue.next().await.as_deref(), Some("ns/a"));
    }

    #[tokio::test(start_paused = true)]
    async fn delayed_adds_arrive_after_their_delay_and_the_earliest_wins() {
        let queue = WorkQueue::default();
        queue.add_after("ns/a".into(), Duration::from_secs(10));
        queue.add_after("ns/a".into(), Duration::from_secs(3));
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(queue.is_empty());
        let started = tokio::time::Instant::now();
        assert_eq!(queue.next().await.as_deref(), Some("ns/a"));
        assert!(started.elapsed() <= Duration::from_secs(2));
    }

    #[tokio::test]
    async fn shut_down_releases_waiting_workers() {
        let queue = WorkQueue::default();
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.next().await }
        });
        tokio::task::yield_now().await;
        queue.shut_down();
        assert_eq!(waiter.await.expect("join"), None);
    }
}
