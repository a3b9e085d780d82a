//! Field selectors as upstream `k8s.io/apimachinery/pkg/fields`, plus each kind's selectable fields and supported labels.
//!
//! Parsing follows `fields.ParseSelector` (terms split on unescaped commas and sorted, the first
//! `!=`, `==` or `=` splits a term, values unescape `\\`, `\,`, `\=`). Matching treats a field the
//! object does not have as the empty string, as upstream's `fields.Set.Get` does.
//! The server rejects unsupported fields with [`convert_field_label`] (api.md §5).

use std::fmt;

use serde_json::Value;

use crate::labels::go_quote;

/// Why a field selector could not be parsed or is not supported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldsError {
    /// A term has no `=`, `==` or `!=` (upstream `parseSelector`).
    #[error("invalid selector: '{selector}'; can't understand '{term}'")]
    InvalidTerm {
        /// The whole selector string.
        selector: String,
        /// The term that failed.
        term: String,
    },
    /// A backslash not followed by `\`, `,` or `=` (upstream `InvalidEscapeSequence`).
    #[error("invalid field selector: invalid escape sequence: {0}")]
    InvalidEscapeSequence(String),
    /// A bare `,` or `=` in a value; upstream prints the rune as its code point.
    #[error("invalid field selector: unescaped character in value: {}", *.0 as u32)]
    UnescapedRune(char),
    /// The kind has its own field list and `label` is not in it (upstream per-kind conversion funcs).
    #[error("field label not supported: {0}")]
    NotSupported(String),
    /// The kind only supports object metadata fields (upstream `DefaultMetaV1FieldSelectorConversion`).
    #[error("{} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"", go_quote(.0))]
    NotKnown(String),
}

/// A term operator; `==` parses as [`FieldOperator::Equals`] like upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOperator {
    /// `f=v` or `f==v`
    Equals,
    /// `f!=v`
    NotEquals,
}

/// One `field op value` term (value unescaped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path, e.g. `spec.nodeName` (never escaped upstream).
    pub field: String,
    /// The operator.
    pub operator: FieldOperator,
    /// The literal value.
    pub value: String,
}

/// An AND of field terms; no term = everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldRequirement>,
}

const NOT_EQUAL: &str = "!=";
const DOUBLE_EQUAL: &str = "==";
const EQUAL: &str = "=";

// === impl FieldSelector ===

impl FieldSelector {
    /// Matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Upstream `OneTermEqualSelector`.
    pub fn one_term_equal(field: impl Into<String>, value: impl Into<String>) -> Self {
        FieldSelector {
            terms: vec![FieldRequirement {
                field: field.into(),
                operator: FieldOperator::Equals,
                value: value.into(),
            }],
        }
    }

    /// Upstream `fields.ParseSelector`.
    pub fn parse(selector: &str) -> Result<Self, FieldsError> {
        let mut parts = split_terms(selector);
        // Upstream sorts the raw terms before parsing them.
        parts.sort_unstable();
        let mut terms = Vec::with_capacity(parts.len());
        for part in parts.into_iter().filter(|p| !p.is_empty()) {
            let (field, op, raw_value) =
                split_term(part).ok_or_else(|| FieldsError::InvalidTerm {
                    selector: selector.to_string(),
                    term: part.to_string(),
                })?;
            let value = unescape_value(raw_value)?;
            let operator = if op == NOT_EQUAL {
                FieldOperator::NotEquals
            } else {
                FieldOperator::Equals
            };
            terms.push(FieldRequirement {
                field: field.to_string(),
                operator,
                value,
            });
        }
        Ok(FieldSelector { terms })
    }

    /// The terms in (sorted) order.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.terms
    }

    /// True when there is no term.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Field names used by the selector, first occurrence order, without duplicates.
    pub fn field_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for t in &self.terms {
            if !names.contains(&t.field.as_str()) {
                names.push(&t.field);
            }
        }
        names
    }

    /// True when every term holds; a field the lookup does not know counts as "".
    pub fn matches_with(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.terms.iter().all(|t| {
            let actual = lookup(&t.field).unwrap_or_default();
            match t.operator {
                FieldOperator::Equals => actual == t.value,
                FieldOperator::NotEquals => actual != t.value,
            }
        })
    }

    /// [`FieldSelector::matches_with`] over a selectable-field list such as [`selectable_fields`] returns.
    pub fn matches_fields(&self, fields: &[(&str, String)]) -> bool {
        self.matches_with(|name| {
            fields
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, v)| v.clone())
        })
    }

    /// Upstream `RequiresExactMatch`: the value of the first `=` term on `field`.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.field == field && t.operator == FieldOperator::Equals)
            .map(|t| t.value.as_str())
    }

    /// Runs every field name through [`convert_field_label`] for `resource` (upstream does this
    /// when decoding list options), so unsupported fields become errors.
    pub fn convert_for(&self, resource: &str) -> Result<FieldSelector, FieldsError> {
        let terms = self
            .terms
            .iter()
            .map(|t| {
                Ok(FieldRequirement {
                    field: convert_field_label(resource, &t.field)?,
                    operator: t.operator,
                    value: t.value.clone(),
                })
            })
            .collect::<Result<_, FieldsError>>()?;
        Ok(FieldSelector { terms })
    }
}

