//! The object store: current state in memory, a durable SQLite log behind one group-committing writer.
//!
//! Reads (`get`, `list`, watch replay) never touch SQLite: they clone `Arc`s out of the in-memory
//! tables under a short read lock. Every write goes through the single writer thread
//! ([`writer`]), which assigns the next global revision (the resourceVersion), commits a batch of
//! writes in one SQLite transaction, and only then publishes the new objects to memory and to
//! watchers and acknowledges the callers. A write is therefore acknowledged only once it is durable.

mod sqlite;
mod watch;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde_json::Value;

pub use watch::{EventType, WatchEvent, WatchOutcome, Watcher};
pub use writer::WriteError;

/// The storage name of a resource: its plural, qualified by group unless core (`pods`, `daemonsets.apps`).
pub type ResourceName = &'static str;

/// One stored revision of one object, serialized once and shared by every reader.
#[derive(Debug)]
pub struct StoredObject {
    pub resource: ResourceName,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The revision that wrote this state; equals `metadata.resourceVersion` inside `json`.
    pub revision: u64,
    /// The object as compact JSON, `metadata.resourceVersion` included.
    pub json: Bytes,
    pub labels: BTreeMap<String, String>,
    /// The values of the kind's selectable fields (field selectors match on these).
    pub fields: Vec<(&'static str, String)>,
}

impl StoredObject {
    /// Parses the stored JSON back into a value (for updates and server-side printing).
    pub fn value(&self) -> Value {
        // The bytes were produced by serde_json from a Value, so they always parse.
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        match name {
            "metadata.name" => Some(&self.name),
            "metadata.namespace" => Some(&self.namespace),
            _ => self
                .fields
                .iter()
                .find(|(field, _)| *field == name)
                .map(|(_, value)| value.as_str()),
        }
    }
}

/// What a writer needs besides the object itself: the values readers filter on.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub uid: String,
    pub labels: BTreeMap<String, String>,
    pub fields: Vec<(&'static str, String)>,
}

/// Conditions a write requires of the stored object, checked inside the writer (compare-and-swap).
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    pub resource_version: Option<u64>,
    pub uid: Option<String>,
}

/// One requested change of one object.
#[derive(Debug)]
pub enum Change {
    /// Fails with [`WriteError::AlreadyExists`] if the key is taken.
    Create { object: Value, index: Index },
    /// Fails with [`WriteError::NotFound`] if absent, [`WriteError::Conflict`] if preconditions fail.
    Update {
        object: Value,
        index: Index,
        preconditions: Preconditions,
    },
    /// Removes the object; the DELETED event carries its last state at the new revision.
    Delete { preconditions: Preconditions },
}

/// The key of an object in the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub resource: ResourceName,
    pub namespace: String,
    pub name: String,
}

type Table = BTreeMap<(String, String), Arc<StoredObject>>;

#[derive(Default)]
pub(crate) struct Tables {
    by_resource: HashMap<ResourceName, Table>,
}

impl Tables {
    fn get(&self, key: &Key) -> Option<Arc<StoredObject>> {
        self.by_resource
            .get(key.resource)?
            .get(&(key.namespace.clone(), key.name.clone()))
            .cloned()
    }

    fn put(&mut self, object: Arc<StoredObject>) {
        self.by_resource
            .entry(object.resource)
            .or_default()
            .insert((object.namespace.clone(), object.name.clone()), object);
    }

    fn remove(&mut self, key: &Key) {
        if let Some(table) = self.by_resource.get_mut(key.resource) {
            table.remove(&(key.namespace.clone(), key.name.clone()));
        }
    }
}

/// Tuning of the store, mostly for tests and benchmarks.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most writes committed in one transaction; 1 disables group commit (benchmark baseline).
    pub max_batch: usize,
    /// How many events the watch window keeps before older resourceVersions expire (410).
    pub watch_window: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_batch: 512,
            watch_window: 50_000,
        }
    }
}

/// A page of a list: the objects and the revision the list was taken at.
pub struct Listing {
    pub items: Vec<Arc<StoredObject>>,
    pub revision: u64,
    /// The key of the last item when the page was cut short by a limit.
    pub continue_after: Option<(String, String)>,
}

