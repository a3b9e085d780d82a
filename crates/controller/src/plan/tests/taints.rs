//! Ports of upstream's taint, toleration and `NodeShouldRunDaemonPod` tests from `daemon_controller_test.go` (spec §5.2, §1.3–§1.4).

use everynode_core::keys::{
    EFFECT_NO_EXECUTE, EFFECT_NO_SCHEDULE, TAINT_NODE_DISK_PRESSURE, TAINT_NODE_MEMORY_PRESSURE,
    TAINT_NODE_NOT_READY, TAINT_NODE_PID_PRESSURE, TAINT_NODE_UNREACHABLE,
};
use k8s_openapi::api::core::v1::ContainerPort;

use super::*;
use crate::fixtures::*;
use crate::plan::DeleteReason;
use crate::plan::should_run::{self, NodeFit};
use crate::testing::Sim;

#[test]
fn no_schedule_tainted_doesnt_evicit_running_intolerant_pod() {
    for ds in strategies("intolerant") {
        let mut node = new_node("tainted", &[]);
        no_schedule_taint(&mut node);
        let pod = new_pod("keep-running-me", "tainted", DS_LABEL, Some(&ds));
        let mut sim = Sim::new(ds, vec![node], vec![pod]);
        let got = sim.sync();
        assert_eq!((got.creates.len(), got.deletes.len()), (0, 0));
        // spec §6.3: kept, yet misscheduled.
        assert_eq!(got.status.number_misscheduled, 1);
    }
}

#[test]
fn no_execute_tainted_does_evicit_running_intolerant_pod() {
    for ds in strategies("intolerant") {
        let mut node = new_node("tainted", &[]);
        taint_node(&mut node, "dedicated", "user1", EFFECT_NO_EXECUTE);
        let pod = new_pod("stop-running-me", "tainted", DS_LABEL, Some(&ds));
        let mut sim = Sim::new(ds, vec![node], vec![pod]);
        let got = sim.sync();
        assert_eq!((got.creates.len(), got.deletes.len()), (0, 1));
        assert_eq!(got.deletes[0].name, "stop-running-me");
        assert_eq!(
            got.deletes[0].reason,
            DeleteReason::ShouldNotContinueRunning
        );
    }
}

#[test]
fn tainted_node_daemon_does_not_launch_intolerant_pod() {
    for ds in strategies("intolerant") {
        let mut node = new_node("tainted", &[]);
        no_schedule_taint(&mut node);
        let mut sim = Sim::new(ds, vec![node], vec![]);
        expect_sync(&mut sim, 0, 0, 0);
    }
}

