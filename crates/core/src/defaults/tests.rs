//! Tests for upstream defaulting: a tutorial DaemonSet must come out exactly as the real API server returns it.

use super::*;
use serde_json::json;

fn ds_from(v: serde_json::Value) -> DaemonSet {
    serde_json::from_value(v).expect("valid DaemonSet JSON")
}

/// The `fluentd-elasticsearch` DaemonSet of the Kubernetes "DaemonSet" concept page, as submitted.
pub(crate) fn tutorial_daemon_set() -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "fluentd-elasticsearch", "namespace": "kube-system",
                     "labels": {"k8s-app": "fluentd-logging"}},
        "spec": {
            "selector": {"matchLabels": {"name": "fluentd-elasticsearch"}},
            "template": {
                "metadata": {"labels": {"name": "fluentd-elasticsearch"}},
                "spec": {
                    "tolerations": [{"key": "node-role.kubernetes.io/control-plane",
                                     "operator": "Exists", "effect": "NoSchedule"}],
                    "containers": [{
                        "name": "fluentd-elasticsearch",
                        "image": "quay.io/fluentd_elasticsearch/fluentd:v2.5.2",
                        "resources": {"limits": {"memory": "200Mi"},
                                      "requests": {"cpu": "100m", "memory": "200Mi"}},
                        "volumeMounts": [{"name": "varlog", "mountPath": "/var/log"}]
                    }],
                    "terminationGracePeriodSeconds": 30,
                    "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}]
                }
            }
        }
    })
}

#[test]
fn set_defaults_daemon_set_tutorial_manifest_matches_upstream_output() {
    let mut ds = ds_from(tutorial_daemon_set());
    daemon_set(&mut ds);
    let got = serde_json::to_value(&ds).expect("serializes");
    let want = json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "fluentd-elasticsearch", "namespace": "kube-system",
                     "labels": {"k8s-app": "fluentd-logging"}},
        "spec": {
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"name": "fluentd-elasticsearch"}},
            "template": {
                "metadata": {"labels": {"name": "fluentd-elasticsearch"}},
                "spec": {
                    "containers": [{
                        "image": "quay.io/fluentd_elasticsearch/fluentd:v2.5.2",
                        "imagePullPolicy": "IfNotPresent",
                        "name": "fluentd-elasticsearch",
                        "resources": {"limits": {"memory": "200Mi"},
                                      "requests": {"cpu": "100m", "memory": "200Mi"}},
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "volumeMounts": [{"mountPath": "/var/log", "name": "varlog"}]
                    }],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                    "schedulerName": "default-scheduler",
                    "securityContext": {},
                    "terminationGracePeriodSeconds": 30,
                    "tolerations": [{"effect": "NoSchedule",
                                     "key": "node-role.kubernetes.io/control-plane",
                                     "operator": "Exists"}],
                    "volumes": [{"hostPath": {"path": "/var/log", "type": ""}, "name": "varlog"}]
                }
            },
            "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                               "type": "RollingUpdate"}
        }
    });
    assert_eq!(got, want);
}

#[test]
fn set_defaults_daemon_set_keeps_user_values_and_on_delete() {
    // Port of TestSetDefaultDaemonSetSpec: explicit values survive; OnDelete gets no rollingUpdate.
    let mut ds = ds_from(json!({
        "spec": {"selector": {}, "template": {"spec": {"containers": []}},
                 "revisionHistoryLimit": 0,
                 "updateStrategy": {"type": "OnDelete"}}
    }));
    daemon_set(&mut ds);
    let spec = ds.spec.expect("spec");
    assert_eq!(spec.revision_history_limit, Some(0));
    let strategy = spec.update_strategy.expect("strategy");
    assert_eq!(strategy.type_.as_deref(), Some("OnDelete"));
    assert!(strategy.rolling_update.is_none());

    let mut ds = ds_from(json!({
        "spec": {"selector": {}, "template": {},
                 "updateStrategy": {"rollingUpdate": {"maxUnavailable": "10%"}}}
    }));
    daemon_set(&mut ds);
    let rolling = ds
        .spec
        .and_then(|s| s.update_strategy)
        .and_then(|s| s.rolling_update)
        .expect("rolling");
    assert_eq!(
        rolling.max_unavailable,
        Some(IntOrString::String("10%".into()))
    );
    assert_eq!(rolling.max_surge, Some(IntOrString::Int(0)));
}

