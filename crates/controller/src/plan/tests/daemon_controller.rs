//! Ports of upstream `daemon_controller_test.go` (spec §5.2), one test per upstream test, same name in snake_case.

use std::collections::BTreeSet;
use std::time::Duration;

use everynode_core::keys::{
    MESSAGE_SELECTING_ALL, OBJECT_NAME_FIELD, POD_FAILED, REASON_FAILED_DAEMON_POD,
    REASON_SELECTING_ALL,
};
use k8s_openapi::api::core::v1::{ContainerPort, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};

use super::*;
use crate::fixtures::*;
use crate::plan::backoff::backoff_key;
use crate::plan::{DeleteReason, FailedPodBackoff};
use crate::testing::{Sim, t0};

#[test]
fn simple_daemon_set_launches_pods() {
    for ds in strategies("foo") {
        let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), vec![]);
        expect_sync(&mut sim, 5, 0, 0);
    }
}

#[test]
fn simple_daemon_set_schedule_daemon_set_pods_launches_pods() {
    for ds in strategies("foo") {
        let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), vec![]);
        expect_sync(&mut sim, 5, 0, 0);
        let mut seen = BTreeSet::new();
        for pod in &sim.pods {
            let spec = pod.spec.as_ref().expect("spec");
            assert!(
                spec.node_name.is_none(),
                "the scheduler binds, not the controller"
            );
            let required = spec
                .affinity
                .as_ref()
                .and_then(|a| a.node_affinity.as_ref())
                .and_then(|n| {
                    n.required_during_scheduling_ignored_during_execution
                        .as_ref()
                })
                .expect("required affinity");
            assert_eq!(required.node_selector_terms.len(), 1);
            let fields = required.node_selector_terms[0]
                .match_fields
                .as_ref()
                .expect("fields");
            assert_eq!(fields.len(), 1);
            assert_eq!(fields[0].key, OBJECT_NAME_FIELD);
            assert_eq!(fields[0].operator, "In");
            let values = fields[0].values.as_ref().expect("values");
            assert_eq!(values.len(), 1);
            assert!(seen.insert(values[0].clone()), "one pod per node");
        }
        assert_eq!(seen.len(), 5);
    }
}

#[test]
fn simple_daemon_set_updates_status_after_launching_pods() {
    for ds in strategies("foo") {
        let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), vec![]);
        let got = sim.sync();
        assert_eq!(got.creates.len(), 5);
        assert_eq!(got.status.current_number_scheduled, 5);
        assert_eq!(
            sim.ds.status.as_ref().map(|s| s.current_number_scheduled),
            Some(5)
        );
    }
}

#[test]
fn no_nodes_does_nothing() {
    for ds in strategies("foo") {
        let mut sim = Sim::new(ds, vec![], vec![]);
        expect_sync(&mut sim, 0, 0, 0);
    }
}

