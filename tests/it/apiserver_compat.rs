//! Client compatibility: kubectl 1.27's OpenAPI v2 validation check, kubectl 1.33's v3 path, and events.k8s.io/v1 over core/v1 Events.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource, ObjectReference};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use kube::api::{Api, PostParams, WatchEvent, WatchParams};

use crate::support::{Kubectl, Server, wait_for};

fn daemonset(name: &str, extra_container_field: &str) -> String {
    format!(
        "
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
  namespace: default
spec:
  selector:
    matchLabels: {{name: {name}}}
  template:
    metadata:
      labels: {{name: {name}}}
    spec:
      containers:
      - name: agent
        image: agent:v1
        {extra_container_field}
"
    )
}

/// A manifest the server rejects with 422: the selector does not match the template labels.
const INVALID_DAEMONSET: &str = "
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: invalid
  namespace: default
spec:
  selector:
    matchLabels: {name: a}
  template:
    metadata:
      labels: {name: b}
    spec:
      containers:
      - name: c
        image: c:v1
";

#[test]
fn kubectl_1_27_validates_through_openapi_v2() {
    let server = Server::apiserver();
    let kubectl = Kubectl::version(&server.kubeconfig(), 27);
    let manifest = daemonset("agent", "");
    // -v=6 logs each request: the verifier must have read our v2 document.
    let first = kubectl.run_with_input(&["apply", "-f", "-", "-v=6"], &manifest);
    assert!(
        first.stderr.contains("/openapi/v2?timeout=32s 200 OK"),
        "{}",
        first.stderr
    );
    assert!(
        first.ok().contains("daemonset.apps/agent created"),
        "first apply"
    );
    let second = kubectl.apply(&manifest).ok();
    assert!(
        second.contains("daemonset.apps/agent unchanged"),
        "{second}"
    );

    let invalid = kubectl
        .run_with_input(&["create", "-f", "-"], INVALID_DAEMONSET)
        .err();
    assert!(
        invalid.contains(
            "The DaemonSet \"invalid\" is invalid: spec.template.metadata.labels: Invalid value"
        ) && invalid.contains("`selector` does not match template `labels`"),
        "{invalid}"
    );
    // Server-side field validation: kubectl 1.27 sent fieldValidation=Strict itself.
    let unknown = kubectl
        .run_with_input(&["create", "-f", "-"], &daemonset("unknown", "bogus: 1"))
        .err();
    assert!(
        unknown.contains(
            "strict decoding error: unknown field \"spec.template.spec.containers[0].bogus\""
        ),
        "{unknown}"
    );
}

#[test]
fn kubectl_1_33_apply_create_replace_and_edit_still_work() {
    let server = Server::apiserver();
    let kubectl = Kubectl::version(&server.kubeconfig(), 33);
    let manifest = daemonset("agent", "");
    assert!(kubectl.apply(&manifest).ok().contains("created"));
    assert!(kubectl.apply(&manifest).ok().contains("unchanged"));
    let created = kubectl
        .run_with_input(&["create", "-f", "-"], &daemonset("other", ""))
        .ok();
    assert!(
        created.contains("daemonset.apps/other created"),
        "{created}"
    );
    let replaced = kubectl
        .run_with_input(
            &["replace", "-f", "-"],
            &daemonset("other", "").replace("agent:v1", "agent:v2"),
        )
        .ok();
    assert!(
        replaced.contains("daemonset.apps/other replaced"),
        "{replaced}"
    );
    kubectl
        .run_with_env(
            &["edit", "ds", "agent"],
            &[("KUBE_EDITOR", "sed -i s/agent:v1/agent:v3/")],
        )
        .ok();
    let images = kubectl.jsonpath(
        &["get", "ds"],
        "{.items[*].spec.template.spec.containers[0].image}",
    );
    assert_eq!(images, "agent:v3 agent:v2");
}

