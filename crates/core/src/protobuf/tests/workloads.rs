//! Decoding tests for the workload and cluster kinds: Node, Pod, ConfigMap, Lease, Event, DaemonSet, ControllerRevision.

use serde_json::json;

use super::encoder::{Enc, int_or_int, int_or_str, time};
use super::{T0, decode, go_object_meta, meta, namespaced};

#[test]
fn node_spec_and_status() {
    let spec = Enc::new()
        .str(1, "10.244.1.0/24")
        .strs(7, &["10.244.1.0/24", "fd00::/64"])
        .str(3, "kind://docker/node-1")
        .bool(4, true)
        .msg(
            5,
            Enc::new()
                .str(1, "node.kubernetes.io/unschedulable")
                .str(2, "")
                .str(3, "NoSchedule")
                .msg(4, time(T0, 0)),
        );
    let status = Enc::new()
        .quantity_entry(1, "cpu", "4")
        .quantity_entry(1, "memory", "8Gi")
        .quantity_entry(2, "cpu", "3800m")
        .msg(
            4,
            Enc::new()
                .str(1, "Ready")
                .str(2, "True")
                .msg(3, time(T0, 0))
                .msg(4, time(T0 - 60, 0))
                .str(5, "KubeletReady")
                .str(6, "kubelet is posting ready status"),
        )
        .msg(5, Enc::new().str(1, "InternalIP").str(2, "172.18.0.2"))
        .msg(5, Enc::new().str(1, "Hostname").str(2, "node-1"))
        .msg(6, Enc::new().msg(1, Enc::new().int(1, 10250)))
        .msg(
            7,
            Enc::new()
                .str(1, "machine")
                .str(2, "")
                .str(7, "v1.32.0")
                .str(9, "linux")
                .str(10, "amd64"),
        );
    let raw = Enc::new()
        .msg(1, meta("node-1"))
        .msg(2, spec)
        .msg(3, status);
    assert_eq!(
        decode("v1", "Node", raw),
        json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "node-1"},
            "spec": {
                "podCIDR": "10.244.1.0/24",
                "podCIDRs": ["10.244.1.0/24", "fd00::/64"],
                "providerID": "kind://docker/node-1",
                "unschedulable": true,
                "taints": [{
                    "key": "node.kubernetes.io/unschedulable",
                    "effect": "NoSchedule",
                    "timeAdded": "2023-11-14T22:13:20Z",
                }],
            },
            "status": {
                "capacity": {"cpu": "4", "memory": "8Gi"},
                "allocatable": {"cpu": "3800m"},
                "conditions": [{
                    "type": "Ready",
                    "status": "True",
                    "lastHeartbeatTime": "2023-11-14T22:13:20Z",
                    "lastTransitionTime": "2023-11-14T22:12:20Z",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }],
                "addresses": [
                    {"type": "InternalIP", "address": "172.18.0.2"},
                    {"type": "Hostname", "address": "node-1"},
                ],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "machineID": "machine",
                    "systemUUID": "",
                    "kubeletVersion": "v1.32.0",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            },
        })
    );
}

fn container() -> Enc {
    Enc::new()
        .str(1, "web")
        .str(2, "nginx:1.27")
        .strs(3, &["nginx"])
        .strs(4, &["-g", "daemon off;"])
        .msg(
            6,
            Enc::new()
                .str(1, "http")
                .int(2, 0)
                .int(3, 80)
                .str(4, "TCP")
                .str(5, ""),
        )
        .msg(7, Enc::new().str(1, "MODE").str(2, "prod"))
        .msg(
            7,
            Enc::new().str(1, "NODE").str(2, "").msg(
                3,
                Enc::new().msg(1, Enc::new().str(1, "v1").str(2, "spec.nodeName")),
            ),
        )
        .msg(
            7,
            Enc::new().str(1, "PASSWORD").msg(
                3,
                Enc::new().msg(
                    4,
                    Enc::new().msg(1, Enc::new().str(1, "creds")).str(2, "pw"),
                ),
            ),
        )
        .msg(
            8,
            Enc::new()
                .quantity_entry(1, "memory", "128Mi")
                .quantity_entry(2, "cpu", "100m"),
        )
        .msg(
            9,
            Enc::new().str(1, "logs").bool(2, true).str(3, "/var/log"),
        )
        .msg(
            10,
            Enc::new()
                .msg(
                    1,
                    Enc::new().msg(2, Enc::new().str(1, "/healthz").msg(2, int_or_int(8080))),
                )
                .int(2, 5)
                .int(3, 0),
        )
        .msg(
            11,
            Enc::new().msg(1, Enc::new().msg(3, Enc::new().msg(1, int_or_str("http")))),
        )
        .str(14, "IfNotPresent")
        .msg(
            15,
            Enc::new()
                .bool(2, false)
                .int(4, 0)
                .msg(1, Enc::new().strs(1, &["NET_ADMIN"])),
        )
}

