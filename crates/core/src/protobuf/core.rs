//! Descriptors for the `core/v1` objects other than pods (field numbers from `k8s.io/api/core/v1/generated.proto`).

use super::meta::OBJECT_META;
use super::schema::Kind::{Bool, BytesMap, Int, MicroTime, Msg, QuantityMap, Str, StrMap, Time};
use super::schema::{Message, f};

pub(crate) static OBJECT_REFERENCE: Message = Message {
    name: "ObjectReference",
    fields: &[
        f(1, "kind", Str),
        f(2, "namespace", Str),
        f(3, "name", Str),
        f(4, "uid", Str),
        f(5, "apiVersion", Str),
        f(6, "resourceVersion", Str),
        f(7, "fieldPath", Str),
    ],
};

pub(crate) static LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "LocalObjectReference",
    fields: &[f(1, "name", Str)],
};

// --- Namespace ---

pub(crate) static NAMESPACE: Message = Message {
    name: "Namespace",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&NAMESPACE_SPEC)),
        f(3, "status", Msg(&NAMESPACE_STATUS)),
    ],
};

static NAMESPACE_SPEC: Message = Message {
    name: "NamespaceSpec",
    fields: &[f(1, "finalizers", Str).list()],
};

static NAMESPACE_STATUS: Message = Message {
    name: "NamespaceStatus",
    fields: &[
        f(1, "phase", Str),
        f(2, "conditions", Msg(&NAMESPACE_CONDITION)).list(),
    ],
};

static NAMESPACE_CONDITION: Message = Message {
    name: "NamespaceCondition",
    fields: &[
        f(1, "type", Str).keep(),
        f(2, "status", Str).keep(),
        f(4, "lastTransitionTime", Time),
        f(5, "reason", Str),
        f(6, "message", Str),
    ],
};

// --- Binding ---

pub(crate) static BINDING: Message = Message {
    name: "Binding",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "target", Msg(&OBJECT_REFERENCE)),
    ],
};

// --- Node ---

pub(crate) static NODE: Message = Message {
    name: "Node",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&NODE_SPEC)),
        f(3, "status", Msg(&NODE_STATUS)),
    ],
};

static NODE_SPEC: Message = Message {
    name: "NodeSpec",
    fields: &[
        f(1, "podCIDR", Str),
        f(7, "podCIDRs", Str).list(),
        f(3, "providerID", Str),
        f(4, "unschedulable", Bool),
        f(5, "taints", Msg(&TAINT)).list(),
        f(2, "externalID", Str),
    ],
};

static TAINT: Message = Message {
    name: "Taint",
    fields: &[
        f(1, "key", Str).keep(),
        f(2, "value", Str),
        f(3, "effect", Str).keep(),
        f(4, "timeAdded", Time),
    ],
};

static NODE_STATUS: Message = Message {
    name: "NodeStatus",
    fields: &[
        f(1, "capacity", QuantityMap),
        f(2, "allocatable", QuantityMap),
        f(3, "phase", Str),
        f(4, "conditions", Msg(&NODE_CONDITION)).list(),
        f(5, "addresses", Msg(&NODE_ADDRESS)).list(),
        f(6, "daemonEndpoints", Msg(&NODE_DAEMON_ENDPOINTS)),
        f(7, "nodeInfo", Msg(&NODE_SYSTEM_INFO)),
        f(8, "images", Msg(&CONTAINER_IMAGE)).list(),
        f(9, "volumesInUse", Str).list(),
    ],
};

static NODE_CONDITION: Message = Message {
    name: "NodeCondition",
    fields: &[
        f(1, "type", Str).keep(),
        f(2, "status", Str).keep(),
        f(3, "lastHeartbeatTime", Time),
        f(4, "lastTransitionTime", Time),
        f(5, "reason", Str),
        f(6, "message", Str),
    ],
};

static NODE_ADDRESS: Message = Message {
    name: "NodeAddress",
    fields: &[f(1, "type", Str).keep(), f(2, "address", Str).keep()],
};

static NODE_DAEMON_ENDPOINTS: Message = Message {
    name: "NodeDaemonEndpoints",
    fields: &[f(1, "kubeletEndpoint", Msg(&DAEMON_ENDPOINT))],
};

/// The JSON name really is capitalised (`json:"Port"` upstream).
static DAEMON_ENDPOINT: Message = Message {
    name: "DaemonEndpoint",
    fields: &[f(1, "Port", Int).keep()],
};

/// Every `NodeSystemInfo` string lacks `omitempty` upstream, so empty values are kept.
static NODE_SYSTEM_INFO: Message = Message {
    name: "NodeSystemInfo",
    fields: &[
        f(1, "machineID", Str).keep(),
        f(2, "systemUUID", Str).keep(),
        f(3, "bootID", Str).keep(),
        f(4, "kernelVersion", Str).keep(),
        f(5, "osImage", Str).keep(),
        f(6, "containerRuntimeVersion", Str).keep(),
        f(7, "kubeletVersion", Str).keep(),
        f(8, "kubeProxyVersion", Str).keep(),
        f(9, "operatingSystem", Str).keep(),
        f(10, "architecture", Str).keep(),
        f(11, "swap", Msg(&NODE_SWAP_STATUS)),
    ],
};

static NODE_SWAP_STATUS: Message = Message {
    name: "NodeSwapStatus",
    fields: &[f(1, "capacity", Int).keep()],
};

static CONTAINER_IMAGE: Message = Message {
    name: "ContainerImage",
    fields: &[f(1, "names", Str).list(), f(2, "sizeBytes", Int)],
};

// --- ConfigMap ---

pub(crate) static CONFIG_MAP: Message = Message {
    name: "ConfigMap",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(4, "immutable", Bool).keep(),
        f(2, "data", StrMap),
        f(3, "binaryData", BytesMap),
    ],
};

// --- ServiceAccount ---

/// `automountServiceAccountToken` is a pointer upstream: on the wire means set.
pub(crate) static SERVICE_ACCOUNT: Message = Message {
    name: "ServiceAccount",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "secrets", Msg(&OBJECT_REFERENCE)).list(),
        f(3, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE)).list(),
        f(4, "automountServiceAccountToken", Bool).keep(),
    ],
};

// --- Event ---

pub(crate) static EVENT: Message = Message {
    name: "Event",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "involvedObject", Msg(&OBJECT_REFERENCE)),
        f(3, "reason", Str),
        f(4, "message", Str),
        f(5, "source", Msg(&EVENT_SOURCE)),
        f(6, "firstTimestamp", Time),
        f(7, "lastTimestamp", Time),
        f(8, "count", Int),
        f(9, "type", Str),
        f(10, "eventTime", MicroTime),
        f(11, "series", Msg(&EVENT_SERIES)),
        f(12, "action", Str),
        f(13, "related", Msg(&OBJECT_REFERENCE)),
        f(14, "reportingComponent", Str).keep(),
        f(15, "reportingInstance", Str).keep(),
    ],
};

pub(crate) static EVENT_SOURCE: Message = Message {
    name: "EventSource",
    fields: &[f(1, "component", Str), f(2, "host", Str)],
};

static EVENT_SERIES: Message = Message {
    name: "EventSeries",
    fields: &[f(1, "count", Int), f(2, "lastObservedTime", MicroTime)],
};
