//! The Deployment controller (upstream `pkg/controller/deployment`): informers on Deployments, ReplicaSets and pods feed a work queue; each sync runs the pure [`plan::plan`] and carries it out through the API.

pub mod plan;
pub mod util;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{ObjectRef, Store};
use serde_json::json;

use everynode_core::labels::Selector;
use everynode_core::pod::{controller_ref, controller_ref_of_kind, is_pod_terminal};

use crate::runtime::events::Recorder;
use crate::runtime::informer::Informer;
use crate::runtime::queue::WorkQueue;
use plan::Action;

/// The kind that owns ReplicaSets.
const KIND: &str = "Deployment";
/// The field manager of this controller's writes and the component of its events.
const MANAGER: &str = "deployment-controller";
/// Event type `Normal`.
const NORMAL: &str = "Normal";

/// Why a Deployment sync failed; the key is retried.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// An API call failed.
    #[error("failed to sync deployment {key}: {source}")]
    Api {
        /// `namespace/name` of the Deployment.
        key: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The new ReplicaSet's name is taken by one this Deployment does not own; the next sync
    /// uses a new hash (upstream bumps `status.collisionCount`).
    #[error(
        "replicaset name of deployment {key} collides with an existing one, retrying with collision count {count}"
    )]
    HashCollision {
        /// `namespace/name` of the Deployment.
        key: String,
        /// The new collision count.
        count: i32,
    },
}

/// The Deployment controller's shared state.
pub struct DeploymentController {
    client: kube::Client,
    deployments: Store<Deployment>,
    replica_sets: Store<ReplicaSet>,
    pods: Store<Pod>,
    recorder: Recorder,
}

fn key_of(namespace: Option<&str>, name: Option<&str>) -> String {
    format!(
        "{}/{}",
        namespace.unwrap_or_default(),
        name.unwrap_or_default()
    )
}

