//! Registry strategies (upstream `PrepareForCreate` / `PrepareForUpdate`): generation, templateGeneration, status resets and pod QoS.
//!
//! These run after defaulting and before validation (spec `daemonset.md` §3.2, §3.4). The
//! DaemonSet's internal `spec.templateGeneration` lives in the
//! `deprecated.daemonset.template.generation` annotation on the v1 wire; the helpers here read
//! and write it so callers never touch the annotation directly.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, PodCondition, PodSpec};
use serde::Serialize;

use crate::keys::{
    DEPRECATED_TEMPLATE_GENERATION_ANNOTATION, FINALIZER_KUBERNETES, POD_PENDING,
    POD_REASON_SCHEDULING_GATED, POD_SCHEDULED,
};
use crate::quantity::Quantity;

/// QoS class: every container has equal cpu and memory requests and limits.
pub const QOS_GUARANTEED: &str = "Guaranteed";
/// QoS class: some request or limit is set, but not Guaranteed.
pub const QOS_BURSTABLE: &str = "Burstable";
/// QoS class: no cpu or memory request or limit at all.
pub const QOS_BEST_EFFORT: &str = "BestEffort";
/// Message of the `PodScheduled=False/SchedulingGated` condition set on gated pods.
pub const SCHEDULING_GATED_MESSAGE: &str =
    "Scheduling is blocked due to non-empty scheduling gates";

// === Semantic comparison ===

