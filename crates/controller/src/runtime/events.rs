//! Recording core/v1 Events on DaemonSets the way client-go's recorder does: [`correlator`]
//! decides (aggregate, count repeats, drop spam), this module writes in the background.
//!
//! [`correlator`]: super::correlator

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::correlator::{Candidate, Correlator, Decision};

/// The component name upstream's DaemonSet controller reports events as.
pub const COMPONENT: &str = "daemonset-controller";

#[derive(Default)]
struct State {
    correlator: Correlator,
    /// The Event object name written for each correlation key.
    names: HashMap<String, String>,
}

/// Writes events in the background; recording never blocks or fails a sync.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    state: Arc<Mutex<State>>,
    /// The component events are reported as (`source.component`).
    component: &'static str,
}

impl Recorder {
    pub fn new(client: kube::Client) -> Self {
        Self::for_component(client, COMPONENT)
    }

    /// A recorder reporting as `component` (`deployment-controller`, `replicaset-controller`).
    pub fn for_component(client: kube::Client, component: &'static str) -> Self {
        Self {
            client,
            state: Arc::default(),
            component,
        }
    }

    /// Records `reason`/`message` of `type_` (`Normal` or `Warning`) on `ds`.
    pub fn record(&self, ds: &DaemonSet, type_: &str, reason: &str, message: &str) {
        self.record_on("DaemonSet", &ds.metadata, type_, reason, message);
    }

    /// Records an event on the apps/v1 object of `kind` with metadata `meta`.
    pub fn record_on(
        &self,
        kind: &str,
        meta: &ObjectMeta,
        type_: &str,
        reason: &str,
        message: &str,
    ) {
        let namespace = meta.namespace.clone().unwrap_or_default();
        let name = meta.name.clone().unwrap_or_default();
        let uid = meta.uid.clone().unwrap_or_default();
        let now = k8s_openapi::jiff::Timestamp::now();
        let timestamp = format!(
            "{:.0}",
            now.round(k8s_openapi::jiff::Unit::Second).unwrap_or(now)
        );
        let candidate = Candidate {
            object: uid.clone(),
            type_: type_.to_owned(),
            reason: reason.to_owned(),
            message: message.to_owned(),
        };
        let (decision, event_name) = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let decision = state.correlator.correlate(&candidate, Instant::now());
            let event_name = match &decision {
                Decision::Skip => return,
                Decision::Create { key, .. } => {
                    let event_name = format!("{name}.{:x}", now.as_nanosecond());
                    state.names.insert(key.clone(), event_name.clone());
                    event_name
                }
                Decision::Repeat { key, .. } => state.names.get(key).cloned().unwrap_or_default(),
            };
            (decision, event_name)
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let new_event = |message: &str| {
            json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": event_name, "namespace": namespace},
                "involvedObject": {
                    "apiVersion": "apps/v1", "kind": kind, "namespace": namespace,
                    "name": name, "uid": uid, "resourceVersion": meta.resource_version,
                },
                "reason": reason, "message": message, "type": type_,
                "source": {"component": self.component},
                "firstTimestamp": timestamp, "lastTimestamp": timestamp, "count": 1,
                "reportingComponent": self.component, "reportingInstance": "",
            })
        };
        let state = self.state.clone();
        let write = match decision {
            Decision::Skip => return,
            Decision::Create { message, .. } => Write::Create(new_event(&message)),
            Decision::Repeat {
                key,
                message,
                count,
            } => Write::Repeat {
                key,
                patch: json!({"count": count, "lastTimestamp": timestamp, "message": message}),
                fallback: new_event(&message),
            },
        };
        tokio::spawn(async move {
            let result = match write {
                Write::Create(event) => create(&api, event).await,
                Write::Repeat {
                    key,
                    patch,
                    fallback,
                } => {
                    match api
                        .patch(&event_name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                    {
                        // The event expired or was deleted: start over with a new one.
                        Err(kube::Error::Api(status)) if status.code == 404 => {
                            state
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .correlator
                                .forget(&key);
                            create(&api, fallback).await
                        }
                        other => other.map(|_| ()),
                    }
                }
            };
            if let Err(e) = result {
                tracing::debug!("failed to record event: {e}");
            }
        });
    }
}

/// One write to the events API.
enum Write {
    Create(serde_json::Value),
    Repeat {
        key: String,
        patch: serde_json::Value,
        fallback: serde_json::Value,
    },
}

async fn create(api: &Api<Event>, event: serde_json::Value) -> Result<(), kube::Error> {
    let event: Event = serde_json::from_value(event).map_err(kube::Error::SerdeError)?;
    api.create(&PostParams::default(), &event).await.map(|_| ())
}
