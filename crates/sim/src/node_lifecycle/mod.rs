//! Node lifecycle: heartbeat monitor, condition taints, taint-based eviction and pod GC for pods on vanished nodes.
//!
//! Deciding lives in [`decide`]; this file keeps node, lease and pod caches, a deadline heap
//! (heartbeat grace expiries, eviction times) and does the writes.

pub mod decide;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use everynode_core::keys::{CONDITION_FALSE, EVENT_TYPE_NORMAL, NODE_LEASE_NAMESPACE, POD_READY};
use futures::FutureExt;
use futures::stream::{self, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::json;
use tokio::time::Instant;

use self::decide::{Eviction, desired_taints, eviction_time, node_condition, unknown_conditions};
use crate::api::{is_not_found, is_status, patch_pod_status, pod_reference, record_event};
use crate::consts::{
    COMPONENT_TAINT_EVICTION, EVENT_TAINT_MANAGER_EVICTION, POD_DISRUPTION_TARGET,
    REASON_DELETION_BY_TAINT_MANAGER,
};
use crate::timers::{Timers, sleep_until};
use crate::watch::{Change, Shared, SyncTracker, changes, key_of};

const WRITE_CONCURRENCY: usize = 32;

/// Errors of the node lifecycle controller.
#[derive(Debug, thiserror::Error)]
pub enum NodeLifecycleError {
    /// A write failed.
    #[error("failed to write {what}: {source}")]
    Write {
        /// What was being written.
        what: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

#[derive(Debug)]
enum Timer {
    Health(String),
    Evict(String),
}

struct Tracked {
    node: Arc<Node>,
    /// Upstream's probe timestamp: when we last saw the heartbeat or lease renew time move.
    probe: Instant,
    heartbeat: Option<Timestamp>,
}

enum Write {
    NodeUnknown(Arc<Node>),
    Taints(Arc<Node>),
    PodsNotReady(Vec<Arc<Pod>>),
    Evict(Arc<Pod>),
    Collect(Arc<Pod>, String),
}

enum Input {
    Node(Change<Node>),
    Pod(Change<Pod>),
    Lease(Change<Lease>),
}

struct Lifecycle {
    grace: Duration,
    nodes: HashMap<String, Tracked>,
    renew: HashMap<String, Option<Timestamp>>,
    pods: HashMap<String, Arc<Pod>>,
    pods_by_node: HashMap<String, HashSet<String>>,
    timers: Timers<Timer>,
    dirty_nodes: HashSet<String>,
    dirty_pods: HashSet<String>,
    /// Pods we already asked to delete (eviction or GC), so one decision writes once.
    deleting: HashSet<String>,
    writes: Vec<Write>,
    nodes_synced: bool,
}

/// Runs the controller until aborted; `synced` fires once its caches are filled.
pub(crate) async fn run(
    client: Client,
    shared: Shared,
    grace: Duration,
    synced: tokio::sync::oneshot::Sender<()>,
) {
    let mut inputs = stream::select_all([
        shared.nodes.map(Input::Node).boxed(),
        shared.pods.map(Input::Pod).boxed(),
        changes(Api::<Lease>::namespaced(
            client.clone(),
            NODE_LEASE_NAMESPACE,
        ))
        .map(Input::Lease)
        .boxed(),
    ]);
    let mut tracker = SyncTracker::new(3, synced);
    let mut l = Lifecycle {
        grace,
        nodes: HashMap::new(),
        renew: HashMap::new(),
        pods: HashMap::new(),
        pods_by_node: HashMap::new(),
        timers: Timers::default(),
        dirty_nodes: HashSet::new(),
        dirty_pods: HashSet::new(),
        deleting: HashSet::new(),
        writes: Vec::new(),
        nodes_synced: false,
    };
    loop {
        tokio::select! {
            input = inputs.next() => {
                let Some(input) = input else { return };
                l.handle(input, &mut tracker);
                while let Some(Some(input)) = inputs.next().now_or_never() {
                    l.handle(input, &mut tracker);
                }
            }
            () = sleep_until(l.timers.next_due()) => {
                for timer in l.timers.pop_due(Instant::now()) {
                    l.fire(timer);
                }
            }
        }
        if !tracker.is_synced() {
            continue;
        }
        let writes = l.collect_writes();
        if writes.is_empty() {
            continue;
        }
        let results: Vec<(String, Result<(), kube::Error>)> = stream::iter(writes)
            .map(|w| execute(&client, w))
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        for (what, result) in results {
            if let Err(source) = result {
                let error = NodeLifecycleError::Write {
                    what: what.clone(),
                    source,
                };
                tracing::debug!(%error, "node lifecycle write failed");
                // Let the next event retry the decision.
                l.deleting.remove(&what);
            }
        }
    }
}

fn heartbeat_of(node: &Node) -> Option<Timestamp> {
    node_condition(node, everynode_core::keys::NODE_READY)
        .and_then(|c| c.last_heartbeat_time.as_ref())
        .map(|t| t.0)
}

fn node_of(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()?
        .node_name
        .as_deref()
        .filter(|n| !n.is_empty())
}

impl Lifecycle {
    fn probe(&mut self, name: &str) {
        if let Some(t) = self.nodes.get_mut(name) {
            t.probe = Instant::now();
            self.timers
                .push(t.probe + self.grace, Timer::Health(name.to_string()));
        }
    }

    fn handle(&mut self, input: Input, tracker: &mut SyncTracker) {
        match input {
            Input::Node(Change::Upsert(node)) => {
                let name = node.metadata.name.clone().unwrap_or_default();
                let heartbeat = heartbeat_of(&node);
                match self.nodes.get_mut(&name) {
                    Some(t) => {
                        let moved = t.heartbeat != heartbeat;
                        t.heartbeat = heartbeat;
                        t.node = node;
                        if moved {
                            self.probe(&name);
                        }
                    }
                    None => {
                        // Upstream starts the probe clock when it first observes the node.
                        self.nodes.insert(
                            name.clone(),
                            Tracked {
                                node,
                                probe: Instant::now(),
                                heartbeat,
                            },
                        );
                        self.probe(&name);
                    }
                }
                self.dirty_nodes.insert(name.clone());
                for key in self.pods_by_node.get(&name).into_iter().flatten() {
                    self.dirty_pods.insert(key.clone());
                }
            }
            Input::Node(Change::Removed(name)) => {
                self.nodes.remove(&name);
                for key in self.pods_by_node.get(&name).into_iter().flatten() {
                    self.dirty_pods.insert(key.clone());
                }
            }
            Input::Node(Change::Synced) => {
                self.nodes_synced = true;
                tracker.synced(0);
            }
            Input::Pod(Change::Upsert(pod)) => {
                let key = key_of(pod.as_ref());
                if let Some(node) = node_of(&pod) {
                    self.pods_by_node
                        .entry(node.to_string())
                        .or_default()
                        .insert(key.clone());
                    self.dirty_pods.insert(key.clone());
                }
                self.pods.insert(key, pod);
            }
            Input::Pod(Change::Removed(key)) => {
                if let Some(pod) = self.pods.remove(&key)
                    && let Some(node) = node_of(&pod)
                    && let Some(set) = self.pods_by_node.get_mut(node)
                {
                    set.remove(&key);
                }
                self.deleting.remove(&key);
            }
            Input::Pod(Change::Synced) => {
                tracker.synced(1);
            }
            Input::Lease(Change::Upsert(lease)) => {
                let name = lease.metadata.name.clone().unwrap_or_default();
                let renew = lease
                    .spec
                    .as_ref()
                    .and_then(|s| s.renew_time.as_ref())
                    .map(|t| t.0);
                let moved = self.renew.get(&name) != Some(&renew);
                self.renew.insert(name.clone(), renew);
                if moved {
                    self.probe(&name);
                }
            }
            Input::Lease(Change::Removed(name)) => {
                self.renew.remove(&name);
            }
            Input::Lease(Change::Synced) => {
                tracker.synced(2);
            }
        }
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::Health(name) => {
                let Some(t) = self.nodes.get(&name) else {
                    return;
                };
                if t.probe.elapsed() < self.grace {
                    return;
                }
                if unknown_conditions(&t.node, Timestamp::now()).is_some() {
                    self.writes.push(Write::NodeUnknown(t.node.clone()));
                    // Upstream `MarkPodsNotReady`: the node's pods stop being Ready.
                    let pods: Vec<Arc<Pod>> = self
                        .pods_by_node
                        .get(&name)
                        .into_iter()
                        .flatten()
                        .filter_map(|k| self.pods.get(k).cloned())
                        .collect();
                    self.writes.push(Write::PodsNotReady(pods));
                }
            }
            Timer::Evict(key) => {
                self.dirty_pods.insert(key);
            }
        }
    }

    fn collect_writes(&mut self) -> Vec<Write> {
        let now = Timestamp::now();
        for name in std::mem::take(&mut self.dirty_nodes) {
            if let Some(t) = self.nodes.get(&name)
                && let Some(taints) = desired_taints(&t.node, now)
            {
                let mut node = Node::clone(&t.node);
                node.spec.get_or_insert_with(Default::default).taints = Some(taints);
                self.writes.push(Write::Taints(Arc::new(node)));
            }
        }
        for key in std::mem::take(&mut self.dirty_pods) {
            let Some(pod) = self.pods.get(&key) else {
                continue;
            };
            let Some(node_name) = node_of(pod) else {
                continue;
            };
            if self.deleting.contains(&key) || everynode_core::pod::is_pod_terminal(pod) {
                continue;
            }
            let Some(node) = self.nodes.get(node_name) else {
                // Upstream PodGC `gcOrphaned` (without its 40 s quarantine): the node is gone.
                if self.nodes_synced {
                    self.deleting.insert(key.clone());
                    self.writes
                        .push(Write::Collect(pod.clone(), node_name.to_string()));
                }
                continue;
            };
            if pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let taints = node
                .node
                .spec
                .as_ref()
                .and_then(|s| s.taints.as_deref())
                .unwrap_or_default();
            let tolerations = pod
                .spec
                .as_ref()
                .and_then(|s| s.tolerations.as_deref())
                .unwrap_or_default();
            match eviction_time(tolerations, taints, now) {
                Eviction::Never => {}
                Eviction::Now => {
                    self.deleting.insert(key.clone());
                    self.writes.push(Write::Evict(pod.clone()));
                }
                Eviction::At(at) => {
                    let wait = Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO);
                    self.timers.push(Instant::now() + wait, Timer::Evict(key));
                }
            }
        }
        std::mem::take(&mut self.writes)
    }
}

async fn execute(client: &Client, write: Write) -> (String, Result<(), kube::Error>) {
    match write {
        Write::NodeUnknown(node) => {
            let name = node.metadata.name.clone().unwrap_or_default();
            let result = match unknown_conditions(&node, Timestamp::now()) {
                Some(conditions) => Api::<Node>::all(client.clone())
                    .patch_status(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"status": {"conditions": conditions}})),
                    )
                    .await
                    .map(|_| ()),
                None => Ok(()),
            };
            (format!("status of node {name}"), result)
        }
        Write::Taints(node) => {
            let name = node.metadata.name.clone().unwrap_or_default();
            // PUT with the cached resourceVersion: a conflict means a newer node is on its way
            // through the watch, and the decision is made again then.
            let result = match Api::<Node>::all(client.clone())
                .replace(&name, &PostParams::default(), &node)
                .await
            {
                Err(e) if is_status(&e, 409) || is_not_found(&e) => Ok(()),
                other => other.map(|_| ()),
            };
            (format!("taints of node {name}"), result)
        }
        Write::PodsNotReady(pods) => {
            let now = everynode_core::duration::format_rfc3339(Timestamp::now());
            for pod in pods {
                let Some(conditions) = pod.status.as_ref().and_then(|s| s.conditions.as_ref())
                else {
                    continue;
                };
                let mut changed = false;
                let conditions: Vec<serde_json::Value> = conditions
                    .iter()
                    .filter_map(|c| {
                        let mut v = serde_json::to_value(c).ok()?;
                        if c.type_ == POD_READY && c.status != CONDITION_FALSE {
                            v["status"] = json!(CONDITION_FALSE);
                            v["lastTransitionTime"] = json!(now);
                            changed = true;
                        }
                        Some(v)
                    })
                    .collect();
                if !changed {
                    continue;
                }
                let ns = pod.metadata.namespace.clone().unwrap_or_default();
                let name = pod.metadata.name.clone().unwrap_or_default();
                if let Err(e) = patch_pod_status(
                    client,
                    &ns,
                    &name,
                    &json!({"status": {"conditions": conditions}}),
                )
                .await
                    && !is_not_found(&e)
                {
                    return (format!("{ns}/{name}"), Err(e));
                }
            }
            ("pods not ready".to_string(), Ok(()))
        }
        Write::Evict(pod) => {
            let key = key_of(pod.as_ref());
            (key, evict(client, &pod).await)
        }
        Write::Collect(pod, node) => {
            let key = key_of(pod.as_ref());
            // The watches of nodes and pods are separate streams: confirm the node is really
            // gone before deleting, so a pod bound to a brand-new node is never collected.
            let result = match Api::<Node>::all(client.clone()).get_opt(&node).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => delete_pod(client, &pod, Some(0)).await,
                Err(e) => Err(e),
            };
            (key, result)
        }
    }
}

