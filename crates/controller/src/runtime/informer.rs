//! Informers: a watch per kind feeding a cache, calling back with the old and new state of each
//! object so handlers can map changes to DaemonSet keys (client-go's shared informer, reduced).

use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::watch as signal;

/// A change of one cached object: `(old, new)`; `new` is `None` for a deletion.
pub type Change<K> = (Option<Arc<K>>, Option<Arc<K>>);

/// A callback for every change an informer sees.
type Handler<K> = Box<dyn Fn(Change<K>) + Send>;

/// A started informer: its cache, whether the first list has completed, and the handlers it
/// calls. One informer may serve several controllers, as client-go's shared informers do in
/// kube-controller-manager: one watch and one decoded copy of each object for all of them.
pub struct Informer<K: Resource<DynamicType = ()> + 'static> {
    pub store: Store<K>,
    synced: signal::Receiver<bool>,
    handlers: Arc<Mutex<Vec<Handler<K>>>>,
}

impl<K> Informer<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// Watches every `K` in the cluster; `on_change` runs for each change after the cache has it,
    /// and with `(None, None)` once after each complete (re)list so handlers can resync.
    pub fn spawn(client: kube::Client, on_change: impl Fn(Change<K>) + Send + 'static) -> Self {
        let informer = Self::spawn_shared(client);
        informer.add_handler(on_change);
        informer
    }

    /// Watches every `K` in the cluster with no handler yet; add them with [`Self::add_handler`].
    pub fn spawn_shared(client: kube::Client) -> Self {
        let mut writer: Writer<K> = Writer::default();
        let store = writer.as_reader();
        let (synced_tx, synced) = signal::channel(false);
        let handlers: Arc<Mutex<Vec<Handler<K>>>> = Arc::default();
        let dispatch = handlers.clone();
        let api: Api<K> = Api::all(client);
        tokio::spawn(async move {
            let mut events = watcher(api, watcher::Config::default())
                .default_backoff()
                .boxed();
            let reader = writer.as_reader();
            // What the cache held when a relist began: the relist's changes are reported
            // against it once the new list is complete, as client-go's Replace does.
            let mut before_relist: Option<Vec<Arc<K>>> = None;
            while let Some(event) = events.next().await {
                let event = match event {
                    Ok(event) => event,
                    Err(e) => {
                        tracing::debug!("watch of {} failed, retrying: {e}", K::plural(&()));
                        continue;
                    }
                };
                let old = match &event {
                    watcher::Event::Apply(object) | watcher::Event::Delete(object) => {
                        reader.get(&ObjectRef::from_obj(object))
                    }
                    _ => None,
                };
                // Applied and dispatched under the handlers' lock, so a handler added meanwhile
                // sees each change either in its replay or as an event, never neither.
                let handlers = lock(&dispatch);
                writer.apply_watcher_event(&event);
                let call = |change: Change<K>| {
                    for handler in handlers.iter() {
                        handler(change.clone());
                    }
                };
                match event {
                    watcher::Event::Apply(object) => {
                        // The cache's own copy, so handlers that keep it share it.
                        let new = reader
                            .get(&ObjectRef::from_obj(&object))
                            .unwrap_or_else(|| Arc::new(object));
                        call((old, Some(new)));
                    }
                    watcher::Event::Delete(object) => {
                        call((old.or_else(|| Some(Arc::new(object))), None));
                    }
                    watcher::Event::InitDone => {
                        if let Some(before) = before_relist.take() {
                            for change in relist_changes(before, reader.state()) {
                                call(change);
                            }
                        }
                        synced_tx.send_replace(true);
                        call((None, None));
                    }
                    watcher::Event::Init => before_relist = Some(reader.state()),
                    watcher::Event::InitApply(_) => {}
                }
            }
        });
        Self {
            store,
            synced,
            handlers,
        }
    }

    /// Adds a handler. Like client-go's `AddEventHandler`, a handler added after objects are
    /// cached first gets each of them as an addition, then `(None, None)` if the cache has
    /// synced, and then every later change.
    pub fn add_handler(&self, on_change: impl Fn(Change<K>) + Send + 'static) {
        let mut handlers = lock(&self.handlers);
        for object in self.store.state() {
            on_change((None, Some(object)));
        }
        if *self.synced.borrow() {
            on_change((None, None));
        }
        handlers.push(Box::new(on_change));
    }

    /// Returns once the first list is in the cache.
    pub async fn wait_synced(&self) {
        let mut synced = self.synced.clone();
        while !*synced.borrow() {
            if synced.changed().await.is_err() {
                return;
            }
        }
    }
}

/// The pod and node informers of one process, shared by its controllers (and, in `everynode
/// up`, its simulated cluster): the two kinds every component watches, decoded once.
#[derive(Clone)]
pub struct SharedInformers {
    /// Every pod in the cluster.
    pub pods: Arc<Informer<Pod>>,
    /// Every node in the cluster.
    pub nodes: Arc<Informer<Node>>,
}

impl SharedInformers {
    /// Starts both watches; handlers are added by the components that use them.
    pub fn spawn(client: &kube::Client) -> Self {
        Self {
            pods: Arc::new(Informer::spawn_shared(client.clone())),
            nodes: Arc::new(Informer::spawn_shared(client.clone())),
        }
    }
}

/// Locks a handler list; a handler that panicked leaves the list itself intact.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The changes between the cache before and after a relist: objects that appeared, changed or
/// disappeared while the watch was down.
fn relist_changes<K: Resource<DynamicType = ()>>(
    before: Vec<Arc<K>>,
    after: Vec<Arc<K>>,
) -> Vec<Change<K>> {
    let mut old: std::collections::HashMap<ObjectRef<K>, Arc<K>> = before
        .into_iter()
        .map(|object| (ObjectRef::from_obj(object.as_ref()), object))
        .collect();
    let mut changes = Vec::new();
    for object in after {
        match old.remove(&ObjectRef::from_obj(object.as_ref())) {
            None => changes.push((None, Some(object))),
            Some(previous) => {
                if previous.meta().resource_version != object.meta().resource_version {
                    changes.push((Some(previous), Some(object)));
                }
            }
        }
    }
    changes.extend(old.into_values().map(|gone| (Some(gone), None)));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn pod(name: &str, version: &str) -> Arc<Pod> {
        let mut pod = Pod::default();
        pod.metadata.name = Some(name.into());
        pod.metadata.namespace = Some("ns".into());
        pod.metadata.resource_version = Some(version.into());
        Arc::new(pod)
    }

    #[test]
    fn a_relist_reports_what_appeared_changed_and_disappeared() {
        let before = vec![pod("same", "1"), pod("changed", "1"), pod("gone", "1")];
        let after = vec![pod("same", "1"), pod("changed", "2"), pod("new", "3")];
        let changes = relist_changes(before, after);
        let names = |change: &Change<Pod>| {
            let name = |p: &Option<Arc<Pod>>| p.as_ref().and_then(|p| p.metadata.name.clone());
            (name(&change.0), name(&change.1))
        };
        let mut seen: Vec<_> = changes.iter().map(names).collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![
                (None, Some("new".to_owned())),
                (Some("changed".to_owned()), Some("changed".to_owned())),
                (Some("gone".to_owned()), None),
            ]
        );
    }
}
