//! Ports of upstream `update_test.go` (spec §5.3): rolling-update sequences, budgets and history claiming.

use std::collections::BTreeSet;

use everynode_core::keys::{
    CONTROLLER_REVISION_HASH_LABEL, DEPRECATED_TEMPLATE_GENERATION_ANNOTATION,
    POD_TEMPLATE_GENERATION_LABEL,
};
use everynode_core::pod::is_pod_ready;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::fixtures::*;
use crate::plan::rolling::{nodes_to_visit, plan_rolling_update};
use crate::plan::snapshot::Snapshot;
use crate::testing::{Sim, t0};

fn expect(sim: &mut Sim, creates: usize, deletes: usize) {
    let got = sim.sync();
    assert_eq!(
        (got.creates.len(), got.deletes.len(), got.events.len()),
        (creates, deletes, 0),
        "deletes: {:?}",
        got.deletes
    );
}

fn set_image(ds: &mut DaemonSet, image: &str) {
    template_spec(ds).containers[0].image = Some(image.to_string());
}

fn started(nodes: usize) -> Sim {
    let mut sim = Sim::new(new_daemon_set("foo"), new_nodes(0, nodes, &[]), vec![]);
    expect(&mut sim, nodes, 0);
    sim.mark_all_ready();
    sim
}

fn hashes(sim: &Sim) -> BTreeSet<String> {
    sim.pods
        .iter()
        .filter_map(|p| {
            p.metadata
                .labels
                .as_ref()?
                .get(CONTROLLER_REVISION_HASH_LABEL)
                .cloned()
        })
        .collect()
}

#[test]
fn daemon_set_updates_pods() {
    let mut sim = started(5);
    set_image(&mut sim.ds, "foo2/bar2");
    set_rolling_update(&mut sim.ds, IntOrString::Int(2), None);
    for (deletes, creates) in [(2, 2), (2, 2), (1, 1)] {
        expect(&mut sim, 0, deletes);
        expect(&mut sim, creates, 0);
        sim.mark_all_ready();
    }
    expect(&mut sim, 0, 0);
    assert_eq!(hashes(&sim).len(), 1, "every pod on the new revision");
}

#[test]
fn daemon_set_updates_pods_with_max_surge() {
    let mut sim = started(5);
    set_image(&mut sim.ds, "foo2/bar2");
    set_rolling_update(&mut sim.ds, IntOrString::Int(0), Some(IntOrString::Int(2)));
    expect(&mut sim, 2, 0);
    expect(&mut sim, 0, 0);
    sim.mark_all_ready();
    expect(&mut sim, 2, 2);
    expect(&mut sim, 0, 0);
    sim.mark_all_ready();
    expect(&mut sim, 1, 2);
    expect(&mut sim, 0, 0);
    sim.mark_all_ready();
    expect(&mut sim, 0, 1);
    expect(&mut sim, 0, 0);
}

#[test]
fn daemon_set_updates_when_new_pod_is_not_ready() {
    let mut sim = started(5);
    set_image(&mut sim.ds, "foo2/bar2");
    set_rolling_update(&mut sim.ds, IntOrString::Int(3), None);
    expect(&mut sim, 0, 3);
    expect(&mut sim, 3, 0);
    // New pods never become Ready: the budget is spent.
    expect(&mut sim, 0, 0);
}

#[test]
fn daemon_set_updates_some_old_pods_not_ready() {
    let mut sim = started(5);
    set_image(&mut sim.ds, "foo2/bar2");
    set_rolling_update(&mut sim.ds, IntOrString::Int(2), None);
    expect(&mut sim, 0, 2);
    expect(&mut sim, 2, 0);
    // The two new pods never become Ready: the budget is spent, nothing happens.
    expect(&mut sim, 0, 0);
    let ready_before: BTreeSet<String> = sim
        .pods
        .iter()
        .filter(|p| everynode_core::pod::is_pod_ready(p))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(ready_before.len(), 3);
    // Another template change replaces only the two unavailable pods.
    set_image(&mut sim.ds, "foo2/bar3");
    expect(&mut sim, 0, 2);
    expect(&mut sim, 2, 0);
    expect(&mut sim, 0, 0);
    for name in &ready_before {
        assert!(
            sim.pods
                .iter()
                .any(|p| p.metadata.name.as_ref() == Some(name)),
            "{name} kept"
        );
    }
    let ready_after = sim
        .pods
        .iter()
        .filter(|p| everynode_core::pod::is_pod_ready(p))
        .count();
    assert_eq!(ready_after, 5 - 2, "only the old Ready pods are Ready");
}