/// Why a list at a given revision cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListError {
    /// The revision is older than the watch window keeps (upstream: compacted).
    Compacted { oldest: u64 },
    /// The revision has not been reached yet.
    TooLarge { current: u64 },
}

type KeyBound = (
    std::ops::Bound<(String, String)>,
    std::ops::Bound<(String, String)>,
);

/// Where a listing starts: after the continue key, else at the namespace's first key.
fn lower_bound(start_after: Option<&(String, String)>, namespace: Option<&str>) -> KeyBound {
    use std::ops::Bound;
    let lower = match (start_after, namespace) {
        (Some(after), _) => Bound::Excluded(after.clone()),
        (None, Some(ns)) => Bound::Included((ns.to_owned(), String::new())),
        (None, None) => Bound::Unbounded,
    };
    (lower, Bound::Unbounded)
}

/// Cuts one page out of `objects` (in key order; `None` entries do not exist at the listed
/// revision): those in `namespace` that `filter` accepts, at most `limit` (0 = all).
fn page<'a>(
    objects: impl Iterator<Item = (&'a (String, String), Option<&'a Arc<StoredObject>>)>,
    namespace: Option<&str>,
    limit: usize,
    filter: &impl Fn(&StoredObject) -> bool,
    revision: u64,
) -> Listing {
    let mut items: Vec<Arc<StoredObject>> = Vec::new();
    let mut continue_after = None;
    for ((ns, _), object) in objects {
        if let Some(wanted) = namespace
            && ns.as_str() != wanted
        {
            break;
        }
        let Some(object) = object else {
            continue;
        };
        if !filter(object) {
            continue;
        }
        if limit > 0 && items.len() == limit {
            if let Some(last) = items.last() {
                continue_after = Some((last.namespace.clone(), last.name.clone()));
            }
            break;
        }
        items.push(object.clone());
    }
    Listing {
        items,
        revision,
        continue_after,
    }
}

