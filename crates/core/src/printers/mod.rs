//! Server-side Table rows for `kubectl get`, as upstream `pkg/printers/internalversion/printers.go` (api.md §3, daemonset.md §4.1).
//!
//! Every kind has a `column_definitions()` and a `row_cells(obj, now)` in its submodule; the
//! server always sends every column (priority 1 = `-o wide`), as kube-apiserver does.
//! [`column_definitions`] and [`print_row`] dispatch on the resource's plural name and take the
//! stored JSON. Integer cells are JSON numbers, everything else strings (booleans for
//! priorityclasses' GLOBAL-DEFAULT), matching upstream cell types. Column descriptions are our
//! own words; kubectl never shows them.

pub mod controllerrevisions;
pub mod daemonsets;
pub mod events;
pub mod nodes;
pub mod pods;
pub mod rbac;
mod simple;
pub mod workloads;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

pub use simple::{configmaps, generic, leases, namespaces, priorityclasses, serviceaccounts};

/// Why a row could not be printed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// The stored JSON does not decode into the resource's type.
    #[error("failed to decode {resource} for printing: {source}")]
    Decode {
        /// Resource plural name.
        resource: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// An ownerReference apiVersion with more than one `/` (upstream `ParseGroupVersion`).
    #[error("unexpected GroupVersion string: {0}")]
    GroupVersion(String),
}

/// One Table column (`meta.k8s.io/v1` `TableColumnDefinition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnDefinition {
    /// Header text as upstream spells it (kubectl upper-cases it).
    pub name: &'static str,
    /// OpenAPI type: `string`, `integer`, `boolean`, `date`.
    #[serde(rename = "type")]
    pub type_: &'static str,
    /// OpenAPI format; `name` marks the NAME column.
    pub format: &'static str,
    /// Human description.
    pub description: &'static str,
    /// 0 = always shown, 1 = shown with `-o wide`.
    pub priority: i32,
}

/// A row condition (`meta.k8s.io/v1` `TableRowCondition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowCondition {
    /// Condition type, `Completed`.
    #[serde(rename = "type")]
    pub type_: &'static str,
    /// `True`.
    pub status: &'static str,
    /// `Succeeded` or `Failed`.
    pub reason: &'static str,
    /// Human message.
    pub message: &'static str,
}

/// Cells and conditions of one row; the server adds `object` itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRow {
    /// One cell per column definition.
    pub cells: Vec<Value>,
    /// Row conditions (only pods have any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RowCondition>,
}

/// Column helper: a priority-0 column.
const fn col(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
) -> ColumnDefinition {
    ColumnDefinition {
        name,
        type_,
        format: "",
        description,
        priority: 0,
    }
}

/// Column helper: a priority-1 (`-o wide`) column.
const fn wide(
    name: &'static str,
    type_: &'static str,
    description: &'static str,
) -> ColumnDefinition {
    ColumnDefinition {
        name,
        type_,
        format: "",
        description,
        priority: 1,
    }
}

/// The NAME column every kind starts with (events have it last, at priority 1).
const fn name_column() -> ColumnDefinition {
    ColumnDefinition {
        name: "Name",
        type_: "string",
        format: "name",
        description: "Name of the object, unique within its namespace.",
        priority: 0,
    }
}

/// The AGE column.
const fn age_column() -> ColumnDefinition {
    col(
        "Age",
        "string",
        "Time since the object was created (its creationTimestamp).",
    )
}

const CONTAINERS_DESCRIPTION: &str = "Names of the containers in the pod template.";
const IMAGES_DESCRIPTION: &str = "Images of the containers in the pod template.";

/// Upstream `layoutContainerCells`: container names and images, each joined by `,`.
fn layout_container_cells(
    containers: &[k8s_openapi::api::core::v1::Container],
) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let images: Vec<&str> = containers
        .iter()
        .map(|c| c.image.as_deref().unwrap_or(""))
        .collect();
    (names.join(","), images.join(","))
}

/// Where a printed object comes from: a parsed value, or the stored JSON bytes (decoded straight
/// into the typed object, with no `Value` in between).
trait Source {
    fn decode<T: serde::de::DeserializeOwned>(&self, resource: &str) -> Result<T, PrintError>;
}

impl Source for Value {
    fn decode<T: serde::de::DeserializeOwned>(&self, resource: &str) -> Result<T, PrintError> {
        T::deserialize(self).map_err(|source| PrintError::Decode {
            resource: resource.to_string(),
            source,
        })
    }
}

impl Source for [u8] {
    fn decode<T: serde::de::DeserializeOwned>(&self, resource: &str) -> Result<T, PrintError> {
        serde_json::from_slice(self).map_err(|source| PrintError::Decode {
            resource: resource.to_string(),
            source,
        })
    }
}

/// Only an object's metadata, for kinds printed from it alone.
#[derive(serde::Deserialize)]
struct MetadataOnly {
    #[serde(default)]
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
}

/// Column definitions for a resource (plural name); unknown resources get NAME and AGE.
pub fn column_definitions(resource: &str) -> Vec<ColumnDefinition> {
    match resource {
        "pods" => pods::column_definitions(),
        "daemonsets" => daemonsets::column_definitions(),
        "deployments" => workloads::deployment_columns(),
        "replicasets" => workloads::replica_set_columns(),
        "controllerrevisions" => controllerrevisions::column_definitions(),
        "nodes" => nodes::column_definitions(),
        "events" => events::column_definitions(),
        "namespaces" => namespaces::column_definitions(),
        "configmaps" => configmaps::column_definitions(),
        "serviceaccounts" => serviceaccounts::column_definitions(),
        "leases" => leases::column_definitions(),
        "priorityclasses" => priorityclasses::column_definitions(),
        "roles" | "clusterroles" => rbac::role_column_definitions(),
        "rolebindings" | "clusterrolebindings" => rbac::binding_column_definitions(),
        _ => generic::column_definitions(),
    }
}

