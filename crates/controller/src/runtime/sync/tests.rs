//! Executor tests after upstream's `daemon_controller_test.go`: a sync against a scripted API
//! server (a tower service behind `kube::Client`) with caches built in memory.

use std::sync::{Arc, Mutex, PoisonError};

use http::{Request, Response, StatusCode};
use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::client::Body;
use kube::runtime::reflector::{store, store::Writer};
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::{SyncError, Syncer};
use crate::fixtures::{SIMPLE_DAEMON_LABELS, new_daemon_set, new_nodes, new_pod};
use crate::plan::FailedPodBackoff;
use crate::runtime::events::Recorder;
use crate::runtime::expectations::Expectations;
use crate::runtime::handlers::Handlers;
use crate::runtime::metrics::Metrics;
use crate::runtime::queue::WorkQueue;

/// What the scripted API server answers.
#[derive(Default)]
struct Script {
    /// Pod creates that succeed; every later one fails with a 500 (upstream
    /// `FakePodControl.CreateLimit`).
    create_limit: Option<usize>,
    /// Every pod create fails with this (code, reason, message, cause).
    create_error: Option<(u16, &'static str, &'static str, Option<&'static str>)>,
    /// This many status writes fail with a 500 before they succeed.
    status_errors: usize,
    /// This many DaemonSet GETs fail with a 500 before they succeed.
    get_errors: usize,
    /// What a DaemonSet GET returns; `None` answers 404.
    live: Option<DaemonSet>,
}

/// What the scripted API server saw.
#[derive(Default)]
struct Seen {
    /// `METHOD path` of every request but events.
    requests: Vec<String>,
    creates: usize,
    created: Vec<Value>,
    /// Bodies of pod patches.
    patches: Vec<Value>,
}

#[derive(Clone, Default)]
struct FakeApi {
    script: Arc<Mutex<Script>>,
    seen: Arc<Mutex<Seen>>,
}

fn status(code: u16, reason: &str, message: &str, cause: Option<&str>) -> (u16, Value) {
    let mut body = json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "code": code, "reason": reason, "message": message,
    });
    if let Some(cause) = cause {
        body["details"] = json!({"causes": [{"reason": cause, "message": message}]});
    }
    (code, body)
}

impl FakeApi {
    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, request: &str) -> usize {
        self.seen()
            .requests
            .iter()
            .filter(|r| r.as_str() == request)
            .count()
    }

    fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |request: Request<Body>| {
            let api = api.clone();
            async move {
                let method = request.method().to_string();
                let path = request.uri().path().to_owned();
                let bytes = request.into_body().collect_bytes().await?;
                let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let (code, answer) = api.answer(&method, &path, body);
                let response = Response::builder()
                    .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
                    .header("content-type", "application/json")
                    .body(Body::from(answer.to_string().into_bytes()))?;
                Ok::<_, tower::BoxError>(response)
            }
        });
        kube::Client::new(service, "default")
    }

    fn answer(&self, method: &str, path: &str, mut body: Value) -> (u16, Value) {
        if path.contains("/events") {
            return (201, body);
        }
        self.seen().requests.push(format!("{method} {path}"));
        let mut script = self.script();
        match method {
            "POST" if path.ends_with("/pods") => {
                let n = {
                    let mut seen = self.seen();
                    seen.creates += 1;
                    seen.creates
                };
                if let Some((code, reason, message, cause)) = script.create_error {
                    return status(code, reason, message, cause);
                }
                if script.create_limit.is_some_and(|limit| n > limit) {
                    return status(500, "InternalError", "create limit reached", None);
                }
                body["metadata"]["name"] = json!(format!("pod-{n}"));
                body["metadata"]["uid"] = json!(format!("pod-uid-{n}"));
                self.seen().created.push(body.clone());
                (201, body)
            }
            "DELETE" | "PATCH" if path.contains("/pods/") => {
                if method == "PATCH" {
                    self.seen().patches.push(body);
                }
                let name = path.rsplit('/').next().unwrap_or_default();
                (
                    200,
                    json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name}}),
                )
            }
            "POST" if path.ends_with("/controllerrevisions") => (201, body),
            "PUT" if path.ends_with("/status") => {
                if script.status_errors > 0 {
                    script.status_errors -= 1;
                    return status(500, "InternalError", "fake update error", None);
                }
                (200, body)
            }
            "GET" if path.contains("/daemonsets/") => {
                if script.get_errors > 0 {
                    script.get_errors -= 1;
                    return status(500, "InternalError", "fake get error", None);
                }
                match &script.live {
                    Some(ds) => (200, serde_json::to_value(ds).unwrap_or(Value::Null)),
                    None => status(404, "NotFound", "daemonsets not found", None),
                }
            }
            _ => status(404, "NotFound", "not scripted", None),
        }
    }
}

