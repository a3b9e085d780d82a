//! The pure planner: one DaemonSet sync as a function of (DaemonSet, nodes, pods, revisions, backoff, now) → [`Plan`] (spec §1.2).
//!
//! Steps, each its own module and each usable alone: [`snapshot`] claims pods and maps them to
//! nodes, [`should_run`] judges nodes, [`history`] picks the current revision, [`node_plan`] is
//! upstream `manage`, [`rolling`] the rolling update, [`status`] the counters. [`plan`] strings
//! them together exactly as upstream `syncDaemonSet` does.

pub mod backoff;
pub mod budget;
pub mod hash;
pub mod history;
pub mod node_plan;
pub mod pod_template;
pub mod rolling;
pub mod should_run;
pub mod snapshot;
pub mod status;
pub mod types;

#[cfg(test)]
mod tests;

use std::time::Duration;

use everynode_core::keys::{
    BURST_REPLICAS, CONTROLLER_REVISION_HASH_LABEL, EVENT_TYPE_WARNING, MESSAGE_SELECTING_ALL,
    REASON_SELECTING_ALL,
};
use everynode_core::labels::{LabelsError, Selector};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod, PodTemplateSpec};

pub use backoff::{BackoffEntry, FailedPodBackoff};
pub use history::HistoryPlan;
pub use rolling::RollingError;
pub use status::StatusCounters;
pub use types::{Claim, DeleteReason, PlanEvent, PodDelete};

use history::{HistoryError, plan_history, revisions_to_clean_up};
use node_plan::plan_manage;
use rolling::plan_rolling_update;
use snapshot::{Snapshot, pod_label};
use status::{compute_status, status_requeue, status_to_write};
use types::earliest;