/// Prints one object of `resource` (plural name) as a Table row at time `now`.
pub fn print_row(resource: &str, obj: &Value, now: Timestamp) -> Result<TableRow, PrintError> {
    print_from(resource, obj, now)
}

/// [`print_row`] from an object's JSON bytes, as stored.
pub fn print_row_json(resource: &str, json: &[u8], now: Timestamp) -> Result<TableRow, PrintError> {
    print_from(resource, json, now)
}

fn print_from<S: Source + ?Sized>(
    resource: &str,
    obj: &S,
    now: Timestamp,
) -> Result<TableRow, PrintError> {
    let plain = |cells: Vec<Value>| TableRow {
        cells,
        conditions: Vec::new(),
    };
    Ok(match resource {
        "pods" => {
            let pod = obj.decode(resource)?;
            TableRow {
                cells: pods::row_cells(&pod, now),
                conditions: pods::row_conditions(&pod),
            }
        }
        "daemonsets" => plain(daemonsets::row_cells(&obj.decode(resource)?, now)),
        "deployments" => plain(workloads::deployment_cells(&obj.decode(resource)?, now)),
        "replicasets" => plain(workloads::replica_set_cells(&obj.decode(resource)?, now)),
        "controllerrevisions" => {
            plain(controllerrevisions::row_cells(&obj.decode(resource)?, now)?)
        }
        "nodes" => plain(nodes::row_cells(&obj.decode(resource)?, now)),
        "events" => plain(events::row_cells(&obj.decode(resource)?, now)),
        "namespaces" => plain(namespaces::row_cells(&obj.decode(resource)?, now)),
        "configmaps" => plain(configmaps::row_cells(&obj.decode(resource)?, now)),
        "serviceaccounts" => plain(serviceaccounts::row_cells(&obj.decode(resource)?, now)),
        "leases" => plain(leases::row_cells(&obj.decode(resource)?, now)),
        "priorityclasses" => plain(priorityclasses::row_cells(&obj.decode(resource)?, now)),
        "roles" | "clusterroles" => {
            let meta: MetadataOnly = obj.decode(resource)?;
            plain(rbac::role_row_cells(&meta.metadata))
        }
        "rolebindings" | "clusterrolebindings" => {
            plain(rbac::binding_row_cells(&obj.decode(resource)?, now))
        }
        _ => {
            let meta: MetadataOnly = obj.decode(resource)?;
            plain(generic::row_cells(&meta.metadata, now))
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> Timestamp {
        "2024-05-01T12:00:00Z".parse().expect("valid")
    }

    #[test]
    fn every_kind_prints_as_many_cells_as_columns() {
        let meta = json!({"name": "x", "namespace": "default", "creationTimestamp": "2024-05-01T11:00:00Z"});
        let objects = [
            (
                "pods",
                json!({"metadata": meta, "spec": {"containers": [{"name": "c"}]}}),
            ),
            (
                "daemonsets",
                json!({"metadata": meta, "spec": {"selector": {}, "template": {"spec": {"containers": []}}}}),
            ),
            (
                "controllerrevisions",
                json!({"metadata": meta, "revision": 1}),
            ),
            ("nodes", json!({"metadata": meta})),
            ("events", json!({"metadata": meta, "involvedObject": {}})),
            ("namespaces", json!({"metadata": meta})),
            ("configmaps", json!({"metadata": meta})),
            ("serviceaccounts", json!({"metadata": meta})),
            ("leases", json!({"metadata": meta})),
            ("priorityclasses", json!({"metadata": meta, "value": 5})),
            ("roles", json!({"metadata": meta})),
            ("clusterroles", json!({"metadata": meta})),
            (
                "rolebindings",
                json!({"metadata": meta, "roleRef": {"kind": "Role", "name": "r"}}),
            ),
            ("clusterrolebindings", json!({"metadata": meta})),
            ("customthings", json!({"metadata": meta})),
        ];
        for (resource, obj) in objects {
            let row =
                print_row(resource, &obj, now()).unwrap_or_else(|e| panic!("{resource}: {e}"));
            assert_eq!(
                row.cells.len(),
                column_definitions(resource).len(),
                "{resource}"
            );
            // The server prints from the stored bytes: the same row.
            let bytes = serde_json::to_vec(&obj).unwrap_or_default();
            let from_bytes = print_row_json(resource, &bytes, now())
                .unwrap_or_else(|e| panic!("{resource}: {e}"));
            assert_eq!(from_bytes, row, "{resource}");
        }
    }

    #[test]
    fn column_definitions_serialize_like_meta_v1() {
        let got = serde_json::to_value(name_column()).expect("serializable");
        assert_eq!(
            got,
            json!({"name": "Name", "type": "string", "format": "name", "description": "Name of the object, unique within its namespace.", "priority": 0})
        );
        let row = TableRow {
            cells: vec![json!("a"), json!(1)],
            conditions: vec![],
        };
        assert_eq!(
            serde_json::to_value(row).expect("serializable"),
            json!({"cells": ["a", 1]})
        );
    }

    #[test]
    fn decode_errors_name_the_resource() {
        let err = print_row("pods", &json!({"metadata": {"name": 5}}), now()).expect_err("bad pod");
        assert!(
            err.to_string()
                .starts_with("failed to decode pods for printing: "),
            "{err}"
        );
        let err = print_row("widgets", &json!({"metadata": []}), now()).expect_err("bad meta");
        assert!(
            err.to_string().starts_with("failed to decode widgets"),
            "{err}"
        );
    }
}
