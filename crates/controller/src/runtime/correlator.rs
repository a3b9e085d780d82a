//! Which events reach the API and how, as client-go's `EventCorrelator` decides: similar events
//! are aggregated, repeats raise a count, and a token bucket per source and object drops spam.
//!
//! Facts from upstream `tools/record/events_cache.go`: from the 10th event that differs from the
//! others only by message within 10 minutes on, they become one "(combined from similar
//! events): …" event; each object may get 25 events in a burst, then one every 5 minutes.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Distinct messages of one kind of event before they are combined.
const AGGREGATE_MAX_EVENTS: usize = 10;
/// How long aggregation remembers the messages it has seen.
const AGGREGATE_INTERVAL: Duration = Duration::from_secs(600);
/// Events an object may get at once.
const SPAM_BURST: f64 = 25.0;
/// One more event allowed per this long.
const SPAM_REFILL: Duration = Duration::from_secs(300);
/// Prefix of an aggregated event's message.
pub const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// An event about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The involved object's uid (the source is always this controller).
    pub object: String,
    pub type_: String,
    pub reason: String,
    pub message: String,
}

/// What to write for a candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Dropped by the spam filter.
    Skip,
    /// A new Event with this message (possibly the combined form).
    Create { key: String, message: String },
    /// Raise the count of the Event recorded under `key` to `count`.
    Repeat {
        key: String,
        message: String,
        count: i32,
    },
}

#[derive(Debug)]
struct Aggregate {
    messages: HashSet<String>,
    last: Instant,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// The correlator's memory; one per recorder.
#[derive(Debug, Default)]
pub struct Correlator {
    aggregates: HashMap<String, Aggregate>,
    counts: HashMap<String, i32>,
    buckets: HashMap<String, Bucket>,
}

impl Correlator {
    /// Decides how `event` is recorded at `now` (upstream `EventCorrelate`: aggregate, then
    /// observe, then filter).
    pub fn correlate(&mut self, event: &Candidate, now: Instant) -> Decision {
        let aggregate_key = format!("{}\u{0}{}\u{0}{}", event.object, event.type_, event.reason);
        let aggregate = self
            .aggregates
            .entry(aggregate_key.clone())
            .or_insert_with(|| Aggregate {
                messages: HashSet::new(),
                last: now,
            });
        if now.duration_since(aggregate.last) > AGGREGATE_INTERVAL {
            aggregate.messages.clear();
        }
        aggregate.last = now;
        aggregate.messages.insert(event.message.clone());
        let (key, message) = if aggregate.messages.len() >= AGGREGATE_MAX_EVENTS {
            // Keep the set from growing past the limit (upstream pops an arbitrary one).
            let evicted = aggregate
                .messages
                .iter()
                .find(|m| **m != event.message)
                .cloned();
            if let Some(evicted) = evicted {
                aggregate.messages.remove(&evicted);
            }
            (aggregate_key, format!("{COMBINED_PREFIX}{}", event.message))
        } else {
            (
                format!("{aggregate_key}\u{0}{}", event.message),
                event.message.clone(),
            )
        };
        if !self.take_token(&event.object, now) {
            return Decision::Skip;
        }
        let count = self.counts.entry(key.clone()).or_insert(0);
        *count += 1;
        if *count == 1 {
            Decision::Create { key, message }
        } else {
            Decision::Repeat {
                key,
                message,
                count: *count,
            }
        }
    }

    fn take_token(&mut self, object: &str, now: Instant) -> bool {
        let bucket = self.buckets.entry(object.to_owned()).or_insert(Bucket {
            tokens: SPAM_BURST,
            last: now,
        });
        let refilled = now.duration_since(bucket.last).as_secs_f64() / SPAM_REFILL.as_secs_f64();
        bucket.tokens = (bucket.tokens + refilled).min(SPAM_BURST);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets what a recorded event key was, so the next one is created anew (its Event is gone).
    pub fn forget(&mut self, key: &str) {
        self.counts.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(message: &str) -> Candidate {
        Candidate {
            object: "uid-1".into(),
            type_: "Normal".into(),
            reason: "SuccessfulCreate".into(),
            message: message.into(),
        }
    }

    #[test]
    fn repeats_raise_the_count_of_one_event() {
        let mut correlator = Correlator::default();
        let now = Instant::now();
        assert!(matches!(
            correlator.correlate(&event("Created pod: a"), now),
            Decision::Create { .. }
        ));
        assert!(matches!(
            correlator.correlate(&event("Created pod: a"), now),
            Decision::Repeat { count: 2, .. }
        ));
    }

    #[test]
    fn the_tenth_similar_message_on_is_combined() {
        let mut correlator = Correlator::default();
        let now = Instant::now();
        for i in 0..9 {
            let decision = correlator.correlate(&event(&format!("Created pod: p{i}")), now);
            assert!(
                matches!(decision, Decision::Create { .. }),
                "{i}: {decision:?}"
            );
        }
        let tenth = correlator.correlate(&event("Created pod: p9"), now);
        assert_eq!(
            tenth,
            Decision::Create {
                key: "uid-1\u{0}Normal\u{0}SuccessfulCreate".into(),
                message: "(combined from similar events): Created pod: p9".into(),
            }
        );
        let eleventh = correlator.correlate(&event("Created pod: p10"), now);
        assert!(
            matches!(eleventh, Decision::Repeat { count: 2, .. }),
            "{eleventh:?}"
        );
    }

    #[test]
    fn an_object_gets_25_events_then_one_per_five_minutes() {
        let mut correlator = Correlator::default();
        let start = Instant::now();
        let recorded = (0..40)
            .filter(|i| correlator.correlate(&event(&format!("m{i}")), start) != Decision::Skip)
            .count();
        assert_eq!(recorded, 25);
        assert_eq!(
            correlator.correlate(&event("later"), start + Duration::from_secs(60)),
            Decision::Skip
        );
        let refilled = correlator.correlate(&event("later"), start + Duration::from_secs(301));
        assert_ne!(refilled, Decision::Skip);
    }
}
