//! One sync of one DaemonSet: read the caches, ask the planner, carry the plan out through the
//! API (spec §1.2; upstream `syncDaemonSet`, `syncNodes`, `updateDaemonSetStatus`).

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use everynode_core::keys;
use futures::future::join_all;
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;

use super::events::Recorder;
use super::expectations::Expectations;
use super::handlers::key_of;
use super::metrics::Metrics;
use crate::plan::history::{CollisionDecision, on_revision_collision};
use crate::plan::{Claim, FailedPodBackoff, Plan, PlanInput, StatusCounters, pod_template};

/// The first batch of creates; each next batch doubles (upstream `SlowStartInitialBatchSize`).
const SLOW_START_INITIAL_BATCH: usize = 1;
/// The status cause kube-apiserver gives when a create is refused because its namespace is
/// being deleted (upstream `v1.NamespaceTerminatingCause`).
const NAMESPACE_TERMINATING_CAUSE: &str = "NamespaceTerminating";
/// How often a status write is retried after a conflict (upstream `StatusUpdateRetries`).
const STATUS_UPDATE_RETRIES: usize = 1;

/// Why a sync failed; the key is re-queued.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("failed to plan daemonset {key}: {source}")]
    Plan {
        key: String,
        #[source]
        source: crate::plan::PlanError,
    },
    #[error("failed to {action} for daemonset {key}: {source}")]
    Api {
        key: String,
        action: &'static str,
        #[source]
        source: kube::Error,
    },
    #[error("hash collision creating the revision of daemonset {0}; collisionCount raised")]
    Collision(String),
    /// Adoption refused: the live DaemonSet is not the cached one any more (spec §1.5 P2).
    #[error("original daemonset {key} is gone: {reason}")]
    Gone { key: String, reason: String },
    /// Pod creates or deletes failed (spec §1.8 K6: upstream `syncNodes` aggregates them).
    #[error("failed to create or delete pods of daemonset {key}: {}", join_errors(.errors))]
    Pods { key: String, errors: Vec<PodError> },
    /// The rolling update could not be planned; status was still written (spec §1.2 S8).
    #[error("failed to roll out daemonset {key}: {source}")]
    Rolling {
        key: String,
        #[source]
        source: crate::plan::RollingError,
    },
}

