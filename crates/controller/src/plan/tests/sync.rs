//! The sync as a whole (spec §1.2, §1.8, §1.10): expectations, burst caps, the creation template, and when status is written.

use std::time::Duration;

use everynode_core::keys::{
    CONTROLLER_REVISION_HASH_LABEL, DEPRECATED_TEMPLATE_GENERATION_ANNOTATION,
    POD_TEMPLATE_GENERATION_LABEL, TAINT_NODE_NETWORK_UNAVAILABLE,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::fixtures::*;
use crate::plan::pod_template::{TemplateError, creation_template, generate_name, pod_for_node};
use crate::plan::{PlanInput, plan};
use crate::testing::{Sim, t0};

#[test]
fn pending_expectations_only_refresh_status() {
    let mut ds = new_daemon_set("foo");
    ds.metadata.generation = Some(2);
    let nodes = new_nodes(0, 3, &[]);
    let sim = Sim::new(ds, nodes, vec![]);
    let (nodes, pods) = (crate::plan::refs(&sim.nodes), crate::plan::refs(&sim.pods));
    let input = PlanInput {
        ds: &sim.ds,
        nodes: &nodes,
        pods: &pods,
        revisions: &sim.revisions,
        backoff: &sim.backoff,
        expectations_satisfied: false,
        now: sim.now,
    };
    let p = plan(&input).expect("plan");
    assert!(p.creates.is_empty() && p.deletes.is_empty(), "spec §1.2 S7");
    let status = p.status.expect("status written");
    assert_eq!(status.desired_number_scheduled, 3);
    assert_eq!(
        status.observed_generation, None,
        "observedGeneration not raised"
    );
    assert!(
        p.history.is_some(),
        "history is still constructed (S6 before S7)"
    );
}

#[test]
fn status_write_skipped_when_unchanged() {
    let mut ds = new_daemon_set("foo");
    ds.metadata.generation = Some(1);
    let mut sim = Sim::new(ds, new_nodes(0, 2, &[]), vec![]);
    sim.ready_on_create = true;
    sim.sync_real();
    sim.sync_real();
    let p = sim.sync_real();
    assert!(p.creates.is_empty());
    assert!(p.status.is_none(), "spec §1.10 W1: nothing to write");
    // A new generation forces a write even with equal counters.
    sim.ds.metadata.generation = Some(2);
    let p = sim.sync_real();
    assert_eq!(p.status.and_then(|s| s.observed_generation), Some(2));
}

#[test]
fn min_ready_seconds_requeues_until_available() {
    let mut ds = new_daemon_set("foo");
    if let Some(spec) = ds.spec.as_mut() {
        spec.min_ready_seconds = Some(30);
    }
    let mut pod = new_pod("p", "node-0", DS_LABEL, Some(&ds));
    set_ready(&mut pod, true, t0());
    let mut sim = Sim::new(ds, new_nodes(0, 1, &[]), vec![pod]);
    let p = sim.sync_real();
    let c = p.counters.expect("counters");
    assert_eq!(
        (c.number_ready, c.number_available, c.number_unavailable),
        (1, 0, 1)
    );
    assert_eq!(
        p.requeue_after,
        Some(Duration::from_secs(30)),
        "spec §1.10 W2"
    );
    sim.advance(Duration::from_secs(30));
    let c = sim.sync_real().counters.expect("counters");
    assert_eq!(
        (c.number_available, c.number_unavailable),
        (1, 0),
        "lastTransition + 30 s <= now"
    );
}

#[test]
fn burst_replicas_caps_creates_per_sync() {
    // Planner half of upstream TestSimpleDaemonSetPodCreateErrors: at most 250 per sync (K1).
    let mut sim = Sim::new(new_daemon_set("foo"), new_nodes(0, 300, &[]), vec![]);
    let p = sim.sync_real();
    assert_eq!(p.creates.len(), 250);
    assert_eq!(
        p.creates.first().map(String::as_str),
        Some("node-0"),
        "node-list order (D6)"
    );
    let p = sim.sync_real();
    assert_eq!(p.creates.len(), 50);
}

#[test]
fn creation_template_carries_labels_tolerations_and_pin() {
    let mut ds = new_daemon_set("foo");
    ds.metadata.annotations = Some(labels(&[(DEPRECATED_TEMPLATE_GENERATION_ANNOTATION, "7")]));
    template_spec(&mut ds).host_network = Some(true);
    template_spec(&mut ds).affinity = Some(zone_affinity_for_test());
    let template = creation_template(&ds, "abc");
    let pod = pod_for_node(&ds, &template, "node-3").expect("pod");
    let labels_of = pod.metadata.labels.as_ref().expect("labels");
    assert_eq!(
        labels_of
            .get(POD_TEMPLATE_GENERATION_LABEL)
            .map(String::as_str),
        Some("7")
    );
    assert_eq!(
        labels_of
            .get(CONTROLLER_REVISION_HASH_LABEL)
            .map(String::as_str),
        Some("abc")
    );
    assert_eq!(pod.metadata.generate_name.as_deref(), Some("foo-"));
    let spec = pod.spec.as_ref().expect("spec");
    let tolerations = spec.tolerations.as_ref().expect("tolerations");
    assert_eq!(
        tolerations.len(),
        7,
        "six automatic + network-unavailable for hostNetwork"
    );
    assert_eq!(
        tolerations[6].key.as_deref(),
        Some(TAINT_NODE_NETWORK_UNAVAILABLE)
    );
    let affinity = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .expect("affinity");
    let required = affinity
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .expect("req");
    assert_eq!(
        required.node_selector_terms.len(),
        1,
        "user terms replaced (K3)"
    );
    assert!(spec.node_name.is_none());
    assert!(everynode_core::pod::controller_ref(&pod.metadata).is_some());
    // Unparseable generation → label omitted (K2).
    ds.metadata.annotations = Some(labels(&[(DEPRECATED_TEMPLATE_GENERATION_ANNOTATION, "x")]));
    let template = creation_template(&ds, "abc");
    let has = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref())
        .is_some_and(|l| l.contains_key(POD_TEMPLATE_GENERATION_LABEL));
    assert!(!has);
}

