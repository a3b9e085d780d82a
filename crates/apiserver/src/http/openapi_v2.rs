//! A minimal OpenAPI v2 (Swagger) document as JSON and as gnostic protobuf, for kubectl ≤ 1.27's validation decision.
//!
//! kubectl up to 1.27 decides whether the server validates fields by reading `GET /openapi/v2`
//! in the gnostic `openapi.v2.Document` protobuf (cli-runtime `query_param_verifier.go
//! supportsQueryParam`): it takes the first path whose PATCH operation carries the vendor
//! extension `x-kubernetes-group-version-kind` (YAML in `Any.yaml`) naming the object's GVK, and
//! looks for a non-body query parameter named `fieldValidation`. That is all this document has:
//! one PATCH operation per kind. No definitions, so `apply` falls back to compiled-in struct tags.

use std::sync::LazyLock;

use bytes::Bytes;
use http::{StatusCode, header};
use serde_json::{Value, json};

use super::Call;
use super::body::{self, ResponseBody};
use super::discovery::GIT_VERSION;
use crate::resources::RESOURCES;

/// The media type upstream answers with. kubectl asks for the deprecated `…spec.v2@v1.0+protobuf`
/// form, but `@` is no MIME token character, so Go's `mime.ParseMediaType` rejects it in a
/// response; kube-openapi `handler.go` answers with this dotted form (`subTypeProtobuf`).
pub const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// The query parameters each PATCH operation declares; `fieldValidation` is the one kubectl reads.
const QUERY_PARAMETERS: &[&str] = &["fieldValidation", "fieldManager", "dryRun"];

/// One PATCH operation: the object path, its operation id and group/version/kind.
struct Operation {
    path: String,
    operation_id: String,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
}

fn operations() -> Vec<Operation> {
    RESOURCES
        .iter()
        .map(|r| {
            let prefix = if r.group.is_empty() {
                format!("/api/{}", r.version)
            } else {
                format!("/apis/{}/{}", r.group, r.version)
            };
            let path = if r.namespaced {
                format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
            } else {
                format!("{prefix}/{}/{{name}}", r.plural)
            };
            Operation {
                path,
                operation_id: format!("patch{}{}", group_prefix(r.group, r.version), r.kind),
                group: r.group,
                version: r.version,
                kind: r.kind,
            }
        })
        .collect()
}

/// `CoreV1`, `AppsV1`, `EventsV1`: upstream operation ids carry the group so they stay unique
/// when two groups serve the same kind (core and events.k8s.io `Event`).
fn group_prefix(group: &str, version: &str) -> String {
    // Upstream drops the `.k8s.io` suffix and camel-cases the rest:
    // `rbac.authorization.k8s.io` → `RbacAuthorization`, `coordination.k8s.io` → `Coordination`.
    let name = group.strip_suffix(".k8s.io").unwrap_or(group);
    let name = if name.is_empty() { "core" } else { name };
    let mut out = String::new();
    for part in name.split('.').chain([version]) {
        let mut chars = part.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

static JSON_DOC: LazyLock<Bytes> =
    LazyLock::new(|| Bytes::from(serde_json::to_vec(&json_document()).unwrap_or_default()));
static PROTO_DOC: LazyLock<Bytes> = LazyLock::new(|| Bytes::from(proto_document()));

/// `GET /openapi/v2`: protobuf when the client asks for it, JSON otherwise (kube-openapi serves
/// both from one handler, choosing by Accept).
pub fn document(call: &Call) -> http::Response<ResponseBody> {
    let wants_protobuf = call
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("com.github.proto-openapi.spec.v2"));
    if wants_protobuf {
        body::respond(StatusCode::OK, PROTOBUF, PROTO_DOC.clone())
    } else {
        body::json_bytes(StatusCode::OK, JSON_DOC.clone())
    }
}

fn json_document() -> Value {
    let mut paths = serde_json::Map::new();
    for op in operations() {
        let parameters: Vec<Value> = QUERY_PARAMETERS
            .iter()
            .map(|name| json!({"name": name, "in": "query", "type": "string", "uniqueItems": true}))
            .collect();
        paths.insert(
            op.path,
            json!({"patch": {
                "operationId": op.operation_id,
                "parameters": parameters,
                "responses": {"200": {"description": "OK"}},
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": op.group, "kind": op.kind, "version": op.version},
            }}),
        );
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths,
    })
}

/// Field numbers of gnostic `openapiv2/OpenAPIv2.proto` (package `openapi.v2`).
mod field {
    pub const DOCUMENT_SWAGGER: u32 = 1;
    pub const DOCUMENT_INFO: u32 = 2;
    pub const DOCUMENT_PATHS: u32 = 8;
    pub const INFO_TITLE: u32 = 1;
    pub const INFO_VERSION: u32 = 2;
    pub const PATHS_PATH: u32 = 2;
    /// `name` and `value` of every `Named*` pair message.
    pub const NAMED_NAME: u32 = 1;
    pub const NAMED_VALUE: u32 = 2;
    pub const PATH_ITEM_PATCH: u32 = 8;
    pub const OPERATION_ID: u32 = 5;
    pub const OPERATION_PARAMETERS: u32 = 8;
    pub const OPERATION_RESPONSES: u32 = 9;
    pub const OPERATION_VENDOR_EXTENSION: u32 = 13;
    pub const PARAMETERS_ITEM_PARAMETER: u32 = 1;
    pub const PARAMETER_NON_BODY: u32 = 2;
    pub const NON_BODY_QUERY: u32 = 3;
    pub const QUERY_IN: u32 = 2;
    pub const QUERY_NAME: u32 = 4;
    pub const QUERY_TYPE: u32 = 6;
    pub const QUERY_UNIQUE_ITEMS: u32 = 20;
    pub const RESPONSES_RESPONSE_CODE: u32 = 1;
    pub const RESPONSE_VALUE_RESPONSE: u32 = 1;
    pub const RESPONSE_DESCRIPTION: u32 = 1;
    pub const ANY_YAML: u32 = 2;
}

