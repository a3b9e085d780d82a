//! Decoding tests for apps/v1 Deployment and ReplicaSet and autoscaling/v1 Scale bodies.

use serde_json::json;

use super::decode;
use super::encoder::{Enc, int_or_str};

/// ObjectMeta with `name` and the label `app=<name>` (field 11 is the labels map).
fn labelled(name: &str) -> Enc {
    Enc::new().str(1, name).str_entry(11, "app", name)
}

fn template(app: &str, image: &str) -> Enc {
    Enc::new()
        .msg(1, Enc::new().str_entry(11, "app", app))
        .msg(2, Enc::new().msg(2, Enc::new().str(1, image).str(2, image)))
}

#[test]
fn kubectl_create_deployment_log_collector() {
    // What `kubectl create deployment log-collector --image=fluentd --replicas=3` sends: an
    // empty strategy and status are on the wire as empty messages.
    let spec = Enc::new()
        .int(1, 3)
        .msg(2, Enc::new().str_entry(1, "app", "log-collector"))
        .msg(3, template("log-collector", "fluentd"))
        .msg(4, Enc::new())
        .int(5, 0);
    let raw = Enc::new()
        .msg(1, labelled("log-collector"))
        .msg(2, spec)
        .msg(3, Enc::new());
    assert_eq!(
        decode("apps/v1", "Deployment", raw),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "log-collector", "labels": {"app": "log-collector"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "log-collector"}},
                "template": {
                    "metadata": {"labels": {"app": "log-collector"}},
                    "spec": {"containers": [{"name": "fluentd", "image": "fluentd"}]}
                },
                "strategy": {}
            },
            "status": {}
        })
    );
}

#[test]
fn deployment_strategy_and_explicit_zero_replicas() {
    let strategy = Enc::new().str(1, "RollingUpdate").msg(
        2,
        Enc::new().msg(1, int_or_str("25%")).msg(2, int_or_str("1")),
    );
    let raw = Enc::new().msg(1, labelled("web")).msg(
        2,
        Enc::new().int(1, 0).msg(4, strategy).int(6, 0).int(9, 600),
    );
    let decoded = decode("apps/v1", "Deployment", raw);
    assert_eq!(decoded["spec"]["replicas"], json!(0));
    assert_eq!(decoded["spec"]["revisionHistoryLimit"], json!(0));
    assert_eq!(decoded["spec"]["progressDeadlineSeconds"], json!(600));
    assert_eq!(
        decoded["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "1"}})
    );
}

#[test]
fn replica_set_and_scale() {
    let raw = Enc::new().msg(1, labelled("front")).msg(
        2,
        Enc::new()
            .int(1, 2)
            .msg(2, Enc::new().str_entry(1, "app", "front"))
            .msg(3, template("front", "nginx"))
            .int(4, 5),
    );
    let decoded = decode("apps/v1", "ReplicaSet", raw);
    assert_eq!(decoded["spec"]["replicas"], json!(2));
    assert_eq!(decoded["spec"]["minReadySeconds"], json!(5));
    let scale = Enc::new()
        .msg(1, Enc::new().str(1, "front").str(3, "default"))
        .msg(2, Enc::new().int(1, 4));
    assert_eq!(
        decode("autoscaling/v1", "Scale", scale),
        json!({
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": "front", "namespace": "default"},
            "spec": {"replicas": 4}
        })
    );
}
