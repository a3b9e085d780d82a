//! ObjectMeta, label, annotation and selector validation, plus the small kinds (Namespace, Node, ConfigMap, Lease, Event).
//!
//! Follows upstream `apimachinery/pkg/api/validation/objectmeta.go`, `apis/meta/v1/validation`
//! and the per-kind validators of `pkg/apis/core/validation` / `pkg/apis/coordination/validation`.

use std::collections::BTreeMap;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};

use super::{FIELD_IMMUTABLE, FieldError, Path, nonnegative, q};
use crate::keys::{FINALIZER_FOREGROUND_DELETION, FINALIZER_KUBERNETES, FINALIZER_ORPHAN};
use crate::labels::{
    is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_label_value, max_len_error,
    regex_error,
};

/// Upstream `TotalAnnotationSizeLimitB` (256 KiB).
pub const TOTAL_ANNOTATION_SIZE_LIMIT: usize = 256 * 1024;
/// Upstream `MaxSecretSize`, also the ConfigMap limit (1 MiB).
pub const MAX_CONFIGMAP_SIZE: usize = 1024 * 1024;

/// Which name rule a kind uses (upstream `ValidateNameFunc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectName {
    /// `NameIsDNSSubdomain` — most kinds (DaemonSet, Pod, Node, ConfigMap, Lease, …).
    Subdomain,
    /// `NameIsDNSLabel` — Namespace.
    Label,
    /// `path.IsValidPathSegmentName` — RBAC roles and bindings (upstream `minimalNameRequirements`,
    /// which ignores the generateName prefix flag).
    PathSegment,
}

impl ObjectName {
    /// Upstream name functions: with `prefix` (a generateName) a trailing dash is allowed.
    fn check(self, name: &str, prefix: bool) -> Vec<String> {
        if self == ObjectName::PathSegment {
            return path_segment_name(name);
        }
        let masked;
        let name = if prefix && name.ends_with('-') {
            masked = format!("{}a", &name[..name.len() - 1]);
            masked.as_str()
        } else {
            name
        };
        match self {
            ObjectName::Subdomain => is_dns1123_subdomain(name),
            ObjectName::Label => is_dns1123_label(name),
            ObjectName::PathSegment => path_segment_name(name),
        }
    }
}

/// Upstream `path.IsValidPathSegmentName`: the name must survive as one URL path segment.
pub(crate) fn path_segment_name(name: &str) -> Vec<String> {
    for illegal in [".", ".."] {
        if name == illegal {
            return vec![format!("may not be '{illegal}'")];
        }
    }
    ["/", "%"]
        .into_iter()
        .filter(|illegal| name.contains(illegal))
        .map(|illegal| format!("may not contain '{illegal}'"))
        .collect()
}

/// Upstream core `ValidateObjectMeta` for create with DNS-subdomain names (see [`object_meta_with`]).
pub fn object_meta(meta: &ObjectMeta, namespaced: bool) -> Vec<FieldError> {
    object_meta_with(meta, namespaced, ObjectName::Subdomain)
}

/// Upstream core `ValidateObjectMeta`: generateName/name, namespace presence, generation,
/// labels, annotations, ownerReferences and finalizers. Expects the name already generated.
pub fn object_meta_with(meta: &ObjectMeta, namespaced: bool, rule: ObjectName) -> Vec<FieldError> {
    let path = Path::new("metadata");
    let mut errs = Vec::new();
    if let Some(generate) = meta.generate_name.as_deref().filter(|g| !g.is_empty()) {
        let p = path.child("generateName");
        for msg in rule.check(generate, true) {
            errs.push(FieldError::invalid(p.as_str(), q(generate), &msg));
        }
    }
    let name = meta.name.as_deref().unwrap_or("");
    if name.is_empty() {
        errs.push(FieldError::required(
            path.child("name").as_str(),
            "name or generateName is required",
        ));
    } else {
        for msg in rule.check(name, false) {
            errs.push(FieldError::invalid(
                path.child("name").as_str(),
                q(name),
                &msg,
            ));
        }
    }
    let namespace = meta.namespace.as_deref().unwrap_or("");
    if namespaced {
        if namespace.is_empty() {
            errs.push(FieldError::required(path.child("namespace").as_str(), ""));
        } else {
            for msg in ObjectName::Label.check(namespace, false) {
                errs.push(FieldError::invalid(
                    path.child("namespace").as_str(),
                    q(namespace),
                    &msg,
                ));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            path.child("namespace").as_str(),
            "not allowed on this type",
        ));
    }
    errs.extend(meta_common(meta, &path));
    errs
}

