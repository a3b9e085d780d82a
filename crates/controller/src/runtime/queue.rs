//! The work queue: keys to sync, each at most once in the queue and never synced by two workers
//! at once, with delayed and rate-limited re-adds (client-go's rate-limiting workqueue with its
//! default controller rate limiter).

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

/// First per-item retry delay of client-go's default controller rate limiter.
const BASE_DELAY: Duration = Duration::from_millis(5);
/// The per-item delay stops doubling here.
const MAX_DELAY: Duration = Duration::from_secs(1000);
/// The overall bucket: this many retries a second …
const BUCKET_QPS: f64 = 10.0;
/// … after a burst of this many.
const BUCKET_BURST: f64 = 100.0;

/// client-go's `DefaultControllerRateLimiter`: the larger of a per-item exponential backoff
/// (5 ms doubling to 1000 s, reset by [`RateLimiter::forget`]) and an overall token bucket
/// (10 qps, burst 100) that every retry reserves a token from.
#[derive(Debug)]
pub struct RateLimiter {
    failures: HashMap<Key, u32>,
    /// Tokens left (negative: reserved ahead), as of `updated`.
    tokens: f64,
    updated: tokio::time::Instant,
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self {
            failures: HashMap::new(),
            tokens: BUCKET_BURST,
            updated: tokio::time::Instant::now(),
        }
    }
}

impl RateLimiter {
    /// How long `key` waits before its next retry; counts one more failure of it.
    pub fn when(&mut self, key: &str) -> Duration {
        let failures = self.failures.entry(key.to_owned()).or_insert(0);
        let exponential = BASE_DELAY
            .checked_mul(2u32.saturating_pow(*failures))
            .map_or(MAX_DELAY, |d| d.min(MAX_DELAY));
        *failures = failures.saturating_add(1);
        exponential.max(self.reserve())
    }

    /// Takes a token from the overall bucket; the wait until it is there (golang.org/x/time/rate
    /// `Reserve().Delay()`: tokens may go negative, later callers wait longer).
    fn reserve(&mut self) -> Duration {
        let now = tokio::time::Instant::now();
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * BUCKET_QPS).min(BUCKET_BURST) - 1.0;
        self.updated = now;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / BUCKET_QPS)
        }
    }

    /// Forgets the failures of `key` (its sync succeeded).
    pub fn forget(&mut self, key: &str) {
        self.failures.remove(key);
    }

    /// How many failures of `key` are counted.
    pub fn retries(&self, key: &str) -> u32 {
        self.failures.get(key).copied().unwrap_or(0)
    }
}

/// A deduplicating queue of keys shared by the event handlers and the workers.
#[derive(Clone, Default)]
pub struct WorkQueue {
    state: Arc<Mutex<State>>,
    ready: Arc<Notify>,
    limiter: Arc<Mutex<RateLimiter>>,
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

    /// Queues `key` again after its rate limiter's delay (a failed sync, upstream
    /// `AddRateLimited`).
    pub fn add_rate_limited(&self, key: Key) {
        let delay = self
            .limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .when(&key);
        self.add_after(key, delay);
    }

    /// Resets the rate limiter's failure count of `key` (a successful sync, upstream `Forget`).
    pub fn forget(&self, key: &str) {
        self.limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .forget(key);
    }

    /// Failures of `key` since it was last forgotten.
    pub fn num_requeues(&self, key: &str) -> u32 {
        self.limiter
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retries(key)
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

    #[tokio::test(start_paused = true)]
    async fn per_item_delay_doubles_from_5ms_and_is_capped_at_1000s() {
        let mut limiter = RateLimiter::default();
        let delays: Vec<Duration> = (0..4).map(|_| limiter.when("ns/a")).collect();
        assert_eq!(
            delays,
            [5, 10, 20, 40].map(Duration::from_millis).to_vec(),
            "client-go ItemExponentialFailureRateLimiter(5ms, 1000s)"
        );
        assert_eq!(limiter.when("ns/b"), Duration::from_millis(5), "per item");
        for _ in 0..40 {
            limiter.when("ns/c");
            tokio::time::advance(Duration::from_secs(10)).await;
        }
        assert_eq!(limiter.when("ns/c"), MAX_DELAY);
        limiter.forget("ns/a");
        assert_eq!(limiter.retries("ns/a"), 0);
        assert_eq!(limiter.when("ns/a"), Duration::from_millis(5));
    }

    #[tokio::test(start_paused = true)]
    async fn the_overall_bucket_allows_a_burst_of_100_then_10_per_second() {
        let mut limiter = RateLimiter::default();
        for i in 0..100 {
            assert_eq!(
                limiter.when(&format!("ns/{i}")),
                Duration::from_millis(5),
                "burst {i}"
            );
        }
        // The 101st and 102nd distinct keys wait for the bucket, not their own backoff.
        let first = limiter.when("ns/101");
        let second = limiter.when("ns/102");
        assert!(
            first.abs_diff(Duration::from_millis(100)) < Duration::from_millis(1),
            "{first:?}"
        );
        assert!(
            second.abs_diff(Duration::from_millis(200)) < Duration::from_millis(1),
            "{second:?}"
        );
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(limiter.when("ns/103"), Duration::from_millis(5), "refilled");
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limited_add_arrives_after_the_backoff() {
        let queue = WorkQueue::default();
        queue.add_rate_limited("ns/a".into());
        queue.add_rate_limited("ns/a".into());
        assert_eq!(queue.num_requeues("ns/a"), 2);
        assert!(queue.is_empty());
        let started = tokio::time::Instant::now();
        assert_eq!(queue.next().await.as_deref(), Some("ns/a"));
        // The earlier (5 ms) add wins over the later (10 ms) one.
        assert_eq!(started.elapsed(), Duration::from_millis(5));
        queue.forget("ns/a");
        assert_eq!(queue.num_requeues("ns/a"), 0);
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
