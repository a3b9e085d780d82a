//! The rules table: for each served resource, how its objects are decoded, defaulted, admitted,
//! prepared (generation, status split) and validated on create, update and status update.
//!
//! The rules themselves are pure functions of `everynode-core`; this file picks them per kind
//! and runs them on the typed object.

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, Node, Pod, ServiceAccount, Taint, Toleration,
};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use everynode_core::validation::{self, FieldError};
use everynode_core::{defaults, keys, strategy};

use super::decode::{Decoded, canonicalize};
use crate::error::Cause;
use crate::resources::Resource;

/// Looks up a PriorityClass by name: its value and preemption policy.
pub type PriorityClassLookup = dyn Fn(&str) -> Option<(i32, Option<String>)> + Send + Sync;

/// Facts admission needs from outside the object (upstream admission plugins read the cluster).
pub struct Admission<'a> {
    /// `tolerationSeconds` of the default not-ready/unreachable tolerations (upstream 300).
    pub default_toleration_seconds: i64,
    /// Looks up a PriorityClass: its value and preemption policy.
    pub priority_class: &'a PriorityClassLookup,
}

type Prepare = fn(&mut Value, &Admission<'_>) -> Result<(), Vec<Cause>>;
type PrepareUpdate = fn(&mut Value, &Value) -> Result<(), Vec<Cause>>;

/// How one resource's writes are handled.
pub struct Rules {
    /// Typed decoding into the canonical stored form.
    pub decode: fn(Value) -> Result<Decoded, String>,
    /// Defaults, admission, strategy and validation of a create.
    pub create: Prepare,
    /// The same for an update of the main resource.
    pub update: PrepareUpdate,
    /// An update through the `status` subresource.
    pub status_update: PrepareUpdate,
}

/// Runs `rule` on the typed form of `value` and stores the result back.
pub(super) fn typed<K: Serialize + DeserializeOwned>(
    value: &mut Value,
    rule: impl FnOnce(&mut K) -> Vec<FieldError>,
) -> Result<(), Vec<Cause>> {
    let mut object: K = serde_json::from_value(value.clone()).map_err(decode_cause)?;
    let errors = rule(&mut object);
    if !errors.is_empty() {
        return Err(errors);
    }
    *value = serde_json::to_value(&object).map_err(decode_cause)?;
    Ok(())
}

/// Runs `rule` on the typed forms of the new and the stored object.
pub(super) fn typed_update<K: Serialize + DeserializeOwned>(
    new: &mut Value,
    old: &Value,
    rule: impl FnOnce(&mut K, &K) -> Vec<FieldError>,
) -> Result<(), Vec<Cause>> {
    let old: K = serde_json::from_value(old.clone()).map_err(decode_cause)?;
    typed(new, |new: &mut K| rule(new, &old))
}

fn decode_cause(error: serde_json::Error) -> Vec<Cause> {
    vec![FieldError::invalid("", "", &error.to_string())]
}

fn no_create(_: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    Ok(())
}

fn no_update(_: &mut Value, _: &Value) -> Result<(), Vec<Cause>> {
    Ok(())
}

/// Main-resource updates of kinds with a status subresource cannot change status.
pub(super) fn keep_status(new: &mut Value, old: &Value) {
    match old.get("status") {
        Some(status) => new["status"] = status.clone(),
        None => {
            if let Some(object) = new.as_object_mut() {
                object.remove("status");
            }
        }
    }
}

/// Status updates change nothing but status.
fn only_status(new: &mut Value, old: &Value) {
    let status = new.get("status").cloned();
    let mut result = old.clone();
    match status {
        Some(status) => result["status"] = status,
        None => {
            if let Some(object) = result.as_object_mut() {
                object.remove("status");
            }
        }
    }
    *new = result;
}

/// Whether the body named a selector at all: k8s-openapi reads a missing and an empty one
/// alike, upstream words the two errors differently (spec §3.3).
pub(super) fn has_selector(value: &Value) -> bool {
    value["spec"]["selector"]
        .as_object()
        .is_some_and(|s| !s.is_empty())
}

// === DaemonSets ===

fn daemon_set_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    let selector = has_selector(value);
    typed(value, |ds: &mut DaemonSet| {
        if let Err(e) = strategy::template_generation(ds) {
            return vec![FieldError::invalid("metadata.annotations", "", &e)];
        }
        defaults::daemon_set(ds);
        strategy::daemon_set_prepare_for_create(ds);
        validation::daemon_set_create_with_selector(ds, selector)
    })
}

