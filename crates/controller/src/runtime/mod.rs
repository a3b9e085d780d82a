//! The controller at run time: informers feed caches and a work queue, workers sync one
//! DaemonSet at a time through the pure planner, and everything is written through the API.
//!
//! Start with [`Controller::start`]; [`sync`] is where a plan is carried out.

pub mod correlator;
pub mod events;
pub mod expectations;
pub mod handlers;
pub mod informer;
pub mod leader;
pub mod metrics;
pub mod node_updates;
mod pods_by_node;
pub mod queue;
pub mod sync;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};

use crate::plan::FailedPodBackoff;
use events::Recorder;
use expectations::Expectations;
use handlers::Handlers;
use informer::{Informer, SharedInformers};
use metrics::Metrics;
use node_updates::NodeUpdates;
use pods_by_node::PodsByNode;
use queue::WorkQueue;
use sync::Syncer;

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// Concurrent syncs (kube-controller-manager's `--concurrent-daemonset-syncs`, default 2).
    pub workers: usize,
    /// The failed-pod backoff (1 s doubling to 15 min upstream).
    pub backoff: FailedPodBackoff,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            backoff: FailedPodBackoff::default(),
        }
    }
}

/// A running controller.
pub struct Controller {
    queue: WorkQueue,
    node_queue: WorkQueue,
    metrics: Arc<Metrics>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Controller {
    /// Starts the informers, waits for their caches, then starts the workers.
    pub async fn start(client: kube::Client, options: ControllerOptions) -> Self {
        let informers = SharedInformers::spawn(&client);
        Self::start_shared(client, options, &informers).await
    }

    /// Like [`Self::start`], with the pod and node informers other components share.
    pub async fn start_shared(
        client: kube::Client,
        options: ControllerOptions,
        informers: &SharedInformers,
    ) -> Self {
        let queue = WorkQueue::default();
        let node_queue = WorkQueue::default();
        let expectations = Arc::new(Expectations::default());
        let metrics = Arc::new(Metrics::default());
        // The handlers need the DaemonSet cache, so they are added once it exists (replaying
        // whatever it already holds).
        let daemon_sets = Informer::<DaemonSet>::spawn_shared(client.clone());
        let handlers = Handlers {
            queue: queue.clone(),
            node_updates: node_queue.clone(),
            expectations: expectations.clone(),
            daemon_sets: daemon_sets.store.clone(),
        };
        let on_daemon_set = handlers.clone();
        daemon_sets.add_handler(move |change| on_daemon_set.daemon_set(change));
        let on_pod = handlers.clone();
        let pods_by_node = PodsByNode::default();
        let index = pods_by_node.clone();
        let pods = &informers.pods;
        pods.add_handler(move |change| {
            index.apply(&change);
            on_pod.pod(change);
        });
        let on_node = handlers.clone();
        let nodes = &informers.nodes;
        nodes.add_handler(move |change| on_node.node(change));
        let on_revision = handlers.clone();
        let revisions = Informer::<ControllerRevision>::spawn(client.clone(), move |change| {
            on_revision.revision(change)
        });
        daemon_sets.wait_synced().await;
        pods.wait_synced().await;
        nodes.wait_synced().await;
        revisions.wait_synced().await;
        handlers.daemon_set((None, None));

        let syncer = Arc::new(Syncer {
            client: client.clone(),
            daemon_sets: daemon_sets.store.clone(),
            pods: pods.store.clone(),
            nodes: nodes.store.clone(),
            revisions: revisions.store.clone(),
            expectations,
            backoff: Mutex::new(options.backoff.clone()),
            recorder: Recorder::new(client),
            metrics: metrics.clone(),
        });
        let node_updates = NodeUpdates {
            daemon_sets: daemon_sets.store.clone(),
            nodes: nodes.store.clone(),
            pods_by_node,
            queue: queue.clone(),
        };
        // As many node-update workers as sync workers (newest upstream).
        let workers = (0..options.workers.max(1))
            .flat_map(|_| {
                [
                    tokio::spawn(work(queue.clone(), syncer.clone())),
                    tokio::spawn(node_updates.clone().work(node_queue.clone())),
                ]
            })
            .collect();
        Self {
            queue,
            node_queue,
            metrics,
            workers,
        }
    }

    /// The metrics in Prometheus text format.
    pub fn metrics_text(&self) -> String {
        self.metrics.render(self.queue.len())
    }

    /// Stops the workers (the informers end with the runtime).
    pub fn stop(&self) {
        self.queue.shut_down();
        self.node_queue.shut_down();
        for worker in &self.workers {
            worker.abort();
        }
    }
}

/// A worker: takes keys off the queue and syncs them. A failed sync is re-queued through the
/// rate limiter, a successful one resets it (upstream `processNextWorkItem`).
async fn work(queue: WorkQueue, syncer: Arc<Syncer>) {
    while let Some(key) = queue.next().await {
        let started = Instant::now();
        let (result, requeue_after) = syncer.sync_and_requeue(&key).await;
        syncer
            .metrics
            .reconciled(started.elapsed(), result.is_err());
        match result {
            Ok(()) => queue.forget(&key),
            Err(e) => {
                tracing::warn!("{key} failed with: {e}");
                queue.add_rate_limited(key.clone());
            }
        }
        if let Some(after) = requeue_after {
            queue.add_after(key.clone(), after);
        }
        queue.done(&key);
    }
}