#[test]
fn set_defaults_daemon_set_does_not_default_selector_or_labels_from_template() {
    // apps/v1 dropped the extensions/v1beta1 selector-from-template defaulting.
    let mut ds = ds_from(json!({
        "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}}
    }));
    daemon_set(&mut ds);
    assert!(ds.metadata.labels.is_none());
    let spec = ds.spec.expect("spec");
    assert!(spec.selector.match_labels.is_none());
}

#[test]
fn set_defaults_pull_policy_like_upstream() {
    // Port of TestSetDefaultImagePullPolicy / parsers.ParseImageName cases.
    let cases = [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("docker.io/library/nginx", "Always"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry.k8s.io/pause:3.10", "IfNotPresent"),
        (
            "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "IfNotPresent",
        ),
        (
            "nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "Always",
        ),
        ("Nginx", "IfNotPresent"),
        ("", "IfNotPresent"),
    ];
    for (image, want) in cases {
        assert_eq!(default_pull_policy(image), want, "{image}");
    }
}

#[test]
fn set_defaults_probes_ports_volumes_and_field_refs() {
    let mut spec: PodSpec = serde_json::from_value(json!({
        "containers": [{
            "name": "c", "image": "x:1", "imagePullPolicy": "Never",
            "ports": [{"containerPort": 80}],
            "livenessProbe": {"httpGet": {"port": 8080}},
            "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 3},
            "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
        }],
        "volumes": [
            {"name": "empty"},
            {"name": "cm", "configMap": {"name": "x"}},
            {"name": "sec", "secret": {"secretName": "x"}},
            {"name": "tok", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}
        ]
    }))
    .expect("pod spec");
    pod_spec(&mut spec);
    let got = serde_json::to_value(&spec).expect("serializes");
    let c = &got["containers"][0];
    assert_eq!(c["imagePullPolicy"], "Never");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1,
               "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(c["readinessProbe"]["periodSeconds"], 3);
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    let vols = &got["volumes"];
    assert_eq!(vols[0], json!({"name": "empty", "emptyDir": {}}));
    assert_eq!(vols[1]["configMap"]["defaultMode"], 420);
    assert_eq!(vols[2]["secret"]["defaultMode"], 420);
    assert_eq!(vols[3]["projected"]["defaultMode"], 420);
    assert_eq!(
        vols[3]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
        3600
    );
    // Template-level defaulting must not add the pod-only defaults.
    assert!(got.get("enableServiceLinks").is_none());
}

#[test]
fn set_defaults_pod_adds_pod_only_defaults() {
    // Port of TestSetDefaultRequestsPod and the hostNetwork port defaulting.
    let mut p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p"},
        "spec": {"hostNetwork": true, "containers": [{
            "name": "c", "image": "x",
            "ports": [{"containerPort": 9100}],
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}
        }]}
    }))
    .expect("pod");
    pod(&mut p);
    let got = serde_json::to_value(&p).expect("serializes");
    assert_eq!(got["spec"]["enableServiceLinks"], true);
    let c = &got["spec"]["containers"][0];
    assert_eq!(
        c["resources"]["requests"],
        json!({"cpu": "500m", "memory": "1Gi"})
    );
    assert_eq!(c["ports"][0]["hostPort"], 9100);
    assert_eq!(c["imagePullPolicy"], "Always");
}

#[test]
fn set_defaults_namespace_and_node() {
    let mut ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "team-a"}})).expect("ns");
    namespace(&mut ns);
    let got = serde_json::to_value(&ns).expect("serializes");
    assert_eq!(
        got["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team-a"
    );
    assert_eq!(got["status"]["phase"], "Active");

    let mut n: Node = serde_json::from_value(
        json!({"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "4"}}}),
    )
    .expect("node");
    node(&mut n);
    let got = serde_json::to_value(&n).expect("serializes");
    assert_eq!(got["status"]["allocatable"], json!({"cpu": "4"}));
}

#[test]
fn defaulting_is_idempotent() {
    let mut once = ds_from(tutorial_daemon_set());
    daemon_set(&mut once);
    let mut twice = once.clone();
    daemon_set(&mut twice);
    assert_eq!(once, twice);
}
