//! The simulated kubelets: ONE task that heartbeats, reports status and runs pods for every Node in the cluster.
//!
//! Deciding lives in [`node_status`] and [`pod_status`] (pure functions of the objects and the
//! time); this file keeps the caches, one deadline heap for every node and pod, and does the
//! writes: Lease renewals, `nodes/status` and `pods/status` merge patches, and the final
//! DELETE that completes a graceful pod deletion.

pub mod node_status;
pub mod pod_status;
pub mod termination;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use everynode_core::keys::NODE_LEASE_NAMESPACE;
use futures::FutureExt;
use futures::stream::{self, StreamExt};
use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use kube::Client;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use serde_json::json;
use tokio::time::Instant;

use self::node_status::{
    desired_node_status, heartbeat_stopped, node_status_differs, reported_internal_ip,
};
use self::pod_status::{PodTiming, pod_status_differs, simulate_pod};
use crate::api::{is_not_found, is_status, patch_pod_status};
use crate::timers::{Timers, sleep_until};
use crate::watch::{Change, Shared, SyncTracker, key_of};

/// How many API writes the kubelets keep in flight at once.
const WRITE_CONCURRENCY: usize = 64;

/// Errors of the simulated kubelets.
#[derive(Debug, thiserror::Error)]
pub enum KubeletError {
    /// A write for a node or pod failed.
    #[error("failed to write {what}: {source}")]
    Write {
        /// What was being written.
        what: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Knobs of the simulated kubelets.
#[derive(Debug, Clone)]
pub struct KubeletOptions {
    /// Lease renew interval (upstream 10 s).
    pub lease_interval: Duration,
    /// Lease duration written into the Lease (upstream 40 s).
    pub lease_duration_seconds: i32,
    /// Node status refresh when nothing changes (upstream `nodeStatusReportFrequency`, 5 min).
    pub status_report_interval: Duration,
    /// Pod timing (startup delay, crash back-off).
    pub pod_timing: PodTiming,
    /// How long a gracefully deleted pod's containers take to exit after its preStop hooks,
    /// before its final DELETE (never later than its deletion timestamp).
    pub deletion_delay: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Timer {
    Lease(String, u64),
    NodeStatus(String, u64),
    Pod(String),
    Delete(String, String),
}

/// A pod its kubelet is stopping.
struct Stopping {
    /// When the kubelet first saw the deletion: its preStop hooks started then.
    observed: Timestamp,
    /// When its final DELETE is due.
    stop_at: Timestamp,
}

struct SimNode {
    node: Arc<Node>,
    ip: String,
    stopped: bool,
    /// Bumped to invalidate pending Lease/NodeStatus timers.
    generation: u64,
    last_status_write: Option<Instant>,
}

/// Writes one loop iteration decided to do.
enum Write {
    Lease {
        node: String,
        uid: String,
    },
    NodeStatus {
        node: String,
        status: serde_json::Value,
    },
    PodStatus {
        namespace: String,
        name: String,
        status: serde_json::Value,
    },
    Delete {
        namespace: String,
        name: String,
        uid: String,
    },
}

enum Input {
    Node(Change<Node>),
    Pod(Change<Pod>),
}

struct Kubelets {
    options: KubeletOptions,
    nodes: HashMap<String, SimNode>,
    pods: HashMap<String, Arc<Pod>>,
    pods_by_node: HashMap<String, HashSet<String>>,
    pod_ips: HashMap<String, String>,
    /// Pods being stopped by a live kubelet, by key.
    stopping: HashMap<String, Stopping>,
    used_ips: HashSet<String>,
    next_pod_ip: u32,
    next_node_ip: u32,
    timers: Timers<Timer>,
    dirty_pods: HashSet<String>,
    dirty_nodes: HashSet<String>,
    writes: Vec<Write>,
}

/// `10.244.0.0/16`-and-up pod IPs, skipping `.0` and `.255` host bytes.
fn nth_ip(prefix_a: u32, prefix_b: u32, n: u32) -> String {
    let host = n % 254 + 1;
    let net = n / 254;
    format!("{prefix_a}.{}.{}.{host}", prefix_b + net / 256, net % 256)
}

/// Runs the kubelets until the task is aborted; `synced` fires once its caches are filled.
pub(crate) async fn run(
    client: Client,
    shared: Shared,
    options: KubeletOptions,
    synced: tokio::sync::oneshot::Sender<()>,
) {
    let mut inputs = stream::select_all([
        shared.nodes.map(Input::Node).boxed(),
        shared.pods.map(Input::Pod).boxed(),
    ]);
    let mut tracker = SyncTracker::new(2, synced);
    let mut k = Kubelets {
        options,
        nodes: HashMap::new(),
        pods: HashMap::new(),
        pods_by_node: HashMap::new(),
        pod_ips: HashMap::new(),
        stopping: HashMap::new(),
        used_ips: HashSet::new(),
        next_pod_ip: 0,
        next_node_ip: 0,
        timers: Timers::default(),
        dirty_pods: HashSet::new(),
        dirty_nodes: HashSet::new(),
        writes: Vec::new(),
    };
    loop {
        tokio::select! {
            input = inputs.next() => {
                let Some(input) = input else { return };
                k.handle(input, &mut tracker);
                while let Some(Some(input)) = inputs.next().now_or_never() {
                    k.handle(input, &mut tracker);
                }
            }
            () = sleep_until(k.timers.next_due()) => {
                for timer in k.timers.pop_due(Instant::now()) {
                    k.fire(timer);
                }
            }
        }
        if !tracker.is_synced() {
            continue;
        }
        let writes = k.collect_writes();
        if writes.is_empty() {
            continue;
        }
        let results: Vec<(String, Result<(), kube::Error>)> = stream::iter(writes)
            .map(|w| execute(&client, &k.options, w))
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        for (what, result) in results {
            if let Err(source) = result {
                // The next watch event or timer retries; a failed write is not fatal.
                let error = KubeletError::Write { what, source };
                tracing::debug!(%error, "kubelet write failed");
            }
        }
    }
}

impl Kubelets {
    fn handle(&mut self, input: Input, tracker: &mut SyncTracker) {
        match input {
            Input::Node(Change::Upsert(node)) => self.upsert_node(node),
            Input::Node(Change::Removed(name)) => {
                self.nodes.remove(&name);
            }
            Input::Node(Change::Synced) => {
                tracker.synced(0);
            }
            Input::Pod(Change::Upsert(pod)) => self.upsert_pod(pod),
            Input::Pod(Change::Removed(key)) => self.remove_pod(&key),
            Input::Pod(Change::Synced) => {
                tracker.synced(1);
            }
        }
    }

    fn upsert_node(&mut self, node: Arc<Node>) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let stopped = heartbeat_stopped(&node);
        let now = Instant::now();
        match self.nodes.get_mut(&name) {
            Some(sim) => {
                let resumed = sim.stopped && !stopped;
                sim.stopped = stopped;
                sim.node = node;
                if resumed {
                    // A kubelet coming back reports at once and resyncs its pods.
                    sim.generation += 1;
                    self.timers
                        .push(now, Timer::Lease(name.clone(), sim.generation));
                    self.timers
                        .push(now, Timer::NodeStatus(name.clone(), sim.generation));
                    for key in self.pods_by_node.get(&name).into_iter().flatten() {
                        self.dirty_pods.insert(key.clone());
                    }
                } else if !stopped {
                    self.dirty_nodes.insert(name);
                }
            }
            None => {
                let ip = match reported_internal_ip(&node) {
                    Some(ip) => ip,
                    None => loop {
                        let ip = nth_ip(172, 18, self.next_node_ip + 1);
                        self.next_node_ip += 1;
                        if self.used_ips.insert(ip.clone()) {
                            break ip;
                        }
                    },
                };
                self.used_ips.insert(ip.clone());
                self.nodes.insert(
                    name.clone(),
                    SimNode {
                        node,
                        ip,
                        stopped,
                        generation: 0,
                        last_status_write: None,
                    },
                );
                self.timers.push(now, Timer::Lease(name.clone(), 0));
                self.timers.push(now, Timer::NodeStatus(name.clone(), 0));
                for key in self.pods_by_node.get(&name).into_iter().flatten() {
                    self.dirty_pods.insert(key.clone());
                }
            }
        }
    }

    fn upsert_pod(&mut self, pod: Arc<Pod>) {
        let key = key_of(pod.as_ref());
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        if node.is_empty() {
            self.pods.insert(key, pod);
            return;
        }
        if let Some(ip) = pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.clone())
            .filter(|ip| !ip.is_empty())
            && !self.pod_ips.contains_key(&key)
        {
            self.used_ips.insert(ip.clone());
            self.pod_ips.insert(key.clone(), ip);
        }
        self.pods_by_node
            .entry(node)
            .or_default()
            .insert(key.clone());
        if pod.metadata.deletion_timestamp.is_some() {
            self.schedule_stop(&key, &pod);
        } else {
            self.dirty_pods.insert(key.clone());
        }
        self.pods.insert(key, pod);
    }

    /// Starts stopping a pod being deleted, if a live kubelet runs it: its preStop hooks run from
    /// now (from when the kubelet first saw the deletion, on later updates), and a Delete timer
    /// sends the final DELETE once they and the containers are done. A later, shorter grace
    /// period can only bring the stop forward. A stopped kubelet starts nothing: it schedules the
    /// stop when it resumes and marks its pods dirty.
    fn schedule_stop(&mut self, key: &str, pod: &Pod) {
        let Some(uid) = pod.metadata.uid.clone() else {
            return;
        };
        if !self.runs_pod(pod) {
            return;
        }
        let now = Timestamp::now();
        let scheduled = self.stopping.get(key);
        let observed = scheduled.map_or(now, |s| s.observed);
        let Some(stop_at) = termination::stopped_at(pod, observed, self.options.deletion_delay)
        else {
            return;
        };
        if scheduled.is_some_and(|s| s.stop_at <= stop_at) {
            return;
        }
        self.stopping
            .insert(key.to_owned(), Stopping { observed, stop_at });
        let wait = Duration::try_from(stop_at.duration_since(now)).unwrap_or(Duration::ZERO);
        self.timers
            .push(Instant::now() + wait, Timer::Delete(key.to_owned(), uid));
    }

    fn remove_pod(&mut self, key: &str) {
        if let Some(pod) = self.pods.remove(key)
            && let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
            && let Some(set) = self.pods_by_node.get_mut(node)
        {
            set.remove(key);
        }
        self.stopping.remove(key);
        if let Some(ip) = self.pod_ips.remove(key) {
            self.used_ips.remove(&ip);
        }
        self.dirty_pods.remove(key);
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::Pod(key) => {
                self.dirty_pods.insert(key);
            }
            Timer::NodeStatus(name, generation) => {
                if self
                    .nodes
                    .get(&name)
                    .is_some_and(|n| n.generation == generation && !n.stopped)
                {
                    self.dirty_nodes.insert(name.clone());
                    let due = Instant::now() + self.options.status_report_interval;
                    self.timers.push(due, Timer::NodeStatus(name, generation));
                }
            }
            Timer::Lease(name, generation) => {
                let Some(sim) = self.nodes.get(&name) else {
                    return;
                };
                if sim.generation != generation || sim.stopped {
                    return;
                }
                let uid = sim.node.metadata.uid.clone().unwrap_or_default();
                self.writes.push(Write::Lease {
                    node: name.clone(),
                    uid,
                });
                let due = Instant::now() + self.options.lease_interval;
                self.timers.push(due, Timer::Lease(name, generation));
            }
            Timer::Delete(key, uid) => {
                let Some(pod) = self.pods.get(&key) else {
                    return;
                };
                if pod.metadata.uid.as_deref() != Some(uid.as_str()) {
                    return;
                }
                if !self.runs_pod(pod) {
                    // Its kubelet stopped meanwhile: it starts over when it resumes.
                    self.stopping.remove(&key);
                    return;
                }
                self.writes.push(delete_write(pod));
            }
        }
    }

