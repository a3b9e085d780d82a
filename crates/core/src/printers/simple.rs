//! Rows of the small kinds: namespaces, configmaps, serviceaccounts, leases, priorityclasses, and the NAME AGE fallback.

/// Namespace rows: NAME STATUS AGE.
pub mod namespaces {
    use jiff::Timestamp;
    use k8s_openapi::api::core::v1::Namespace;
    use serde_json::Value;

    use super::super::{ColumnDefinition, age_column, col, name_column};
    use crate::duration::translate_timestamp_since;

    /// Upstream namespace column definitions.
    pub fn column_definitions() -> Vec<ColumnDefinition> {
        vec![
            name_column(),
            col(
                "Status",
                "string",
                "Phase of the namespace: Active or Terminating.",
            ),
            age_column(),
        ]
    }

    /// Upstream `printNamespace` cells.
    pub fn row_cells(ns: &Namespace, now: Timestamp) -> Vec<Value> {
        vec![
            Value::from(ns.metadata.name.clone().unwrap_or_default()),
            Value::from(
                ns.status
                    .as_ref()
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_default(),
            ),
            Value::from(translate_timestamp_since(
                ns.metadata.creation_timestamp.as_ref(),
                now,
            )),
        ]
    }
}

/// ConfigMap rows: NAME DATA AGE.
pub mod configmaps {
    use jiff::Timestamp;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::Value;

    use super::super::{ColumnDefinition, age_column, col, name_column};
    use crate::duration::translate_timestamp_since;

    /// Upstream configmap column definitions.
    pub fn column_definitions() -> Vec<ColumnDefinition> {
        vec![
            name_column(),
            col("Data", "string", "Number of data and binaryData entries."),
            age_column(),
        ]
    }

    /// Upstream `printConfigMap` cells: DATA counts `data` plus `binaryData`.
    pub fn row_cells(cm: &ConfigMap, now: Timestamp) -> Vec<Value> {
        let data = cm.data.as_ref().map_or(0, |d| d.len())
            + cm.binary_data.as_ref().map_or(0, |d| d.len());
        vec![
            Value::from(cm.metadata.name.clone().unwrap_or_default()),
            Value::from(data as i64),
            Value::from(translate_timestamp_since(
                cm.metadata.creation_timestamp.as_ref(),
                now,
            )),
        ]
    }
}

/// ServiceAccount rows: NAME SECRETS AGE.
pub mod serviceaccounts {
    use jiff::Timestamp;
    use k8s_openapi::api::core::v1::ServiceAccount;
    use serde_json::Value;

    use super::super::{ColumnDefinition, age_column, col, name_column};
    use crate::duration::translate_timestamp_since;

    /// Upstream serviceaccount column definitions.
    pub fn column_definitions() -> Vec<ColumnDefinition> {
        vec![
            name_column(),
            col(
                "Secrets",
                "string",
                "Number of secrets referenced by the account.",
            ),
            age_column(),
        ]
    }

    /// Upstream `printServiceAccount` cells.
    pub fn row_cells(sa: &ServiceAccount, now: Timestamp) -> Vec<Value> {
        vec![
            Value::from(sa.metadata.name.clone().unwrap_or_default()),
            Value::from(sa.secrets.as_ref().map_or(0, |s| s.len()) as i64),
            Value::from(translate_timestamp_since(
                sa.metadata.creation_timestamp.as_ref(),
                now,
            )),
        ]
    }
}

/// Lease rows: NAME HOLDER AGE.
pub mod leases {
    use jiff::Timestamp;
    use k8s_openapi::api::coordination::v1::Lease;
    use serde_json::Value;

    use super::super::{ColumnDefinition, age_column, col, name_column};
    use crate::duration::translate_timestamp_since;

    /// Upstream lease column definitions.
    pub fn column_definitions() -> Vec<ColumnDefinition> {
        vec![
            name_column(),
            col(
                "Holder",
                "string",
                "Identity of the current holder of the lease.",
            ),
            age_column(),
        ]
    }

    /// Upstream `printLease` cells.
    pub fn row_cells(lease: &Lease, now: Timestamp) -> Vec<Value> {
        vec![
            Value::from(lease.metadata.name.clone().unwrap_or_default()),
            Value::from(
                lease
                    .spec
                    .as_ref()
                    .and_then(|s| s.holder_identity.clone())
                    .unwrap_or_default(),
            ),
            Value::from(translate_timestamp_since(
                lease.metadata.creation_timestamp.as_ref(),
                now,
            )),
        ]
    }
}

/// PriorityClass rows: NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY.
pub mod priorityclasses {
    use jiff::Timestamp;
    use k8s_openapi::api::scheduling::v1::PriorityClass;
    use serde_json::Value;

