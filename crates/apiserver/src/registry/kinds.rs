//! The rules table: for each served resource, how its objects are decoded, prepared and validated.

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod, ServiceAccount};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use serde_json::Value;

use super::decode::{Decoded, canonicalize};
use crate::error::Cause;
use crate::resources::Resource;

/// Facts admission needs from outside the object (upstream admission plugins read the cluster).
pub struct Admission<'a> {
    /// `tolerationSeconds` of the default not-ready/unreachable tolerations (upstream 300).
    pub default_toleration_seconds: i64,
    /// Looks up a PriorityClass: its value and preemption policy.
    pub priority_class: &'a (dyn Fn(&str) -> Option<(i32, Option<String>)> + Send + Sync),
}

type Prepare = fn(&mut Value, &Admission<'_>) -> Result<(), Vec<Cause>>;
type PrepareUpdate = fn(&mut Value, &Value) -> Result<(), Vec<Cause>>;

/// How one resource's writes are handled.
pub struct Rules {
    /// Typed decoding into the canonical stored form.
    pub decode: fn(Value) -> Result<Decoded, String>,
    /// Defaults, admission, strategy and validation of a create.
    pub create: Prepare,
    /// The same for an update of the main resource (status is kept from the old object).
    pub update: PrepareUpdate,
    /// An update through the `status` subresource (everything but status kept from the old object).
    pub status_update: PrepareUpdate,
}

fn no_create(_: &mut Value, _: &Admission<'_>) -> Result<(), Vec<Cause>> {
    Ok(())
}

fn no_update(_: &mut Value, _: &Value) -> Result<(), Vec<Cause>> {
    Ok(())
}

/// Main-resource updates of kinds with a status subresource cannot change status.
fn keep_status(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
    match old.get("status") {
        Some(status) => new["status"] = status.clone(),
        None => {
            if let Some(object) = new.as_object_mut() {
                object.remove("status");
            }
        }
    }
    Ok(())
}

/// Status updates change nothing but status (and keep the old metadata's labels etc.).
fn only_status(new: &mut Value, old: &Value) -> Result<(), Vec<Cause>> {
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
    Ok(())
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

rules_for!(NAMESPACES, Namespace, no_create, keep_status, only_status);
rules_for!(NODES, Node, no_create, keep_status, only_status);
rules_for!(PODS, Pod, no_create, keep_status, only_status);
rules_for!(EVENTS, Event, no_create, no_update, no_update);
rules_for!(
    SERVICE_ACCOUNTS,
    ServiceAccount,
    no_create,
    no_update,
    no_update
);
rules_for!(CONFIG_MAPS, ConfigMap, no_create, no_update, no_update);
rules_for!(DAEMON_SETS, DaemonSet, no_create, keep_status, only_status);
rules_for!(
    CONTROLLER_REVISIONS,
    ControllerRevision,
    no_create,
    no_update,
    no_update
);
rules_for!(LEASES, Lease, no_create, no_update, no_update);
rules_for!(
    PRIORITY_CLASSES,
    PriorityClass,
    no_create,
    no_update,
    no_update
);

/// The rules of a served resource.
pub fn rules(resource: &Resource) -> &'static Rules {
    match resource.storage {
        "namespaces" => &NAMESPACES,
        "nodes" => &NODES,
        "pods" => &PODS,
        "events" => &EVENTS,
        "serviceaccounts" => &SERVICE_ACCOUNTS,
        "configmaps" => &CONFIG_MAPS,
        "daemonsets.apps" => &DAEMON_SETS,
        "controllerrevisions.apps" => &CONTROLLER_REVISIONS,
        "leases.coordination.k8s.io" => &LEASES,
        _ => &PRIORITY_CLASSES,
    }
}
