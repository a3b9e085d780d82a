//! Table tests porting upstream `TestValidateDaemonSet*`, `TestValidateObjectMeta*` and pod update cases, with exact messages (spec §3.3).

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::*;
use crate::{defaults, strategy};

fn valid_ds_json() -> Value {
    json!({
        "metadata": {"name": "abc", "namespace": "default", "resourceVersion": "1"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "abc", "image": "image"}]}
            }
        }
    })
}

/// A defaulted DaemonSet after `mutate` edits its JSON (mutations run after defaulting so that
/// defaults cannot repair them).
fn ds_with(mutate: impl FnOnce(&mut Value)) -> DaemonSet {
    let mut ds: DaemonSet = serde_json::from_value(valid_ds_json()).expect("ds");
    defaults::daemon_set(&mut ds);
    let mut v = serde_json::to_value(&ds).expect("serializes");
    mutate(&mut v);
    serde_json::from_value(v).expect("mutated ds")
}

fn texts(errs: &[FieldError]) -> Vec<String> {
    errs.iter().map(FieldError::text).collect()
}

const DNS_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

#[test]
fn validate_daemon_set_accepts_defaulted_valid_objects() {
    assert_eq!(
        texts(&daemon_set_create(&ds_with(|_| {}))),
        Vec::<String>::new()
    );
    let on_delete = ds_with(|v| {
        v["spec"]["updateStrategy"] = json!({"type": "OnDelete"});
        v["spec"]["revisionHistoryLimit"] = json!(0);
    });
    assert!(daemon_set_create(&on_delete).is_empty());
    let surge = ds_with(|v| {
        v["spec"]["updateStrategy"]["rollingUpdate"] =
            json!({"maxUnavailable": 0, "maxSurge": "20%"});
    });
    assert!(daemon_set_create(&surge).is_empty());
}

