//! `metrics.k8s.io`: advertised so `kubectl top` asks, and answered with why there are no metrics.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::super::body::{self, ResponseBody};
use crate::error::ApiError;

pub const GROUP: &str = "metrics.k8s.io";
pub const VERSION: &str = "v1beta1";

/// The resources metrics-server serves: plural, kind, namespaced.
const RESOURCES: [(&str, &str, bool); 2] = [
    ("nodes", "NodeMetrics", false),
    ("pods", "PodMetrics", true),
];

const VERBS: [&str; 2] = ["get", "list"];

/// What `kubectl top` prints after "Error from server (ServiceUnavailable):".
pub const NO_METRICS: &str = "metrics are not available: everynode simulates nodes and containers, so no process runs and there is no CPU or memory usage to report (kubectl describe shows requests and limits)";

/// The group's entry in aggregated discovery.
pub fn aggregated_group() -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .map(|(plural, kind, namespaced)| {
            json!({
                "resource": plural,
                "responseKind": {"group": "", "version": "", "kind": kind},
                "scope": if *namespaced { "Namespaced" } else { "Cluster" },
                "singularResource": "",
                "verbs": VERBS,
            })
        })
        .collect();
    json!({
        "metadata": {"name": GROUP},
        "versions": [{"version": VERSION, "resources": resources, "freshness": "Current"}],
    })
}

/// Answers a request under `/apis/metrics.k8s.io/v1beta1`, or `None` for any other path.
pub fn serve(
    method: &Method,
    path: &str,
) -> Option<Result<http::Response<ResponseBody>, ApiError>> {
    let rest = path
        .trim_end_matches('/')
        .strip_prefix("/apis/")?
        .strip_prefix(GROUP)?
        .strip_prefix('/')?
        .strip_prefix(VERSION)?;
    if rest.is_empty() {
        if !matches!(*method, Method::GET | Method::HEAD) {
            return Some(Err(status(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
            )));
        }
        return Some(Ok(resource_list()));
    }
    if !rest.starts_with('/') {
        return None;
    }
    Some(Err(status(503, "ServiceUnavailable", NO_METRICS)))
}

fn status(code: u16, reason: &'static str, message: &str) -> ApiError {
    ApiError {
        code,
        reason,
        message: message.to_owned(),
        details: None,
    }
}

fn resource_list() -> http::Response<ResponseBody> {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .map(|(plural, kind, namespaced)| {
            json!({"name": plural, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": VERBS})
        })
        .collect();
    body::json(
        StatusCode::OK,
        &json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": format!("{GROUP}/{VERSION}"),
            "resources": resources,
        }),
    )
}
