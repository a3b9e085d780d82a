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
use k8s_openapi::api::core::v1::{Node, Pod, Toleration};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use proptest::prelude::*;

use super::*;
use crate::fixtures::*;
use crate::plan::should_run::{DaemonFitter, NodeFit};
use crate::testing::{Sim, t0};

const TAINTS: &[(&str, &str, &str)] = &[
    ("dedicated", "x", EFFECT_NO_SCHEDULE),
    ("dedicated", "x", EFFECT_NO_EXECUTE),
    ("gpu", "", EFFECT_NO_SCHEDULE),
    ("soft", "", "PreferNoSchedule"),
    (TAINT_NODE_NOT_READY, "", EFFECT_NO_EXECUTE),
];

#[derive(Debug, Clone)]
struct NodeGen {
    blue: bool,
    zone_a: bool,
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

#[derive(Debug, Clone)]
struct DsGen {
    select_blue: bool,
    affinity_zone_a: bool,
    tolerations: u8,
    /// 0 OnDelete, 1 RollingUpdate maxUnavailable, 2 RollingUpdate maxSurge.
    strategy: u8,
    budget: i32,
}

fn node_gen() -> impl Strategy<Value = NodeGen> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(0..TAINTS.len(), 0..3),
    )
        .prop_map(|(blue, zone_a, taints)| NodeGen {
            blue,
            zone_a,
            taints,
        })
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

fn ds_gen() -> impl Strategy<Value = DsGen> {
    (any::<bool>(), any::<bool>(), 0u8..4, 0u8..3, 1i32..4).prop_map(
        |(select_blue, affinity_zone_a, tolerations, strategy, budget)| DsGen {
            select_blue,
            affinity_zone_a,
            tolerations,
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
    if g.affinity_zone_a {
        spec.affinity = Some(zone_affinity());
    }
    let mut tolerations = Vec::new();
    if g.tolerations & 1 != 0 {
        tolerations.push(toleration("dedicated", "x", EFFECT_NO_SCHEDULE));
    }
    if g.tolerations & 2 != 0 {
        tolerations.push(Toleration {
            key: Some("dedicated".to_string()),
            operator: Some("Exists".to_string()),
            effect: Some(EFFECT_NO_EXECUTE.to_string()),
            ..Toleration::default()
        });
    }
    spec.tolerations = (!tolerations.is_empty()).then_some(tolerations);
    ds
}

fn zone_affinity() -> k8s_openapi::api::core::v1::Affinity {
    use k8s_openapi::api::core::v1::{
        Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
    };
    Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(vec![NodeSelectorRequirement {
                        key: "zone".to_string(),
                        operator: "In".to_string(),
                        values: Some(vec!["a".to_string()]),
                    }]),
                    match_fields: None,
                }],
            }),
            ..NodeAffinity::default()
        }),
        ..Affinity::default()
    }
}

fn build_nodes(gens: &[NodeGen]) -> Vec<Node> {
    gens.iter()
        .enumerate()
        .map(|(i, g)| {
            let color = if g.blue { "blue" } else { "red" };
            let zone = if g.zone_a { "a" } else { "b" };
            let mut node = new_node(&format!("node-{i}"), &[("color", color), ("zone", zone)]);
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

fn fits(sim: &Sim) -> Vec<(String, NodeFit)> {
    let fitter = DaemonFitter::new(&sim.ds);
    sim.nodes
        .iter()
        .map(|n| (n.metadata.name.clone().unwrap_or_default(), fitter.fit(n)))
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
                for (node, ps) in &by_node {
                    let new = ps.iter().filter(|p| p.metadata.labels.as_ref().and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL)) == Some(&hash)).count();
                    prop_assert!(new <= 1 && ps.len() - new <= 1, "one old + one new at most on {}", node);
                }
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
