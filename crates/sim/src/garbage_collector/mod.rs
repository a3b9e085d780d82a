//! The garbage collector: deletes dependents whose owners are gone and carries out the `orphan`
//! and `foregroundDeletion` finalizers, all through the API, as kube-controller-manager's does.
//!
//! The decisions live in [`graph`]; this module watches the metadata of every deletable kind
//! discovery shows (metadata-only watches, as upstream's metadata informers), feeds the graph,
//! and carries out what it decides.

pub mod graph;

use std::collections::BTreeSet;

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use kube::core::{ApiResource, ObjectMeta, PartialObjectMeta};
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::json;
use tokio::sync::watch as signal;

use graph::{Action, Graph, Node, ObjectRef, Owner};

/// How often a read-modify-write of a dependent or owner is retried on conflict.
const WRITE_ATTEMPTS: usize = 5;

/// Why the collector could not start.
#[derive(Debug, thiserror::Error)]
pub enum GcError {
    /// The watches ended before every kind was listed once.
    #[error("the garbage collector stopped before its caches synced")]
    NotSynced,
    /// Discovery of the deletable kinds failed.
    #[error("the garbage collector could not discover the served kinds: {0}")]
    Discovery(#[from] kube::Error),
}

/// One kind the collector watches: how to reach it and whether it is namespaced.
struct WatchedKind {
    resource: ApiResource,
    namespaced: bool,
}

/// Kinds never watched even though they can be deleted: events carry no ownerReferences that
/// matter and would only cost (upstream's `DefaultIgnoredResources`).
const IGNORED: [(&str, &str); 2] = [("", "events"), ("events.k8s.io", "events")];

/// Every served kind that can be listed, watched and deleted, from discovery, as upstream's
/// `GetDeletableResources`: anything can own or be owned.
async fn watched_kinds(client: &kube::Client) -> Result<Vec<WatchedKind>, kube::Error> {
    let discovery = Discovery::new(client.clone()).run_aggregated().await?;
    let mut kinds = Vec::new();
    for group in discovery.groups() {
        for (resource, capabilities) in group.recommended_resources() {
            let deletable = [verbs::LIST, verbs::WATCH, verbs::DELETE]
                .iter()
                .all(|verb| capabilities.supports_operation(verb));
            let ignored = IGNORED.contains(&(resource.group.as_str(), resource.plural.as_str()));
            if deletable && !ignored {
                kinds.push(WatchedKind {
                    namespaced: capabilities.scope == Scope::Namespaced,
                    resource,
                });
            }
        }
    }
    Ok(kinds)
}

/// The running collector; dropping the handle does not stop it, [`GcHandle::stop`] does.
pub struct GcHandle {
    task: tokio::task::JoinHandle<()>,
}

impl GcHandle {
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Starts the collector and returns once every watched kind has been listed.
pub async fn start(client: kube::Client) -> Result<GcHandle, GcError> {
    let (synced_tx, mut synced_rx) = signal::channel(false);
    let collector = Collector {
        client: client.clone(),
        kinds: watched_kinds(&client).await?,
        graph: Graph::default(),
    };
    let task = tokio::spawn(collector.run(synced_tx));
    while !*synced_rx.borrow() {
        if synced_rx.changed().await.is_err() {
            return Err(GcError::NotSynced);
        }
    }
    Ok(GcHandle { task })
}

struct Collector {
    client: kube::Client,
    kinds: Vec<WatchedKind>,
    graph: Graph,
}

impl Collector {
    async fn run(mut self, synced_tx: signal::Sender<bool>) {
        let streams = self.kinds.iter().enumerate().map(|(index, kind)| {
            let api: Api<PartialObjectMeta<DynamicObject>> =
                Api::all_with(self.client.clone(), &kind.resource);
            // Backoff between failed watches: without it a closed server turns the loop into a
            // busy spin that never yields (and a runtime shutting down waits on it forever).
            watcher(api, watcher::Config::default())
                .default_backoff()
                .map(move |event| (index, event))
                .boxed()
        });
        let mut events = futures::stream::select_all(streams);
        let mut synced = vec![false; self.kinds.len()];
        let mut pending: BTreeSet<String> = BTreeSet::new();
        while let Some((kind, event)) = events.next().await {
            match event {
                Ok(watcher::Event::Init) => self.graph.clear_kind(kind),
                Ok(watcher::Event::InitApply(object) | watcher::Event::Apply(object)) => {
                    if let Some(node) = self.to_node(kind, &object.metadata) {
                        pending.extend(self.graph.upsert(node));
                    }
                }
                Ok(watcher::Event::Delete(object)) => {
                    if let Some(uid) = &object.metadata.uid {
                        pending.extend(self.graph.remove(uid));
                    }
                }
                Ok(watcher::Event::InitDone) => {
                    synced[kind] = true;
                    if synced.iter().all(|s| *s) {
                        synced_tx.send_replace(true);
                    }
                }
                Err(e) => tracing::debug!("garbage collector watch error: {e}"),
            }
            // Absence means something only once every kind has been listed.
            if synced.iter().all(|s| *s) {
                for uid in std::mem::take(&mut pending) {
                    for action in self.graph.decide(&uid) {
                        self.carry_out(action).await;
                    }
                }
            }
        }
    }

