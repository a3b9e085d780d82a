//! The ReplicaSet controller (upstream `pkg/controller/replicaset`): informers on ReplicaSets and pods feed a work queue; each sync runs the pure [`plan::plan`] and carries it out through the API.

pub mod plan;

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;

use everynode_core::labels::Selector;
use everynode_core::pod::controller_ref_of_kind;

use crate::runtime::events::Recorder;
use crate::runtime::expectations::Expectations;
use crate::runtime::informer::{Change, Informer};
use crate::runtime::queue::WorkQueue;

/// The kind this controller owns pods as.
const KIND: &str = "ReplicaSet";
/// The field manager of this controller's writes and the component of its events.
const MANAGER: &str = "replicaset-controller";
/// Event type `Normal`.
const NORMAL: &str = "Normal";
/// Event type `Warning`.
const WARNING: &str = "Warning";

/// Why a ReplicaSet sync failed; the key is retried.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// An API call failed.
    #[error("failed to sync replicaset {key}: {source}")]
    Api {
        /// `namespace/name` of the ReplicaSet.
        key: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Called with each deleted pod and the ReplicaSet cache.
pub type PodHook = Box<dyn Fn(&Pod, &Store<ReplicaSet>) + Send + Sync>;

/// Patch parameters naming this controller as the field manager.
fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

/// The ReplicaSet controller's shared state.
pub struct ReplicaSetController {
    client: kube::Client,
    replica_sets: Store<ReplicaSet>,
    pods: Store<Pod>,
    expectations: Arc<Expectations>,
    recorder: Recorder,
}

/// `namespace/name`.
fn key_of(namespace: Option<&str>, name: Option<&str>) -> String {
    format!(
        "{}/{}",
        namespace.unwrap_or_default(),
        name.unwrap_or_default()
    )
}

/// The keys of the live ReplicaSets in `namespace` whose selector matches `pod`: an orphan's
/// possible adopters (upstream `getPodReplicaSets`).
fn matching_replica_sets(store: &Store<ReplicaSet>, pod: &Pod) -> Vec<String> {
    store
        .state()
        .iter()
        .filter(|rs| rs.metadata.namespace == pod.metadata.namespace)
        .filter(|rs| {
            let selector = rs.spec.as_ref().map(|s| &s.selector);
            Selector::from_label_selector(selector)
                .is_ok_and(|s| !s.is_empty() && s.matches_opt(pod.metadata.labels.as_ref()))
        })
        .map(|rs| {
            key_of(
                rs.metadata.namespace.as_deref(),
                rs.metadata.name.as_deref(),
            )
        })
        .collect()
}

/// Maps a pod change to the ReplicaSets to sync and records observed creates and deletes.
fn on_pod(
    queue: &WorkQueue,
    expectations: &Expectations,
    replica_sets: &Store<ReplicaSet>,
    (old, new): Change<Pod>,
) {
    let owner_key = |pod: &Pod| {
        controller_ref_of_kind(&pod.metadata, KIND)
            .map(|r| key_of(pod.metadata.namespace.as_deref(), Some(&r.name)))
    };
    let pod_key = |pod: &Pod| {
        key_of(
            pod.metadata.namespace.as_deref(),
            pod.metadata.name.as_deref(),
        )
    };
    match (&old, &new) {
        (None, None) => {}
        (None, Some(pod)) => match owner_key(pod) {
            Some(key) => {
                expectations.creation_observed(&key);
                queue.add(key);
            }
            None => matching_replica_sets(replica_sets, pod)
                .into_iter()
                .for_each(|k| queue.add(k)),
        },
        (Some(pod), None) => {
            if let Some(key) = owner_key(pod) {
                expectations.deletion_observed(&key, &pod_key(pod));
                queue.add(key);
            }
        }
        (Some(before), Some(pod)) => {
            // A pod marked for deletion counts as deleted (upstream `updatePod`).
            if pod.metadata.deletion_timestamp.is_some()
                && let Some(key) = owner_key(pod)
            {
                expectations.deletion_observed(&key, &pod_key(pod));
            }
            let before_key = owner_key(before);
            let after_key = owner_key(pod);
            if before_key != after_key
                && let Some(key) = before_key
            {
                queue.add(key);
            }
            match after_key {
                Some(key) => queue.add(key),
                None => matching_replica_sets(replica_sets, pod)
                    .into_iter()
                    .for_each(|k| queue.add(k)),
            }
        }
    }
}

impl ReplicaSetController {
    /// Starts the informers and returns the controller once its caches are filled.
    /// `on_pod_deleted` also sees every pod deletion with the ReplicaSet cache, so the
    /// Deployment controller shares this pod cache instead of decoding every pod again.
    pub async fn start(
        client: kube::Client,
        queue: WorkQueue,
        on_pod_deleted: PodHook,
        pods: &Informer<Pod>,
    ) -> Arc<Self> {
        let expectations = Arc::new(Expectations::default());
        let rs_queue = queue.clone();
        let replica_sets =
            Informer::<ReplicaSet>::spawn(client.clone(), move |(old, new)| match (old, new) {
                (None, None) => {}
                (_, Some(rs)) | (Some(rs), None) => rs_queue.add(key_of(
                    rs.metadata.namespace.as_deref(),
                    rs.metadata.name.as_deref(),
                )),
            });
        let store = replica_sets.store.clone();
        let pod_queue = queue.clone();
        let pod_expectations = expectations.clone();
        pods.add_handler(move |change| {
            if let (Some(pod), None) = &change {
                on_pod_deleted(pod, &store);
            }
            on_pod(&pod_queue, &pod_expectations, &store, change);
        });
        replica_sets.wait_synced().await;
        pods.wait_synced().await;
        for rs in replica_sets.store.state() {
            queue.add(key_of(
                rs.metadata.namespace.as_deref(),
                rs.metadata.name.as_deref(),
            ));
        }
        Arc::new(Self {
            recorder: Recorder::for_component(client.clone(), MANAGER),
            client,
            replica_sets: replica_sets.store,
            pods: pods.store.clone(),
            expectations,
        })
    }

    /// The pod cache (shared with the Deployment controller).
    pub fn pods(&self) -> Store<Pod> {
        self.pods.clone()
    }

    /// Upstream `syncReplicaSet`: returns when to sync again, if ever.
    pub async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (namespace, name) = key.split_once('/').unwrap_or(("", key));
        let Some(rs) = self
            .replica_sets
            .get(&ObjectRef::new(name).within(namespace))
        else {
            self.expectations.forget(key);
            return Ok(None);
        };
        // Expectations before the pod cache, as upstream: the other order can see an expectation
        // met by a pod the snapshot does not hold yet, and create a replacement for it.
        let manage = self.expectations.satisfied(key);
        let pods: Vec<Arc<Pod>> = self
            .pods
            .state()
            .into_iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(namespace))
            .collect();
        let plan = plan::plan(&rs, &pods, jiff::Timestamp::now(), manage);
        let err = |source| SyncError::Api {
            key: key.to_owned(),
            source,
        };
        let pod_api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let uid = rs.metadata.uid.clone().unwrap_or_default();
        for pod in &plan.adopt {
            let owner = plan::controller_owner(KIND, name, &uid);
            let patch = json!({"metadata": {"ownerReferences": [owner]}});
            if let Err(e) = pod_api
                .patch(pod, &params(), &Patch::Strategic(patch))
                .await
            {
                tracing::debug!("adopting pod {namespace}/{pod} failed: {e}");
            }
        }
        for pod in &plan.release {
            // Upstream releases with a strategic-merge `$patch: delete` of the ownerReference.
            let patch =
                json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": uid}]}});
            if let Err(e) = pod_api
                .patch(pod, &params(), &Patch::Strategic(patch))
                .await
            {
                tracing::debug!("releasing pod {namespace}/{pod} failed: {e}");
            }
        }
        let mut first_error = None;
        if plan.create > 0 {
            self.expectations.expect(key, plan.create, []);
            let template = plan::pod_from_template(&rs);
            let post = PostParams::default();
            // Upstream `slowStartBatch`: batches of 1, 2, 4, … stop at the first failure.
            let mut remaining = plan.create;
            let mut batch = 1;
            while remaining > 0 {
                let size = batch.min(remaining);
                let results = join_all((0..size).map(|_| pod_api.create(&post, &template))).await;
                let mut failures: Vec<kube::Error> = Vec::new();
                for result in results {
                    // Upstream records SuccessfulCreate/FailedCreate on the ReplicaSet.
                    match result {
                        Ok(pod) => {
                            let pod_name = pod.metadata.name.unwrap_or_default();
                            let message = format!("Created pod: {pod_name}");
                            self.recorder.record_on(
                                KIND,
                                &rs.metadata,
                                NORMAL,
                                "SuccessfulCreate",
                                &message,
                            );
                        }
                        Err(e) => {
                            let message = format!("Error creating: {e}");
                            self.recorder.record_on(
                                KIND,
                                &rs.metadata,
                                WARNING,
                                "FailedCreate",
                                &message,
                            );
                            failures.push(e);
                        }
                    }
                }
                remaining -= size;
                if !failures.is_empty() {
                    // Creates that failed or never ran will not be observed (upstream lowers
                    // the expectations for them).
                    for _ in 0..failures.len() + remaining {
                        self.expectations.creation_observed(key);
                    }
                    first_error = failures.into_iter().next();
                    break;
                }
                batch *= 2;
            }
        }
        if !plan.delete.is_empty() {
            let keys: Vec<String> = plan
                .delete
                .iter()
                .map(|p| format!("{namespace}/{p}"))
                .collect();
            self.expectations.expect(key, 0, keys);
            let results = join_all(plan.delete.iter().map(|p| {
                let pod_api = pod_api.clone();
                async move { (p, pod_api.delete(p, &DeleteParams::default()).await) }
            }))
            .await;
            for (pod, result) in results {
                if result.is_ok() {
                    let message = format!("Deleted pod: {pod}");
                    self.recorder.record_on(
                        KIND,
                        &rs.metadata,
                        NORMAL,
                        "SuccessfulDelete",
                        &message,
                    );
                }
                if let Err(e) = result {
                    self.expectations
                        .deletion_observed(key, &format!("{namespace}/{pod}"));
                    if !matches!(&e, kube::Error::Api(s) if s.code == 404) {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        let current = rs.status.clone().unwrap_or_default();
        if current != plan.status {
            let api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), namespace);
            // A merge patch leaves out what serializes as absent: zeroed counters are sent as
            // null so they are removed, as upstream's omitempty status has them.
            let mut status = json!(plan.status);
            for counter in ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] {
                if status.get(counter).is_none() {
                    status[counter] = serde_json::Value::Null;
                }
            }
            let patch = json!({ "status": status });
            api.patch_status(name, &params(), &Patch::Merge(&patch))
                .await
                .map_err(err)?;
        }
        match first_error {
            Some(e) => Err(err(e)),
            None => Ok(plan.requeue_after),
        }
    }
}
