//! The scheduler: binds pending `default-scheduler` pods through `pods/binding`, reports unschedulable pods, preempts.
//!
//! Deciding lives in [`filter`] (upstream's filters, scores and messages) and [`preempt`]
//! (victim selection); this file only keeps caches from watches, runs a scheduling pass when
//! something that could change a decision happens, and carries the decisions out.

pub mod filter;
pub mod preempt;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use everynode_core::keys::{
    CONDITION_FALSE, DEFAULT_SCHEDULER_NAME, EVENT_TYPE_NORMAL, EVENT_TYPE_WARNING, POD_SCHEDULED,
};
use everynode_core::pod::{is_pod_terminal, pod_condition};
use futures::FutureExt;
use futures::stream::{self, StreamExt};
use k8s_openapi::api::core::v1::{Binding, Node, ObjectReference, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, DeleteParams, PostParams};
use serde_json::json;
use tokio::time::Instant;

use self::filter::{
    Failure, NodeUsage, allocatable, filter_node, fit_error_message, least_allocated_score,
};
use self::preempt::{NodeCandidate, Placed, preempt};
use crate::api::{is_not_found, patch_pod_status, pod_reference, record_event};
use crate::consts::{
    COMPONENT_SCHEDULER, EVENT_FAILED_SCHEDULING, EVENT_PREEMPTED, EVENT_SCHEDULED, PREEMPT_NEVER,
    REASON_UNSCHEDULABLE, SYSTEM_CLUSTER_CRITICAL, SYSTEM_CLUSTER_CRITICAL_PRIORITY,
    SYSTEM_NODE_CRITICAL, SYSTEM_NODE_CRITICAL_PRIORITY,
};
use crate::timers::{Timers, sleep_until};
use crate::watch::{Change, Shared, SyncTracker, changes, key_of};

/// How many API writes the scheduler keeps in flight at once.
const WRITE_CONCURRENCY: usize = 32;
/// Retry delay after a failed API write (a transient error, not a scheduling failure).
const WRITE_RETRY: Duration = Duration::from_secs(1);

/// Errors of the scheduler.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// A binding, status, event or victim deletion could not be written; retried shortly.
    #[error("failed to carry out the scheduling decision for pod {pod}: {source}")]
    Write {
        /// `namespace/name`.
        pod: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Upstream `corev1helpers.PodPriority` plus the Priority admission plugin, which this API
/// server does not run: `spec.priority`, else the named class, else the global default class.
pub fn resolve_priority(pod: &Pod, classes: &HashMap<String, (i32, bool)>) -> i32 {
    let spec = pod.spec.as_ref();
    if let Some(p) = spec.and_then(|s| s.priority) {
        return p;
    }
    match spec
        .and_then(|s| s.priority_class_name.as_deref())
        .filter(|n| !n.is_empty())
    {
        Some(name) => classes.get(name).map(|c| c.0).unwrap_or(match name {
            SYSTEM_NODE_CRITICAL => SYSTEM_NODE_CRITICAL_PRIORITY,
            SYSTEM_CLUSTER_CRITICAL => SYSTEM_CLUSTER_CRITICAL_PRIORITY,
            _ => 0,
        }),
        None => classes
            .values()
            .filter(|c| c.1)
            .map(|c| c.0)
            .max()
            .unwrap_or(0),
    }
}

/// Whether this scheduler should place the pod: unbound, ours, not gated, alive.
pub fn needs_scheduling(pod: &Pod) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    spec.node_name.as_deref().unwrap_or_default().is_empty()
        && spec
            .scheduler_name
            .as_deref()
            .unwrap_or(DEFAULT_SCHEDULER_NAME)
            == DEFAULT_SCHEDULER_NAME
        && spec
            .scheduling_gates
            .as_deref()
            .unwrap_or_default()
            .is_empty()
        && pod.metadata.deletion_timestamp.is_none()
        && !is_pod_terminal(pod)
}

/// Whether a node change could make an unschedulable pod fit (labels, taints, cordon,
/// allocatable); heartbeat-only status writes cannot.
fn node_changed_for_scheduling(old: &Node, new: &Node) -> bool {
    let spec = |n: &Node| {
        n.spec
            .as_ref()
            .map(|s| (s.taints.clone(), s.unschedulable))
            .unwrap_or_default()
    };
    old.metadata.labels != new.metadata.labels
        || spec(old) != spec(new)
        || allocatable(old) != allocatable(new)
}

