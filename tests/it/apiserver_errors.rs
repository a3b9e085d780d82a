//! Bad input gets a `metav1.Status` with the right code and reason, never a panic and never a
//! lost object: malformed bodies, oversized bodies, unknown paths and kinds, bad selectors.

use bytes::Bytes;
use everynode_apiserver::ApiService;
use http::{Method, Request};
use http_body_util::Full;
use serde_json::Value;
use tower::ServiceExt;

async fn service() -> ApiService {
    let store = everynode_apiserver::server::open_store(None, Default::default()).expect("store");
    let service = ApiService::new(store, Default::default());
    everynode_apiserver::builtin::bootstrap(&service, "")
        .await
        .expect("bootstrap");
    service
}

/// Sends one request; returns the HTTP code and the body as JSON.
async fn call(
    service: &ApiService,
    method: Method,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> (u16, Value) {
    crate::support::call_raw(service, method, path, content_type, body).await
}

#[track_caller]
fn assert_status(answer: &(u16, Value), code: u16, reason: &str) {
    let (http_code, body) = answer;
    assert_eq!(*http_code, code, "{body}");
    assert_eq!(body["kind"], "Status", "{body}");
    assert_eq!(body["status"], "Failure", "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["reason"], reason, "{body}");
}

const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn malformed_json_and_yaml_get_400() {
    let service = service().await;
    let answer = call(
        &service,
        Method::POST,
        CONFIG_MAPS,
        "application/json",
        "{\"metadata\": ",
    )
    .await;
    assert_status(&answer, 400, "BadRequest");
    let answer = call(
        &service,
        Method::POST,
        CONFIG_MAPS,
        "application/yaml",
        "metadata: [unclosed",
    )
    .await;
    assert_status(&answer, 400, "BadRequest");
    let answer = call(
        &service,
        Method::POST,
        CONFIG_MAPS,
        "application/json",
        "[1, 2]",
    )
    .await;
    assert_status(&answer, 400, "BadRequest");
}

#[tokio::test]
async fn oversized_bodies_get_413_and_unknown_media_types_415() {
    let service = service().await;
    let huge = format!(
        "{{\"metadata\":{{\"name\":\"x\"}},\"data\":{{\"k\":\"{}\"}}}}",
        "a".repeat(4 * 1024 * 1024)
    );
    let answer = call(
        &service,
        Method::POST,
        CONFIG_MAPS,
        "application/json",
        huge,
    )
    .await;
    assert_status(&answer, 413, "RequestEntityTooLarge");
    let answer = call(&service, Method::POST, CONFIG_MAPS, "text/csv", "a,b").await;
    assert_status(&answer, 415, "UnsupportedMediaType");
}

#[tokio::test]
async fn unknown_paths_and_kinds_get_404() {
    let service = service().await;
    for path in [
        "/api/v1/namespaces/default/widgets",
        "/apis/nope.example.com/v1/things",
        "/nonsense",
        "/apis/apps/v1/namespaces/default/daemonsets/missing",
    ] {
        let answer = call(&service, Method::GET, path, "application/json", "").await;
        assert_status(&answer, 404, "NotFound");
    }
}

#[tokio::test]
async fn bad_selectors_and_wrong_methods_are_refused() {
    let service = service().await;
    let answer = call(
        &service,
        Method::GET,
        "/api/v1/pods?labelSelector=a%20in%20(",
        "application/json",
        "",
    )
    .await;
    assert_status(&answer, 400, "BadRequest");
    let answer = call(
        &service,
        Method::GET,
        "/api/v1/pods?fieldSelector=spec.unknown%3Dx",
        "application/json",
        "",
    )
    .await;
    assert_status(&answer, 400, "BadRequest");
    let answer = call(
        &service,
        Method::DELETE,
        "/api/v1/namespaces",
        "application/json",
        "",
    )
    .await;
    assert_status(&answer, 405, "MethodNotAllowed");
}

#[tokio::test]
async fn a_refused_update_leaves_the_stored_object_intact() {
    let service = service().await;
    let created = call(
        &service,
        Method::POST,
        CONFIG_MAPS,
        "application/json",
        r#"{"metadata":{"name":"keep"},"data":{"k":"v"}}"#,
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let path = format!("{CONFIG_MAPS}/keep");
    for (content_type, body) in [
        ("application/json", "{\"metadata\":"),
        ("application/merge-patch+json", "[]"),
        (
            "application/json-patch+json",
            "[{\"op\":\"remove\",\"path\":\"/nope\"}]",
        ),
        (
            "application/strategic-merge-patch+json",
            "{\"$patch\":\"explode\"}",
        ),
    ] {
        let method = if content_type == "application/json" {
            Method::PUT
        } else {
            Method::PATCH
        };
        let (code, _) = call(&service, method, &path, content_type, body).await;
        assert!((400..500).contains(&code), "{content_type}: {code}");
    }
    let (code, body) = call(&service, Method::GET, &path, "application/json", "").await;
    assert_eq!(code, 200);
    assert_eq!(body["data"]["k"], "v");
    assert_eq!(
        body["metadata"]["resourceVersion"],
        created.1["metadata"]["resourceVersion"]
    );
}

const PODS: &str = "/api/v1/namespaces/default/pods";

fn scheduled_pod(name: &str, grace: Option<i64>) -> String {
    let mut pod = serde_json::json!({
        "metadata": {"name": name},
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "busybox"}]},
    });
    if let Some(grace) = grace {
        pod["spec"]["terminationGracePeriodSeconds"] = serde_json::json!(grace);
    }
    pod.to_string()
}

