//! Property tests: on random clusters the planner converges to one pod per eligible node, never touches foreign pods, and rolls out within its budget.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use everynode_core::affinity::{get_target_node_name, pin_pod_spec_to_node};
use everynode_core::keys::{
    CONTROLLER_REVISION_HASH_LABEL, EFFECT_NO_EXECUTE, EFFECT_NO_SCHEDULE, POD_FAILED,
    TAINT_NODE_NOT_READY,
};
use everynode_core::labels::Selector;
use everynode_core::pod::{controller_ref, is_pod_available};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    Toleration,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use proptest::prelude::*;

use super::reference::{RefFit, reference_fit};
use super::*;
use crate::fixtures::*;
use crate::testing::{Sim, t0};

const TAINTS: &[(&str, &str, &str)] = &[
    ("dedicated", "x", EFFECT_NO_SCHEDULE),
    ("dedicated", "x", EFFECT_NO_EXECUTE),
    ("gpu", "", EFFECT_NO_SCHEDULE),
    ("soft", "", "PreferNoSchedule"),
    (TAINT_NODE_NOT_READY, "", EFFECT_NO_EXECUTE),
    ("node.kubernetes.io/unschedulable", "", EFFECT_NO_SCHEDULE),
    (
        "node.kubernetes.io/network-unavailable",
        "",
        EFFECT_NO_SCHEDULE,
    ),
];

/// Label keys the random affinity talks about, with the values nodes may carry.
const KEYS: &[(&str, &[&str])] = &[
    ("color", &["blue", "red", "green"]),
    ("zone", &["a", "b", "c"]),
    ("rank", &["0", "1", "2", "3", "4", "5"]),
];
const OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"];

#[derive(Debug, Clone)]
struct NodeGen {
    /// Per entry of `KEYS`: the index of the node's value, or no label.
    labels: Vec<Option<usize>>,
    taints: Vec<usize>,
}

#[derive(Debug, Clone)]
struct PodGen {
    node: usize,
    /// 0 owned+matching, 1 orphan matching, 2 owned by another DS, 3 orphan not matching,
    /// 4 owned but not matching (released, never deleted).
    kind: u8,
    failed: bool,
    unbound: bool,
}

/// One random requirement: key (index into `KEYS`), operator (into `OPERATORS`), value indices.
type ReqGen = (usize, usize, Vec<usize>);

#[derive(Debug, Clone)]
struct DsGen {
    select_blue: bool,
    /// Required node affinity: terms (ORed) of requirements (ANDed), plus an optional
    /// `metadata.name In [node-i]` field requirement per term.
    affinity: Option<Vec<(Vec<ReqGen>, Option<usize>)>>,
    tolerations: Vec<usize>,
    host_network: bool,
    /// 0 OnDelete, 1 RollingUpdate maxUnavailable, 2 RollingUpdate maxSurge.
    strategy: u8,
    budget: i32,
}

fn node_gen() -> impl Strategy<Value = NodeGen> {
    (
        prop::collection::vec(prop::option::weighted(0.8, 0usize..6), KEYS.len()),
        prop::collection::vec(0..TAINTS.len(), 0..3),
    )
        .prop_map(|(labels, taints)| NodeGen { labels, taints })
}

fn pod_gen(nodes: usize) -> impl Strategy<Value = PodGen> {
    (
        0..nodes,
        0u8..5,
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(node, kind, failed, unbound)| PodGen {
            node,
            kind,
            failed,
            unbound,
        })
}

fn req_gen() -> impl Strategy<Value = ReqGen> {
    (
        0..KEYS.len(),
        0..OPERATORS.len(),
        prop::collection::vec(0usize..6, 1..3),
    )
}

fn affinity_gen() -> impl Strategy<Value = Option<Vec<(Vec<ReqGen>, Option<usize>)>>> {
    prop::option::weighted(
        0.7,
        prop::collection::vec(
            (
                prop::collection::vec(req_gen(), 1..3),
                prop::option::weighted(0.15, 0usize..12),
            ),
            1..3,
        ),
    )
}