/// What one pass decided for one pod.
enum Decision {
    Bind {
        node: String,
    },
    Unschedulable {
        message: String,
        preemption: Option<(String, Vec<String>)>,
    },
}

enum Input {
    Node(Change<Node>),
    Pod(Change<Pod>),
    Class(Change<PriorityClass>),
}

struct Scheduler {
    client: Client,
    nodes: BTreeMap<String, Arc<Node>>,
    pods: HashMap<String, Arc<Pod>>,
    classes: HashMap<String, (i32, bool)>,
    /// Pods to try in the next pass.
    queue: BTreeSet<String>,
    /// Pods that failed and wait for a node or pod change.
    unschedulable: BTreeSet<String>,
    /// Pods bound by us whose binding the watch has not shown yet: pod key → node.
    assumed: HashMap<String, String>,
    retries: Timers<String>,
}

/// Runs the scheduler until the task is aborted; `synced` fires once its caches are filled.
pub(crate) async fn run(client: Client, shared: Shared, synced: tokio::sync::oneshot::Sender<()>) {
    let inputs = stream::select_all([
        shared.nodes.map(Input::Node).boxed(),
        shared.pods.map(Input::Pod).boxed(),
        changes(Api::<PriorityClass>::all(client.clone()))
            .map(Input::Class)
            .boxed(),
    ]);
    let mut inputs = inputs;
    let mut tracker = SyncTracker::new(3, synced);
    let mut s = Scheduler {
        client,
        nodes: BTreeMap::new(),
        pods: HashMap::new(),
        classes: HashMap::new(),
        queue: BTreeSet::new(),
        unschedulable: BTreeSet::new(),
        assumed: HashMap::new(),
        retries: Timers::default(),
    };
    loop {
        tokio::select! {
            input = inputs.next() => {
                let Some(input) = input else { return };
                s.handle(input, &mut tracker);
                // Drain whatever else is ready so one pass covers a burst of changes.
                while let Some(Some(input)) = inputs.next().now_or_never() {
                    s.handle(input, &mut tracker);
                }
            }
            () = sleep_until(s.retries.next_due()) => {
                for key in s.retries.pop_due(Instant::now()) {
                    s.queue.insert(key);
                }
            }
        }
        if tracker.is_synced() && !s.queue.is_empty() {
            s.pass().await;
        }
    }
}

impl Scheduler {
    fn requeue_unschedulable(&mut self) {
        self.queue.append(&mut self.unschedulable);
    }

    fn handle(&mut self, input: Input, tracker: &mut SyncTracker) {
        match input {
            Input::Node(Change::Upsert(node)) => {
                let name = node.metadata.name.clone().unwrap_or_default();
                let changed = self
                    .nodes
                    .get(&name)
                    .is_none_or(|old| node_changed_for_scheduling(old, &node));
                self.nodes.insert(name, node);
                if changed {
                    self.requeue_unschedulable();
                }
            }
            Input::Node(Change::Removed(name)) => {
                self.nodes.remove(&name);
            }
            Input::Node(Change::Synced) => {
                tracker.synced(0);
            }
            Input::Pod(Change::Upsert(pod)) => {
                let key = key_of(pod.as_ref());
                let old = self.pods.get(&key);
                let freed = old.is_some_and(|o| !is_pod_terminal(o)) && is_pod_terminal(&pod);
                if needs_scheduling(&pod) {
                    // Our own status write on an unschedulable pod must not retry it forever:
                    // only a spec or label change re-queues it.
                    let same = old.is_some_and(|o| {
                        o.spec == pod.spec && o.metadata.labels == pod.metadata.labels
                    });
                    if !(same && self.unschedulable.contains(&key)) {
                        self.unschedulable.remove(&key);
                        self.queue.insert(key.clone());
                    }
                } else {
                    self.queue.remove(&key);
                    self.unschedulable.remove(&key);
                    self.assumed.remove(&key);
                }
                self.pods.insert(key, pod);
                if freed {
                    self.requeue_unschedulable();
                }
            }
            Input::Pod(Change::Removed(key)) => {
                self.pods.remove(&key);
                self.queue.remove(&key);
                self.unschedulable.remove(&key);
                self.assumed.remove(&key);
                self.requeue_unschedulable();
            }
            Input::Pod(Change::Synced) => {
                tracker.synced(1);
            }
            Input::Class(Change::Upsert(class)) => {
                let name = class.metadata.name.clone().unwrap_or_default();
                self.classes
                    .insert(name, (class.value, class.global_default.unwrap_or(false)));
            }
            Input::Class(Change::Removed(name)) => {
                self.classes.remove(&name);
            }
            Input::Class(Change::Synced) => {
                tracker.synced(2);
            }
        }
    }

