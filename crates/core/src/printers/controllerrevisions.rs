//! ControllerRevision rows: NAME CONTROLLER REVISION AGE (upstream `printControllerRevision`).

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use serde_json::Value;

use super::{ColumnDefinition, PrintError, age_column, col, name_column};
use crate::duration::translate_timestamp_since;
use crate::labels::NONE;
use crate::pod::controller_ref;

/// Upstream ControllerRevision column definitions.
pub fn column_definitions() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        col(
            "Controller",
            "string",
            "The controller owning the revision.",
        ),
        col(
            "Revision",
            "string",
            "Revision number of the state the object holds.",
        ),
        age_column(),
    ]
}

/// The group of an apiVersion (upstream `schema.ParseGroupVersion`): `apps/v1` → `apps`,
/// `v1` → `` (core); more than one `/` is an error.
fn api_group(api_version: &str) -> Result<&str, PrintError> {
    if api_version.is_empty() || api_version == "/" {
        return Ok("");
    }
    match api_version.matches('/').count() {
        0 => Ok(""),
        1 => Ok(api_version.split('/').next().unwrap_or("")),
        _ => Err(PrintError::GroupVersion(api_version.to_string())),
    }
}

/// Upstream `formatResourceName(GroupKind, name, true)`: `kind.group/name` lower-cased
/// (`daemonset.apps/fluentd`), `kind/name` for the core group, the bare name for an empty kind.
pub fn format_resource_name(kind: &str, group: &str, name: &str) -> String {
    if kind.is_empty() && group.is_empty() {
        return name.to_string();
    }
    let group_kind = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    format!("{}/{name}", group_kind.to_lowercase())
}

/// Upstream `printControllerRevision` cells.
pub fn row_cells(cr: &ControllerRevision, now: Timestamp) -> Result<Vec<Value>, PrintError> {
    let controller = match controller_ref(&cr.metadata) {
        Some(r) => format_resource_name(&r.kind, api_group(&r.api_version)?, &r.name),
        None => NONE.to_string(),
    };
    Ok(vec![
        Value::from(cr.metadata.name.clone().unwrap_or_default()),
        Value::from(controller),
        Value::from(cr.revision),
        Value::from(translate_timestamp_since(
            cr.metadata.creation_timestamp.as_ref(),
            now,
        )),
    ])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn print_controller_revision_like_upstream() {
        let now: Timestamp = "2024-05-01T12:00:00Z".parse().expect("valid");
        let with_owner = |api_version: &str, kind: &str, controller: bool| -> ControllerRevision {
            serde_json::from_value(json!({
                "metadata": {
                    "name": "test1", "creationTimestamp": "2024-05-01T11:59:00Z",
                    "ownerReferences": [{"apiVersion": api_version, "kind": kind, "name": "test", "uid": "u", "controller": controller}]
                },
                "revision": 1
            }))
            .expect("valid revision")
        };
        let cases = [
            (
                with_owner("apps/v1", "DaemonSet", true),
                json!(["test1", "daemonset.apps/test", 1, "60s"]),
            ),
            (
                with_owner("v1", "Pod", true),
                json!(["test1", "pod/test", 1, "60s"]),
            ),
            (
                with_owner("apps/v1", "DaemonSet", false),
                json!(["test1", "<none>", 1, "60s"]),
            ),
            (with_owner("", "", true), json!(["test1", "test", 1, "60s"])),
        ];
        for (cr, want) in cases {
            assert_eq!(Value::from(row_cells(&cr, now).expect("printable")), want);
        }
        let bad = with_owner("a/b/c", "X", true);
        assert_eq!(
            row_cells(&bad, now).map_err(|e| e.to_string()),
            Err("unexpected GroupVersion string: a/b/c".to_string())
        );
    }
}
