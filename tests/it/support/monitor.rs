//! An invariant monitor for DaemonSet rollouts: watches the pods and nodes and records every
//! moment the rolling-update budget is broken (spec daemonset.md §2.4, §2.5, §5.4 #6–#8).
//!
//! The monitor is an oracle independent of the controller: it recomputes availability itself
//! (Ready condition plus minReadySeconds, upstream `podutil.IsPodAvailable`) from the watch
//! stream, which is ordered by resourceVersion, so each evaluation sees one consistent state.

mod decisions;

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
    /// Pods seen terminating, by UID: since when.
    terminating_since: BTreeMap<String, Timestamp>,
    /// How long each pod seen terminating took to go, by UID.
    terminations: BTreeMap<String, SignedDuration>,
    /// The DaemonSet's `minReadySeconds`.
    min_ready_seconds: i64,
    /// With [`Monitor::judge_surge_decisions`]: the maxSurge each decision is judged against.
    judged_max_surge: Option<usize>,
    /// When the monitor first saw each pod, by UID.
    first_seen: BTreeMap<String, Timestamp>,
    /// When the monitor first saw each pod Ready, by UID (while it stays so).
    ready_seen_since: BTreeMap<String, Timestamp>,
    /// Pods the initial list showed available, by UID (while they stay Ready).
    listed_available: BTreeSet<String>,
    /// Nodes that lost a pod the test broke, and until when that excuses their decisions.
    disturbed_until: BTreeMap<String, Timestamp>,
    /// Nodes the test removes (see [`Monitor::node_leaves`]).
    left_nodes: BTreeSet<String>,
    /// How many creations and deletions were judged (not skipped as unsettled or disturbed).
    judged: (usize, usize),
    /// Nodes seen with two active pods at once.
    surged: BTreeSet<String>,
    /// Nodes that have had an available pod since the monitor started (or since a fault the
    /// test injected there): only these count against maxUnavailable, since a node that just
    /// joined or whose pod the test broke is unavailable through no decision of the rollout.
    established: BTreeSet<String>,
    /// Pods the test deletes on purpose (see [`Monitor::fault`]).
    faulted: BTreeSet<String>,
    /// Pods the test forces unready on purpose (see [`Monitor::fault_unready`]).
    faulted_unready: BTreeSet<String>,
    /// With [`Monitor::track_versions`]: the hashes of the pods before the update ("old").
    old_hashes: Option<BTreeSet<String>>,
    /// Old pods seen running beside a new pod on their node, and since when.
    old_beside_new: BTreeMap<String, Timestamp>,
    events: usize,
}

