//! Table tests of the planner, ported from upstream's `daemon_controller_test.go` and `update_test.go` (spec §5.2, §5.3), plus proptest invariants.

mod daemon_controller;
mod history;
mod props;
mod surge;
mod update;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Pod, Toleration};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::fixtures::{new_daemon_set, new_pod, set_rolling_update};

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
