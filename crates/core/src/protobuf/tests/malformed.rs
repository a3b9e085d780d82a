//! Error and robustness tests: unsupported kinds, malformed bodies, and fuzzing that arbitrary bytes never panic.

use proptest::prelude::*;
use serde_json::json;

use super::encoder::{Enc, body, quantity, time};
use super::workloads::pod_spec;
use super::{meta, namespaced};
use crate::protobuf::{MAGIC, ProtobufError, decode_body, is_protobuf_content_type};

#[test]
fn a_missing_raw_decodes_to_an_empty_object() {
    let mut bytes = MAGIC.to_vec();
    bytes.extend(
        Enc::new()
            .msg(1, Enc::new().str(1, "v1").str(2, "Namespace"))
            .into_bytes(),
    );
    assert_eq!(
        decode_body(&bytes).expect("must succeed"),
        json!({"apiVersion": "v1", "kind": "Namespace"})
    );
}

#[test]
fn unsupported_kinds_are_reported() {
    let cases = [
        ("v1", "Secret"),
        ("apps/v1", "Namespace"),
        ("apps/v1", "StatefulSet"),
        ("", ""),
    ];
    for (api_version, kind) in cases {
        let err = decode_body(&body(api_version, kind, Enc::new())).expect_err("must fail");
        match err {
            ProtobufError::UnsupportedKind {
                api_version: a,
                kind: k,
            } => {
                assert_eq!((a.as_str(), k.as_str()), (api_version, kind));
            }
            other => panic!("{api_version} {kind}: unexpected {other}"),
        }
    }
}

#[test]
fn malformed_bodies_are_errors() {
    let mut truncated = body("v1", "Namespace", Enc::new().msg(1, meta("demo")));
    truncated.truncate(truncated.len() - 7);
    let gzip = {
        let mut out = MAGIC.to_vec();
        out.extend(
            Enc::new()
                .msg(1, Enc::new().str(1, "v1").str(2, "Namespace"))
                .str(3, "gzip")
                .into_bytes(),
        );
        out
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "empty body",
            vec![],
            "does not start with the kubernetes prefix",
        ),
        (
            "json body",
            b"{\"kind\":\"Namespace\"}".to_vec(),
            "does not start with the kubernetes prefix",
        ),
        ("truncated", truncated, "truncated"),
        ("gzip", gzip, "content encoding \"gzip\""),
        (
            "name as varint",
            body(
                "v1",
                "Namespace",
                Enc::new().msg(1, Enc::new().varint(1, 5)),
            ),
            "field name of ObjectMeta has the wrong protobuf wire type",
        ),
        (
            "metadata as varint",
            body("v1", "Namespace", Enc::new().varint(1, 5)),
            "field metadata of Namespace has the wrong protobuf wire type",
        ),
        (
            "invalid utf-8",
            body(
                "v1",
                "Namespace",
                Enc::new().msg(1, Enc::new().bytes(1, &[0xff, 0xfe])),
            ),
            "field name of ObjectMeta is not valid utf-8",
        ),
        (
            "bad intorstring",
            body(
                "apps/v1",
                "DaemonSet",
                Enc::new().msg(
                    2,
                    Enc::new().msg(
                        3,
                        Enc::new().msg(2, Enc::new().msg(1, Enc::new().int(1, 7))),
                    ),
                ),
            ),
            "field maxUnavailable of RollingUpdateDaemonSet holds an intorstring of unknown type 7",
        ),
        (
            "raw data not json",
            body(
                "apps/v1",
                "ControllerRevision",
                Enc::new().msg(2, Enc::new().bytes(1, b"\x0a\x00")),
            ),
            "field data of ControllerRevision does not hold valid json",
        ),
        (
            "time out of range",
            body(
                "v1",
                "Namespace",
                Enc::new().msg(1, Enc::new().msg(8, time(i64::MAX, 0))),
            ),
            "field creationTimestamp of ObjectMeta holds a time out of range",
        ),
        (
            "kind as varint",
            {
                let mut out = MAGIC.to_vec();
                out.extend(Enc::new().msg(1, Enc::new().varint(2, 1)).into_bytes());
                out
            },
            "field kind of Unknown has the wrong protobuf wire type",
        ),
    ];
    for (name, bytes, want) in cases {
        let err = decode_body(&bytes).expect_err(name);
        assert!(err.to_string().contains(want), "{name}: {err}");
    }
}

#[test]
fn protobuf_content_type_detection() {
    let cases = [
        ("application/vnd.kubernetes.protobuf", true),
        ("application/vnd.kubernetes.protobuf; charset=utf-8", true),
        ("Application/VND.Kubernetes.Protobuf", true),
        ("application/vnd.kubernetes.protobuf;stream=watch", true),
        ("application/json", false),
        ("application/vnd.kubernetes.protobuf+json", false),
        ("", false),
    ];
    for (content_type, want) in cases {
        assert_eq!(
            is_protobuf_content_type(content_type),
            want,
            "{content_type:?}"
        );
    }
}

/// A valid Pod body, for mutation fuzzing.
fn sample_pod_body() -> Vec<u8> {
    body(
        "v1",
        "Pod",
        Enc::new()
            .msg(1, namespaced("p", "d"))
            .msg(2, pod_spec())
            .msg(3, Enc::new().str(1, "Running")),
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_body(&bytes);
        let mut prefixed = MAGIC.to_vec();
        prefixed.extend(&bytes);
        let _ = decode_body(&prefixed);
    }

    #[test]
    fn arbitrary_raw_never_panics_for_any_kind(
        kind in prop::sample::select(vec![
            ("v1", "Namespace"), ("v1", "Pod"), ("v1", "Node"), ("v1", "Binding"),
            ("v1", "ConfigMap"), ("v1", "Event"), ("v1", "DeleteOptions"),
            ("policy/v1", "Eviction"), ("apps/v1", "DaemonSet"),
            ("apps/v1", "ControllerRevision"), ("coordination.k8s.io/v1", "Lease"),
        ]),
        raw in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend(
            Enc::new()
                .msg(1, Enc::new().str(1, kind.0).str(2, kind.1))
                .bytes(2, &raw)
                .into_bytes(),
        );
        let _ = decode_body(&bytes);
    }

    #[test]
    fn mutated_pod_bodies_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = sample_pod_body();
        for (index, value) in flips {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        let _ = decode_body(&bytes);
    }
}

#[test]
fn quantity_helper_matches_wire_layout() {
    // Guards the encoder used above: Quantity is `string = 1`.
    assert_eq!(quantity("1").into_bytes(), vec![0x0a, 0x01, b'1']);
}
