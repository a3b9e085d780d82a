//! The single writer: batches queued writes into one SQLite transaction (group commit).
//!
//! Callers queue a [`Change`] and await the reply. The writer thread takes everything queued (up to
//! `max_batch`), checks each change against the current state plus the earlier changes of the
//! same batch, assigns consecutive revisions, commits once, and only then publishes to memory and
//! watchers and replies. While one fsync runs, the next batch accumulates, so throughput grows with
//! the number of concurrent writers instead of being capped at one fsync per write.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::sqlite::{Db, RowWrite};
use super::watch::{EventType, WatchEvent};
use super::{Change, Inner, Key, Preconditions, StoredObject};

/// Why a write was refused. Mapped to Kubernetes Status errors by the HTTP layer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// A create found the key taken.
    #[error("already exists")]
    AlreadyExists,
    /// An update or delete found no object.
    #[error("not found")]
    NotFound,
    /// The stored resourceVersion differs from the one the write required.
    #[error(
        "the object has been modified; please apply your changes to the latest version and try again"
    )]
    ResourceVersionConflict,
    /// The stored UID differs from the precondition.
    #[error(
        "the UID in the precondition ({expected}) does not match the UID in record ({actual}). The object might have been deleted and then recreated"
    )]
    UidConflict { expected: String, actual: String },
    /// SQLite failed; nothing of the batch was applied.
    #[error("storage failure: {0}")]
    Storage(String),
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
}

struct Request {
    key: Key,
    change: Change,
    reply: oneshot::Sender<Result<Arc<StoredObject>, WriteError>>,
}

pub(super) struct WriterHandle {
    queue: mpsc::UnboundedSender<Request>,
}

impl WriterHandle {
    pub(super) async fn submit(
        &self,
        key: Key,
        change: Change,
    ) -> Result<Arc<StoredObject>, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Request { key, change, reply })
            .map_err(|_| WriteError::Closed)?;
        answer.await.unwrap_or(Err(WriteError::Closed))
    }
}

pub(super) fn spawn(db: Db, revision: u64, max_batch: usize, store: Weak<Inner>) -> WriterHandle {
    let (queue, requests) = mpsc::unbounded_channel();
    let writer = Writer {
        db,
        revision,
        max_batch: max_batch.max(1),
        store,
    };
    // A plain thread: SQLite calls block, and the writer must not stall the async runtime.
    std::thread::Builder::new()
        .name("store-writer".to_owned())
        .spawn(move || writer.run(requests))
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!("failed to start the store writer: {e}"));
    WriterHandle { queue }
}

struct Writer {
    db: Db,
    revision: u64,
    max_batch: usize,
    store: Weak<Inner>,
}

/// The outcome of one change inside a batch, before commit.
struct Applied {
    object: Arc<StoredObject>,
    event: EventType,
    previous: Option<Arc<StoredObject>>,
}

impl Writer {
    fn run(mut self, mut requests: mpsc::UnboundedReceiver<Request>) {
        while let Some(first) = requests.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < self.max_batch {
                match requests.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            let Some(store) = self.store.upgrade() else {
                return;
            };
            self.commit_batch(&store, batch);
        }
    }

