//! `manage`: per-node decisions — create where missing, delete extras, failed, succeeded and unwelcome pods (spec §1.7 D1–D6; upstream `podsShouldBeOnNode`).

use std::time::Duration;

use everynode_core::keys::{
    CONTROLLER_REVISION_HASH_LABEL, EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, POD_FAILED,
    POD_SUCCEEDED, REASON_FAILED_DAEMON_POD, REASON_SUCCEEDED_DAEMON_POD,
    failed_daemon_pod_message, succeeded_daemon_pod_message,
};
use everynode_core::pod::{is_pod_available, is_pod_ready, pod_phase};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::backoff::{BackoffEntry, FailedPodBackoff, backoff_key};
use super::should_run::NodeFit;
use super::snapshot::{Snapshot, pod_label};
use super::types::{DeleteReason, PlanEvent, PodDelete, earliest};

/// What `manage` decided for every node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagePlan {
    /// Nodes that need a daemon pod, in node-list order (spec §1.7 D6).
    pub creates: Vec<String>,
    /// Pods to delete: per node in node-list order, then D5 pods (spec §1.7 D6).
    pub deletes: Vec<PodDelete>,
    /// `FailedDaemonPod` / `SucceededDaemonPod` events.
    pub events: Vec<PlanEvent>,
    /// Backoff entries advanced by this plan, to store when it is carried out.
    pub backoff_updates: Vec<(String, BackoffEntry)>,
    /// Re-queue the DaemonSet after this delay (a failed pod waits out its backoff).
    pub requeue_after: Option<Duration>,
}

impl ManagePlan {
    /// No create and no delete: expectations stay satisfied and the rolling update may run
    /// (spec §1.2 S8).
    pub fn is_idle(&self) -> bool {
        self.creates.is_empty() && self.deletes.is_empty()
    }
}

/// Upstream `manage` minus the API calls: `podsShouldBeOnNode` for every node, then D5.
pub fn plan_manage(snap: &Snapshot<'_>, backoff: &FailedPodBackoff, now: Timestamp) -> ManagePlan {
    let mut plan = ManagePlan::default();
    for (node, fit) in snap.nodes.iter().zip(&snap.fits) {
        let name = node.metadata.name.as_deref().unwrap_or("");
        plan_node(snap, name, *fit, backoff, now, &mut plan);
    }
    // spec §1.7 D5: pods created for a node that vanished before they were scheduled. Pods bound
    // to vanished nodes are left to pod GC. Sorted for a deterministic plan.
    let mut missing: Vec<(&str, &Vec<&Pod>)> = snap
        .by_node
        .iter()
        .filter(|(n, _)| !snap.has_node(n))
        .map(|(n, pods)| (n.as_ref(), pods))
        .collect();
    missing.sort_by_key(|(n, _)| *n);
    for (node, pods) in missing {
        for pod in pods {
            let unscheduled = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .is_none_or(str::is_empty);
            if unscheduled {
                push_delete(&mut plan, pod, node, DeleteReason::UnscheduledOnMissingNode);
            }
        }
    }
    plan
}

fn push_delete(plan: &mut ManagePlan, pod: &Pod, node: &str, reason: DeleteReason) {
    plan.deletes.push(PodDelete {
        name: pod.metadata.name.clone().unwrap_or_default(),
        node: node.to_string(),
        reason,
    });
}

/// Upstream `podsShouldBeOnNode` for one node.
fn plan_node(
    snap: &Snapshot<'_>,
    node: &str,
    fit: NodeFit,
    backoff: &FailedPodBackoff,
    now: Timestamp,
    plan: &mut ManagePlan,
) {
    let pods = snap.pods_on(node);
    let exists = snap.by_node.contains_key(node);
    if fit.should_run && !exists {
        // spec §1.7 D1.
        plan.creates.push(node.to_string());
        return;
    }
    if !fit.should_continue_running {
        // spec §1.7 D3: the node no longer accepts the pod (NoExecute, selector, affinity).
        for pod in pods {
            if pod.metadata.deletion_timestamp.is_none() {
                push_delete(plan, pod, node, DeleteReason::ShouldNotContinueRunning);
            }
        }
        return;
    }
    // spec §1.7 D2. `pods` is already sorted oldest first (D4), so the running list is too.
    let ds = snap.ds;
    let namespace = ds.metadata.namespace.as_deref().unwrap_or("");
    let mut running: Vec<&Pod> = Vec::with_capacity(pods.len());
    for &pod in pods {
        // Terminating pods still make the node "have a pod" (spec §2.3 O3) but are not counted.
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let pod_name = pod.metadata.name.as_deref().unwrap_or("");
        match pod_phase(pod) {
            POD_FAILED => {
                let key = backoff_key(ds, node);
                if let Some(delay) = backoff.in_backoff(&key, now) {
                    // Neither deleted nor running: wait out the window, then look again.
                    plan.requeue_after = earliest(plan.requeue_after, Some(delay));
                    continue;
                }
                plan.backoff_updates
                    .push((key.clone(), backoff.next(&key, now)));
                plan.events.push(PlanEvent {
                    type_: EVENT_TYPE_WARNING,
                    reason: REASON_FAILED_DAEMON_POD,
                    message: failed_daemon_pod_message(namespace, pod_name, node),
                });
                push_delete(plan, pod, node, DeleteReason::Failed);
            }
            POD_SUCCEEDED => {
                // No backoff: a daemon pod is not supposed to exit (spec §1.7 D2).
                plan.events.push(PlanEvent {
                    type_: EVENT_TYPE_NORMAL,
                    reason: REASON_SUCCEEDED_DAEMON_POD,
                    message: succeeded_daemon_pod_message(namespace, pod_name, node),
                });
                push_delete(plan, pod, node, DeleteReason::Succeeded);
            }
            _ => running.push(pod),
        }
    }
    if !snap.allows_surge {
        // Non-surge: keep the oldest running pod whatever its revision (spec §1.7 D2); the
        // replacement of a failed pod waits for the next sync (the node still "has" a pod).
        for pod in running.iter().skip(1) {
            push_delete(plan, pod, node, DeleteReason::Duplicate);
        }
        return;
    }
    if running.len() <= 1 {
        // Surge: a node whose pods are all terminating or failed gets a replacement now.
        if running.is_empty() && fit.should_run {
            plan.creates.push(node.to_string());
        }
        return;
    }
    // Surge with several running pods: keep the oldest new and the oldest old (spec §1.7 D2,
    // only the hash label counts here: spec §2.3 O2).
    let mut oldest_new: Option<&Pod> = None;
    let mut oldest_old: Option<&Pod> = None;
    for pod in running {
        let is_new = pod_label(pod, CONTROLLER_REVISION_HASH_LABEL) == Some(snap.hash.as_str());
        let slot = if is_new {
            &mut oldest_new
        } else {
            &mut oldest_old
        };
        if slot.is_none() {
            *slot = Some(pod);
        } else {
            push_delete(plan, pod, node, DeleteReason::SurgeExtra);
        }
    }
    if let (Some(new), Some(old)) = (oldest_new, oldest_old)
        && (!is_pod_ready(old) || is_pod_available(new, snap.min_ready_seconds, now))
    {
        push_delete(plan, old, node, DeleteReason::SurgeOldReplaced);
    }
}
