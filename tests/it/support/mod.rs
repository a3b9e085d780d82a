//! Test harness: start an `everynode` process on a free port, run kubectl against it, and wait
//! for conditions with deadlines (never fixed sleeps).

pub mod kubectl;
pub mod monitor;
pub mod server;

use std::time::{Duration, Instant};

pub use kubectl::Kubectl;
pub use server::Server;

/// Sends one raw request to an in-process API service and reads the whole answer: the HTTP code
/// and the body as JSON (`Null` if it is not JSON).
pub async fn call_raw(
    service: &everynode_apiserver::ApiService,
    method: http::Method,
    path: &str,
    content_type: &str,
    body: impl Into<bytes::Bytes>,
) -> (u16, serde_json::Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(http_body_util::Full::new(body.into()))
        .expect("request");
    let response = service.clone().oneshot(request).await.expect("infallible");
    let code = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        code,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// An in-process API server (no TLS, no auth, memory-only store) and a kube-rs client for it.
pub async fn in_process(options: everynode_apiserver::store::StoreOptions) -> kube::Client {
    let store = everynode_apiserver::server::open_store(None, options).expect("store");
    let service = everynode_apiserver::ApiService::new(store, Default::default());
    everynode_apiserver::builtin::bootstrap(&service, "")
        .await
        .expect("bootstrap");
    kube::Client::new(service, "default")
}

/// Polls `check` until it returns `Some`, or fails the test after `timeout` with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
