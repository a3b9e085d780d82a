//! Planner benchmark: one full plan for a DaemonSet on 5,000 nodes, each already running its pod (target ≤ 5 ms).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use everynode_controller::fixtures::{
    SIMPLE_DAEMON_LABELS, new_daemon_set, new_nodes, new_pod, set_created, set_ready,
    set_rolling_update,
};
use everynode_controller::plan::history::plan_history;
use everynode_controller::plan::{FailedPodBackoff, PlanInput, plan, refs};
use everynode_core::labels::Selector;
use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

const NODES: usize = 5_000;

fn bench_plan(c: &mut Criterion) {
    let now = Timestamp::UNIX_EPOCH;
    let mut ds = new_daemon_set("bench");
    set_rolling_update(&mut ds, IntOrString::Int(1), None);
    let nodes = new_nodes(0, NODES, &[("kubernetes.io/os", "linux")]);
    let pods: Vec<_> = (0..NODES)
        .map(|i| {
            let mut pod = new_pod(
                &format!("bench-{i:05}"),
                &format!("node-{i}"),
                SIMPLE_DAEMON_LABELS,
                Some(&ds),
            );
            set_created(&mut pod, now);
            set_ready(&mut pod, true, now);
            pod
        })
        .collect();
    // The steady state: the current revision exists, so the plan takes the no-write path.
    let selector = Selector::from_label_selector(ds.spec.as_ref().map(|s| &s.selector))
        .unwrap_or_else(|_| Selector::everything());
    let revisions: Vec<_> = plan_history(&ds, &selector, &[], [])
        .ok()
        .and_then(|h| h.create)
        .into_iter()
        .collect();
    let backoff = FailedPodBackoff::default();
    let (nodes, pods) = (refs(&nodes), refs(&pods));
    let input = PlanInput {
        ds: &ds,
        nodes: &nodes,
        pods: &pods,
        revisions: &revisions,
        backoff: &backoff,
        expectations_satisfied: true,
        now,
    };
    if let Ok(p) = plan(&input) {
        assert!(p.creates.is_empty() && p.deletes.is_empty(), "steady state");
    }
    c.bench_function("plan/5000-nodes-steady", |b| {
        b.iter(|| black_box(plan(black_box(&input))))
    });

    // A rollout in progress: the template changed, every pod is old, the budget picks one.
    let mut updated = ds.clone();
    if let Some(spec) = updated.spec.as_mut().and_then(|s| s.template.spec.as_mut()) {
        spec.containers[0].image = Some("foo/v2".to_string());
    }
    let rollout = PlanInput {
        ds: &updated,
        ..input
    };
    c.bench_function("plan/5000-nodes-rollout-start", |b| {
        b.iter(|| black_box(plan(black_box(&rollout))))
    });

    // A fresh DaemonSet: 5,000 nodes to fill (capped at BurstReplicas creates per sync).
    let fresh = PlanInput {
        pods: &[],
        revisions: &[],
        ..input
    };
    c.bench_function("plan/5000-nodes-fresh", |b| {
        b.iter(|| black_box(plan(black_box(&fresh))))
    });
}

criterion_group!(benches, bench_plan);
criterion_main!(benches);
