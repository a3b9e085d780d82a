//! The exact strategic merge patch bodies kubectl and the kubelet send, applied to realistic objects.

use serde_json::{Value, json};

use crate::patch::schema::Schema;
use crate::patch::strategic::apply;

fn fluentd_daemonset() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "fluentd", "namespace": "kube-system", "uid": "ds-uid", "generation": 3,
                     "labels": {"app": "fluentd"}},
        "spec": {
            "selector": {"matchLabels": {"app": "fluentd"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
            "template": {
                "metadata": {"labels": {"app": "fluentd"}},
                "spec": {
                    "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}],
                    "containers": [{
                        "name": "fluentd",
                        "image": "fluentd:v1",
                        "env": [{"name": "LEVEL", "value": "info"}],
                        "resources": {"limits": {"memory": "200Mi"}, "requests": {"cpu": "100m"}},
                        "volumeMounts": [{"name": "varlog", "mountPath": "/var/log"}],
                        "terminationMessagePath": "/dev/termination-log",
                        "imagePullPolicy": "IfNotPresent"
                    }],
                    "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log", "type": ""}}],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30
                }
            }
        },
        "status": {"currentNumberScheduled": 2, "desiredNumberScheduled": 2, "numberReady": 2}
    })
}

fn node() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "uid": "node-uid", "labels": {"kubernetes.io/hostname": "node-1"}},
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"],
                 "taints": [{"key": "old", "value": "x", "effect": "NoExecute"}]},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "lastHeartbeatTime": "t0", "reason": "KubeletHasSufficientMemory"},
                {"type": "DiskPressure", "status": "False", "lastHeartbeatTime": "t0", "reason": "KubeletHasNoDiskPressure"},
                {"type": "PIDPressure", "status": "False", "lastHeartbeatTime": "t0", "reason": "KubeletHasSufficientPID"},
                {"type": "Ready", "status": "True", "lastHeartbeatTime": "t0", "reason": "KubeletReady"}
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "node-1"}],
            "nodeInfo": {"kubeletVersion": "v1.33.0"}
        }
    })
}

/// Sets `pointer` in `value` to `new`, for building expected objects from the originals.
fn with(mut value: Value, pointer: &str, new: Value) -> Value {
    match value.pointer_mut(pointer) {
        Some(slot) => *slot = new,
        None => panic!("no {pointer} in fixture"),
    }
    value
}

fn without(mut value: Value, parent: &str, key: &str) -> Value {
    match value.pointer_mut(parent).and_then(Value::as_object_mut) {
        Some(members) => members.remove(key),
        None => panic!("no {parent} in fixture"),
    };
    value
}

#[test]
fn kubectl_set_image_changes_only_the_image() {
    let patch = json!({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"fluentd"}],"containers":[{"image":"fluentd:v2","name":"fluentd"}]}}}});
    let result = apply(&fluentd_daemonset(), &patch, Schema::for_kind("DaemonSet"));
    let expected = with(
        fluentd_daemonset(),
        "/spec/template/spec/containers/0/image",
        json!("fluentd:v2"),
    );
    assert_eq!(result, Ok(expected));
}

#[test]
fn kubectl_apply_adds_env_and_sidecar_in_declared_order() {
    let patch = json!({"spec":{"template":{"spec":{
    "$setElementOrder/containers":[{"name":"init-logs"},{"name":"fluentd"}],
    "containers":[
        {"name":"init-logs","image":"busybox"},
        {"$setElementOrder/env":[{"name":"LEVEL"},{"name":"FORMAT"}],"env":[{"name":"FORMAT","value":"json"}],"name":"fluentd"}
    ]}}}});
    let result = apply(&fluentd_daemonset(), &patch, Schema::for_kind("DaemonSet"));
    let mut expected = with(
        fluentd_daemonset(),
        "/spec/template/spec/containers/0/env",
        json!([{"name": "LEVEL", "value": "info"}, {"name": "FORMAT", "value": "json"}]),
    );
    let fluentd = expected["spec"]["template"]["spec"]["containers"][0].clone();
    expected = with(
        expected,
        "/spec/template/spec/containers",
        json!([{"name": "init-logs", "image": "busybox"}, fluentd]),
    );
    assert_eq!(result, Ok(expected));
}

#[test]
fn kubectl_taint_replaces_the_whole_list() {
    let patch =
        json!({"spec":{"taints":[{"effect":"NoSchedule","key":"dedicated","value":"infra"}]}});
    let result = apply(&node(), &patch, Schema::for_kind("Node"));
    let expected = with(
        node(),
        "/spec/taints",
        json!([{"effect": "NoSchedule", "key": "dedicated", "value": "infra"}]),
    );
    assert_eq!(result, Ok(expected));
}

#[test]
fn kubectl_untaint_last_taint_deletes_the_list() {
    let result = apply(
        &node(),
        &json!({"spec":{"taints":null}}),
        Schema::for_kind("Node"),
    );
    assert_eq!(result, Ok(without(node(), "/spec", "taints")));
}