    /// Whether a live (heartbeating) simulated kubelet runs this pod.
    fn runs_pod(&self, pod: &Pod) -> bool {
        pod.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .and_then(|n| self.nodes.get(n))
            .is_some_and(|n| !n.stopped)
    }

    fn pod_ip(&mut self, key: &str) -> String {
        if let Some(ip) = self.pod_ips.get(key) {
            return ip.clone();
        }
        let ip = loop {
            let ip = nth_ip(10, 244, self.next_pod_ip);
            self.next_pod_ip += 1;
            if self.used_ips.insert(ip.clone()) {
                break ip;
            }
        };
        self.pod_ips.insert(key.to_string(), ip.clone());
        ip
    }

    fn collect_writes(&mut self) -> Vec<Write> {
        let now = Timestamp::now();
        let instant = Instant::now();
        for name in std::mem::take(&mut self.dirty_nodes) {
            let Some(sim) = self.nodes.get_mut(&name) else {
                continue;
            };
            if sim.stopped {
                continue;
            }
            let desired = desired_node_status(&sim.node, &sim.ip, now);
            let stale = sim
                .last_status_write
                .is_none_or(|t| instant.duration_since(t) >= self.options.status_report_interval);
            if stale || node_status_differs(sim.node.status.as_ref(), &desired) {
                sim.last_status_write = Some(instant);
                if let Ok(status) = serde_json::to_value(&desired) {
                    self.writes.push(Write::NodeStatus { node: name, status });
                }
            }
        }
        for key in std::mem::take(&mut self.dirty_pods) {
            let Some(pod) = self.pods.get(&key).cloned() else {
                continue;
            };
            if !self.runs_pod(&pod) {
                continue;
            }
            if pod.metadata.deletion_timestamp.is_some() {
                // A resumed kubelet (or a timer) found it being deleted: its Delete timer sends
                // the final DELETE.
                self.schedule_stop(&key, &pod);
                continue;
            }
            if everynode_core::pod::is_pod_terminal(&pod) {
                continue;
            }
            let accepted = pod
                .status
                .as_ref()
                .and_then(|s| s.start_time.as_ref())
                .map(|t| t.0)
                .unwrap_or(now);
            let host_ip = pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .and_then(|n| self.nodes.get(n))
                .map(|n| n.ip.clone())
                .unwrap_or_default();
            let ip = self.pod_ip(&key);
            let sim = simulate_pod(&pod, accepted, now, &ip, &host_ip, &self.options.pod_timing);
            if let Some(next) = sim.next_change {
                let wait = Duration::try_from(next.duration_since(now)).unwrap_or(Duration::ZERO);
                self.timers.push(instant + wait, Timer::Pod(key.clone()));
            }
            if pod_status_differs(pod.status.as_ref(), &sim.status)
                && let Ok(status) = serde_json::to_value(&sim.status)
            {
                self.writes.push(Write::PodStatus {
                    namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                    name: pod.metadata.name.clone().unwrap_or_default(),
                    status,
                });
            }
        }
        std::mem::take(&mut self.writes)
    }
}

