//! An invariant monitor for DaemonSet rollouts: watches the pods and nodes and records every
//! moment the rolling-update budget is broken (spec daemonset.md §2.4, §2.5, §5.4 #6–#8).
//!
//! The monitor is an oracle independent of the controller: it recomputes availability itself
//! (Ready condition plus minReadySeconds, upstream `podutil.IsPodAvailable`) from the watch
//! stream, which is ordered by resourceVersion, so each evaluation sees one consistent state.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use kube::runtime::watcher::{self, Event};

/// The bounds a rollout must stay within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most desired nodes allowed without an available daemon pod at any moment.
    pub max_unavailable: usize,
    /// Most nodes allowed to run an old and a new pod at once (0: no surge).
    pub max_surge: usize,
    /// The DaemonSet's `minReadySeconds` (a pod is available this long after turning Ready).
    pub min_ready_seconds: i64,
}

/// Most violations kept; one broken invariant tends to repeat on every event.
const MAX_VIOLATIONS: usize = 50;

#[derive(Default)]
struct State {
    pods: BTreeMap<String, Pod>,
    nodes: BTreeSet<String>,
    pods_synced: bool,
    nodes_synced: bool,
    violations: Vec<String>,
    /// UIDs of pods seen terminating or deleted.
    deleted: BTreeSet<String>,
    /// Nodes seen with two active pods at once.
    surged: BTreeSet<String>,
    /// Nodes that have had an available pod since the monitor started (or since a fault the
    /// test injected there): only these count against maxUnavailable, since a node that just
    /// joined or whose pod the test broke is unavailable through no decision of the rollout.
    established: BTreeSet<String>,
    /// Pods the test deletes on purpose (see [`Monitor::fault`]).
    faulted: BTreeSet<String>,
    events: usize,
}

