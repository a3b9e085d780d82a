//! Decoding tests for ServiceAccount, PriorityClass and events.k8s.io/v1 Event, as kubectl and client-go send them.

use serde_json::json;

use super::encoder::{Enc, time};
use super::{T0, decode, go_object_meta, namespaced};

#[test]
fn kubectl_create_serviceaccount() {
    // `kubectl create serviceaccount foo`: only metadata is set; the nil pointer
    // automountServiceAccountToken is not on the wire.
    let raw = Enc::new().msg(1, go_object_meta("foo"));
    assert_eq!(
        decode("v1", "ServiceAccount", raw),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "foo"}})
    );
}

#[test]
fn service_account_with_every_field() {
    let raw = Enc::new()
        .msg(1, namespaced("builder", "ci"))
        .msg(2, Enc::new().str(1, "Secret").str(3, "builder-token"))
        .msg(3, Enc::new().str(1, "registry"))
        .msg(3, Enc::new().str(1, "mirror"))
        .bool(4, false);
    assert_eq!(
        decode("v1", "ServiceAccount", raw),
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "builder", "namespace": "ci"},
            "secrets": [{"kind": "Secret", "name": "builder-token"}],
            "imagePullSecrets": [{"name": "registry"}, {"name": "mirror"}],
            // A pointer on the wire is set, even when false.
            "automountServiceAccountToken": false,
        })
    );
}

#[test]
fn kubectl_create_priorityclass() {
    // `kubectl create priorityclass foo --value=1000`: go-to-protobuf writes every non-pointer
    // field, zero or not, and the preemption policy kubectl defaults.
    let raw = Enc::new()
        .msg(1, go_object_meta("foo"))
        .int(2, 1000)
        .bool(3, false)
        .str(4, "")
        .str(5, "PreemptLowerPriority");
    assert_eq!(
        decode("scheduling.k8s.io/v1", "PriorityClass", raw),
        json!({
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": "foo"},
            "value": 1000,
            "preemptionPolicy": "PreemptLowerPriority",
        })
    );
}

#[test]
fn priority_class_keeps_a_zero_value_and_negative_values() {
    let zero = Enc::new().msg(1, go_object_meta("zero")).int(2, 0);
    assert_eq!(
        decode("scheduling.k8s.io/v1", "PriorityClass", zero)["value"],
        0
    );
    let negative = Enc::new()
        .msg(1, go_object_meta("low"))
        .int(2, -5)
        .bool(3, true)
        .str(4, "background work");
    let decoded = decode("scheduling.k8s.io/v1", "PriorityClass", negative);
    assert_eq!(decoded["value"], -5);
    assert_eq!(decoded["globalDefault"], true);
    assert_eq!(decoded["description"], "background work");
}

#[test]
fn events_v1_event() {
    // What client-go's events recorder (k8s.io/client-go/tools/events) sends.
    let raw = Enc::new()
        .msg(1, namespaced("web-0.17b", "default"))
        .msg(2, time(T0, 123_456_000))
        .msg(3, Enc::new().int(1, 0).msg(2, time(T0, 0)))
        .str(4, "default-scheduler")
        .str(5, "default-scheduler-node-1")
        .str(6, "Binding")
        .str(7, "Scheduled")
        .msg(
            8,
            Enc::new()
                .str(1, "Pod")
                .str(2, "default")
                .str(3, "web-0")
                .str(4, "pod-uid")
                .str(5, "v1"),
        )
        .str(10, "Successfully assigned default/web-0 to node-1")
        .str(11, "Normal")
        .msg(12, Enc::new().str(1, "").str(2, ""))
        .msg(13, Enc::new())
        .msg(14, Enc::new())
        .int(15, 0);
    assert_eq!(
        decode("events.k8s.io/v1", "Event", raw),
        json!({
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": "web-0.17b", "namespace": "default"},
            "eventTime": "2023-11-14T22:13:20.123456Z",
            // events.k8s.io's series count has no omitempty.
            "series": {"count": 0, "lastObservedTime": "2023-11-14T22:13:20.000000Z"},
            "reportingController": "default-scheduler",
            "reportingInstance": "default-scheduler-node-1",
            "action": "Binding",
            "reason": "Scheduled",
            "regarding": {"kind": "Pod", "namespace": "default", "name": "web-0", "uid": "pod-uid", "apiVersion": "v1"},
            "note": "Successfully assigned default/web-0 to node-1",
            "type": "Normal",
            "deprecatedSource": {},
        })
    );
}

#[test]
fn events_v1_event_deprecated_fields() {
    let raw = Enc::new()
        .msg(1, namespaced("old", "default"))
        .msg(12, Enc::new().str(1, "kubelet").str(2, "node-1"))
        .msg(13, time(T0, 0))
        .msg(14, time(T0 + 60, 0))
        .int(15, 3);
    let decoded = decode("events.k8s.io/v1", "Event", raw);
    assert_eq!(
        decoded["deprecatedSource"],
        json!({"component": "kubelet", "host": "node-1"})
    );
    assert_eq!(decoded["deprecatedFirstTimestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(decoded["deprecatedLastTimestamp"], "2023-11-14T22:14:20Z");
    assert_eq!(decoded["deprecatedCount"], 3);
}