fn ds_gen() -> impl Strategy<Value = DsGen> {
    (
        prop::bool::weighted(0.3),
        affinity_gen(),
        prop::collection::vec(0..TOLERATIONS.len(), 0..3),
        any::<bool>(),
        0u8..3,
        1i32..4,
    )
        .prop_map(
            |(select_blue, affinity, tolerations, host_network, strategy, budget)| DsGen {
                select_blue,
                affinity,
                tolerations,
                host_network,
                strategy,
                budget,
            },
        )
}

fn cluster() -> impl Strategy<Value = (Vec<NodeGen>, Vec<PodGen>, DsGen)> {
    prop::collection::vec(node_gen(), 1..12).prop_flat_map(|nodes| {
        let n = nodes.len();
        (
            Just(nodes),
            prop::collection::vec(pod_gen(n), 0..20),
            ds_gen(),
        )
    })
}

/// The toleration pool: (key, operator, value, effect); empty strings mean unset.
const TOLERATIONS: &[(&str, &str, &str, &str)] = &[
    ("dedicated", "Equal", "x", EFFECT_NO_SCHEDULE),
    ("dedicated", "Exists", "", EFFECT_NO_EXECUTE),
    ("dedicated", "Equal", "y", ""),
    ("gpu", "Exists", "", ""),
    ("", "Exists", "", ""),
];

fn requirement((key, op, values): &ReqGen) -> NodeSelectorRequirement {
    let (key, domain) = KEYS[*key];
    let operator = OPERATORS[*op];
    let values = match operator {
        "Exists" | "DoesNotExist" => None,
        // Gt/Lt take exactly one integer, whatever the key.
        "Gt" | "Lt" => Some(vec![values[0].to_string()]),
        _ => Some(
            values
                .iter()
                .map(|&v| domain[v % domain.len()].to_string())
                .collect(),
        ),
    };
    NodeSelectorRequirement {
        key: key.to_string(),
        operator: operator.to_string(),
        values,
    }
}

fn build_ds(g: &DsGen) -> DaemonSet {
    let mut ds = new_daemon_set("prop");
    match g.strategy {
        1 => set_rolling_update(&mut ds, IntOrString::Int(g.budget), None),
        2 => set_rolling_update(
            &mut ds,
            IntOrString::Int(0),
            Some(IntOrString::Int(g.budget)),
        ),
        _ => {}
    }
    let spec = template_spec(&mut ds);
    if g.select_blue {
        spec.node_selector = Some(labels(&[("color", "blue")]));
    }
    if let Some(terms) = &g.affinity {
        let terms = terms
            .iter()
            .map(|(reqs, field)| NodeSelectorTerm {
                match_expressions: Some(reqs.iter().map(requirement).collect()),
                match_fields: field.map(|i| {
                    vec![NodeSelectorRequirement {
                        key: "metadata.name".to_string(),
                        operator: "In".to_string(),
                        values: Some(vec![format!("node-{i}")]),
                    }]
                }),
            })
            .collect();
        spec.affinity = Some(Affinity {
            node_affinity: Some(NodeAffinity {
                required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                    node_selector_terms: terms,
                }),
                ..NodeAffinity::default()
            }),
            ..Affinity::default()
        });
    }
    let tolerations: Vec<Toleration> = g
        .tolerations
        .iter()
        .map(|&i| {
            let (key, operator, value, effect) = TOLERATIONS[i];
            let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
            Toleration {
                key: some(key),
                operator: some(operator),
                value: some(value),
                effect: some(effect),
                toleration_seconds: None,
            }
        })
        .collect();
    spec.tolerations = (!tolerations.is_empty()).then_some(tolerations);
    spec.host_network = g.host_network.then_some(true);
    ds
}

fn build_nodes(gens: &[NodeGen]) -> Vec<Node> {
    gens.iter()
        .enumerate()
        .map(|(i, g)| {
            let node_labels: Vec<(&str, &str)> = KEYS
                .iter()
                .zip(&g.labels)
                .filter_map(|(&(key, domain), v)| v.map(|v| (key, domain[v % domain.len()])))
                .collect();
            let mut node = new_node(&format!("node-{i}"), &node_labels);
            for &t in &g.taints {
                let (k, v, e) = TAINTS[t];
                taint_node(&mut node, k, v, e);
            }
            node
        })
        .collect()
}

