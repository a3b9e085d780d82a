//! Table tests of the filters and upstream's FitError message.

use super::*;
use serde_json::json;

fn node(v: serde_json::Value) -> Node {
    let mut base = json!({
        "metadata": {"name": "n1", "labels": {"zone": "a"}},
        "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"}},
    });
    merge(&mut base, v);
    serde_json::from_value(base).expect("node")
}

fn pod(v: serde_json::Value) -> Pod {
    let mut base = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    merge(&mut base, v);
    serde_json::from_value(base).expect("pod")
}

fn merge(a: &mut serde_json::Value, b: serde_json::Value) {
    match (a, b) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn requests(cpu: &str, mem: &str) -> serde_json::Value {
    json!({"spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": cpu, "memory": mem}}}]}})
}

/// (name, node patch, pod patch, expected reasons).
type Case = (
    &'static str,
    serde_json::Value,
    serde_json::Value,
    Result<(), Vec<&'static str>>,
);

#[test]
fn filters_in_upstream_order_with_upstream_reasons() {
    let cases: Vec<Case> = vec![
        ("fits", json!({}), json!({}), Ok(())),
        (
            "cordoned",
            json!({"spec": {"unschedulable": true}}),
            json!({}),
            Err(vec![REASON_UNSCHEDULABLE]),
        ),
        (
            "cordoned but tolerated",
            json!({"spec": {"unschedulable": true}}),
            json!({"spec": {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}]}}),
            Ok(()),
        ),
        (
            "untolerated taint",
            json!({"spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}}),
            json!({}),
            Err(vec!["node(s) had untolerated taint {dedicated: gpu}"]),
        ),
        (
            "PreferNoSchedule ignored",
            json!({"spec": {"taints": [{"key": "x", "effect": "PreferNoSchedule"}]}}),
            json!({}),
            Ok(()),
        ),
        (
            "nodeSelector mismatch",
            json!({}),
            json!({"spec": {"nodeSelector": {"zone": "b"}}}),
            Err(vec![REASON_NODE_AFFINITY]),
        ),
        (
            "matchFields other node",
            json!({}),
            json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}}}}}),
            Err(vec![REASON_NODE_AFFINITY]),
        ),
        (
            "too much memory",
            json!({}),
            requests("1", "17Gi"),
            Err(vec![REASON_INSUFFICIENT_MEMORY]),
        ),
        (
            "too much of both",
            json!({}),
            requests("5", "17Gi"),
            Err(vec![REASON_INSUFFICIENT_CPU, REASON_INSUFFICIENT_MEMORY]),
        ),
        (
            "pods full",
            json!({"status": {"allocatable": {"pods": "0"}}}),
            json!({}),
            Err(vec![REASON_TOO_MANY_PODS]),
        ),
    ];
    for (name, n, p, want) in cases {
        let got = filter_node(&pod(p), &node(n), &NodeUsage::default()).map_err(|f| f.reasons);
        let want = want.map_err(|r| r.into_iter().map(String::from).collect::<Vec<_>>());
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn resources_account_init_containers_overhead_and_usage() {
    let p = pod(json!({"spec": {
        "containers": [{"name": "a", "resources": {"requests": {"cpu": "500m"}}}, {"name": "b", "resources": {"limits": {"cpu": "250m", "memory": "1Gi"}}}],
        "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2"}}}],
        "overhead": {"cpu": "100m"},
    }}));
    let spec = p.spec.clone().expect("spec");
    assert_eq!(
        pod_requests(&spec),
        Resources {
            milli_cpu: 2100,
            memory: 1 << 30,
            pods: 0
        }
    );
    let mut usage = NodeUsage::default();
    usage.add_pod(&spec);
    usage.add_pod(&spec);
    // 4.2 cpu used: a pod asking 0 cpu still fits, one asking any cpu does not.
    assert!(
        fits_resources_and_ports(
            &pod(json!({})).spec.expect("spec"),
            &allocatable(&node(json!({}))),
            &usage
        )
        .is_ok()
    );
    assert!(filter_node(&pod(requests("100m", "1")), &node(json!({})), &usage).is_err());
}

#[test]
fn host_ports_conflict_by_protocol_and_ip() {
    let with_port = |port: i32, proto: &str, ip: &str| {
        pod(
            json!({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": port, "protocol": proto, "hostIP": ip}]}]}}),
        )
    };
    let mut usage = NodeUsage::default();
    usage.add_pod(with_port(8080, "TCP", "").spec.as_ref().expect("spec"));
    let n = node(json!({}));
    assert_eq!(
        filter_node(&with_port(8080, "TCP", "10.0.0.1"), &n, &usage).map_err(|f| f.reasons),
        Err(vec![REASON_NODE_PORTS.to_string()])
    );
    assert!(filter_node(&with_port(8080, "UDP", ""), &n, &usage).is_ok());
    assert!(filter_node(&with_port(8081, "TCP", ""), &n, &usage).is_ok());
}

#[test]
fn fit_error_message_matches_upstream_shape() {
    let f = |r: &str, resolvable| Failure {
        reasons: vec![r.to_string()],
        resolvable,
    };
    let failures = [
        f(REASON_INSUFFICIENT_MEMORY, true),
        f(REASON_NODE_AFFINITY, false),
        f(REASON_NODE_AFFINITY, false),
    ];
    assert_eq!(
        fit_error_message(3, &failures),
        "0/3 nodes are available: 1 Insufficient memory, 2 node(s) didn't match Pod's node affinity/selector."
    );
    // Sorted as formatted strings, like upstream's sort.Strings.
    let failures = [
        f(REASON_INSUFFICIENT_CPU, true),
        f(REASON_INSUFFICIENT_CPU, true),
        f(REASON_INSUFFICIENT_MEMORY, true),
    ];
    assert_eq!(
        fit_error_message(3, &failures),
        "0/3 nodes are available: 1 Insufficient memory, 2 Insufficient cpu."
    );
}

#[test]
fn least_allocated_prefers_emptier_nodes() {
    let n = allocatable(&node(json!({})));
    let spec = pod(requests("1", "1Gi")).spec.expect("spec");
    let mut busy = NodeUsage::default();
    busy.add_pod(&spec);
    assert!(
        least_allocated_score(&spec, &n, &NodeUsage::default())
            > least_allocated_score(&spec, &n, &busy)
    );
}
