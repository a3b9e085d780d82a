//! A minimal OpenAPI v3 document: exactly what kubectl's validation decision reads (api.md §2).
//!
//! Each kind gets its PATCH operation with a `fieldValidation` query parameter, which tells
//! kubectl that the server validates fields itself. No request-body schemas are advertised on
//! purpose: with them kubectl would compute apply patches from (empty) schemas instead of its
//! compiled-in struct tags.

use http::StatusCode;
use serde_json::{Value, json};

use super::body::{self, ResponseBody};
use super::discovery::GIT_VERSION;
use crate::error::ApiError;
use crate::resources::{self, RESOURCES};

/// The document key of a group version: `api/v1` or `apis/apps/v1`.
fn key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A short content hash, so kubectl's cache key changes when the document does.
fn hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

pub fn index() -> http::Response<ResponseBody> {
    let mut paths = serde_json::Map::new();
    for (group, version) in resources::groups() {
        let key = key(group, version);
        let doc = document_for(group, version).to_string();
        paths.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={}", hash(&doc))}),
        );
    }
    body::json(StatusCode::OK, &json!({"paths": paths}))
}

pub fn document(path: &str) -> Result<http::Response<ResponseBody>, ApiError> {
    let (group, version) = resources::groups()
        .into_iter()
        .find(|(g, v)| key(g, v) == path)
        .ok_or_else(ApiError::no_route)?;
    Ok(body::json(StatusCode::OK, &document_for(group, version)))
}

fn document_for(group: &str, version: &str) -> Value {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let path = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{prefix}/{}/{{name}}", r.plural)
        };
        let operation_id = format!("patch{}", r.kind);
        paths.insert(
            path,
            json!({"patch": {
                "operationId": operation_id,
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": r.kind},
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                    {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    })
}