/// The caches' writers, to change what a later sync sees.
struct Caches {
    daemon_sets: Writer<DaemonSet>,
    pods: Writer<Pod>,
}

/// Upstream `newTestController`: a syncer over caches holding `daemon_sets`, `nodes` and
/// `pods`, writing to `api`.
fn syncer(
    api: &FakeApi,
    daemon_sets: &[DaemonSet],
    nodes: &[Node],
    pods: &[Pod],
) -> (Syncer, Caches) {
    fn filled<K>(objects: &[K]) -> (kube::runtime::reflector::Store<K>, Writer<K>)
    where
        K: kube::Resource<DynamicType = ()> + Clone + 'static,
    {
        let (reader, mut writer) = store();
        for object in objects {
            writer.apply_watcher_event(&watcher::Event::Apply(object.clone()));
        }
        (reader, writer)
    }
    let (ds_store, ds_writer) = filled(daemon_sets);
    let (pod_store, pod_writer) = filled(pods);
    let (node_store, _) = filled(nodes);
    let (revision_store, _) = filled::<ControllerRevision>(&[]);
    let client = api.client();
    let syncer = Syncer {
        client: client.clone(),
        daemon_sets: ds_store,
        pods: pod_store,
        nodes: node_store,
        revisions: revision_store,
        expectations: Arc::new(Expectations::default()),
        backoff: Mutex::new(FailedPodBackoff::default()),
        recorder: Recorder::new(client),
        metrics: Arc::new(Metrics::default()),
    };
    (
        syncer,
        Caches {
            daemon_sets: ds_writer,
            pods: pod_writer,
        },
    )
}

const KEY: &str = "default/foo";

#[tokio::test]
async fn simple_daemon_set_pod_create_errors() {
    let api = FakeApi::default();
    api.script().create_limit = Some(10);
    let (syncer, _caches) = syncer(&api, &[new_daemon_set("foo")], &new_nodes(0, 100, &[]), &[]);
    let result = syncer.sync(KEY).await;
    assert!(
        matches!(result, Err(SyncError::Pods { ref errors, .. }) if errors.len() == 5),
        "the failed creates fail the sync (K6): {result:?}"
    );
    // Slow start: batches of 1, 2, 4, 8; the fourth has failures, so no more are tried.
    assert_eq!(api.seen().creates, 1 + 2 + 4 + 8);
    assert_eq!(api.seen().created.len(), 10);
}

#[tokio::test]
async fn daemon_set_pod_create_expectations_error() {
    let api = FakeApi::default();
    api.script().create_limit = Some(10);
    let (syncer, _caches) = syncer(&api, &[new_daemon_set("foo")], &new_nodes(0, 100, &[]), &[]);
    assert!(syncer.sync(KEY).await.is_err());
    // Failed and skipped creates are no longer expected; the ten made are, until the
    // informer reports them.
    assert!(!syncer.expectations.satisfied(KEY));
    for _ in 0..10 {
        syncer.expectations.creation_observed(KEY);
    }
    assert!(
        syncer.expectations.satisfied(KEY),
        "unsatisfied pod creation expectations: expected 10"
    );
}

#[tokio::test]
async fn namespace_terminating_creates_are_ignored_and_stay_expected() {
    // K4: upstream returns before CreationObserved; no error, no FailedCreate.
    let api = FakeApi::default();
    api.script().create_error = Some((
        403,
        "Forbidden",
        "unable to create new content in namespace default because it is being terminated",
        Some("NamespaceTerminating"),
    ));
    let (syncer, _caches) = syncer(&api, &[new_daemon_set("foo")], &new_nodes(0, 3, &[]), &[]);
    let result = syncer.sync(KEY).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(api.seen().creates, 3, "slow start goes on: nothing failed");
    assert!(!syncer.expectations.satisfied(KEY));
}