fn build_pods(gens: &[PodGen], ds: &DaemonSet) -> Vec<Pod> {
    let mut other = new_daemon_set("other");
    other.metadata.uid = Some("uid-other".to_string());
    gens.iter()
        .enumerate()
        .map(|(i, g)| {
            let node = format!("node-{}", g.node);
            let bound = if g.unbound { "" } else { node.as_str() };
            let mut pod = match g.kind {
                0 => new_pod(&format!("stray-{i}"), bound, DS_LABEL, Some(ds)),
                1 => new_pod(&format!("orphan-{i}"), bound, DS_LABEL, None),
                2 => new_pod(&format!("foreign-{i}"), bound, DS_LABEL, Some(&other)),
                3 => new_pod(&format!("unrelated-{i}"), bound, &[("app", "other")], None),
                _ => new_pod(&format!("released-{i}"), bound, DS_LABEL2, Some(ds)),
            };
            if g.unbound
                && let Some(spec) = pod.spec.as_mut()
            {
                pin_pod_spec_to_node(spec, &node);
            }
            if g.failed {
                set_phase(&mut pod, POD_FAILED);
            }
            set_created(&mut pod, t0());
            set_ready(&mut pod, !g.failed, t0());
            pod
        })
        .collect()
}

fn is_foreign(pod: &Pod, ds: &DaemonSet) -> bool {
    let name = pod.metadata.name.as_deref().unwrap_or("");
    name.starts_with("foreign-")
        || name.starts_with("unrelated-")
        || name.starts_with("released-")
        || controller_ref(&pod.metadata).is_some_and(|r| Some(&r.uid) != ds.metadata.uid.as_ref())
}

/// The DaemonSet's live pods per target node.
fn ds_pods_by_node(sim: &Sim) -> BTreeMap<String, Vec<&Pod>> {
    let selector =
        Selector::from_label_selector(sim.ds.spec.as_ref().map(|s| &s.selector)).expect("selector");
    let mut out: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    for pod in &sim.pods {
        let owned = controller_ref(&pod.metadata)
            .is_some_and(|r| Some(&r.uid) == sim.ds.metadata.uid.as_ref());
        if owned
            && selector.matches_opt(pod.metadata.labels.as_ref())
            && pod.metadata.deletion_timestamp.is_none()
            && let Ok(node) = get_target_node_name(pod)
        {
            out.entry(node).or_default().push(pod);
        }
    }
    out
}

/// Every node's verdict, from the independent reference (never the planner's own fitter).
fn fits(sim: &Sim) -> Vec<(String, RefFit)> {
    sim.nodes
        .iter()
        .map(|n| {
            (
                n.metadata.name.clone().unwrap_or_default(),
                reference_fit(&sim.ds, n),
            )
        })
        .collect()
}

/// Syncs as a real cluster would until a plan changes nothing; returns the number of syncs.
fn converge(sim: &mut Sim) -> usize {
    let surge = crate::plan::budget::allows_surge(&sim.ds);
    for i in 0..60 {
        let p = sim.sync_real();
        if !surge {
            // Outside a surge a create never lands next to another pod of the DaemonSet.
            let by_node = ds_pods_by_node(sim);
            for node in &p.creates {
                assert_eq!(
                    by_node.get(node).map_or(0, Vec::len),
                    1,
                    "second pod created on {node}"
                );
            }
        }
        if p.creates.is_empty() && p.deletes.is_empty() && p.requeue_after.is_none() {
            return i;
        }
        // Past any failed-pod backoff window.
        sim.advance(Duration::from_secs(3600));
    }
    panic!("did not converge");
}

fn new_sim(nodes: &[NodeGen], pods: &[PodGen], d: &DsGen) -> Sim {
    let ds = build_ds(d);
    let pods = build_pods(pods, &ds);
    let mut sim = Sim::new(ds, build_nodes(nodes), pods);
    sim.bind_on_create = true;
    sim.ready_on_create = true;
    sim
}

