//! The rolling update: which old pods go and which nodes get a surge pod, within the budget (spec §2.3–§2.5; upstream `rollingUpdate`).
//!
//! The node order is upstream's map order, i.e. unspecified (spec §6.10); here it is the node
//! list order followed by vanished nodes sorted by name, so plans are reproducible.

use std::time::Duration;

use everynode_core::pod::{is_pod_available, is_pod_ready};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use super::budget::{Budget, BudgetError, budget};
use super::snapshot::Snapshot;
use super::types::{DeleteReason, PodDelete};

/// Why the rolling update could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollingError {
    /// maxUnavailable or maxSurge did not resolve (spec §2.2 R3).
    #[error("couldn't get unavailable numbers: {0}")]
    Budget(#[from] BudgetError),
    /// Surge mode needs the node of an old pod and it is not in the node list.
    #[error("couldn't get node for nodeName {0:?}: node {0:?} not found")]
    NodeNotFound(String),
}

/// The rolling update's decisions for one sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingPlan {
    /// The budget the decisions were made under.
    pub budget: Budget,
    /// Surge pods to create (empty without surge: manage recreates deleted pods later).
    pub creates: Vec<String>,
    /// Old pods to delete.
    pub deletes: Vec<PodDelete>,
    /// Sync again after this long: a surge pod is Ready but not yet Available, and nothing else
    /// marks the moment minReadySeconds later when its old pod may go.
    pub requeue_after: Option<Duration>,
}

/// The pods of one node as the rolling update sees them (upstream `findUpdatedPodsOnNode`).
enum NodePods<'p> {
    /// More than one new or more than one old non-terminating pod.
    Crowded,
    /// At most one of each.
    Pair {
        new: Option<&'p Pod>,
        old: Option<&'p Pod>,
    },
}

fn split_pods<'p>(snap: &Snapshot<'_>, pods: &[&'p Pod]) -> NodePods<'p> {
    let (mut new, mut old) = (None, None);
    for &pod in pods {
        // spec §2.3 O3: terminating pods do not count.
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let slot = if snap.is_updated(pod) {
            &mut new
        } else {
            &mut old
        };
        if slot.is_some() {
            return NodePods::Crowded;
        }
        *slot = Some(pod);
    }
    NodePods::Pair { new, old }
}

/// Upstream `updatedDesiredNodeCounts`: the desired count and the node names the update walks —
/// every node with pods plus every node that should run one.
pub fn nodes_to_visit<'s>(snap: &'s Snapshot<'_>) -> (i32, Vec<&'s str>) {
    let mut desired = 0;
    let mut visit = Vec::with_capacity(snap.nodes.len());
    for (node, fit) in snap.nodes.iter().zip(&snap.fits) {
        let name = node.metadata.name.as_deref().unwrap_or("");
        if fit.should_run {
            desired += 1;
        }
        if fit.should_run || snap.by_node.contains_key(name) {
            visit.push(name);
        }
    }
    let mut vanished: Vec<&str> = snap
        .by_node
        .keys()
        .map(|k| k.as_ref())
        .filter(|n| !snap.has_node(n))
        .collect();
    vanished.sort_unstable();
    visit.extend(vanished);
    (desired, visit)
}

fn delete(pod: &Pod, node: &str, reason: DeleteReason) -> PodDelete {
    PodDelete {
        name: pod.metadata.name.clone().unwrap_or_default(),
        node: node.to_string(),
        reason,
    }
}

/// Plans one rolling-update step (spec §2.4 without surge, §2.5 with surge).
pub fn plan_rolling_update(
    snap: &Snapshot<'_>,
    now: Timestamp,
) -> Result<RollingPlan, RollingError> {
    let (desired, visit) = nodes_to_visit(snap);
    let budget = budget(snap.ds, desired)?;
    plan_rolling_update_with(snap, budget, &visit, now)
}

/// The rolling update under an explicit policy: a resolved [`Budget`] and the order in which
/// nodes are considered (upstream: apps/v1 fields and map order). Extensions such as canary
/// or zone-ordered waves plug in here by choosing `budget` and `visit` differently.
pub fn plan_rolling_update_with(
    snap: &Snapshot<'_>,
    budget: Budget,
    visit: &[&str],
    now: Timestamp,
) -> Result<RollingPlan, RollingError> {
    let available = |pod: &Pod| is_pod_available(pod, snap.min_ready_seconds, now);
    if budget.max_surge == 0 {
        return Ok(without_surge(snap, budget, visit, available));
    }
    with_surge(snap, budget, visit, available)
}

