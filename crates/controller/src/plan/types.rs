//! The vocabulary of a plan: objects to claim, pod deletions with their reasons, and controller events.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Why the planner deletes a pod; each variant names the rule that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeleteReason {
    /// Phase Failed, backoff window passed (spec §1.7 D2).
    Failed,
    /// Phase Succeeded (spec §1.7 D2).
    Succeeded,
    /// A second running pod on a non-surge node; the oldest is kept (spec §1.7 D2).
    Duplicate,
    /// Surge node: neither the oldest new nor the oldest old pod (spec §1.7 D2).
    SurgeExtra,
    /// Surge node: the old pod goes because it is not Ready or the new one is Available (D2).
    SurgeOldReplaced,
    /// The node no longer tolerates or selects the pod: untolerated NoExecute taint, nodeSelector
    /// or affinity mismatch, other template nodeName (spec §1.7 D3).
    ShouldNotContinueRunning,
    /// Never scheduled, for a node that is gone (spec §1.7 D5).
    UnscheduledOnMissingNode,
    /// Old pod replaced within maxUnavailable (spec §2.4).
    RollingUpdate,
    /// Old pod that is not Available: replaced outside the budget (spec §2.4, §2.5).
    RollingUpdateUnavailable,
    /// Surge: the new pod on this node is Available, the old one goes (spec §2.5).
    RollingUpdateSurgeDone,
    /// Surge: an Available old pod on a node that should no longer run the daemon, deleted while
    /// availability exceeds the desired count (spec §2.5).
    RollingUpdateShouldNotRun,
}

/// One pod to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodDelete {
    /// Pod name (namespace = the DaemonSet's).
    pub name: String,
    /// The node the pod is mapped to.
    pub node: String,
    /// Why.
    pub reason: DeleteReason,
}

/// A controller event to record on the DaemonSet (spec §0 "Event reasons").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanEvent {
    /// `Normal` or `Warning`.
    pub type_: &'static str,
    /// Upstream reason, e.g. `FailedDaemonPod`.
    pub reason: &'static str,
    /// Upstream message, exact.
    pub message: String,
}

/// The earlier of two optional re-queue delays.
pub(crate) fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// A pod or ControllerRevision to adopt or release: its name, and its uid as the caches knew
/// it, which the patch carries so that it fails if the object was replaced meanwhile (upstream
/// `ClaimObject`'s uid precondition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub name: String,
    pub uid: Option<String>,
}

impl Claim {
    pub fn of(meta: &ObjectMeta) -> Self {
        Claim {
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone(),
        }
    }
}
