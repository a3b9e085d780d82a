//! Node rows: NAME STATUS ROLES AGE VERSION, wide INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME (upstream `printNode`).

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use serde_json::Value;

use super::{ColumnDefinition, age_column, col, name_column, wide};
use crate::duration::{UNKNOWN, translate_timestamp_since};
use crate::keys::{
    CONDITION_TRUE, NODE_EXTERNAL_IP, NODE_INTERNAL_IP, NODE_READY, NODE_ROLE_LABEL,
    NODE_ROLE_LABEL_PREFIX,
};
use crate::labels::NONE;

/// Upstream node column definitions.
pub fn column_definitions() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        col(
            "Status",
            "string",
            "Readiness of the node, and whether it is cordoned.",
        ),
        col(
            "Roles",
            "string",
            "Roles of the node, from its role labels.",
        ),
        age_column(),
        col("Version", "string", "Kubelet version reported by the node."),
        wide(
            "Internal-IP",
            "string",
            "First InternalIP address of the node.",
        ),
        wide(
            "External-IP",
            "string",
            "First ExternalIP address of the node.",
        ),
        wide(
            "OS-Image",
            "string",
            "Operating system image reported by the node.",
        ),
        wide(
            "Kernel-Version",
            "string",
            "Kernel version reported by the node.",
        ),
        wide(
            "Container-Runtime",
            "string",
            "Container runtime and version reported by the node.",
        ),
    ]
}

/// STATUS: `Ready`/`NotReady` from the (last) Ready condition, `Unknown` without one,
/// plus `,SchedulingDisabled` when cordoned.
pub fn node_status(node: &Node) -> String {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
        .iter()
        .rev()
        .find(|c| c.type_ == NODE_READY);
    let mut status = vec![match ready {
        Some(c) if c.status == CONDITION_TRUE => NODE_READY.to_string(),
        Some(_) => format!("Not{NODE_READY}"),
        None => "Unknown".to_string(),
    }];
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        status.push("SchedulingDisabled".to_string());
    }
    status.join(",")
}

/// Upstream `findNodeRoles`: `node-role.kubernetes.io/<role>` keys and the value of
/// `kubernetes.io/role`, sorted and deduplicated.
pub fn node_roles(node: &Node) -> Vec<String> {
    let mut roles = BTreeSet::new();
    for (k, v) in node.metadata.labels.iter().flatten() {
        if let Some(role) = k.strip_prefix(NODE_ROLE_LABEL_PREFIX) {
            if !role.is_empty() {
                roles.insert(role.to_string());
            }
        } else if k == NODE_ROLE_LABEL && !v.is_empty() {
            roles.insert(v.clone());
        }
    }
    roles.into_iter().collect()
}

fn first_address(node: &Node, type_: &str) -> String {
    node.status
        .as_ref()
        .and_then(|s| s.addresses.as_deref())
        .unwrap_or_default()
        .iter()
        .find(|a| a.type_ == type_)
        .map_or_else(|| NONE.to_string(), |a| a.address.clone())
}

