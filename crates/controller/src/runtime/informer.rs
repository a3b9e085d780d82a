//! Informers: a watch per kind feeding a cache, calling back with the old and new state of each
//! object so handlers can map changes to DaemonSet keys (client-go's shared informer, reduced).

use std::fmt::Debug;
use std::sync::Arc;

use futures::StreamExt;
use kube::Resource;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::{WatchStreamExt, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::watch as signal;

/// A change of one cached object: `(old, new)`; `new` is `None` for a deletion.
pub type Change<K> = (Option<Arc<K>>, Option<Arc<K>>);

/// A started informer: its cache and whether the first list has completed.
pub struct Informer<K: Resource<DynamicType = ()> + 'static> {
    pub store: Store<K>,
    synced: signal::Receiver<bool>,
}

impl<K> Informer<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// Watches every `K` in the cluster; `on_change` runs for each change after the cache has it,
    /// and with `(None, None)` once after each complete (re)list so handlers can resync.
    pub fn spawn(client: kube::Client, on_change: impl Fn(Change<K>) + Send + 'static) -> Self {
        let mut writer: Writer<K> = Writer::default();
        let store = writer.as_reader();
        let (synced_tx, synced) = signal::channel(false);
        let api: Api<K> = Api::all(client);
        tokio::spawn(async move {
            let mut events = watcher(api, watcher::Config::default())
                .default_backoff()
                .boxed();
            let reader = writer.as_reader();
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
                writer.apply_watcher_event(&event);
                match event {
                    watcher::Event::Apply(object) => on_change((old, Some(Arc::new(object)))),
                    watcher::Event::Delete(object) => {
                        on_change((old.or_else(|| Some(Arc::new(object))), None));
                    }
                    watcher::Event::InitDone => {
                        synced_tx.send_replace(true);
                        on_change((None, None));
                    }
                    watcher::Event::Init | watcher::Event::InitApply(_) => {}
                }
            }
        });
        Self { store, synced }
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