#[test]
fn kubectl_cordon_and_uncordon() {
    let schema = Schema::for_kind("Node");
    let cordoned = apply(&node(), &json!({"spec":{"unschedulable":true}}), schema);
    assert_eq!(
        cordoned,
        Ok(with(node(), "/spec", {
            let mut spec = node()["spec"].clone();
            spec["unschedulable"] = json!(true);
            spec
        }))
    );
    let cordoned = cordoned.unwrap_or_default();
    let uncordoned = apply(&cordoned, &json!({"spec":{"unschedulable":null}}), schema);
    assert_eq!(uncordoned, Ok(node()));
}

#[test]
fn kubectl_rollout_undo_replaces_the_template_wholesale() {
    let old_template = json!({
        "metadata": {"labels": {"app": "fluentd", "pod-template-generation": "1"}},
        "spec": {"containers": [{"name": "fluentd", "image": "fluentd:v0"}], "restartPolicy": "Always"}
    });
    let mut patch_template = old_template.clone();
    patch_template["$patch"] = json!("replace");
    let patch = json!({"spec": {"template": patch_template}});
    let result = apply(&fluentd_daemonset(), &patch, Schema::for_kind("DaemonSet"));
    assert_eq!(
        result,
        Ok(with(fluentd_daemonset(), "/spec/template", old_template))
    );
}

#[test]
fn kubelet_node_status_heartbeat_merges_conditions_by_type() {
    let patch = json!({"status":{
    "$setElementOrder/conditions":[{"type":"MemoryPressure"},{"type":"DiskPressure"},{"type":"PIDPressure"},{"type":"Ready"}],
    "conditions":[
        {"lastHeartbeatTime":"t1","type":"MemoryPressure"},
        {"lastHeartbeatTime":"t1","type":"DiskPressure"},
        {"lastHeartbeatTime":"t1","type":"PIDPressure"},
        {"lastHeartbeatTime":"t1","type":"Ready"}
    ]}});
    let result = apply(&node(), &patch, Schema::for_kind("Node"));
    let mut expected = node();
    for index in 0..4 {
        expected["status"]["conditions"][index]["lastHeartbeatTime"] = json!("t1");
    }
    assert_eq!(result, Ok(expected));
}

#[test]
fn kubelet_node_status_moves_ready_first_when_told() {
    let patch = json!({"status":{
        "$setElementOrder/conditions":[{"type":"Ready"},{"type":"MemoryPressure"},{"type":"DiskPressure"},{"type":"PIDPressure"}],
        "conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady"}]}});
    let result = apply(&node(), &patch, Schema::for_kind("Node")).unwrap_or_default();
    let types: Vec<&str> = result["status"]["conditions"]
        .as_array()
        .map(|conditions| {
            conditions
                .iter()
                .filter_map(|c| c["type"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        types,
        ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"]
    );
    assert_eq!(result["status"]["conditions"][0]["status"], json!("False"));
    assert_eq!(
        result["status"]["conditions"][0]["lastHeartbeatTime"],
        json!("t0")
    );
}

#[test]
fn node_addresses_merge_by_type_and_pod_cidrs_union() {
    let patch = json!({"spec":{"podCIDRs":["fd00:10:244:1::/64"]},
                       "status":{"addresses":[{"type":"ExternalIP","address":"1.2.3.4"}]}});
    let result = apply(&node(), &patch, Schema::for_kind("Node")).unwrap_or_default();
    // Without `$setElementOrder`, new values land before the live ones (upstream `mergeSortedSlice`).
    assert_eq!(
        result["spec"]["podCIDRs"],
        json!(["fd00:10:244:1::/64", "10.244.1.0/24"])
    );
    assert_eq!(
        result["status"]["addresses"],
        json!([{"type": "ExternalIP", "address": "1.2.3.4"},
               {"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "node-1"}])
    );
}

#[test]
fn kubelet_pod_status_patch_with_uid_precondition() {
    let pod = json!({
        "metadata": {"name": "fluentd-abc", "namespace": "kube-system", "uid": "pod-uid"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "fluentd", "image": "fluentd:v1"}]},
        "status": {
            "phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "fluentd", "ready": false, "state": {"waiting": {"reason": "ContainerCreating"}}}]
        }
    });
    let patch = json!({"metadata":{"uid":"pod-uid"},"status":{
        "$setElementOrder/conditions":[{"type":"Initialized"},{"type":"Ready"},{"type":"ContainersReady"},{"type":"PodScheduled"}],
        "conditions":[{"type":"Initialized","status":"True"},{"type":"Ready","status":"True"},{"type":"ContainersReady","status":"True"}],
        "containerStatuses":[{"name":"fluentd","ready":true,"state":{"running":{"startedAt":"t1"}}}],
        "phase":"Running","podIP":"10.244.1.5","podIPs":[{"ip":"10.244.1.5"}]}});
    let result = apply(&pod, &patch, Schema::for_kind("Pod"));
    let expected = json!({
        "metadata": {"name": "fluentd-abc", "namespace": "kube-system", "uid": "pod-uid"},
        "spec": {"nodeName": "node-1", "containers": [{"name": "fluentd", "image": "fluentd:v1"}]},
        "status": {
            "phase": "Running",
            "podIP": "10.244.1.5",
            "podIPs": [{"ip": "10.244.1.5"}],
            "conditions": [
                {"type": "Initialized", "status": "True"},
                {"type": "Ready", "status": "True"},
                {"type": "ContainersReady", "status": "True"},
                {"type": "PodScheduled", "status": "True"}
            ],
            // containerStatuses is atomic: the old `waiting` state must not survive.
            "containerStatuses": [{"name": "fluentd", "ready": true, "state": {"running": {"startedAt": "t1"}}}]
        }
    });
    assert_eq!(result, Ok(expected));
}

#[test]
fn finalizers_delete_from_primitive_list() {
    let object = json!({"metadata": {"name": "ns", "finalizers": ["a.example/x", "b.example/y", "c.example/z"]}});
    let patch = json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["b.example/y"],
                                   "$setElementOrder/finalizers":["a.example/x","c.example/z"]}});
    let result = apply(&object, &patch, Schema::for_kind("Namespace"));
    assert_eq!(
        result,
        Ok(json!({"metadata": {"name": "ns", "finalizers": ["a.example/x", "c.example/z"]}}))
    );

    let added = apply(
        &object,
        &json!({"metadata":{"finalizers":["d.example/w","a.example/x"]}}),
        Schema::for_kind("Pod"),
    );
    assert_eq!(
        added,
        // Union, in upstream's order: the new value first, then live values interleaved by
        // their live order against the patch's ("a" was live before "b", so it moves up).
        Ok(
            json!({"metadata": {"name": "ns", "finalizers": ["d.example/w", "a.example/x", "b.example/y", "c.example/z"]}})
        )
    );
}