#[tokio::test]
async fn simple_daemon_set_updates_status_error() {
    // (sync error, status error) → which error the sync returns; both → the sync error.
    for (sync_error, status_error) in [(true, false), (false, true), (true, true)] {
        let api = FakeApi::default();
        if sync_error {
            api.script().create_error = Some((500, "InternalError", "sync error", None));
        }
        if status_error {
            api.script().status_errors = usize::MAX;
        }
        api.script().live = Some(new_daemon_set("foo"));
        let (syncer, _caches) = syncer(&api, &[new_daemon_set("foo")], &new_nodes(0, 1, &[]), &[]);
        let result = syncer.sync(KEY).await;
        let case = format!("sync error {sync_error}, status error {status_error}: {result:?}");
        if sync_error {
            assert!(matches!(result, Err(SyncError::Pods { .. })), "{case}");
        } else {
            assert!(
                matches!(
                    result,
                    Err(SyncError::Api {
                        action: "update status",
                        ..
                    })
                ),
                "{case}"
            );
        }
        assert_eq!(api.seen().creates, 1, "{case}");
        let status_path = "PUT /apis/apps/v1/namespaces/default/daemonsets/foo/status";
        let expected_writes = if status_error { 2 } else { 1 };
        assert_eq!(api.count(status_path), expected_writes, "{case}");
    }
}

#[tokio::test]
async fn store_daemon_set_status() {
    // (update failures, get failures) → (updates, gets, outcome), as upstream's table.
    let cases = [
        ("succeed immediately", 0, 0, 1, 0, None),
        ("succeed after one update failure", 1, 0, 2, 1, None),
        (
            "fail after two update failures",
            2,
            0,
            2,
            1,
            Some("fake update error"),
        ),
        (
            "fail after one update failure and one get failure",
            1,
            1,
            1,
            1,
            Some("fake get error"),
        ),
    ];
    for (name, update_errors, get_errors, updates, gets, error) in cases {
        let api = FakeApi::default();
        let mut live = new_daemon_set("foo");
        live.metadata.resource_version = Some("2".into());
        live.status = Some(DaemonSetStatus {
            collision_count: Some(3),
            ..DaemonSetStatus::default()
        });
        {
            let mut script = api.script();
            script.status_errors = update_errors;
            script.get_errors = get_errors;
            script.live = Some(live);
        }
        let (syncer, _caches) = syncer(&api, &[], &[], &[]);
        let ds = new_daemon_set("foo");
        let status = DaemonSetStatus {
            desired_number_scheduled: 2,
            current_number_scheduled: 2,
            number_ready: 1,
            ..DaemonSetStatus::default()
        };
        let result = syncer.write_status(&ds, &status).await;
        let put = "PUT /apis/apps/v1/namespaces/default/daemonsets/foo/status";
        let get = "GET /apis/apps/v1/namespaces/default/daemonsets/foo";
        assert_eq!(api.count(put), updates, "{name}");
        assert_eq!(api.count(get), gets, "{name}");
        match error {
            None => assert!(result.is_ok(), "{name}: {result:?}"),
            Some(message) => assert!(
                matches!(&result, Err(kube::Error::Api(s)) if s.message == message),
                "{name}: {result:?}"
            ),
        }
    }
}

#[tokio::test]
async fn dont_do_anything_if_being_deleted_race() {
    // The cache says the DaemonSet is live, the API server says it is being deleted: the
    // matching orphan must not be adopted, and nothing is created or deleted.
    let api = FakeApi::default();
    let ds = new_daemon_set("foo");
    let mut deleted = ds.clone();
    deleted.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::now()));
    api.script().live = Some(deleted);
    let orphan = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, None);
    let (syncer, _caches) = syncer(&api, &[ds], &new_nodes(0, 5, &[]), &[orphan]);
    let result = syncer.sync(KEY).await;
    assert!(matches!(result, Err(SyncError::Gone { .. })), "{result:?}");
    let seen = api.seen();
    assert!(
        !seen
            .requests
            .iter()
            .any(|r| r.contains("/pods") && !r.starts_with("GET")),
        "no pod was adopted, created or deleted: {:?}",
        seen.requests
    );
}

