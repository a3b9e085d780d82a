//! What kube-apiserver and its built-in controllers provide from the first start: the standard
//! namespaces and priority classes, each namespace's `default` ServiceAccount and
//! `kube-root-ca.crt` ConfigMap, and namespace deletion (content first, then the namespace).

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::ApiService;
use crate::http::delete::{DeleteOptions, Propagation};
use crate::resources::{self, RESOURCES, Resource};
use crate::store::{EventType, Key, WatchOutcome};

/// Namespaces every cluster has (upstream creates them at start).
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// The namespace finalizer the namespace controller removes once the namespace is empty.
const NAMESPACE_FINALIZER: &str = "kubernetes";
const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";

fn resource(plural: &str, group: &str) -> Result<&'static Resource, ApiError> {
    RESOURCES
        .iter()
        .find(|r| r.plural == plural && r.group == group)
        .ok_or_else(|| ApiError::internal(format!("{plural} are not served")))
}

/// Creates `object` unless it exists.
async fn ensure(
    service: &ApiService,
    resource: &'static Resource,
    namespace: Option<&str>,
    object: Value,
) -> Result<(), ApiError> {
    let api = service.api();
    let (decoded, _) = api.decode(resource, object, &Default::default())?;
    match api.create_object(resource, namespace, decoded, false).await {
        Ok(_) => Ok(()),
        Err(e) if e.code == 409 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates the standard namespaces, priority classes and per-namespace objects.
pub async fn bootstrap(service: &ApiService, ca_pem: &str) -> Result<(), ApiError> {
    let namespaces = resource("namespaces", "")?;
    for name in SYSTEM_NAMESPACES {
        ensure(
            service,
            namespaces,
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        )
        .await?;
    }
    let classes = resource("priorityclasses", "scheduling.k8s.io")?;
    for (name, value, description) in [
        (
            "system-node-critical",
            2_000_001_000,
            "Used for system critical pods that must not be moved from their current node.",
        ),
        (
            "system-cluster-critical",
            2_000_000_000,
            "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
        ),
    ] {
        ensure(
            service,
            classes,
            None,
            json!({
                "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name}, "value": value, "description": description,
                "preemptionPolicy": "PreemptLowerPriority",
            }),
        )
        .await?;
    }
    let listing = service
        .store()
        .list(namespaces.storage, None, None, 0, |_| true);
    for ns in &listing.items {
        populate_namespace(service, &ns.name, ca_pem).await?;
    }
    Ok(())
}

/// The `default` ServiceAccount and the root CA ConfigMap every namespace gets.
async fn populate_namespace(
    service: &ApiService,
    namespace: &str,
    ca_pem: &str,
) -> Result<(), ApiError> {
    ensure(
        service,
        resource("serviceaccounts", "")?,
        Some(namespace),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}}),
    )
    .await?;
    ensure(
        service,
        resource("configmaps", "")?,
        Some(namespace),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": namespace},
            "data": {"ca.crt": ca_pem},
        }),
    )
    .await
}

/// Runs the namespace controller until the store closes.
pub fn spawn(service: ApiService, ca_pem: String) {
    tokio::spawn(async move {
        let mut watcher = match service.store().watch(None) {
            Ok(watcher) => watcher,
            Err(_) => return,
        };
        let mut terminating: HashSet<String> = HashSet::new();
        // Namespaces already terminating at start are finished first.
        let namespaces = service.store().list("namespaces", None, None, 0, |_| true);
        for ns in &namespaces.items {
            if !ns.value()["metadata"]["deletionTimestamp"].is_null() {
                terminating.insert(ns.name.clone());
            }
        }
        loop {
            for namespace in terminating.clone() {
                match finish_namespace(&service, &namespace).await {
                    Ok(true) => {
                        terminating.remove(&namespace);
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(%namespace, "namespace cleanup failed: {e}"),
                }
            }
            let events = match watcher.next().await {
                WatchOutcome::Events(events) => events,
                WatchOutcome::Expired { .. } => match service.store().watch(None) {
                    Ok(fresh) => {
                        watcher = fresh;
                        continue;
                    }
                    Err(_) => return,
                },
                WatchOutcome::Closed => return,
            };
            for event in events {
                let object = &event.object;
                if object.resource != "namespaces" {
                    continue;
                }
                let value = object.value();
                if event.event == EventType::Added
                    && let Err(e) = populate_namespace(&service, &object.name, &ca_pem).await
                {
                    tracing::warn!(namespace = %object.name, "failed to populate namespace: {e}");
                }
                if event.event != EventType::Deleted
                    && !value["metadata"]["deletionTimestamp"].is_null()
                {
                    terminating.insert(object.name.clone());
                }
            }
        }
    });
}

/// Deletes what is left in a terminating namespace; once it is empty, removes the `kubernetes`
/// finalizer (the store then removes the namespace). Returns whether the namespace is finished.
async fn finish_namespace(service: &ApiService, namespace: &str) -> Result<bool, ApiError> {
    let api = service.api();
    let store = service.store();
    let namespaces = resource("namespaces", "")?;
    let mut remaining = 0;
    for resource in RESOURCES.iter().filter(|r| r.namespaced && !r.is_alias()) {
        let listing = store.list(resource.storage, Some(namespace), None, 0, |_| true);
        for object in &listing.items {
            remaining += 1;
            let value = object.value();
            if !value["metadata"]["deletionTimestamp"].is_null() {
                continue;
            }
            let mut options = DeleteOptions {
                propagation: Some(Propagation::Background),
                ..DeleteOptions::default()
            };
            // Pods bound to nodes that do not exist have no kubelet to confirm their deletion
            // (upstream's pod GC force-deletes them); delete those at once.
            if resource.storage == "pods" {
                let node = value["spec"]["nodeName"].as_str().unwrap_or("");
                let node_exists = !node.is_empty()
                    && store
                        .get(&Key {
                            resource: "nodes",
                            namespace: String::new(),
                            name: node.to_owned(),
                        })
                        .is_some();
                if !node_exists {
                    options.grace_period_seconds = Some(0);
                }
            }
            let key = Key {
                resource: resource.storage,
                namespace: namespace.to_owned(),
                name: object.name.clone(),
            };
            match api.delete_object(resource, key, &options).await {
                Ok(_) => {}
                Err(e) if e.code == 404 || e.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
    }
    let key = Key {
        resource: namespaces.storage,
        namespace: String::new(),
        name: namespace.to_owned(),
    };
    let Some(current) = store.get(&key) else {
        return Ok(true);
    };
    if remaining > 0 {
        return Ok(false);
    }
    let mut value = current.value();
    let finalizers: Vec<Value> = value["spec"]["finalizers"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter(|f| *f != NAMESPACE_FINALIZER)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    value["spec"]["finalizers"] = json!(finalizers);
    let namespaces_resource = resources::find("", "v1", "namespaces")
        .ok_or_else(|| ApiError::internal("namespaces are not served"))?;
    api.update_object(
        namespaces_resource,
        key,
        &current,
        value,
        Some("finalize"),
        None,
        false,
    )
    .await?;
    Ok(true)
}