#[test]
fn daemon_set_updates_save_old_healthy_pods() {
    let mut sim = started(20);
    set_image(&mut sim.ds, "foo2/bar2");
    set_rolling_update(&mut sim.ds, IntOrString::Int(10), None);
    expect(&mut sim, 0, 10);
    expect(&mut sim, 10, 0);
    // The ten new pods stay unready: the budget of 10 is spent.
    expect(&mut sim, 0, 0);
    let healthy: Vec<String> = sim
        .pods
        .iter()
        .filter(|p| everynode_core::pod::is_pod_ready(p))
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    assert_eq!(healthy.len(), 10);
    // Upstream draws maxUnavailable at random in 0..10; every value must spare the Ready pods.
    for (i, max_unavailable) in (0..10).enumerate() {
        set_image(&mut sim.ds, &format!("foo2/bar3-{i}"));
        set_rolling_update(&mut sim.ds, IntOrString::Int(max_unavailable), None);
        // Only the ten unavailable pods may be replaced, whatever the budget.
        expect(&mut sim, 0, 10);
        expect(&mut sim, 10, 0);
        expect(&mut sim, 0, 0);
        for name in &healthy {
            assert!(
                sim.pods
                    .iter()
                    .any(|p| p.metadata.name.as_ref() == Some(name) && is_pod_ready(p)),
                "round {i}: Ready pod {name} touched"
            );
        }
    }
    set_image(&mut sim.ds, "foo2/bar4");
    set_rolling_update(&mut sim.ds, IntOrString::Int(11), None);
    expect(&mut sim, 0, 11);
    expect(&mut sim, 11, 0);
    expect(&mut sim, 0, 0);
    let ready = sim.pods.iter().filter(|p| is_pod_ready(p)).count();
    assert_eq!(ready, 9, "upstream: 9 Ready pods remain");
    let still: usize = healthy
        .iter()
        .filter(|n| {
            sim.pods
                .iter()
                .any(|p| p.metadata.name.as_ref() == Some(*n))
        })
        .count();
    assert_eq!(still, 9);
}

#[test]
fn daemon_set_updates_all_old_pods_not_ready() {
    let mut sim = Sim::new(new_daemon_set("foo"), new_nodes(0, 5, &[]), vec![]);
    expect(&mut sim, 5, 0);
    // Old pods never become Ready: all are replaced at once, outside the budget.
    set_image(&mut sim.ds, "foo2/bar2");
    set_rolling_update(&mut sim.ds, IntOrString::Int(3), None);
    expect(&mut sim, 0, 5);
    expect(&mut sim, 5, 0);
    expect(&mut sim, 0, 0);
}

#[test]
fn daemon_set_updates_no_template_changed() {
    let mut sim = started(5);
    set_rolling_update(&mut sim.ds, IntOrString::Int(3), None);
    expect(&mut sim, 0, 0);
    assert_eq!(
        sim.revisions.len(),
        1,
        "a strategy change is not a revision (spec §2.1 U3)"
    );
}

