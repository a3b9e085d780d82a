//! List and watch resourceVersion semantics: resourceVersionMatch, consistent continuation,
//! expired continue tokens, and resourceVersions from the future (upstream's watch cache).

use std::time::{Duration, Instant};

use bytes::Bytes;
use everynode_apiserver::ApiService;
use everynode_apiserver::store::StoreOptions;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A namespace of its own: `default` also holds the built-in `kube-root-ca.crt`.
const CONFIG_MAPS: &str = "/api/v1/namespaces/lists/configmaps";

async fn service(options: StoreOptions) -> ApiService {
    let store = everynode_apiserver::server::open_store(None, options).expect("store");
    let service = ApiService::new(store, Default::default());
    everynode_apiserver::builtin::bootstrap(&service, "")
        .await
        .expect("bootstrap");
    let namespace = json!({"metadata": {"name": "lists"}});
    let (code, body) = call(&service, Method::POST, "/api/v1/namespaces", namespace).await;
    assert_eq!(code, 201, "{body}");
    service
}

/// Sends one request and reads the whole answer: the HTTP code and the body as JSON.
async fn call(service: &ApiService, method: Method, path: &str, body: Value) -> (u16, Value) {
    let body = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    crate::support::call_raw(service, method, path, "application/json", body).await
}

async fn create(service: &ApiService, name: &str, value: &str) -> u64 {
    let body = json!({"metadata": {"name": name}, "data": {"v": value}});
    let (code, created) = call(service, Method::POST, CONFIG_MAPS, body).await;
    assert_eq!(code, 201, "{created}");
    revision(&created)
}

fn revision(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|rv| rv.parse().ok())
        .expect("numeric resourceVersion")
}

