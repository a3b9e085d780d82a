//! Which nodes should run a daemon pod, and whether an existing one may stay (spec §1.3 N1–N5).

use std::collections::BTreeMap;

use everynode_core::affinity::pod_matches_node_name_and_labels;
use everynode_core::taints::{add_or_update_daemon_pod_tolerations, daemon_taints_fit};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, PodSpec, Toleration};

/// The two answers of upstream `NodeShouldRunDaemonPod` for one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeFit {
    /// A pod should be created here if none exists.
    pub should_run: bool,
    /// An existing pod may stay here.
    pub should_continue_running: bool,
}

impl NodeFit {
    /// Both answers false: the node is outside the DaemonSet's reach.
    pub const NONE: NodeFit = NodeFit {
        should_run: false,
        should_continue_running: false,
    };
    /// Both answers true.
    pub const RUN: NodeFit = NodeFit {
        should_run: true,
        should_continue_running: true,
    };
}

/// The per-DaemonSet half of `NodeShouldRunDaemonPod`, computed once so that judging 5,000 nodes
/// does not build 5,000 hypothetical pods (spec §1.3 N1 builds one per node upstream).
#[derive(Debug, Clone)]
pub struct DaemonFitter<'a> {
    spec: Option<&'a PodSpec>,
    /// Template tolerations merged with the automatic ones (spec §1.4), as on the hypothetical pod.
    tolerations: Vec<Toleration>,
}

impl<'a> DaemonFitter<'a> {
    /// Prepares the hypothetical daemon pod of spec §1.3 N1 for `ds`.
    pub fn new(ds: &'a DaemonSet) -> Self {
        let spec = ds.spec.as_ref().and_then(|s| s.template.spec.as_ref());
        // Only the tolerations are cloned; the rest of the spec is read in place.
        let mut scratch = PodSpec {
            tolerations: spec.and_then(|s| s.tolerations.clone()),
            host_network: spec.and_then(|s| s.host_network),
            ..PodSpec::default()
        };
        add_or_update_daemon_pod_tolerations(&mut scratch);
        DaemonFitter {
            spec,
            tolerations: scratch.tolerations.unwrap_or_default(),
        }
    }

    /// The tolerations the hypothetical pod carries (template + automatic).
    pub fn tolerations(&self) -> &[Toleration] {
        &self.tolerations
    }

    /// Upstream `NodeShouldRunDaemonPod` for one node.
    pub fn fit(&self, node: &Node) -> NodeFit {
        let name = node.metadata.name.as_deref().unwrap_or("");
        // spec §1.3 N2: a template nodeName pins the DaemonSet to that one node.
        let template_node = self.spec.and_then(|s| s.node_name.as_deref()).unwrap_or("");
        if !template_node.is_empty() && template_node != name {
            return NodeFit::NONE;
        }
        // spec §1.3 N3: nodeSelector AND required node affinity; parse errors mean no match.
        // Resources, host ports and `spec.unschedulable` are deliberately not considered.
        let matches = match self.spec {
            Some(spec) => {
                let labels = node.metadata.labels.as_ref().unwrap_or(empty_labels());
                pod_matches_node_name_and_labels(spec, name, labels)
            }
            None => true,
        };
        if !matches {
            return NodeFit::NONE;
        }
        // spec §1.3 N4: an untolerated NoSchedule taint keeps the existing pod, an untolerated
        // NoExecute taint removes it.
        let taints = node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_deref())
            .unwrap_or_default();
        let (should_run, should_continue_running) = daemon_taints_fit(taints, &self.tolerations);
        NodeFit {
            should_run,
            should_continue_running,
        }
    }
}

fn empty_labels() -> &'static BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    &EMPTY
}

/// Upstream `NodeShouldRunDaemonPod(node, ds)` as a one-shot call; prefer [`DaemonFitter`] in loops.
pub fn node_should_run_daemon_pod(node: &Node, ds: &DaemonSet) -> NodeFit {
    DaemonFitter::new(ds).fit(node)
}

fn labels_of(node: &Node) -> &BTreeMap<String, String> {
    node.metadata.labels.as_ref().unwrap_or(empty_labels())
}

fn taints_of(node: &Node) -> &[k8s_openapi::api::core::v1::Taint] {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default()
}

/// Upstream `shouldIgnoreNodeUpdate` (spec §1.1 C7): only label and taint changes can change
/// a node's fit; nil and empty compare equal, as with `apiequality.Semantic`.
pub fn should_ignore_node_update(old: &Node, new: &Node) -> bool {
    labels_of(old) == labels_of(new) && taints_of(old) == taints_of(new)
}

/// spec §1.1 C7 (newest): whether a changed node needs this DaemonSet synced — it should run
/// a pod and has none, it has a pod that may not stay, or it has a pod while the DaemonSet
/// reports misscheduled pods.
pub fn node_change_needs_sync(fit: NodeFit, has_pod: bool, number_misscheduled: i32) -> bool {
    if has_pod {
        !fit.should_continue_running || number_misscheduled > 0
    } else {
        fit.should_run
    }
}