#[test]
fn get_unavailable_numbers() {
    use crate::fixtures::new_pod;
    let pct = |s: &str| IntOrString::String(s.to_string());
    // (name, nodes, pods on nodes [(node, terminating)], maxUnavailable, maxSurge, want (surge, unavailable, desired, empty nodes))
    type Case<'a> = (
        &'a str,
        usize,
        Vec<(usize, bool)>,
        IntOrString,
        Option<IntOrString>,
        (i32, i32, i32, usize),
    );
    let cases: Vec<Case> = vec![
        (
            "no nodes",
            0,
            vec![],
            IntOrString::Int(0),
            None,
            (0, 0, 0, 0),
        ),
        (
            "two ready nodes",
            2,
            vec![(0, false), (1, false)],
            IntOrString::Int(1),
            None,
            (0, 1, 2, 0),
        ),
        (
            "one empty node, forced 1",
            2,
            vec![(0, false)],
            IntOrString::Int(0),
            None,
            (0, 1, 2, 1),
        ),
        (
            "surge 0 too",
            2,
            vec![(0, false)],
            IntOrString::Int(0),
            Some(IntOrString::Int(0)),
            (0, 1, 2, 1),
        ),
        (
            "50% of 2",
            2,
            vec![(0, false), (1, false)],
            pct("50%"),
            None,
            (0, 1, 2, 0),
        ),
        (
            "surge 50%",
            2,
            vec![(0, false), (1, false)],
            IntOrString::Int(0),
            Some(pct("50%")),
            (1, 0, 2, 0),
        ),
        (
            "surge 100%",
            2,
            vec![(0, false), (1, false)],
            IntOrString::Int(0),
            Some(pct("100%")),
            (2, 0, 2, 0),
        ),
        (
            "terminating pod, 50% of 3",
            3,
            vec![(0, false), (1, true)],
            pct("50%"),
            None,
            (0, 2, 3, 1),
        ),
    ];
    for (name, n, on, max_unavailable, max_surge, (surge, unavailable, desired, want_empty)) in
        cases
    {
        let mut ds = new_daemon_set("x");
        set_rolling_update(&mut ds, max_unavailable, max_surge);
        let nodes = new_nodes(0, n, &[]);
        let pods: Vec<_> = on
            .iter()
            .map(|&(i, terminating)| {
                let mut p = new_pod(
                    &format!("pod-{i}"),
                    &format!("node-{i}"),
                    DS_LABEL,
                    Some(&ds),
                );
                set_ready(&mut p, true, t0());
                if terminating {
                    set_terminating(&mut p, t0());
                }
                p
            })
            .collect();
        let selector = everynode_core::labels::Selector::from_label_selector(
            ds.spec.as_ref().map(|s| &s.selector),
        )
        .expect("selector");
        let (nodes, pods) = (crate::plan::refs(&nodes), crate::plan::refs(&pods));
        let snap = Snapshot::new(&ds, &selector, &nodes, &pods, "h");
        let plan = plan_rolling_update(&snap, t0()).expect("plan");
        let b = plan.budget;
        assert_eq!(
            (b.max_surge, b.max_unavailable, b.desired),
            (surge, unavailable, desired),
            "{name}"
        );
        // Upstream's `emptyNodes`: the entries the update adds to its node→pods map, i.e. nodes
        // it visits that hold no pod at all (a terminating pod still fills its node).
        let (visit_desired, visit) = nodes_to_visit(&snap);
        assert_eq!(visit_desired, desired, "{name}");
        let empty = visit
            .iter()
            .filter(|node| snap.pods_on(node).is_empty())
            .count();
        assert_eq!(empty, want_empty, "{name}");
    }
}

fn revision(name: &str, namespace: &str) -> ControllerRevision {
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            labels: Some(labels(DS_LABEL)),
            ..ObjectMeta::default()
        },
        data: None,
        revision: 1,
    }
}

#[test]
fn controlled_histories() {
    let ds = new_daemon_set("ds1");
    let mut owned = revision("ds1-x1", NAMESPACE);
    owned.metadata.owner_references =
        Some(vec![crate::plan::pod_template::controller_owner_ref(&ds)]);
    let orphan_same_ns = revision("ds1-x2", NAMESPACE);
    let orphan_other_ns = revision("ds1-x3", "default-other");
    let selector = everynode_core::labels::Selector::from_label_selector(
        ds.spec.as_ref().map(|s| &s.selector),
    )
    .expect("selector");
    let history = |crs: &[ControllerRevision]| {
        crate::plan::history::plan_history(&ds, &selector, crs, []).expect("history")
    };
    // Same namespace: the owned CR and the adopted orphan are both history.
    let plan = history(&[owned, orphan_same_ns]);
    let adopted: Vec<&str> = plan.adopt.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(adopted, ["ds1-x2"]);
    let names: Vec<&str> = plan.old.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, vec!["ds1-x1", "ds1-x2"]);
    // Another namespace: never adopted.
    let plan = history(&[orphan_other_ns]);
    assert!(plan.adopt.is_empty() && plan.old.is_empty());
}

