//! The node-update worker: for one changed node, which DaemonSets need a sync (spec §1.1 C7,
//! newest upstream `syncNodeUpdate`).

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::reflector::{ObjectRef, Store};

use super::handlers::key_of;
use super::pods_by_node::PodsByNode;
use super::queue::WorkQueue;
use crate::plan::should_run::{DaemonFitter, node_change_needs_sync};

/// What the node-update workers read and where they put DaemonSet keys.
#[derive(Clone)]
pub struct NodeUpdates {
    pub daemon_sets: Store<DaemonSet>,
    pub nodes: Store<Node>,
    pub pods_by_node: PodsByNode,
    /// The DaemonSet queue.
    pub queue: WorkQueue,
}

impl NodeUpdates {
    /// Enqueues every DaemonSet the node `name` concerns now: it should run a pod there and has
    /// none, has one that may not stay, or has one while it reports misscheduled pods. A node
    /// gone from the cache concerns nobody.
    pub fn sync(&self, name: &str) {
        let Some(node) = self.nodes.get(&ObjectRef::new(name)) else {
            return;
        };
        let with_pod = self.pods_by_node.daemon_sets_on(name);
        for ds in self.daemon_sets.state() {
            let key = key_of(&ds.metadata);
            let fit = DaemonFitter::new(&ds).fit(&node);
            let misscheduled = ds.status.as_ref().map_or(0, |s| s.number_misscheduled);
            if node_change_needs_sync(fit, with_pod.contains(&key), misscheduled) {
                self.queue.add(key);
            }
        }
    }

    /// A node-update worker: takes node names off `node_queue` until it shuts down.
    pub async fn work(self, node_queue: WorkQueue) {
        while let Some(name) = node_queue.next().await {
            self.sync(&name);
            node_queue.done(&name);
        }
    }
}