fn daemon_set_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    let selector = has_selector(new);
    typed_update(new, old, |new: &mut DaemonSet, old| {
        defaults::daemon_set(new);
        strategy::daemon_set_prepare_for_update(new, old);
        validation::daemon_set_update_with_selector(new, old, selector)
    })
}

fn daemon_set_status_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut DaemonSet, old| {
        strategy::daemon_set_prepare_for_status_update(new, old);
        validation::daemon_set_status_update(new, old)
    })
}

// === Pods ===

/// Upstream `DefaultTolerationSeconds` admission: pods that do not tolerate not-ready and
/// unreachable NoExecute taints get tolerations for them, bounded by `seconds`.
fn add_default_tolerations(pod: &mut Pod, seconds: i64) {
    let Some(spec) = pod.spec.as_mut() else {
        return;
    };
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for key in [keys::TAINT_NODE_NOT_READY, keys::TAINT_NODE_UNREACHABLE] {
        let tolerated = tolerations.iter().any(|t| {
            let key_matches = t.key.as_deref().is_none_or(|k| k.is_empty() || k == key);
            let effect_matches = t
                .effect
                .as_deref()
                .is_none_or(|e| e.is_empty() || e == keys::EFFECT_NO_EXECUTE);
            key_matches && effect_matches
        });
        if !tolerated {
            tolerations.push(Toleration {
                key: Some(key.to_owned()),
                operator: Some("Exists".to_owned()),
                effect: Some(keys::EFFECT_NO_EXECUTE.to_owned()),
                toleration_seconds: Some(seconds),
                value: None,
            });
        }
    }
}

/// Upstream `Priority` admission: the pod's priority comes from its PriorityClass (0 without one).
fn admit_priority(pod: &mut Pod, admission: &Admission<'_>) -> Vec<FieldError> {
    let Some(spec) = pod.spec.as_mut() else {
        return Vec::new();
    };
    let (value, policy) = match spec
        .priority_class_name
        .as_deref()
        .filter(|n| !n.is_empty())
    {
        None => (0, None),
        Some(class) => match (admission.priority_class)(class) {
            Some(found) => found,
            None => {
                return vec![FieldError::not_found("spec.priorityClassName", class)];
            }
        },
    };
    if spec.priority.is_some_and(|p| p != value) {
        return vec![FieldError::forbidden(
            "spec.priority",
            "the integer value of priority must not be provided in pod spec; priority admission controller computed the value from the given PriorityClass name",
        )];
    }
    spec.priority = Some(value);
    if spec.preemption_policy.is_none() {
        spec.preemption_policy = Some(policy.unwrap_or_else(|| "PreemptLowerPriority".to_owned()));
    }
    Vec::new()
}

fn pod_create(value: &mut Value, admission: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |pod: &mut Pod| {
        defaults::pod(pod);
        strategy::pod_prepare_for_create(pod);
        // Upstream ServiceAccount admission: every pod runs as some account.
        if let Some(spec) = pod.spec.as_mut() {
            let account = spec
                .service_account_name
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "default".to_owned());
            spec.service_account_name = Some(account.clone());
            spec.service_account = Some(account);
        }
        add_default_tolerations(pod, admission.default_toleration_seconds);
        let mut errors = admit_priority(pod, admission);
        errors.extend(validation::pod_create(pod));
        errors
    })
}