#[tokio::test]
async fn adoption_patches_carry_the_pod_uid() {
    let api = FakeApi::default();
    let ds = new_daemon_set("foo");
    api.script().live = Some(ds.clone());
    let mut orphan = new_pod("pod1-", "node-0", SIMPLE_DAEMON_LABELS, None);
    orphan.metadata.uid = Some("orphan-uid".into());
    let (syncer, _caches) = syncer(&api, &[ds], &new_nodes(0, 1, &[]), &[orphan]);
    let result = syncer.sync(KEY).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(
        api.count("PATCH /api/v1/namespaces/default/pods/pod1-"),
        1,
        "{:?}",
        api.seen().requests
    );
    assert_eq!(
        api.count("GET /apis/apps/v1/namespaces/default/daemonsets/foo"),
        1,
        "re-read before adopting"
    );
    let patch = api.seen().patches[0].clone();
    assert_eq!(patch["metadata"]["uid"], json!("orphan-uid"), "{patch}");
    assert_eq!(
        patch["metadata"]["ownerReferences"][0]["uid"],
        json!("uid-foo"),
        "{patch}"
    );
}

#[tokio::test]
async fn expectations_on_recreate() {
    // A DaemonSet deleted and re-created under the same name must not inherit the old one's
    // expectations, or it would wait five minutes before creating its pods.
    let api = FakeApi::default();
    let old = new_daemon_set("foo");
    let (syncer, mut caches) = syncer(&api, std::slice::from_ref(&old), &new_nodes(0, 1, &[]), &[]);
    assert!(syncer.sync(KEY).await.is_ok());
    assert_eq!(api.seen().created.len(), 1);
    assert!(
        !syncer.expectations.satisfied(KEY),
        "the create is not observed yet"
    );

    let handlers = Handlers {
        queue: WorkQueue::default(),
        node_updates: WorkQueue::default(),
        expectations: syncer.expectations.clone(),
        daemon_sets: syncer.daemon_sets.clone(),
    };
    let mut recreated = old.clone();
    recreated.metadata.uid = Some("uid-foo-2".into());
    caches
        .daemon_sets
        .apply_watcher_event(&watcher::Event::Apply(recreated.clone()));
    // The old pod is gone with its owner (garbage collector).
    caches.pods.apply_watcher_event(&watcher::Event::Init);
    caches.pods.apply_watcher_event(&watcher::Event::InitDone);
    handlers.daemon_set((Some(Arc::new(old)), Some(Arc::new(recreated))));
    assert!(syncer.expectations.satisfied(KEY));

    assert!(syncer.sync(KEY).await.is_ok());
    let created = api.seen().created.clone();
    assert_eq!(
        created.len(),
        2,
        "the new incarnation creates its pod at once"
    );
    assert_eq!(
        created[1]["metadata"]["ownerReferences"][0]["uid"],
        json!("uid-foo-2")
    );
}

#[tokio::test]
async fn a_failed_sync_still_asks_for_its_min_ready_seconds_resync() {
    // Upstream enqueues the minReadySeconds status resync even when the sync then fails; a
    // rate-limited retry alone could come minutes later.
    let api = FakeApi::default();
    api.script().create_error = Some((500, "InternalError", "create failed", None));
    let mut ds = new_daemon_set("foo");
    if let Some(spec) = ds.spec.as_mut() {
        spec.min_ready_seconds = Some(30);
    }
    let mut ready = new_pod("foo-ready", "node-0", SIMPLE_DAEMON_LABELS, Some(&ds));
    crate::fixtures::set_ready(&mut ready, true, jiff::Timestamp::now());
    let (syncer, _caches) = syncer(&api, &[ds], &new_nodes(0, 2, &[]), &[ready]);
    let (result, requeue_after) = syncer.sync_and_requeue(KEY).await;
    assert!(matches!(result, Err(SyncError::Pods { .. })), "{result:?}");
    assert_eq!(requeue_after, Some(std::time::Duration::from_secs(30)));
}