pub(super) fn pod_spec() -> Enc {
    let node_affinity = Enc::new().msg(
        1,
        Enc::new().msg(
            1,
            Enc::new().msg(
                2,
                Enc::new()
                    .str(1, "metadata.name")
                    .str(2, "In")
                    .strs(3, &["node-1"]),
            ),
        ),
    );
    Enc::new()
        .msg(
            1,
            Enc::new().str(1, "logs").msg(
                2,
                Enc::new().msg(1, Enc::new().str(1, "/var/log").str(2, "")),
            ),
        )
        .msg(
            1,
            Enc::new().str(1, "config").msg(
                2,
                Enc::new().msg(
                    19,
                    Enc::new()
                        .msg(1, Enc::new().str(1, "app-config"))
                        .int(3, 420),
                ),
            ),
        )
        .msg(2, container())
        .str(3, "Always")
        .int(4, 30)
        .str(6, "ClusterFirst")
        .str_entry(7, "kubernetes.io/os", "linux")
        .str(8, "fluentd")
        .str(10, "node-1")
        .bool(11, true)
        .bool(12, false)
        .msg(14, Enc::new().int(4, 1000).int(4, 2000).int(5, 0))
        .msg(18, Enc::new().msg(1, node_affinity))
        .str(19, "default-scheduler")
        .msg(
            22,
            Enc::new()
                .str(1, "node-role.kubernetes.io/control-plane")
                .str(2, "Exists")
                .str(4, "NoSchedule"),
        )
        .msg(
            22,
            Enc::new().str(2, "Exists").str(4, "NoExecute").int(5, 0),
        )
        .str(24, "system-node-critical")
        .int(25, 2_000_001_000)
}