async fn delete_pod(client: &Client, pod: &Pod, grace: Option<i64>) -> Result<(), kube::Error> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let params = DeleteParams {
        grace_period_seconds: grace.and_then(|g| u32::try_from(g).ok()),
        preconditions: Some(Preconditions {
            uid: pod.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    match Api::<Pod>::namespaced(client.clone(), &ns)
        .delete(&name, &params)
        .await
    {
        Err(e) if is_not_found(&e) || is_status(&e, 409) => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Upstream taint-eviction: a DisruptionTarget condition, an event, then a delete with the
/// pod's own grace period.
async fn evict(client: &Client, pod: &Pod) -> Result<(), kube::Error> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let now = everynode_core::duration::format_rfc3339(Timestamp::now());
    let conditions = crate::api::conditions_with(
        pod,
        json!({
            "type": POD_DISRUPTION_TARGET, "status": "True", "reason": REASON_DELETION_BY_TAINT_MANAGER,
            "message": "Taint manager: deleting due to NoExecute taint", "lastTransitionTime": now,
        }),
    );
    if let Err(e) = patch_pod_status(
        client,
        &ns,
        &name,
        &json!({"status": {"conditions": conditions}}),
    )
    .await
    {
        if is_not_found(&e) {
            return Ok(());
        }
        tracing::debug!(error = %e, "failed to add DisruptionTarget condition");
    }
    let _ = record_event(
        client,
        pod_reference(pod),
        EVENT_TYPE_NORMAL,
        EVENT_TAINT_MANAGER_EVICTION,
        &format!("Marking for deletion Pod {ns}/{name}"),
        COMPONENT_TAINT_EVICTION,
    )
    .await;
    delete_pod(client, pod, None).await
}