/// Why one pod create or delete failed.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    /// The template cannot make a pod (refused before any API call, as upstream does).
    #[error(transparent)]
    Template(#[from] pod_template::TemplateError),
    /// The API server refused the create or delete.
    #[error(transparent)]
    Api(#[from] kube::Error),
}

/// The messages of aggregated errors, as upstream's `NewAggregate` prints them.
fn join_errors(errors: &[PodError]) -> String {
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    match messages.as_slice() {
        [one] => one.clone(),
        _ => format!("[{}]", messages.join(", ")),
    }
}

/// What a sync reads and writes with.
pub struct Syncer {
    pub client: kube::Client,
    pub daemon_sets: Store<DaemonSet>,
    pub pods: Store<Pod>,
    pub nodes: Store<Node>,
    pub revisions: Store<ControllerRevision>,
    pub expectations: Arc<Expectations>,
    pub backoff: Mutex<FailedPodBackoff>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
}

impl Syncer {
    /// Syncs the DaemonSet `key`; returns when to sync it again, if at all.
    pub async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (result, requeue_after) = self.sync_and_requeue(key).await;
        result.map(|()| requeue_after)
    }

    /// Syncs the DaemonSet `key`, and says when to sync it again whether or not the sync failed:
    /// upstream schedules the minReadySeconds status resync and the failed-pod backoff resync as
    /// side effects of a sync that then fails, and the rate-limited retry of a failure may come
    /// much later than either.
    pub async fn sync_and_requeue(&self, key: &str) -> (Result<(), SyncError>, Option<Duration>) {
        let Some((namespace, name)) = key.split_once('/') else {
            return (Ok(()), None);
        };
        let Some(ds) = self
            .daemon_sets
            .get(&ObjectRef::new(name).within(namespace))
        else {
            // Deleted: the garbage collector removes its pods (spec §1.11).
            self.expectations.forget(key);
            return (Ok(()), None);
        };
        // Expectations first, then the caches (upstream checks SatisfiedExpectations before it
        // lists pods): read the other way round, a pod created by the last sync could reach the
        // cache — and satisfy the expectation — between the two reads, and the plan would see the
        // expectation met but not the pod, and create a second one on its node.
        let expectations_satisfied = self.expectations.satisfied(key);
        // The caches hand out shared objects: the plan borrows them, nothing is deep-copied.
        let nodes = self.nodes.state();
        let node_refs: Vec<&Node> = nodes.iter().map(AsRef::as_ref).collect();
        let pods: Vec<_> = self
            .pods
            .state()
            .into_iter()
            .filter(|p| p.metadata.namespace.as_deref() == Some(namespace))
            .collect();
        let pod_refs: Vec<&Pod> = pods.iter().map(AsRef::as_ref).collect();
        let revisions: Vec<ControllerRevision> = self
            .revisions
            .state()
            .iter()
            .filter(|r| r.metadata.namespace.as_deref() == Some(namespace))
            .map(|r| ControllerRevision::clone(r))
            .collect();
        let now = jiff::Timestamp::now();
        let planned = {
            let backoff = self.backoff.lock().unwrap_or_else(PoisonError::into_inner);
            crate::plan::plan(&PlanInput {
                ds: &ds,
                nodes: &node_refs,
                pods: &pod_refs,
                revisions: &revisions,
                backoff: &backoff,
                expectations_satisfied,
                now,
            })
        };
        let plan = match planned {
            Ok(plan) => plan,
            Err(source) => {
                let key = key.to_owned();
                return (Err(SyncError::Plan { key, source }), None);
            }
        };
        let requeue_after = plan.requeue_after;
        (self.carry_out(key, &ds, plan).await, requeue_after)
    }

    async fn carry_out(&self, key: &str, ds: &DaemonSet, mut plan: Plan) -> Result<(), SyncError> {
        let namespace = ds.metadata.namespace.as_deref().unwrap_or_default();
        let api_error = |action: &'static str| {
            let key = key.to_owned();
            move |source| SyncError::Api {
                key,
                action,
                source,
            }
        };
        for event in &plan.events {
            self.recorder
                .record(ds, event.type_, event.reason, &event.message);
        }
        if plan.selecting_all {
            return Ok(());
        }
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let revisions: Api<ControllerRevision> = Api::namespaced(self.client.clone(), namespace);
        let adopts = plan.adopt_pods.len()
            + plan
                .history
                .as_ref()
                .map_or(0, |history| history.adopt.len());
        if adopts > 0 {
            // spec §1.5 P2 (upstream `RecheckDeletionTimestamp`, kubernetes#42639): the cache may
            // lag a deletion; adopting for a DaemonSet that is gone or going would orphan again.
            self.recheck_live(ds).await?;
        }
        for claim in &plan.adopt_pods {
            self.adopt(&pods, ds, claim)
                .await
                .map_err(api_error("adopt pod"))?;
        }
        for claim in &plan.release_pods {
            self.release(&pods, ds, claim)
                .await
                .map_err(api_error("release pod"))?;
        }
        if let Some(history) = &plan.history {
            for claim in &history.adopt {
                self.adopt(&revisions, ds, claim)
                    .await
                    .map_err(api_error("adopt revision"))?;
            }
            for claim in &history.release {
                self.release(&revisions, ds, claim)
                    .await
                    .map_err(api_error("release revision"))?;
            }
            for name in &history.label_fixups {
                let patch =
                    json!({"metadata": {"labels": {keys::CONTROLLER_REVISION_HASH_LABEL: name}}});
                ignore_not_found(
                    revisions
                        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await,
                )
                .map_err(api_error("label revision"))?;
            }
            if let Some(revision) = &history.create {
                self.create_revision(&revisions, ds, revision).await?;
            }
            if let Some(name) = &history.renumber {
                let patch = json!({"revision": history.current_revision});
                revisions
                    .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(api_error("renumber revision"))?;
            }
            for name in &history.delete_duplicates {
                ignore_not_found(
                    revisions
                        .delete(name, &DeleteParams::default())
                        .await
                        .map(|_| ()),
                )
                .map_err(api_error("delete duplicate revision"))?;
            }
            for pod in &history.relabel_pods {
                let patch = json!({"metadata": {"labels": {keys::CONTROLLER_REVISION_HASH_LABEL: history.hash}}});
                ignore_not_found(
                    pods.patch(pod, &PatchParams::default(), &Patch::Merge(&patch))
                        .await,
                )
                .map_err(api_error("relabel pod"))?;
            }
        }
        // Upstream `syncDaemonSet`: the update part (manage or rolling update, then history
        // cleanup) stops at its first error, the status is written regardless, and the update
        // error wins over a status error.
        let update = self.sync_nodes(key, ds, &pods, &plan).await;
        {
            let mut backoff = self.backoff.lock().unwrap_or_else(PoisonError::into_inner);
            backoff.apply(plan.backoff_updates.iter().cloned());
            backoff.gc(jiff::Timestamp::now());
        }
        let update = match (update, plan.rolling_error.take()) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(source)) => Err(SyncError::Rolling {
                key: key.to_owned(),
                source,
            }),
            (Ok(()), None) => self.clean_up_revisions(key, &revisions, &plan).await,
        };
        let status = match &plan.status {
            Some(status) => self
                .write_status(ds, status)
                .await
                .map_err(api_error("update status")),
            None => Ok(()),
        };
        match (update, status) {
            (Err(e), Err(status)) => {
                tracing::warn!("{status}");
                Err(e)
            }
            (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    /// Deletes the revisions history cleanup picked (spec §2.7).
    async fn clean_up_revisions(
        &self,
        key: &str,
        revisions: &Api<ControllerRevision>,
        plan: &Plan,
    ) -> Result<(), SyncError> {
        for name in &plan.revisions_to_delete {
            ignore_not_found(
                revisions
                    .delete(name, &DeleteParams::default())
                    .await
                    .map(|_| ()),
            )
            .map_err(|source| SyncError::Api {
                key: key.to_owned(),
                action: "clean up revision",
                source,
            })?;
        }
        Ok(())
    }

    /// Creates and deletes pods (spec §1.8, upstream `syncNodes`): expectations first, then
    /// creates in slow-start batches, then every delete at once. Each failure lowers the
    /// expectations and is returned, all of them together (K6), so the DaemonSet is retried with
    /// backoff.
    async fn sync_nodes(
        &self,
        key: &str,
        ds: &DaemonSet,
        pods: &Api<Pod>,
        plan: &Plan,
    ) -> Result<(), SyncError> {
        let namespace = ds.metadata.namespace.as_deref().unwrap_or_default();
        let delete_keys: Vec<String> = plan
            .deletes
            .iter()
            .map(|d| format!("{namespace}/{}", d.name))
            .collect();
        if plan.creates.is_empty() && plan.deletes.is_empty() {
            return Ok(());
        }
        self.expectations
            .expect(key, plan.creates.len(), delete_keys.iter().cloned());
        let mut errors = Vec::new();

        if let Some(template) = &plan.pod_template {
            let mut remaining: &[String] = &plan.creates;
            let mut batch = SLOW_START_INITIAL_BATCH;
            while !remaining.is_empty() {
                let (now, later) = remaining.split_at(batch.min(remaining.len()));
                let creates = now
                    .iter()
                    .map(|node| self.create_pod(key, ds, pods, template, node));
                let failed: Vec<PodError> = join_all(creates)
                    .await
                    .into_iter()
                    .filter_map(Result::err)
                    .collect();
                remaining = later;
                if !failed.is_empty() {
                    errors.extend(failed);
                    // Slow start: after a failure the rest are skipped and no longer expected;
                    // the next sync tries them again.
                    for _ in remaining {
                        self.expectations.creation_observed(key);
                    }
                    break;
                }
                batch *= 2;
            }
        }

        let deletes = plan
            .deletes
            .iter()
            .zip(&delete_keys)
            .map(|(delete, pod_key)| async move {
                match pods.delete(&delete.name, &DeleteParams::default()).await {
                    Ok(_) => {
                        self.metrics.pod_deleted();
                        self.recorder.record(
                            ds,
                            keys::EVENT_TYPE_NORMAL,
                            keys::REASON_SUCCESSFUL_DELETE,
                            &keys::successful_delete_message(&delete.name),
                        );
                        None
                    }
                    // Already gone: no error and no event (spec §0), but no deletion event
                    // will come for it either.
                    Err(kube::Error::Api(status)) if status.code == 404 => {
                        self.expectations.deletion_observed(key, pod_key);
                        None
                    }
                    Err(e) => {
                        self.expectations.deletion_observed(key, pod_key);
                        self.recorder.record(
                            ds,
                            keys::EVENT_TYPE_WARNING,
                            keys::REASON_FAILED_DELETE,
                            &keys::failed_delete_message(&e.to_string()),
                        );
                        Some(PodError::Api(e))
                    }
                }
            });
        errors.extend(join_all(deletes).await.into_iter().flatten());
        if errors.is_empty() {
            Ok(())
        } else {
            Err(SyncError::Pods {
                key: key.to_owned(),
                errors,
            })
        }
    }

    /// Creates the daemon pod for `node` (upstream `RealPodControl.CreatePods` plus the error
    /// handling of `syncNodes`). A namespace being torn down is no error and leaves the
    /// expectation raised, as upstream: every later create would fail the same way, and the
    /// expectation expires (spec §1.8 K4).
    async fn create_pod(
        &self,
        key: &str,
        ds: &DaemonSet,
        pods: &Api<Pod>,
        template: &k8s_openapi::api::core::v1::PodTemplateSpec,
        node: &str,
    ) -> Result<(), PodError> {
        let pod = match pod_template::pod_for_node(ds, template, node) {
            Ok(pod) => pod,
            Err(e) => {
                // Upstream refuses such a pod before calling the API, without an event.
                self.expectations.creation_observed(key);
                return Err(e.into());
            }
        };
        match pods.create(&PostParams::default(), &pod).await {
            Ok(created) => {
                self.metrics.pod_created();
                let name = created.metadata.name.unwrap_or_default();
                self.recorder.record(
                    ds,
                    keys::EVENT_TYPE_NORMAL,
                    keys::REASON_SUCCESSFUL_CREATE,
                    &keys::successful_create_message(&name),
                );
                Ok(())
            }
            Err(kube::Error::Api(status)) if is_namespace_terminating(&status) => Ok(()),
            Err(e) => {
                self.expectations.creation_observed(key);
                self.recorder.record(
                    ds,
                    keys::EVENT_TYPE_WARNING,
                    keys::REASON_FAILED_CREATE,
                    &keys::failed_create_message(&e.to_string()),
                );
                Err(e.into())
            }
        }
    }

    async fn create_revision(
        &self,
        revisions: &Api<ControllerRevision>,
        ds: &DaemonSet,
        revision: &ControllerRevision,
    ) -> Result<(), SyncError> {
        let key = key_of(&ds.metadata);
        let api_error = |action: &'static str| {
            let key = key.clone();
            move |source| SyncError::Api {
                key,
                action,
                source,
            }
        };
        let name = revision.metadata.name.clone().unwrap_or_default();
        match revisions.create(&PostParams::default(), revision).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                // spec §2.6 H5: same name, maybe another template.
                let existing = revisions
                    .get(&name)
                    .await
                    .map_err(api_error("read colliding revision"))?;
                let daemon_sets: Api<DaemonSet> = Api::namespaced(
                    self.client.clone(),
                    ds.metadata.namespace.as_deref().unwrap_or_default(),
                );
                let live = daemon_sets
                    .get(ds.metadata.name.as_deref().unwrap_or_default())
                    .await
                    .map_err(api_error("read daemonset"))?;
                let live_count = live.status.as_ref().and_then(|s| s.collision_count);
                match on_revision_collision(ds, &existing, live_count) {
                    Ok(CollisionDecision::UseExisting) => Ok(()),
                    Ok(CollisionDecision::StaleCollisionCount) => Err(SyncError::Collision(key)),
                    Ok(CollisionDecision::BumpCollisionCount(count)) => {
                        let mut status = live.status.clone().unwrap_or_default();
                        status.collision_count = Some(count);
                        // One write, no retry: upstream's `snapshot` does the same, and the
                        // next sync sees the collision again if it fails.
                        let mut raised = live.clone();
                        raised.status = Some(status);
                        daemon_sets
                            .replace_status(
                                ds.metadata.name.as_deref().unwrap_or_default(),
                                &PostParams::default(),
                                &raised,
                            )
                            .await
                            .map_err(api_error("raise collisionCount"))?;
                        Err(SyncError::Collision(key))
                    }
                    Err(e) => Err(SyncError::Plan {
                        key,
                        source: e.into(),
                    }),
                }
            }
            Err(e) => Err(api_error("create revision")(e)),
        }
    }

    /// Re-reads the DaemonSet from the API server, bypassing the cache, and refuses if it is
    /// gone, was replaced (another uid) or is being deleted (upstream `getDaemonPods`'
    /// `RecheckDeletionTimestamp`).
    async fn recheck_live(&self, ds: &DaemonSet) -> Result<(), SyncError> {
        let key = key_of(&ds.metadata);
        let api: Api<DaemonSet> = Api::namespaced(
            self.client.clone(),
            ds.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let fresh = api
            .get(ds.metadata.name.as_deref().unwrap_or_default())
            .await
            .map_err(|source| SyncError::Api {
                key: key.clone(),
                action: "re-read daemonset before adopting",
                source,
            })?;
        if fresh.metadata.uid != ds.metadata.uid {
            return Err(SyncError::Gone {
                key,
                reason: format!(
                    "got uid {}, wanted {}",
                    fresh.metadata.uid.unwrap_or_default(),
                    ds.metadata.uid.clone().unwrap_or_default()
                ),
            });
        }
        if let Some(at) = fresh.metadata.deletion_timestamp {
            return Err(SyncError::Gone {
                key,
                reason: format!("it has just been deleted at {}", at.0),
            });
        }
        Ok(())
    }

    /// Sets the controller reference on an orphan (upstream `AdoptPod`: a strategic merge patch
    /// that also names the object's uid, so it fails as Invalid if the object was replaced).
    /// NotFound is ignored: the orphan is gone.
    async fn adopt<K>(&self, api: &Api<K>, ds: &DaemonSet, claim: &Claim) -> Result<(), kube::Error>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let owner = pod_template::controller_owner_ref(ds);
        ignore_not_found(patch_owner_references(api, claim, json!([owner])).await)
    }

    /// Removes the controller reference from an object the selector no longer matches (upstream
    /// `ReleasePod`: guarded by the object's uid; NotFound and Invalid — gone, replaced, or no
    /// longer owned — are ignored).
    async fn release<K>(
        &self,
        api: &Api<K>,
        ds: &DaemonSet,
        claim: &Claim,
    ) -> Result<(), kube::Error>
    where
        K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let owner_uid = ds.metadata.uid.clone().unwrap_or_default();
        let delete = json!([{"$patch": "delete", "uid": owner_uid}]);
        match patch_owner_references(api, claim, delete).await {
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 422 => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Writes the status through the status subresource (spec §1.10 W1, upstream
    /// `storeDaemonSetStatus`): on any failure GET the DaemonSet and try once more with the same
    /// counters on the fresh object; a failed GET is the more interesting error and is returned.
    async fn write_status(
        &self,
        ds: &DaemonSet,
        status: &k8s_openapi::api::apps::v1::DaemonSetStatus,
    ) -> Result<(), kube::Error> {
        let api: Api<DaemonSet> = Api::namespaced(
            self.client.clone(),
            ds.metadata.namespace.as_deref().unwrap_or_default(),
        );
        let name = ds.metadata.name.clone().unwrap_or_default();
        let raises_generation =
            status.observed_generation != ds.status.as_ref().and_then(|s| s.observed_generation);
        let mut current = ds.clone();
        current.status = Some(status.clone());
        let mut attempt = 0;
        loop {
            let error = match api
                .replace_status(&name, &PostParams::default(), &current)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if attempt >= STATUS_UPDATE_RETRIES {
                return Err(error);
            }
            attempt += 1;
            current = api.get(&name).await?;
            let fresh = current.status.get_or_insert_with(Default::default);
            // The counters (and observedGeneration if this sync raised it) on the fresh
            // status, keeping its other fields as upstream's retry does.
            StatusCounters::of(Some(status)).write_into(fresh);
            if raises_generation {
                fresh.observed_generation = status.observed_generation;
            }
        }
    }
}

/// Whether a create failed because its namespace is being deleted (upstream
/// `HasStatusCause(err, NamespaceTerminatingCause)`).
pub fn is_namespace_terminating(status: &kube::core::Status) -> bool {
    status.details.as_ref().is_some_and(|d| {
        d.causes
            .iter()
            .any(|c| c.reason == NAMESPACE_TERMINATING_CAUSE)
    })
}

/// Strategic-merge-patches the claimed object's owner references, guarded by its cached uid.
async fn patch_owner_references<K>(
    api: &Api<K>,
    claim: &Claim,
    owner_references: serde_json::Value,
) -> Result<K, kube::Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut patch = json!({"metadata": {"ownerReferences": owner_references}});
    if let Some(uid) = &claim.uid {
        patch["metadata"]["uid"] = json!(uid);
    }
    api.patch(
        &claim.name,
        &PatchParams::default(),
        &Patch::Strategic(&patch),
    )
    .await
}

fn ignore_not_found<T>(result: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}