#[test]
fn pod_spec_and_status() {
    let status = Enc::new()
        .str(1, "Running")
        .msg(
            2,
            Enc::new()
                .str(1, "Ready")
                .str(2, "True")
                .msg(3, Enc::new())
                .msg(4, time(T0, 0)),
        )
        .str(5, "172.18.0.2")
        .msg(16, Enc::new().str(1, "172.18.0.2"))
        .str(6, "10.244.1.5")
        .msg(12, Enc::new().str(1, "10.244.1.5"))
        .msg(7, time(T0, 0))
        .msg(
            8,
            Enc::new()
                .str(1, "web")
                .msg(2, Enc::new().msg(2, Enc::new().msg(1, time(T0 + 1, 0))))
                .msg(3, Enc::new())
                .bool(4, true)
                .int(5, 0)
                .str(6, "nginx:1.27")
                .str(7, "docker.io/library/nginx@sha256:abc")
                .str(8, "containerd://123")
                .bool(9, true),
        )
        .str(9, "Burstable");
    let raw = Enc::new()
        .msg(1, namespaced("fluentd-x7k2p", "kube-system"))
        .msg(2, pod_spec())
        .msg(3, status);
    let got = decode("v1", "Pod", raw);
    let want = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "fluentd-x7k2p", "namespace": "kube-system"},
        "spec": {
            "volumes": [
                {"name": "logs", "hostPath": {"path": "/var/log", "type": ""}},
                {"name": "config", "configMap": {"name": "app-config", "defaultMode": 420}},
            ],
            "containers": [{
                "name": "web",
                "image": "nginx:1.27",
                "command": ["nginx"],
                "args": ["-g", "daemon off;"],
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"}],
                "env": [
                    {"name": "MODE", "value": "prod"},
                    {"name": "NODE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}}},
                ],
                "resources": {"limits": {"memory": "128Mi"}, "requests": {"cpu": "100m"}},
                "volumeMounts": [{"name": "logs", "readOnly": true, "mountPath": "/var/log"}],
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5},
                "readinessProbe": {"tcpSocket": {"port": "http"}},
                "imagePullPolicy": "IfNotPresent",
                "securityContext": {"privileged": false, "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN"]}},
            }],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "serviceAccountName": "fluentd",
            "nodeName": "node-1",
            "hostNetwork": true,
            "securityContext": {"supplementalGroups": [1000, 2000], "fsGroup": 0},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [
                    {"key": "metadata.name", "operator": "In", "values": ["node-1"]},
                ]}],
            }}},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
                {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0},
            ],
            "priorityClassName": "system-node-critical",
            "priority": 2_000_001_000,
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2023-11-14T22:13:20Z"}],
            "hostIP": "172.18.0.2",
            "hostIPs": [{"ip": "172.18.0.2"}],
            "podIP": "10.244.1.5",
            "podIPs": [{"ip": "10.244.1.5"}],
            "startTime": "2023-11-14T22:13:20Z",
            "containerStatuses": [{
                "name": "web",
                "state": {"running": {"startedAt": "2023-11-14T22:13:21Z"}},
                "lastState": {},
                "ready": true,
                "restartCount": 0,
                "image": "nginx:1.27",
                "imageID": "docker.io/library/nginx@sha256:abc",
                "containerID": "containerd://123",
                "started": true,
            }],
            "qosClass": "Burstable",
        },
    });
    assert_eq!(got, want);
}

#[test]
fn repeated_ints_may_be_packed() {
    let packed = Enc::new().bytes(4, &[0xe8, 0x07, 0xd0, 0x0f]);
    let raw = Enc::new().msg(2, Enc::new().msg(14, packed));
    assert_eq!(
        decode("v1", "Pod", raw)["spec"]["securityContext"],
        json!({"supplementalGroups": [1000, 2000]})
    );
}

#[test]
fn negative_ints_are_sign_extended() {
    let raw = Enc::new().msg(2, Enc::new().int(25, -5).int(4, -1));
    assert_eq!(
        decode("v1", "Pod", raw)["spec"],
        json!({"priority": -5, "terminationGracePeriodSeconds": -1})
    );
}

#[test]
fn config_map_data_and_binary_data() {
    let raw = Enc::new()
        .msg(1, namespaced("app-config", "default"))
        .str_entry(2, "app.conf", "debug=true\n")
        .msg(3, Enc::new().str(1, "blob").bytes(2, &[0x00, 0xff, 0x10]))
        .msg(3, Enc::new().str(1, "empty"))
        .bool(4, false);
    assert_eq!(
        decode("v1", "ConfigMap", raw),
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "app-config", "namespace": "default"},
            "data": {"app.conf": "debug=true\n"},
            "binaryData": {"blob": "AP8Q", "empty": ""},
            "immutable": false,
        })
    );
}

#[test]
fn lease_uses_micro_time() {
    let spec = Enc::new()
        .str(1, "node-1")
        .int(2, 40)
        .msg(3, time(T0, 0))
        .msg(4, time(T0 + 10, 123_456_789))
        .int(5, 0);
    let raw = Enc::new()
        .msg(1, namespaced("node-1", "kube-node-lease"))
        .msg(2, spec);
    assert_eq!(
        decode("coordination.k8s.io/v1", "Lease", raw),
        json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
            "spec": {
                "holderIdentity": "node-1",
                "leaseDurationSeconds": 40,
                "acquireTime": "2023-11-14T22:13:20.000000Z",
                "renewTime": "2023-11-14T22:13:30.123456Z",
                "leaseTransitions": 0,
            },
        })
    );
}