impl fmt::Display for FieldSelector {
    /// Upstream `Selector.String()`: `f=v` / `f!=v` joined by `,`, values escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let op = match t.operator {
                FieldOperator::Equals => EQUAL,
                FieldOperator::NotEquals => NOT_EQUAL,
            };
            write!(f, "{}{op}{}", t.field, escape_value(&t.value))?;
        }
        Ok(())
    }
}

impl std::str::FromStr for FieldSelector {
    type Err = FieldsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FieldSelector::parse(s)
    }
}

/// Splits on commas not preceded by a backslash escape; escapes stay in the terms.
fn split_terms(selector: &str) -> Vec<&str> {
    if selector.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut in_slash = false;
    for (i, c) in selector.char_indices() {
        if in_slash {
            in_slash = false;
        } else if c == '\\' {
            in_slash = true;
        } else if c == ',' {
            terms.push(&selector[start..i]);
            start = i + 1;
        }
    }
    terms.push(&selector[start..]);
    terms
}

/// Splits at the first position where `!=`, `==` or `=` starts (checked in that order).
fn split_term(term: &str) -> Option<(&str, &'static str, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for op in [NOT_EQUAL, DOUBLE_EQUAL, EQUAL] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], op, value));
            }
        }
    }
    None
}

/// Upstream `EscapeValue`: backslash-escapes `\`, `,` and `=`.
pub fn escape_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Upstream `UnescapeValue`.
pub fn unescape_value(value: &str) -> Result<String, FieldsError> {
    let mut out = String::with_capacity(value.len());
    let mut in_slash = false;
    for c in value.chars() {
        if in_slash {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(FieldsError::InvalidEscapeSequence(format!("\\{c}")));
            }
            out.push(c);
            in_slash = false;
            continue;
        }
        match c {
            '\\' => in_slash = true,
            ',' | '=' => return Err(FieldsError::UnescapedRune(c)),
            c => out.push(c),
        }
    }
    if in_slash {
        return Err(FieldsError::InvalidEscapeSequence("\\".to_string()));
    }
    Ok(out)
}

// === Supported field labels (upstream field label conversion funcs) ===

/// Field `metadata.name`.
pub const METADATA_NAME: &str = "metadata.name";
/// Field `metadata.namespace`.
pub const METADATA_NAMESPACE: &str = "metadata.namespace";

/// Labels the core/v1 Pod conversion accepts (`pkg/apis/core/v1/conversion.go`).
const POD_FIELDS: &[&str] = &[
    METADATA_NAME,
    METADATA_NAMESPACE,
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
];
const NODE_FIELDS: &[&str] = &[METADATA_NAME, "spec.unschedulable"];
/// Upstream accepts `status.phase` and `metadata.name` only; the legacy `name` is selectable but rejected here.
const NAMESPACE_FIELDS: &[&str] = &["status.phase", METADATA_NAME];
const EVENT_FIELDS: &[&str] = &[
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
    METADATA_NAMESPACE,
    METADATA_NAME,
];
const SECRET_FIELDS: &[&str] = &["type", METADATA_NAMESPACE, METADATA_NAME];
const SERVICE_FIELDS: &[&str] = &[
    METADATA_NAMESPACE,
    METADATA_NAME,
    "spec.clusterIP",
    "spec.type",
];
const REPLICATION_CONTROLLER_FIELDS: &[&str] =
    &[METADATA_NAME, METADATA_NAMESPACE, "status.replicas"];

/// Upstream field label conversion for a resource (by plural name): the label to match on, or
/// 400-worthy error. Core kinds with their own list answer `field label not supported: <f>`;
/// every other kind accepts only `metadata.name` and `metadata.namespace`.
pub fn convert_field_label(resource: &str, label: &str) -> Result<String, FieldsError> {
    let supported = match resource {
        "pods" => {
            // Old v1 clients send spec.host; upstream rewrites it.
            if label == "spec.host" {
                return Ok("spec.nodeName".to_string());
            }
            POD_FIELDS
        }
        "nodes" => NODE_FIELDS,
        "namespaces" => NAMESPACE_FIELDS,
        "events" => EVENT_FIELDS,
        "secrets" => SECRET_FIELDS,
        "services" => SERVICE_FIELDS,
        "replicationcontrollers" => REPLICATION_CONTROLLER_FIELDS,
        _ => {
            return if label == METADATA_NAME || label == METADATA_NAMESPACE {
                Ok(label.to_string())
            } else {
                Err(FieldsError::NotKnown(label.to_string()))
            };
        }
    };
    if supported.contains(&label) {
        Ok(label.to_string())
    } else {
        Err(FieldsError::NotSupported(label.to_string()))
    }
}

// === Selectable fields (upstream `*ToSelectableFields`) ===

