//! The OpenAPI v3 documents, one per group version: what kubectl's validation decision and `kubectl explain` read (api.md §2).
//!
//! Each kind gets its PATCH operation with a `fieldValidation` query parameter, which tells
//! kubectl that the server validates fields itself, and its schema under `components`
//! (`openapi_schemas`). No request bodies are advertised on purpose: kubectl computes apply
//! patches from the OpenAPI schemas only when the PATCH operation advertises a strategic merge
//! body, and ours lack upstream's patch-merge-key extensions, so it keeps its compiled-in struct
//! tags. The documents never change while the server runs, so they are built once.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use bytes::Bytes;
use http::StatusCode;
use serde_json::{Value, json};

use super::body::{self, ResponseBody};
use super::discovery::GIT_VERSION;
use super::openapi_schemas;
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

/// One group version's document, serialized, and its content hash.
struct Document {
    json: Bytes,
    hash: String,
}

/// Every document by key (`api/v1`, `apis/apps/v1`, …).
fn documents() -> &'static BTreeMap<String, Document> {
    static DOCUMENTS: OnceLock<BTreeMap<String, Document>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        resources::groups()
            .into_iter()
            .map(|(group, version)| {
                let text = document_for(group, version).to_string();
                let hash = hash(&text);
                let document = Document {
                    json: Bytes::from(text),
                    hash,
                };
                (key(group, version), document)
            })
            .collect()
    })
}

pub fn index() -> http::Response<ResponseBody> {
    let paths: serde_json::Map<String, Value> = documents()
        .iter()
        .map(|(key, doc)| {
            let url = format!("/openapi/v3/{key}?hash={}", doc.hash);
            (key.clone(), json!({"serverRelativeURL": url}))
        })
        .collect();
    body::json(StatusCode::OK, &json!({"paths": paths}))
}

pub fn document(path: &str) -> Result<http::Response<ResponseBody>, ApiError> {
    let doc = documents().get(path).ok_or_else(ApiError::no_route)?;
    Ok(body::json_bytes(StatusCode::OK, doc.json.clone()))
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
        "components": {"schemas": openapi_schemas::components(group, version)},
    })
}