    fn commit_batch(&mut self, store: &Inner, batch: Vec<Request>) {
        // Changes of this batch not yet visible in the tables: later requests must see them.
        let mut pending: HashMap<Key, Option<Arc<StoredObject>>> = HashMap::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut next = self.revision;
        for Request { key, change, reply } in batch {
            let current = match pending.get(&key) {
                Some(state) => state.clone(),
                None => store.tables.read().map_or(None, |tables| tables.get(&key)),
            };
            let result = apply(&key, change, current, next + 1);
            if let Ok(applied) = &result {
                next += 1;
                let after = match applied.event {
                    EventType::Deleted => None,
                    _ => Some(applied.object.clone()),
                };
                pending.insert(key.clone(), after);
            }
            outcomes.push((key, result, reply));
        }
        if next == self.revision {
            // Nothing to commit: every change was refused.
            for (_, result, reply) in outcomes {
                let _ = reply.send(result.map(|applied| applied.object));
            }
            return;
        }
        let rows: Vec<RowWrite<'_>> = outcomes
            .iter()
            .filter_map(|(key, result, _)| {
                let applied = result.as_ref().ok()?;
                Some(match applied.event {
                    EventType::Deleted => RowWrite::Delete {
                        resource: key.resource,
                        namespace: &key.namespace,
                        name: &key.name,
                    },
                    _ => RowWrite::Put {
                        resource: key.resource,
                        namespace: &key.namespace,
                        name: &key.name,
                        revision: applied.object.revision,
                        data: &applied.object.json,
                    },
                })
            })
            .collect();
        if let Err(e) = self.db.commit(&rows, next) {
            tracing::error!("store commit failed: {e}");
            let failure = WriteError::Storage(e.to_string());
            for (_, result, reply) in outcomes {
                let _ = reply.send(result.and(Err(failure.clone())));
            }
            return;
        }
        drop(rows);
        self.revision = next;
        let mut events = Vec::new();
        {
            let mut tables = store
                .tables
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for (key, result, _) in &outcomes {
                if let Ok(applied) = result {
                    match applied.event {
                        EventType::Deleted => tables.remove(key),
                        _ => tables.put(applied.object.clone()),
                    }
                    events.push(Arc::new(WatchEvent {
                        event: applied.event,
                        object: applied.object.clone(),
                        previous: applied.previous.clone(),
                    }));
                }
            }
            store.window.publish(events, next);
        }
        for (_, result, reply) in outcomes {
            let _ = reply.send(result.map(|applied| applied.object));
        }
    }
}

fn check(preconditions: &Preconditions, current: &StoredObject) -> Result<(), WriteError> {
    if let Some(expected) = preconditions.resource_version
        && expected != current.revision
    {
        return Err(WriteError::ResourceVersionConflict);
    }
    if let Some(expected) = &preconditions.uid
        && *expected != current.uid
    {
        return Err(WriteError::UidConflict {
            expected: expected.clone(),
            actual: current.uid.clone(),
        });
    }
    Ok(())
}

fn apply(
    key: &Key,
    change: Change,
    current: Option<Arc<StoredObject>>,
    revision: u64,
) -> Result<Applied, WriteError> {
    match change {
        Change::Create { object, index } => {
            if current.is_some() {
                return Err(WriteError::AlreadyExists);
            }
            Ok(Applied {
                object: stamp(key, object, index, revision),
                event: EventType::Added,
                previous: None,
            })
        }
        Change::Update {
            object,
            index,
            preconditions,
        } => {
            let current = current.ok_or(WriteError::NotFound)?;
            check(&preconditions, &current)?;
            Ok(Applied {
                object: stamp(key, object, index, revision),
                event: EventType::Modified,
                previous: Some(current),
            })
        }
        Change::Delete { preconditions } => {
            let current = current.ok_or(WriteError::NotFound)?;
            check(&preconditions, &current)?;
            let index = super::Index {
                uid: current.uid.clone(),
                labels: current.labels.clone(),
                fields: current.fields.clone(),
            };
            // The DELETED event carries the last state at the deleting revision, as upstream does.
            Ok(Applied {
                object: stamp(key, current.value(), index, revision),
                event: EventType::Deleted,
                previous: Some(current),
            })
        }
    }
}

/// Writes the revision into the object and serializes it: the only serialization of this state.
fn stamp(key: &Key, mut object: Value, index: super::Index, revision: u64) -> Arc<StoredObject> {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert(
            "resourceVersion".to_owned(),
            Value::String(revision.to_string()),
        );
    }
    let json = serde_json::to_vec(&object).unwrap_or_default();
    Arc::new(StoredObject {
        resource: key.resource,
        namespace: key.namespace.clone(),
        name: key.name.clone(),
        uid: index.uid,
        revision,
        json: Bytes::from(json),
        labels: index.labels,
        fields: index.fields,
    })
}
