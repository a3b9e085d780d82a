//! Table tests of the planner, ported from upstream's `daemon_controller_test.go` and `update_test.go` (spec §5.2, §5.3), plus proptest invariants.

mod daemon_controller;
mod history;
mod props;
mod reference;
mod surge;
mod sync;
mod taints;
mod update;
mod update_more;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Pod, Toleration};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::fixtures::{new_daemon_set, new_pod, set_rolling_update, taint_node, template_spec};
use crate::testing::Sim;
use everynode_core::keys::EFFECT_NO_SCHEDULE;
use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    ResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Upstream `simpleNodeLabel`.
pub const SIMPLE_NODE_LABEL: &[(&str, &str)] = &[("color", "blue"), ("speed", "fast")];
/// Upstream `simpleNodeLabel2`.
pub const SIMPLE_NODE_LABEL2: &[(&str, &str)] = &[("color", "red"), ("speed", "fast")];
/// Upstream `simpleDaemonSetLabel`.
pub const DS_LABEL: &[(&str, &str)] = crate::fixtures::SIMPLE_DAEMON_LABELS;
/// Upstream `simpleDaemonSetLabel2`.
pub const DS_LABEL2: &[(&str, &str)] = &[("name", "simple-daemon"), ("type", "test")];

/// Upstream `updateStrategies()`: OnDelete, and RollingUpdate with maxUnavailable 1.
pub fn strategies(name: &str) -> Vec<DaemonSet> {
    let on_delete = new_daemon_set(name);
    let mut rolling = new_daemon_set(name);
    set_rolling_update(&mut rolling, IntOrString::Int(1), None);
    vec![on_delete, rolling]
}

/// Upstream `addPods`: `n` pods on `node`, named `<node>-<i>`-ish, owned by `ds`.
pub fn add_pods(
    pods: &mut Vec<Pod>,
    node: &str,
    labels: &[(&str, &str)],
    ds: &DaemonSet,
    n: usize,
) {
    let start = pods.len();
    for i in 0..n {
        pods.push(new_pod(
            &format!("{node}-{}", start + i),
            node,
            labels,
            Some(ds),
        ));
    }
}

/// A toleration with key, value and effect, operator Equal.
pub fn toleration(key: &str, value: &str, effect: &str) -> Toleration {
    Toleration {
        key: Some(key.to_string()),
        operator: Some("Equal".to_string()),
        value: Some(value.to_string()),
        effect: Some(effect.to_string()),
        toleration_seconds: None,
    }
}

pub fn no_schedule_taint(node: &mut k8s_openapi::api::core::v1::Node) {
    taint_node(node, "dedicated", "user1", EFFECT_NO_SCHEDULE);
}

pub fn resource_spec(
    ds: &mut k8s_openapi::api::apps::v1::DaemonSet,
    node_name: &str,
    memory: &str,
) {
    let spec = template_spec(ds);
    spec.node_name = (!node_name.is_empty()).then(|| node_name.to_string());
    spec.containers[0].resources = Some(ResourceRequirements {
        requests: Some(
            [
                ("memory".to_string(), Quantity(memory.to_string())),
                ("cpu".to_string(), Quantity("0.5".to_string())),
            ]
            .into_iter()
            .collect(),
        ),
        ..ResourceRequirements::default()
    });
}

pub fn color_affinity(values: &[&str]) -> Affinity {
    Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: "color".to_string(),
                        operator: "In".to_string(),
                        values: Some(values.iter().map(|v| v.to_string()).collect()),
                    }]),
                    match_fields: None,
                }],
            }),
            ..NodeAffinity::default()
        }),
        ..Affinity::default()
    }
}

/// Upstream `expectSyncDaemonSets`: one sync, then counts of creates, deletes, controller events,
/// and every create carries a controller ownerRef to the DaemonSet (checked by the Sim's pods).
pub fn expect_sync(sim: &mut Sim, creates: usize, deletes: usize, events: usize) {
    let got = sim.sync();
    assert_eq!(
        (got.creates.len(), got.deletes.len(), got.events.len()),
        (creates, deletes, events),
        "creates/deletes/events; plan deletes: {:?}",
        got.deletes
    );
    for pod in &sim.pods {
        let owner = everynode_core::pod::controller_ref(&pod.metadata);
        if pod.metadata.generate_name.is_none()
            && pod.metadata.creation_timestamp == Some(Time(sim.now))
        {
            let owner = owner.expect("created pods carry a controller ref");
            assert_eq!(
                (owner.api_version.as_str(), owner.kind.as_str()),
                ("apps/v1", "DaemonSet")
            );
        }
    }
}