    fn node_of<'a>(&'a self, key: &str, pod: &'a Pod) -> Option<&'a str> {
        self.assumed
            .get(key)
            .map(String::as_str)
            .or_else(|| pod.spec.as_ref()?.node_name.as_deref())
            .filter(|n| !n.is_empty())
    }

    fn usage(&self) -> HashMap<String, NodeUsage> {
        let mut usage: HashMap<String, NodeUsage> = HashMap::new();
        for (key, pod) in &self.pods {
            if is_pod_terminal(pod) {
                continue;
            }
            if let (Some(node), Some(spec)) = (self.node_of(key, pod), pod.spec.as_ref()) {
                usage.entry(node.to_string()).or_default().add_pod(spec);
            }
        }
        usage
    }

    /// One scheduling pass over the queue: decide every pod against the cache (accounting the
    /// pods decided before it), then write the bindings and failures concurrently.
    async fn pass(&mut self) {
        let mut usage = self.usage();
        let mut keys: Vec<(i32, String)> = std::mem::take(&mut self.queue)
            .into_iter()
            .filter_map(|k| {
                let pod = self.pods.get(&k)?;
                needs_scheduling(pod).then(|| (resolve_priority(pod, &self.classes), k))
            })
            .collect();
        // Upstream's PrioritySort: higher priority first, then older first (key for ties).
        keys.sort_by(|a, b| {
            let created = |k: &String| {
                self.pods
                    .get(k)
                    .and_then(|p| p.metadata.creation_timestamp.clone())
            };
            b.0.cmp(&a.0)
                .then_with(|| created(&a.1).cmp(&created(&b.1)))
                .then_with(|| a.1.cmp(&b.1))
        });
        let mut decisions = Vec::with_capacity(keys.len());
        for (priority, key) in keys {
            let Some(pod) = self.pods.get(&key) else {
                continue;
            };
            let decision = self.decide(pod, priority, &usage);
            if let Decision::Bind { node } = &decision {
                if let Some(spec) = pod.spec.as_ref() {
                    usage.entry(node.clone()).or_default().add_pod(spec);
                }
                self.assumed.insert(key.clone(), node.clone());
            }
            decisions.push((key, decision));
        }
        let writes = decisions.into_iter().filter_map(|(key, decision)| {
            let pod = self.pods.get(&key)?.clone();
            let client = self.client.clone();
            Some(async move {
                let ok = execute(&client, &pod, decision).await;
                (key, ok)
            })
        });
        let results: Vec<(String, Result<bool, kube::Error>)> = stream::iter(writes)
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        for (key, result) in results {
            match result {
                Ok(true) => {}
                Ok(false) => {
                    self.assumed.remove(&key);
                    self.unschedulable.insert(key);
                }
                Err(source) => {
                    let error = SchedulerError::Write {
                        pod: key.clone(),
                        source,
                    };
                    tracing::warn!(%error, "retrying");
                    self.assumed.remove(&key);
                    self.retries.push(Instant::now() + WRITE_RETRY, key);
                }
            }
        }
    }