/// `(name, data.v)` of each listed item.
fn items(list: &Value) -> Vec<(String, String)> {
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    let field = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                    (field(&i["metadata"]["name"]), field(&i["data"]["v"]))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pair(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

#[tokio::test]
async fn resource_version_match_without_resource_version_is_invalid() {
    let service = service(StoreOptions::default()).await;
    let path = format!("{CONFIG_MAPS}?resourceVersionMatch=NotOlderThan");
    let (code, status) = call(&service, Method::GET, &path, Value::Null).await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["kind"], "ListOptions");
    assert_eq!(status["details"]["group"], "meta.k8s.io");
    assert_eq!(
        status["details"]["causes"][0]["field"],
        "resourceVersionMatch"
    );
    let path = format!("{CONFIG_MAPS}?resourceVersion=1&resourceVersionMatch=Newest");
    let (code, _) = call(&service, Method::GET, &path, Value::Null).await;
    assert_eq!(code, 422);
}

#[tokio::test]
async fn exact_and_not_older_than_lists() {
    let service = service(StoreOptions::default()).await;
    let first = create(&service, "a", "1").await;
    create(&service, "b", "1").await;
    let path = format!("{CONFIG_MAPS}/a");
    let (code, _) = call(&service, Method::DELETE, &path, Value::Null).await;
    assert_eq!(code, 200);

    // Exact: the state right after the first create.
    let path = format!("{CONFIG_MAPS}?resourceVersion={first}&resourceVersionMatch=Exact");
    let (code, list) = call(&service, Method::GET, &path, Value::Null).await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(items(&list), [pair("a", "1")]);
    assert_eq!(list["metadata"]["resourceVersion"], first.to_string());

    // NotOlderThan: the newest state.
    let path = format!("{CONFIG_MAPS}?resourceVersion={first}&resourceVersionMatch=NotOlderThan");
    let (code, list) = call(&service, Method::GET, &path, Value::Null).await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(items(&list), [pair("b", "1")]);
    assert!(revision(&list) > first);
}

#[tokio::test]
async fn later_pages_show_the_state_the_first_page_was_read_at() {
    let service = service(StoreOptions::default()).await;
    for name in ["a", "b", "c", "d"] {
        create(&service, name, "old").await;
    }
    let (code, page1) = call(
        &service,
        Method::GET,
        &format!("{CONFIG_MAPS}?limit=2"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 200, "{page1}");
    assert_eq!(items(&page1), [pair("a", "old"), pair("b", "old")]);
    let token = page1["metadata"]["continue"]
        .as_str()
        .expect("continue token")
        .to_owned();
    // Between the pages: one not yet listed is deleted, one changed, one added.
    let (code, _) = call(
        &service,
        Method::DELETE,
        &format!("{CONFIG_MAPS}/c"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 200);
    let (code, patched) = crate::support::call_raw(
        &service,
        Method::PATCH,
        &format!("{CONFIG_MAPS}/d"),
        "application/merge-patch+json",
        r#"{"data":{"v":"new"}}"#,
    )
    .await;
    assert_eq!(code, 200, "{patched}");
    create(&service, "e", "new").await;

    let (code, page2) = call(
        &service,
        Method::GET,
        &format!("{CONFIG_MAPS}?limit=2&continue={token}"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 200, "{page2}");
    assert_eq!(items(&page2), [pair("c", "old"), pair("d", "old")]);
    assert_eq!(
        page2["metadata"]["resourceVersion"],
        page1["metadata"]["resourceVersion"]
    );
    // The last page says so: no continue token although `e` exists now.
    assert!(page2["metadata"]["continue"].is_null(), "{page2}");
}

#[tokio::test]
async fn a_continue_token_past_the_window_gets_410_with_an_inconsistent_token() {
    let service = service(StoreOptions {
        watch_window: 4,
        ..StoreOptions::default()
    })
    .await;
    for name in ["a", "b", "c"] {
        create(&service, name, "1").await;
    }
    let (_, page1) = call(
        &service,
        Method::GET,
        &format!("{CONFIG_MAPS}?limit=1"),
        Value::Null,
    )
    .await;
    let token = page1["metadata"]["continue"]
        .as_str()
        .expect("continue token")
        .to_owned();
    for i in 0..8 {
        create(&service, &format!("later-{i}"), "1").await;
    }
    let (code, status) = call(
        &service,
        Method::GET,
        &format!("{CONFIG_MAPS}?limit=2&continue={token}"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 410, "{status}");
    assert_eq!(status["reason"], "Expired");
    let message = status["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(
            "The provided continue parameter is too old to display a consistent list result."
        ),
        "{message}"
    );
    // The token in the Status goes on at the newest revision.
    let inconsistent = status["metadata"]["continue"]
        .as_str()
        .expect("inconsistent continue token");
    let (code, rest) = call(
        &service,
        Method::GET,
        &format!("{CONFIG_MAPS}?limit=2&continue={inconsistent}"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 200, "{rest}");
    assert_eq!(items(&rest), [pair("b", "1"), pair("c", "1")]);
}

#[tokio::test]
async fn an_exact_list_past_the_window_is_expired() {
    let service = service(StoreOptions {
        watch_window: 2,
        ..StoreOptions::default()
    })
    .await;
    let first = create(&service, "a", "1").await;
    for i in 0..4 {
        create(&service, &format!("later-{i}"), "1").await;
    }
    let path = format!("{CONFIG_MAPS}?resourceVersion={first}&resourceVersionMatch=Exact");
    let (code, status) = call(&service, Method::GET, &path, Value::Null).await;
    assert_eq!(code, 410, "{status}");
    assert_eq!(
        status["message"],
        "The resourceVersion for the provided list is too old."
    );
}

#[tokio::test]
async fn a_watch_from_the_future_times_out_as_too_large() {
    let service = service(StoreOptions::default()).await;
    let current = create(&service, "a", "1").await;
    let future = current + 1000;
    let started = Instant::now();
    let path = format!("{CONFIG_MAPS}?watch=true&resourceVersion={future}");
    let (code, status) = call(&service, Method::GET, &path, Value::Null).await;
    assert_eq!(code, 504, "{status}");
    assert_eq!(status["reason"], "Timeout");
    assert_eq!(
        status["message"],
        format!("Timeout: Too large resource version: {future}, current: {current}")
    );
    assert_eq!(
        status["details"]["causes"][0]["reason"],
        "ResourceVersionTooLarge"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited for the revision first"
    );
    // A list that must be at least that fresh says the same.
    let path = format!("{CONFIG_MAPS}?resourceVersion={future}&resourceVersionMatch=NotOlderThan");
    let (code, status) = call(&service, Method::GET, &path, Value::Null).await;
    assert_eq!(code, 504, "{status}");
}

#[tokio::test]
async fn a_watch_from_a_revision_that_arrives_in_time_streams() {
    let service = service(StoreOptions::default()).await;
    let current = create(&service, "a", "1").await;
    let path = format!(
        "{CONFIG_MAPS}?watch=true&resourceVersion={}&timeoutSeconds=5",
        current + 1
    );
    let request = Request::builder()
        .uri(path)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let watching = tokio::spawn(service.clone().oneshot(request));
    // The revision the watch waits for, written while it waits.
    create(&service, "b", "1").await;
    create(&service, "c", "1").await;
    let response = watching.await.expect("task").expect("infallible");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("an event in time")
        .expect("a frame")
        .expect("data");
    let line = frame.into_data().unwrap_or_default();
    let event: Value = serde_json::from_slice(line.split(|b| *b == b'\n').next().unwrap_or(&[]))
        .expect("one JSON event per line");
    // Events after the requested revision: `c` (b's revision is the one asked for).
    assert_eq!(event["type"], "ADDED");
    assert_eq!(event["object"]["metadata"]["name"], "c");
}