fn check_converged(sim: &Sim) -> Result<(), TestCaseError> {
    let by_node = ds_pods_by_node(sim);
    for (node, fit) in fits(sim) {
        let n = by_node.get(&node).map_or(0, Vec::len);
        if fit.should_run {
            prop_assert_eq!(n, 1, "exactly one pod on eligible {}", node);
        } else if !fit.should_continue_running {
            prop_assert_eq!(
                n,
                0,
                "no pod on {} (untolerated NoExecute or unselected)",
                node
            );
        } else {
            prop_assert!(n <= 1, "at most the kept pod on {}", node);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn converges_to_one_pod_per_eligible_node((nodes, pods, d) in cluster()) {
        let mut sim = new_sim(&nodes, &pods, &d);
        let foreign_before: Vec<Pod> = sim.pods.iter().filter(|p| is_foreign(p, &sim.ds)).cloned().collect();
        converge(&mut sim);
        check_converged(&sim)?;
        let foreign_after: Vec<Pod> = sim.pods.iter().filter(|p| is_foreign(p, &sim.ds)).cloned().collect();
        prop_assert_eq!(foreign_before, foreign_after, "foreign pods untouched");
        // The status agrees with the converged cluster.
        let desired = fits(&sim).iter().filter(|(_, f)| f.should_run).count() as i32;
        let status = sim.ds.status.clone().unwrap_or_default();
        prop_assert_eq!(status.desired_number_scheduled, desired);
        prop_assert_eq!(status.current_number_scheduled, desired);
        prop_assert_eq!(status.number_ready, desired);
    }

    #[test]
    fn rolling_update_respects_budget((nodes, pods, d) in cluster()) {
        let mut d = d;
        if d.strategy == 0 {
            d.strategy = 1;
        }
        let mut sim = new_sim(&nodes, &pods, &d);
        converge(&mut sim);
        // Roll out a new template; new pods become Ready one sync after creation.
        template_spec(&mut sim.ds).containers[0].image = Some("foo/v2".to_string());
        sim.ready_on_create = false;
        let eligible: BTreeSet<String> =
            fits(&sim).into_iter().filter(|(_, f)| f.should_run).map(|(n, _)| n).collect();
        let mut done = false;
        for _ in 0..80 {
            let p = sim.sync_real();
            let hash = p.history.as_ref().map(|h| h.hash.clone()).unwrap_or_default();
            let by_node = ds_pods_by_node(&sim);
            let unavailable = eligible
                .iter()
                .filter(|n| !by_node.get(*n).is_some_and(|ps| ps.iter().any(|p| is_pod_available(p, 0, sim.now))))
                .count() as i32;
            if d.strategy == 1 {
                prop_assert!(unavailable <= d.budget, "unavailable {} > maxUnavailable {}", unavailable, d.budget);
            } else {
                prop_assert_eq!(unavailable, 0, "surge keeps every node available");
                let mut surging = 0;
                for (node, ps) in &by_node {
                    let new = ps.iter().filter(|p| p.metadata.labels.as_ref().and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL)) == Some(&hash)).count();
                    let old = ps.len() - new;
                    prop_assert!(new <= 1 && old <= 1, "one old + one new at most on {}: {} old, {} new", node, old, new);
                    if new == 1 && old == 1 {
                        surging += 1;
                    }
                }
                // Every old pod is Available here, so no surge is allowed outside the budget.
                prop_assert!(surging <= d.budget, "{} nodes surging > maxSurge {}", surging, d.budget);
            }
            let all_new = eligible.iter().all(|n| by_node.get(n).is_some_and(|ps| ps.len() == 1 && ps.iter().all(|p| p.metadata.labels.as_ref().and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL)) == Some(&hash))));
            sim.mark_all_ready();
            sim.advance(Duration::from_secs(3600));
            if all_new && p.creates.is_empty() && p.deletes.is_empty() {
                done = true;
                break;
            }
        }
        prop_assert!(done, "rollout finished");
    }
}