fn core_event(name: &str) -> CoreEvent {
    CoreEvent {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            kind: Some("Pod".into()),
            name: Some("web-1".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        reason: Some("Started".into()),
        message: Some("Started container web".into()),
        type_: Some("Normal".into()),
        source: Some(EventSource {
            component: Some("kubelet".into()),
            host: Some("worker-1".into()),
        }),
        count: Some(3),
        first_timestamp: Some(Time("2026-01-01T00:00:00Z".parse().expect("time"))),
        last_timestamp: Some(Time("2026-01-01T00:01:00Z".parse().expect("time"))),
        reporting_component: Some("kubelet".into()),
        ..Default::default()
    }
}

fn events_v1_event(name: &str) -> Event {
    Event {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        regarding: Some(ObjectReference {
            kind: Some("DaemonSet".into()),
            name: Some("agent".into()),
            namespace: Some("default".into()),
            ..Default::default()
        }),
        event_time: Some(MicroTime("2026-01-01T00:00:00Z".parse().expect("time"))),
        reason: Some("SuccessfulCreate".into()),
        note: Some("Created pod: agent-x7k2p".into()),
        type_: Some("Normal".into()),
        action: Some("Create".into()),
        reporting_controller: Some("everynode.io/daemonset-controller".into()),
        reporting_instance: Some("controller-1".into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_shared_between_core_v1_and_events_k8s_io() {
    let server = Server::apiserver();
    let client = server.client().await;
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), "default");
    let v1: Api<Event> = Api::namespaced(client, "default");

    // Watch through events.k8s.io from the start, so a core write must arrive converted.
    let mut watch = v1
        .watch(&WatchParams::default().timeout(30), "0")
        .await
        .expect("watch events.k8s.io")
        .boxed();

    core.create(&PostParams::default(), &core_event("web-1.started"))
        .await
        .expect("create core event");
    let seen = v1
        .get("web-1.started")
        .await
        .expect("get via events.k8s.io");
    let regarding = seen.regarding.clone().unwrap_or_default();
    assert_eq!(
        (regarding.kind.as_deref(), regarding.name.as_deref()),
        (Some("Pod"), Some("web-1"))
    );
    assert_eq!(seen.note.as_deref(), Some("Started container web"));
    assert_eq!(seen.reporting_controller.as_deref(), Some("kubelet"));
    assert_eq!(seen.deprecated_count, Some(3));
    assert_eq!(
        seen.deprecated_source.and_then(|s| s.host).as_deref(),
        Some("worker-1")
    );
    assert!(seen.deprecated_first_timestamp.is_some() && seen.deprecated_last_timestamp.is_some());

    let added = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = watch.try_next().await.expect("watch stream") {
            if let WatchEvent::Added(event) = event
                && event.metadata.name.as_deref() == Some("web-1.started")
            {
                return event;
            }
        }
        panic!("watch ended before the event arrived");
    })
    .await
    .expect("the watch delivers the core event");
    assert_eq!(added.note.as_deref(), Some("Started container web"));

    // Created through events.k8s.io: eventTime is required there.
    let mut missing_time = events_v1_event("agent.no-time");
    missing_time.event_time = None;
    match v1.create(&PostParams::default(), &missing_time).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            assert!(
                status.message.contains("eventTime: Required value"),
                "{status:?}"
            );
        }
        other => panic!("expected 422, got {other:?}"),
    }
    v1.create(&PostParams::default(), &events_v1_event("agent.created"))
        .await
        .expect("create via events.k8s.io");
    let stored = core.get("agent.created").await.expect("get via core/v1");
    assert_eq!(stored.message.as_deref(), Some("Created pod: agent-x7k2p"));
    assert_eq!(stored.involved_object.name.as_deref(), Some("agent"));
    assert_eq!(
        stored.reporting_component.as_deref(),
        Some("everynode.io/daemonset-controller")
    );
    let listed = v1
        .list(&Default::default())
        .await
        .expect("list events.k8s.io");
    assert_eq!(listed.items.len(), 2);

    let kubeconfig = server.kubeconfig();
    let table = tokio::task::spawn_blocking(move || {
        let kubectl = Kubectl::new(&kubeconfig);
        wait_for(
            "the event in kubectl get events",
            Duration::from_secs(10),
            || {
                let out = kubectl.run(&["get", "events"]).ok();
                out.lines()
                    .find(|l| l.contains("SuccessfulCreate"))
                    .map(str::to_owned)
            },
        )
    })
    .await
    .expect("kubectl");
    assert!(
        table.contains("Created pod: agent-x7k2p") && table.contains("daemonset/agent"),
        "{table}"
    );
}

/// Metadata-only reads, as metadata informers make them (kube-rs `*_metadata`, client-go's
/// metadata client, kube-controller-manager's garbage collector): a PartialObjectMetadata for a
/// get and each watch event, a PartialObjectMetadataList for a list, and never the spec or data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_get_list_and_watch() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ListParams;

    let server = Server::apiserver();
    let client = server.client().await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let config_map = |name: &str| -> ConfigMap {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"app": "meta"}, "annotations": {"note": "kept"}},
            "data": {"secret-ish": "not in metadata"},
        }))
        .expect("config map")
    };
    maps.create(&PostParams::default(), &config_map("first"))
        .await
        .expect("create");

    let got = maps.get_metadata("first").await.expect("get metadata");
    let types = got.types.clone().unwrap_or_default();
    assert_eq!(
        (types.kind.as_str(), types.api_version.as_str()),
        ("PartialObjectMetadata", "meta.k8s.io/v1")
    );
    let labels = got.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("app").map(String::as_str), Some("meta"));
    assert!(got.metadata.uid.is_some() && got.metadata.resource_version.is_some());

    let listed = maps
        .list_metadata(&ListParams::default().labels("app=meta"))
        .await
        .expect("list metadata");
    let names: Vec<_> = listed.iter().map(|m| m.metadata.name.clone()).collect();
    assert_eq!(names, [Some("first".to_string())]);
    assert!(listed.metadata.resource_version.is_some());

    // On the wire: the list kind, and nothing but metadata in the items.
    let request = http::Request::get("/api/v1/namespaces/default/configmaps")
        .header(
            "accept",
            "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
        )
        .body(Vec::new())
        .expect("request");
    let raw: serde_json::Value =
        serde_json::from_str(&client.request_text(request).await.expect("raw list")).expect("json");
    assert_eq!(raw["kind"], "PartialObjectMetadataList");
    assert_eq!(raw["items"][0]["kind"], "PartialObjectMetadata");
    assert_eq!(raw["items"][0]["metadata"]["annotations"]["note"], "kept");
    assert!(raw["items"][0].get("data").is_none(), "{raw}");

    let version = listed.metadata.resource_version.clone().unwrap_or_default();
    let mut watch = maps
        .watch_metadata(&WatchParams::default().timeout(30), &version)
        .await
        .expect("watch metadata")
        .boxed();
    maps.create(&PostParams::default(), &config_map("second"))
        .await
        .expect("create second");
    let added = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = watch.try_next().await.expect("watch stream") {
            if let WatchEvent::Added(meta) = event {
                return meta;
            }
        }
        panic!("watch ended before the second config map arrived");
    })
    .await
    .expect("the watch delivers the addition");
    assert_eq!(added.metadata.name.as_deref(), Some("second"));
    assert_eq!(
        added.types.map(|t| t.kind).as_deref(),
        Some("PartialObjectMetadata")
    );
}