/// spec §2.4: delete just enough old pods to stay within maxUnavailable.
fn without_surge(
    snap: &Snapshot<'_>,
    budget: Budget,
    visit: &[&str],
    available: impl Fn(&Pod) -> bool,
) -> RollingPlan {
    let mut num_unavailable = 0;
    let mut deletes = Vec::new();
    let mut candidates = Vec::new();
    for &node in visit {
        match split_pods(snap, snap.pods_on(node)) {
            NodePods::Crowded => num_unavailable += 1,
            NodePods::Pair {
                new: None,
                old: None,
            }
            | NodePods::Pair {
                new: Some(_),
                old: Some(_),
            } => {
                // Manage will create or prune here; either way the node is unavailable now.
                num_unavailable += 1;
            }
            NodePods::Pair {
                new: Some(new),
                old: None,
            } => {
                if !available(new) {
                    num_unavailable += 1;
                }
            }
            NodePods::Pair {
                new: None,
                old: Some(old),
            } => {
                if !available(old) {
                    // Already unavailable: replacing it costs nothing from the budget.
                    deletes.push(delete(old, node, DeleteReason::RollingUpdateUnavailable));
                    num_unavailable += 1;
                } else if num_unavailable < budget.max_unavailable {
                    candidates.push((old, node));
                }
            }
        }
    }
    let room = (budget.max_unavailable - num_unavailable).clamp(0, candidates.len() as i32);
    deletes.extend(
        candidates
            .into_iter()
            .take(room as usize)
            .map(|(pod, node)| delete(pod, node, DeleteReason::RollingUpdate)),
    );
    RollingPlan {
        budget,
        creates: Vec::new(),
        deletes,
        requeue_after: None,
    }
}

/// spec §2.5: surge new pods onto nodes, delete old pods once their replacement is Available.
fn with_surge(
    snap: &Snapshot<'_>,
    budget: Budget,
    visit: &[&str],
    available: impl Fn(&Pod) -> bool,
) -> Result<RollingPlan, RollingError> {
    let mut num_surge = 0;
    let mut num_available = 0;
    let mut waiting_for_available = false;
    let mut allowed_new: Vec<String> = Vec::new();
    let mut candidate_new: Vec<&str> = Vec::new();
    let mut deletes = Vec::new();
    let mut should_not_run = Vec::new();
    let should_run = |node: &str| {
        snap.fit_of(node)
            .map(|f| f.should_run)
            .ok_or_else(|| RollingError::NodeNotFound(node.to_string()))
    };
    for &node in visit {
        let (new, old) = match split_pods(snap, snap.pods_on(node)) {
            NodePods::Crowded => {
                num_surge += 1;
                continue;
            }
            NodePods::Pair { new, old } => (new, old),
        };
        // Availability counts the old pod if any, else the new one, for every node.
        if old.or(new).is_some_and(&available) {
            num_available += 1;
        }
        let Some(old) = old else {
            continue;
        };
        match new {
            None if !available(old) => {
                if should_run(node)? {
                    // An unavailable old pod may be surged over regardless of the budget.
                    allowed_new.push(node.to_string());
                } else {
                    deletes.push(delete(old, node, DeleteReason::RollingUpdateUnavailable));
                }
            }
            None => {
                if !should_run(node)? {
                    should_not_run.push((old, node));
                } else if num_surge < budget.max_surge {
                    candidate_new.push(node);
                }
            }
            Some(new) => {
                if available(new) {
                    deletes.push(delete(old, node, DeleteReason::RollingUpdateSurgeDone));
                } else {
                    num_surge += 1;
                    // Ready now, so Available within minReadySeconds. Upstream counts on the
                    // pod handler's delayed resync, which a queue keeping only the earliest
                    // delayed add of a key can swallow; then the rollout would stall here.
                    waiting_for_available |= is_pod_ready(new);
                }
            }
        }
    }
    let room = (budget.max_surge - num_surge).clamp(0, candidate_new.len() as i32);
    let mut creates = allowed_new;
    creates.extend(
        candidate_new
            .into_iter()
            .take(room as usize)
            .map(str::to_string),
    );
    // Keep availability at 100% while scheduling constraints move the DaemonSet between nodes.
    let extra = (num_available - budget.desired).max(0) as usize;
    deletes.extend(
        should_not_run
            .into_iter()
            .take(extra)
            .map(|(pod, node)| delete(pod, node, DeleteReason::RollingUpdateShouldNotRun)),
    );
    let requeue_after = (waiting_for_available && snap.min_ready_seconds > 0)
        .then(|| Duration::from_secs(u64::from(snap.min_ready_seconds.unsigned_abs())));
    Ok(RollingPlan {
        budget,
        creates,
        deletes,
        requeue_after,
    })
}