#[test]
fn validate_daemon_set_error_messages_are_exact() {
    // Port of TestValidateDaemonSet's errorCases, one rule of §3.3 per row.
    type Mutation = Box<dyn Fn(&mut Value)>;
    type Case = (&'static str, Mutation, Vec<(&'static str, &'static str)>);
    let cases: Vec<Case> = vec![
        (
            "selector does not match template labels",
            Box::new(|v| v["spec"]["template"]["metadata"]["labels"] = json!({"a": "c"})),
            vec![(
                INVALID,
                "spec.template.metadata.labels: Invalid value: map[string]string{\"a\":\"c\"}: `selector` does not match template `labels`",
            )],
        ),
        (
            "missing selector matches nothing",
            Box::new(|v| {
                v["spec"].as_object_mut().map(|s| s.remove("selector"));
            }),
            vec![(
                INVALID,
                "spec.template.metadata.labels: Invalid value: map[string]string{\"a\":\"b\"}: `selector` does not match template `labels`",
            )],
        ),
        (
            "empty selector",
            Box::new(|v| v["spec"]["selector"] = json!({"matchLabels": {}})),
            vec![(
                INVALID,
                "spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{},MatchExpressions:[]LabelSelectorRequirement{},}: empty selector is invalid for daemonset",
            )],
        ),
        (
            "invalid selector operator",
            Box::new(|v| {
                v["spec"]["selector"]["matchExpressions"] = json!([{"key": "x", "operator": "Foo"}])
            }),
            vec![(
                INVALID,
                "spec.selector.matchExpressions[0].operator: Invalid value: \"Foo\": not a valid selector operator",
            )],
        ),
        (
            "restartPolicy must be Always",
            Box::new(|v| v["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure")),
            vec![(
                NOT_SUPPORTED,
                "spec.template.spec.restartPolicy: Unsupported value: \"OnFailure\": supported values: \"Always\"",
            )],
        ),
        (
            "activeDeadlineSeconds forbidden",
            Box::new(|v| v["spec"]["template"]["spec"]["activeDeadlineSeconds"] = json!(10)),
            vec![(
                FORBIDDEN,
                "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported",
            )],
        ),
        (
            "negative minReadySeconds",
            Box::new(|v| v["spec"]["minReadySeconds"] = json!(-1)),
            vec![(
                INVALID,
                "spec.minReadySeconds: Invalid value: -1: must be greater than or equal to 0",
            )],
        ),
        (
            "negative templateGeneration",
            Box::new(|v| {
                v["metadata"]["annotations"] =
                    json!({"deprecated.daemonset.template.generation": "-1"})
            }),
            vec![(
                INVALID,
                "spec.templateGeneration: Invalid value: -1: must be greater than or equal to 0",
            )],
        ),
        (
            "negative revisionHistoryLimit",
            Box::new(|v| v["spec"]["revisionHistoryLimit"] = json!(-1)),
            vec![(
                INVALID,
                "spec.revisionHistoryLimit: Invalid value: -1: must be greater than or equal to 0",
            )],
        ),
        (
            "unsupported strategy type",
            Box::new(|v| v["spec"]["updateStrategy"] = json!({"type": "Foo"})),
            vec![(
                NOT_SUPPORTED,
                "spec.updateStrategy: Unsupported value: apps.DaemonSetUpdateStrategy{Type:\"Foo\", RollingUpdate:(*apps.RollingUpdateDaemonSet)(nil)}: supported values: \"RollingUpdate\", \"OnDelete\"",
            )],
        ),
        (
            "RollingUpdate requires rollingUpdate",
            Box::new(|v| v["spec"]["updateStrategy"] = json!({"type": "RollingUpdate"})),
            vec![(
                REQUIRED,
                "spec.updateStrategy.rollingUpdate: Required value",
            )],
        ),
        (
            "maxUnavailable not a percent",
            Box::new(|v| {
                v["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!("abc")
            }),
            vec![
                (
                    INVALID,
                    "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: abc: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                ),
                (
                    REQUIRED,
                    "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
                ),
            ],
        ),
        (
            "negative maxUnavailable",
            Box::new(|v| {
                v["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!(-1)
            }),
            vec![(
                INVALID,
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: -1: must be greater than or equal to 0",
            )],
        ),
        (
            "maxUnavailable over 100%",
            Box::new(|v| {
                v["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"] = json!("150%")
            }),
            vec![(
                INVALID,
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 150%: must not be greater than 100%",
            )],
        ),
        (
            "both maxSurge and maxUnavailable non-zero",
            Box::new(|v| {
                v["spec"]["updateStrategy"]["rollingUpdate"] =
                    json!({"maxUnavailable": 1, "maxSurge": 1})
            }),
            vec![(
                INVALID,
                "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero",
            )],
        ),
        (
            "both zero",
            Box::new(|v| {
                v["spec"]["updateStrategy"]["rollingUpdate"] =
                    json!({"maxUnavailable": "0%", "maxSurge": 0})
            }),
            vec![(
                REQUIRED,
                "spec.updateStrategy.rollingUpdate.maxUnavailable: Required value: cannot be 0 when maxSurge is 0",
            )],
        ),
        (
            "containers required",
            Box::new(|v| v["spec"]["template"]["spec"]["containers"] = json!([])),
            vec![(REQUIRED, "spec.template.spec.containers: Required value")],
        ),
        (
            "container name must be a DNS label",
            Box::new(|v| v["spec"]["template"]["spec"]["containers"][0]["name"] = json!("Abc")),
            vec![(
                INVALID,
                "spec.template.spec.containers[0].name: Invalid value: \"Abc\": DNS_LABEL_MSG",
            )],
        ),
        (
            "image required",
            Box::new(|v| {
                v["spec"]["template"]["spec"]["containers"][0]
                    .as_object_mut()
                    .map(|c| c.remove("image"));
            }),
            vec![(
                REQUIRED,
                "spec.template.spec.containers[0].image: Required value",
            )],
        ),
        (
            "duplicate container names",
            Box::new(|v| {
                let c = v["spec"]["template"]["spec"]["containers"][0].clone();
                v["spec"]["template"]["spec"]["containers"] = json!([c.clone(), c]);
            }),
            vec![(
                DUPLICATE,
                "spec.template.spec.containers[1].name: Duplicate value: \"abc\"",
            )],
        ),
        (
            "container port out of range",
            Box::new(|v| {
                v["spec"]["template"]["spec"]["containers"][0]["ports"] =
                    json!([{"containerPort": 70000, "protocol": "TCP"}])
            }),
            vec![(
                INVALID,
                "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            )],
        ),
        (
            "requests above limits",
            Box::new(|v| {
                v["spec"]["template"]["spec"]["containers"][0]["resources"] =
                    json!({"limits": {"cpu": "1"}, "requests": {"cpu": "2"}})
            }),
            vec![(
                INVALID,
                "spec.template.spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal to cpu limit of 1",
            )],
        ),
        (
            "volume mount of an unknown volume",
            Box::new(|v| {
                v["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] =
                    json!([{"name": "varlog", "mountPath": "/var/log"}])
            }),
            vec![(
                NOT_FOUND,
                "spec.template.spec.containers[0].volumeMounts[0].name: Not found: \"varlog\"",
            )],
        ),
        (
            "name and namespace required",
            Box::new(|v| v["metadata"] = json!({})),
            vec![
                (
                    REQUIRED,
                    "metadata.name: Required value: name or generateName is required",
                ),
                (REQUIRED, "metadata.namespace: Required value"),
            ],
        ),
        (
            "name must be a DNS subdomain",
            Box::new(|v| v["metadata"]["name"] = json!("a_b")),
            vec![(
                INVALID,
                "metadata.name: Invalid value: \"a_b\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            )],
        ),
    ];
    for (name, mutate, want) in cases {
        let errs = daemon_set_create(&ds_with(mutate));
        let got: Vec<(&str, String)> = errs.iter().map(|e| (e.reason, e.text())).collect();
        let want: Vec<(&str, String)> = want
            .into_iter()
            .map(|(r, t)| (r, t.replace("DNS_LABEL_MSG", DNS_LABEL_MSG)))
            .collect();
        assert_eq!(got, want, "case {name}");
    }
}

#[test]
fn validate_daemon_set_update_selector_is_immutable() {
    let old = ds_with(|v| v["metadata"]["generation"] = json!(1));
    let mut new = ds_with(|v| {
        v["spec"]["selector"] = json!({"matchLabels": {"a": "c"}});
        v["spec"]["template"]["metadata"]["labels"] = json!({"a": "c"});
    });
    strategy::daemon_set_prepare_for_update(&mut new, &old);
    assert_eq!(
        texts(&daemon_set_update(&new, &old)),
        vec![
            "spec.selector: Invalid value: &LabelSelector{MatchLabels:map[string]string{a: c,},MatchExpressions:[]LabelSelectorRequirement{},}: field is immutable"
        ]
    );
}

#[test]
fn validate_daemon_set_update_metadata_and_template_generation() {
    let old = ds_with(|v| {
        v["metadata"]["annotations"] = json!({"deprecated.daemonset.template.generation": "2"})
    });
    let mut new = ds_with(|v| {
        v["metadata"]
            .as_object_mut()
            .map(|m| m.remove("resourceVersion"));
        v["spec"]["template"]["spec"]["containers"][0]["image"] = json!("image:2");
    });
    strategy::daemon_set_prepare_for_update(&mut new, &old);
    assert_eq!(
        texts(&daemon_set_update(&new, &old)),
        vec!["metadata.resourceVersion: Invalid value: \"\": must be specified for an update"]
    );
    // Without the strategy, a template change with the same templateGeneration is caught
    // (only reachable internally, §3.3). The spec errors appear twice upstream too.
    let mut raw = new.clone();
    raw.metadata.resource_version = Some("1".into());
    strategy::set_template_generation(&mut raw, 2);
    assert_eq!(
        texts(&daemon_set_update(&raw, &old)),
        vec!["spec.templateGeneration: Invalid value: 2: must be incremented upon template update"]
    );
    let mut bumped = old.clone();
    strategy::set_template_generation(&mut bumped, 3);
    assert_eq!(
        texts(&daemon_set_update(&bumped, &old)),
        vec![
            "spec.templateGeneration: Invalid value: 3: must not be incremented without template update"
        ]
    );
    strategy::set_template_generation(&mut bumped, 1);
    assert_eq!(
        texts(&daemon_set_update(&bumped, &old)),
        vec!["spec.templateGeneration: Invalid value: 1: must not be decremented"]
    );
}

#[test]
fn validate_daemon_set_status_update_counters_and_collision_count() {
    let old = ds_with(
        |v| v["status"] = json!({"currentNumberScheduled": 1, "numberMisscheduled": 0, "desiredNumberScheduled": 1, "numberReady": 1, "collisionCount": 2}),
    );
    let new = ds_with(
        |v| v["status"] = json!({"currentNumberScheduled": 1, "numberMisscheduled": 0, "desiredNumberScheduled": 1, "numberReady": -1, "collisionCount": 1}),
    );
    assert_eq!(
        texts(&daemon_set_status_update(&new, &old)),
        vec![
            "status.numberReady: Invalid value: -1: must be greater than or equal to 0",
            "status.collisionCount: Invalid value: 1: cannot be decremented",
        ]
    );
    let cleared = ds_with(|_| {});
    assert_eq!(
        texts(&daemon_set_status_update(&cleared, &old)),
        vec!["status.collisionCount: Invalid value: 0: cannot be decremented"]
    );
}

#[test]
fn invalid_message_formats_like_new_invalid() {
    let one = [FieldError::required("spec.selector", "")];
    assert_eq!(
        invalid_message("DaemonSet.apps", "x", &one),
        "DaemonSet.apps \"x\" is invalid: spec.selector: Required value"
    );
    let two = [
        FieldError::required("metadata.name", "name or generateName is required"),
        FieldError::required("metadata.namespace", ""),
        FieldError::required("metadata.namespace", ""),
    ];
    assert_eq!(
        invalid_message("Pod", "", &two),
        "Pod \"\" is invalid: [metadata.name: Required value: name or generateName is required, metadata.namespace: Required value]"
    );
    assert_eq!(invalid_message("Pod", "p", &[]), "Pod \"p\" is invalid");
}

#[test]
fn validate_object_meta_rules() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    let meta: ObjectMeta = serde_json::from_value(json!({
        "name": "ok", "namespace": "ns", "labels": {"a b": "c"},
        "finalizers": ["custom"], "generateName": "Bad-"
    }))
    .expect("meta");
    assert_eq!(
        texts(&object_meta(&meta, true)),
        vec![
            "metadata.generateName: Invalid value: \"Bad-\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string(),
            "metadata.labels: Invalid value: \"a b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')".to_string(),
            "metadata.finalizers[0]: Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified".to_string(),
        ]
    );
    let cluster: ObjectMeta =
        serde_json::from_value(json!({"name": "n", "namespace": "x"})).expect("meta");
    assert_eq!(
        texts(&object_meta(&cluster, false)),
        vec!["metadata.namespace: Forbidden: not allowed on this type"]
    );
}

#[test]
fn validate_namespace_name_is_a_dns_label() {
    let ns: k8s_openapi::api::core::v1::Namespace =
        serde_json::from_value(json!({"metadata": {"name": "a.b"}})).expect("ns");
    assert_eq!(
        texts(&namespace(&ns)),
        vec!["metadata.name: Invalid value: \"a.b\": must not contain dots"]
    );
}

#[test]
fn validate_node_taints() {
    let node: k8s_openapi::api::core::v1::Node = serde_json::from_value(json!({
        "metadata": {"name": "n1"},
        "spec": {"taints": [{"key": "k", "effect": "Sometimes"}, {"key": "k", "effect": ""}]}
    }))
    .expect("node");
    assert_eq!(
        texts(&super::node(&node)),
        vec![
            "spec.taints[0].effect: Unsupported value: \"Sometimes\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\"",
            "spec.taints[1].effect: Required value",
        ]
    );
}

#[test]
fn validate_controller_revision_and_configmap() {
    let cr: k8s_openapi::api::apps::v1::ControllerRevision = serde_json::from_value(
        json!({"metadata": {"name": "r", "namespace": "d"}, "revision": -1}),
    )
    .expect("cr");
    assert_eq!(
        texts(&controller_revision(&cr)),
        vec![
            "data: Required value: data is mandatory",
            "revision: Invalid value: -1: must be greater than or equal to 0",
        ]
    );
    let cm: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"..x": "1", "ok.key": "2"}}),
    )
    .expect("cm");
    assert_eq!(
        texts(&configmap(&cm)),
        vec!["data[..x]: Invalid value: \"..x\": must not start with '..'"]
    );
}

fn pod_json() -> Value {
    json!({
        "metadata": {"name": "p", "namespace": "default", "resourceVersion": "1"},
        "spec": {"containers": [{"name": "c", "image": "nginx:1"}], "tolerations": [{"key": "a", "operator": "Exists"}]}
    })
}

fn pod_with(mutate: impl FnOnce(&mut Value)) -> Pod {
    let mut p: Pod = serde_json::from_value(pod_json()).expect("pod");
    defaults::pod(&mut p);
    let mut v = serde_json::to_value(&p).expect("serializes");
    mutate(&mut v);
    serde_json::from_value(v).expect("pod")
}

#[test]
fn validate_pod_create_and_update() {
    let old = pod_with(|_| {});
    assert!(pod_create(&old).is_empty(), "{:?}", pod_create(&old));
    // Port of TestValidatePodUpdate: image changes and added tolerations are allowed.
    let new = pod_with(|v| {
        v["spec"]["containers"][0]["image"] = json!("nginx:2");
        v["spec"]["tolerations"] =
            json!([{"key": "a", "operator": "Exists"}, {"key": "b", "operator": "Exists"}]);
    });
    assert!(
        pod_update(&new, &old).is_empty(),
        "{:?}",
        pod_update(&new, &old)
    );
    let moved = pod_with(|v| v["spec"]["nodeName"] = json!("node-2"));
    let errs = pod_update(&moved, &old);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].reason, FORBIDDEN);
    assert_eq!(errs[0].field, "spec");
    assert!(
        errs[0]
            .message
            .starts_with(&format!("Forbidden: {POD_UPDATE_FORBIDDEN_MESSAGE}\n")),
        "{}",
        errs[0].message
    );
    let removed = pod_with(|v| v["spec"]["tolerations"] = json!([]));
    assert_eq!(pod_update(&removed, &old).len(), 1);
    let no_image = pod_with(|v| v["spec"]["containers"][0]["image"] = json!(""));
    assert!(
        texts(&pod_update(&no_image, &old))
            .contains(&"spec.containers[0].image: Required value".to_string())
    );
}

#[test]
fn validate_pod_tolerations_and_host_ports() {
    let p = pod_with(|v| {
        v["spec"]["tolerations"] = json!([{"operator": "Equal", "value": "x"}, {"key": "k", "operator": "Exists", "value": "v"}]);
        v["spec"]["containers"][0]["ports"] = json!([
            {"containerPort": 80, "hostPort": 80, "protocol": "TCP"},
            {"containerPort": 81, "hostPort": 80, "protocol": "TCP"}
        ]);
    });
    assert_eq!(
        texts(&pod_create(&p)),
        vec![
            "spec.containers[0].ports[1].hostPort: Duplicate value: \"/TCP/80\"",
            "spec.tolerations[0].operator: Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            "spec.tolerations[1].operator: Invalid value: core.Toleration{Key:\"k\", Operator:\"Exists\", Value:\"v\", Effect:\"\", TolerationSeconds:(*int64)(nil)}: value must be empty when `operator` is 'Exists'",
        ]
    );
}
