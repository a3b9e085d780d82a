//! One sync's view of the cluster: claimed pods indexed by node, node fits, and the DaemonSet facts every step needs (spec §1.5, §1.6).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;

use everynode_core::affinity::get_target_node_name;
use everynode_core::keys::{
    CONTROLLER_REVISION_HASH_LABEL, DEPRECATED_TEMPLATE_GENERATION_ANNOTATION,
    POD_TEMPLATE_GENERATION_LABEL,
};
use everynode_core::labels::Selector;
use everynode_core::pod::{controller_ref, is_pod_terminal};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};

use super::budget::allows_surge;
use super::should_run::{DaemonFitter, NodeFit};

/// Pods claimed by the DaemonSet, grouped by target node (spec §1.6 M1).
pub type PodsByNode<'a> = HashMap<Cow<'a, str>, Vec<&'a Pod>>;

/// Everything the per-node, rolling and status steps read, computed once per plan.
#[derive(Debug)]
pub struct Snapshot<'a> {
    /// The DaemonSet being planned.
    pub ds: &'a DaemonSet,
    /// Every node of the cluster, in list order (spec §1.2 S3).
    pub nodes: &'a [&'a Node],
    /// `fits[i]` answers spec §1.3 for `nodes[i]`.
    pub fits: Vec<NodeFit>,
    /// Claimed pods by target node, terminal pods being deleted left out (spec §1.6 M2); each
    /// list is sorted oldest first (spec §1.7 D4).
    pub by_node: PodsByNode<'a>,
    /// Hash labels of claimed terminal pods being deleted: still "live" for history cleanup
    /// (spec §2.7 T2).
    pub finished_hashes: Vec<&'a str>,
    /// Orphans that match the selector: claimed on the assumption that adoption succeeds
    /// (spec §1.5 P2: the executor adopts first and abandons the sync if it cannot).
    pub adopt: Vec<&'a Pod>,
    /// Owned pods whose labels no longer match: to be released, not planned for.
    pub release: Vec<&'a Pod>,
    /// The current revision hash (spec §2.6).
    pub hash: String,
    /// The DaemonSet's template generation if its annotation parses (spec §2.3 O1).
    pub template_generation: Option<String>,
    /// `spec.minReadySeconds`.
    pub min_ready_seconds: i32,
    /// Whether maxSurge resolves to > 0 against a total of 1 (spec §2.2 R5).
    pub allows_surge: bool,
    node_index: HashMap<&'a str, usize>,
}

impl<'a> Snapshot<'a> {
    /// Claims `pods` for `ds` (spec §1.5 P2; pods of other controllers or namespaces are never
    /// taken), maps them to nodes and judges every node.
    pub fn new(
        ds: &'a DaemonSet,
        selector: &Selector,
        nodes: &'a [&'a Node],
        pods: &'a [&'a Pod],
        hash: &str,
    ) -> Self {
        let fitter = DaemonFitter::new(ds);
        let fits: Vec<NodeFit> = nodes.iter().map(|n| fitter.fit(n)).collect();
        let node_index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.metadata.name.as_deref().unwrap_or(""), i))
            .collect();
        let ds_uid = ds.metadata.uid.as_deref().unwrap_or("");
        let ds_ns = ds.metadata.namespace.as_deref().unwrap_or("");
        let mut by_node: PodsByNode<'a> = HashMap::with_capacity(nodes.len());
        let mut finished_hashes = Vec::new();
        let mut adopt = Vec::new();
        let mut release = Vec::new();
        for &pod in pods {
            if pod.metadata.namespace.as_deref().unwrap_or("") != ds_ns {
                continue;
            }
            let labels_match = selector.matches_opt(pod.metadata.labels.as_ref());
            match controller_ref(&pod.metadata) {
                Some(owner) if owner.uid == ds_uid => {
                    if !labels_match {
                        release.push(pod);
                        continue;
                    }
                }
                Some(_) => continue,
                None => {
                    if !labels_match || pod.metadata.deletion_timestamp.is_some() {
                        continue;
                    }
                    adopt.push(pod);
                }
            }
            if is_pod_terminal(pod) && pod.metadata.deletion_timestamp.is_some() {
                if let Some(h) = pod_label(pod, CONTROLLER_REVISION_HASH_LABEL) {
                    finished_hashes.push(h);
                }
                continue;
            }
            let Some(node) = target_node(pod) else {
                continue;
            };
            by_node.entry(node).or_default().push(pod);
        }
        for list in by_node.values_mut() {
            if list.len() > 1 {
                list.sort_by(|a, b| oldest_first(a, b));
            }
        }
        let spec = ds.spec.as_ref();
        Snapshot {
            ds,
            nodes,
            fits,
            by_node,
            finished_hashes,
            adopt,
            release,
            hash: hash.to_string(),
            template_generation: template_generation(ds),
            min_ready_seconds: spec.and_then(|s| s.min_ready_seconds).unwrap_or(0),
            allows_surge: allows_surge(ds),
            node_index,
        }
    }

    /// The claimed pods mapped to `node` (oldest first), empty if none.
    pub fn pods_on(&self, node: &str) -> &[&'a Pod] {
        self.by_node
            .get(node)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The node's fit, `None` when the node is not in the node list.
    pub fn fit_of(&self, node: &str) -> Option<NodeFit> {
        self.node_index.get(node).map(|&i| self.fits[i])
    }

    /// Whether `node` is in the node list.
    pub fn has_node(&self, node: &str) -> bool {
        self.node_index.contains_key(node)
    }

    /// Upstream `IsPodUpdated` (spec §2.3 O1): the hash label equals the current hash, or the
    /// template-generation label equals the DaemonSet's template generation.
    pub fn is_updated(&self, pod: &Pod) -> bool {
        let hash_matches = !self.hash.is_empty()
            && pod_label(pod, CONTROLLER_REVISION_HASH_LABEL) == Some(&self.hash);
        let generation_matches = self
            .template_generation
            .as_deref()
            .is_some_and(|g| pod_label(pod, POD_TEMPLATE_GENERATION_LABEL).unwrap_or("") == g);
        hash_matches || generation_matches
    }
}

/// A pod label's value.
pub fn pod_label<'p>(pod: &'p Pod, key: &str) -> Option<&'p str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// The DaemonSet's template generation, decimal, if the annotation parses as an integer.
pub fn template_generation(ds: &DaemonSet) -> Option<String> {
    let raw = ds
        .metadata
        .annotations
        .as_ref()?
        .get(DEPRECATED_TEMPLATE_GENERATION_ANNOTATION)?;
    raw.parse::<i64>().ok().map(|g| g.to_string())
}

/// spec §1.6 M1: `spec.nodeName`, else the single `metadata.name In [x]` of the required
/// affinity; pods with neither are skipped. Borrowed in the common (bound) case for speed.
fn target_node(pod: &Pod) -> Option<Cow<'_, str>> {
    if let Some(name) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref())
        && !name.is_empty()
    {
        return Some(Cow::Borrowed(name));
    }
    get_target_node_name(pod).ok().map(Cow::Owned)
}

fn has_node_name(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .is_some_and(|n| !n.is_empty())
}

/// Upstream `podByCreationTimestampAndPhase` (spec §1.7 D4): bound pods first, then older
/// creationTimestamp, then smaller name. A missing timestamp is Go's zero time: oldest.
pub fn oldest_first(a: &Pod, b: &Pod) -> Ordering {
    has_node_name(b)
        .cmp(&has_node_name(a))
        .then_with(|| {
            let ta = a.metadata.creation_timestamp.as_ref().map(|t| t.0);
            let tb = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
            ta.cmp(&tb)
        })
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}
