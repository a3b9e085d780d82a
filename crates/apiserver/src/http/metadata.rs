//! Metadata-only reads (`Accept: …;as=PartialObjectMetadata`): what metadata informers ask for, such as kube-controller-manager's garbage collector and controller-runtime's metadata-only watches.
//!
//! A get or a watch event carries a `meta.k8s.io/v1` PartialObjectMetadata (the object's kind,
//! as `PartialObjectMetadata`, and its full `metadata`); a list is a PartialObjectMetadataList.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::Call;
use crate::store::StoredObject;

/// The response media type of a metadata-only get or watch.
pub const CONTENT_TYPE: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
/// The response media type of a metadata-only list.
pub const LIST_CONTENT_TYPE: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/// Whether the Accept header asks for metadata only: a media range with
/// `as=PartialObjectMetadata` or `as=PartialObjectMetadataList` in group `meta.k8s.io`.
pub fn wanted(call: &Call) -> bool {
    let Some(accept) = call
        .headers
        .get(http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
    else {
        return false;
    };
    accept.split(',').any(|range| {
        let (mut as_metadata, mut in_meta_group) = (false, false);
        for param in range.split(';').skip(1).map(str::trim) {
            as_metadata |= param.eq_ignore_ascii_case("as=PartialObjectMetadata")
                || param.eq_ignore_ascii_case("as=PartialObjectMetadataList");
            in_meta_group |= param.eq_ignore_ascii_case("g=meta.k8s.io");
        }
        as_metadata && in_meta_group
    })
}

/// Only the metadata of a stored object: the rest is skipped while parsing.
#[derive(Deserialize)]
struct MetadataOnly {
    #[serde(default)]
    metadata: Value,
}

/// The stored object's PartialObjectMetadata.
pub fn object(stored: &StoredObject) -> Value {
    let metadata = serde_json::from_slice::<MetadataOnly>(&stored.json)
        .map(|m| m.metadata)
        .unwrap_or(Value::Null);
    partial(metadata)
}

/// The PartialObjectMetadata carrying `metadata`.
pub fn partial(metadata: Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
    })
}

/// A PartialObjectMetadataList of `items` at `revision`, continued by `continue_token`.
pub fn list<'a>(
    items: impl Iterator<Item = &'a StoredObject>,
    revision: u64,
    continue_token: Option<&str>,
) -> Bytes {
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    let items: Vec<Value> = items.map(object).collect();
    let list = json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "items": items,
    });
    Bytes::from(serde_json::to_vec(&list).unwrap_or_default())
}
