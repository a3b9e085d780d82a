//! The ReplicaSet planner: one sync of upstream `pkg/controller/replicaset/replica_set.go` as a pure function from (ReplicaSet, namespace pods, now) to adoptions, releases, creates, deletes and status.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use everynode_core::labels::Selector;
use everynode_core::pod::{
    controller_ref, is_pod_active, is_pod_available, is_pod_ready, pod_phase, pod_ready_condition,
};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::Pod;

/// Upstream `BurstReplicas`: at most this many creates or deletes per sync.
pub const BURST_REPLICAS: usize = 500;
/// Annotation ordering pods for scale-down (upstream `PodDeletionCost`).
pub const POD_DELETION_COST_ANNOTATION: &str = "controller.kubernetes.io/pod-deletion-cost";

/// What one sync of a ReplicaSet should do.
#[derive(Debug, Default, PartialEq)]
pub struct RsPlan {
    /// Orphan pods matching the selector to adopt (upstream `ClaimPods`).
    pub adopt: Vec<String>,
    /// Owned pods that no longer match the selector, to release.
    pub release: Vec<String>,
    /// Pods to create from the template.
    pub create: usize,
    /// Pods to delete, in upstream's deletion order.
    pub delete: Vec<String>,
    /// The status the ReplicaSet should have.
    pub status: ReplicaSetStatus,
    /// Sync again after this long (pods becoming available after minReadySeconds).
    pub requeue_after: Option<Duration>,
}

