//! Ports of the longer `update_test.go` scenarios (spec §5.3): surge with taints, crafted unavailability, clock-driven surge.

use everynode_core::keys::{
    CONTROLLER_REVISION_HASH_LABEL, EFFECT_NO_SCHEDULE, TAINT_NODE_CONTROL_PLANE,
};
use everynode_core::pod::is_pod_ready;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Toleration;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::fixtures::*;
use crate::testing::Sim;

fn expect(sim: &mut Sim, creates: usize, deletes: usize) {
    let got = sim.sync();
    assert_eq!(
        (got.creates.len(), got.deletes.len(), got.events.len()),
        (creates, deletes, 0),
        "at {}: deletes {:?}",
        sim.now,
        got.deletes
    );
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn hash_of(pod: &k8s_openapi::api::core::v1::Pod) -> Option<&String> {
    pod.metadata
        .labels
        .as_ref()?
        .get(CONTROLLER_REVISION_HASH_LABEL)
}

fn current_hash(sim: &Sim) -> String {
    sim.plan().history.map(|h| h.hash).unwrap_or_default()
}

#[test]
fn daemon_set_updates_pods_not_match_tainst_with_max_surge() {
    let mut ds = new_daemon_set("foo");
    set_rolling_update(&mut ds, IntOrString::Int(0), Some(IntOrString::Int(1)));
    template_spec(&mut ds).tolerations = Some(vec![Toleration {
        key: Some(TAINT_NODE_CONTROL_PLANE.to_string()),
        operator: Some("Exists".to_string()),
        ..Toleration::default()
    }]);
    let mut nodes = new_nodes(0, 5, &[]);
    taint_node(
        &mut nodes[0],
        TAINT_NODE_CONTROL_PLANE,
        "",
        EFFECT_NO_SCHEDULE,
    );
    let mut sim = Sim::new(ds, nodes, vec![]);
    expect(&mut sim, 5, 0);
    sim.mark_all_ready();
    // Dropping the toleration moves the DaemonSet off node-0: its pod goes in the first round
    // because availability exceeds the desired count (spec §2.5).
    template_spec(&mut sim.ds).tolerations = None;
    expect(&mut sim, 1, 1);
    assert!(sim.pods.iter().all(|p| {
        everynode_core::affinity::get_target_node_name(p)
            .ok()
            .as_deref()
            != Some("node-0")
    }));
    for _ in 0..3 {
        expect(&mut sim, 0, 0);
        sim.mark_all_ready();
        expect(&mut sim, 1, 1);
    }
    expect(&mut sim, 0, 0);
    sim.mark_all_ready();
    expect(&mut sim, 0, 1);
    expect(&mut sim, 0, 0);
    assert_eq!(sim.pods.len(), 4);
}

#[test]
fn daemon_set_updates_all_old_not_ready_pods_and_new_not_ready_pods() {
    let mut sim = Sim::new(new_daemon_set("foo"), new_nodes(0, 100, &[]), vec![]);
    expect(&mut sim, 100, 0);
    sim.mark_all_ready();
    let hash1 = sim
        .pods
        .first()
        .and_then(hash_of)
        .cloned()
        .unwrap_or_default();
    template_spec(&mut sim.ds).containers[0].image = Some("foo2/bar2".to_string());
    set_rolling_update(&mut sim.ds, IntOrString::Int(10), None);
    for _ in 0..10 {
        expect(&mut sim, 0, 10);
        expect(&mut sim, 10, 0);
        sim.mark_all_ready();
    }
    expect(&mut sim, 0, 0);
    // 10 available old, 2 unavailable old, 88 unavailable new; maxUnavailable 10.
    let now = sim.now;
    let mut old_unavailable = Vec::new();
    for (i, pod) in sim.pods.iter_mut().enumerate() {
        if i >= 10 {
            set_ready(pod, false, now);
        }
        if i < 12 {
            if let Some(l) = pod.metadata.labels.as_mut() {
                l.insert(CONTROLLER_REVISION_HASH_LABEL.to_string(), hash1.clone());
            }
            if i >= 10 {
                old_unavailable.push(pod.metadata.name.clone().unwrap_or_default());
            }
        }
    }
    expect(&mut sim, 0, 2);
    expect(&mut sim, 2, 0);
    expect(&mut sim, 0, 0);
    for name in &old_unavailable {
        assert!(
            sim.pods
                .iter()
                .all(|p| p.metadata.name.as_ref() != Some(name)),
            "{name} replaced"
        );
    }
}

/// Upstream `setPodReadiness`: flips up to `count` live pods matching `pick` to `ready` at now.
fn set_readiness(
    sim: &mut Sim,
    ready: bool,
    count: usize,
    pick: impl Fn(&Sim, &k8s_openapi::api::core::v1::Pod) -> bool,
) {
    let chosen: Vec<usize> = sim
        .pods
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.metadata.deletion_timestamp.is_none() && is_pod_ready(p) != ready && pick(sim, p)
        })
        .map(|(i, _)| i)
        .take(count)
        .collect();
    assert_eq!(
        chosen.len(),
        count,
        "could not mark {count} pods ready={ready}"
    );
    let now = sim.now;
    for i in chosen {
        set_ready(&mut sim.pods[i], ready, now);
    }
}

#[test]
fn daemon_set_updates_all_old_pods_not_ready_max_surge() {
    let mut sim = Sim::new(new_daemon_set("foo"), new_nodes(0, 5, &[]), vec![]);
    expect(&mut sim, 5, 0);
    template_spec(&mut sim.ds).containers[0].image = Some("foo2/bar2".to_string());
    set_rolling_update(&mut sim.ds, IntOrString::Int(0), Some(IntOrString::Int(3)));
    // All old pods are unavailable: surge onto every node, outside the budget.
    sim.now = at(100);
    expect(&mut sim, 5, 0);
    // The old pods are not Ready: manage removes them.
    sim.now = at(200);
    expect(&mut sim, 0, 5);
    set_readiness(&mut sim, true, 5, |_, _| true);
    if let Some(spec) = sim.ds.spec.as_mut() {
        spec.min_ready_seconds = Some(15);
    }
    template_spec(&mut sim.ds).containers[0].image = Some("foo3/bar3".to_string());
    sim.now = at(300);
    expect(&mut sim, 3, 0);
    let hash = current_hash(&sim);
    let nodes_with_new: Vec<String> = sim
        .pods
        .iter()
        .filter(|p| hash_of(p) == Some(&hash))
        .filter_map(|p| everynode_core::affinity::get_target_node_name(p).ok())
        .collect();
    set_readiness(&mut sim, true, 2, |_, p| hash_of(p) == Some(&hash));
    set_readiness(&mut sim, false, 1, |_, p| {
        let node = everynode_core::affinity::get_target_node_name(p).unwrap_or_default();
        hash_of(p) != Some(&hash) && !nodes_with_new.contains(&node)
    });
    // New pods still short of minReadySeconds: only the node whose old pod went unready surges.
    sim.now = at(310);
    expect(&mut sim, 1, 0);
    // The two new pods are Available: their old pods go, plus the unready old one; one more surge.
    sim.now = at(320);
    expect(&mut sim, 1, 3);
    set_readiness(&mut sim, true, 3, |_, p| hash_of(p) == Some(&hash));
    sim.now = at(340);
    expect(&mut sim, 0, 2);
    sim.now = at(350);
    expect(&mut sim, 0, 0);
}
