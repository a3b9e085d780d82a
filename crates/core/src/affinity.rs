//! Required node affinity and nodeSelector matching (upstream `component-helpers/.../nodeaffinity`) and the DaemonSet's node-pinning affinity helpers.
//!
//! Semantics (spec §1.3 N3): `nodeSelector` pairs must all be node labels; required affinity
//! terms are ORed, the requirements inside a term ANDed; an empty term matches nothing; a term
//! that fails to parse matches nothing. `matchFields` only knows `metadata.name` (other keys read
//! as ""), and is skipped when the node has no name, exactly like upstream.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec,
};

use crate::keys::OBJECT_NAME_FIELD;
use crate::labels::{LabelsError, Operator, Requirement, go_quote};

/// Node selector operator `In`.
pub const OP_IN: &str = "In";
/// Node selector operator `NotIn`.
pub const OP_NOT_IN: &str = "NotIn";
/// Node selector operator `Exists`.
pub const OP_EXISTS: &str = "Exists";
/// Node selector operator `DoesNotExist`.
pub const OP_DOES_NOT_EXIST: &str = "DoesNotExist";
/// Node selector operator `Gt`.
pub const OP_GT: &str = "Gt";
/// Node selector operator `Lt`.
pub const OP_LT: &str = "Lt";

const LABEL_OPERATORS: &[&str] = &[OP_IN, OP_NOT_IN, OP_EXISTS, OP_DOES_NOT_EXIST, OP_GT, OP_LT];
const FIELD_OPERATORS: &[&str] = &[OP_IN, OP_NOT_IN];

