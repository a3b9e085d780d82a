//! Turns kube-runtime watcher events into upserts, removals and "synced" marks, relists included.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use kube::Resource;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;

/// One change to a watched collection, keyed by `namespace/name` (or `name` if cluster-scoped).
/// Objects are shared: one decoded copy serves every component that watches the kind.
#[derive(Debug)]
pub enum Change<K> {
    /// Created or modified.
    Upsert(Arc<K>),
    /// Deleted (or vanished across a relist); carries the key.
    Removed(String),
    /// The (re)list finished: the consumer has seen the whole collection.
    Synced,
}

impl<K: Resource> Change<K> {
    /// The change an informer's cache reports as `(old, new)`: `new` is the object now, `None`
    /// after a deletion; `(None, None)` marks a complete (re)list.
    pub fn from_cache(old: Option<Arc<K>>, new: Option<Arc<K>>) -> Self {
        match (old, new) {
            (_, Some(new)) => Change::Upsert(new),
            (Some(old), None) => Change::Removed(key_of(old.as_ref())),
            (None, None) => Change::Synced,
        }
    }
}

impl<K> Clone for Change<K> {
    fn clone(&self) -> Self {
        match self {
            Change::Upsert(object) => Change::Upsert(Arc::clone(object)),
            Change::Removed(key) => Change::Removed(key.clone()),
            Change::Synced => Change::Synced,
        }
    }
}

/// The cache key of an object: `namespace/name`, or `name` for cluster-scoped objects.
pub(crate) fn key_of<K: Resource>(obj: &K) -> String {
    let meta = obj.meta();
    let name = meta.name.as_deref().unwrap_or_default();
    match meta.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// Watches `api` forever (with kube-runtime's default backoff on errors) as a stream of changes.
pub(crate) fn changes<K>(api: Api<K>) -> BoxStream<'static, Change<K>>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    struct State {
        known: HashSet<String>,
        relisting: Option<HashSet<String>>,
    }
    let state = State {
        known: HashSet::new(),
        relisting: None,
    };
    watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .scan(state, |state, event| {
            let out = match event {
                Err(error) => {
                    // The watcher retries on its own; a relist follows and repairs the cache.
                    tracing::debug!(%error, "watch error");
                    Vec::new()
                }
                Ok(Event::Init) => {
                    state.relisting = Some(HashSet::new());
                    Vec::new()
                }
                Ok(Event::InitApply(obj)) => {
                    let key = key_of(&obj);
                    if let Some(seen) = &mut state.relisting {
                        seen.insert(key.clone());
                    }
                    state.known.insert(key);
                    vec![Change::Upsert(Arc::new(obj))]
                }
                Ok(Event::InitDone) => {
                    // Whatever was known before the relist and not listed again is gone.
                    let seen = state.relisting.take().unwrap_or_default();
                    let gone: Vec<String> = state
                        .known
                        .iter()
                        .filter(|k| !seen.contains(*k))
                        .cloned()
                        .collect();
                    let mut out: Vec<Change<K>> = Vec::with_capacity(gone.len() + 1);
                    for key in gone {
                        state.known.remove(&key);
                        out.push(Change::Removed(key));
                    }
                    out.push(Change::Synced);
                    out
                }
                Ok(Event::Apply(obj)) => {
                    state.known.insert(key_of(&obj));
                    vec![Change::Upsert(Arc::new(obj))]
                }
                Ok(Event::Delete(obj)) => {
                    let key = key_of(&obj);
                    state.known.remove(&key);
                    vec![Change::Removed(key)]
                }
            };
            futures::future::ready(Some(stream::iter(out)))
        })
        .flatten()
        .boxed()
}

/// Counts the `Synced` marks of several streams and fires once when all have synced once.
pub(crate) struct SyncTracker {
    pending: Vec<bool>,
    notify: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SyncTracker {
    /// A tracker for `streams` streams that signals `notify`.
    pub(crate) fn new(streams: usize, notify: tokio::sync::oneshot::Sender<()>) -> Self {
        Self {
            pending: vec![true; streams],
            notify: Some(notify),
        }
    }

    /// Records that stream `index` synced; returns true once every stream has synced.
    pub(crate) fn synced(&mut self, index: usize) -> bool {
        if let Some(p) = self.pending.get_mut(index) {
            *p = false;
        }
        let all = self.pending.iter().all(|p| !p);
        if all && let Some(tx) = self.notify.take() {
            // The receiver may be gone if nobody waits for readiness; that is fine.
            let _ = tx.send(());
        }
        all
    }

    /// Whether every stream has synced at least once.
    pub(crate) fn is_synced(&self) -> bool {
        self.notify.is_none()
    }
}

/// A component's share of the node and pod changes.
pub(crate) struct Shared {
    pub(crate) nodes: BoxStream<'static, Change<k8s_openapi::api::core::v1::Node>>,
    pub(crate) pods: BoxStream<'static, Change<k8s_openapi::api::core::v1::Pod>>,
}

/// Hands every change of `source` to `N` streams, as client-go's shared informers share one
/// watch and one decoded copy of each object between controllers. Returns the task that feeds
/// the streams (abort it to stop; it also ends once every stream is dropped) and the streams.
pub(crate) fn fan_out<K, const N: usize>(
    mut source: BoxStream<'static, Change<K>>,
) -> (
    tokio::task::JoinHandle<()>,
    [BoxStream<'static, Change<K>>; N],
)
where
    K: Send + Sync + 'static,
{
    let channels: [_; N] =
        std::array::from_fn(|_| futures::channel::mpsc::unbounded::<Change<K>>());
    let mut senders = Vec::with_capacity(N);
    let streams = channels.map(|(sender, receiver)| {
        senders.push(sender);
        receiver.boxed()
    });
    let feeder = tokio::spawn(async move {
        while let Some(change) = source.next().await {
            senders.retain(|sender| sender.unbounded_send(change.clone()).is_ok());
            if senders.is_empty() {
                return;
            }
        }
    });
    (feeder, streams)
}
