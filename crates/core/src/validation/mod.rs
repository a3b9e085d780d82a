//! API-server validation with upstream's exact field paths and messages (`field.ErrorList` semantics) for the kinds everynode serves.
//!
//! Each validator returns the causes in upstream's order; [`invalid_message`] turns them into the
//! 422 `Status.message`. Values inside messages are rendered the way upstream's
//! `field.Error.ErrorBody` prints Go values (`%q` strings, `%#v` maps, `String()` for types with a
//! Stringer), because kubectl shows these strings verbatim (spec `daemonset.md` §3.3).

mod apps;
mod container;
mod meta;
mod pod;
mod rbac;
#[cfg(test)]
mod tests;
mod workloads;

pub use apps::{
    controller_revision, controller_revision_update, daemon_set_create,
    daemon_set_create_with_selector, daemon_set_status_update, daemon_set_update,
    daemon_set_update_with_selector,
};
pub use meta::{
    ObjectName, annotations, configmap, event, label_selector, labels, lease, namespace,
    namespace_update, node, node_update, object_meta, object_meta_update, object_meta_with,
    selector_string,
};
pub use pod::{POD_UPDATE_FORBIDDEN_MESSAGE, pod_create, pod_spec, pod_template_spec, pod_update};
pub use rbac::{
    CANNOT_CHANGE_ROLE_REF, RBAC_GROUP, cluster_role, cluster_role_binding,
    cluster_role_binding_update, cluster_role_update, role, role_binding, role_binding_update,
    role_update,
};
pub use workloads::{
    deployment_create, deployment_status_update, deployment_update, replica_set_create,
    replica_set_status_update, replica_set_update,
};

use crate::labels::go_quote;

/// CauseType `FieldValueRequired`.
pub const REQUIRED: &str = "FieldValueRequired";
/// CauseType `FieldValueInvalid`.
pub const INVALID: &str = "FieldValueInvalid";
/// CauseType `FieldValueNotSupported`.
pub const NOT_SUPPORTED: &str = "FieldValueNotSupported";
/// CauseType `FieldValueForbidden`.
pub const FORBIDDEN: &str = "FieldValueForbidden";
/// CauseType `FieldValueDuplicate`.
pub const DUPLICATE: &str = "FieldValueDuplicate";
/// CauseType `FieldValueTooLong`.
pub const TOO_LONG: &str = "FieldValueTooLong";
/// CauseType `FieldValueTooMany`.
pub const TOO_MANY: &str = "FieldValueTooMany";
/// CauseType `FieldValueNotFound`.
pub const NOT_FOUND: &str = "FieldValueNotFound";
/// CauseType `FieldValueTypeInvalid`.
pub const TYPE_INVALID: &str = "FieldValueTypeInvalid";

/// Upstream `FieldImmutableErrorMsg`.
pub const FIELD_IMMUTABLE: &str = "field is immutable";
/// Upstream message of `ValidateNonnegativeField`.
pub const NONNEGATIVE: &str = "must be greater than or equal to 0";

/// One validation failure: a `metav1.StatusCause` (`reason` = CauseType, `field`, `message` =
/// upstream `ErrorBody()`, e.g. `Required value` or `Invalid value: "x": must be ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// CauseType JSON string (`FieldValueInvalid`, …).
    pub reason: &'static str,
    /// Field path, e.g. `spec.template.spec.containers[0].name`.
    pub field: String,
    /// The cause message without the field (upstream `ErrorBody`).
    pub message: String,
}

impl FieldError {
    fn new(
        reason: &'static str,
        field: &str,
        type_text: &str,
        value: Option<&str>,
        detail: &str,
    ) -> Self {
        let mut message = type_text.to_string();
        if let Some(v) = value {
            message.push_str(": ");
            message.push_str(v);
        }
        if !detail.is_empty() {
            message.push_str(": ");
            message.push_str(detail);
        }
        FieldError {
            reason,
            field: field.to_string(),
            message,
        }
    }

    /// Upstream `field.Required`.
    pub fn required(field: &str, detail: &str) -> Self {
        Self::new(REQUIRED, field, "Required value", None, detail)
    }

    /// Upstream `field.Invalid`; `value` is already rendered (see [`q`], [`go_map`], …).
    pub fn invalid(field: &str, value: impl AsRef<str>, detail: &str) -> Self {
        Self::new(
            INVALID,
            field,
            "Invalid value",
            Some(value.as_ref()),
            detail,
        )
    }

