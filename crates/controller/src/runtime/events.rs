//! Recording core/v1 Events on DaemonSets the way client-go's recorder does: one Event per
//! distinct (object, type, reason, message), its count raised when it repeats.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

/// The component name upstream's DaemonSet controller reports events as.
pub const COMPONENT: &str = "daemonset-controller";

/// The name and count of an Event already written.
#[derive(Clone)]
struct Written {
    name: String,
    count: i32,
}

/// Writes events in the background; recording never blocks or fails a sync.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    seen: Arc<Mutex<HashMap<String, Written>>>,
}

impl Recorder {
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            seen: Arc::default(),
        }
    }

    /// Records `reason`/`message` of `type_` (`Normal` or `Warning`) on `ds`.
    pub fn record(&self, ds: &DaemonSet, type_: &str, reason: &str, message: &str) {
        let namespace = ds.metadata.namespace.clone().unwrap_or_default();
        let name = ds.metadata.name.clone().unwrap_or_default();
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let correlation = format!("{uid}\u{0}{type_}\u{0}{reason}\u{0}{message}");
        let now = k8s_openapi::jiff::Timestamp::now();
        let timestamp = format!(
            "{:.0}",
            now.round(k8s_openapi::jiff::Unit::Second).unwrap_or(now)
        );
        let (previous, event_name) = {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            let previous = seen.get(&correlation).cloned();
            let written = match &previous {
                Some(p) => Written {
                    name: p.name.clone(),
                    count: p.count + 1,
                },
                None => Written {
                    name: format!("{name}.{:x}", now.as_nanosecond()),
                    count: 1,
                },
            };
            let event_name = written.name.clone();
            seen.insert(correlation, written);
            (previous, event_name)
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": event_name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": "apps/v1", "kind": "DaemonSet", "namespace": namespace,
                "name": name, "uid": uid, "resourceVersion": ds.metadata.resource_version,
            },
            "reason": reason, "message": message, "type": type_,
            "source": {"component": COMPONENT},
            "firstTimestamp": timestamp, "lastTimestamp": timestamp, "count": 1,
            "reportingComponent": COMPONENT, "reportingInstance": "",
        });
        tokio::spawn(async move {
            let result = match previous {
                // A repeat raises the count of the event already written (client-go's
                // EventCorrelator), falling back to a new event if that one is gone.
                Some(written) => {
                    let patch = json!({"count": written.count + 1, "lastTimestamp": timestamp, "message": event["message"]});
                    match api
                        .patch(
                            &written.name,
                            &PatchParams::default(),
                            &Patch::Merge(&patch),
                        )
                        .await
                    {
                        Err(kube::Error::Api(status)) if status.code == 404 => {
                            create(&api, event).await
                        }
                        other => other.map(|_| ()),
                    }
                }
                None => create(&api, event).await,
            };
            if let Err(e) = result {
                tracing::debug!("failed to record event: {e}");
            }
        });
    }
}

async fn create(api: &Api<Event>, event: serde_json::Value) -> Result<(), kube::Error> {
    let event: Event = serde_json::from_value(event).map_err(kube::Error::SerdeError)?;
    api.create(&PostParams::default(), &event).await.map(|_| ())
}