/// Upstream `printNode` cells, wide columns included.
pub fn row_cells(node: &Node, now: Timestamp) -> Vec<Value> {
    let info = node.status.as_ref().and_then(|s| s.node_info.as_ref());
    let field = |f: fn(&k8s_openapi::api::core::v1::NodeSystemInfo) -> &String| {
        info.map(f).cloned().unwrap_or_default()
    };
    let or_unknown = |s: String| if s.is_empty() { UNKNOWN.to_string() } else { s };
    let roles = node_roles(node).join(",");
    vec![
        Value::from(node.metadata.name.clone().unwrap_or_default()),
        Value::from(node_status(node)),
        Value::from(if roles.is_empty() {
            NONE.to_string()
        } else {
            roles
        }),
        Value::from(translate_timestamp_since(
            node.metadata.creation_timestamp.as_ref(),
            now,
        )),
        Value::from(field(|i| &i.kubelet_version)),
        Value::from(first_address(node, NODE_INTERNAL_IP)),
        Value::from(first_address(node, NODE_EXTERNAL_IP)),
        Value::from(or_unknown(field(|i| &i.os_image))),
        Value::from(or_unknown(field(|i| &i.kernel_version))),
        Value::from(or_unknown(field(|i| &i.container_runtime_version))),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn node(v: Value) -> Node {
        serde_json::from_value(v).expect("valid node")
    }

    #[test]
    fn node_status_like_upstream_test_print_node_status() {
        let cases = [
            (
                json!({"metadata": {"name": "foo1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
                "Ready",
            ),
            (
                json!({"metadata": {"name": "foo2"}, "spec": {"unschedulable": true}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
                "Ready,SchedulingDisabled",
            ),
            (
                json!({"metadata": {"name": "foo3"}, "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Ready", "status": "True"}]}}),
                "Ready",
            ),
            (
                json!({"metadata": {"name": "foo4"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
                "NotReady",
            ),
            (
                json!({"metadata": {"name": "foo5"}, "spec": {"unschedulable": true}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
                "NotReady,SchedulingDisabled",
            ),
            (
                json!({"metadata": {"name": "foo6"}, "status": {"conditions": [{"type": "InvalidValue", "status": "True"}]}}),
                "Unknown",
            ),
            (
                json!({"metadata": {"name": "foo7"}, "status": {"conditions": [{}]}}),
                "Unknown",
            ),
            (
                json!({"metadata": {"name": "foo8"}, "spec": {"unschedulable": true}, "status": {"conditions": [{"type": "InvalidValue", "status": "True"}]}}),
                "Unknown,SchedulingDisabled",
            ),
            (
                json!({"metadata": {"name": "foo9"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}),
                "NotReady",
            ),
        ];
        for (n, want) in cases {
            assert_eq!(node_status(&node(n)), want);
        }
    }

    #[test]
    fn node_roles_like_upstream_test_print_node_role() {
        let cases = [
            (json!({}), "<none>"),
            (json!({"foo": "bar"}), "<none>"),
            (
                json!({"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/proxy": "", "kubernetes.io/role": "node"}),
                "master,node,proxy",
            ),
            (
                json!({"node-role.kubernetes.io/": "", "kubernetes.io/role": ""}),
                "<none>",
            ),
            (
                json!({"kubernetes.io/role": "control-plane", "node-role.kubernetes.io/control-plane": ""}),
                "control-plane",
            ),
        ];
        for (labels, want) in cases {
            let n = node(json!({"metadata": {"name": "n", "labels": labels}}));
            assert_eq!(row_cells(&n, Timestamp::UNIX_EPOCH)[2], json!(want));
        }
    }

    #[test]
    fn node_wide_cells_like_upstream() {
        let now: Timestamp = "2024-05-01T12:00:00Z".parse().expect("valid");
        let n = node(json!({
            "metadata": {"name": "n1", "creationTimestamp": "2024-04-29T12:00:00Z"},
            "status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "Hostname", "address": "n1"}, {"type": "ExternalIP", "address": "2.2.2.2"}, {"type": "InternalIP", "address": "1.1.1.1"}, {"type": "InternalIP", "address": "1.1.1.2"}],
                "nodeInfo": {"kubeletVersion": "v1.33.0", "osImage": "fake-os-image", "kernelVersion": "", "containerRuntimeVersion": "fake-container-runtime-version", "architecture": "amd64", "bootID": "", "kubeProxyVersion": "", "machineID": "", "operatingSystem": "linux", "systemUUID": ""}
            }
        }));
        assert_eq!(
            Value::from(row_cells(&n, now)),
            json!([
                "n1",
                "Ready",
                "<none>",
                "2d",
                "v1.33.0",
                "1.1.1.1",
                "2.2.2.2",
                "fake-os-image",
                "<unknown>",
                "fake-container-runtime-version"
            ])
        );
        let bare = node(json!({"metadata": {"name": "n2"}}));
        assert_eq!(
            Value::from(row_cells(&bare, now)),
            json!([
                "n2",
                "Unknown",
                "<none>",
                "<unknown>",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ])
        );
    }
}
