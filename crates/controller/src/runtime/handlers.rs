//! Event handlers: which DaemonSets a change of a DaemonSet, pod, node or ControllerRevision
//! concerns (spec §1.1 C1–C7), and the expectations a pod event satisfies.

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use everynode_core::labels::Selector;
use everynode_core::pod::is_pod_ready;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::runtime::reflector::Store;

use super::expectations::Expectations;
use super::informer::Change;
use super::queue::WorkQueue;
use crate::plan::should_run::should_ignore_node_update;

/// `namespace/name` of a namespaced object.
pub fn key_of(meta: &ObjectMeta) -> String {
    format!(
        "{}/{}",
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default()
    )
}

/// The DaemonSet controller reference of an object, if any.
fn daemon_set_owner(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true) && r.kind == "DaemonSet" && r.api_version == "apps/v1")
}

/// The key of the DaemonSet a controller reference names, if that DaemonSet is cached with the
/// same uid (a reference to an older incarnation concerns nobody).
fn owner_key(
    daemon_sets: &Store<DaemonSet>,
    namespace: Option<&str>,
    owner: &OwnerReference,
) -> Option<String> {
    let reference = kube::runtime::reflector::ObjectRef::new(&owner.name).within(namespace?);
    let ds = daemon_sets.get(&reference)?;
    (ds.metadata.uid.as_deref() == Some(owner.uid.as_str())).then(|| key_of(&ds.metadata))
}