/// A grace period past the end of representable time (kubectl `--grace-period=999999999999`,
/// or the pod's own terminationGracePeriodSeconds) marks the pod for deletion at the latest
/// representable instant instead of panicking in the timestamp arithmetic.
#[tokio::test]
async fn huge_grace_periods_mark_the_pod_instead_of_panicking() {
    let service = service().await;
    let huge: i64 = 999_999_999_999;
    for (name, spec_grace, query) in [
        ("by-option", None, format!("?gracePeriodSeconds={huge}")),
        ("by-spec", Some(huge), String::new()),
        ("by-max", None, format!("?gracePeriodSeconds={}", i64::MAX)),
    ] {
        let created = call(
            &service,
            Method::POST,
            PODS,
            "application/json",
            scheduled_pod(name, spec_grace),
        )
        .await;
        assert_eq!(created.0, 201, "{}", created.1);
        let path = format!("{PODS}/{name}{query}");
        let (code, body) = call(&service, Method::DELETE, &path, "application/json", "").await;
        assert_eq!(code, 200, "{name}: {body}");
        let timestamp = body["metadata"]["deletionTimestamp"]
            .as_str()
            .unwrap_or_default();
        assert!(timestamp.starts_with("9999-"), "{name}: {body}");
        let grace = body["metadata"]["deletionGracePeriodSeconds"].as_i64();
        assert!(grace.is_some_and(|g| g >= huge), "{name}: {body}");
        // The server is still serving, and a shorter delete still shortens the grace.
        let path = format!("{PODS}/{name}?gracePeriodSeconds=5");
        let (code, body) = call(&service, Method::DELETE, &path, "application/json", "").await;
        assert_eq!(code, 200, "{name}: {body}");
        assert_eq!(body["metadata"]["deletionGracePeriodSeconds"], 5, "{body}");
    }
}

