//! A deadline queue: one binary heap of due times per task, so thousands of nodes and pods share one timer.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use tokio::time::Instant;

struct Entry<T> {
    due: Instant,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.due == other.due && self.seq == other.seq
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    // Reversed: BinaryHeap is a max-heap and we want the earliest due time on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .due
            .cmp(&self.due)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// Items due at instants. Entries are never cancelled: the owner re-checks an item when it
/// fires and ignores it if it no longer applies (cheaper than cancellation at this scale).
pub(crate) struct Timers<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

impl<T> Default for Timers<T> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T> Timers<T> {
    /// Schedules `item` at `due`.
    pub(crate) fn push(&mut self, due: Instant, item: T) {
        self.seq += 1;
        self.heap.push(Entry {
            due,
            seq: self.seq,
            item,
        });
    }

    /// The earliest due time, if any.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.heap.peek().map(|e| e.due)
    }

    /// Removes and returns every item due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Vec<T> {
        let mut out = Vec::new();
        while self.heap.peek().is_some_and(|e| e.due <= now) {
            if let Some(e) = self.heap.pop() {
                out.push(e.item);
            }
        }
        out
    }
}

/// Sleeps until `due`, or forever when there is nothing scheduled.
pub(crate) async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => futures::future::pending::<()>().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_due_order_and_only_due_items() {
        let base = Instant::now();
        let mut t = Timers::default();
        t.push(base + Duration::from_secs(3), "c");
        t.push(base + Duration::from_secs(1), "a");
        t.push(base + Duration::from_secs(2), "b");
        assert_eq!(t.next_due(), Some(base + Duration::from_secs(1)));
        assert_eq!(t.pop_due(base + Duration::from_secs(2)), vec!["a", "b"]);
        assert_eq!(t.pop_due(base + Duration::from_secs(2)), Vec::<&str>::new());
        assert_eq!(t.pop_due(base + Duration::from_secs(5)), vec!["c"]);
        assert_eq!(t.next_due(), None);
    }
}