/// A running monitor; stops watching when dropped.
pub struct Monitor {
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

enum Update {
    Pod(Box<Event<Pod>>),
    Node(Box<Event<Node>>),
}

impl Monitor {
    /// Starts watching the pods matching `selector` in `namespace`, and every node; returns
    /// once both initial lists are in, so nothing the caller does next is missed.
    pub async fn start(
        client: kube::Client,
        namespace: &str,
        selector: &str,
        limits: Limits,
    ) -> Monitor {
        let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
        let nodes: Api<Node> = Api::all(client);
        let pod_events = watcher::watcher(pods, watcher::Config::default().labels(selector))
            .map(|e| e.map(|e| Update::Pod(Box::new(e))));
        let node_events = watcher::watcher(nodes, watcher::Config::default())
            .map(|e| e.map(|e| Update::Node(Box::new(e))));
        let mut stream = Box::pin(futures::stream::select(pod_events, node_events));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Some(update) = stream.next().await {
                // Watch errors are retried by the next poll of the watcher.
                let Ok(update) = update else { continue };
                let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
                state.apply(update);
                if state.pods_synced && state.nodes_synced {
                    state.check(limits, Timestamp::now());
                }
            }
        });
        let monitor = Monitor { state, task };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            {
                let state = monitor.lock();
                if state.pods_synced && state.nodes_synced {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the monitor's watches did not sync"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        monitor
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every violation seen so far.
    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    /// UIDs of every pod seen terminating or deleted.
    pub fn deleted(&self) -> BTreeSet<String> {
        self.lock().deleted.clone()
    }

    /// Nodes seen running two active daemon pods at once (surge in action).
    pub fn surged_nodes(&self) -> BTreeSet<String> {
        self.lock().surged.clone()
    }

    /// Declares that the test is about to delete the pod `uid`: once the watch shows it going,
    /// its node stops counting against maxUnavailable until it has an available pod again.
    /// (Keyed by pod, not node, because the watch may still be delivering older events.)
    pub fn fault(&self, uid: &str) {
        self.lock().faulted.insert(uid.to_string());
    }

    /// Fails the test listing every violation.
    #[track_caller]
    pub fn assert_clean(&self) {
        let state = self.lock();
        assert!(
            state.violations.is_empty(),
            "rollout invariants violated ({} events seen):\n{}",
            state.events,
            state.violations.join("\n")
        );
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl State {
    fn apply(&mut self, update: Update) {
        self.events += 1;
        match update {
            Update::Pod(event) => match *event {
                Event::Init => self.pods.clear(),
                Event::InitDone => self.pods_synced = true,
                Event::InitApply(pod) | Event::Apply(pod) => {
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    if pod.metadata.deletion_timestamp.is_some() {
                        self.gone(&pod);
                    }
                    self.pods.insert(uid, pod);
                }
                Event::Delete(pod) => {
                    self.gone(&pod);
                    self.pods
                        .remove(pod.metadata.uid.as_deref().unwrap_or_default());
                }
            },
            Update::Node(event) => match *event {
                Event::Init => self.nodes.clear(),
                Event::InitDone => self.nodes_synced = true,
                Event::InitApply(node) | Event::Apply(node) => {
                    self.nodes
                        .insert(node.metadata.name.clone().unwrap_or_default());
                }
                Event::Delete(node) => {
                    let name = node.metadata.name.as_deref().unwrap_or_default();
                    self.nodes.remove(name);
                    self.established.remove(name);
                }
            },
        }
    }

    /// A pod is terminating or deleted.
    fn gone(&mut self, pod: &Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if self.faulted.contains(&uid) {
            self.established.remove(target_node(pod));
        }
        self.deleted.insert(uid);
    }

    /// Evaluates the budget invariants on the current state.
    fn check(&mut self, limits: Limits, now: Timestamp) {
        let mut by_node: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
        for pod in self.pods.values().filter(|p| is_active(p)) {
            by_node.entry(target_node(pod)).or_default().push(pod);
        }
        let mut found = Vec::new();
        // spec §2.4 / e2e #6: desired nodes without an available pod stay within maxUnavailable.
        let mut unavailable = Vec::new();
        for node in &self.nodes {
            let available = by_node.get(node.as_str()).is_some_and(|pods| {
                pods.iter()
                    .any(|p| is_available(p, limits.min_ready_seconds, now))
            });
            if available {
                self.established.insert(node.clone());
            } else if self.established.contains(node) {
                unavailable.push(node.clone());
            }
        }
        if unavailable.len() > limits.max_unavailable {
            found.push(format!(
                "{} nodes without an available pod (maxUnavailable {}): {unavailable:?}",
                unavailable.len(),
                limits.max_unavailable
            ));
        }
        // spec §2.5 / e2e #8: at most one pod per revision and two in all on a node, and at
        // most maxSurge nodes surging.
        let mut surging = Vec::new();
        for (node, pods) in &by_node {
            let hashes: BTreeSet<&str> = pods.iter().map(|p| hash_of(p)).collect();
            if pods.len() > 2 || hashes.len() < pods.len() {
                found.push(format!(
                    "node {node} runs {} active pods: {:?}",
                    pods.len(),
                    pods.iter().map(|p| describe(p)).collect::<Vec<_>>()
                ));
            }
            if pods.len() >= 2 {
                surging.push(node.to_string());
            }
        }
        if surging.len() > limits.max_surge {
            found.push(format!(
                "{} nodes surging (maxSurge {}): {surging:?}",
                surging.len(),
                limits.max_surge
            ));
        }
        self.surged.extend(surging);
        for v in found {
            if self.violations.len() < MAX_VIOLATIONS {
                self.violations.push(format!("at {now}: {v}"));
            }
        }
    }
}

/// The node a daemon pod runs on, or before binding the node its affinity pins it to (daemon
/// pods carry a `metadata.name` matchFields term, spec §1.8 K2).
fn target_node(pod: &Pod) -> &str {
    let Some(spec) = pod.spec.as_ref() else {
        return "";
    };
    if let Some(node) = spec.node_name.as_deref() {
        return node;
    }
    spec.affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .and_then(|r| {
            r.node_selector_terms
                .iter()
                .flat_map(|t| t.match_fields.iter().flatten())
                .find(|f| f.key == "metadata.name")
        })
        .and_then(|f| f.values.as_ref()?.first())
        .map(String::as_str)
        .unwrap_or_default()
}

/// Upstream `controller.IsPodActive`: not terminating, not finished.
fn is_active(pod: &Pod) -> bool {
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default();
    pod.metadata.deletion_timestamp.is_none() && phase != "Succeeded" && phase != "Failed"
}

/// Upstream `podutil.IsPodAvailable`: Ready for at least `min_ready_seconds`.
pub fn is_available(pod: &Pod, min_ready_seconds: i64, now: Timestamp) -> bool {
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    let Some(ready) = ready.filter(|c| c.status == "True") else {
        return false;
    };
    if min_ready_seconds == 0 {
        return true;
    }
    ready.last_transition_time.as_ref().is_some_and(|t| {
        t.0.checked_add(SignedDuration::from_secs(min_ready_seconds))
            .is_ok_and(|at| at <= now)
    })
}

fn hash_of(pod: &Pod) -> &str {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("controller-revision-hash"))
        .map(String::as_str)
        .unwrap_or_default()
}

fn describe(pod: &Pod) -> String {
    format!(
        "{} (hash {})",
        pod.metadata.name.as_deref().unwrap_or_default(),
        hash_of(pod)
    )
}