#[test]
fn core_event() {
    let raw = Enc::new()
        .msg(1, namespaced("web-0.17a", "default"))
        .msg(
            2,
            Enc::new()
                .str(1, "Pod")
                .str(2, "default")
                .str(3, "web-0")
                .str(4, "pod-uid")
                .str(5, "v1"),
        )
        .str(3, "Scheduled")
        .str(4, "Successfully assigned default/web-0 to node-1")
        .msg(5, Enc::new().str(1, "default-scheduler").str(2, ""))
        .msg(6, time(T0, 0))
        .msg(7, time(T0, 0))
        .int(8, 1)
        .str(9, "Normal")
        .msg(10, Enc::new())
        .str(14, "")
        .str(15, "");
    assert_eq!(
        decode("v1", "Event", raw),
        json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "web-0.17a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "pod-uid", "apiVersion": "v1"},
            "reason": "Scheduled",
            "message": "Successfully assigned default/web-0 to node-1",
            "source": {"component": "default-scheduler"},
            "firstTimestamp": "2023-11-14T22:13:20Z",
            "lastTimestamp": "2023-11-14T22:13:20Z",
            "count": 1,
            "type": "Normal",
            "reportingComponent": "",
            "reportingInstance": "",
        })
    );
}

#[test]
fn daemon_set_reuses_pod_template() {
    let template = Enc::new()
        .msg(1, Enc::new().str_entry(11, "app", "fluentd"))
        .msg(
            2,
            Enc::new().msg(2, Enc::new().str(1, "fluentd").str(2, "fluentd:v1")),
        );
    let spec = Enc::new()
        .msg(1, Enc::new().str_entry(1, "app", "fluentd"))
        .msg(2, template)
        .msg(
            3,
            Enc::new()
                .str(1, "RollingUpdate")
                .msg(2, Enc::new().msg(1, int_or_int(1)).msg(2, int_or_str("0%"))),
        )
        .int(4, 0)
        .int(6, 10);
    let status = Enc::new().int(1, 0).int(2, 0).int(3, 0).int(4, 0).int(5, 0);
    let raw = Enc::new()
        .msg(1, namespaced("fluentd", "kube-system"))
        .msg(2, spec)
        .msg(3, status);
    assert_eq!(
        decode("apps/v1", "DaemonSet", raw),
        json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "fluentd", "namespace": "kube-system"},
            "spec": {
                "selector": {"matchLabels": {"app": "fluentd"}},
                "template": {
                    "metadata": {"labels": {"app": "fluentd"}},
                    "spec": {"containers": [{"name": "fluentd", "image": "fluentd:v1"}]},
                },
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "0%"}},
                "revisionHistoryLimit": 10,
            },
            "status": {
                "currentNumberScheduled": 0,
                "numberMisscheduled": 0,
                "desiredNumberScheduled": 0,
                "numberReady": 0,
            },
        })
    );
}

#[test]
fn controller_revision_embeds_json_data() {
    let data = br#"{"spec":{"template":{"$patch":"replace","spec":{"containers":[]}}}}"#;
    let raw = Enc::new()
        .msg(1, namespaced("fluentd-6d8c9b", "kube-system"))
        .msg(2, Enc::new().bytes(1, data))
        .int(3, 1);
    assert_eq!(
        decode("apps/v1", "ControllerRevision", raw),
        json!({
            "apiVersion": "apps/v1",
            "kind": "ControllerRevision",
            "metadata": {"name": "fluentd-6d8c9b", "namespace": "kube-system"},
            "data": {"spec": {"template": {"$patch": "replace", "spec": {"containers": []}}}},
            "revision": 1,
        })
    );
}

#[test]
fn zero_values_follow_omitempty() {
    let raw = Enc::new().msg(1, go_object_meta("")).msg(
        2,
        Enc::new()
            .msg(2, Enc::new().str(1, "").msg(6, Enc::new().int(3, 0)))
            .bool(11, false),
    );
    assert_eq!(
        decode("v1", "Pod", raw),
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {},
            "spec": {"containers": [{"name": "", "ports": [{"containerPort": 0}]}]},
        })
    );
}
