//! Decodes Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the JSON the JSON API would carry.
//!
//! Since client-go 1.32 typed clients send create/update/delete bodies as protobuf (api.md TL;DR
//! 1): `kubectl create namespace`, drain's typed DELETE with `DeleteOptions`, evictions. A body
//! is the magic [`MAGIC`] followed by a `runtime.Unknown` envelope whose `raw` field holds the
//! object's own message. [`decode_body`] reads the envelope, looks the kind up in a table of
//! message descriptors (`schema`), and walks the message into a `serde_json::Value` with
//! `apiVersion`/`kind` set, so the server can handle it exactly like a JSON body.
//!
//! Start with [`decode_body`]; the descriptor tables live in `meta`, `core`, `pod` and `groups`.

mod core;
mod groups;
mod meta;
mod pod;
mod rbac;
mod scalars;
mod schema;
mod wire;
mod workloads;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use scalars::Site;
use schema::Message;
use wire::{Reader, Wire};

/// Every Kubernetes protobuf body starts with these four bytes (upstream
/// `protobuf.protoEncodingPrefix`).
pub const MAGIC: [u8; 4] = *b"k8s\0";
/// The media type of Kubernetes protobuf bodies (upstream `runtime.ContentTypeProtobuf`).
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

const API_VERSION: &str = "apiVersion";
const KIND: &str = "kind";
/// The envelope message, for error messages.
const UNKNOWN: &str = "Unknown";

/// Why a protobuf body could not be turned into JSON.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// The body does not start with [`MAGIC`].
    #[error("protobuf body does not start with the kubernetes prefix \"k8s\\x00\"")]
    MissingMagic,
    /// The data ends inside a field, or a length points past the end.
    #[error("protobuf data is truncated")]
    Truncated,
    /// A varint runs past ten bytes or 64 bits.
    #[error("protobuf varint overflows 64 bits")]
    VarintOverflow,
    /// A tag carries field number 0 or one above 2^29 - 1.
    #[error("invalid protobuf field number {0}")]
    InvalidFieldNumber(u64),
    /// A tag carries a wire type other than varint, fixed64, length-delimited or fixed32.
    #[error("unsupported protobuf wire type {0}")]
    UnsupportedWireType(u8),
    /// A known field arrived with a wire type that does not fit its declared type.
    #[error("field {field} of {message} has the wrong protobuf wire type")]
    WrongWireType {
        /// The protobuf message holding the field.
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
    },
    /// A string field is not valid UTF-8.
    #[error("field {field} of {message} is not valid utf-8")]
    InvalidUtf8 {
        /// The protobuf message holding the field.
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
    },
    /// A Time or MicroTime lies outside the years -9999..=9999.
    #[error("field {field} of {message} holds a time out of range")]
    InvalidTime {
        /// The protobuf message holding the field.
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
    },
    /// An IntOrString has a `type` other than 0 (int) or 1 (string).
    #[error("field {field} of {message} holds an intorstring of unknown type {kind}")]
    InvalidIntOrString {
        /// The protobuf message holding the field.
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
        /// The `type` found on the wire.
        kind: u64,
    },
    /// A RawExtension does not hold JSON.
    #[error("field {field} of {message} does not hold valid json: {source}")]
    InvalidRawJson {
        /// The protobuf message holding the field.
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
        /// The JSON parse failure.
        #[source]
        source: serde_json::Error,
    },
    /// The envelope declares a content encoding (such as gzip); client-go never sets one.
    #[error("unsupported protobuf content encoding {0:?}")]
    UnsupportedEncoding(String),
    /// The envelope names a kind we have no descriptor for; the server answers 415.
    #[error("protobuf bodies of kind {kind} in {api_version} are not supported, send json")]
    UnsupportedKind {
        /// `apiVersion` from the envelope's type meta.
        api_version: String,
        /// `kind` from the envelope's type meta.
        kind: String,
    },
}

/// Decodes a complete protobuf request body into the JSON object the JSON API would carry:
/// camelCase field names, `apiVersion`/`kind` from the envelope, unset and `omitempty`-zero
/// fields omitted, times as RFC 3339 strings, quantities as strings.
pub fn decode_body(bytes: &[u8]) -> Result<Value, ProtobufError> {
    let rest = bytes
        .strip_prefix(&MAGIC)
        .ok_or(ProtobufError::MissingMagic)?;
    let envelope = Envelope::parse(rest)?;
    // Upstream `protobuf.Serializer` never compresses `raw`; anything else is not ours to guess.
    if !envelope.content_encoding.is_empty() {
        return Err(ProtobufError::UnsupportedEncoding(
            envelope.content_encoding,
        ));
    }
    let Some(message) = lookup(&envelope.api_version, &envelope.kind) else {
        return Err(ProtobufError::UnsupportedKind {
            api_version: envelope.api_version,
            kind: envelope.kind,
        });
    };
    let mut object = Map::new();
    object.insert(API_VERSION.to_owned(), Value::String(envelope.api_version));
    object.insert(KIND.to_owned(), Value::String(envelope.kind));
    schema::decode_into(message, envelope.raw, &mut object)?;
    Ok(Value::Object(object))
}

/// Whether a `Content-Type` header value names the Kubernetes protobuf media type (parameters
/// and case are ignored).
pub fn is_protobuf_content_type(content_type: &str) -> bool {
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    media_type.eq_ignore_ascii_case(CONTENT_TYPE)
}

