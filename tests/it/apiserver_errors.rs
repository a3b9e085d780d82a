//! Bad input gets a `metav1.Status` with the right code and reason, never a panic and never a
//! lost object: malformed bodies, oversized bodies, unknown paths and kinds, bad selectors.

use bytes::Bytes;
use everynode_apiserver::ApiService;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
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
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .expect("request");
    let response = service.clone().oneshot(request).await.expect("infallible");
    let code = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
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