/// The part of ObjectMeta validation shared by create and update.
fn meta_common(meta: &ObjectMeta, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    nonnegative(
        meta.generation.unwrap_or(0),
        &path.child("generation"),
        &mut errs,
    );
    errs.extend(labels_at(meta.labels.as_ref(), &path.child("labels")));
    errs.extend(annotations_at(
        meta.annotations.as_ref(),
        &path.child("annotations"),
    ));
    errs.extend(owner_references(
        meta.owner_references.as_deref().unwrap_or_default(),
        &path.child("ownerReferences"),
    ));
    errs.extend(finalizers(
        meta.finalizers.as_deref().unwrap_or_default(),
        &path.child("finalizers"),
    ));
    errs
}

/// Upstream `ValidateObjectMetaUpdate`. `resourceVersion` must be set: the API server copies the
/// stored one in first for kinds allowing unconditional updates (DaemonSet, Pod, …; spec §3.4).
pub fn object_meta_update(new: &ObjectMeta, old: &ObjectMeta) -> Vec<FieldError> {
    let path = Path::new("metadata");
    let mut errs = Vec::new();
    if old.deletion_timestamp.is_some() {
        let old_f = old.finalizers.as_deref().unwrap_or_default();
        let mut extra: Vec<&String> = new
            .finalizers
            .iter()
            .flatten()
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let list: Vec<String> = extra.iter().map(|f| q(f)).collect();
            errs.push(FieldError::forbidden(
                path.child("finalizers").as_str(),
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    list.join(", ")
                ),
            ));
        }
    }
    if new.resource_version.as_deref().unwrap_or("").is_empty() {
        errs.push(FieldError::invalid(
            path.child("resourceVersion").as_str(),
            q(""),
            "must be specified for an update",
        ));
    }
    let (new_gen, old_gen) = (new.generation.unwrap_or(0), old.generation.unwrap_or(0));
    if new_gen < old_gen {
        errs.push(FieldError::invalid(
            path.child("generation").as_str(),
            new_gen.to_string(),
            "must not be decremented",
        ));
    }
    let immutable_str = |field: &str, n: &Option<String>, o: &Option<String>, errs: &mut Vec<_>| {
        let (n, o) = (n.as_deref().unwrap_or(""), o.as_deref().unwrap_or(""));
        if n != o {
            errs.push(FieldError::invalid(
                path.child(field).as_str(),
                q(n),
                FIELD_IMMUTABLE,
            ));
        }
    };
    immutable_str("name", &new.name, &old.name, &mut errs);
    immutable_str("namespace", &new.namespace, &old.namespace, &mut errs);
    immutable_str("uid", &new.uid, &old.uid, &mut errs);
    let time = |t: &Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>| {
        t.as_ref().map(|t| go_time(&t.0))
    };
    if new.creation_timestamp != old.creation_timestamp {
        let v =
            time(&new.creation_timestamp).unwrap_or_else(|| "0001-01-01 00:00:00 +0000 UTC".into());
        errs.push(FieldError::invalid(
            path.child("creationTimestamp").as_str(),
            v,
            FIELD_IMMUTABLE,
        ));
    }
    if new.deletion_timestamp != old.deletion_timestamp {
        let v = time(&new.deletion_timestamp).unwrap_or_else(|| "null".into());
        errs.push(FieldError::invalid(
            path.child("deletionTimestamp").as_str(),
            v,
            FIELD_IMMUTABLE,
        ));
    }
    if new.deletion_grace_period_seconds != old.deletion_grace_period_seconds {
        let v = new
            .deletion_grace_period_seconds
            .map_or_else(|| "null".to_string(), |s| s.to_string());
        errs.push(FieldError::invalid(
            path.child("deletionGracePeriodSeconds").as_str(),
            v,
            FIELD_IMMUTABLE,
        ));
    }
    errs.extend(labels_at(new.labels.as_ref(), &path.child("labels")));
    errs.extend(annotations_at(
        new.annotations.as_ref(),
        &path.child("annotations"),
    ));
    errs.extend(owner_references(
        new.owner_references.as_deref().unwrap_or_default(),
        &path.child("ownerReferences"),
    ));
    errs.extend(finalizers(
        new.finalizers.as_deref().unwrap_or_default(),
        &path.child("finalizers"),
    ));
    errs
}