#[test]
fn owner_references_merge_by_uid() {
    let object = json!({"metadata": {"ownerReferences": [{"uid": "u1", "kind": "DaemonSet", "name": "a", "controller": true}]}});
    let patch = json!({"metadata":{"ownerReferences":[
        {"uid":"u1","blockOwnerDeletion":true},
        {"uid":"u2","kind":"Node","name":"n"}]}});
    let result = apply(&object, &patch, Schema::for_kind("ControllerRevision"));
    assert_eq!(
        result,
        Ok(json!({"metadata": {"ownerReferences": [
            {"uid": "u1", "kind": "DaemonSet", "name": "a", "controller": true, "blockOwnerDeletion": true},
            {"uid": "u2", "kind": "Node", "name": "n"}
        ]}}))
    );
}

#[test]
fn kubectl_apply_switches_volume_source_with_retain_keys() {
    let patch = json!({"spec":{"template":{"spec":{
    "$setElementOrder/volumes":[{"name":"varlog"},{"name":"config"}],
    "volumes":[
        {"$retainKeys":["emptyDir","name"],"emptyDir":{"medium":"Memory"},"name":"varlog"},
        {"configMap":{"name":"fluentd-config"},"name":"config"}
    ]}}}});
    let result = apply(&fluentd_daemonset(), &patch, Schema::for_kind("DaemonSet"));
    let expected = with(
        fluentd_daemonset(),
        "/spec/template/spec/volumes",
        json!([{"name": "varlog", "emptyDir": {"medium": "Memory"}},
               {"name": "config", "configMap": {"name": "fluentd-config"}}]),
    );
    assert_eq!(result, Ok(expected));
}

#[test]
fn kubectl_apply_removes_a_container_with_delete_directive() {
    let mut daemonset = fluentd_daemonset();
    if let Some(containers) = daemonset["spec"]["template"]["spec"]["containers"].as_array_mut() {
        containers.push(json!({"name": "sidecar", "image": "busybox"}));
    }
    let patch = json!({"spec":{"template":{"spec":{
        "$setElementOrder/containers":[{"name":"fluentd"}],
        "containers":[{"$patch":"delete","name":"sidecar"}]}}}});
    let result = apply(&daemonset, &patch, Schema::for_kind("DaemonSet"));
    assert_eq!(result, Ok(fluentd_daemonset()));
}

#[test]
fn kubectl_label_and_annotate_are_plain_map_merges() {
    let patch =
        json!({"metadata":{"labels":{"app":null,"tier":"logging"},"annotations":{"note":"x"}}});
    let result = apply(&fluentd_daemonset(), &patch, Schema::for_kind("DaemonSet"));
    let expected = with(
        with(
            fluentd_daemonset(),
            "/metadata/labels",
            json!({"tier": "logging"}),
        ),
        "/metadata",
        {
            let mut metadata = fluentd_daemonset()["metadata"].clone();
            metadata["labels"] = json!({"tier": "logging"});
            metadata["annotations"] = json!({"note": "x"});
            metadata
        },
    );
    assert_eq!(result, Ok(expected));
}