#[test]
fn tainted_node_daemon_launches_tolerate_pod() {
    for mut ds in strategies("tolerate") {
        template_spec(&mut ds).tolerations =
            Some(vec![toleration("dedicated", "user1", EFFECT_NO_SCHEDULE)]);
        let mut node = new_node("tainted", &[]);
        no_schedule_taint(&mut node);
        let mut sim = Sim::new(ds, vec![node], vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn not_ready_node_daemon_launches_pod() {
    for ds in strategies("simple") {
        let mut node = new_node("tainted", &[]);
        taint_node(&mut node, TAINT_NODE_NOT_READY, "", EFFECT_NO_EXECUTE);
        let mut sim = Sim::new(ds, vec![node], vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn unreachable_node_daemon_launches_pod() {
    for ds in strategies("simple") {
        let mut node = new_node("tainted", &[]);
        taint_node(&mut node, TAINT_NODE_UNREACHABLE, "", EFFECT_NO_EXECUTE);
        let mut sim = Sim::new(ds, vec![node], vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn node_daemon_launches_tolerate_pod() {
    for mut ds in strategies("tolerate") {
        template_spec(&mut ds).tolerations =
            Some(vec![toleration("dedicated", "user1", EFFECT_NO_SCHEDULE)]);
        let mut sim = Sim::new(ds, new_nodes(0, 1, &[]), vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn taint_pressure_node_daemon_launches_pod() {
    for ds in strategies("critical") {
        let mut node = new_node("resources-pressure", &[]);
        for key in [
            TAINT_NODE_DISK_PRESSURE,
            TAINT_NODE_MEMORY_PRESSURE,
            TAINT_NODE_PID_PRESSURE,
        ] {
            taint_node(&mut node, key, "", EFFECT_NO_SCHEDULE);
        }
        let mut sim = Sim::new(ds, vec![node], vec![]);
        expect_sync(&mut sim, 1, 0, 0);
    }
}

#[test]
fn node_should_run_daemon_pod() {
    let other_node = |ds: &mut k8s_openapi::api::apps::v1::DaemonSet| {
        template_spec(ds).node_name = Some("other-node".to_string())
    };
    let resources = |ds: &mut k8s_openapi::api::apps::v1::DaemonSet| resource_spec(ds, "", "200M");
    let ports = |ds: &mut k8s_openapi::api::apps::v1::DaemonSet| {
        template_spec(ds).containers[0].ports = Some(vec![ContainerPort {
            host_port: Some(666),
            container_port: 666,
            ..ContainerPort::default()
        }])
    };
    let selector_mismatch = |ds: &mut k8s_openapi::api::apps::v1::DaemonSet| {
        template_spec(ds).node_selector = Some(labels(DS_LABEL2))
    };
    let selector_match = |ds: &mut k8s_openapi::api::apps::v1::DaemonSet| {
        template_spec(ds).node_selector = Some(labels(DS_LABEL))
    };
    let affinity = |value: &'static str| {
        move |ds: &mut k8s_openapi::api::apps::v1::DaemonSet| {
            let mut aff = color_affinity(&[value]);
            if let Some(req) = aff.node_affinity.as_mut().and_then(|n| {
                n.required_during_scheduling_ignored_during_execution
                    .as_mut()
            }) && let Some(exprs) = req.node_selector_terms[0].match_expressions.as_mut()
            {
                exprs[0].key = "type".to_string();
            }
            template_spec(ds).affinity = Some(aff);
        }
    };
    type Edit = Box<dyn Fn(&mut k8s_openapi::api::apps::v1::DaemonSet)>;
    let cases: Vec<(&str, Edit, bool, NodeFit)> = vec![
        ("ShouldRunDaemonPod", Box::new(|_| {}), false, NodeFit::RUN),
        (
            "InsufficientResourceError",
            Box::new(resources),
            false,
            NodeFit::RUN,
        ),
        (
            "ErrPodNotMatchHostName",
            Box::new(other_node),
            false,
            NodeFit::NONE,
        ),
        (
            "ErrPodNotFitsHostPorts",
            Box::new(ports),
            false,
            NodeFit::RUN,
        ),
        (
            "ErrNodeSelectorNotMatch",
            Box::new(selector_mismatch),
            false,
            NodeFit::NONE,
        ),
        (
            "ShouldRunDaemonPod/selector",
            Box::new(selector_match),
            false,
            NodeFit::RUN,
        ),
        (
            "ErrPodAffinityNotMatch",
            Box::new(affinity("test")),
            false,
            NodeFit::NONE,
        ),
        (
            "ShouldRunDaemonPod/affinity",
            Box::new(affinity("production")),
            false,
            NodeFit::RUN,
        ),
        (
            "ShouldRunDaemonPodOnUnschedulableNode",
            Box::new(|_| {}),
            true,
            NodeFit::RUN,
        ),
    ];
    for (name, edit, unschedulable, want) in cases {
        for mut ds in strategies("ds") {
            edit(&mut ds);
            let mut node = new_node("test-node", DS_LABEL);
            if let Some(spec) = node.spec.as_mut() {
                spec.unschedulable = Some(unschedulable);
            }
            assert_eq!(
                should_run::node_should_run_daemon_pod(&node, &ds),
                want,
                "{name}"
            );
        }
    }
}

#[test]
fn should_ignore_node_update() {
    let plain = new_node("node1", &[]);
    let mut labelled = new_node("node1", SIMPLE_NODE_LABEL);
    assert!(should_run::should_ignore_node_update(
        &plain,
        &new_node("node1", &[])
    ));
    assert!(!should_run::should_ignore_node_update(&plain, &labelled));
    let mut tainted = new_node("node1", &[]);
    no_schedule_taint(&mut tainted);
    assert!(!should_run::should_ignore_node_update(&tainted, &plain));
    // Status-only changes (allocatable, conditions) are ignored.
    if let Some(status) = labelled.status.as_mut() {
        status.conditions = None;
    }
    assert!(should_run::should_ignore_node_update(
        &labelled,
        &new_node("node1", SIMPLE_NODE_LABEL)
    ));
}

#[test]
fn update_node() {
    // (case, old node, new node, ds edit, pod already on the node, want enqueue)
    let selector_ds = |ds: &mut k8s_openapi::api::apps::v1::DaemonSet| {
        template_spec(ds).node_selector = Some(labels(SIMPLE_NODE_LABEL))
    };
    let tainted = || {
        let mut n = new_node("node1", &[]);
        no_schedule_taint(&mut n);
        n
    };
    type Edit = fn(&mut k8s_openapi::api::apps::v1::DaemonSet);
    let no_edit: Edit = |_| {};
    let cases: Vec<(
        &str,
        k8s_openapi::api::core::v1::Node,
        k8s_openapi::api::core::v1::Node,
        Edit,
        bool,
        bool,
    )> = vec![
        (
            "nothing changed",
            new_node("node1", &[]),
            new_node("node1", &[]),
            selector_ds,
            false,
            false,
        ),
        (
            "labels now match the nodeSelector",
            new_node("node1", &[]),
            new_node("node1", SIMPLE_NODE_LABEL),
            selector_ds,
            false,
            true,
        ),
        (
            "NoSchedule taint removed",
            tainted(),
            new_node("node1", &[]),
            no_edit,
            false,
            true,
        ),
        (
            "only allocatable changed",
            new_node("node1", &[]),
            {
                let mut n = new_node("node1", &[]);
                if let Some(s) = n.status.as_mut() {
                    s.allocatable = Some(Default::default());
                }
                n
            },
            no_edit,
            true,
            false,
        ),
    ];
    for (name, old, new, edit, has_pod, want) in cases {
        for mut ds in strategies("ds") {
            edit(&mut ds);
            let enqueue = !should_run::should_ignore_node_update(&old, &new)
                && should_run::node_change_needs_sync(
                    should_run::node_should_run_daemon_pod(&new, &ds),
                    has_pod,
                    0,
                );
            assert_eq!(enqueue, want, "{name}");
        }
    }
}