fn pod_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut Pod, old| {
        defaults::pod(new);
        strategy::pod_prepare_for_update(new, old);
        validation::pod_update(new, old)
    })
}

fn pod_status_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut Pod, old| {
        strategy::pod_prepare_for_status_update(new, old);
        Vec::new()
    })
}

// === Nodes ===

fn node_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |node: &mut Node| {
        defaults::node(node);
        strategy::node_prepare_for_create(node);
        // Upstream `TaintNodesByCondition` admission: a new node is not-ready until its
        // kubelet says otherwise; the node lifecycle controller removes the taint.
        let spec = node.spec.get_or_insert_with(Default::default);
        let taints = spec.taints.get_or_insert_with(Vec::new);
        let not_ready =
            |t: &Taint| t.key == keys::TAINT_NODE_NOT_READY && t.effect == keys::EFFECT_NO_SCHEDULE;
        if !taints.iter().any(not_ready) {
            taints.push(Taint {
                key: keys::TAINT_NODE_NOT_READY.to_owned(),
                effect: keys::EFFECT_NO_SCHEDULE.to_owned(),
                time_added: None,
                value: None,
            });
        }
        validation::node(node)
    })
}

fn node_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    keep_status(new, old);
    typed_update(new, old, |new: &mut Node, old| {
        defaults::node(new);
        strategy::node_prepare_for_update(new, old);
        validation::node_update(new, old)
    })
}

// === Namespaces ===

fn namespace_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |ns: &mut Namespace| {
        defaults::namespace(ns);
        strategy::namespace_prepare_for_create(ns);
        validation::namespace(ns)
    })
}

fn namespace_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    keep_status(new, old);
    typed_update(new, old, |new: &mut Namespace, old| {
        strategy::namespace_prepare_for_update(new, old);
        validation::namespace_update(new, old)
    })
}

fn status_only(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    only_status(new, old);
    Ok(())
}

// === Kinds validated only by their metadata and own rules ===

fn controller_revision_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |cr: &mut ControllerRevision| {
        validation::controller_revision(cr)
    })
}

fn controller_revision_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut ControllerRevision, old| {
        validation::controller_revision_update(new, old)
    })
}

fn config_map_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |cm: &mut ConfigMap| validation::configmap(cm))
}

fn config_map_update(new: &mut Value, _: &Value) -> Result<(), Vec<Cause>> {
    typed(new, |cm: &mut ConfigMap| validation::configmap(cm))
}

fn lease_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |lease: &mut Lease| validation::lease(lease))
}

fn lease_update(new: &mut Value, _: &Value) -> Result<(), Vec<Cause>> {
    typed(new, |lease: &mut Lease| validation::lease(lease))
}

fn event_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |event: &mut Event| validation::event(event))
}

fn event_update(new: &mut Value, _: &Value) -> Result<(), Vec<Cause>> {
    typed(new, |event: &mut Event| validation::event(event))
}

fn service_account_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |sa: &mut ServiceAccount| {
        validation::object_meta(&sa.metadata, true)
    })
}

fn priority_class_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |pc: &mut PriorityClass| {
        if pc.preemption_policy.is_none() {
            pc.preemption_policy = Some("PreemptLowerPriority".to_owned());
        }
        validation::object_meta(&pc.metadata, false)
    })
}

// === RBAC: stored and validated, never enforced ===

fn role_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |role: &mut Role| validation::role(role))
}

fn role_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut Role, old| {
        validation::role_update(new, old)
    })
}

fn cluster_role_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |role: &mut ClusterRole| {
        validation::cluster_role(role)
    })
}

fn cluster_role_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut ClusterRole, old| {
        validation::cluster_role_update(new, old)
    })
}

fn role_binding_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |binding: &mut RoleBinding| {
        defaults::role_binding(binding);
        validation::role_binding(binding)
    })
}

fn role_binding_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut RoleBinding, old| {
        defaults::role_binding(new);
        validation::role_binding_update(new, old)
    })
}

