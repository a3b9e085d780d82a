//! An independent, spec-only reference for "should this node run the daemon" (spec §1.3 N2–N5, §1.4), used to judge the planner in property tests.
//!
//! Deliberately shares no code with `plan::should_run` or `everynode_core::affinity`: it reads
//! the DaemonSet and the node directly, so a bug in the planner's matcher cannot hide itself.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{
    Node, NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration,
};

/// The reference verdict for one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefFit {
    /// A pod should be created here if none exists.
    pub should_run: bool,
    /// An existing pod may stay.
    pub should_continue_running: bool,
}

const NO: RefFit = RefFit {
    should_run: false,
    should_continue_running: false,
};

/// spec §1.4: the tolerations every daemon pod gets, as (key, effect).
fn automatic_tolerations(host_network: bool) -> Vec<Toleration> {
    let mut keys = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if host_network {
        keys.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    keys.into_iter()
        .map(|(key, effect)| Toleration {
            key: Some(key.to_string()),
            operator: Some("Exists".to_string()),
            effect: Some(effect.to_string()),
            ..Toleration::default()
        })
        .collect()
}

/// spec §1.3 N5: the standard toleration rule.
fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    let effect = t.effect.as_deref().unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    let key = t.key.as_deref().unwrap_or("");
    if !key.is_empty() && key != taint.key {
        return false;
    }
    match t.operator.as_deref().unwrap_or("") {
        "" | "Equal" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        "Exists" => true,
        _ => false,
    }
}

/// One node-selector requirement against a label (or field) map.
fn requirement_matches(req: &NodeSelectorRequirement, labels: &BTreeMap<String, String>) -> bool {
    let value = labels.get(&req.key);
    let values = req.values.as_deref().unwrap_or(&[]);
    match req.operator.as_str() {
        "In" => !values.is_empty() && value.is_some_and(|v| values.contains(v)),
        "NotIn" => !values.is_empty() && value.is_none_or(|v| !values.contains(v)),
        "Exists" => values.is_empty() && value.is_some(),
        "DoesNotExist" => values.is_empty() && value.is_none(),
        "Gt" | "Lt" => {
            let [bound] = values else {
                return false;
            };
            let (Some(Ok(have)), Ok(bound)) =
                (value.map(|v| v.parse::<i64>()), bound.parse::<i64>())
            else {
                return false;
            };
            if req.operator == "Gt" {
                have > bound
            } else {
                have < bound
            }
        }
        _ => false,
    }
}

/// A term matches when it has at least one requirement and all of them hold.
fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let fields: BTreeMap<String, String> = [(
        "metadata.name".to_string(),
        node.metadata.name.clone().unwrap_or_default(),
    )]
    .into_iter()
    .collect();
    let exprs = term.match_expressions.as_deref().unwrap_or(&[]);
    let field_reqs = term.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && field_reqs.is_empty() {
        return false;
    }
    exprs.iter().all(|r| requirement_matches(r, &labels))
        && field_reqs
            .iter()
            .all(|r| r.key == "metadata.name" && requirement_matches(r, &fields))
}

/// spec §1.3: (shouldRun, shouldContinueRunning) of `ds` on `node`.
pub fn reference_fit(ds: &DaemonSet, node: &Node) -> RefFit {
    let Some(spec) = ds.spec.as_ref().and_then(|s| s.template.spec.as_ref()) else {
        return NO;
    };
    let node_name = node.metadata.name.as_deref().unwrap_or("");
    // N2.
    if spec.node_name.as_deref().is_some_and(|n| n != node_name) {
        return NO;
    }
    // N3: nodeSelector AND required node affinity (terms ORed).
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let selected = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    let affine = required.is_none_or(|sel| {
        sel.node_selector_terms
            .iter()
            .any(|t| term_matches(t, node))
    });
    if !selected || !affine {
        return NO;
    }
    // N4: only NoSchedule and NoExecute taints count.
    let mut tolerations = spec.tolerations.clone().unwrap_or_default();
    tolerations.extend(automatic_tolerations(spec.host_network == Some(true)));
    let untolerated: Vec<&Taint> = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .filter(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
        .collect();
    RefFit {
        should_run: untolerated.is_empty(),
        should_continue_running: untolerated.iter().all(|t| t.effect != "NoExecute"),
    }
}
