//! Deployment rows (NAME READY UP-TO-DATE AVAILABLE AGE) and ReplicaSet rows (NAME DESIRED CURRENT READY AGE), wide CONTAINERS IMAGES SELECTOR, as upstream `printDeployment` and `printReplicaSet`.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodSpec;
use serde_json::Value;

use super::{
    CONTAINERS_DESCRIPTION, ColumnDefinition, IMAGES_DESCRIPTION, age_column, col,
    layout_container_cells, name_column, wide,
};
use crate::duration::translate_timestamp_since;
use crate::labels::format_label_selector;

/// Upstream Deployment column definitions.
pub fn deployment_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        col("Ready", "string", "Number of the pod with ready state"),
        col(
            "Up-to-date",
            "string",
            "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
        ),
        col(
            "Available",
            "string",
            "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
        ),
        age_column(),
        wide("Containers", "string", CONTAINERS_DESCRIPTION),
        wide("Images", "string", IMAGES_DESCRIPTION),
        wide(
            "Selector",
            "string",
            "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
        ),
    ]
}

/// Upstream `printDeployment` cells: READY is `readyReplicas/spec.replicas`.
pub fn deployment_cells(d: &Deployment, now: Timestamp) -> Vec<Value> {
    let status = d.status.clone().unwrap_or_default();
    let spec = d.spec.as_ref();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(0);
    let (names, images) = containers(spec.and_then(|s| s.template.spec.as_ref()));
    vec![
        Value::from(d.metadata.name.clone().unwrap_or_default()),
        Value::from(format!("{}/{desired}", status.ready_replicas.unwrap_or(0))),
        Value::from(i64::from(status.updated_replicas.unwrap_or(0))),
        Value::from(i64::from(status.available_replicas.unwrap_or(0))),
        Value::from(translate_timestamp_since(
            d.metadata.creation_timestamp.as_ref(),
            now,
        )),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(spec.map(|s| &s.selector))),
    ]
}

/// Upstream ReplicaSet column definitions.
pub fn replica_set_columns() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        col(
            "Desired",
            "integer",
            "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1.",
        ),
        col(
            "Current",
            "integer",
            "Replicas is the most recently observed number of non-terminating pods.",
        ),
        col(
            "Ready",
            "integer",
            "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.",
        ),
        age_column(),
        wide("Containers", "string", CONTAINERS_DESCRIPTION),
        wide("Images", "string", IMAGES_DESCRIPTION),
        wide(
            "Selector",
            "string",
            "Selector is a label query over pods that should match the replica count.",
        ),
    ]
}

/// Upstream `printReplicaSet` cells.
pub fn replica_set_cells(rs: &ReplicaSet, now: Timestamp) -> Vec<Value> {
    let status = rs.status.clone().unwrap_or_default();
    let spec = rs.spec.as_ref();
    let (names, images) = containers(
        spec.and_then(|s| s.template.as_ref())
            .and_then(|t| t.spec.as_ref()),
    );
    vec![
        Value::from(rs.metadata.name.clone().unwrap_or_default()),
        Value::from(i64::from(spec.and_then(|s| s.replicas).unwrap_or(0))),
        Value::from(i64::from(status.replicas)),
        Value::from(i64::from(status.ready_replicas.unwrap_or(0))),
        Value::from(translate_timestamp_since(
            rs.metadata.creation_timestamp.as_ref(),
            now,
        )),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(spec.map(|s| &s.selector))),
    ]
}

fn containers(spec: Option<&PodSpec>) -> (String, String) {
    layout_container_cells(spec.map_or(&[], |p| p.containers.as_slice()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn deployment_ready_column_is_ready_over_desired() {
        let now: Timestamp = "2024-05-01T12:00:00Z".parse().expect("valid");
        let d: Deployment = serde_json::from_value(json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:55:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        }))
        .expect("valid");
        assert_eq!(
            Value::from(deployment_cells(&d, now)),
            json!(["web", "2/3", 3, 2, "5m", "nginx", "nginx:1.25", "app=web"])
        );
        assert_eq!(deployment_cells(&d, now).len(), deployment_columns().len());
    }

    #[test]
    fn replica_set_row_has_desired_current_ready() {
        let now: Timestamp = "2024-05-01T12:00:00Z".parse().expect("valid");
        let rs: ReplicaSet = serde_json::from_value(json!({
            "metadata": {"name": "web-abc"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"replicas": 2, "readyReplicas": 1}
        }))
        .expect("valid");
        assert_eq!(
            Value::from(replica_set_cells(&rs, now)),
            json!(["web-abc", 3, 2, 1, "<unknown>", "", "", "app=web"])
        );
    }
}