fn cluster_role_binding_create(value: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    typed(value, |binding: &mut ClusterRoleBinding| {
        defaults::cluster_role_binding(binding);
        validation::cluster_role_binding(binding)
    })
}

fn cluster_role_binding_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    typed_update(new, old, |new: &mut ClusterRoleBinding, old| {
        defaults::cluster_role_binding(new);
        validation::cluster_role_binding_update(new, old)
    })
}

fn daemon_set_main_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    keep_status(new, old);
    daemon_set_update(new, old)
}

fn pod_main_update(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    keep_status(new, old);
    pod_update(new, old)
}

macro_rules! rules_for {
    ($name:ident, $kind:ty, $create:expr, $update:expr, $status:expr) => {
        static $name: Rules = Rules {
            decode: canonicalize::<$kind>,
            create: $create,
            update: $update,
            status_update: $status,
        };
    };
}

rules_for!(
    NAMESPACES,
    Namespace,
    namespace_create,
    namespace_update,
    status_only
);
rules_for!(NODES, Node, node_create, node_update, status_only);
rules_for!(PODS, Pod, pod_create, pod_main_update, pod_status_update);
rules_for!(EVENTS, Event, event_create, event_update, no_update);
rules_for!(
    SERVICE_ACCOUNTS,
    ServiceAccount,
    service_account_create,
    no_update,
    no_update
);
rules_for!(
    CONFIG_MAPS,
    ConfigMap,
    config_map_create,
    config_map_update,
    no_update
);
rules_for!(
    DAEMON_SETS,
    DaemonSet,
    daemon_set_create,
    daemon_set_main_update,
    daemon_set_status_update
);
rules_for!(
    CONTROLLER_REVISIONS,
    ControllerRevision,
    controller_revision_create,
    controller_revision_update,
    no_update
);
rules_for!(LEASES, Lease, lease_create, lease_update, no_update);
rules_for!(
    PRIORITY_CLASSES,
    PriorityClass,
    priority_class_create,
    no_update,
    no_update
);
rules_for!(ROLES, Role, role_create, role_update, no_update);
rules_for!(
    CLUSTER_ROLES,
    ClusterRole,
    cluster_role_create,
    cluster_role_update,
    no_update
);
rules_for!(
    ROLE_BINDINGS,
    RoleBinding,
    role_binding_create,
    role_binding_update,
    no_update
);
rules_for!(
    CLUSTER_ROLE_BINDINGS,
    ClusterRoleBinding,
    cluster_role_binding_create,
    cluster_role_binding_update,
    no_update
);
rules_for!(UNCHECKED, Value, no_create, no_update, no_update);

/// The rules of a served resource.
pub fn rules(resource: &Resource) -> &'static Rules {
    match resource.storage {
        "namespaces" => &NAMESPACES,
        "nodes" => &NODES,
        "pods" => &PODS,
        "events" | "events.events.k8s.io" => &EVENTS,
        "serviceaccounts" => &SERVICE_ACCOUNTS,
        "configmaps" => &CONFIG_MAPS,
        "daemonsets.apps" => &DAEMON_SETS,
        "controllerrevisions.apps" => &CONTROLLER_REVISIONS,
        "leases.coordination.k8s.io" => &LEASES,
        "priorityclasses.scheduling.k8s.io" => &PRIORITY_CLASSES,
        "roles.rbac.authorization.k8s.io" => &ROLES,
        "clusterroles.rbac.authorization.k8s.io" => &CLUSTER_ROLES,
        "rolebindings.rbac.authorization.k8s.io" => &ROLE_BINDINGS,
        "clusterrolebindings.rbac.authorization.k8s.io" => &CLUSTER_ROLE_BINDINGS,
        "deployments.apps" => &super::workloads::DEPLOYMENTS,
        "replicasets.apps" => &super::workloads::REPLICA_SETS,
        _ => &UNCHECKED,
    }
}
