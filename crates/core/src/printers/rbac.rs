//! Rows of the RBAC kinds: roles and clusterroles (upstream's default NAME CREATED AT table), and both binding kinds.

use jiff::Timestamp;
use k8s_openapi::api::rbac::v1::{RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::Deserialize;
use serde_json::Value;

use super::{ColumnDefinition, age_column, col, name_column, wide};
use crate::duration::translate_timestamp_since;

/// Roles and clusterroles have no printer upstream, so kube-apiserver answers with its
/// `DefaultTableConvertor`: NAME and CREATED AT (an RFC 3339 date, not an age).
pub fn role_column_definitions() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        col(
            "Created At",
            "date",
            "Time the object was created (its creationTimestamp).",
        ),
    ]
}

/// The default convertor's cells: a missing timestamp prints as Go's zero time, as upstream.
pub fn role_row_cells(meta: &ObjectMeta) -> Vec<Value> {
    let created = meta.creation_timestamp.as_ref().map_or_else(
        || "0001-01-01T00:00:00Z".to_owned(),
        |Time(t)| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    );
    vec![
        Value::from(meta.name.clone().unwrap_or_default()),
        Value::from(created),
    ]
}

/// The fields both binding kinds share; they differ only in scope.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    #[serde(default)]
    metadata: ObjectMeta,
    #[serde(default)]
    role_ref: RoleRef,
    #[serde(default)]
    subjects: Option<Vec<Subject>>,
}

/// Upstream rolebinding and clusterrolebinding columns: NAME ROLE AGE, wide USERS GROUPS
/// SERVICEACCOUNTS.
pub fn binding_column_definitions() -> Vec<ColumnDefinition> {
    vec![
        name_column(),
        col(
            "Role",
            "string",
            "The role the binding grants, as Kind/name.",
        ),
        age_column(),
        wide("Users", "string", "Users in the binding."),
        wide("Groups", "string", "Groups in the binding."),
        wide(
            "ServiceAccounts",
            "string",
            "ServiceAccounts in the binding.",
        ),
    ]
}

/// Upstream `printRoleBinding` / `printClusterRoleBinding` with `rbac.SubjectsStrings`:
/// service accounts print as `namespace/name` even without a namespace.
pub fn binding_row_cells(binding: &Binding, now: Timestamp) -> Vec<Value> {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut accounts = Vec::new();
    for subject in binding.subjects.as_deref().unwrap_or_default() {
        match subject.kind.as_str() {
            "User" => users.push(subject.name.clone()),
            "Group" => groups.push(subject.name.clone()),
            "ServiceAccount" => accounts.push(format!(
                "{}/{}",
                subject.namespace.as_deref().unwrap_or(""),
                subject.name
            )),
            // Upstream collects other kinds separately and never prints them.
            _ => {}
        }
    }
    vec![
        Value::from(binding.metadata.name.clone().unwrap_or_default()),
        Value::from(format!(
            "{}/{}",
            binding.role_ref.kind, binding.role_ref.name
        )),
        Value::from(translate_timestamp_since(
            binding.metadata.creation_timestamp.as_ref(),
            now,
        )),
        Value::from(users.join(", ")),
        Value::from(groups.join(", ")),
        Value::from(accounts.join(", ")),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::print_row;

    #[test]
    fn bindings_print_role_and_subjects() {
        let now = "2024-05-01T12:00:00Z".parse().expect("valid");
        let binding = json!({
            "metadata": {"name": "b", "creationTimestamp": "2024-05-01T11:00:00Z"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [
                {"kind": "User", "name": "alice"},
                {"kind": "Group", "name": "devs"},
                {"kind": "User", "name": "bob"},
                {"kind": "ServiceAccount", "name": "sa", "namespace": "kube-system"},
            ],
        });
        let row = print_row("clusterrolebindings", &binding, now).expect("prints");
        assert_eq!(
            row.cells,
            vec![
                json!("b"),
                json!("ClusterRole/view"),
                json!("60m"),
                json!("alice, bob"),
                json!("devs"),
                json!("kube-system/sa"),
            ]
        );
        let role = json!({"metadata": {"name": "r", "creationTimestamp": "2024-05-01T11:00:00Z"}});
        let row = print_row("roles", &role, now).expect("prints");
        assert_eq!(row.cells, vec![json!("r"), json!("2024-05-01T11:00:00Z")]);
    }
}