/// Plans one sync. `manage` is false while expectations are outstanding: then only claiming and
/// status happen, as upstream skips `manageReplicas` until its cache caught up.
pub fn plan(rs: &ReplicaSet, namespace_pods: &[Arc<Pod>], now: Timestamp, manage: bool) -> RsPlan {
    let mut out = RsPlan::default();
    let uid = rs.metadata.uid.as_deref().unwrap_or_default();
    let spec = rs.spec.clone().unwrap_or_default();
    let deleting = rs.metadata.deletion_timestamp.is_some();
    // A selector that does not parse selects nothing (validation rejects it anyway).
    let selector =
        Selector::from_label_selector(Some(&spec.selector)).unwrap_or_else(|_| Selector::nothing());
    let mut owned: Vec<&Pod> = Vec::new();
    for pod in namespace_pods
        .iter()
        .map(Arc::as_ref)
        .filter(|p| is_pod_active(p))
    {
        let matches = !selector.is_empty() && selector.matches_opt(pod.metadata.labels.as_ref());
        match controller_ref(&pod.metadata) {
            Some(owner) if owner.uid == uid => {
                if matches {
                    owned.push(pod);
                } else if !deleting {
                    out.release.push(name(pod));
                }
            }
            Some(_) => {}
            // An orphan is adopted only by a live ReplicaSet (upstream `RecheckDeletionTimestamp`).
            None if matches && !deleting && pod.metadata.deletion_timestamp.is_none() => {
                out.adopt.push(name(pod));
                owned.push(pod);
            }
            None => {}
        }
    }
    out.status = status(rs, &owned, now);
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    if min_ready > 0 && out.status.ready_replicas != out.status.available_replicas {
        out.requeue_after = Some(Duration::from_secs(u64::try_from(min_ready).unwrap_or(0)));
    }
    if !manage || deleting {
        return out;
    }
    let desired = usize::try_from(spec.replicas.unwrap_or(1)).unwrap_or(0);
    match owned.len().cmp(&desired) {
        Ordering::Less => out.create = (desired - owned.len()).min(BURST_REPLICAS),
        Ordering::Greater => {
            let count = (owned.len() - desired).min(BURST_REPLICAS);
            out.delete = pods_to_delete(&owned, count);
        }
        Ordering::Equal => {}
    }
    out
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

/// Upstream `calculateStatus`: counts over the active pods this ReplicaSet owns.
pub fn status(rs: &ReplicaSet, owned: &[&Pod], now: Timestamp) -> ReplicaSetStatus {
    let spec = rs.spec.clone().unwrap_or_default();
    let template_labels = spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let min_ready = spec.min_ready_seconds.unwrap_or(0);
    let count = |f: &dyn Fn(&Pod) -> bool| {
        i32::try_from(owned.iter().filter(|p| f(p)).count()).unwrap_or(i32::MAX)
    };
    let fully_labeled = count(&|p: &Pod| {
        let labels = p.metadata.labels.clone().unwrap_or_default();
        template_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
    });
    let old = rs.status.clone().unwrap_or_default();
    // The counters other than `replicas` are `omitempty` upstream: a zero is left out.
    let nz = |n: i32| (n != 0).then_some(n);
    ReplicaSetStatus {
        replicas: i32::try_from(owned.len()).unwrap_or(i32::MAX),
        fully_labeled_replicas: nz(fully_labeled),
        ready_replicas: nz(count(&|p: &Pod| is_pod_ready(p))),
        available_replicas: nz(count(&|p: &Pod| is_pod_available(p, min_ready, now))),
        observed_generation: rs.metadata.generation,
        conditions: old.conditions,
        terminating_replicas: old.terminating_replicas,
    }
}

/// Upstream `getPodsToDelete`: the `count` pods ranked first by `ActivePodsWithRanks`, where a
/// pod's rank is how many of the owned pods share its node (doubled-up pods go first).
pub fn pods_to_delete(owned: &[&Pod], count: usize) -> Vec<String> {
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for pod in owned {
        if let Some(node) = node_of(pod) {
            *per_node.entry(node).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&Pod, usize)> = owned
        .iter()
        .map(|p| {
            (
                *p,
                node_of(p).map_or(0, |n| per_node.get(n).copied().unwrap_or(0)),
            )
        })
        .collect();
    ranked.sort_by(deletion_order);
    ranked
        .into_iter()
        .take(count)
        .map(|(p, _)| name(p))
        .collect()
}

fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

/// Upstream `ActivePodsWithRanks.Less`: `Less` means "delete first".
fn deletion_order((a, rank_a): &(&Pod, usize), (b, rank_b): &(&Pod, usize)) -> Ordering {
    // 1. Unassigned before assigned.
    let assigned = |p: &Pod| node_of(p).is_some();
    // 2. Pending before Unknown before Running.
    let phase = |p: &Pod| match pod_phase(p) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 0,
    };
    let cost = |p: &Pod| {
        p.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(POD_DELETION_COST_ANNOTATION))
            .and_then(|v| v.parse::<i32>().ok())
            .unwrap_or(0)
    };
    let ready_since =
        |p: &Pod| pod_ready_condition(p).and_then(|c| c.last_transition_time.as_ref().map(|t| t.0));
    let restarts = |p: &Pod| -> i32 {
        p.status
            .as_ref()
            .and_then(|s| s.container_statuses.as_ref())
            .map_or(0, |cs| {
                cs.iter().map(|c| c.restart_count).max().unwrap_or(0)
            })
    };
    let created = |p: &Pod| p.metadata.creation_timestamp.as_ref().map(|t| t.0);
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase(a).cmp(&phase(b)))
        // 3. Not ready before ready.
        .then_with(|| is_pod_ready(a).cmp(&is_pod_ready(b)))
        // 4. Lower deletion cost first.
        .then_with(|| cost(a).cmp(&cost(b)))
        // 5. More pods on the same node first.
        .then_with(|| rank_b.cmp(rank_a))
        // 6. Ready for less time first (both ready).
        .then_with(|| {
            if is_pod_ready(a) && is_pod_ready(b) {
                newer_first(ready_since(a), ready_since(b))
            } else {
                Ordering::Equal
            }
        })
        // 7. More restarts first.
        .then_with(|| restarts(b).cmp(&restarts(a)))
        // 8. Newer first (no timestamp counts as newest).
        .then_with(|| newer_first(created(a), created(b)))
}

/// Orders timestamps newest first, a missing one before any.
fn newer_first(a: Option<Timestamp>, b: Option<Timestamp>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => b.cmp(&a),
    }
}

/// The pod a ReplicaSet creates (upstream `GetPodFromTemplate`): the template's labels,
/// annotations, finalizers and spec, `generateName` `<rs>-`, and a controller ownerReference.
pub fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let rs_name = rs.metadata.name.clone().unwrap_or_default();
    let mut pod = Pod::default();
    pod.metadata.generate_name = Some(format!("{rs_name}-"));
    pod.metadata.namespace.clone_from(&rs.metadata.namespace);
    pod.metadata.labels = meta.labels.or_else(|| Some(BTreeMap::new()));
    pod.metadata.annotations = meta.annotations;
    pod.metadata.finalizers = meta.finalizers;
    pod.metadata.owner_references = Some(vec![controller_owner(
        "ReplicaSet",
        &rs_name,
        rs.metadata.uid.as_deref().unwrap_or_default(),
    )]);
    pod.spec = template.spec;
    pod
}