/// Keys of the DaemonSets in the object's namespace whose selector matches its labels (C3:
/// an orphan concerns every DaemonSet that could adopt it).
fn matching_daemon_sets(daemon_sets: &Store<DaemonSet>, meta: &ObjectMeta) -> Vec<String> {
    let empty = Default::default();
    let labels = meta.labels.as_ref().unwrap_or(&empty);
    daemon_sets
        .state()
        .iter()
        .filter(|ds| ds.metadata.namespace == meta.namespace)
        .filter(|ds| {
            Selector::from_label_selector(ds.spec.as_ref().map(|s| &s.selector))
                .is_ok_and(|selector| !selector.is_empty() && selector.matches(labels))
        })
        .map(|ds| key_of(&ds.metadata))
        .collect()
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct Handlers {
    pub queue: WorkQueue,
    /// Names of nodes whose change may concern some DaemonSet (upstream
    /// `daemonset-node-updates`).
    pub node_updates: WorkQueue,
    pub expectations: Arc<Expectations>,
    pub daemon_sets: Store<DaemonSet>,
}

impl Handlers {
    fn enqueue_all(&self) {
        for ds in self.daemon_sets.state() {
            self.queue.add(key_of(&ds.metadata));
        }
    }

    /// C1–C2: any change of a DaemonSet syncs it; an update whose uid changed is a delete and
    /// re-create seen as one update, so the old incarnation's expectations are dropped first
    /// (upstream `updateDaemonset`).
    pub fn daemon_set(&self, (old, new): Change<DaemonSet>) {
        match (old, new) {
            (Some(old), Some(ds)) => {
                if old.metadata.uid != ds.metadata.uid {
                    self.daemon_set((Some(old), None));
                }
                self.queue.add(key_of(&ds.metadata));
            }
            (None, Some(ds)) => self.queue.add(key_of(&ds.metadata)),
            (Some(ds), None) => {
                let key = key_of(&ds.metadata);
                self.expectations.forget(&key);
                self.queue.add(key);
            }
            (None, None) => self.enqueue_all(),
        }
    }

    /// C2–C4: a pod concerns its controller, or while an orphan every DaemonSet that matches it.
    pub fn pod(&self, (old, new): Change<Pod>) {
        match (old, new) {
            (None, Some(pod)) => {
                if pod.metadata.deletion_timestamp.is_some() {
                    // Already being deleted (e.g. seen again after a restart): a deletion.
                    return self.pod_deleted(&pod);
                }
                match daemon_set_owner(&pod.metadata) {
                    Some(owner) => {
                        if let Some(key) =
                            owner_key(&self.daemon_sets, pod.metadata.namespace.as_deref(), owner)
                        {
                            self.expectations.creation_observed(&key);
                            self.queue.add(key);
                        }
                    }
                    None => {
                        for key in matching_daemon_sets(&self.daemon_sets, &pod.metadata) {
                            self.queue.add(key);
                        }
                    }
                }
            }
            (Some(old), Some(new)) => self.pod_updated(&old, &new),
            (Some(pod), None) => self.pod_deleted(&pod),
            (None, None) => self.enqueue_all(),
        }
    }

    fn pod_updated(&self, old: &Pod, new: &Pod) {
        if old.metadata.resource_version == new.metadata.resource_version {
            return;
        }
        if new.metadata.deletion_timestamp.is_some() && old.metadata.deletion_timestamp.is_none() {
            // A graceful deletion started: count it as the deletion we may be waiting for.
            self.pod_deleted(new);
        }
        let namespace = new.metadata.namespace.as_deref();
        let old_owner = daemon_set_owner(&old.metadata);
        let new_owner = daemon_set_owner(&new.metadata);
        if old_owner.map(|o| &o.uid) != new_owner.map(|o| &o.uid)
            && let Some(key) = old_owner.and_then(|o| owner_key(&self.daemon_sets, namespace, o))
        {
            self.queue.add(key);
        }
        match new_owner {
            Some(owner) => {
                if let Some(key) = owner_key(&self.daemon_sets, namespace, owner) {
                    // spec §1.1 C4 (upstream `updatePod`, kubernetes#38076): a pod that just
                    // turned Ready becomes Available only after minReadySeconds, and no other
                    // event marks that moment — without this a surge rollout waiting for the
                    // new pod to be Available stalls (nothing else resyncs the DaemonSet).
                    if !is_pod_ready(old)
                        && is_pod_ready(new)
                        && let Some(min_ready) = self.min_ready_seconds(namespace, &owner.name)
                        && min_ready > 0
                    {
                        let delay = Duration::from_secs(u64::from(min_ready.unsigned_abs()) + 1);
                        self.queue.add_after(key.clone(), delay);
                    }
                    self.queue.add(key);
                }
            }
            None => {
                if old.metadata.labels != new.metadata.labels || old_owner.is_some() {
                    for key in matching_daemon_sets(&self.daemon_sets, &new.metadata) {
                        self.queue.add(key);
                    }
                }
            }
        }
    }

    /// `spec.minReadySeconds` of the cached DaemonSet `namespace/name`.
    fn min_ready_seconds(&self, namespace: Option<&str>, name: &str) -> Option<i32> {
        let reference = kube::runtime::reflector::ObjectRef::new(name).within(namespace?);
        self.daemon_sets
            .get(&reference)?
            .spec
            .as_ref()?
            .min_ready_seconds
    }

    fn pod_deleted(&self, pod: &Pod) {
        let Some(owner) = daemon_set_owner(&pod.metadata) else {
            return;
        };
        if let Some(key) = owner_key(&self.daemon_sets, pod.metadata.namespace.as_deref(), owner) {
            self.expectations
                .deletion_observed(&key, &key_of(&pod.metadata));
            self.queue.add(key);
        }
    }

    /// C7 (newest upstream): a node that joins, or whose labels or taints changed, goes on the
    /// node-update queue, where [`super::node_updates::NodeUpdates`] picks the DaemonSets it
    /// concerns. Other updates (heartbeats, conditions, allocatable) cannot change a node's fit
    /// and are ignored; a deleted node has no handler (pod GC removes its pods).
    pub fn node(&self, (old, new): Change<Node>) {
        let Some(new) = new else {
            return;
        };
        if let Some(old) = old
            && should_ignore_node_update(&old, &new)
        {
            return;
        }
        if let Some(name) = &new.metadata.name {
            self.node_updates.add(name.clone());
        }
    }

    /// C7: a ControllerRevision concerns its controller, or while an orphan every matching
    /// DaemonSet.
    pub fn revision(&self, (old, new): Change<ControllerRevision>) {
        let Some(revision) = new.or(old) else {
            return self.enqueue_all();
        };
        match daemon_set_owner(&revision.metadata) {
            Some(owner) => {
                if let Some(key) = owner_key(
                    &self.daemon_sets,
                    revision.metadata.namespace.as_deref(),
                    owner,
                ) {
                    self.queue.add(key);
                }
            }
            None => {
                for key in matching_daemon_sets(&self.daemon_sets, &revision.metadata) {
                    self.queue.add(key);
                }
            }
        }
    }
}