/// The descriptor for an envelope's `apiVersion`/`kind`. `DeleteOptions` is registered in every
/// group version (upstream `metav1.AddToGroupVersion`), so its apiVersion is not checked.
fn lookup(api_version: &str, kind: &str) -> Option<&'static Message> {
    if kind == "DeleteOptions" {
        return Some(&meta::DELETE_OPTIONS);
    }
    KINDS
        .iter()
        .find(|(versions, k, _)| *k == kind && versions.contains(&api_version))
        .map(|(_, _, message)| *message)
}

const RBAC_V1: &str = "rbac.authorization.k8s.io/v1";

/// Supported kinds: the apiVersions each is accepted in, its kind, and its descriptor.
/// policy/v1beta1 Eviction has the same layout as policy/v1.
static KINDS: &[(&[&str], &str, &Message)] = &[
    (&["v1"], "Namespace", &core::NAMESPACE),
    (&["v1"], "Binding", &core::BINDING),
    (&["v1"], "Node", &core::NODE),
    (&["v1"], "Pod", &pod::POD),
    (&["v1"], "ConfigMap", &core::CONFIG_MAP),
    (&["v1"], "Event", &core::EVENT),
    (&["v1"], "ServiceAccount", &core::SERVICE_ACCOUNT),
    (&["events.k8s.io/v1"], "Event", &groups::EVENTS_V1_EVENT),
    (
        &["scheduling.k8s.io/v1"],
        "PriorityClass",
        &groups::PRIORITY_CLASS,
    ),
    (
        &["policy/v1", "policy/v1beta1"],
        "Eviction",
        &groups::EVICTION,
    ),
    (&["apps/v1"], "DaemonSet", &groups::DAEMON_SET),
    (
        &["apps/v1"],
        "ControllerRevision",
        &groups::CONTROLLER_REVISION,
    ),
    (&["coordination.k8s.io/v1"], "Lease", &groups::LEASE),
    (&[RBAC_V1], "Role", &rbac::ROLE),
    (&[RBAC_V1], "ClusterRole", &rbac::CLUSTER_ROLE),
    (&[RBAC_V1], "RoleBinding", &rbac::ROLE_BINDING),
    (
        &[RBAC_V1],
        "ClusterRoleBinding",
        &rbac::CLUSTER_ROLE_BINDING,
    ),
    (&["apps/v1"], "Deployment", &workloads::DEPLOYMENT),
    (&["apps/v1"], "ReplicaSet", &workloads::REPLICA_SET),
    (&["autoscaling/v1"], "Scale", &workloads::SCALE),
    (
        &["authorization.k8s.io/v1"],
        "SelfSubjectAccessReview",
        &groups::SELF_SUBJECT_ACCESS_REVIEW,
    ),
    (
        &["authorization.k8s.io/v1"],
        "SelfSubjectRulesReview",
        &groups::SELF_SUBJECT_RULES_REVIEW,
    ),
    (
        &["authentication.k8s.io/v1"],
        "SelfSubjectReview",
        &groups::SELF_SUBJECT_REVIEW,
    ),
];

/// The `runtime.Unknown` envelope: `typeMeta = 1` {`apiVersion = 1`, `kind = 2`}, `raw = 2`,
/// `contentEncoding = 3`, `contentType = 4` (apimachinery `runtime/generated.proto`).
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
}

// === impl Envelope ===

impl<'a> Envelope<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, ProtobufError> {
        let mut envelope = Envelope {
            api_version: String::new(),
            kind: String::new(),
            raw: &[],
            content_encoding: String::new(),
        };
        let mut reader = Reader::new(bytes);
        while let Some((num, wire)) = reader.next_field()? {
            match (num, wire) {
                (1, Wire::Len(type_meta)) => envelope.parse_type_meta(type_meta)?,
                (2, Wire::Len(raw)) => envelope.raw = raw,
                (3, Wire::Len(encoding)) => {
                    envelope.content_encoding = scalars::utf8(site("contentEncoding"), encoding)?;
                }
                // contentType is informational: `raw` is always the object's protobuf message.
                (4, Wire::Len(_)) => {}
                (1, _) => return Err(site("typeMeta").wrong_wire_type()),
                (2, _) => return Err(site("raw").wrong_wire_type()),
                (3, _) => return Err(site("contentEncoding").wrong_wire_type()),
                (4, _) => return Err(site("contentType").wrong_wire_type()),
                _ => {}
            }
        }
        Ok(envelope)
    }

    fn parse_type_meta(&mut self, bytes: &[u8]) -> Result<(), ProtobufError> {
        let mut reader = Reader::new(bytes);
        while let Some((num, wire)) = reader.next_field()? {
            match (num, wire) {
                (1, Wire::Len(value)) => {
                    self.api_version = scalars::utf8(site(API_VERSION), value)?
                }
                (2, Wire::Len(value)) => self.kind = scalars::utf8(site(KIND), value)?,
                (1, _) => return Err(site(API_VERSION).wrong_wire_type()),
                (2, _) => return Err(site(KIND).wrong_wire_type()),
                _ => {}
            }
        }
        Ok(())
    }
}

fn site(field: &'static str) -> Site {
    Site {
        message: UNKNOWN,
        field,
    }
}