/// Go's `time.Time.String()` for a UTC instant (`2006-01-02 15:04:05 +0000 UTC`).
fn go_time(t: &jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()
}

/// Upstream `ValidateLabels` at `path` (keys visited in sorted order for stable output).
pub fn labels(labels: Option<&BTreeMap<String, String>>, path: &str) -> Vec<FieldError> {
    labels_at(labels, &Path::new(path))
}

pub(crate) fn labels_at(labels: Option<&BTreeMap<String, String>>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in labels.into_iter().flatten() {
        label_name(k, path, &mut errs);
        for msg in is_valid_label_value(v) {
            errs.push(FieldError::invalid(path.as_str(), q(v), &msg));
        }
    }
    errs
}

/// Upstream `ValidateLabelName`.
pub(crate) fn label_name(key: &str, path: &Path, errs: &mut Vec<FieldError>) {
    for msg in is_qualified_name(key) {
        errs.push(FieldError::invalid(path.as_str(), q(key), &msg));
    }
}

/// Upstream `ValidateAnnotations` at `path`: case-insensitive qualified keys, 256 KiB in total.
pub fn annotations(annotations: Option<&BTreeMap<String, String>>, path: &str) -> Vec<FieldError> {
    annotations_at(annotations, &Path::new(path))
}

pub(crate) fn annotations_at(
    annotations: Option<&BTreeMap<String, String>>,
    path: &Path,
) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for (k, v) in annotations.into_iter().flatten() {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path.as_str(), q(k), &msg));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_LIMIT {
        errs.push(FieldError::too_long(
            path.as_str(),
            TOTAL_ANNOTATION_SIZE_LIMIT,
        ));
    }
    errs
}

fn owner_references(refs: &[OwnerReference], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut first_controller: Option<String> = None;
    for r in refs {
        let version = r.api_version.rsplit('/').next().unwrap_or("");
        if version.is_empty() {
            errs.push(FieldError::invalid(
                path.child("apiVersion").as_str(),
                q(&r.api_version),
                "version must not be empty",
            ));
        }
        for (field, value) in [("kind", &r.kind), ("name", &r.name), ("uid", &r.uid)] {
            if value.is_empty() {
                errs.push(FieldError::invalid(
                    path.child(field).as_str(),
                    q(""),
                    "must not be empty",
                ));
            }
        }
        if r.controller == Some(true) {
            let this = format!("{}/{}", r.kind, r.name);
            match &first_controller {
                Some(first) => errs.push(FieldError::invalid(
                    path.as_str(),
                    "[]v1.OwnerReference{...}",
                    &format!(
                        "Only one reference can have Controller set to true. Found \"true\" in references for {first} and {this}"
                    ),
                )),
                None => first_controller = Some(this),
            }
        }
    }
    errs
}