/// Merges two iterators that are each in key order and share no key.
struct MergeByKey<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<'a, V, A, B> Iterator for MergeByKey<A, B>
where
    A: Iterator<Item = (&'a (String, String), V)>,
    B: Iterator<Item = (&'a (String, String), V)>,
{
    type Item = (&'a (String, String), V);

    fn next(&mut self) -> Option<Self::Item> {
        match (self.a.peek(), self.b.peek()) {
            (Some((a, _)), Some((b, _))) if b < a => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

/// The shared handle to the store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    tables: RwLock<Tables>,
    window: watch::Window,
    writer: writer::WriterHandle,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("failed to open the store at {path}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("failed to load stored object {key}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("unknown resource {0} in the store (written by a newer everynode?)")]
    UnknownResource(String),
}

impl Store {
    /// Opens (or creates) the store at `path`; `None` keeps it in memory only (tests).
    ///
    /// `resolve` maps a stored resource name to its static name, `index` recomputes what readers
    /// filter on for each loaded object.
    pub fn open(
        path: Option<&Path>,
        options: StoreOptions,
        resolve: impl Fn(&str) -> Option<ResourceName>,
        index: impl Fn(ResourceName, &Value) -> Index,
    ) -> Result<Self, OpenError> {
        let mut db = sqlite::Db::open(path)?;
        let mut tables = Tables::default();
        let revision = db.load(|resource, namespace, name, revision, data| {
            let key = format!("{resource}/{namespace}/{name}");
            let resource =
                resolve(resource).ok_or_else(|| OpenError::UnknownResource(resource.to_owned()))?;
            let value: Value = serde_json::from_slice(data).map_err(|e| OpenError::Corrupt {
                key: key.clone(),
                reason: e.to_string(),
            })?;
            let index = index(resource, &value);
            tables.put(Arc::new(StoredObject {
                resource,
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                uid: index.uid,
                revision,
                json: Bytes::copy_from_slice(data),
                labels: index.labels,
                fields: index.fields,
            }));
            Ok(())
        })?;
        let window = watch::Window::new(revision, options.watch_window);
        let inner = Arc::new_cyclic(|weak: &std::sync::Weak<Inner>| {
            let writer = writer::spawn(db, revision, options.max_batch, weak.clone());
            Inner {
                tables: RwLock::new(tables),
                window,
                writer,
            }
        });
        Ok(Self { inner })
    }

    /// The newest committed revision.
    pub fn revision(&self) -> u64 {
        self.inner.window.revision()
    }

    pub fn get(&self, key: &Key) -> Option<Arc<StoredObject>> {
        self.read_tables().get(key)
    }

    /// Lists a resource in one namespace (or all with `None`), in key order, after `start_after`,
    /// keeping those `filter` accepts, at most `limit` of them (0 = no limit).
    pub fn list(
        &self,
        resource: ResourceName,
        namespace: Option<&str>,
        start_after: Option<&(String, String)>,
        limit: usize,
        filter: impl Fn(&StoredObject) -> bool,
    ) -> Listing {
        let tables = self.read_tables();
        // Read under the tables lock: the writer publishes a revision while holding the write
        // lock, so this is exactly the revision the listed state reflects.
        let revision = self.revision();
        let lower = lower_bound(start_after, namespace);
        let objects = tables
            .by_resource
            .get(resource)
            .into_iter()
            .flat_map(move |table| table.range(lower.clone()))
            .map(|(key, object)| (key, Some(object)));
        page(objects, namespace, limit, &filter, revision)
    }

    /// [`Store::list`] as the state was at `revision` (upstream's Exact match and consistent
    /// continuation). The state is rebuilt from the current tables by undoing the events
    /// after `revision`, so it needs the watch window to still hold all of them.
    pub fn list_at(
        &self,
        resource: ResourceName,
        namespace: Option<&str>,
        start_after: Option<&(String, String)>,
        limit: usize,
        revision: u64,
        filter: impl Fn(&StoredObject) -> bool,
    ) -> Result<Listing, ListError> {
        let tables = self.read_tables();
        let current = self.revision();
        if revision > current {
            return Err(ListError::TooLarge { current });
        }
        // The state at `revision` of every key changed since: undo the events newest first, so
        // what stays is the state before the oldest change after `revision`.
        let mut undone: BTreeMap<(String, String), Option<Arc<StoredObject>>> = BTreeMap::new();
        self.inner
            .window
            .each_after_newest_first(revision, |event| {
                if event.object.resource == resource {
                    let key = (event.object.namespace.clone(), event.object.name.clone());
                    undone.insert(key, event.previous.clone());
                }
            })
            .map_err(|oldest| ListError::Compacted { oldest })?;
        let lower = lower_bound(start_after, namespace);
        let table_lower = lower.clone();
        let now = tables
            .by_resource
            .get(resource)
            .into_iter()
            .flat_map(move |table| table.range(table_lower.clone()))
            .filter(|(key, _)| !undone.contains_key(*key))
            .map(|(key, object)| (key, Some(object)));
        let before = undone
            .range(lower)
            .map(|(key, object)| (key, object.as_ref()));
        let merged = MergeByKey {
            a: now.peekable(),
            b: before.peekable(),
        };
        Ok(page(merged, namespace, limit, &filter, revision))
    }

    /// Waits until the store has reached `revision`, at most `timeout`; returns whether it did.
    pub async fn wait_for_revision(&self, revision: u64, timeout: std::time::Duration) -> bool {
        self.inner.window.wait_for(revision, timeout).await
    }

    /// Applies one change durably; returns the stored result (for deletes, the final state).
    pub async fn write(&self, key: Key, change: Change) -> Result<Arc<StoredObject>, WriteError> {
        self.inner.writer.submit(key, change).await
    }

    /// Starts watching every change after `from_revision` (`None`: from now on).
    pub fn watch(&self, from_revision: Option<u64>) -> Result<Watcher, WatchOutcome> {
        self.inner.window.watcher(from_revision)
    }

    fn read_tables(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        // A poisoned lock means a writer panicked mid-update; the tables are still consistent
        // because the writer mutates them only after commit, so keep serving.
        self.inner
            .tables
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