    fn to_node(&self, kind: usize, meta: &ObjectMeta) -> Option<Node> {
        let uid = meta.uid.clone()?;
        let owners = meta
            .owner_references
            .iter()
            .flatten()
            .map(|reference| Owner {
                uid: reference.uid.clone(),
                kind: self.kinds.iter().position(|k| {
                    k.resource.kind == reference.kind
                        && k.resource.api_version == reference.api_version
                }),
                name: reference.name.clone(),
                block_owner_deletion: reference.block_owner_deletion == Some(true),
            })
            .collect();
        Some(Node {
            object: ObjectRef {
                kind,
                namespace: meta.namespace.clone(),
                name: meta.name.clone()?,
                uid,
            },
            owners,
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
        })
    }

    fn api(&self, kind: usize, namespace: Option<&str>) -> Option<Api<DynamicObject>> {
        let watched = self.kinds.get(kind)?;
        Some(match (watched.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &watched.resource),
            (true, None) => return None,
            (false, _) => Api::all_with(self.client.clone(), &watched.resource),
        })
    }

    async fn carry_out(&self, action: Action) {
        let result = match action {
            Action::Delete { object, foreground } => self.delete(&object, foreground).await,
            Action::RemoveOwners { object, owners } => self.remove_owners(&object, &owners).await,
            Action::RemoveFinalizer { object, finalizer } => {
                self.remove_finalizer(&object, finalizer).await
            }
            Action::ConfirmAbsent {
                dependent,
                owners,
                all_absent,
            } => self.confirm_absent(&dependent, &owners, all_absent).await,
        };
        if let Err(e) = result {
            tracing::warn!("garbage collector: {e}");
        }
    }

    async fn delete(&self, object: &ObjectRef, foreground: bool) -> Result<(), kube::Error> {
        let Some(api) = self.api(object.kind, object.namespace.as_deref()) else {
            return Ok(());
        };
        let mut params = if foreground {
            DeleteParams::foreground()
        } else {
            DeleteParams::background()
        };
        params.preconditions = Some(Preconditions {
            uid: Some(object.uid.clone()),
            resource_version: None,
        });
        ignore_gone(api.delete(&object.name, &params).await.map(|_| ()))
    }

    /// Reads the object, removes the owner references, writes it back at that resourceVersion.
    async fn remove_owners(
        &self,
        object: &ObjectRef,
        owners: &[String],
    ) -> Result<(), kube::Error> {
        self.edit_metadata(object, |meta| {
            let Some(references) = meta.owner_references.as_mut() else {
                return false;
            };
            let before = references.len();
            references.retain(|r| !owners.contains(&r.uid));
            references.len() != before
        })
        .await
    }

    async fn remove_finalizer(
        &self,
        object: &ObjectRef,
        finalizer: &str,
    ) -> Result<(), kube::Error> {
        self.edit_metadata(object, |meta| {
            let Some(finalizers) = meta.finalizers.as_mut() else {
                return false;
            };
            let before = finalizers.len();
            finalizers.retain(|f| f != finalizer);
            finalizers.len() != before
        })
        .await
    }

    async fn edit_metadata(
        &self,
        object: &ObjectRef,
        edit: impl Fn(&mut ObjectMeta) -> bool,
    ) -> Result<(), kube::Error> {
        let Some(api) = self.api(object.kind, object.namespace.as_deref()) else {
            return Ok(());
        };
        for _ in 0..WRITE_ATTEMPTS {
            let Some(mut live) = api.get_opt(&object.name).await? else {
                return Ok(());
            };
            if live.metadata.uid.as_deref() != Some(object.uid.as_str())
                || !edit(&mut live.metadata)
            {
                return Ok(());
            }
            // A merge patch replaces lists whole; the resourceVersion makes it a compare-and-swap.
            let patch = json!({"metadata": {
                "resourceVersion": live.metadata.resource_version,
                "ownerReferences": live.metadata.owner_references,
                "finalizers": live.metadata.finalizers,
            }});
            match api
                .patch(&object.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Err(kube::Error::Api(status)) if status.code == 409 => continue,
                other => return ignore_gone(other.map(|_| ())),
            }
        }
        Ok(())
    }

    /// Owners missing from the cache may just be late: read each one live before acting.
    async fn confirm_absent(
        &self,
        dependent: &ObjectRef,
        owners: &[Owner],
        all_absent: bool,
    ) -> Result<(), kube::Error> {
        let mut gone = Vec::new();
        for owner in owners {
            let Some(kind) = owner.kind else { continue };
            let Some(api) = self.api(kind, dependent.namespace.as_deref()) else {
                continue;
            };
            match api.get_opt(&owner.name).await? {
                Some(live) if live.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {}
                _ => gone.push(owner.uid.clone()),
            }
        }
        if gone.is_empty() {
            return Ok(());
        }
        if all_absent && gone.len() == owners.len() {
            self.delete(dependent, false).await
        } else {
            self.remove_owners(dependent, &gone).await
        }
    }
}

/// A 404 or 409 (precondition) means someone else already did it.
fn ignore_gone(result: Result<(), kube::Error>) -> Result<(), kube::Error> {
    match result {
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
        other => other,
    }
}