    /// Upstream `field.NotSupported`: `supported values: "a", "b"`.
    pub fn not_supported(field: &str, value: impl AsRef<str>, supported: &[&str]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self::new(
            NOT_SUPPORTED,
            field,
            "Unsupported value",
            Some(value.as_ref()),
            &detail,
        )
    }

    /// Upstream `field.Forbidden`.
    pub fn forbidden(field: &str, detail: &str) -> Self {
        Self::new(FORBIDDEN, field, "Forbidden", None, detail)
    }

    /// Upstream `field.Duplicate`.
    pub fn duplicate(field: &str, value: impl AsRef<str>) -> Self {
        Self::new(
            DUPLICATE,
            field,
            "Duplicate value",
            Some(value.as_ref()),
            "",
        )
    }

    /// Upstream `field.NotFound`.
    pub fn not_found(field: &str, value: impl AsRef<str>) -> Self {
        Self::new(NOT_FOUND, field, "Not found", Some(value.as_ref()), "")
    }

    /// Upstream `field.TooLong` (the value is never printed).
    pub fn too_long(field: &str, max_bytes: usize) -> Self {
        Self::new(
            TOO_LONG,
            field,
            "Too long",
            None,
            &format!("must have at most {max_bytes} bytes"),
        )
    }

    /// The full `field: message` text, as upstream's `Error()`.
    pub fn text(&self) -> String {
        format!("{}: {}", self.field, self.message)
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Upstream `errors.NewInvalid(...).Error()`: `Kind.group "name" is invalid: <aggregate>` where
/// the aggregate deduplicates identical texts and is bracketed only when more than one remains.
/// `kind_qualified` is the `GroupKind` string: `DaemonSet.apps`, or just `Pod` for the core group.
pub fn invalid_message(kind_qualified: &str, name: &str, errors: &[FieldError]) -> String {
    let head = format!("{kind_qualified} {} is invalid", go_quote(name));
    let mut seen: Vec<String> = Vec::new();
    for e in errors {
        let t = e.text();
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    match seen.len() {
        0 => head,
        1 => format!("{head}: {}", seen[0]),
        _ => format!("{head}: [{}]", seen.join(", ")),
    }
}

// === Rendering Go values the way ErrorBody does ===

/// A string value (`%q`).
pub fn q(s: &str) -> String {
    go_quote(s)
}

/// `%#v` of a `map[string]string` (keys sorted; nil prints `map[string]string(nil)`).
pub fn go_map(m: Option<&std::collections::BTreeMap<String, String>>) -> String {
    match m {
        None => "map[string]string(nil)".to_string(),
        Some(m) => {
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", q(k), q(v)))
                .collect();
            format!("map[string]string{{{}}}", items.join(", "))
        }
    }
}

/// `%#v` of a `[]string` (nil prints `[]string(nil)`).
pub fn go_string_slice(s: Option<&[String]>) -> String {
    match s {
        None => "[]string(nil)".to_string(),
        Some(items) => {
            let items: Vec<String> = items.iter().map(|s| q(s)).collect();
            format!("[]string{{{}}}", items.join(", "))
        }
    }
}

/// Field path builder mirroring upstream `field.Path` (`a.b[0][key]`).
#[derive(Debug, Clone)]
pub(crate) struct Path(String);

impl Path {
    pub(crate) fn new(root: &str) -> Self {
        Path(root.to_string())
    }
    pub(crate) fn child(&self, name: &str) -> Self {
        if self.0.is_empty() {
            Path(name.to_string())
        } else {
            Path(format!("{}.{name}", self.0))
        }
    }
    pub(crate) fn index(&self, i: usize) -> Self {
        Path(format!("{}[{i}]", self.0))
    }
    pub(crate) fn key(&self, k: &str) -> Self {
        Path(format!("{}[{k}]", self.0))
    }
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Upstream `ValidateNonnegativeField`.
pub(crate) fn nonnegative(value: i64, path: &Path, errs: &mut Vec<FieldError>) {
    if value < 0 {
        errs.push(FieldError::invalid(
            path.as_str(),
            value.to_string(),
            NONNEGATIVE,
        ));
    }
}
