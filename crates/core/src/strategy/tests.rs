//! Tests porting upstream `TestDaemonsetPrepareForUpdate`/`TestSelectorImmutability` generation rules, pod QoS (`TestComputePodQOS`) and namespace/pod PrepareForCreate.

use super::*;
use k8s_openapi::api::core::v1::Namespace;
use serde_json::{Value, json};

fn ds(v: Value) -> DaemonSet {
    let mut ds: DaemonSet = serde_json::from_value(v).expect("ds");
    crate::defaults::daemon_set(&mut ds);
    ds
}

fn base() -> Value {
    json!({
        "metadata": {"name": "d", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}},
                              "spec": {"containers": [{"name": "c", "image": "i:1"}]}}},
        "status": {"currentNumberScheduled": 5, "numberMisscheduled": 0,
                   "desiredNumberScheduled": 5, "numberReady": 5}
    })
}

fn tg(ds: &DaemonSet) -> i64 {
    template_generation(ds).expect("parses")
}

#[test]
fn daemon_set_prepare_for_create_sets_generations_and_clears_status() {
    // §3.2 G2: generation 1, templateGeneration < 1 → 1, a client value ≥ 1 kept.
    let cases = [(None, 1), (Some("0"), 1), (Some("-4"), 1), (Some("3"), 3)];
    for (annotation, want) in cases {
        let mut v = base();
        v["metadata"]["generation"] = json!(7);
        if let Some(a) = annotation {
            v["metadata"]["annotations"] = json!({"deprecated.daemonset.template.generation": a});
        }
        let mut d = ds(v);
        daemon_set_prepare_for_create(&mut d);
        assert_eq!(d.metadata.generation, Some(1));
        assert_eq!(tg(&d), want, "{annotation:?}");
        assert_eq!(
            serde_json::to_value(&d.status).expect("status"),
            json!({"currentNumberScheduled": 0, "numberMisscheduled": 0,
                   "desiredNumberScheduled": 0, "numberReady": 0})
        );
    }
}

#[test]
fn daemon_set_prepare_for_update_generation_rules() {
    // §3.2 G3, table: (mutation of the new object, generation, templateGeneration).
    type Mutation = fn(&mut Value);
    let cases: [(&str, Mutation, i64, i64); 5] = [
        ("no change", |_| {}, 4, 2),
        (
            "metadata only",
            |v| v["metadata"]["labels"] = json!({"x": "y"}),
            4,
            2,
        ),
        (
            "spec outside template",
            |v| v["spec"]["minReadySeconds"] = json!(5),
            5,
            2,
        ),
        (
            "template change",
            |v| v["spec"]["template"]["spec"]["containers"][0]["image"] = json!("i:2"),
            5,
            3,
        ),
        (
            "client cannot set templateGeneration",
            |v| {
                v["metadata"]["annotations"] =
                    json!({"deprecated.daemonset.template.generation": "9"})
            },
            4,
            2,
        ),
    ];
    for (name, mutate, want_gen, want_tg) in cases {
        let mut old_v = base();
        old_v["metadata"]["generation"] = json!(4);
        old_v["metadata"]["annotations"] = json!({"deprecated.daemonset.template.generation": "2"});
        let old = ds(old_v.clone());
        let mut new_v = old_v;
        new_v["status"] = json!({"currentNumberScheduled": 0, "numberMisscheduled": 0,
                                 "desiredNumberScheduled": 0, "numberReady": 0});
        new_v["metadata"]["generation"] = json!(1);
        mutate(&mut new_v);
        let mut new = ds(new_v);
        daemon_set_prepare_for_update(&mut new, &old);
        assert_eq!(new.metadata.generation, Some(want_gen), "{name}");
        assert_eq!(tg(&new), want_tg, "{name}");
        assert_eq!(
            new.status, old.status,
            "{name}: status is kept from the old object"
        );
    }
}

#[test]
fn daemon_set_status_update_takes_spec_from_old() {
    let old = ds(base());
    let mut new = old.clone();
    new.spec.as_mut().expect("spec").min_ready_seconds = Some(99);
    new.status.as_mut().expect("status").number_ready = 1;
    daemon_set_prepare_for_status_update(&mut new, &old);
    assert_eq!(new.spec, old.spec);
    assert_eq!(new.status.expect("status").number_ready, 1);
}

