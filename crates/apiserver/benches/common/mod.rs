//! Shared helpers of the apiserver benches: on-disk stores, realistic daemon pods, percentiles.
// Each bench binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use everynode_apiserver::ApiService;
use everynode_apiserver::store::{Store, StoreOptions};
use http_body_util::{BodyExt, Empty};
use serde_json::{Value, json};

/// A store on the real disk (a temp dir under `$TMPDIR`, /tmp by default), bootstrapped, and its
/// API service. The temp dir must outlive the store, so it is returned too.
pub async fn api_on_disk(options: StoreOptions) -> (tempfile::TempDir, ApiService) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = everynode_apiserver::server::open_store(Some(dir.path()), options).expect("store");
    let service = ApiService::new(store, Default::default());
    everynode_apiserver::builtin::bootstrap(&service, "")
        .await
        .expect("bootstrap");
    (dir, service)
}

/// A bare store on the real disk, without the API in front.
pub fn store_on_disk(options: StoreOptions) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = everynode_apiserver::server::open_store(Some(dir.path()), options).expect("store");
    (dir, store)
}

/// GETs `path` on the service in process and returns the status and the whole body.
pub async fn get(service: &ApiService, path: &str) -> (u16, Bytes) {
    let request = http::Request::get(path)
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = service.handle(request).await;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, body)
}

/// A small ConfigMap as a kube-rs caller would send it.
pub fn config_map(name: &str) -> k8s_openapi::api::core::v1::ConfigMap {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "data": {"key": "value", "writer": name},
    }))
    .expect("config map")
}

/// A pod as the DaemonSet controller creates it for `node` (owner reference, node affinity with
/// matchFields, the daemon tolerations, resources), with the status a kubelet reports, about
/// 3 KB of JSON once stored.
pub fn daemon_pod(namespace: &str, index: usize) -> Value {
    let node = format!("node-{index:05}");
    let name = format!("fluentd-elasticsearch-{index:05}");
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "generateName": "fluentd-elasticsearch-",
            "labels": {
                "name": "fluentd-elasticsearch",
                "controller-revision-hash": "6d5f7c9b8d",
                "pod-template-generation": "1",
            },
            "annotations": {"kubectl.kubernetes.io/default-container": "fluentd-elasticsearch"},
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "name": "fluentd-elasticsearch",
                "uid": "0b3f2c5e-8a55-4d7e-9f3c-2b8f1d6a7c41",
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "nodeName": node,
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{
                    "key": "metadata.name", "operator": "In", "values": [node],
                }]}],
            }}},
            "tolerations": [
                {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
            ],
            "priorityClassName": "system-node-critical",
            "terminationGracePeriodSeconds": 30,
            "containers": [{
                "name": "fluentd-elasticsearch",
                "image": "quay.io/fluentd_elasticsearch/fluentd:v5.0.1",
                "imagePullPolicy": "IfNotPresent",
                "resources": {
                    "limits": {"memory": "200Mi"},
                    "requests": {"cpu": "100m", "memory": "200Mi"},
                },
                "env": [
                    {"name": "FLUENT_ELASTICSEARCH_HOST", "value": "elasticsearch-logging.kube-system.svc"},
                    {"name": "FLUENT_ELASTICSEARCH_PORT", "value": "9200"},
                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
                ],
                "livenessProbe": {
                    "httpGet": {"path": "/metrics", "port": 24231, "scheme": "HTTP"},
                    "initialDelaySeconds": 30, "periodSeconds": 10, "timeoutSeconds": 1,
                    "successThreshold": 1, "failureThreshold": 3,
                },
                "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false},
                "volumeMounts": [
                    {"name": "varlog", "mountPath": "/var/log"},
                    {"name": "varlibdockercontainers", "mountPath": "/var/lib/docker/containers", "readOnly": true},
                ],
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }],
            "volumes": [
                {"name": "varlog", "hostPath": {"path": "/var/log", "type": ""}},
                {"name": "varlibdockercontainers", "hostPath": {"path": "/var/lib/docker/containers", "type": ""}},
            ],
            "serviceAccountName": "fluentd-elasticsearch",
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "enableServiceLinks": true,
        },
        "status": {
            "phase": "Running",
            "hostIP": "10.0.3.17",
            "podIP": "10.244.3.17",
            "podIPs": [{"ip": "10.244.3.17"}],
            "startTime": "2026-11-25T10:00:00Z",
            "qosClass": "Burstable",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": "2026-11-25T10:00:02Z"},
                {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-11-25T10:00:00Z"},
                {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-25T10:00:03Z"},
                {"type": "ContainersReady", "status": "True", "lastTransitionTime": "2026-11-25T10:00:03Z"},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-11-25T10:00:00Z"},
            ],
            "containerStatuses": [{
                "name": "fluentd-elasticsearch",
                "image": "quay.io/fluentd_elasticsearch/fluentd:v5.0.1",
                "imageID": "quay.io/fluentd_elasticsearch/fluentd@sha256:4b3a3e2b8d5e1f2a6c9d0e7f8a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3",
                "containerID": "containerd://8f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff",
                "ready": true,
                "started": true,
                "restartCount": 0,
                "state": {"running": {"startedAt": "2026-11-25T10:00:02Z"}},
            }],
        },
    })
}

/// The `q`-quantile (0.0..=1.0) of already sorted samples, nearest-rank.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median_f64(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
