//! Ports of upstream's `TestSurge*` cases from `daemon_controller_test.go` (spec §5.2): manage-time pruning with maxSurge.

use std::collections::BTreeSet;

use everynode_core::keys::CONTROLLER_REVISION_HASH_LABEL;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::fixtures::*;
use crate::testing::Sim;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn surge_ds(min_ready: i32) -> DaemonSet {
    let mut ds = new_daemon_set("foo");
    set_rolling_update(&mut ds, IntOrString::Int(0), Some(IntOrString::Int(1)));
    if let Some(spec) = ds.spec.as_mut() {
        spec.min_ready_seconds = Some(min_ready);
    }
    ds
}

/// A pod of `ds` on `node`; `old` drops the hash label; `ready` = Some(since) marks it Ready.
fn pod(
    ds: &DaemonSet,
    name: &str,
    node: &str,
    created: i64,
    old: bool,
    ready: Option<Option<i64>>,
) -> Pod {
    let mut p = new_pod(name, node, DS_LABEL, Some(ds));
    if old && let Some(l) = p.metadata.labels.as_mut() {
        l.remove(CONTROLLER_REVISION_HASH_LABEL);
    }
    set_created(&mut p, at(created));
    match ready {
        Some(Some(since)) => set_ready(&mut p, true, at(since)),
        Some(None) => {
            set_ready(&mut p, true, at(0));
            // Upstream sets no lastTransitionTime here; minReadySeconds is 0 in these cases.
            if let Some(c) = p.status.as_mut().and_then(|s| s.conditions.as_mut()) {
                c[0].last_transition_time = None;
            }
        }
        None => {}
    }
    p
}

fn deleted(sim_sync: &crate::testing::Synced) -> BTreeSet<String> {
    sim_sync.deletes.iter().map(|d| d.name.clone()).collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn surge_preserves_ready_old_pods() {
    let ds = surge_ds(0);
    let pods = vec![
        pod(&ds, "node-1-", "node-1", 100, false, None),
        pod(&ds, "node-1-old-", "node-1", 50, true, Some(None)),
        pod(&ds, "node-1-delete-", "node-1", 60, true, Some(None)),
        new_pod("node-2-0", "node-2", DS_LABEL, Some(&ds)),
    ];
    let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), pods);
    let got = sim.sync();
    assert_eq!((got.creates.len(), got.deletes.len()), (3, 1));
    assert_eq!(deleted(&got), names(&["node-1-delete-"]));
}

#[test]
fn surge_creates_new_pod_when_at_max_surge_and_old_pod_deleted() {
    let ds = surge_ds(0);
    let mut pods = vec![pod(&ds, "node-0-", "node-0", 100, false, None)];
    if let Some(c) = pods[0].status.as_mut() {
        c.conditions = None;
    }
    set_ready(&mut pods[0], false, at(100));
    pods.push(pod(
        &ds,
        "node-0-old-ready-",
        "node-0",
        50,
        true,
        Some(None),
    ));
    for i in 1..5 {
        let mut p = pod(
            &ds,
            &format!("node-{i}-preserve-"),
            &format!("node-{i}"),
            1,
            true,
            Some(None),
        );
        if i == 4 {
            set_terminating(&mut p, at(31));
        }
        pods.push(p);
    }
    let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), pods);
    let got = sim.sync();
    assert_eq!((got.creates.len(), got.deletes.len()), (1, 0));
    assert_eq!(got.creates, vec!["node-4".to_string()]);
}

#[test]
fn surge_deletes_unready_old_pods() {
    let ds = surge_ds(0);
    let mut unready = pod(&ds, "node-1-old-unready-", "node-1", 50, true, None);
    set_ready(&mut unready, false, at(50));
    let pods = vec![
        pod(&ds, "node-1-", "node-1", 100, false, None),
        unready,
        pod(&ds, "node-1-delete-", "node-1", 60, true, Some(None)),
        new_pod("node-2-0", "node-2", DS_LABEL, Some(&ds)),
    ];
    let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), pods);
    let got = sim.sync();
    assert_eq!((got.creates.len(), got.deletes.len()), (3, 2));
    assert_eq!(
        deleted(&got),
        names(&["node-1-delete-", "node-1-old-unready-"])
    );
}

fn min_ready_case(clock: i64) -> crate::testing::Synced {
    let ds = surge_ds(15);
    let pods = vec![
        pod(&ds, "node-1-", "node-1", 100, false, Some(Some(50))),
        pod(&ds, "node-1-old-ready-", "node-1", 50, true, Some(Some(0))),
        pod(&ds, "node-1-delete-", "node-1", 60, true, Some(Some(0))),
        new_pod("node-2-0", "node-2", DS_LABEL, Some(&ds)),
    ];
    let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), pods);
    sim.now = at(clock);
    sim.sync()
}

#[test]
fn surge_preserves_old_ready_with_unsatisfied_min_ready() {
    let got = min_ready_case(50 + 10);
    assert_eq!((got.creates.len(), got.deletes.len()), (3, 1));
    assert_eq!(deleted(&got), names(&["node-1-delete-"]));
}

#[test]
fn surge_deletes_old_ready_with_unsatisfied_min_ready() {
    let got = min_ready_case(50 + 20);
    assert_eq!((got.creates.len(), got.deletes.len()), (3, 2));
    assert_eq!(
        deleted(&got),
        names(&["node-1-delete-", "node-1-old-ready-"])
    );
}

#[test]
fn surge_deals_with_existing_pods() {
    let ds = surge_ds(0);
    let mut pods = Vec::new();
    add_pods(&mut pods, "node-1", DS_LABEL, &ds, 1);
    add_pods(&mut pods, "node-2", DS_LABEL, &ds, 2);
    add_pods(&mut pods, "node-3", DS_LABEL, &ds, 5);
    add_pods(&mut pods, "node-4", DS_LABEL2, &ds, 2);
    let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), pods);
    let got = sim.sync();
    assert_eq!(
        (got.creates.len(), got.deletes.len(), got.events.len()),
        (2, 5, 0)
    );
}

#[test]
fn a_ready_surge_pod_asks_for_a_sync_when_it_turns_available() {
    // The old pod is the oldest on its node, so the status counts it available and asks for no
    // resync; only the rolling update knows the new pod turns Available minReadySeconds on.
    let ds = surge_ds(10);
    let now = crate::testing::t0().as_second();
    let pods = vec![
        pod(
            &ds,
            "node-0-old",
            "node-0",
            now - 100,
            true,
            Some(Some(now - 100)),
        ),
        pod(
            &ds,
            "node-0-new",
            "node-0",
            now - 5,
            false,
            Some(Some(now - 2)),
        ),
    ];
    let sim = Sim::new(ds, new_nodes(0, 1, &[]), pods);
    let plan = sim.plan();
    assert!(plan.deletes.is_empty(), "{:?}", plan.deletes);
    assert_eq!(
        plan.requeue_after,
        Some(std::time::Duration::from_secs(10)),
        "sync again within minReadySeconds, when the old pod may go"
    );
}
