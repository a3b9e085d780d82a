//! Terse builders for nodes, DaemonSets and pods, shaped like upstream's unit-test helpers (spec §5.1); used by tests and benches.

use std::collections::BTreeMap;

use everynode_core::keys::{CONDITION_TRUE, CONTROLLER_REVISION_HASH_LABEL, NODE_READY, POD_READY};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, DaemonSetUpdateStrategy, RollingUpdateDaemonSet,
};
use k8s_openapi::api::core::v1::{
    Container, Node, NodeCondition, NodeSpec, NodeStatus, Pod, PodCondition, PodSpec, PodStatus,
    PodTemplateSpec, Taint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::plan::budget::{STRATEGY_ON_DELETE, STRATEGY_ROLLING_UPDATE};
use crate::plan::hash::compute_hash;
use crate::plan::pod_template::controller_owner_ref;

/// Namespace of every fixture object.
pub const NAMESPACE: &str = "default";
/// Upstream `simpleDaemonSetLabel`.
pub const SIMPLE_DAEMON_LABELS: &[(&str, &str)] =
    &[("name", "simple-daemon"), ("type", "production")];

/// A label map from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// Upstream `newDaemonSet`: namespace `default`, UID `uid-<name>`, history limit 2, OnDelete,
/// simple-daemon labels, one `foo/bar` container, dnsPolicy Default.
pub fn new_daemon_set(name: &str) -> DaemonSet {
    DaemonSet {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(NAMESPACE.to_string()),
            uid: Some(format!("uid-{name}")),
            ..ObjectMeta::default()
        },
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(labels(SIMPLE_DAEMON_LABELS)),
                match_expressions: None,
            },
            revision_history_limit: Some(2),
            update_strategy: Some(DaemonSetUpdateStrategy {
                type_: Some(STRATEGY_ON_DELETE.to_string()),
                rolling_update: None,
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(SIMPLE_DAEMON_LABELS)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "foo".to_string(),
                        image: Some("foo/bar".to_string()),
                        ..Container::default()
                    }],
                    dns_policy: Some("Default".to_string()),
                    ..PodSpec::default()
                }),
            },
            min_ready_seconds: None,
        }),
        status: None,
    }
}

/// Switches `ds` to RollingUpdate with the given budgets.
pub fn set_rolling_update(
    ds: &mut DaemonSet,
    max_unavailable: IntOrString,
    max_surge: Option<IntOrString>,
) {
    if let Some(spec) = ds.spec.as_mut() {
        spec.update_strategy = Some(DaemonSetUpdateStrategy {
            type_: Some(STRATEGY_ROLLING_UPDATE.to_string()),
            rolling_update: Some(RollingUpdateDaemonSet {
                max_unavailable: Some(max_unavailable),
                max_surge,
            }),
        });
    }
}

/// The template's pod spec, for edits in tests.
pub fn template_spec(ds: &mut DaemonSet) -> &mut PodSpec {
    let spec = ds.spec.get_or_insert_with(Default::default);
    spec.template.spec.get_or_insert_with(Default::default)
}

/// Upstream `newNode`: a Ready node with the given labels.
pub fn new_node(name: &str, node_labels: &[(&str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels(node_labels)),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: NODE_READY.to_string(),
                status: CONDITION_TRUE.to_string(),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        }),
    }
}

/// Upstream `addNodes`: nodes `node-<start>` … `node-<start+n-1>`.
pub fn new_nodes(start: usize, n: usize, node_labels: &[(&str, &str)]) -> Vec<Node> {
    (start..start + n)
        .map(|i| new_node(&format!("node-{i}"), node_labels))
        .collect()
}

/// Adds a taint to a node.
pub fn taint_node(node: &mut Node, key: &str, value: &str, effect: &str) {
    let spec = node.spec.get_or_insert_with(Default::default);
    spec.taints.get_or_insert_with(Vec::new).push(Taint {
        key: key.to_string(),
        value: (!value.is_empty()).then(|| value.to_string()),
        effect: effect.to_string(),
        time_added: None,
    });
}

/// Upstream `newPod`: bound to `node` if non-empty; with `ds`, the hash label of its template
/// and a controller ownerRef to it.
pub fn new_pod(name: &str, node: &str, pod_labels: &[(&str, &str)], ds: Option<&DaemonSet>) -> Pod {
    let mut label_map = labels(pod_labels);
    let mut owner_references = None;
    if let Some(ds) = ds {
        let collision = ds.status.as_ref().and_then(|s| s.collision_count);
        if let Some(Ok(hash)) = ds
            .spec
            .as_ref()
            .map(|s| compute_hash(&s.template, collision))
        {
            label_map.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), hash);
        }
        owner_references = Some(vec![controller_owner_ref(ds)]);
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(NAMESPACE.to_string()),
            labels: Some(label_map),
            owner_references,
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            node_name: (!node.is_empty()).then(|| node.to_string()),
            containers: vec![Container {
                name: "foo".to_string(),
                image: Some("foo/bar".to_string()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        status: Some(PodStatus::default()),
    }
}

/// Sets the pod's Ready condition (True since `since`, or False).
pub fn set_ready(pod: &mut Pod, ready: bool, since: Timestamp) {
    let status = pod.status.get_or_insert_with(Default::default);
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    conditions.retain(|c| c.type_ != POD_READY);
    conditions.push(PodCondition {
        type_: POD_READY.to_string(),
        status: if ready { CONDITION_TRUE } else { "False" }.to_string(),
        last_transition_time: Some(Time(since)),
        ..PodCondition::default()
    });
}

/// Sets the pod's phase.
pub fn set_phase(pod: &mut Pod, phase: &str) {
    pod.status.get_or_insert_with(Default::default).phase = Some(phase.to_string());
}

/// Marks the pod as terminating.
pub fn set_terminating(pod: &mut Pod, at: Timestamp) {
    pod.metadata.deletion_timestamp = Some(Time(at));
}

/// Sets the creation timestamp.
pub fn set_created(pod: &mut Pod, at: Timestamp) {
    pod.metadata.creation_timestamp = Some(Time(at));
}