/// A DaemonSet created with the largest templateGeneration annotation cannot take a template
/// change: the bump saturates and validation refuses it with a 422, instead of overflowing.
#[tokio::test]
async fn template_generation_at_the_limit_does_not_overflow() {
    let service = service().await;
    let ds = |image: &str| {
        serde_json::json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {
                "name": "edge",
                "annotations": {"deprecated.daemonset.template.generation": i64::MAX.to_string()},
            },
            "spec": {
                "selector": {"matchLabels": {"app": "edge"}},
                "template": {
                    "metadata": {"labels": {"app": "edge"}},
                    "spec": {"containers": [{"name": "c", "image": image}]},
                },
            },
        })
    };
    let path = "/apis/apps/v1/namespaces/default/daemonsets";
    let created = call(
        &service,
        Method::POST,
        path,
        "application/json",
        ds("a").to_string(),
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let patch = r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"b"}]}}}}"#;
    let patched = call(
        &service,
        Method::PATCH,
        &format!("{path}/edge"),
        "application/strategic-merge-patch+json",
        patch,
    )
    .await;
    assert_status(&patched, 422, "Invalid");
    assert_eq!(
        patched.1["details"]["causes"][0]["field"],
        "spec.templateGeneration"
    );
    let (code, body) = call(
        &service,
        Method::GET,
        &format!("{path}/edge"),
        "application/json",
        "",
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(
        body["spec"]["template"]["spec"]["containers"][0]["image"],
        "a"
    );
}

/// Extreme numbers in query parameters get an answer, never a panic.
#[tokio::test]
async fn extreme_query_numbers_are_answered() {
    let service = service().await;
    let min = i64::MIN;
    let max = i64::MAX;
    for (method, path, code) in [
        (Method::GET, format!("{CONFIG_MAPS}?limit={max}"), 200),
        (Method::GET, format!("{CONFIG_MAPS}?limit={min}"), 200),
        (
            Method::GET,
            format!("{CONFIG_MAPS}?limit=99999999999999999999"),
            400,
        ),
        (
            Method::GET,
            format!("{CONFIG_MAPS}?resourceVersion=-1"),
            400,
        ),
        (
            Method::GET,
            format!("{CONFIG_MAPS}?watch=true&timeoutSeconds={max}"),
            200,
        ),
        (
            Method::DELETE,
            format!("{CONFIG_MAPS}/absent?gracePeriodSeconds={min}"),
            404,
        ),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(&path)
            .body(Full::new(Bytes::new()))
            .expect("request");
        let response = service.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status().as_u16(), code, "{path}");
    }
    let created = call(
        &service,
        Method::POST,
        PODS,
        "application/json",
        scheduled_pod("negative", None),
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let path = format!("{PODS}/negative?gracePeriodSeconds={min}");
    let (code, body) = call(&service, Method::DELETE, &path, "application/json", "").await;
    assert_eq!(code, 200, "{body}");
    // A negative grace counts as 1 (upstream BeforeDelete).
    assert_eq!(body["metadata"]["deletionGracePeriodSeconds"], 1, "{body}");
}

#[tokio::test]
async fn creates_in_a_terminating_namespace_get_403_with_the_namespace_terminating_cause() {
    let service = service().await;
    let json = "application/json";
    let namespace = r#"{"metadata": {"name": "closing"}}"#;
    let (code, body) = call(
        &service,
        Method::POST,
        "/api/v1/namespaces",
        json,
        namespace,
    )
    .await;
    assert_eq!(code, 201, "{body}");
    // A finalizer nobody removes keeps the namespace Terminating while we try to create.
    let held = r#"{"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}"#;
    let config_maps = "/api/v1/namespaces/closing/configmaps";
    let (code, body) = call(&service, Method::POST, config_maps, json, held).await;
    assert_eq!(code, 201, "{body}");
    let (code, body) = call(
        &service,
        Method::DELETE,
        "/api/v1/namespaces/closing",
        json,
        "",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"]["phase"], "Terminating", "{body}");

    let (code, body) = call(
        &service,
        Method::POST,
        config_maps,
        json,
        r#"{"metadata": {"name": "late"}}"#,
    )
    .await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(body["reason"], "Forbidden", "{body}");
    assert_eq!(
        body["message"],
        "configmaps \"late\" is forbidden: unable to create new content in namespace closing because it is being terminated",
    );
    assert_eq!(body["details"]["name"], "late", "{body}");
    assert_eq!(body["details"]["kind"], "configmaps", "{body}");
    let causes = body["details"]["causes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        causes.iter().any(|c| c["reason"] == "NamespaceTerminating"
            && c["field"] == "metadata.namespace"
            && c["message"] == "namespace closing is being terminated"),
        "{body}"
    );
}