/// Drops nulls, empty objects and empty arrays so that `None`, `Some(vec![])` and `Some({})`
/// compare equal, like upstream's `Semantic.DeepEqual` treats nil and empty slices/maps.
fn normalize(v: serde_json::Value) -> Option<serde_json::Value> {
    use serde_json::Value;
    match v {
        Value::Null => None,
        Value::Array(items) => {
            let items: Vec<Value> = items
                .into_iter()
                .map(|i| normalize(i).unwrap_or(Value::Null))
                .collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let map: serde_json::Map<String, Value> = map
                .into_iter()
                .filter_map(|(k, v)| normalize(v).map(|v| (k, v)))
                .collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        // Quantities compare by value upstream; textual forms are compared as-is here.
        other => Some(other),
    }
}

fn normalized<T: Serialize>(v: &T) -> Option<serde_json::Value> {
    serde_json::to_value(v).ok().and_then(normalize)
}

/// Upstream `apiequality.Semantic.DeepEqual` for API objects, up to nil-vs-empty.
pub fn semantic_eq<T: Serialize>(a: &T, b: &T) -> bool {
    normalized(a) == normalized(b)
}

/// The top-level JSON fields that differ semantically between two objects (sorted).
pub fn changed_fields<T: Serialize>(a: &T, b: &T) -> Vec<String> {
    let as_map = |v: Option<serde_json::Value>| match v {
        Some(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (a, b) = (as_map(normalized(a)), as_map(normalized(b)));
    let mut keys: Vec<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(k) != b.get(k)).collect()
}

/// Upstream `rest.BeforeUpdate` + strategy rule: the stored generation, plus one when the
/// desired state changed.
pub fn generation_on_update(new_spec_differs: bool, old_generation: i64) -> i64 {
    if new_spec_differs {
        old_generation.saturating_add(1)
    } else {
        old_generation
    }
}

// === DaemonSet (§3.2) ===

/// The internal `spec.templateGeneration`: the decimal annotation, 0 when absent. A value that
/// does not parse is an error (upstream conversion rejects the request with this Go error text).
pub fn template_generation(ds: &DaemonSet) -> Result<i64, String> {
    match ds
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(DEPRECATED_TEMPLATE_GENERATION_ANNOTATION))
    {
        None => Ok(0),
        Some(v) => v.parse::<i64>().map_err(|_| {
            format!(
                "strconv.ParseInt: parsing {}: invalid syntax",
                crate::labels::go_quote(v)
            )
        }),
    }
}

/// Writes the internal templateGeneration back to the annotation (always present on output).
pub fn set_template_generation(ds: &mut DaemonSet, generation: i64) {
    ds.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(
            DEPRECATED_TEMPLATE_GENERATION_ANNOTATION.to_string(),
            generation.to_string(),
        );
}

/// Upstream DaemonSet `PrepareForCreate` (§3.2 G2): status reset to the zero status (which
/// upstream serializes as the four required zero counters), generation 1,
/// templateGeneration raised to at least 1 (a client value ≥ 1 is kept; an unparsable one
/// should have been rejected by the caller via [`template_generation`]).
pub fn daemon_set_prepare_for_create(ds: &mut DaemonSet) {
    ds.status = Some(Default::default());
    ds.metadata.generation = Some(1);
    let tg = template_generation(ds).unwrap_or(0).max(1);
    set_template_generation(ds, tg);
}

/// Upstream DaemonSet `PrepareForUpdate` (§3.2 G3): status and templateGeneration come from the
/// old object; a template change bumps templateGeneration and generation, any other spec change
/// bumps generation only; metadata-only changes bump nothing.
pub fn daemon_set_prepare_for_update(new: &mut DaemonSet, old: &DaemonSet) {
    new.status.clone_from(&old.status);
    let old_generation = old.metadata.generation.unwrap_or(0);
    let old_tg = template_generation(old).unwrap_or(0);
    let template_changed = !semantic_eq(
        &new.spec.as_ref().map(|s| &s.template),
        &old.spec.as_ref().map(|s| &s.template),
    );
    let spec_changed = template_changed || !semantic_eq(&new.spec, &old.spec);
    new.metadata.generation = Some(generation_on_update(spec_changed, old_generation));
    set_template_generation(new, old_tg.saturating_add(i64::from(template_changed)));
}

/// Upstream DaemonSet status strategy `PrepareForUpdate` (§3.4): the spec (and the
/// templateGeneration annotation that stands for part of it) come from the stored object.
pub fn daemon_set_prepare_for_status_update(new: &mut DaemonSet, old: &DaemonSet) {
    new.spec.clone_from(&old.spec);
    new.metadata.generation = old.metadata.generation;
    let old_tg = template_generation(old).unwrap_or(0);
    set_template_generation(new, old_tg);
}

// === Pod ===

/// Upstream `qos.ComputePodQOS` over containers and init containers (cpu and memory only).
pub fn pod_qos_class(spec: &PodSpec) -> &'static str {
    let mut requests: BTreeMap<&str, i128> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i128> = BTreeMap::new();
    let mut guaranteed = true;
    let init = spec.init_containers.iter().flatten();
    for c in spec.containers.iter().chain(init) {
        let resources = c.resources.as_ref();
        let positive = |list: Option<
            &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
        >| {
            let mut out: Vec<(&'static str, i128)> = Vec::new();
            for name in ["cpu", "memory"] {
                if let Some(q) = list.and_then(|l| l.get(name))
                    && let Ok(v) = Quantity::parse(&q.0).map(|q| q.milli_value())
                    && v > 0
                {
                    out.push((name, v));
                }
            }
            out
        };
        for (name, v) in positive(resources.and_then(|r| r.requests.as_ref())) {
            *requests.entry(name).or_insert(0) += v;
        }
        let found = positive(resources.and_then(|r| r.limits.as_ref()));
        if found.len() < 2 {
            guaranteed = false;
        }
        for (name, v) in found {
            *limits.entry(name).or_insert(0) += v;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return QOS_BEST_EFFORT;
    }
    if guaranteed
        && requests.iter().all(|(k, v)| limits.get(k) == Some(v))
        && requests.len() == limits.len()
    {
        QOS_GUARANTEED
    } else {
        QOS_BURSTABLE
    }
}

/// Upstream pod `PrepareForCreate`: status reset to phase Pending with the QoS class, a
/// SchedulingGated condition when gates are present, generation 1 (pod generation tracking).
pub fn pod_prepare_for_create(pod: &mut Pod) {
    let default_spec = PodSpec::default();
    let spec = pod.spec.as_ref().unwrap_or(&default_spec);
    let mut status = k8s_openapi::api::core::v1::PodStatus {
        phase: Some(POD_PENDING.to_string()),
        qos_class: Some(pod_qos_class(spec).to_string()),
        ..Default::default()
    };
    if spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|g| !g.is_empty())
    {
        status.conditions = Some(vec![PodCondition {
            type_: POD_SCHEDULED.to_string(),
            status: "False".to_string(),
            reason: Some(POD_REASON_SCHEDULING_GATED.to_string()),
            message: Some(SCHEDULING_GATED_MESSAGE.to_string()),
            ..Default::default()
        }]);
    }
    pod.status = Some(status);
    pod.metadata.generation = Some(1);
}

/// Upstream pod `PrepareForUpdate`: status comes from the stored pod; generation bumps when the
/// spec changed (or the deletion grace period did).
pub fn pod_prepare_for_update(new: &mut Pod, old: &Pod) {
    new.status.clone_from(&old.status);
    let changed = !semantic_eq(&new.spec, &old.spec)
        || new.metadata.deletion_grace_period_seconds != old.metadata.deletion_grace_period_seconds;
    new.metadata.generation = Some(generation_on_update(
        changed,
        old.metadata.generation.unwrap_or(0),
    ));
}

/// Upstream pod status strategy `PrepareForUpdate`: spec from the stored pod.
pub fn pod_prepare_for_status_update(new: &mut Pod, old: &Pod) {
    new.spec.clone_from(&old.spec);
    new.metadata.generation = old.metadata.generation;
}

// === Node, Namespace ===

/// Upstream node `PrepareForCreate`: nodes may set all fields (status included) on create, so
/// nothing is reset; nodes carry no generation.
pub fn node_prepare_for_create(node: &mut Node) {
    let _ = node;
}

/// Upstream node `PrepareForUpdate`: status comes from the stored node.
pub fn node_prepare_for_update(new: &mut Node, old: &Node) {
    new.status.clone_from(&old.status);
}

/// Upstream namespace `PrepareForCreate`: phase Active and the `kubernetes` finalizer ensured.
pub fn namespace_prepare_for_create(ns: &mut Namespace) {
    ns.status = Some(k8s_openapi::api::core::v1::NamespaceStatus {
        phase: Some(crate::defaults::NAMESPACE_ACTIVE.to_string()),
        ..Default::default()
    });
    let finalizers = ns
        .spec
        .get_or_insert_with(Default::default)
        .finalizers
        .get_or_insert_with(Vec::new);
    if !finalizers.iter().any(|f| f == FINALIZER_KUBERNETES) {
        finalizers.push(FINALIZER_KUBERNETES.to_string());
    }
    namespace_canonicalize(ns);
}

/// Upstream namespace `Canonicalize`: the `kubernetes.io/metadata.name` label always equals the
/// name (covers names produced from generateName after defaulting ran).
pub fn namespace_canonicalize(ns: &mut Namespace) {
    if let Some(name) = ns.metadata.name.clone() {
        ns.metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(crate::defaults::NAMESPACE_NAME_LABEL.to_string(), name);
    }
}

/// Upstream namespace `PrepareForUpdate`: spec (finalizers) and status come from the stored object.
pub fn namespace_prepare_for_update(new: &mut Namespace, old: &Namespace) {
    new.spec.clone_from(&old.spec);
    new.status.clone_from(&old.status);
    namespace_canonicalize(new);
}

#[cfg(test)]
mod tests;
