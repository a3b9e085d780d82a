//! An index of the cached daemon pods by node: which DaemonSets have a pod bound to each node (upstream's pod indexer by node name).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use everynode_core::pod::controller_ref_of_kind;
use k8s_openapi::api::core::v1::Pod;

use super::handlers::key_of;
use super::informer::Change;

/// node name → pod `namespace/name` → its DaemonSet's `namespace/name`.
type Index = HashMap<String, HashMap<String, String>>;

/// Kept current by the pod informer's changes (see [`PodsByNode::apply`]); cheap to clone.
#[derive(Clone, Default)]
pub struct PodsByNode {
    index: Arc<Mutex<Index>>,
}

impl PodsByNode {
    /// Follows one change of the pod cache.
    pub fn apply(&self, (old, new): &Change<Pod>) {
        let mut index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((node, pod, _)) = old.as_deref().and_then(entry)
            && let Some(pods) = index.get_mut(&node)
        {
            pods.remove(&pod);
            if pods.is_empty() {
                index.remove(&node);
            }
        }
        if let Some((node, pod, daemon_set)) = new.as_deref().and_then(entry) {
            index.entry(node).or_default().insert(pod, daemon_set);
        }
    }

    /// `namespace/name` of every DaemonSet with a pod bound to `node`.
    pub fn daemon_sets_on(&self, node: &str) -> HashSet<String> {
        let index = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        index
            .get(node)
            .map(|pods| pods.values().cloned().collect())
            .unwrap_or_default()
    }
}

/// `(node, pod key, DaemonSet key)` of a pod bound to a node and controlled by a DaemonSet.
fn entry(pod: &Pod) -> Option<(String, String, String)> {
    let node = pod.spec.as_ref()?.node_name.as_deref()?;
    if node.is_empty() {
        return None;
    }
    let owner = controller_ref_of_kind(&pod.metadata, "DaemonSet")?;
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    Some((
        node.to_string(),
        key_of(&pod.metadata),
        format!("{namespace}/{}", owner.name),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str, node: Option<&str>, owner: Option<(&str, &str)>) -> Arc<Pod> {
        let owners: Vec<serde_json::Value> = owner
            .map(|(kind, name)| {
                json!({"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "u", "controller": true})
            })
            .into_iter()
            .collect();
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": "ns", "ownerReferences": owners},
                "spec": {"containers": [], "nodeName": node},
            }))
            .expect("pod"),
        )
    }

    fn on(index: &PodsByNode, node: &str) -> Vec<String> {
        let mut sets: Vec<String> = index.daemon_sets_on(node).into_iter().collect();
        sets.sort();
        sets
    }

    #[test]
    fn follows_binding_moves_and_deletion_of_daemon_pods() {
        let index = PodsByNode::default();
        let unbound = pod("a", None, Some(("DaemonSet", "agent")));
        index.apply(&(None, Some(unbound.clone())));
        assert!(on(&index, "n1").is_empty());
        let bound = pod("a", Some("n1"), Some(("DaemonSet", "agent")));
        index.apply(&(Some(unbound), Some(bound.clone())));
        index.apply(&(
            None,
            Some(pod("b", Some("n1"), Some(("DaemonSet", "logs")))),
        ));
        assert_eq!(on(&index, "n1"), ["ns/agent", "ns/logs"]);
        // Not daemon pods: no DaemonSet controller.
        index.apply(&(
            None,
            Some(pod("c", Some("n2"), Some(("ReplicaSet", "web")))),
        ));
        index.apply(&(None, Some(pod("d", Some("n2"), None))));
        assert!(on(&index, "n2").is_empty());
        index.apply(&(Some(bound), None));
        assert_eq!(on(&index, "n1"), ["ns/logs"]);
    }
}
