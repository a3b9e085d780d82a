//! What kube-apiserver and its built-in controllers provide from the first start: the standard
//! namespaces and priority classes, each namespace's `default` ServiceAccount and
//! `kube-root-ca.crt` ConfigMap, and namespace deletion (content first, then the namespace).

use std::collections::{HashMap, HashSet};
use std::time::Duration;

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

/// Creates `object` unless it exists. Looks in the store first, so ensuring what is already
/// there (a resync of a populated namespace) costs neither a decode nor a write.
async fn ensure(
    service: &ApiService,
    resource: &'static Resource,
    namespace: Option<&str>,
    object: Value,
) -> Result<(), ApiError> {
    let key = Key {
        resource: resource.storage,
        namespace: namespace.unwrap_or_default().to_owned(),
        name: object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    if service.store().get(&key).is_some() {
        return Ok(());
    }
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
    .await?;
    Ok(())
}

/// First retry delay of a namespace whose pass failed; doubles per failure up to the cap.
const RETRY_BASE: Duration = Duration::from_millis(200);
const RETRY_CAP: Duration = Duration::from_secs(30);
/// How often every namespace is looked at again even without events (missed or failed work).
const RESYNC_INTERVAL: Duration = Duration::from_secs(30);

/// The delay before retry number `failures` (1-based): exponential, capped.
fn backoff(failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    RETRY_BASE.saturating_mul(factor).min(RETRY_CAP)
}

/// Runs the namespace controller until the store closes. A pass that fails is logged and
/// retried with backoff; a controller run that panics is restarted (after a backoff) from a
/// fresh list, so namespace deletion and population never stop for good.
pub fn spawn(service: ApiService, ca_pem: String) {
    tokio::spawn(supervise("namespace controller", move || {
        run_namespace_controller(service.clone(), ca_pem.clone())
    }));
}

/// Why a controller run ended without panicking.
#[derive(Debug, PartialEq, Eq)]
enum Stopped {
    /// The store is gone: nothing left to do.
    StoreClosed,
}

/// Runs `run` again and again (each run in its own task, so a panic is caught) until a run
/// reports the store closed.
async fn supervise<F, Fut>(name: &'static str, mut run: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Stopped> + Send + 'static,
{
    let mut failures = 0u32;
    loop {
        let started = tokio::time::Instant::now();
        match tokio::spawn(run()).await {
            Ok(Stopped::StoreClosed) => return,
            Err(error) => {
                // A run that lasted a while before failing starts the backoff over.
                if started.elapsed() > RETRY_CAP {
                    failures = 0;
                }
                failures = failures.saturating_add(1);
                let delay = backoff(failures);
                tracing::error!("{name} stopped ({error}); restarting in {delay:?}");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Level-triggered: every namespace touched by an event (or by a failed earlier pass) is
/// reconciled from the current state, so a lost event or failed pass is repaired by the next
/// one; all namespaces are looked at on start, after a watch gap, and every [`RESYNC_INTERVAL`].
async fn run_namespace_controller(service: ApiService, ca_pem: String) -> Stopped {
    let store = service.store();
    let Ok(mut watcher) = store.watch(None) else {
        return Stopped::StoreClosed;
    };
    // Namespaces due for a pass: when, and how many passes in a row have failed.
    let mut due: HashMap<String, (tokio::time::Instant, u32)> = HashMap::new();
    // Terminating namespaces still holding content: looked at again whenever something changes.
    let mut terminating: HashSet<String> = HashSet::new();
    let mut next_resync = tokio::time::Instant::now();
    loop {
        let now = tokio::time::Instant::now();
        if now >= next_resync {
            for ns in &store.list("namespaces", None, None, 0, |_| true).items {
                due.entry(ns.name.clone()).or_insert((now, 0));
            }
            next_resync = now + RESYNC_INTERVAL;
        }
        let ready: Vec<(String, u32)> = due
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(name, (_, failures))| (name.clone(), *failures))
            .collect();
        for (namespace, failures) in ready {
            due.remove(&namespace);
            match reconcile_namespace(&service, &namespace, &ca_pem).await {
                Ok(Pass::Done) => {
                    terminating.remove(&namespace);
                }
                Ok(Pass::Waiting) => {
                    terminating.insert(namespace);
                }
                Err(e) => {
                    let failures = failures.saturating_add(1);
                    let delay = backoff(failures);
                    tracing::warn!(%namespace, "namespace pass failed (retry in {delay:?}): {e}");
                    due.insert(namespace, (tokio::time::Instant::now() + delay, failures));
                }
            }
        }
        let wake = due
            .values()
            .map(|(at, _)| *at)
            .min()
            .map_or(next_resync, |at| at.min(next_resync));
        let outcome = tokio::select! {
            outcome = watcher.next() => outcome,
            _ = tokio::time::sleep_until(wake) => continue,
        };
        let events = match outcome {
            WatchOutcome::Events(events) => events,
            WatchOutcome::Expired { .. } => {
                // Events were missed: start over from the current state.
                let Ok(fresh) = store.watch(None) else {
                    return Stopped::StoreClosed;
                };
                watcher = fresh;
                next_resync = tokio::time::Instant::now();
                continue;
            }
            WatchOutcome::Closed => return Stopped::StoreClosed,
        };
        let now = tokio::time::Instant::now();
        let mut mark = |namespace: &str| {
            due.entry(namespace.to_owned()).or_insert((now, 0));
        };
        for event in &events {
            let object = &event.object;
            match object.resource {
                // Gone by other hands (its finalizers cleared): nothing left to wait for.
                "namespaces" if event.event == EventType::Deleted => {
                    terminating.remove(&object.name);
                }
                "namespaces" => mark(&object.name),
                // The default ServiceAccount or root CA ConfigMap went: put it back.
                "serviceaccounts" | "configmaps" if event.event == EventType::Deleted => {
                    mark(&object.namespace)
                }
                _ => {}
            }
            if terminating.contains(&object.namespace) {
                mark(&object.namespace);
            }
        }
    }
}

/// The outcome of one successful pass over a namespace.
enum Pass {
    /// Nothing more to do until the namespace changes.
    Done,
    /// Terminating, and content is still going away.
    Waiting,
}

/// One pass: populate a live namespace, or delete the content of a terminating one.
async fn reconcile_namespace(
    service: &ApiService,
    namespace: &str,
    ca_pem: &str,
) -> Result<Pass, ApiError> {
    let key = Key {
        resource: "namespaces",
        namespace: String::new(),
        name: namespace.to_owned(),
    };
    let Some(current) = service.store().get(&key) else {
        return Ok(Pass::Done);
    };
    if current.value()["metadata"]["deletionTimestamp"].is_null() {
        populate_namespace(service, namespace, ca_pem).await?;
        return Ok(Pass::Done);
    }
    Ok(if finish_namespace(service, namespace).await? {
        Pass::Done
    } else {
        Pass::Waiting
    })
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), RETRY_BASE);
        assert_eq!(backoff(2), RETRY_BASE * 2);
        assert_eq!(backoff(3), RETRY_BASE * 4);
        assert_eq!(backoff(40), RETRY_CAP);
        assert_eq!(backoff(u32::MAX), RETRY_CAP);
    }

    #[tokio::test]
    async fn a_panicking_run_is_restarted_until_the_store_closes() {
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        supervise("test controller", move || {
            let run = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if run < 2 {
                    panic!("pass {run} failed");
                }
                Stopped::StoreClosed
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    async fn service() -> ApiService {
        let store =
            crate::server::open_store(None, Default::default()).expect("in-memory store opens");
        let service = ApiService::new(store, Default::default());
        bootstrap(&service, "CA").await.expect("bootstrap");
        service
    }

    async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !check() {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn key(resource: &'static str, namespace: &str, name: &str) -> Key {
        Key {
            resource,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    #[tokio::test]
    async fn new_namespaces_are_populated_and_a_deleted_default_account_comes_back() {
        let service = service().await;
        spawn(service.clone(), "CA".to_owned());
        let namespaces = resource("namespaces", "").expect("served");
        ensure(
            &service,
            namespaces,
            None,
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "late"}}),
        )
        .await
        .expect("namespace created");
        let store = service.store();
        wait_for("default ServiceAccount in late", || {
            store
                .get(&key("serviceaccounts", "late", "default"))
                .is_some()
                && store
                    .get(&key("configmaps", "late", ROOT_CA_CONFIGMAP))
                    .is_some()
        })
        .await;
        let accounts = resource("serviceaccounts", "").expect("served");
        service
            .api()
            .delete_object(
                accounts,
                key("serviceaccounts", "late", "default"),
                &DeleteOptions::default(),
            )
            .await
            .expect("deleted");
        wait_for("default ServiceAccount recreated", || {
            store
                .get(&key("serviceaccounts", "late", "default"))
                .is_some()
        })
        .await;
    }
}