/// Pods on `n` nodes, Ready since t0, carrying `pod-template-generation=<generation>` and a hash
/// label that matches no revision of `ds`.
fn stale_hash_pods(
    ds: &DaemonSet,
    n: usize,
    generation: &str,
) -> Vec<k8s_openapi::api::core::v1::Pod> {
    (0..n)
        .map(|i| {
            let mut pod = new_pod(
                &format!("pod-{i}"),
                &format!("node-{i}"),
                DS_LABEL,
                Some(ds),
            );
            let labels = pod.metadata.labels.get_or_insert_with(Default::default);
            labels.insert(
                CONTROLLER_REVISION_HASH_LABEL.to_string(),
                "stale".to_string(),
            );
            labels.insert(
                POD_TEMPLATE_GENERATION_LABEL.to_string(),
                generation.to_string(),
            );
            set_ready(&mut pod, true, t0());
            set_created(&mut pod, t0());
            pod
        })
        .collect()
}

fn with_template_generation(generation: &str) -> DaemonSet {
    let mut ds = new_daemon_set("foo");
    ds.metadata.annotations = Some(labels(&[(
        DEPRECATED_TEMPLATE_GENERATION_ANNOTATION,
        generation,
    )]));
    set_rolling_update(&mut ds, IntOrString::Int(1), None);
    ds
}

/// spec §2.3 O1: a pod whose `pod-template-generation` label equals the DaemonSet's
/// templateGeneration is updated even though its hash label differs, so the rolling update
/// leaves it alone and status counts it; with another generation it is old and gets replaced.
#[test]
fn template_generation_label_counts_as_updated() {
    let ds = with_template_generation("2");
    let pods = stale_hash_pods(&ds, 3, "2");
    let mut sim = Sim::new(ds, new_nodes(0, 3, &[]), pods);
    let got = sim.sync();
    assert!(
        got.creates.is_empty() && got.deletes.is_empty(),
        "generation match means updated: {:?}",
        got.deletes
    );
    assert_eq!(got.status.updated_number_scheduled, 3);
    assert_eq!(got.status.number_available, 3);

    // Control: the same pods from generation 1 are old and roll one at a time.
    let ds = with_template_generation("2");
    let pods = stale_hash_pods(&ds, 3, "1");
    let mut sim = Sim::new(ds, new_nodes(0, 3, &[]), pods);
    let got = sim.sync();
    assert_eq!(got.deletes.len(), 1, "maxUnavailable 1 of old pods");
    assert_eq!(got.status.updated_number_scheduled, 0);
}

/// spec §2.3 O2: manage's surge pruning compares only the hash label, so a generation-only
/// match is the "old" pod of its node and goes once the hash-matching pod is Available.
#[test]
fn surge_pruning_compares_only_the_hash() {
    let mut ds = with_template_generation("2");
    set_rolling_update(&mut ds, IntOrString::Int(0), Some(IntOrString::Int(1)));
    let mut pods = stale_hash_pods(&ds, 1, "2");
    let mut current = new_pod("pod-new", "node-0", DS_LABEL, Some(&ds));
    set_ready(&mut current, true, t0());
    set_created(&mut current, t0() + std::time::Duration::from_secs(1));
    pods.push(current);
    let mut sim = Sim::new(ds, new_nodes(0, 1, &[]), pods);
    let got = sim.sync();
    let deleted: Vec<&str> = got.deletes.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(deleted, vec!["pod-0"], "the stale-hash pod is the old one");
    assert!(got.creates.is_empty());
}
