//! Table tests of the Deployment planner, after upstream `sync_test.go`, `rolling_test.go` and `recreate_test.go` cases.

use serde_json::json;

use super::*;

fn now() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().expect("valid")
}

fn deployment(replicas: i32, image: &str, strategy: serde_json::Value) -> Deployment {
    let mut d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web", "namespace": "ns", "uid": "d-uid", "generation": 1},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}, "strategy": strategy,
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}},
        "status": {}
    }))
    .expect("valid deployment");
    everynode_core::workloads::default_deployment(&mut d);
    d
}

fn rolling() -> serde_json::Value {
    json!({"type": "RollingUpdate"})
}

/// The ReplicaSets as the API server would store them after the plan's writes, with status
/// caught up (every pod available).
fn apply(rses: &mut Vec<ReplicaSet>, plan: &DeploymentPlan, ready: bool) {
    for action in &plan.actions {
        match action {
            Action::Create(rs) | Action::Update(rs) => {
                let mut rs = rs.clone();
                rs.metadata.uid.get_or_insert_with(|| {
                    format!("uid-{}", rs.metadata.name.clone().unwrap_or_default())
                });
                rs.metadata
                    .creation_timestamp
                    .get_or_insert(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
                rses.retain(|r| r.metadata.name != rs.metadata.name);
                rses.push(rs);
            }
            Action::Delete(name) => rses.retain(|r| r.metadata.name.as_ref() != Some(name)),
        }
    }
    if ready {
        for rs in rses.iter_mut() {
            let n = util::replicas(rs);
            rs.status = Some(k8s_openapi::api::apps::v1::ReplicaSetStatus {
                replicas: n,
                ready_replicas: Some(n),
                available_replicas: Some(n),
                observed_generation: rs.metadata.generation,
                ..Default::default()
            });
        }
    }
}

fn no_old_pods(_: &[&ReplicaSet], _: Option<&ReplicaSet>) -> bool {
    false
}

#[test]
fn a_new_deployment_creates_its_replica_set_at_full_size() {
    let d = deployment(3, "fluentd", rolling());
    let plan = plan(&d, &[], &no_old_pods, now());
    let [Action::Create(rs)] = plan.actions.as_slice() else {
        panic!("expected one create, got {:?}", plan.actions);
    };
    let hash = rs
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .and_then(|l| l.get(POD_TEMPLATE_HASH_LABEL))
        .cloned()
        .expect("hash label");
    assert_eq!(
        rs.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    assert_eq!(util::replicas(rs), 3);
    assert_eq!(util::revision(rs), 1);
    let updated = plan.deployment.expect("status update");
    let status = updated.status.expect("status");
    let progressing = condition(&status, PROGRESSING).expect("progressing");
    assert_eq!(progressing.reason.as_deref(), Some(NEW_RS_CREATED));
}

#[test]
fn a_rolling_update_surges_then_scales_old_down_and_completes() {
    let d = deployment(4, "v1", rolling());
    let mut rses = Vec::new();
    let p = plan(&d, &rses, &no_old_pods, now());
    apply(&mut rses, &p, true);
    let mut d2 = deployment(4, "v2", rolling());
    d2.metadata.generation = Some(2);
    // 25% of 4: surge 1, unavailable 1. First sync: the new RS is created at 1 (4 + 1 surge -
    // 4 existing), and the old one may lose one pod (min available 3) in the same sync.
    let p = plan(&d2, &rses, &no_old_pods, now());
    apply(&mut rses, &p, false);
    let sizes = |rses: &[ReplicaSet]| {
        let mut s: Vec<(i64, i32)> = rses
            .iter()
            .map(|r| (util::revision(r), util::replicas(r)))
            .collect();
        s.sort();
        s
    };
    assert_eq!(sizes(&rses), vec![(1, 3), (2, 1)]);
    // Then the new one surges to 2 while nothing new is available yet.
    let p = plan(&d2, &rses, &no_old_pods, now());
    apply(&mut rses, &p, false);
    assert_eq!(sizes(&rses), vec![(1, 3), (2, 2)]);
    for _ in 0..10 {
        let mut current = d2.clone();
        let p = plan(&current, &rses, &no_old_pods, now());
        apply(&mut rses, &p, true);
        if let Some(updated) = p.deployment {
            current.status = updated.status;
            d2.status = current.status.clone();
            d2.metadata.annotations = updated.metadata.annotations;
        }
    }
    assert_eq!(sizes(&rses), vec![(1, 0), (2, 4)]);
    let status = d2.status.clone().expect("status");
    assert!(complete(&d2, &status));
    let progressing = condition(&status, PROGRESSING).expect("progressing");
    assert_eq!(progressing.reason.as_deref(), Some(NEW_RS_AVAILABLE));
    assert_eq!(
        progressing.message.as_deref(),
        Some(
            format!(
                "ReplicaSet \"{}\" has successfully progressed.",
                rses.iter()
                    .find(|r| util::revision(r) == 2)
                    .and_then(|r| r.metadata.name.clone())
                    .unwrap_or_default()
            )
            .as_str()
        )
    );
}

#[test]
fn recreate_scales_old_to_zero_before_creating_the_new_one() {
    let d = deployment(2, "v1", json!({"type": "Recreate"}));
    let mut rses = Vec::new();
    let p = plan(&d, &rses, &no_old_pods, now());
    apply(&mut rses, &p, true);
    let d2 = deployment(2, "v2", json!({"type": "Recreate"}));
    let p = plan(&d2, &rses, &|_, _| true, now());
    assert!(matches!(p.actions.as_slice(), [Action::Update(rs)] if util::replicas(rs) == 0));
    apply(&mut rses, &p, true);
    let p = plan(&d2, &rses, &|_, _| true, now());
    assert!(p.actions.is_empty(), "waits for old pods: {:?}", p.actions);
    let p = plan(&d2, &rses, &no_old_pods, now());
    assert!(matches!(p.actions.as_slice(), [Action::Create(rs)] if util::replicas(rs) == 2));
}

#[test]
fn scaling_a_settled_deployment_resizes_only_the_active_replica_set() {
    let d = deployment(3, "v1", rolling());
    let mut rses = Vec::new();
    let p = plan(&d, &rses, &no_old_pods, now());
    apply(&mut rses, &p, true);
    let d5 = deployment(5, "v1", rolling());
    let p = plan(&d5, &rses, &no_old_pods, now());
    let [Action::Update(rs)] = p.actions.as_slice() else {
        panic!("expected one update, got {:?}", p.actions);
    };
    assert_eq!(util::replicas(rs), 5);
    assert_eq!(util::desired_annotation(rs), Some(5));
}

#[test]
fn old_replica_sets_beyond_the_history_limit_are_deleted() {
    let mut d = deployment(1, "v1", rolling());
    if let Some(spec) = d.spec.as_mut() {
        spec.revision_history_limit = Some(1);
    }
    let mut rses = Vec::new();
    for image in ["v1", "v2", "v3"] {
        let mut next = d.clone();
        if let Some(spec) = next.spec.as_mut() {
            if let Some(s) = spec.template.spec.as_mut() {
                s.containers[0].image = Some(image.to_owned());
            }
        }
        for _ in 0..6 {
            let p = plan(&next, &rses, &no_old_pods, now());
            apply(&mut rses, &p, true);
            if let Some(u) = p.deployment {
                next.status = u.status;
            }
        }
        d = next;
    }
    let mut revisions: Vec<i64> = rses.iter().map(util::revision).collect();
    revisions.sort();
    assert_eq!(revisions, vec![2, 3]);
}

#[test]
fn rollback_to_an_old_template_reuses_its_replica_set_with_a_new_revision() {
    let mut rses = Vec::new();
    for image in ["v1", "v2", "v1"] {
        let mut d = deployment(1, image, rolling());
        for _ in 0..6 {
            let p = plan(&d, &rses, &no_old_pods, now());
            apply(&mut rses, &p, true);
            if let Some(u) = p.deployment {
                d.status = u.status;
            }
        }
    }
    assert_eq!(rses.len(), 2);
    let v1 = rses
        .iter()
        .find(|r| util::replicas(r) == 1)
        .expect("active rs");
    assert_eq!(util::revision(v1), 3);
    let history = v1
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(everynode_core::workloads::REVISION_HISTORY_ANNOTATION))
        .cloned();
    assert_eq!(history.as_deref(), Some("1"));
}

#[test]
fn scaling_mid_rollout_is_proportional_with_the_leftover_to_the_largest() {
    // Upstream `TestScale` "proportional scaling": 10 → 20 while old holds 8 and new 3.
    let d = deployment(10, "v1", rolling());
    let mut rses = Vec::new();
    let p = plan(&d, &rses, &no_old_pods, now());
    apply(&mut rses, &p, true);
    let v2 = deployment(10, "v2", rolling());
    let p = plan(&v2, &rses, &no_old_pods, now());
    apply(&mut rses, &p, false);
    let sizes = |rses: &[ReplicaSet]| {
        let mut s: Vec<(i64, i32)> = rses
            .iter()
            .map(|r| (util::revision(r), util::replicas(r)))
            .collect();
        s.sort();
        s
    };
    assert_eq!(sizes(&rses), vec![(1, 8), (2, 3)]);
    let v2_at_20 = deployment(20, "v2", rolling());
    let p = plan(&v2_at_20, &rses, &no_old_pods, now());
    apply(&mut rses, &p, false);
    // 20 + 25% surge = 25 allowed, 14 to add: old gets 15 - 8 = 7, new 6 - 3 = 3, and the 4
    // left over go to the largest.
    assert_eq!(sizes(&rses), vec![(1, 19), (2, 6)]);
    assert!(rses.iter().all(|r| util::desired_annotation(r) == Some(20)));
}

#[test]
fn a_deleting_deployment_only_updates_status() {
    let mut d = deployment(3, "v1", rolling());
    let p = plan(&d, &[], &no_old_pods, now());
    let mut rses = Vec::new();
    apply(&mut rses, &p, true);
    d.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
    if let Some(spec) = d.spec.as_mut() {
        spec.replicas = Some(1);
    }
    let p = plan(&d, &rses, &no_old_pods, now());
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    let status = p.deployment.and_then(|d| d.status).expect("status");
    assert_eq!(status.replicas, Some(3));
}

#[test]
fn no_progress_past_the_deadline_sets_progress_deadline_exceeded() {
    let mut d = deployment(2, "v1", rolling());
    if let Some(spec) = d.spec.as_mut() {
        spec.progress_deadline_seconds = Some(60);
    }
    let mut rses = Vec::new();
    let p = plan(&d, &rses, &no_old_pods, now());
    // The pods never become ready: the ReplicaSet reports them, none available.
    apply(&mut rses, &p, false);
    d.status = p.deployment.and_then(|u| u.status);
    let later: Timestamp = "2024-05-01T12:05:00Z".parse().expect("valid");
    let p = plan(&d, &rses, &no_old_pods, later);
    let status = p.deployment.and_then(|u| u.status).expect("status");
    let progressing = condition(&status, PROGRESSING).expect("progressing");
    assert_eq!(progressing.status, FALSE);
    assert_eq!(progressing.reason.as_deref(), Some(TIMED_OUT));
    let rs_name = rses[0].metadata.name.clone().unwrap_or_default();
    assert_eq!(
        progressing.message.as_deref(),
        Some(format!("ReplicaSet \"{rs_name}\" has timed out progressing.").as_str())
    );
}