#[test]
fn one_node_daemon_launches_pod() {
    for ds in strategies("foo") {
        let mut sim = Sim::new(ds, vec![new_node("only-node", &[])], vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn not_ready_node_daemon_does_launch_pod() {
    for ds in strategies("foo") {
        let mut node = new_node("not-ready", &[]);
        if let Some(c) = node.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            c[0].status = "False".to_string();
        }
        let mut sim = Sim::new(ds, vec![node], vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn insufficient_capacity_node_daemon_does_not_unschedule_running_pod() {
    for mut ds in strategies("foo") {
        resource_spec(&mut ds, "too-much-mem", "75M");
        let node = new_node("too-much-mem", &[]);
        // An unrelated pod filling the node: resources are the scheduler's business (spec §1.3 N3).
        let other = new_pod("other", "too-much-mem", &[], None);
        let mut sim = Sim::new(ds, vec![node], vec![other]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn insufficient_capacity_node_sufficient_capacity_with_node_label_daemon_launch_pod() {
    for mut ds in strategies("foo") {
        resource_spec(&mut ds, "", "75M");
        template_spec(&mut ds).node_selector = Some(labels(SIMPLE_NODE_LABEL));
        let nodes = vec![
            new_node("not-enough", &[]),
            new_node("enough", SIMPLE_NODE_LABEL),
        ];
        let mut sim = Sim::new(ds, nodes, vec![new_pod("other", "not-enough", &[], None)]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn network_unavailable_node_daemon_launches_pod() {
    for ds in strategies("simple") {
        let mut node = new_node("network-unavailable", &[]);
        if let Some(c) = node.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            c.push(k8s_openapi::api::core::v1::NodeCondition {
                type_: "NetworkUnavailable".to_string(),
                status: "True".to_string(),
                ..Default::default()
            });
        }
        let mut sim = Sim::new(ds, vec![node], vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn dont_do_anything_if_being_deleted() {
    for mut ds in strategies("foo") {
        ds.metadata.deletion_timestamp = Some(Time(t0()));
        let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), vec![]);
        expect_sync(&mut sim, 0, 0, 0);
        assert!(
            sim.ds.status.is_none(),
            "no status write while being deleted"
        );
    }
}

fn host_port(pod: &mut Pod, port: i32) {
    if let Some(spec) = pod.spec.as_mut() {
        spec.containers[0].ports = Some(vec![ContainerPort {
            host_port: Some(port),
            container_port: port,
            ..ContainerPort::default()
        }]);
    }
}

#[test]
fn port_conflict_with_same_daemon_pod_does_not_delete_pod() {
    for mut ds in strategies("foo") {
        template_spec(&mut ds).containers[0].ports = Some(vec![ContainerPort {
            host_port: Some(666),
            container_port: 666,
            ..ContainerPort::default()
        }]);
        let mut pod = new_pod("port-conflict", "port-conflict", DS_LABEL, Some(&ds));
        host_port(&mut pod, 666);
        let mut sim = Sim::new(ds, vec![new_node("port-conflict", &[])], vec![pod]);
        expect_sync(&mut sim, 0, 0, 0);
    }
}

#[test]
fn no_port_conflict_node_daemon_launches_pod() {
    for mut ds in strategies("foo") {
        template_spec(&mut ds).containers[0].ports = Some(vec![ContainerPort {
            host_port: Some(6661),
            container_port: 6661,
            ..ContainerPort::default()
        }]);
        let mut other = new_pod("other", "no-port-conflict", &[], None);
        host_port(&mut other, 6662);
        let mut sim = Sim::new(ds, vec![new_node("no-port-conflict", &[])], vec![other]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn pod_is_not_deleted_by_daemonset_with_empty_label_selector() {
    for mut ds in strategies("foo") {
        if let Some(spec) = ds.spec.as_mut() {
            spec.selector = LabelSelector::default();
        }
        let pod = new_pod("pod", "node1", &[("bang", "boom")], None);
        let mut sim = Sim::new(ds, vec![new_node("node1", &[])], vec![pod]);
        let got = sim.sync();
        assert!(got.plan.selecting_all);
        assert_eq!((got.creates.len(), got.deletes.len()), (0, 0));
        assert_eq!(got.events.len(), 1);
        assert_eq!(got.events[0].reason, REASON_SELECTING_ALL);
        assert_eq!(got.events[0].type_, "Warning");
        assert_eq!(got.events[0].message, MESSAGE_SELECTING_ALL);
        assert!(got.plan.status.is_none());
    }
}

#[test]
fn deals_with_existing_pods() {
    for ds in strategies("foo") {
        let mut pods = Vec::new();
        add_pods(&mut pods, "node-1", DS_LABEL, &ds, 1);
        add_pods(&mut pods, "node-2", DS_LABEL, &ds, 2);
        add_pods(&mut pods, "node-3", DS_LABEL, &ds, 5);
        add_pods(&mut pods, "node-4", DS_LABEL2, &ds, 2);
        let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), pods);
        let got = sim.sync();
        assert_eq!(
            got.creates,
            vec!["node-0".to_string(), "node-4".to_string()]
        );
        assert_eq!(got.deletes.len(), 5);
        assert!(
            got.deletes
                .iter()
                .all(|d| d.reason == DeleteReason::Duplicate)
        );
    }
}

#[test]
fn selector_daemon_launches_pods() {
    for mut ds in strategies("foo") {
        template_spec(&mut ds).node_selector = Some(labels(SIMPLE_NODE_LABEL));
        let mut nodes = new_nodes(0, 4, &[]);
        nodes.extend(new_nodes(4, 3, SIMPLE_NODE_LABEL));
        let mut sim = Sim::new(ds, nodes, vec![]);
        expect_sync(&mut sim, 3, 0, 0);
    }
}

#[test]
fn selector_daemon_deletes_unselected_pods() {
    for mut ds in strategies("foo") {
        template_spec(&mut ds).node_selector = Some(labels(SIMPLE_NODE_LABEL));
        let mut nodes = new_nodes(0, 5, &[]);
        nodes.extend(new_nodes(5, 5, SIMPLE_NODE_LABEL));
        let mut pods = Vec::new();
        add_pods(&mut pods, "node-0", DS_LABEL2, &ds, 2);
        add_pods(&mut pods, "node-1", DS_LABEL, &ds, 3);
        add_pods(&mut pods, "node-1", DS_LABEL2, &ds, 1);
        add_pods(&mut pods, "node-4", DS_LABEL, &ds, 1);
        let mut sim = Sim::new(ds, nodes, pods);
        let got = sim.sync();
        assert_eq!((got.creates.len(), got.deletes.len()), (5, 4));
        assert!(
            got.deletes
                .iter()
                .all(|d| d.reason == DeleteReason::ShouldNotContinueRunning)
        );
    }
}

#[test]
fn selector_daemon_deals_with_existing_pods() {
    for mut ds in strategies("foo") {
        template_spec(&mut ds).node_selector = Some(labels(SIMPLE_NODE_LABEL));
        let mut nodes = new_nodes(0, 5, &[]);
        nodes.extend(new_nodes(5, 5, SIMPLE_NODE_LABEL));
        let mut pods = Vec::new();
        add_pods(&mut pods, "node-0", DS_LABEL, &ds, 1);
        add_pods(&mut pods, "node-1", DS_LABEL, &ds, 3);
        add_pods(&mut pods, "node-1", DS_LABEL2, &ds, 2);
        add_pods(&mut pods, "node-2", DS_LABEL, &ds, 4);
        add_pods(&mut pods, "node-6", DS_LABEL, &ds, 13);
        add_pods(&mut pods, "node-7", DS_LABEL2, &ds, 4);
        add_pods(&mut pods, "node-9", DS_LABEL, &ds, 1);
        add_pods(&mut pods, "node-9", DS_LABEL2, &ds, 1);
        let mut sim = Sim::new(ds, nodes, pods);
        expect_sync(&mut sim, 3, 20, 0);
    }
}

#[test]
fn bad_selector_daemon_does_nothing() {
    for mut ds in strategies("foo") {
        template_spec(&mut ds).node_selector = Some(labels(SIMPLE_NODE_LABEL2));
        let mut nodes = new_nodes(0, 4, &[]);
        nodes.extend(new_nodes(4, 3, SIMPLE_NODE_LABEL));
        let mut sim = Sim::new(ds, nodes, vec![]);
        expect_sync(&mut sim, 0, 0, 0);
    }
}

#[test]
fn name_daemon_set_launches_pods() {
    for mut ds in strategies("foo") {
        template_spec(&mut ds).node_name = Some("node-0".to_string());
        let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn bad_name_daemon_set_does_nothing() {
    for mut ds in strategies("foo") {
        template_spec(&mut ds).node_name = Some("node-10".to_string());
        let mut sim = Sim::new(ds, new_nodes(0, 5, &[]), vec![]);
        expect_sync(&mut sim, 0, 0, 0);
    }
}

fn selector_and_name(name: &str) -> Vec<k8s_openapi::api::apps::v1::DaemonSet> {
    strategies("foo")
        .into_iter()
        .map(|mut ds| {
            let spec = template_spec(&mut ds);
            spec.node_selector = Some(labels(SIMPLE_NODE_LABEL));
            spec.node_name = Some(name.to_string());
            ds
        })
        .collect()
}

fn four_plain_three_labelled() -> Vec<k8s_openapi::api::core::v1::Node> {
    let mut nodes = new_nodes(0, 4, &[]);
    nodes.extend(new_nodes(4, 3, SIMPLE_NODE_LABEL));
    nodes
}

#[test]
fn name_and_selector_daemon_set_launches_pods() {
    for ds in selector_and_name("node-6") {
        let mut sim = Sim::new(ds, four_plain_three_labelled(), vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn inconsistent_name_selector_daemon_set_does_nothing() {
    for ds in selector_and_name("node-0") {
        let mut sim = Sim::new(ds, four_plain_three_labelled(), vec![]);
        expect_sync(&mut sim, 0, 0, 0);
    }
}

#[test]
fn selector_daemon_set_launches_pods() {
    let mut ds = new_daemon_set("foo");
    template_spec(&mut ds).node_selector = Some(labels(SIMPLE_NODE_LABEL));
    let mut sim = Sim::new(ds, four_plain_three_labelled(), vec![]);
    expect_sync(&mut sim, 3, 0, 0);
}

#[test]
fn node_affinity_daemon_launches_pods() {
    for mut ds in strategies("foo") {
        template_spec(&mut ds).affinity = Some(color_affinity(&["blue"]));
        let mut sim = Sim::new(ds, four_plain_three_labelled(), vec![]);
        expect_sync(&mut sim, 3, 0, 0);
        // The user's required terms are replaced by the node pin (spec §1.8 K3).
        for pod in &sim.pods {
            let aff = pod
                .spec
                .as_ref()
                .and_then(|s| s.affinity.as_ref())
                .expect("affinity");
            let req = aff
                .node_affinity
                .as_ref()
                .and_then(|n| {
                    n.required_during_scheduling_ignored_during_execution
                        .as_ref()
                })
                .expect("req");
            assert!(req.node_selector_terms[0].match_expressions.is_none());
        }
    }
}

#[test]
fn number_ready_status() {
    for ds in strategies("foo") {
        let mut pods = Vec::new();
        add_pods(&mut pods, "node-0", DS_LABEL, &ds, 1);
        add_pods(&mut pods, "node-1", DS_LABEL, &ds, 1);
        let mut sim = Sim::new(ds, new_nodes(0, 2, SIMPLE_NODE_LABEL), pods);
        let got = sim.sync();
        assert_eq!((got.creates.len(), got.deletes.len()), (0, 0));
        assert_eq!(got.status.number_ready, 0);
        sim.mark_all_ready();
        let got = sim.sync();
        assert_eq!(got.status.number_ready, 2);
        assert_eq!(sim.ds.status.as_ref().map(|s| s.number_ready), Some(2));
    }
}

#[test]
fn observed_generation() {
    for mut ds in strategies("foo") {
        ds.metadata.generation = Some(1);
        let mut pods = Vec::new();
        add_pods(&mut pods, "node-0", DS_LABEL, &ds, 1);
        let mut sim = Sim::new(ds, new_nodes(0, 1, SIMPLE_NODE_LABEL), pods);
        expect_sync(&mut sim, 0, 0, 0);
        assert_eq!(
            sim.ds.status.as_ref().and_then(|s| s.observed_generation),
            Some(1)
        );
    }
}

#[test]
fn daemon_kill_failed_pods() {
    // (failed, normal, creates, deletes, events)
    let cases = [
        (0, 1, 0, 0, 0),
        (0, 0, 1, 0, 0),
        (1, 0, 0, 1, 1),
        (1, 3, 0, 3, 1),
    ];
    for (failed, normal, creates, deletes, events) in cases {
        for ds in strategies("foo") {
            let mut pods = Vec::new();
            add_pods(&mut pods, "node-0", DS_LABEL, &ds, failed);
            for pod in &mut pods {
                set_phase(pod, POD_FAILED);
            }
            add_pods(&mut pods, "node-0", DS_LABEL, &ds, normal);
            let mut sim = Sim::new(ds, new_nodes(0, 1, &[]), pods);
            let got = sim.sync();
            assert_eq!(
                (got.creates.len(), got.deletes.len(), got.events.len()),
                (creates, deletes, events)
            );
            if failed > 0 {
                assert_eq!(got.events[0].reason, REASON_FAILED_DAEMON_POD);
                assert_eq!(got.events[0].type_, "Warning");
                assert_eq!(
                    got.events[0].message,
                    "Found failed daemon pod default/node-0-0 on node node-0, will try to kill it"
                );
            }
        }
    }
}

#[test]
fn daemon_kill_failed_pods_backoff() {
    for ds in strategies("foo") {
        let mut pod = new_pod("node-0-", "node-0", DS_LABEL, Some(&ds));
        set_phase(&mut pod, POD_FAILED);
        let key = backoff_key(&ds, "node-0");
        let mut sim = Sim::new(ds, new_nodes(0, 1, &[]), vec![pod.clone()]);
        sim.backoff = FailedPodBackoff::new(Duration::from_millis(50), Duration::from_millis(500));
        // First sync deletes the pod and starts the backoff.
        expect_sync(&mut sim, 0, 1, 1);
        let initial = sim
            .backoff
            .entries
            .get(&key)
            .map(|e| e.delay)
            .expect("entry");
        assert!(initial > Duration::ZERO);
        // The kubelet reports a failed pod again; an immediate sync is held back and does not
        // raise the delay.
        sim.pods = vec![pod.clone()];
        let got = sim.sync();
        assert_eq!(
            (got.creates.len(), got.deletes.len(), got.events.len()),
            (0, 0, 0)
        );
        assert_eq!(got.plan.requeue_after, Some(initial));
        assert_eq!(
            sim.backoff.entries.get(&key).map(|e| e.delay),
            Some(initial)
        );
        // Just before the end of the window: still in backoff; at the end: not.
        sim.advance(initial - Duration::from_nanos(1));
        assert!(sim.backoff.in_backoff(&key, sim.now).is_some());
        sim.advance(Duration::from_nanos(1));
        assert!(sim.backoff.in_backoff(&key, sim.now).is_none());
        expect_sync(&mut sim, 0, 1, 1);
        assert_eq!(
            sim.backoff.entries.get(&key).map(|e| e.delay),
            Some(initial * 2)
        );
    }
}

#[test]
fn daemon_set_respects_termination() {
    for ds in strategies("foo") {
        let mut pod = new_pod("node-0-", "node-0", DS_LABEL, Some(&ds));
        set_terminating(&mut pod, t0());
        let mut sim = Sim::new(ds, new_nodes(0, 1, SIMPLE_NODE_LABEL), vec![pod]);
        expect_sync(&mut sim, 0, 0, 0);
    }
}

#[test]
fn delete_unscheduled_pod_for_not_existing_node() {
    for ds in strategies("foo") {
        let mut pods = Vec::new();
        add_pods(&mut pods, "node-0", DS_LABEL, &ds, 1);
        // Bound to a vanished node: left to pod GC.
        add_pods(&mut pods, "node-1", DS_LABEL, &ds, 1);
        // Never scheduled, pinned to a vanished node: deleted (spec §1.7 D5).
        let mut unscheduled = new_pod("node-2-", "", DS_LABEL, Some(&ds));
        if let Some(spec) = unscheduled.spec.as_mut() {
            everynode_core::affinity::pin_pod_spec_to_node(spec, "node-2");
        }
        pods.push(unscheduled);
        let mut sim = Sim::new(ds, new_nodes(0, 1, &[]), pods);
        let got = sim.sync();
        assert_eq!((got.creates.len(), got.deletes.len()), (0, 1));
        assert_eq!(got.deletes[0].name, "node-2-");
        assert_eq!(
            got.deletes[0].reason,
            DeleteReason::UnscheduledOnMissingNode
        );
    }
}

#[test]
fn get_nodes_to_daemon_pods() {
    use crate::plan::snapshot::Snapshot;
    use everynode_core::labels::Selector;
    let ds = new_daemon_set("foo");
    let other = {
        let mut o = new_daemon_set("foo2");
        o.metadata.uid = Some("uid-other".to_string());
        o
    };
    let mut want = vec![
        new_pod("matching-owned-0-", "node-0", DS_LABEL, Some(&ds)),
        new_pod("matching-orphan-0-", "node-0", DS_LABEL, None),
        new_pod("matching-owned-1-", "node-1", DS_LABEL, Some(&ds)),
        new_pod("matching-orphan-1-", "node-1", DS_LABEL, None),
    ];
    let mut failed = new_pod(
        "matching-owned-failed-pod-1-",
        "node-1",
        DS_LABEL,
        Some(&ds),
    );
    set_phase(&mut failed, POD_FAILED);
    want.push(failed);
    let mut succeeded_deleted = new_pod(
        "matching-owned-succeeded-deleted-1-",
        "node-1",
        DS_LABEL,
        Some(&ds),
    );
    set_phase(&mut succeeded_deleted, "Succeeded");
    set_terminating(&mut succeeded_deleted, t0());
    let ignored = vec![
        new_pod("non-matching-owned-0-", "node-0", DS_LABEL2, Some(&ds)),
        new_pod("non-matching-orphan-1-", "node-1", DS_LABEL2, None),
        new_pod(
            "matching-owned-by-other-0-",
            "node-0",
            DS_LABEL,
            Some(&other),
        ),
        succeeded_deleted,
    ];
    let mut pods = want.clone();
    pods.extend(ignored);
    let nodes = new_nodes(0, 2, &[]);
    let selector =
        Selector::from_label_selector(ds.spec.as_ref().map(|s| &s.selector)).expect("selector");
    let (nodes, pods) = (crate::plan::refs(&nodes), crate::plan::refs(&pods));
    let snap = Snapshot::new(&ds, &selector, &nodes, &pods, "");
    let mut got: Vec<&str> = snap
        .by_node
        .values()
        .flatten()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    got.sort_unstable();
    let mut expected: Vec<&str> = want
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    expected.sort_unstable();
    assert_eq!(got, expected);
    assert_eq!(snap.adopt.len(), 2, "orphans are adopted");
    assert_eq!(
        snap.release.len(),
        1,
        "owned non-matching pods are released"
    );
    assert_eq!(
        snap.finished_hashes.len(),
        1,
        "terminal+deleted pods only count for history"
    );
}
