//! Tests for protobuf body decoding: one hand-assembled body per supported kind, the exact kubectl bytes, and malformed input.

mod deployments;
mod encoder;
mod kinds;
mod malformed;
mod workloads;

use serde_json::json;

use super::decode_body;
use encoder::{Enc, body, time};

/// 2023-11-14T22:13:20Z.
pub(super) const T0: i64 = 1_700_000_000;

pub(super) fn decode(api_version: &str, kind: &str, raw: Enc) -> serde_json::Value {
    decode_body(&body(api_version, kind, raw)).expect("body decodes")
}

pub(super) fn meta(name: &str) -> Enc {
    Enc::new().str(1, name)
}

pub(super) fn namespaced(name: &str, namespace: &str) -> Enc {
    Enc::new().str(1, name).str(3, namespace)
}

/// The ObjectMeta go-to-protobuf writes for `ObjectMeta{Name: name}`: every non-pointer field,
/// zero or not, and an empty creationTimestamp.
pub(super) fn go_object_meta(name: &str) -> Enc {
    Enc::new()
        .str(1, name)
        .str(2, "")
        .str(3, "")
        .str(4, "")
        .str(5, "")
        .str(6, "")
        .int(7, 0)
        .msg(8, Enc::new())
}

#[test]
fn kubectl_create_namespace_demo() {
    // `kubectl create namespace demo` (captured prefix 6b387300, api.md TL;DR 1): magic,
    // typeMeta {v1, Namespace}, raw Namespace{metadata{name: demo}, spec{}, status{phase: ""}},
    // empty contentEncoding and contentType.
    #[rustfmt::skip]
    let wire: &[u8] = &[
        0x6b, 0x38, 0x73, 0x00,
        0x0a, 0x0f, 0x0a, 0x02, b'v', b'1', 0x12, 0x09, b'N', b'a', b'm', b'e', b's', b'p', b'a', b'c', b'e',
        0x12, 0x1c,
            0x0a, 0x14,
                0x0a, 0x04, b'd', b'e', b'm', b'o', 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00,
                0x32, 0x00, 0x38, 0x00, 0x42, 0x00,
            0x12, 0x00,
            0x1a, 0x02, 0x0a, 0x00,
        0x1a, 0x00,
        0x22, 0x00,
    ];
    let built = body(
        "v1",
        "Namespace",
        Enc::new()
            .msg(1, go_object_meta("demo"))
            .msg(2, Enc::new())
            .msg(3, Enc::new().str(1, "")),
    );
    assert_eq!(built, wire, "the test encoder reproduces the kubectl bytes");
    assert_eq!(
        decode_body(wire).expect("must succeed"),
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "demo"},
            "spec": {},
            "status": {},
        })
    );
}

#[test]
fn delete_options_keeps_explicit_zero_grace_period() {
    // drain --disable-eviction: typed DELETE with gracePeriodSeconds 0 and preconditions.
    let raw = Enc::new()
        .int(1, 0)
        .msg(2, Enc::new().str(1, "uid-1").str(2, "42"))
        .str(4, "Background")
        .strs(5, &["All"]);
    assert_eq!(
        decode("v1", "DeleteOptions", raw),
        json!({
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": "uid-1", "resourceVersion": "42"},
            "propagationPolicy": "Background",
            "dryRun": ["All"],
        })
    );
}

#[test]
fn delete_options_is_accepted_in_any_group_version() {
    for api_version in ["v1", "apps/v1", "meta.k8s.io/v1", "coordination.k8s.io/v1"] {
        let got = decode(api_version, "DeleteOptions", Enc::new().bool(3, false));
        assert_eq!(
            got,
            json!({"apiVersion": api_version, "kind": "DeleteOptions", "orphanDependents": false})
        );
    }
}

#[test]
fn namespace_with_full_object_meta() {
    let metadata = Enc::new()
        .str(1, "team-a")
        .str(2, "")
        .str(5, "0f7e-uid")
        .str(6, "17")
        .int(7, 3)
        .msg(8, time(T0, 0))
        .msg(9, time(T0 + 30, 999_999_999))
        .int(10, 0)
        .str_entry(11, "team", "a")
        .str_entry(11, "env", "")
        .str_entry(12, "note", "hello")
        .msg(
            13,
            Enc::new()
                .str(5, "v1")
                .str(1, "ConfigMap")
                .str(3, "owner")
                .str(4, "owner-uid")
                .bool(6, true)
                .bool(7, false),
        )
        .strs(14, &["example.com/hold", "orphan"])
        // managedFields and an unknown fixed32/fixed64 are skipped.
        .msg(17, Enc::new().str(1, "kubectl").str(2, "Update"))
        .fixed32(99, 7)
        .fixed64(100, 8);
    let status = Enc::new().str(1, "Terminating").msg(
        2,
        Enc::new()
            .str(1, "NamespaceDeletionContentFailure")
            .str(2, "False")
            .msg(4, time(T0, 0))
            .str(5, "ContentDeleted")
            .str(6, "All content successfully deleted"),
    );
    let raw = Enc::new()
        .msg(1, metadata)
        .msg(2, Enc::new().strs(1, &["kubernetes"]))
        .msg(3, status);
    assert_eq!(
        decode("v1", "Namespace", raw),
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": "team-a",
                "uid": "0f7e-uid",
                "resourceVersion": "17",
                "generation": 3,
                "creationTimestamp": "2023-11-14T22:13:20Z",
                "deletionTimestamp": "2023-11-14T22:13:50Z",
                "deletionGracePeriodSeconds": 0,
                "labels": {"team": "a", "env": ""},
                "annotations": {"note": "hello"},
                "ownerReferences": [{
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "owner",
                    "uid": "owner-uid",
                    "controller": true,
                    "blockOwnerDeletion": false,
                }],
                "finalizers": ["example.com/hold", "orphan"],
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {
                "phase": "Terminating",
                "conditions": [{
                    "type": "NamespaceDeletionContentFailure",
                    "status": "False",
                    "lastTransitionTime": "2023-11-14T22:13:20Z",
                    "reason": "ContentDeleted",
                    "message": "All content successfully deleted",
                }],
            },
        })
    );
}

#[test]
fn eviction_carries_delete_options() {
    for api_version in ["policy/v1", "policy/v1beta1"] {
        let raw = Enc::new()
            .msg(1, namespaced("web-0", "default"))
            .msg(2, Enc::new().int(1, 30).str(4, ""));
        assert_eq!(
            decode(api_version, "Eviction", raw),
            json!({
                "apiVersion": api_version,
                "kind": "Eviction",
                "metadata": {"name": "web-0", "namespace": "default"},
                "deleteOptions": {"gracePeriodSeconds": 30, "propagationPolicy": ""},
            })
        );
    }
}

#[test]
fn binding_targets_a_node() {
    let raw = Enc::new().msg(1, namespaced("web-0", "default")).msg(
        2,
        Enc::new()
            .str(1, "Node")
            .str(3, "node-1")
            .str(5, "v1")
            .str(6, ""),
    );
    assert_eq!(
        decode("v1", "Binding", raw),
        json!({
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": "web-0", "namespace": "default"},
            "target": {"kind": "Node", "name": "node-1", "apiVersion": "v1"},
        })
    );
}