    use super::super::{ColumnDefinition, age_column, col, name_column};
    use crate::duration::translate_timestamp_since;

    /// Upstream priorityclass column definitions.
    pub fn column_definitions() -> Vec<ColumnDefinition> {
        vec![
            name_column(),
            col("Value", "integer", "Priority of pods using this class."),
            col(
                "Global-Default",
                "boolean",
                "Whether pods without a class get this one.",
            ),
            age_column(),
            col(
                "PreemptionPolicy",
                "string",
                "Whether pods of this class may preempt others.",
            ),
        ]
    }

    /// Upstream `printPriorityClass` cells.
    pub fn row_cells(pc: &PriorityClass, now: Timestamp) -> Vec<Value> {
        vec![
            Value::from(pc.metadata.name.clone().unwrap_or_default()),
            Value::from(i64::from(pc.value)),
            Value::from(pc.global_default.unwrap_or(false)),
            Value::from(translate_timestamp_since(
                pc.metadata.creation_timestamp.as_ref(),
                now,
            )),
            Value::from(pc.preemption_policy.clone().unwrap_or_default()),
        ]
    }
}

/// Fallback rows for kinds without a printer: NAME AGE.
pub mod generic {
    use jiff::Timestamp;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use serde_json::Value;

    use super::super::{ColumnDefinition, age_column, name_column};
    use crate::duration::translate_timestamp_since;

    /// NAME and AGE.
    pub fn column_definitions() -> Vec<ColumnDefinition> {
        vec![name_column(), age_column()]
    }

    /// Name and age from the object's metadata.
    pub fn row_cells(meta: &ObjectMeta, now: Timestamp) -> Vec<Value> {
        vec![
            Value::from(meta.name.clone().unwrap_or_default()),
            Value::from(translate_timestamp_since(
                meta.creation_timestamp.as_ref(),
                now,
            )),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{column_definitions, print_row};

    #[test]
    fn small_kinds_print_like_upstream() {
        let now = "2024-05-01T12:00:00Z".parse().expect("valid");
        let meta = json!({"name": "x", "creationTimestamp": "2024-05-01T11:59:50Z"});
        let cases = [
            (
                "namespaces",
                json!({"metadata": meta, "status": {"phase": "Active"}}),
                json!(["x", "Active", "10s"]),
            ),
            (
                "namespaces",
                json!({"metadata": {"name": "y"}}),
                json!(["y", "", "<unknown>"]),
            ),
            (
                "configmaps",
                json!({"metadata": meta, "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}),
                json!(["x", 3, "10s"]),
            ),
            (
                "configmaps",
                json!({"metadata": meta}),
                json!(["x", 0, "10s"]),
            ),
            (
                "serviceaccounts",
                json!({"metadata": meta, "secrets": [{"name": "s"}]}),
                json!(["x", 1, "10s"]),
            ),
            (
                "serviceaccounts",
                json!({"metadata": meta}),
                json!(["x", 0, "10s"]),
            ),
            (
                "leases",
                json!({"metadata": meta, "spec": {"holderIdentity": "node-1"}}),
                json!(["x", "node-1", "10s"]),
            ),
            (
                "leases",
                json!({"metadata": meta, "spec": {}}),
                json!(["x", "", "10s"]),
            ),
            (
                "priorityclasses",
                json!({"metadata": meta, "value": 1000, "globalDefault": true, "preemptionPolicy": "PreemptLowerPriority"}),
                json!(["x", 1000, true, "10s", "PreemptLowerPriority"]),
            ),
            (
                "priorityclasses",
                json!({"metadata": meta, "value": -5}),
                json!(["x", -5, false, "10s", ""]),
            ),
            ("widgets", json!({"metadata": meta}), json!(["x", "10s"])),
            ("widgets", json!({}), json!(["", "<unknown>"])),
        ];
        for (resource, obj, want) in cases {
            let row = print_row(resource, &obj, now).unwrap_or_else(|e| panic!("{resource}: {e}"));
            assert_eq!(Value::from(row.cells), want, "{resource}");
        }
        let names = |r: &str| {
            column_definitions(r)
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("namespaces"), ["Name", "Status", "Age"]);
        assert_eq!(names("configmaps"), ["Name", "Data", "Age"]);
        assert_eq!(names("serviceaccounts"), ["Name", "Secrets", "Age"]);
        assert_eq!(names("leases"), ["Name", "Holder", "Age"]);
        assert_eq!(
            names("priorityclasses"),
            ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"]
        );
        assert_eq!(names("widgets"), ["Name", "Age"]);
    }
}