    fn decide(&self, pod: &Pod, priority: i32, usage: &HashMap<String, NodeUsage>) -> Decision {
        let empty = NodeUsage::default();
        let usage_of = |n: &str| usage.get(n).unwrap_or(&empty);
        // DaemonSet pods name their node in required matchFields: try that node first so a
        // thousand such pods do not each scan a thousand nodes.
        if let Ok(target) = everynode_core::affinity::get_target_node_name(pod)
            && let Some(node) = self.nodes.get(&target)
            && filter_node(pod, node, usage_of(&target)).is_ok()
        {
            return Decision::Bind { node: target };
        }
        let mut best: Option<(i64, i64, &str)> = None;
        let mut failures: Vec<(&str, Failure)> = Vec::new();
        let spec = pod.spec.clone().unwrap_or_default();
        for (name, node) in &self.nodes {
            let u = usage_of(name);
            match filter_node(pod, node, u) {
                Ok(()) => {
                    let score = least_allocated_score(&spec, &allocatable(node), u);
                    // Highest score, then fewest pods, then name: deterministic, and spreading.
                    let rank = (score, -u.requested.pods, name.as_str());
                    let better = best.is_none_or(|b| (rank.0, rank.1) > (b.0, b.1));
                    if better {
                        best = Some(rank);
                    }
                }
                Err(f) => failures.push((name.as_str(), f)),
            }
        }
        if let Some((_, _, node)) = best {
            return Decision::Bind {
                node: node.to_string(),
            };
        }
        let fit = fit_error_message(self.nodes.len(), failures.iter().map(|(_, f)| f));
        let policy = spec.preemption_policy.as_deref().unwrap_or_default();
        if policy == PREEMPT_NEVER {
            return Decision::Unschedulable {
                message: format!("{fit} preemption: not eligible due to preemptionPolicy=Never.."),
                preemption: None,
            };
        }
        if self.preemption_in_progress(pod, priority) {
            return Decision::Unschedulable {
                message: fit,
                preemption: None,
            };
        }
        let pods_by_node = self.pods_by_node();
        let candidates: Vec<NodeCandidate<'_>> = failures
            .iter()
            .map(|(name, failure)| NodeCandidate {
                name,
                failure,
                allocatable: self
                    .nodes
                    .get(*name)
                    .map(|node| allocatable(node))
                    .unwrap_or_default(),
                pods: pods_by_node.get(*name).cloned().unwrap_or_default(),
            })
            .collect();
        match preempt(&spec, priority, self.nodes.len(), &candidates) {
            Ok(p) => Decision::Unschedulable {
                message: fit,
                preemption: Some((p.node, p.victims)),
            },
            // Upstream `FitError.Error()` appends the PostFilter message with `" %v."`.
            Err(post) => Decision::Unschedulable {
                message: format!("{fit} {post}."),
                preemption: None,
            },
        }
    }

    fn pods_by_node(&self) -> HashMap<&str, Vec<Placed<'_>>> {
        let mut out: HashMap<&str, Vec<Placed<'_>>> = HashMap::new();
        for (key, pod) in &self.pods {
            if is_pod_terminal(pod) {
                continue;
            }
            if let (Some(node), Some(spec)) = (self.node_of(key, pod), pod.spec.as_ref()) {
                out.entry(node).or_default().push(Placed {
                    key,
                    priority: resolve_priority(pod, &self.classes),
                    spec,
                });
            }
        }
        out
    }

    /// Upstream `PodEligibleToPreemptOthers`: a pod already nominated to a node where
    /// lower-priority pods are terminating waits for them instead of preempting again.
    fn preemption_in_progress(&self, pod: &Pod, priority: i32) -> bool {
        let Some(nominated) = pod
            .status
            .as_ref()
            .and_then(|s| s.nominated_node_name.as_deref())
            .filter(|n| !n.is_empty())
        else {
            return false;
        };
        self.pods.iter().any(|(key, p)| {
            self.node_of(key, p) == Some(nominated)
                && p.metadata.deletion_timestamp.is_some()
                && resolve_priority(p, &self.classes) < priority
        })
    }
}

