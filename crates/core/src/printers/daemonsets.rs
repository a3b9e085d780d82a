//! DaemonSet rows: NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE, wide CONTAINERS IMAGES SELECTOR (daemonset.md §4.1).

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::DaemonSet;
use serde_json::Value;

use super::{
    CONTAINERS_DESCRIPTION, ColumnDefinition, IMAGES_DESCRIPTION, age_column, col,
    layout_container_cells, name_column, wide,
};
use crate::duration::translate_timestamp_since;
use crate::labels::{format_label_selector, format_labels_opt};

/// Upstream DaemonSet column definitions.
pub fn column_definitions() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        col(
            "Desired",
            "integer",
            "Nodes that should run the daemon pod.",
        ),
        col(
            "Current",
            "integer",
            "Nodes running at least one daemon pod.",
        ),
        col("Ready", "integer", "Nodes whose daemon pod is ready."),
        col(
            "Up-to-date",
            "integer",
            "Nodes running the current template.",
        ),
        col(
            "Available",
            "integer",
            "Nodes whose daemon pod is available.",
        ),
        col(
            "Node Selector",
            "string",
            "The pod template's nodeSelector.",
        ),
        age_column(),
        wide("Containers", "string", CONTAINERS_DESCRIPTION),
        wide("Images", "string", IMAGES_DESCRIPTION),
        wide("Selector", "string", "The DaemonSet's label selector."),
    ]
}

/// Upstream `printDaemonSet` cells, wide columns included.
pub fn row_cells(ds: &DaemonSet, now: Timestamp) -> Vec<Value> {
    let status = ds.status.clone().unwrap_or_default();
    let spec = ds.spec.as_ref();
    let pod_spec = spec.and_then(|s| s.template.spec.as_ref());
    let (names, images) = layout_container_cells(pod_spec.map_or(&[], |p| p.containers.as_slice()));
    vec![
        Value::from(ds.metadata.name.clone().unwrap_or_default()),
        Value::from(i64::from(status.desired_number_scheduled)),
        Value::from(i64::from(status.current_number_scheduled)),
        Value::from(i64::from(status.number_ready)),
        Value::from(i64::from(status.updated_number_scheduled.unwrap_or(0))),
        Value::from(i64::from(status.number_available.unwrap_or(0))),
        Value::from(format_labels_opt(
            pod_spec.and_then(|p| p.node_selector.as_ref()),
        )),
        Value::from(translate_timestamp_since(
            ds.metadata.creation_timestamp.as_ref(),
            now,
        )),
        Value::from(names),
        Value::from(images),
        Value::from(format_label_selector(spec.map(|s| &s.selector))),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn print_daemonset_like_upstream_test_print_daemonset() {
        let now: Timestamp = "2024-05-01T12:00:00Z".parse().expect("valid");
        let ds: DaemonSet = serde_json::from_value(json!({
            "metadata": {"name": "test1", "creationTimestamp": "2024-05-01T11:50:00Z"},
            "spec": {
                "selector": {"matchLabels": {"app": "fluentd"}},
                "template": {"spec": {
                    "nodeSelector": {"zone": "a", "disk": "ssd"},
                    "containers": [{"name": "fake-container1", "image": "fake-image1"}, {"name": "fake-container2", "image": "fake-image2"}]
                }}
            },
            "status": {"currentNumberScheduled": 2, "desiredNumberScheduled": 3, "numberReady": 1, "updatedNumberScheduled": 2, "numberAvailable": 0, "numberMisscheduled": 0}
        }))
        .expect("valid daemonset");
        assert_eq!(
            Value::from(row_cells(&ds, now)),
            json!([
                "test1",
                3,
                2,
                1,
                2,
                0,
                "disk=ssd,zone=a",
                "10m",
                "fake-container1,fake-container2",
                "fake-image1,fake-image2",
                "app=fluentd"
            ])
        );
        let bare: DaemonSet =
            serde_json::from_value(json!({"metadata": {"name": "b"}})).expect("valid");
        assert_eq!(
            Value::from(row_cells(&bare, now)),
            json!(["b", 0, 0, 0, 0, 0, "<none>", "<unknown>", "", "", "<none>"])
        );
        assert_eq!(row_cells(&ds, now).len(), column_definitions().len());
    }
}