#[test]
fn template_generation_parse_errors_are_go_errors() {
    let mut v = base();
    v["metadata"]["annotations"] = json!({"deprecated.daemonset.template.generation": "x1"});
    assert_eq!(
        template_generation(&ds(v)),
        Err("strconv.ParseInt: parsing \"x1\": invalid syntax".to_string())
    );
}

#[test]
fn semantic_eq_treats_nil_and_empty_alike() {
    let a: PodSpec = serde_json::from_value(json!({"containers": [], "volumes": []})).expect("a");
    let b: PodSpec = serde_json::from_value(json!({"containers": []})).expect("b");
    assert!(semantic_eq(&a, &b));
    assert_eq!(generation_on_update(false, 3), 3);
    assert_eq!(generation_on_update(true, 3), 4);
}

#[test]
fn compute_pod_qos_like_upstream() {
    // Port of TestComputePodQOS (cpu/memory only; zero quantities are ignored).
    let cases = [
        (json!([{"name": "a"}]), QOS_BEST_EFFORT),
        (
            json!([{"name": "a", "resources": {"requests": {"cpu": "0"}}}]),
            QOS_BEST_EFFORT,
        ),
        (
            json!([{"name": "a", "resources": {"requests": {"cpu": "100m"}}}]),
            QOS_BURSTABLE,
        ),
        (
            json!([{"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}]),
            QOS_GUARANTEED,
        ),
        (
            json!([{"name": "a", "resources": {"requests": {"cpu": "1000m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1024Mi"}}}]),
            QOS_GUARANTEED,
        ),
        (
            json!([{"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}]),
            QOS_BURSTABLE,
        ),
        (
            json!([
                {"name": "a", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}},
                {"name": "b"}
            ]),
            QOS_BURSTABLE,
        ),
        (
            json!([{"name": "a", "resources": {"requests": {"nvidia.com/gpu": "1"}}}]),
            QOS_BEST_EFFORT,
        ),
    ];
    for (containers, want) in cases {
        let spec: PodSpec =
            serde_json::from_value(json!({"containers": containers.clone()})).expect("spec");
        assert_eq!(pod_qos_class(&spec), want, "{containers}");
    }
}

#[test]
fn pod_prepare_for_create_sets_pending_qos_and_gates() {
    let mut pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
                 "schedulingGates": [{"name": "g"}]},
        "status": {"phase": "Running", "podIP": "10.0.0.1"}
    }))
    .expect("pod");
    crate::defaults::pod(&mut pod);
    pod_prepare_for_create(&mut pod);
    let status = serde_json::to_value(&pod.status).expect("status");
    assert_eq!(
        status,
        json!({"phase": "Pending", "qosClass": "Guaranteed", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "SchedulingGated",
            "message": "Scheduling is blocked due to non-empty scheduling gates"}]})
    );
    assert_eq!(pod.metadata.generation, Some(1));

    let old = pod.clone();
    let mut new = pod.clone();
    new.status = None;
    pod_prepare_for_update(&mut new, &old);
    assert_eq!(new.status, old.status);
    assert_eq!(new.metadata.generation, Some(1));
    new.spec.as_mut().expect("spec").containers[0].image = Some("i:2".into());
    pod_prepare_for_update(&mut new, &old);
    assert_eq!(new.metadata.generation, Some(2));
}

#[test]
fn namespace_prepare_for_create_adds_kubernetes_finalizer_once() {
    let mut ns: Namespace = serde_json::from_value(json!({
        "metadata": {"name": "n"}, "spec": {"finalizers": ["example.com/x"]},
        "status": {"phase": "Terminating"}
    }))
    .expect("ns");
    namespace_prepare_for_create(&mut ns);
    namespace_prepare_for_create(&mut ns);
    let got = serde_json::to_value(&ns).expect("ns");
    assert_eq!(
        got["spec"]["finalizers"],
        json!(["example.com/x", "kubernetes"])
    );
    assert_eq!(got["status"], json!({"phase": "Active"}));
    assert_eq!(
        got["metadata"]["labels"],
        json!({"kubernetes.io/metadata.name": "n"})
    );
}
