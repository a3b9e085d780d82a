//! Small write helpers shared by the components: events, status merge patches, and error classification.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};

/// Whether the API answered with this HTTP status code.
pub(crate) fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

/// 404: the object is already gone.
pub(crate) fn is_not_found(error: &kube::Error) -> bool {
    is_status(error, 404)
}

/// A reference to a pod for an event's `involvedObject`.
pub(crate) fn pod_reference(pod: &Pod) -> ObjectReference {
    ObjectReference {
        api_version: Some("v1".to_string()),
        kind: Some("Pod".to_string()),
        namespace: pod.metadata.namespace.clone(),
        name: pod.metadata.name.clone(),
        uid: pod.metadata.uid.clone(),
        resource_version: pod.metadata.resource_version.clone(),
        ..ObjectReference::default()
    }
}

/// Records a core/v1 Event (what `kubectl describe` lists) in the involved object's namespace.
pub(crate) async fn record_event(
    client: &Client,
    involved: ObjectReference,
    type_: &str,
    reason: &str,
    message: &str,
    component: &str,
) -> Result<(), kube::Error> {
    let now = Timestamp::now();
    let namespace = involved
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_string());
    // Upstream names events `<involvedObject.name>.<hex nanos>`.
    let name = format!(
        "{}.{:x}",
        involved.name.as_deref().unwrap_or("object"),
        now.as_nanosecond()
    );
    let time = Time(everynode_core::duration::truncate_to_seconds(now));
    let event = Event {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.clone()),
            ..ObjectMeta::default()
        },
        involved_object: involved,
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        type_: Some(type_.to_string()),
        source: Some(EventSource {
            component: Some(component.to_string()),
            host: None,
        }),
        first_timestamp: Some(time.clone()),
        last_timestamp: Some(time),
        count: Some(1),
        reporting_component: Some(component.to_string()),
        reporting_instance: Some(component.to_string()),
        ..Event::default()
    };
    Api::<Event>::namespaced(client.clone(), &namespace)
        .create(&PostParams::default(), &event)
        .await
        .map(|_| ())
}

/// JSON merge patch of `pods/<name>/status` (lists are replaced whole, so callers send the full
/// list they mean).
pub(crate) async fn patch_pod_status(
    client: &Client,
    namespace: &str,
    name: &str,
    patch: &serde_json::Value,
) -> Result<Pod, kube::Error> {
    Api::<Pod>::namespaced(client.clone(), namespace)
        .patch_status(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
}

/// The pod's conditions as JSON with the one of `condition["type"]` replaced by `condition`
/// (status patches carry the whole list, so the others must be kept).
pub(crate) fn conditions_with(pod: &Pod, condition: serde_json::Value) -> Vec<serde_json::Value> {
    let replaced = condition["type"].as_str().unwrap_or_default().to_owned();
    let mut conditions: Vec<serde_json::Value> = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .map(|cs| {
            cs.iter()
                .filter(|c| c.type_ != replaced)
                .filter_map(|c| serde_json::to_value(c).ok())
                .collect()
        })
        .unwrap_or_default();
    conditions.push(condition);
    conditions
}