/// Upstream `maxSurgeOverlap`: how long an old pod may run beside a new one (2× a 30 s grace).
const MAX_SURGE_OVERLAP: SignedDuration = SignedDuration::from_secs(60);

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
        let state = Arc::new(Mutex::new(State {
            min_ready_seconds: limits.min_ready_seconds,
            ..State::default()
        }));
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

    /// How long each pod seen terminating took to go, by UID.
    pub fn terminations(&self) -> BTreeMap<String, SignedDuration> {
        self.lock().terminations.clone()
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

    /// Declares that the test is about to force the pod `uid` unready or Failed: once the watch
    /// shows it so, its node stops counting against maxUnavailable and maxSurge until it has an
    /// available pod again (the controller may replace an unavailable old pod outside the
    /// budget, spec §2.5).
    pub fn fault_unready(&self, uid: &str) {
        self.lock().faulted_unready.insert(uid.to_string());
    }

    /// From now on judges each surge decision as the watch shows it (see the `decisions`
    /// module): use instead of the state bounds of [`Limits`] when templates change
    /// mid-rollout with maxSurge. Pods the monitor listed at start count as long available, so
    /// start it only once the controller has reported them (a finished rollout).
    pub fn judge_surge_decisions(&self, max_surge: usize) {
        self.lock().judged_max_surge = Some(max_surge);
    }

    /// How many surge creations and deletions were judged so far (the rest were not the
    /// controller's budgeted decisions, or came too soon after a change it may not have seen).
    pub fn judged(&self) -> (usize, usize) {
        self.lock().judged
    }

    /// Declares that the test is about to delete `node`: the pods its removal takes are not
    /// the rollout's decisions.
    pub fn node_leaves(&self, node: &str) {
        self.lock().left_nodes.insert(node.to_string());
    }

    /// Counts `node` against maxUnavailable from now on even though it has no available pod
    /// (upstream's rollback check counts every unavailable pod, whatever made it so).
    pub fn establish(&self, node: &str) {
        self.lock().established.insert(node.to_string());
    }

    /// Takes the hashes of the pods present now as the old version and from now on also checks
    /// upstream's surge invariants (e2e `testRollingUpdateWithSurge`, spec §5.4 #8): at most one
    /// terminating pod per node besides the ones the test deleted; no old pod beside a new one
    /// for longer than 60 s; new unavailable pods ≤ maxSurge + old unavailable + deliberately
    /// deleted new + nodes without an old pod; at most two versions; per node and version at
    /// most one running, two terminating and two in all.
    pub fn track_versions(&self) {
        let mut state = self.lock();
        let old = state
            .pods
            .values()
            .map(|p| hash_of(p).to_string())
            .collect();
        state.old_hashes = Some(old);
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
                Event::InitApply(pod) => self.store_pod(pod),
                Event::Apply(pod) => {
                    self.judge_update(&pod, false);
                    self.store_pod(pod);
                }
                Event::Delete(pod) => {
                    self.judge_update(&pod, true);
                    self.note_removal(&pod, Timestamp::now());
                    self.gone(&pod);
                    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
                    if let Some(since) = self.terminating_since.remove(uid) {
                        let took = Timestamp::now().duration_since(since);
                        self.terminations.insert(uid.to_string(), took);
                    }
                    self.first_seen.remove(uid);
                    self.ready_seen_since.remove(uid);
                    self.listed_available.remove(uid);
                    self.pods.remove(uid);
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

    fn store_pod(&mut self, pod: Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let now = Timestamp::now();
        if pod.metadata.deletion_timestamp.is_some() {
            self.gone(&pod);
        } else if self.faulted_unready.contains(&uid)
            && (!is_active(&pod) || !is_available(&pod, 0, now))
        {
            self.established.remove(target_node(&pod));
        }
        self.first_seen.entry(uid.clone()).or_insert(now);
        self.note_readiness(&pod, now);
        self.pods.insert(uid, pod);
    }

    /// With [`Monitor::judge_surge_decisions`], judges the creation or deletion an update
    /// (or with `removed`, the removal) of `pod` shows, against the state just before it.
    fn judge_update(&mut self, pod: &Pod, removed: bool) {
        let Some(max_surge) = self.judged_max_surge else {
            return;
        };
        if !(self.pods_synced && self.nodes_synced) {
            return;
        }
        let now = Timestamp::now();
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        match self.pods.get(uid) {
            None if pod.metadata.deletion_timestamp.is_none() => {
                self.judge_creation(pod, max_surge, now);
            }
            Some(before)
                if before.metadata.deletion_timestamp.is_none()
                    && (removed || pod.metadata.deletion_timestamp.is_some()) =>
            {
                let before = before.clone();
                self.judge_deletion(&before, now);
            }
            _ => {}
        }
    }

    fn violation(&mut self, now: Timestamp, what: String) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(format!("at {now}: {what}"));
        }
    }

    /// A pod is terminating or deleted.
    fn gone(&mut self, pod: &Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        if pod.metadata.deletion_timestamp.is_some() {
            self.terminating_since
                .entry(uid.clone())
                .or_insert_with(Timestamp::now);
        }
        if self.faulted.contains(&uid) {
            self.established.remove(target_node(pod));
        }
        self.deleted.insert(uid);
    }

    /// Evaluates the budget invariants on the current state.
    fn check(&mut self, limits: Limits, now: Timestamp) {
        let by_node = active_by_node(&self.pods);
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
            let pods: Vec<String> = self
                .pods
                .values()
                .filter(|p| unavailable.iter().any(|n| n == target_node(p)))
                .map(|p| {
                    format!(
                        "{} on {} ready={} terminating={}",
                        describe(p),
                        target_node(p),
                        is_available(p, 0, now),
                        p.metadata.deletion_timestamp.is_some()
                    )
                })
                .collect();
            found.push(format!(
                "{} nodes without an available pod (maxUnavailable {}): {unavailable:?}: {pods:?}",
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
            // A node whose pod the test broke may surge outside the budget (spec §2.5).
            if pods.len() >= 2 && self.established.contains(*node) {
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
        if self.old_hashes.is_some() {
            found.extend(self.check_versions(limits, now));
        }
        for v in found {
            self.violation(now, v);
        }
    }
}

impl State {
    /// Upstream `testRollingUpdateWithSurge`'s invariants (see [`Monitor::track_versions`]).
    fn check_versions(&mut self, limits: Limits, now: Timestamp) -> Vec<String> {
        let Some(old_hashes) = &self.old_hashes else {
            return Vec::new();
        };
        let is_old = |p: &Pod| old_hashes.contains(hash_of(p));
        let deliberate = |p: &Pod| {
            self.faulted
                .contains(p.metadata.uid.as_deref().unwrap_or(""))
        };
        let mut found = Vec::new();
        // node → version → (running, terminating not deleted by the test)
        let mut per_node: BTreeMap<&str, BTreeMap<&str, (usize, usize)>> = BTreeMap::new();
        let mut versions = BTreeSet::new();
        let (mut new_unavailable, mut new_deliberate, mut old_unavailable) = (0, 0, 0);
        for pod in self.pods.values() {
            let node = target_node(pod);
            let version = hash_of(pod);
            versions.insert(version);
            let terminating = pod.metadata.deletion_timestamp.is_some();
            let counts = per_node
                .entry(node)
                .or_default()
                .entry(version)
                .or_default();
            if !terminating {
                counts.0 += 1;
            } else if !deliberate(pod) {
                counts.1 += 1;
            }
            let unavailable = terminating || !is_available(pod, limits.min_ready_seconds, now);
            if is_old(pod) {
                old_unavailable += usize::from(unavailable);
            } else if unavailable {
                new_unavailable += 1;
                new_deliberate += usize::from(deliberate(pod));
            }
        }
        // Old pods running beside a new one, and for how long.
        let mut beside = BTreeSet::new();
        for pod in self.pods.values() {
            let node = target_node(pod);
            let new_here = per_node[node]
                .iter()
                .any(|(v, c)| !old_hashes.contains(*v) && c.0 > 0);
            if pod.metadata.deletion_timestamp.is_none() && is_old(pod) && new_here {
                let uid = pod.metadata.uid.clone().unwrap_or_default();
                let since = *self.old_beside_new.entry(uid.clone()).or_insert(now);
                if now.duration_since(since) > MAX_SURGE_OVERLAP {
                    found.push(format!(
                        "old pod {} beside a new one since {since}",
                        describe(pod)
                    ));
                }
                beside.insert(uid);
            }
        }
        self.old_beside_new.retain(|uid, _| beside.contains(uid));
        let nodes_without_old = per_node
            .values()
            .filter(|vs| vs.values().any(|c| c.0 > 0))
            .filter(|vs| vs.iter().all(|(v, c)| !old_hashes.contains(*v) || c.0 == 0))
            .count();
        let bound = limits.max_surge + old_unavailable + new_deliberate + nodes_without_old;
        if new_unavailable > bound {
            found.push(format!(
                "{new_unavailable} new pods unavailable > maxSurge {} + {old_unavailable} old \
                 unavailable + {new_deliberate} deleted by the test + {nodes_without_old} nodes \
                 without an old pod",
                limits.max_surge
            ));
        }
        if versions.len() > 2 {
            found.push(format!("{} versions at once: {versions:?}", versions.len()));
        }
        for (node, vs) in &per_node {
            let terminating: usize = vs.values().map(|c| c.1).sum();
            if terminating > 1 {
                found.push(format!("node {node} has {terminating} terminating pods"));
            }
            for (version, (running, deleted)) in vs {
                if *running > 1 || *deleted > 2 || running + deleted > 2 {
                    found.push(format!(
                        "node {node} version {version}: {running} running, {deleted} terminating"
                    ));
                }
            }
        }
        found
    }
}

/// The active pods by the node they run on (or are pinned to).
fn active_by_node(pods: &BTreeMap<String, Pod>) -> BTreeMap<&str, Vec<&Pod>> {
    let mut by_node: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
    for pod in pods.values().filter(|p| is_active(p)) {
        by_node.entry(target_node(pod)).or_default().push(pod);
    }
    by_node
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