fn delete_write(pod: &Pod) -> Write {
    Write::Delete {
        namespace: pod.metadata.namespace.clone().unwrap_or_default(),
        name: pod.metadata.name.clone().unwrap_or_default(),
        uid: pod.metadata.uid.clone().unwrap_or_default(),
    }
}

fn micro_now() -> MicroTime {
    MicroTime(Timestamp::now())
}

/// Carries out one write; returns a description for logging and the result.
async fn execute(
    client: &Client,
    options: &KubeletOptions,
    write: Write,
) -> (String, Result<(), kube::Error>) {
    match write {
        Write::Lease { node, uid } => {
            let result = renew_lease(client, options, &node, &uid).await;
            (format!("lease {node}"), result)
        }
        Write::NodeStatus { node, status } => {
            let result = Api::<Node>::all(client.clone())
                .patch_status(
                    &node,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": status})),
                )
                .await
                .map(|_| ());
            (format!("status of node {node}"), result)
        }
        Write::PodStatus {
            namespace,
            name,
            status,
        } => {
            let result =
                match patch_pod_status(client, &namespace, &name, &json!({"status": status})).await
                {
                    Err(e) if is_not_found(&e) => Ok(()),
                    other => other.map(|_| ()),
                };
            (format!("status of pod {namespace}/{name}"), result)
        }
        Write::Delete {
            namespace,
            name,
            uid,
        } => {
            // The kubelet's confirmation: grace 0 with the uid precondition (api.md §8).
            let params = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions {
                    uid: Some(uid),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            let result = match Api::<Pod>::namespaced(client.clone(), &namespace)
                .delete(&name, &params)
                .await
            {
                Err(e) if is_not_found(&e) || is_status(&e, 409) => Ok(()),
                other => other.map(|_| ()),
            };
            (format!("final delete of pod {namespace}/{name}"), result)
        }
    }
}

/// Renews the node's Lease, creating it (owned by the Node) when missing.
async fn renew_lease(
    client: &Client,
    options: &KubeletOptions,
    node: &str,
    uid: &str,
) -> Result<(), kube::Error> {
    let api = Api::<Lease>::namespaced(client.clone(), NODE_LEASE_NAMESPACE);
    let patch = json!({"spec": {
        "holderIdentity": node,
        "leaseDurationSeconds": options.lease_duration_seconds,
        "renewTime": micro_now(),
    }});
    match api
        .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(node.to_string()),
                    namespace: Some(NODE_LEASE_NAMESPACE.to_string()),
                    owner_references: Some(vec![OwnerReference {
                        api_version: "v1".to_string(),
                        kind: "Node".to_string(),
                        name: node.to_string(),
                        uid: uid.to_string(),
                        ..OwnerReference::default()
                    }]),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(node.to_string()),
                    lease_duration_seconds: Some(options.lease_duration_seconds),
                    acquire_time: Some(micro_now()),
                    renew_time: Some(micro_now()),
                    ..LeaseSpec::default()
                }),
            };
            match api.create(&PostParams::default(), &lease).await {
                Err(e) if is_status(&e, 409) => Ok(()),
                other => other.map(|_| ()),
            }
        }
        Err(e) => Err(e),
    }
}
