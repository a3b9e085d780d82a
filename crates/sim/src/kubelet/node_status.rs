//! Pure node status of a simulated kubelet: capacity from annotations, upstream conditions, addresses, nodeInfo.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use everynode_core::keys::{
    CONDITION_FALSE, CONDITION_TRUE, NODE_DISK_PRESSURE, NODE_INTERNAL_IP, NODE_MEMORY_PRESSURE,
    NODE_PID_PRESSURE, NODE_READY, REASON_KUBELET_HAS_NO_DISK_PRESSURE,
    REASON_KUBELET_HAS_SUFFICIENT_MEMORY, REASON_KUBELET_HAS_SUFFICIENT_PID, REASON_KUBELET_READY,
};
use everynode_core::quantity::Quantity as ParsedQuantity;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    DaemonEndpoint, Node, NodeAddress, NodeCondition, NodeDaemonEndpoints, NodeStatus,
    NodeSystemInfo,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::consts::{
    ADDRESS_HOSTNAME, ANNOTATION_CPU, ANNOTATION_HEARTBEAT, ANNOTATION_MEMORY, ANNOTATION_PODS,
    ARCHITECTURE, CONTAINER_RUNTIME_VERSION, DEFAULT_CPU, DEFAULT_EPHEMERAL_STORAGE,
    DEFAULT_MEMORY, DEFAULT_PODS, HEARTBEAT_STOPPED, KERNEL_VERSION, KUBELET_VERSION,
    MESSAGE_KUBELET_READY, MESSAGE_NO_DISK_PRESSURE, MESSAGE_SUFFICIENT_MEMORY,
    MESSAGE_SUFFICIENT_PID, OPERATING_SYSTEM, OS_IMAGE, RESOURCE_CPU, RESOURCE_EPHEMERAL_STORAGE,
    RESOURCE_MEMORY, RESOURCE_PODS,
};

/// The kubelet's port, reported in `daemonEndpoints`.
const KUBELET_PORT: i32 = 10250;

/// Whether the node's kubelet is switched off by `everynode.dev/heartbeat: stopped`.
pub fn heartbeat_stopped(node: &Node) -> bool {
    node.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_HEARTBEAT))
        .is_some_and(|v| v == HEARTBEAT_STOPPED)
}

/// Capacity from the `everynode.dev/*` annotations, else the defaults; an unparsable
/// annotation falls back to the default rather than breaking the node.
pub fn capacity(node: &Node) -> BTreeMap<String, Quantity> {
    let annotations = node.metadata.annotations.as_ref();
    let pick = |annotation: &str, default: &str| -> Quantity {
        let value = annotations
            .and_then(|a| a.get(annotation))
            .filter(|v| ParsedQuantity::parse(v).is_ok())
            .map(String::as_str)
            .unwrap_or(default);
        Quantity(value.to_string())
    };
    BTreeMap::from([
        (RESOURCE_CPU.to_string(), pick(ANNOTATION_CPU, DEFAULT_CPU)),
        (
            RESOURCE_MEMORY.to_string(),
            pick(ANNOTATION_MEMORY, DEFAULT_MEMORY),
        ),
        (
            RESOURCE_PODS.to_string(),
            pick(ANNOTATION_PODS, DEFAULT_PODS),
        ),
        (
            RESOURCE_EPHEMERAL_STORAGE.to_string(),
            Quantity(DEFAULT_EPHEMERAL_STORAGE.to_string()),
        ),
    ])
}

/// A stable pseudo-random hex string (ids, hashes) derived from `parts`.
pub fn stable_hex(parts: &[&str], chars: usize) -> String {
    let mut out = String::new();
    let mut salt = 0u64;
    while out.len() < chars {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        parts.hash(&mut h);
        out.push_str(&format!("{:016x}", h.finish()));
        salt += 1;
    }
    out.truncate(chars);
    out
}

fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
    existing: Option<&NodeStatus>,
) -> NodeCondition {
    let previous = existing
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == type_));
    // Keep the transition time while the status stays the same (upstream `setters.go`).
    let transition = match previous {
        Some(p) if p.status == status => p.last_transition_time.clone(),
        _ => None,
    }
    .unwrap_or(Time(now));
    NodeCondition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        last_heartbeat_time: Some(Time(now)),
        last_transition_time: Some(transition),
    }
}