/// Carries out one decision. `Ok(true)` when bound, `Ok(false)` when the pod stays pending.
async fn execute(client: &Client, pod: &Pod, decision: Decision) -> Result<bool, kube::Error> {
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    match decision {
        Decision::Bind { node } => {
            let binding = Binding {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(namespace.clone()),
                    uid: pod.metadata.uid.clone(),
                    ..ObjectMeta::default()
                },
                target: ObjectReference {
                    api_version: Some("v1".to_string()),
                    kind: Some("Node".to_string()),
                    name: Some(node.clone()),
                    ..ObjectReference::default()
                },
            };
            let request = Api::<Pod>::namespaced(client.clone(), &namespace);
            match request
                .create_subresource::<Binding, serde_json::Value>(
                    "binding",
                    &name,
                    &PostParams::default(),
                    &binding,
                )
                .await
            {
                Ok(_) => {}
                // Already bound, being deleted or gone: the watch tells the rest.
                Err(kube::Error::Api(s)) if s.code == 409 || s.code == 404 => return Ok(true),
                Err(e) => {
                    return Err(e);
                }
            }
            let message = format!("Successfully assigned {namespace}/{name} to {node}");
            if let Err(error) = record_event(
                client,
                pod_reference(pod),
                EVENT_TYPE_NORMAL,
                EVENT_SCHEDULED,
                &message,
                COMPONENT_SCHEDULER,
            )
            .await
            {
                tracing::debug!(%error, "failed to record Scheduled event");
            }
            Ok(true)
        }
        Decision::Unschedulable {
            message,
            preemption,
        } => {
            if let Some((node, victims)) = &preemption {
                preempt_victims(client, pod, node, victims).await?;
            }
            let current = pod_condition(pod.status.as_ref(), POD_SCHEDULED);
            let unchanged = current.is_some_and(|c| {
                c.status == CONDITION_FALSE
                    && c.reason.as_deref() == Some(REASON_UNSCHEDULABLE)
                    && c.message.as_deref() == Some(message.as_str())
            });
            if !unchanged {
                let now = everynode_core::duration::format_rfc3339(jiff::Timestamp::now());
                let conditions = crate::api::conditions_with(
                    pod,
                    json!({
                        "type": POD_SCHEDULED, "status": CONDITION_FALSE, "reason": REASON_UNSCHEDULABLE,
                        "message": message, "lastProbeTime": null, "lastTransitionTime": now,
                    }),
                );
                let mut status = json!({"conditions": conditions});
                if let Some((node, _)) = &preemption {
                    status["nominatedNodeName"] = json!(node);
                }
                match patch_pod_status(client, &namespace, &name, &json!({"status": status})).await
                {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) => return Ok(false),
                    Err(e) => return Err(e),
                }
                if let Err(error) = record_event(
                    client,
                    pod_reference(pod),
                    EVENT_TYPE_WARNING,
                    EVENT_FAILED_SCHEDULING,
                    &message,
                    COMPONENT_SCHEDULER,
                )
                .await
                {
                    tracing::debug!(%error, "failed to record FailedScheduling event");
                }
            }
            Ok(false)
        }
    }
}

/// Deletes the victims (default grace, as upstream's `PrepareCandidate`), with an event on each.
async fn preempt_victims(
    client: &Client,
    preemptor: &Pod,
    node: &str,
    victims: &[String],
) -> Result<(), kube::Error> {
    for victim in victims {
        let Some((namespace, name)) = victim.split_once('/') else {
            continue;
        };
        let api = Api::<Pod>::namespaced(client.clone(), namespace);
        match api.delete(name, &DeleteParams::default()).await {
            Ok(either) => {
                if let Some(pod) = either.left() {
                    let message = format!(
                        "Preempted by pod {} on node {node}",
                        preemptor.metadata.uid.as_deref().unwrap_or_default()
                    );
                    let _ = record_event(
                        client,
                        pod_reference(&pod),
                        EVENT_TYPE_NORMAL,
                        EVENT_PREEMPTED,
                        &message,
                        COMPONENT_SCHEDULER,
                    )
                    .await;
                }
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap_or_default()
    }

    #[test]
    fn priority_resolution_order() {
        let mut classes = HashMap::new();
        classes.insert("high".to_string(), (1000, false));
        classes.insert("default".to_string(), (7, true));
        let cases = [
            (
                json!({"spec": {"containers": [], "priority": 5, "priorityClassName": "high"}}),
                5,
            ),
            (
                json!({"spec": {"containers": [], "priorityClassName": "high"}}),
                1000,
            ),
            (
                json!({"spec": {"containers": [], "priorityClassName": SYSTEM_NODE_CRITICAL}}),
                SYSTEM_NODE_CRITICAL_PRIORITY,
            ),
            (json!({"spec": {"containers": []}}), 7),
        ];
        for (p, want) in cases {
            assert_eq!(resolve_priority(&pod(p.clone()), &classes), want, "{p}");
        }
    }

    #[test]
    fn needs_scheduling_only_unbound_default_scheduler_pods() {
        let cases = [
            (json!({"spec": {"containers": []}}), true),
            (json!({"spec": {"containers": [], "nodeName": "n"}}), false),
            (
                json!({"spec": {"containers": [], "schedulerName": "other"}}),
                false,
            ),
            (
                json!({"spec": {"containers": [], "schedulingGates": [{"name": "g"}]}}),
                false,
            ),
            (
                json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "spec": {"containers": []}}),
                false,
            ),
            (
                json!({"spec": {"containers": []}, "status": {"phase": "Succeeded"}}),
                false,
            ),
        ];
        for (p, want) in cases {
            assert_eq!(needs_scheduling(&pod(p.clone())), want, "{p}");
        }
    }
}