fn zone_affinity_for_test() -> k8s_openapi::api::core::v1::Affinity {
    use k8s_openapi::api::core::v1::{
        Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
        PreferredSchedulingTerm,
    };
    let term = NodeSelectorTerm {
        match_expressions: Some(vec![NodeSelectorRequirement {
            key: "zone".to_string(),
            operator: "In".to_string(),
            values: Some(vec!["a".to_string()]),
        }]),
        match_fields: None,
    };
    Affinity {
        node_affinity: Some(NodeAffinity {
            required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                node_selector_terms: vec![term.clone(), term.clone()],
            }),
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                PreferredSchedulingTerm {
                    preference: term,
                    weight: 1,
                },
            ]),
        }),
        ..Affinity::default()
    }
}

#[test]
fn template_without_labels_cannot_create() {
    let mut ds = new_daemon_set("foo");
    if let Some(spec) = ds.spec.as_mut() {
        spec.template.metadata = None;
    }
    let template = creation_template(&ds, "");
    assert_eq!(
        pod_for_node(&ds, &template, "n").err(),
        Some(TemplateError::NoLabels)
    );
    assert_eq!(
        generate_name(&"a".repeat(253)),
        "a".repeat(253),
        "too long for a dashed prefix"
    );
}

#[test]
fn orphans_are_adopted_before_planning() {
    // Upstream TestDontDoAnythingIfBeingDeletedRace relies on the executor refusing adoption
    // when the live DaemonSet is being deleted; the plan therefore lists adoptions explicitly.
    for ds in strategies("foo") {
        let orphan = new_pod("pod1-", "node-0", DS_LABEL, None);
        let mut sim = Sim::new(ds, new_nodes(0, 1, &[]), vec![orphan]);
        let p = sim.sync_real();
        let adopted: Vec<&str> = p.adopt_pods.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(adopted, ["pod1-"]);
        assert!(p.creates.is_empty(), "the adopted orphan fills node-0");
    }
}

#[test]
fn invalid_max_unavailable_is_a_rolling_error_but_status_is_written() {
    let mut ds = new_daemon_set("foo");
    set_rolling_update(&mut ds, IntOrString::String("5".to_string()), None);
    let mut pod = new_pod("p", "node-0", DS_LABEL, Some(&ds));
    set_ready(&mut pod, true, t0());
    let sim = Sim::new(ds, new_nodes(0, 1, &[]), vec![pod]);
    let p = sim.plan();
    let err = p.rolling_error.expect("error");
    assert_eq!(
        err.to_string(),
        "couldn't get unavailable numbers: invalid value for MaxUnavailable: invalid value for IntOrString: invalid type: string is not a percentage"
    );
    assert!(p.status.is_some());
}