/// Why an affinity could not be evaluated or a target node not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AffinityError {
    /// Node selector terms failed to parse; each entry is one upstream `field.Error` line.
    #[error("{}", aggregate(.0))]
    Invalid(Vec<String>),
    /// The pod has no nodeName and no required node affinity (upstream `GetTargetNodeName`).
    #[error(
        "no spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution for pod {namespace}/{name}"
    )]
    NoRequiredAffinity {
        /// Pod namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
    /// The required node affinity has no term.
    #[error(
        "no nodeSelectorTerms in requiredDuringSchedulingIgnoredDuringExecution of pod {namespace}/{name}"
    )]
    NoTerms {
        /// Pod namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
    /// The `metadata.name In` requirement has more or fewer than one value.
    #[error("the matchFields value of 'metadata.name' is not unique for pod {namespace}/{name}")]
    NotUnique {
        /// Pod namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
    /// No `metadata.name In` matchFields requirement was found.
    #[error("no node name found for pod {namespace}/{name}")]
    NoNodeName {
        /// Pod namespace.
        namespace: String,
        /// Pod name.
        name: String,
    },
}

fn aggregate(messages: &[String]) -> String {
    match messages {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// Upstream `field.NotSupported(path, value, supported).Error()`.
fn not_supported(path: &str, value: &str, supported: &[&str]) -> String {
    let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
    format!(
        "{path}: Unsupported value: {}: supported values: {}",
        go_quote(value),
        quoted.join(", ")
    )
}

fn labels_error_lines(err: LabelsError) -> Vec<String> {
    match err {
        LabelsError::Invalid(lines) => lines,
        other => vec![other.to_string()],
    }
}

/// A parsed `matchFields` term: `field == value` or `field != value`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTerm {
    key: String,
    equal: bool,
    value: String,
}

/// A parsed, non-empty node selector term.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ParsedTerm {
    labels: Option<Vec<Requirement>>,
    fields: Option<Vec<FieldTerm>>,
}

fn is_empty_term(term: &NodeSelectorTerm) -> bool {
    term.match_expressions
        .as_deref()
        .unwrap_or_default()
        .is_empty()
        && term.match_fields.as_deref().unwrap_or_default().is_empty()
}

/// Upstream `newNodeSelectorTerm`: both halves are parsed and their errors collected.
fn parse_term(term: &NodeSelectorTerm, path: &str) -> Result<ParsedTerm, Vec<String>> {
    let mut errs = Vec::new();
    let mut labels = None;
    let mut fields = None;
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    if !exprs.is_empty() {
        let mut reqs = Vec::new();
        for (i, expr) in exprs.iter().enumerate() {
            let p = format!("{path}.matchExpressions[{i}]");
            let op = match expr.operator.as_str() {
                OP_IN => Operator::In,
                OP_NOT_IN => Operator::NotIn,
                OP_EXISTS => Operator::Exists,
                OP_DOES_NOT_EXIST => Operator::DoesNotExist,
                OP_GT => Operator::GreaterThan,
                OP_LT => Operator::LessThan,
                other => {
                    errs.push(not_supported(
                        &format!("{p}.operator"),
                        other,
                        LABEL_OPERATORS,
                    ));
                    continue;
                }
            };
            let values = expr.values.clone().unwrap_or_default();
            match Requirement::new_at(Some(&p), expr.key.clone(), op, values) {
                Ok(r) => reqs.push(r),
                Err(e) => errs.extend(labels_error_lines(e)),
            }
        }
        labels = Some(reqs);
    }
    let field_exprs = term.match_fields.as_deref().unwrap_or_default();
    if !field_exprs.is_empty() {
        let mut terms = Vec::new();
        for (i, expr) in field_exprs.iter().enumerate() {
            let p = format!("{path}.matchFields[{i}]");
            let equal = match expr.operator.as_str() {
                OP_IN => true,
                OP_NOT_IN => false,
                other => {
                    errs.push(not_supported(
                        &format!("{p}.operator"),
                        other,
                        FIELD_OPERATORS,
                    ));
                    continue;
                }
            };
            match expr.values.as_deref().unwrap_or_default() {
                [value] => terms.push(FieldTerm {
                    key: expr.key.clone(),
                    equal,
                    value: value.clone(),
                }),
                values => errs.push(format!(
                    "{p}.values: Invalid value: {}: must have one element",
                    go_string_slice(values)
                )),
            }
        }
        fields = Some(terms);
    }
    if errs.is_empty() {
        Ok(ParsedTerm { labels, fields })
    } else {
        Err(errs)
    }
}

fn go_string_slice(values: &[String]) -> String {
    if values.is_empty() {
        return "[]string(nil)".to_string();
    }
    let quoted: Vec<String> = values.iter().map(|v| go_quote(v)).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

impl ParsedTerm {
    /// Upstream `nodeSelectorTerm.match`: labels must match; fields only count when the node
    /// has a name.
    fn matches(&self, node_name: &str, labels: &BTreeMap<String, String>) -> bool {
        if let Some(reqs) = &self.labels
            && !reqs.iter().all(|r| r.matches(labels))
        {
            return false;
        }
        if let Some(fields) = &self.fields
            && !node_name.is_empty()
        {
            return fields.iter().all(|f| {
                let actual = if f.key == OBJECT_NAME_FIELD {
                    node_name
                } else {
                    ""
                };
                (actual == f.value) == f.equal
            });
        }
        true
    }
}

/// Upstream `LazyErrorNodeSelector.Match` on a node given by name and labels: true as soon as a
/// term matches; parse errors are only reported when no term matched.
pub fn node_selector_matches_lazy(
    selector: &NodeSelector,
    node_name: &str,
    labels: &BTreeMap<String, String>,
) -> Result<bool, AffinityError> {
    let mut errs = Vec::new();
    for (i, term) in selector.node_selector_terms.iter().enumerate() {
        // A nil or empty term selects no objects.
        if is_empty_term(term) {
            continue;
        }
        match parse_term(term, &format!("nodeSelectorTerms[{i}]")) {
            Ok(parsed) if parsed.matches(node_name, labels) => return Ok(true),
            Ok(_) => {}
            Err(e) => errs.extend(e),
        }
    }
    if errs.is_empty() {
        Ok(false)
    } else {
        Err(AffinityError::Invalid(errs))
    }
}

/// Upstream `NodeSelector.Match` semantics on a node: terms ORed, errors mean "no match".
pub fn node_selector_matches(selector: &NodeSelector, node: &Node) -> bool {
    let (name, labels) = node_name_and_labels(node);
    node_selector_matches_lazy(selector, name, labels).unwrap_or(false)
}

/// One term against a node; an empty term matches nothing, a malformed one is an error.
pub fn node_selector_term_matches(
    term: &NodeSelectorTerm,
    node: &Node,
) -> Result<bool, AffinityError> {
    if is_empty_term(term) {
        return Ok(false);
    }
    let (name, labels) = node_name_and_labels(node);
    parse_term(term, "nodeSelectorTerms[0]")
        .map(|parsed| parsed.matches(name, labels))
        .map_err(AffinityError::Invalid)
}

/// One `matchExpressions` requirement against node labels (In, NotIn, Exists, DoesNotExist,
/// Gt, Lt); a malformed requirement matches nothing.
pub fn node_selector_requirement_matches_labels(
    requirement: &NodeSelectorRequirement,
    labels: &BTreeMap<String, String>,
) -> bool {
    let term = NodeSelectorTerm {
        match_expressions: Some(vec![requirement.clone()]),
        match_fields: None,
    };
    matches!(parse_term(&term, "nodeSelectorTerms[0]"), Ok(parsed) if parsed.matches("", labels))
}

fn empty_labels() -> &'static BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    &EMPTY
}

fn node_name_and_labels(node: &Node) -> (&str, &BTreeMap<String, String>) {
    (
        node.metadata.name.as_deref().unwrap_or(""),
        node.metadata.labels.as_ref().unwrap_or(empty_labels()),
    )
}

/// Pod `nodeSelector` semantics (`labels.SelectorFromSet`): every pair must be a node label.
pub fn node_selector_map_matches(
    node_selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    node_selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Upstream `GetRequiredNodeAffinity(pod).Match(node)` with errors counted as no match:
/// the pod's `nodeSelector` and its required node affinity must both match (spec §1.3 N3).
pub fn pod_matches_node_selector_and_affinity(spec: &PodSpec, node: &Node) -> bool {
    let (name, labels) = node_name_and_labels(node);
    pod_matches_node_name_and_labels(spec, name, labels)
}

/// [`pod_matches_node_selector_and_affinity`] for a node given by name and labels.
pub fn pod_matches_node_name_and_labels(
    spec: &PodSpec,
    node_name: &str,
    labels: &BTreeMap<String, String>,
) -> bool {
    if let Some(selector) = &spec.node_selector
        && !node_selector_map_matches(selector, labels)
    {
        return false;
    }
    match required_node_selector(spec) {
        Some(required) => node_selector_matches_lazy(required, node_name, labels).unwrap_or(false),
        None => true,
    }
}

fn required_node_selector(spec: &PodSpec) -> Option<&NodeSelector> {
    spec.affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()
}

/// The single-term node selector that pins a pod to `node_name` through `matchFields`.
fn pinned_node_selector(node_name: &str) -> NodeSelector {
    NodeSelector {
        node_selector_terms: vec![NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![NodeSelectorRequirement {
                key: OBJECT_NAME_FIELD.to_string(),
                operator: OP_IN.to_string(),
                values: Some(vec![node_name.to_string()]),
            }]),
        }],
    }
}

