//! The rest of a cluster for `everynode up`: scheduler, simulated kubelets, node lifecycle and
//! the garbage collector.
//!
//! Newcomers: start with [`start`], which runs the three components against any
//! [`kube::Client`] and returns once their caches are synced, and [`register_nodes`], which
//! creates `node-1`…`node-N` and waits until they are Ready. Every component is a plain API
//! client (it never touches the store) split like upstream into pure decisions — [`scheduler::filter`],
//! [`scheduler::preempt`], [`kubelet::node_status`], [`kubelet::pod_status`],
//! [`node_lifecycle::decide`] — and a thin async loop that watches, decides and writes.

mod api;
pub mod consts;
pub mod garbage_collector;
pub mod kubelet;
pub mod node_lifecycle;
pub mod nodes;
pub mod scheduler;
mod timers;
mod watch;

pub use nodes::{NodeSpecTemplate, register_nodes, register_nodes_from};
pub use watch::Change;
use watch::changes;

use std::time::Duration;

use futures::stream::BoxStream;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use tokio::task::JoinHandle;
use watch::Shared;

/// Knobs of the simulated cluster. Defaults follow upstream where upstream has one.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// From a pod's binding to its containers running (default 0).
    pub pod_startup_delay: Duration,
    /// From a graceful delete to the kubelet's final delete (default 0; never after the grace period).
    pub pod_deletion_delay: Duration,
    /// Lease renew interval (upstream 10 s).
    pub lease_interval: Duration,
    /// Lease duration written into each Lease (upstream 40 s).
    pub lease_duration_seconds: i32,
    /// Node status refresh when nothing changes (upstream `nodeStatusReportFrequency`, 5 min).
    pub node_status_report_interval: Duration,
    /// Heartbeat grace before a node goes Unknown (upstream `--node-monitor-grace-period`, 50 s).
    pub node_monitor_grace_period: Duration,
    /// First crash-loop back-off (upstream 10 s, doubling to 5 min).
    pub crash_loop_backoff: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            pod_startup_delay: Duration::ZERO,
            pod_deletion_delay: Duration::ZERO,
            lease_interval: Duration::from_secs(10),
            lease_duration_seconds: everynode_core::keys::NODE_LEASE_DURATION_SECONDS,
            node_status_report_interval: Duration::from_secs(5 * 60),
            node_monitor_grace_period: Duration::from_secs(50),
            crash_loop_backoff: Duration::from_secs(10),
        }
    }
}

/// Errors of starting the simulated cluster.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A component ended before its caches synced.
    #[error("simulated {component} stopped before its caches synced")]
    NotSynced {
        /// Which component.
        component: &'static str,
    },
    /// Node registration failed.
    #[error(transparent)]
    Nodes(#[from] nodes::NodesError),
}

/// The running components; dropping it (or [`SimHandle::stop`]) stops them.
#[derive(Debug)]
pub struct SimHandle {
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// Stops every component and waits until they are gone.
    pub async fn stop(mut self) {
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            // A cancelled task's JoinError is the expected outcome.
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Spawns the scheduler, the simulated kubelets and the node lifecycle controller, and returns
/// once every one of them has listed its watches (so `everynode up` can report ready).
pub async fn start(client: Client, options: SimOptions) -> Result<SimHandle, SimError> {
    // One watch of each kind, split between the three components.
    let (node_feeder, nodes) = watch::fan_out(changes(kube::Api::<Node>::all(client.clone())));
    let (pod_feeder, pods) = watch::fan_out(changes(kube::Api::<Pod>::all(client.clone())));
    match start_from(client, options, Sources { nodes, pods }).await {
        Ok(mut handle) => {
            handle.tasks.extend([node_feeder, pod_feeder]);
            Ok(handle)
        }
        Err(error) => {
            node_feeder.abort();
            pod_feeder.abort();
            Err(error)
        }
    }
}

/// Where the three components (scheduler, kubelets, node lifecycle) learn about nodes and pods:
/// a stream of each kind's changes for each of them. [`start`] splits one watch of its own;
/// `everynode up` subscribes them to the informers its controllers already keep, so the
/// components and the controllers share one decoded copy of each node and pod.
pub struct Sources {
    /// Every node's changes, with a `Synced` mark after each complete (re)list.
    pub nodes: [BoxStream<'static, Change<Node>>; 3],
    /// Every pod's changes, likewise.
    pub pods: [BoxStream<'static, Change<Pod>>; 3],
}

/// Like [`start`], with nodes and pods from `sources` instead of watches of its own.
pub async fn start_from(
    client: Client,
    options: SimOptions,
    sources: Sources,
) -> Result<SimHandle, SimError> {
    let (s_tx, s_rx) = tokio::sync::oneshot::channel();
    let (k_tx, k_rx) = tokio::sync::oneshot::channel();
    let (l_tx, l_rx) = tokio::sync::oneshot::channel();
    let kubelet_options = kubelet::KubeletOptions {
        lease_interval: options.lease_interval,
        lease_duration_seconds: options.lease_duration_seconds,
        status_report_interval: options.node_status_report_interval,
        pod_timing: kubelet::pod_status::PodTiming {
            startup_delay: options.pod_startup_delay,
            crash_backoff: options.crash_loop_backoff,
        },
        deletion_delay: options.pod_deletion_delay,
    };
    let [s_nodes, k_nodes, l_nodes] = sources.nodes;
    let [s_pods, k_pods, l_pods] = sources.pods;
    let handle = SimHandle {
        tasks: vec![
            tokio::spawn(scheduler::run(
                client.clone(),
                Shared {
                    nodes: s_nodes,
                    pods: s_pods,
                },
                s_tx,
            )),
            tokio::spawn(kubelet::run(
                client.clone(),
                Shared {
                    nodes: k_nodes,
                    pods: k_pods,
                },
                kubelet_options,
                k_tx,
            )),
            tokio::spawn(node_lifecycle::run(
                client,
                Shared {
                    nodes: l_nodes,
                    pods: l_pods,
                },
                options.node_monitor_grace_period,
                l_tx,
            )),
        ],
    };
    s_rx.await.map_err(|_| SimError::NotSynced {
        component: "scheduler",
    })?;
    k_rx.await.map_err(|_| SimError::NotSynced {
        component: "kubelet",
    })?;
    l_rx.await.map_err(|_| SimError::NotSynced {
        component: "node lifecycle",
    })?;
    Ok(handle)
}