fn str_at<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = obj;
    for key in path {
        match cur.get(key) {
            Some(v) => cur = v,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

fn bool_at(obj: &Value, path: &[&str]) -> String {
    let mut cur = obj;
    for key in path {
        match cur.get(key) {
            Some(v) => cur = v,
            None => return "false".to_string(),
        }
    }
    cur.as_bool().unwrap_or(false).to_string()
}

/// Upstream `generic.ObjectMetaFieldsSet`: `metadata.name`, plus `metadata.namespace` when namespaced.
pub fn object_meta_fields(obj: &Value, namespaced: bool) -> Vec<(&'static str, String)> {
    let mut fields = vec![(
        METADATA_NAME,
        str_at(obj, &["metadata", "name"]).to_string(),
    )];
    if namespaced {
        fields.push((
            METADATA_NAMESPACE,
            str_at(obj, &["metadata", "namespace"]).to_string(),
        ));
    }
    fields
}

/// Upstream pod `ToSelectableFields`; `status.podIP` is the first of `podIPs` (falling back
/// to `podIP`, which is what conversion into the internal type does).
pub fn pod_selectable_fields(pod: &Value) -> Vec<(&'static str, String)> {
    let first_ip = pod
        .pointer("/status/podIPs/0/ip")
        .and_then(Value::as_str)
        .unwrap_or_else(|| str_at(pod, &["status", "podIP"]));
    let mut fields = vec![
        (
            "spec.nodeName",
            str_at(pod, &["spec", "nodeName"]).to_string(),
        ),
        (
            "spec.restartPolicy",
            str_at(pod, &["spec", "restartPolicy"]).to_string(),
        ),
        (
            "spec.schedulerName",
            str_at(pod, &["spec", "schedulerName"]).to_string(),
        ),
        (
            "spec.serviceAccountName",
            str_at(pod, &["spec", "serviceAccountName"]).to_string(),
        ),
        ("spec.hostNetwork", bool_at(pod, &["spec", "hostNetwork"])),
        (
            "status.phase",
            str_at(pod, &["status", "phase"]).to_string(),
        ),
        ("status.podIP", first_ip.to_string()),
        (
            "status.nominatedNodeName",
            str_at(pod, &["status", "nominatedNodeName"]).to_string(),
        ),
    ];
    fields.extend(object_meta_fields(pod, true));
    fields
}

/// Upstream node `NodeToSelectableFields`.
pub fn node_selectable_fields(node: &Value) -> Vec<(&'static str, String)> {
    let mut fields = vec![(
        "spec.unschedulable",
        bool_at(node, &["spec", "unschedulable"]),
    )];
    fields.extend(object_meta_fields(node, false));
    fields
}

/// Upstream namespace `NamespaceToSelectableFields` (including the legacy `name`).
pub fn namespace_selectable_fields(ns: &Value) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("status.phase", str_at(ns, &["status", "phase"]).to_string()),
        ("name", str_at(ns, &["metadata", "name"]).to_string()),
    ];
    fields.extend(object_meta_fields(ns, false));
    fields
}

/// Upstream core/v1 event `ToSelectableFields`; `source` falls back to `reportingComponent`.
pub fn event_selectable_fields(event: &Value) -> Vec<(&'static str, String)> {
    let involved = |f: &str| str_at(event, &["involvedObject", f]).to_string();
    let reporting = str_at(event, &["reportingComponent"]);
    let mut source = str_at(event, &["source", "component"]);
    if source.is_empty() {
        source = reporting;
    }
    let mut fields = vec![
        ("involvedObject.kind", involved("kind")),
        ("involvedObject.namespace", involved("namespace")),
        ("involvedObject.name", involved("name")),
        ("involvedObject.uid", involved("uid")),
        ("involvedObject.apiVersion", involved("apiVersion")),
        (
            "involvedObject.resourceVersion",
            involved("resourceVersion"),
        ),
        ("involvedObject.fieldPath", involved("fieldPath")),
        ("reason", str_at(event, &["reason"]).to_string()),
        ("reportingComponent", reporting.to_string()),
        ("source", source.to_string()),
        ("type", str_at(event, &["type"]).to_string()),
    ];
    fields.extend(object_meta_fields(event, true));
    fields
}

/// The selectable fields of an object of `resource` (plural name): the kind-specific set for
/// pods, nodes, namespaces and events, object metadata fields for everything else.
pub fn selectable_fields(
    resource: &str,
    namespaced: bool,
    obj: &Value,
) -> Vec<(&'static str, String)> {
    match resource {
        "pods" => pod_selectable_fields(obj),
        "nodes" => node_selectable_fields(obj),
        "namespaces" => namespace_selectable_fields(obj),
        "events" => event_selectable_fields(obj),
        "secrets" => {
            let mut fields = vec![("type", str_at(obj, &["type"]).to_string())];
            fields.extend(object_meta_fields(obj, namespaced));
            fields
        }
        _ => object_meta_fields(obj, namespaced),
    }
}

#[cfg(test)]
mod tests;
