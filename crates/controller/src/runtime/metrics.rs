//! The controller's Prometheus metrics: reconciles, errors, sync durations, queue depth, pods
//! created and deleted, rendered in the text exposition format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the sync-duration histogram buckets.
const DURATION_BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Counters shared by the workers; cheap to update from any thread.
#[derive(Debug, Default)]
pub struct Metrics {
    reconciles: AtomicU64,
    errors: AtomicU64,
    pods_created: AtomicU64,
    pods_deleted: AtomicU64,
    duration_buckets: [AtomicU64; DURATION_BUCKETS.len()],
    duration_count: AtomicU64,
    duration_sum_micros: AtomicU64,
}

impl Metrics {
    /// One finished sync, successful or not, and how long it took.
    pub fn reconciled(&self, took: Duration, failed: bool) {
        self.reconciles.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let seconds = took.as_secs_f64();
        for (bucket, bound) in self.duration_buckets.iter().zip(DURATION_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.duration_count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.duration_sum_micros
            .fetch_add(micros, Ordering::Relaxed);
    }

    pub fn pod_created(&self) {
        self.pods_created.fetch_add(1, Ordering::Relaxed);
    }

    pub fn pod_deleted(&self) {
        self.pods_deleted.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every metric, with the current queue depth.
    pub fn render(&self, queue_depth: usize) -> String {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "everynode_daemonset_reconciles_total",
            "DaemonSet syncs run.",
            load(&self.reconciles),
        );
        counter(
            "everynode_daemonset_reconcile_errors_total",
            "DaemonSet syncs that failed.",
            load(&self.errors),
        );
        counter(
            "everynode_daemonset_pods_created_total",
            "Daemon pods created.",
            load(&self.pods_created),
        );
        counter(
            "everynode_daemonset_pods_deleted_total",
            "Daemon pods deleted.",
            load(&self.pods_deleted),
        );
        let name = "everynode_daemonset_reconcile_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} How long DaemonSet syncs take.\n# TYPE {name} histogram"
        );
        for (bucket, bound) in self.duration_buckets.iter().zip(DURATION_BUCKETS) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", load(bucket));
        }
        let count = load(&self.duration_count);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = load(&self.duration_sum_micros) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        let name = "everynode_daemonset_queue_depth";
        let _ = writeln!(
            out,
            "# HELP {name} DaemonSets waiting to be synced.\n# TYPE {name} gauge\n{name} {queue_depth}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauge() {
        let metrics = Metrics::default();
        metrics.reconciled(Duration::from_millis(3), false);
        metrics.reconciled(Duration::from_millis(300), true);
        metrics.pod_created();
        let text = metrics.render(7);
        assert!(
            text.contains("everynode_daemonset_reconciles_total 2\n"),
            "{text}"
        );
        assert!(
            text.contains("everynode_daemonset_reconcile_errors_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("everynode_daemonset_pods_created_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("reconcile_duration_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("reconcile_duration_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("everynode_daemonset_queue_depth 7\n"),
            "{text}"
        );
    }
}