fn proto_document() -> Vec<u8> {
    use field::*;
    let mut paths = Message::default();
    for op in operations() {
        let mut operation = Message::default();
        operation.string(OPERATION_ID, &op.operation_id);
        for name in QUERY_PARAMETERS {
            let mut query = Message::default();
            query.string(QUERY_IN, "query");
            query.string(QUERY_NAME, name);
            query.string(QUERY_TYPE, "string");
            query.boolean(QUERY_UNIQUE_ITEMS, true);
            let non_body = Message::default().with(NON_BODY_QUERY, query);
            let parameter = Message::default().with(PARAMETER_NON_BODY, non_body);
            operation.message(
                OPERATION_PARAMETERS,
                Message::default().with(PARAMETERS_ITEM_PARAMETER, parameter),
            );
        }
        let mut response = Message::default();
        response.string(RESPONSE_DESCRIPTION, "OK");
        let mut code = Message::default();
        code.string(NAMED_NAME, "200");
        code.message(
            NAMED_VALUE,
            Message::default().with(RESPONSE_VALUE_RESPONSE, response),
        );
        operation.message(
            OPERATION_RESPONSES,
            Message::default().with(RESPONSES_RESPONSE_CODE, code),
        );
        for (name, yaml) in [
            ("x-kubernetes-action", "patch\n".to_owned()),
            (
                "x-kubernetes-group-version-kind",
                format!(
                    "group: {}\nkind: {}\nversion: {}\n",
                    yaml_string(op.group),
                    op.kind,
                    op.version
                ),
            ),
        ] {
            let mut any = Message::default();
            any.string(ANY_YAML, &yaml);
            let mut extension = Message::default();
            extension.string(NAMED_NAME, name);
            extension.message(NAMED_VALUE, any);
            operation.message(OPERATION_VENDOR_EXTENSION, extension);
        }
        let mut named = Message::default();
        named.string(NAMED_NAME, &op.path);
        named.message(
            NAMED_VALUE,
            Message::default().with(PATH_ITEM_PATCH, operation),
        );
        paths.message(PATHS_PATH, named);
    }
    let mut info = Message::default();
    info.string(INFO_TITLE, "Kubernetes");
    info.string(INFO_VERSION, GIT_VERSION);
    let mut document = Message::default();
    document.string(DOCUMENT_SWAGGER, "2.0");
    document.message(DOCUMENT_INFO, info);
    document.message(DOCUMENT_PATHS, paths);
    document.0
}

/// The core group is the empty string, which plain YAML would read as null.
fn yaml_string(text: &str) -> String {
    if text.is_empty() {
        "\"\"".to_owned()
    } else {
        text.to_owned()
    }
}

/// A protobuf message being encoded: fields appended in order (protobuf encoding guide).
#[derive(Default)]
struct Message(Vec<u8>);

impl Message {
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.0.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.0.push(value as u8);
    }

    fn tag(&mut self, field: u32, wire_type: u64) {
        self.varint((u64::from(field) << 3) | wire_type);
    }

    fn bytes(&mut self, field: u32, bytes: &[u8]) {
        self.tag(field, 2);
        self.varint(bytes.len() as u64);
        self.0.extend_from_slice(bytes);
    }

    fn string(&mut self, field: u32, text: &str) {
        self.bytes(field, text.as_bytes());
    }

    fn boolean(&mut self, field: u32, value: bool) {
        self.tag(field, 0);
        self.varint(u64::from(value));
    }

    fn message(&mut self, field: u32, message: Message) {
        self.bytes(field, &message.0);
    }

    fn with(mut self, field: u32, message: Message) -> Self {
        self.message(field, message);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_nested_messages_encode_like_protobuf() {
        let mut m = Message::default();
        m.varint(300);
        assert_eq!(m.0, [0xac, 0x02]);
        let mut inner = Message::default();
        inner.string(1, "hi");
        let outer = Message::default().with(2, inner);
        assert_eq!(outer.0, [0x12, 4, 0x0a, 2, b'h', b'i']);
    }

    #[test]
    fn every_kind_has_a_patch_operation_with_field_validation() {
        let doc = json_document();
        let ds = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/daemonsets/{name}"]["patch"];
        assert_eq!(ds["x-kubernetes-group-version-kind"]["kind"], "DaemonSet");
        assert_eq!(ds["parameters"][0]["name"], "fieldValidation");
        let proto = proto_document();
        assert!(proto.starts_with(&[0x0a, 3, b'2', b'.', b'0']));
        let needle = b"group: apps\nkind: DaemonSet\nversion: v1\n";
        assert!(proto.windows(needle.len()).any(|w| w == needle));
        let core = b"group: \"\"\nkind: Namespace\nversion: v1\n";
        assert!(proto.windows(core.len()).any(|w| w == core));
    }

    #[test]
    fn operation_ids_name_the_group_as_upstream() {
        assert_eq!(group_prefix("", "v1"), "CoreV1");
        assert_eq!(group_prefix("events.k8s.io", "v1"), "EventsV1");
        assert_eq!(
            group_prefix("rbac.authorization.k8s.io", "v1"),
            "RbacAuthorizationV1"
        );
    }
}