/// A controller ownerReference to an apps/v1 object (upstream `NewControllerRef`).
pub fn controller_owner(
    kind: &str,
    name: &str,
    uid: &str,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
        api_version: "apps/v1".to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        uid: uid.to_owned(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> Timestamp {
        "2024-05-01T12:00:00Z".parse().expect("valid")
    }

    fn rs(replicas: i32) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "ns", "uid": "rs-uid", "generation": 2},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
        }))
        .expect("valid rs")
    }

    fn pod(
        name: &str,
        owner: Option<&str>,
        node: Option<&str>,
        ready: bool,
        created: &str,
    ) -> Arc<Pod> {
        let owners = owner.map(|uid| json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": uid, "controller": true}]));
        let status = if ready { "True" } else { "False" };
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "ns", "labels": {"app": "web"}, "ownerReferences": owners, "creationTimestamp": created},
                "spec": {"nodeName": node, "containers": [{"name": "c"}]},
                "status": {"phase": if node.is_some() { "Running" } else { "Pending" },
                           "conditions": [{"type": "Ready", "status": status, "lastTransitionTime": created}]}
            }))
            .expect("valid pod"),
        )
    }

    #[test]
    fn creates_the_missing_pods_and_adopts_orphans() {
        let pods = vec![
            pod(
                "a",
                Some("rs-uid"),
                Some("n1"),
                true,
                "2024-05-01T11:00:00Z",
            ),
            pod("orphan", None, Some("n2"), true, "2024-05-01T11:00:00Z"),
            pod("other", Some("x"), Some("n2"), true, "2024-05-01T11:00:00Z"),
        ];
        let plan = plan(&rs(3), &pods, now(), true);
        assert_eq!(plan.adopt, vec!["orphan"]);
        assert_eq!(plan.create, 1);
        assert_eq!(plan.status.replicas, 2);
        assert_eq!(plan.status.ready_replicas, Some(2));
        assert_eq!(plan.status.available_replicas, Some(2));
        assert_eq!(plan.status.observed_generation, Some(2));
    }

    #[test]
    fn scale_down_deletes_unscheduled_then_not_ready_then_newest() {
        let pods = vec![
            pod(
                "old-ready",
                Some("rs-uid"),
                Some("n1"),
                true,
                "2024-05-01T10:00:00Z",
            ),
            pod(
                "new-ready",
                Some("rs-uid"),
                Some("n2"),
                true,
                "2024-05-01T11:00:00Z",
            ),
            pod(
                "not-ready",
                Some("rs-uid"),
                Some("n3"),
                false,
                "2024-05-01T09:00:00Z",
            ),
            pod(
                "unscheduled",
                Some("rs-uid"),
                None,
                false,
                "2024-05-01T08:00:00Z",
            ),
        ];
        let plan = plan(&rs(1), &pods, now(), true);
        assert_eq!(plan.delete, vec!["unscheduled", "not-ready", "new-ready"]);
    }

    #[test]
    fn outstanding_expectations_only_update_status() {
        let plan = plan(&rs(3), &[], now(), false);
        assert_eq!(plan.create, 0);
        assert_eq!(plan.status.replicas, 0);
    }

    #[test]
    fn ready_pods_within_min_ready_seconds_are_not_available_yet() {
        let mut set = rs(1);
        if let Some(spec) = set.spec.as_mut() {
            spec.min_ready_seconds = Some(30);
        }
        // Ready since 11:59:50, checked at 12:00:00: available at 12:00:20.
        let pods = vec![pod(
            "a",
            Some("rs-uid"),
            Some("n1"),
            true,
            "2024-05-01T11:59:50Z",
        )];
        let plan = plan(&set, &pods, now(), true);
        assert_eq!(plan.status.ready_replicas, Some(1));
        assert_eq!(plan.status.available_replicas, None);
        assert_eq!(plan.requeue_after, Some(Duration::from_secs(30)));
    }

    #[test]
    fn pods_that_stop_matching_are_released() {
        let mut changed = (*pod(
            "a",
            Some("rs-uid"),
            Some("n1"),
            true,
            "2024-05-01T11:00:00Z",
        ))
        .clone();
        changed.metadata.labels = Some([("app".to_owned(), "other".to_owned())].into());
        let plan = plan(&rs(0), &[Arc::new(changed)], now(), true);
        assert_eq!(plan.release, vec!["a"]);
    }
}