/// The status a healthy simulated kubelet reports for `node` at `now`.
pub fn desired_node_status(node: &Node, internal_ip: &str, now: Timestamp) -> NodeStatus {
    let now = everynode_core::duration::truncate_to_seconds(now);
    let name = node.metadata.name.clone().unwrap_or_default();
    let existing = node.status.as_ref();
    let capacity = capacity(node);
    let machine_id = stable_hex(&[&name, "machine"], 32);
    NodeStatus {
        allocatable: Some(capacity.clone()),
        capacity: Some(capacity),
        conditions: Some(vec![
            condition(
                NODE_MEMORY_PRESSURE,
                CONDITION_FALSE,
                REASON_KUBELET_HAS_SUFFICIENT_MEMORY,
                MESSAGE_SUFFICIENT_MEMORY,
                now,
                existing,
            ),
            condition(
                NODE_DISK_PRESSURE,
                CONDITION_FALSE,
                REASON_KUBELET_HAS_NO_DISK_PRESSURE,
                MESSAGE_NO_DISK_PRESSURE,
                now,
                existing,
            ),
            condition(
                NODE_PID_PRESSURE,
                CONDITION_FALSE,
                REASON_KUBELET_HAS_SUFFICIENT_PID,
                MESSAGE_SUFFICIENT_PID,
                now,
                existing,
            ),
            condition(
                NODE_READY,
                CONDITION_TRUE,
                REASON_KUBELET_READY,
                MESSAGE_KUBELET_READY,
                now,
                existing,
            ),
        ]),
        addresses: Some(vec![
            NodeAddress {
                type_: NODE_INTERNAL_IP.to_string(),
                address: internal_ip.to_string(),
            },
            NodeAddress {
                type_: ADDRESS_HOSTNAME.to_string(),
                address: name.clone(),
            },
        ]),
        daemon_endpoints: Some(NodeDaemonEndpoints {
            kubelet_endpoint: Some(DaemonEndpoint { port: KUBELET_PORT }),
        }),
        node_info: Some(NodeSystemInfo {
            architecture: ARCHITECTURE.to_string(),
            boot_id: stable_hex(&[&name, "boot"], 32),
            container_runtime_version: CONTAINER_RUNTIME_VERSION.to_string(),
            kernel_version: KERNEL_VERSION.to_string(),
            kube_proxy_version: String::new(),
            kubelet_version: KUBELET_VERSION.to_string(),
            machine_id: machine_id.clone(),
            operating_system: OPERATING_SYSTEM.to_string(),
            os_image: OS_IMAGE.to_string(),
            system_uuid: machine_id,
            ..NodeSystemInfo::default()
        }),
        ..NodeStatus::default()
    }
}

/// What a status write would change, ignoring heartbeat and transition times.
fn projection(status: Option<&NodeStatus>) -> impl PartialEq + use<> {
    let status = status.cloned().unwrap_or_default();
    let mut conditions: Vec<(String, String, Option<String>)> = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.type_, c.status, c.reason))
        .collect();
    conditions.sort();
    (
        status.capacity,
        status.allocatable,
        conditions,
        status.addresses,
        status.node_info.map(|i| i.kubelet_version),
    )
}

/// Whether the node's current status differs from what the kubelet would report.
pub fn node_status_differs(current: Option<&NodeStatus>, desired: &NodeStatus) -> bool {
    projection(current) != projection(Some(desired))
}

/// The InternalIP the node already reports, if any (kept across restarts).
pub fn reported_internal_ip(node: &Node) -> Option<String> {
    node.status
        .as_ref()?
        .addresses
        .as_ref()?
        .iter()
        .find(|a| a.type_ == NODE_INTERNAL_IP)
        .map(|a| a.address.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(annotations: serde_json::Value) -> Node {
        serde_json::from_value(
            serde_json::json!({"metadata": {"name": "n1", "annotations": annotations}}),
        )
        .unwrap_or_default()
    }

    #[test]
    fn capacity_defaults_and_overrides() {
        let c = capacity(&node(serde_json::json!({})));
        assert_eq!(c["cpu"].0, "4");
        assert_eq!(c["memory"].0, "16Gi");
        assert_eq!(c["pods"].0, "110");
        let c = capacity(&node(
            serde_json::json!({ANNOTATION_CPU: "8", ANNOTATION_MEMORY: "bogus", ANNOTATION_PODS: "250"}),
        ));
        assert_eq!(
            (
                c["cpu"].0.as_str(),
                c["memory"].0.as_str(),
                c["pods"].0.as_str()
            ),
            ("8", "16Gi", "250")
        );
    }

    #[test]
    fn status_is_ready_with_upstream_reasons_and_keeps_transition_times() {
        let t0 = Timestamp::from_second(1_700_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let mut n = node(serde_json::json!({}));
        let first = desired_node_status(&n, "172.18.0.2", t0);
        let ready = first
            .conditions
            .as_ref()
            .and_then(|cs| cs.iter().find(|c| c.type_ == NODE_READY))
            .cloned();
        assert_eq!(ready.as_ref().map(|c| c.status.as_str()), Some("True"));
        assert_eq!(
            ready.as_ref().and_then(|c| c.reason.as_deref()),
            Some(REASON_KUBELET_READY)
        );
        assert!(node_status_differs(None, &first));
        n.status = Some(first.clone());
        let later = desired_node_status(&n, "172.18.0.2", t0 + jiff::SignedDuration::from_secs(60));
        assert!(!node_status_differs(Some(&first), &later));
        let ready_later = later
            .conditions
            .as_ref()
            .and_then(|cs| cs.iter().find(|c| c.type_ == NODE_READY))
            .cloned();
        assert_eq!(
            ready_later.and_then(|c| c.last_transition_time),
            Some(Time(t0))
        );
        assert!(!heartbeat_stopped(&n));
        assert!(heartbeat_stopped(&node(
            serde_json::json!({ANNOTATION_HEARTBEAT: "stopped"})
        )));
    }
}