/// Upstream `ValidateFinalizers` plus core's `validateKubeFinalizerName`.
fn finalizers(finalizers: &[String], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in finalizers {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(path.as_str(), q(f), &msg));
        }
    }
    if finalizers.iter().any(|f| f == FINALIZER_ORPHAN)
        && finalizers
            .iter()
            .any(|f| f == FINALIZER_FOREGROUND_DELETION)
    {
        errs.push(FieldError::invalid(
            path.as_str(),
            super::go_string_slice(Some(finalizers)),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
    for (i, f) in finalizers.iter().enumerate() {
        let standard = [
            FINALIZER_KUBERNETES,
            FINALIZER_ORPHAN,
            FINALIZER_FOREGROUND_DELETION,
        ];
        if !f.contains('/') && !standard.contains(&f.as_str()) {
            errs.push(FieldError::invalid(
                path.index(i).as_str(),
                q(f),
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

/// Upstream `metav1.LabelSelector.String()` (gogo-protobuf form), used when a selector is the
/// bad value of an error: `&LabelSelector{MatchLabels:map[string]string{a: b,},MatchExpressions:[]LabelSelectorRequirement{},}`.
pub fn selector_string(s: &LabelSelector) -> String {
    let mut labels = String::from("map[string]string{");
    for (k, v) in s.match_labels.iter().flatten() {
        labels.push_str(&format!("{k}: {v},"));
    }
    labels.push('}');
    let mut exprs = String::from("[]LabelSelectorRequirement{");
    for e in s.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or_default().join(" ");
        exprs.push_str(&format!(
            "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{values}],}},",
            e.key, e.operator
        ));
    }
    exprs.push('}');
    format!("&LabelSelector{{MatchLabels:{labels},MatchExpressions:{exprs},}}")
}

/// Upstream `ValidateLabelSelector` (nil selector → no errors).
pub fn label_selector(selector: Option<&LabelSelector>, path: &str) -> Vec<FieldError> {
    let Some(selector) = selector else {
        return Vec::new();
    };
    let path = Path::new(path);
    let mut errs = labels_at(selector.match_labels.as_ref(), &path.child("matchLabels"));
    for (i, expr) in selector.match_expressions.iter().flatten().enumerate() {
        let p = path.child("matchExpressions").index(i);
        let values = expr.values.as_deref().unwrap_or_default();
        match expr.operator.as_str() {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(FieldError::required(
                        p.child("values").as_str(),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(FieldError::forbidden(
                        p.child("values").as_str(),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            other => errs.push(FieldError::invalid(
                p.child("operator").as_str(),
                q(other),
                "not a valid selector operator",
            )),
        }
        label_name(&expr.key, &p.child("key"), &mut errs);
        for (vi, v) in values.iter().enumerate() {
            for msg in is_valid_label_value(v) {
                errs.push(FieldError::invalid(
                    p.child("values").index(vi).as_str(),
                    q(v),
                    &msg,
                ));
            }
        }
    }
    errs
}

/// Upstream `ValidateNamespace`: DNS-1123 label name, cluster-scoped, qualified spec finalizers.
pub fn namespace(ns: &Namespace) -> Vec<FieldError> {
    let mut errs = object_meta_with(&ns.metadata, false, ObjectName::Label);
    let path = Path::new("spec").child("finalizers");
    for f in ns.spec.iter().flat_map(|s| s.finalizers.iter().flatten()) {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(path.as_str(), q(f), &msg));
        }
        // Upstream validateFinalizerName: a name without a domain must be a standard one.
        if !f.contains('/') && f != FINALIZER_KUBERNETES {
            errs.push(FieldError::invalid(
                path.as_str(),
                q(f),
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

/// Upstream `ValidateNamespaceUpdate` (spec and status are reset from the old object by the strategy).
pub fn namespace_update(new: &Namespace, old: &Namespace) -> Vec<FieldError> {
    object_meta_update(&new.metadata, &old.metadata)
}

/// Upstream `ValidateNode` (subset): cluster-scoped subdomain name and taints.
pub fn node(node: &Node) -> Vec<FieldError> {
    let mut errs = object_meta(&node.metadata, false);
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    errs.extend(node_taints(taints, &Path::new("spec").child("taints")));
    errs
}

/// Upstream `ValidateNodeUpdate` (subset): metadata rules and taints.
pub fn node_update(new: &Node, old: &Node) -> Vec<FieldError> {
    let mut errs = object_meta_update(&new.metadata, &old.metadata);
    let taints = new
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    errs.extend(node_taints(taints, &Path::new("spec").child("taints")));
    errs
}

/// Supported taint effects in upstream's order.
pub(crate) const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Upstream `validateTaintEffect`.
pub(crate) fn taint_effect(
    effect: &str,
    allow_empty: bool,
    path: &Path,
    errs: &mut Vec<FieldError>,
) {
    if effect.is_empty() {
        if !allow_empty {
            errs.push(FieldError::required(path.as_str(), ""));
        }
        return;
    }
    if !TAINT_EFFECTS.contains(&effect) {
        errs.push(FieldError::not_supported(
            path.as_str(),
            q(effect),
            &TAINT_EFFECTS,
        ));
    }
}

fn node_taints(taints: &[Taint], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (i, t) in taints.iter().enumerate() {
        let p = path.index(i);
        label_name(&t.key, &p.child("key"), &mut errs);
        let value = t.value.as_deref().unwrap_or("");
        let value_errs = is_valid_label_value(value);
        if !value_errs.is_empty() {
            errs.push(FieldError::invalid(
                p.child("value").as_str(),
                q(value),
                &value_errs.join(";"),
            ));
        }
        taint_effect(&t.effect, false, &p.child("effect"), &mut errs);
        if seen.contains(&(t.key.as_str(), t.effect.as_str())) {
            let mut e = FieldError::duplicate(
                p.as_str(),
                format!(
                    "core.Taint{{Key:{}, Value:{}, Effect:{}, TimeAdded:<nil>}}",
                    q(&t.key),
                    q(value),
                    q(&t.effect)
                ),
            );
            e.message
                .push_str(": taints must be unique by key and effect pair");
            errs.push(e);
            continue;
        }
        seen.push((&t.key, &t.effect));
    }
    errs
}

/// Upstream `ValidateConfigMap`: namespaced subdomain name, config keys, no key in both maps, 1 MiB.
pub fn configmap(cm: &ConfigMap) -> Vec<FieldError> {
    let mut errs = object_meta(&cm.metadata, true);
    let mut total = 0usize;
    for (k, v) in cm.data.iter().flatten() {
        let p = Path::new("data").key(k);
        for msg in config_key(k) {
            errs.push(FieldError::invalid(p.as_str(), q(k), &msg));
        }
        total += v.len();
    }
    for (k, v) in cm.binary_data.iter().flatten() {
        let p = Path::new("binaryData").key(k);
        for msg in config_key(k) {
            errs.push(FieldError::invalid(p.as_str(), q(k), &msg));
        }
        if cm.data.as_ref().is_some_and(|d| d.contains_key(k)) {
            errs.push(FieldError::invalid(
                p.as_str(),
                q(k),
                "duplicate of key present in data",
            ));
        }
        total += v.0.len();
    }
    if total > MAX_CONFIGMAP_SIZE {
        errs.push(FieldError::too_long("", MAX_CONFIGMAP_SIZE));
    }
    errs
}

/// Upstream `IsConfigMapKey`.
fn config_key(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > 253 {
        errs.push(max_len_error(253));
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        errs.push(regex_error(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            "[-._a-zA-Z0-9]+",
            &["key.name", "KEY_NAME", "key-name"],
        ));
    }
    if key == "." {
        errs.push("must not be '.'".into());
    } else if key == ".." {
        errs.push("must not be '..'".into());
    } else if key.starts_with("..") {
        errs.push("must not start with '..'".into());
    }
    errs
}

/// Upstream `ValidateLease` (subset): namespaced subdomain name, positive duration, non-negative transitions.
pub fn lease(lease: &Lease) -> Vec<FieldError> {
    let mut errs = object_meta(&lease.metadata, true);
    let spec = Path::new("spec");
    if let Some(s) = lease.spec.as_ref() {
        if let Some(d) = s.lease_duration_seconds
            && d <= 0
        {
            errs.push(FieldError::invalid(
                spec.child("leaseDurationSeconds").as_str(),
                d.to_string(),
                "must be greater than 0",
            ));
        }
        if let Some(t) = s.lease_transitions {
            nonnegative(i64::from(t), &spec.child("leaseTransitions"), &mut errs);
        }
    }
    errs
}

/// Upstream legacy `ValidateEventCreate` (subset): name, and the involved object's namespace
/// must match the event's (an empty one is allowed for `default` and cluster-scoped events).
pub fn event(ev: &Event) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = ev.metadata.name.as_deref().unwrap_or("");
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in is_dns1123_subdomain(name) {
            errs.push(FieldError::invalid("metadata.name", q(name), &msg));
        }
    }
    let ns = ev.metadata.namespace.as_deref().unwrap_or("");
    let involved = ev.involved_object.namespace.as_deref().unwrap_or("");
    let mismatch = if involved.is_empty() {
        !ns.is_empty() && ns != "default"
    } else {
        ns != involved
    };
    if mismatch {
        errs.push(FieldError::invalid(
            "involvedObject.namespace",
            q(involved),
            "does not match event.namespace",
        ));
    }
    for msg in is_dns1123_subdomain(ns) {
        errs.push(FieldError::invalid("metadata.namespace", q(ns), &msg));
    }
    errs
}