/// Everything one sync reads. All borrowed: planning never clones the cluster.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The DaemonSet.
    pub ds: &'a DaemonSet,
    /// Every node (spec §1.2 S3).
    pub nodes: &'a [&'a Node],
    /// Pods of the DaemonSet's namespace that it owns or could adopt; others are ignored.
    pub pods: &'a [&'a Pod],
    /// ControllerRevisions of the namespace (claimed like pods, spec §1.5 P3).
    pub revisions: &'a [ControllerRevision],
    /// The failed-pod backoff table (read only; updates come back in the plan).
    pub backoff: &'a FailedPodBackoff,
    /// Whether earlier creates/deletes have all been observed (spec §1.9 E2).
    pub expectations_satisfied: bool,
    /// The controller clock.
    pub now: Timestamp,
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The DaemonSet selector does not convert to a label selector.
    #[error("invalid label selector of DaemonSet: {0}")]
    Selector(#[source] LabelsError),
    /// History could not be constructed (spec §1.2 S6).
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// One sync's decisions, to be carried out in this order: adopt/release, history, deletes and
/// creates, backoff updates, status.
#[derive(Debug, Default)]
pub struct Plan {
    /// The selector is `{}`: only the `SelectingAll` event, nothing else (spec §1.2 S4).
    pub selecting_all: bool,
    /// History decisions (absent when the sync stops before S6).
    pub history: Option<HistoryPlan>,
    /// Orphan pods to adopt before anything else (spec §1.5 P2).
    pub adopt_pods: Vec<Claim>,
    /// Owned pods whose labels no longer match, to release.
    pub release_pods: Vec<Claim>,
    /// Nodes to create a daemon pod on, capped at `BurstReplicas` (spec §1.8 K1).
    pub creates: Vec<String>,
    /// The template creates use (spec §1.8 K2); pin it per node with [`pod_template::pod_for_node`].
    pub pod_template: Option<PodTemplateSpec>,
    /// Pods to delete, capped at `BurstReplicas`.
    pub deletes: Vec<PodDelete>,
    /// Controller events to record on the DaemonSet.
    pub events: Vec<PlanEvent>,
    /// Backoff entries to store.
    pub backoff_updates: Vec<(String, BackoffEntry)>,
    /// Old ControllerRevisions to delete (spec §2.7).
    pub revisions_to_delete: Vec<String>,
    /// The status counters of this sync, computed from the input state.
    pub counters: Option<StatusCounters>,
    /// The status to write, `None` when unchanged (spec §1.10 W1).
    pub status: Option<DaemonSetStatus>,
    /// Re-queue the DaemonSet after this delay (backoff, minReadySeconds).
    pub requeue_after: Option<Duration>,
    /// The rolling update failed (bad budget); status is still written (spec §1.2 S8).
    pub rolling_error: Option<RollingError>,
}

/// Plans one sync of `input.ds` (upstream `syncDaemonSet` from S4 on).
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let ds = input.ds;
    let mut out = Plan::default();
    let selector = Selector::from_label_selector(ds.spec.as_ref().map(|s| &s.selector))
        .map_err(PlanError::Selector)?;
    if selector.is_empty() {
        // spec §1.2 S4: a warning and nothing else.
        out.selecting_all = true;
        out.events.push(PlanEvent {
            type_: EVENT_TYPE_WARNING,
            reason: REASON_SELECTING_ALL,
            message: MESSAGE_SELECTING_ALL.to_string(),
        });
        return Ok(out);
    }
    if ds.metadata.deletion_timestamp.is_some() {
        // spec §1.2 S5 / §1.11 X2: the garbage collector takes it from here.
        return Ok(out);
    }
    let mut snap = Snapshot::new(ds, &selector, input.nodes, input.pods, "");
    let claimed = snap.by_node.values().flatten().map(|p| {
        (
            p.metadata.name.as_deref().unwrap_or(""),
            pod_label(p, CONTROLLER_REVISION_HASH_LABEL),
        )
    });
    let history = plan_history(ds, &selector, input.revisions, claimed)?;
    snap.hash = history.hash.clone();
    out.adopt_pods = snap.adopt.iter().map(|p| Claim::of(&p.metadata)).collect();
    out.release_pods = snap
        .release
        .iter()
        .map(|p| Claim::of(&p.metadata))
        .collect();

    let full_sync = input.expectations_satisfied;
    if full_sync {
        // spec §1.2 S8: manage, then the rolling update only if expectations are still
        // satisfied — on a real cluster that means manage issued nothing, because its creates
        // and deletes are not observed before the check.
        let manage = plan_manage(&snap, input.backoff, input.now);
        let idle = manage.is_idle();
        out.creates = manage.creates;
        out.deletes = manage.deletes;
        out.events = manage.events;
        out.backoff_updates = manage.backoff_updates;
        out.requeue_after = manage.requeue_after;
        if idle && budget::is_rolling_update(ds) {
            match plan_rolling_update(&snap, input.now) {
                Ok(rolling) => {
                    out.creates = rolling.creates;
                    out.deletes = rolling.deletes;
                    out.requeue_after = earliest(out.requeue_after, rolling.requeue_after);
                }
                Err(e) => out.rolling_error = Some(e),
            }
        }
        // spec §1.8 K1: at most BurstReplicas of each per sync.
        out.creates.truncate(BURST_REPLICAS);
        out.deletes.truncate(BURST_REPLICAS);
        if !out.creates.is_empty() {
            out.pod_template = Some(pod_template::creation_template(ds, &snap.hash));
        }
        // Upstream returns before cleaning history when the rolling update fails.
        if out.rolling_error.is_none() {
            let live = snap
                .by_node
                .values()
                .flatten()
                .filter_map(|p| pod_label(p, CONTROLLER_REVISION_HASH_LABEL))
                .chain(snap.finished_hashes.iter().copied());
            out.revisions_to_delete = revisions_to_clean_up(ds, &history.old, live);
        }
    }
    // spec §1.2 S7: with pending expectations only the status is refreshed, and
    // observedGeneration is not raised.
    let counters = compute_status(&snap, input.now);
    out.status = status_to_write(ds, counters, full_sync);
    out.requeue_after = earliest(out.requeue_after, status_requeue(ds, counters));
    out.counters = Some(counters);
    out.history = Some(history);
    Ok(out)
}

/// Borrows every item: the planner takes slices of references, so callers holding owned objects
/// (tests, benches) or shared ones (the executor's caches) lend them without copying.
pub fn refs<T>(items: &[T]) -> Vec<&T> {
    items.iter().collect()
}