fn params() -> PatchParams {
    PatchParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

/// The Deployments a ReplicaSet change concerns: its controller, or for an orphan every
/// Deployment in its namespace whose selector matches it (upstream `getDeploymentsForReplicaSet`).
fn deployments_for(deployments: &Store<Deployment>, rs: &ReplicaSet) -> Vec<String> {
    if let Some(owner) = controller_ref_of_kind(&rs.metadata, KIND) {
        return vec![key_of(rs.metadata.namespace.as_deref(), Some(&owner.name))];
    }
    if controller_ref(&rs.metadata).is_some() {
        return Vec::new();
    }
    deployments
        .state()
        .iter()
        .filter(|d| d.metadata.namespace == rs.metadata.namespace)
        .filter(|d| {
            Selector::from_label_selector(d.spec.as_ref().map(|s| &s.selector))
                .is_ok_and(|s| !s.is_empty() && s.matches_opt(rs.metadata.labels.as_ref()))
        })
        .map(|d| key_of(d.metadata.namespace.as_deref(), d.metadata.name.as_deref()))
        .collect()
}

impl DeploymentController {
    /// Starts the informers and returns the controller once its caches are filled.
    /// `pods` is the ReplicaSet controller's pod cache; feed [`Self::pod_deleted`] its deletions.
    pub async fn start(client: kube::Client, queue: WorkQueue, pods: Store<Pod>) -> Arc<Self> {
        let d_queue = queue.clone();
        let deployments = Informer::<Deployment>::spawn(client.clone(), move |(old, new)| {
            if let Some(d) = new.or(old) {
                d_queue.add(key_of(
                    d.metadata.namespace.as_deref(),
                    d.metadata.name.as_deref(),
                ));
            }
        });
        let d_store = deployments.store.clone();
        let rs_queue = queue.clone();
        let replica_sets = Informer::<ReplicaSet>::spawn(client.clone(), move |(old, new)| {
            for rs in [old, new].into_iter().flatten() {
                for key in deployments_for(&d_store, &rs) {
                    rs_queue.add(key);
                }
            }
        });
        deployments.wait_synced().await;
        replica_sets.wait_synced().await;
        for d in deployments.store.state() {
            queue.add(key_of(
                d.metadata.namespace.as_deref(),
                d.metadata.name.as_deref(),
            ));
        }
        Arc::new(Self {
            recorder: Recorder::for_component(client.clone(), MANAGER),
            client,
            deployments: deployments.store,
            replica_sets: replica_sets.store,
            pods,
        })
    }

    /// Pods matter only to Recreate, which waits for the old pods to be gone: a pod deletion
    /// wakes the Deployment owning the pod's ReplicaSet (upstream `deletePod`).
    pub fn pod_deleted(queue: &WorkQueue, pod: &Pod, replica_sets: &Store<ReplicaSet>) {
        let Some(owner) = controller_ref_of_kind(&pod.metadata, "ReplicaSet") else {
            return;
        };
        let namespace = pod.metadata.namespace.clone().unwrap_or_default();
        if let Some(rs) = replica_sets.get(&ObjectRef::new(&owner.name).within(&namespace))
            && let Some(d) = controller_ref_of_kind(&rs.metadata, KIND)
        {
            queue.add(key_of(Some(&namespace), Some(&d.name)));
        }
    }

    /// Whether pods of the old ReplicaSets still run (upstream `oldPodsRunning`).
    fn old_pods_running(&self, old: &[&ReplicaSet], new: Option<&ReplicaSet>) -> bool {
        if util::actual_sum(old.iter().copied()) > 0 {
            return true;
        }
        let new_uid = new.and_then(|rs| rs.metadata.uid.as_deref());
        let old_uids: Vec<&str> = old
            .iter()
            .filter_map(|rs| rs.metadata.uid.as_deref())
            .collect();
        self.pods.state().iter().any(|pod| {
            controller_ref(&pod.metadata).is_some_and(|r| {
                Some(r.uid.as_str()) != new_uid && old_uids.contains(&r.uid.as_str())
            }) && !is_pod_terminal(pod)
        })
    }

    /// Upstream `syncDeployment`: returns when to sync again, if ever.
    pub async fn sync(&self, key: &str) -> Result<Option<Duration>, SyncError> {
        let (namespace, name) = key.split_once('/').unwrap_or(("", key));
        let Some(d) = self
            .deployments
            .get(&ObjectRef::new(name).within(namespace))
        else {
            return Ok(None);
        };
        let rses: Vec<ReplicaSet> = self
            .replica_sets
            .state()
            .iter()
            .filter(|rs| rs.metadata.namespace.as_deref() == Some(namespace))
            .map(|rs| (**rs).clone())
            .collect();
        let plan = plan::plan(
            &d,
            &rses,
            &|old, new| self.old_pods_running(old, new),
            jiff::Timestamp::now(),
        );
        let err = |source| SyncError::Api {
            key: key.to_owned(),
            source,
        };
        let rs_api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), namespace);
        let uid = d.metadata.uid.clone().unwrap_or_default();
        for rs in &plan.adopt {
            let owner = crate::replicaset::plan::controller_owner(KIND, name, &uid);
            let patch = json!({"metadata": {"ownerReferences": [owner]}});
            rs_api
                .patch(rs, &params(), &Patch::Strategic(patch))
                .await
                .map_err(err)?;
        }
        for rs in &plan.release {
            let patch =
                json!({"metadata": {"ownerReferences": [{"$patch": "delete", "uid": uid}]}});
            rs_api
                .patch(rs, &params(), &Patch::Strategic(patch))
                .await
                .map_err(err)?;
        }
        for action in &plan.actions {
            match action {
                Action::Create(rs) => {
                    if let Err(e) = rs_api.create(&PostParams::default(), rs).await {
                        return Err(self.on_create_error(key, &d, rs, e).await);
                    }
                }
                Action::Update(rs) => {
                    let rs_name = rs.metadata.name.clone().unwrap_or_default();
                    rs_api
                        .replace(&rs_name, &PostParams::default(), rs)
                        .await
                        .map_err(err)?;
                }
                Action::Delete(rs_name) => {
                    match rs_api.delete(rs_name, &DeleteParams::default()).await {
                        Ok(_) => {}
                        Err(kube::Error::Api(s)) if s.code == 404 => {}
                        Err(e) => return Err(err(e)),
                    }
                }
            }
        }
        for (reason, message) in &plan.events {
            self.recorder
                .record_on(KIND, &d.metadata, NORMAL, reason, message);
        }
        if let Some(updated) = &plan.deployment {
            let api: Api<Deployment> = Api::namespaced(self.client.clone(), namespace);
            // Upstream writes the revision annotation and status together through UpdateStatus.
            api.replace_status(name, &PostParams::default(), updated)
                .await
                .map_err(err)?;
        }
        Ok(plan.requeue_after_seconds.map(Duration::from_secs))
    }

    /// A failed create of the new ReplicaSet: an existing one with the same name and template
    /// is fine (the cache lagged); any other owner means a hash collision (upstream
    /// `getNewReplicaSet` AlreadyExists handling).
    async fn on_create_error(
        &self,
        key: &str,
        d: &Deployment,
        rs: &ReplicaSet,
        e: kube::Error,
    ) -> SyncError {
        let err = |source| SyncError::Api {
            key: key.to_owned(),
            source,
        };
        if !matches!(&e, kube::Error::Api(s) if s.code == 409) {
            return err(e);
        }
        let namespace = d.metadata.namespace.clone().unwrap_or_default();
        let rs_api: Api<ReplicaSet> = Api::namespaced(self.client.clone(), &namespace);
        let name = rs.metadata.name.clone().unwrap_or_default();
        let existing = match rs_api.get(&name).await {
            Ok(existing) => existing,
            Err(e) => return err(e),
        };
        let ours = controller_ref(&existing.metadata)
            .is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref());
        let same = match (
            existing.spec.as_ref().and_then(|s| s.template.as_ref()),
            d.spec.as_ref().map(|s| &s.template),
        ) {
            (Some(a), Some(b)) => util::equal_ignore_hash(a, b),
            _ => false,
        };
        if ours && same {
            return err(e);
        }
        let count = d
            .status
            .as_ref()
            .and_then(|s| s.collision_count)
            .unwrap_or(0)
            + 1;
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &namespace);
        let patch = json!({"status": {"collisionCount": count}});
        let d_name = d.metadata.name.clone().unwrap_or_default();
        if let Err(e) = api
            .patch_status(&d_name, &params(), &Patch::Merge(&patch))
            .await
        {
            return err(e);
        }
        SyncError::HashCollision {
            key: key.to_owned(),
            count,
        }
    }
}