/// Upstream `ReplaceDaemonSetPodNodeNameNodeAffinity` (spec §1.8 K3): the required node affinity
/// becomes exactly one term `metadata.name In [node_name]`; preferred terms and pod
/// (anti-)affinity are kept.
pub fn replace_daemonset_pod_node_name_node_affinity(
    affinity: Option<Affinity>,
    node_name: &str,
) -> Affinity {
    let mut affinity = affinity.unwrap_or_default();
    let node_affinity = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution =
        Some(pinned_node_selector(node_name));
    affinity
}

/// Applies [`replace_daemonset_pod_node_name_node_affinity`] to a pod spec in place.
pub fn pin_pod_spec_to_node(spec: &mut PodSpec, node_name: &str) {
    spec.affinity = Some(replace_daemonset_pod_node_name_node_affinity(
        spec.affinity.take(),
        node_name,
    ));
}

/// Upstream `GetTargetNodeName`: `spec.nodeName` when set, else the value of the first
/// `metadata.name In [x]` matchFields requirement of the required node affinity.
pub fn get_target_node_name(pod: &Pod) -> Result<String, AffinityError> {
    let spec = pod.spec.as_ref();
    if let Some(name) = spec.and_then(|s| s.node_name.as_deref())
        && !name.is_empty()
    {
        return Ok(name.to_string());
    }
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let Some(required) = spec.and_then(required_node_selector) else {
        return Err(AffinityError::NoRequiredAffinity { namespace, name });
    };
    if required.node_selector_terms.is_empty() {
        return Err(AffinityError::NoTerms { namespace, name });
    }
    for term in &required.node_selector_terms {
        for expr in term.match_fields.as_deref().unwrap_or_default() {
            if expr.key == OBJECT_NAME_FIELD && expr.operator == OP_IN {
                return match expr.values.as_deref().unwrap_or_default() {
                    [one] => Ok(one.clone()),
                    _ => Err(AffinityError::NotUnique { namespace, name }),
                };
            }
        }
    }
    Err(AffinityError::NoNodeName { namespace, name })
}

#[cfg(test)]
mod tests;
