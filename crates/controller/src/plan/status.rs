//! Status counters and the rule for when to write them (spec §1.10; upstream `updateDaemonSetStatus`, `storeDaemonSetStatus`).

use std::time::Duration;

use everynode_core::pod::{is_pod_available, is_pod_ready};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};

use super::snapshot::Snapshot;

/// The seven counters the controller owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusCounters {
    /// Nodes that should run the daemon.
    pub desired_number_scheduled: i32,
    /// Nodes that should run it and have at least one pod.
    pub current_number_scheduled: i32,
    /// Nodes that should not run it (shouldRun, not shouldContinueRunning) but have a pod.
    pub number_misscheduled: i32,
    /// Oldest pod Ready.
    pub number_ready: i32,
    /// Oldest pod Available.
    pub number_available: i32,
    /// Oldest pod on the current revision.
    pub updated_number_scheduled: i32,
    /// `desired - available`.
    pub number_unavailable: i32,
}

impl StatusCounters {
    /// The counters as stored in a status (missing optional counters read as 0).
    pub fn of(status: Option<&DaemonSetStatus>) -> Self {
        let Some(s) = status else {
            return StatusCounters::default();
        };
        StatusCounters {
            desired_number_scheduled: s.desired_number_scheduled,
            current_number_scheduled: s.current_number_scheduled,
            number_misscheduled: s.number_misscheduled,
            number_ready: s.number_ready,
            number_available: s.number_available.unwrap_or(0),
            updated_number_scheduled: s.updated_number_scheduled.unwrap_or(0),
            number_unavailable: s.number_unavailable.unwrap_or(0),
        }
    }

    /// Sets the seven counters on `status`, keeping its other fields.
    pub fn write_into(self, status: &mut DaemonSetStatus) {
        status.desired_number_scheduled = self.desired_number_scheduled;
        status.current_number_scheduled = self.current_number_scheduled;
        status.number_misscheduled = self.number_misscheduled;
        status.number_ready = self.number_ready;
        status.number_available = Some(self.number_available);
        status.updated_number_scheduled = Some(self.updated_number_scheduled);
        status.number_unavailable = Some(self.number_unavailable);
    }
}

/// Computes the counters (spec §1.10): only the oldest pod of a node (D4 order) is judged;
/// pods mapped to nodes missing from the list are not counted.
pub fn compute_status(snap: &Snapshot<'_>, now: Timestamp) -> StatusCounters {
    let mut c = StatusCounters::default();
    for (node, fit) in snap.nodes.iter().zip(&snap.fits) {
        let pods = snap.pods_on(node.metadata.name.as_deref().unwrap_or(""));
        if !fit.should_run {
            // spec §6.3: shouldRun, not shouldContinueRunning, so a pod kept on a NoSchedule
            // node counts as misscheduled.
            if !pods.is_empty() {
                c.number_misscheduled += 1;
            }
            continue;
        }
        c.desired_number_scheduled += 1;
        let Some(&oldest) = pods.first() else {
            continue;
        };
        c.current_number_scheduled += 1;
        if is_pod_ready(oldest) {
            c.number_ready += 1;
            if is_pod_available(oldest, snap.min_ready_seconds, now) {
                c.number_available += 1;
            }
        }
        if snap.is_updated(oldest) {
            c.updated_number_scheduled += 1;
        }
    }
    c.number_unavailable = c.desired_number_scheduled - c.number_available;
    c
}

/// spec §1.10 W1: the status to PUT, or `None` when the stored one is already right.
/// `observe_generation` is true when this sync processed the spec (spec §1.2 S8).
pub fn status_to_write(
    ds: &DaemonSet,
    counters: StatusCounters,
    observe_generation: bool,
) -> Option<DaemonSetStatus> {
    let stored = ds.status.as_ref();
    let generation = ds.metadata.generation.unwrap_or(0);
    let observed = stored.and_then(|s| s.observed_generation).unwrap_or(0);
    if StatusCounters::of(stored) == counters && observed >= generation {
        return None;
    }
    // Other fields (collisionCount, conditions) are carried over from the object.
    let mut status = stored.cloned().unwrap_or_default();
    counters.write_into(&mut status);
    if observe_generation {
        status.observed_generation = Some(generation);
    }
    Some(status)
}

/// spec §1.10 W2: with minReadySeconds, look again once Ready pods may have become Available.
pub fn status_requeue(ds: &DaemonSet, counters: StatusCounters) -> Option<Duration> {
    let min_ready = ds.spec.as_ref()?.min_ready_seconds.unwrap_or(0);
    (min_ready > 0 && counters.number_ready != counters.number_available)
        .then(|| Duration::from_secs(u64::from(min_ready.unsigned_abs())))
}
