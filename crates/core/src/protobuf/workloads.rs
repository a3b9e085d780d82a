//! Descriptors for apps/v1 Deployment and ReplicaSet and autoscaling/v1 Scale (upstream `api/apps/v1/generated.proto`, `api/autoscaling/v1/generated.proto`).

use super::meta::{LABEL_SELECTOR, OBJECT_META};
use super::pod::POD_TEMPLATE_SPEC;
use super::schema::Kind::{Bool, Int, IntOrString, Msg, Str, Time};
use super::schema::{Message, f};

// --- apps/v1 Deployment ---

pub(crate) static DEPLOYMENT: Message = Message {
    name: "Deployment",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&DEPLOYMENT_SPEC)),
        f(3, "status", Msg(&DEPLOYMENT_STATUS)),
    ],
};

/// `replicas`, `revisionHistoryLimit` and `progressDeadlineSeconds` are Go pointers: on the wire
/// means set, so an explicit 0 is kept.
static DEPLOYMENT_SPEC: Message = Message {
    name: "DeploymentSpec",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "selector", Msg(&LABEL_SELECTOR)),
        f(3, "template", Msg(&POD_TEMPLATE_SPEC)),
        f(4, "strategy", Msg(&DEPLOYMENT_STRATEGY)),
        f(5, "minReadySeconds", Int),
        f(6, "revisionHistoryLimit", Int).keep(),
        f(7, "paused", Bool),
        f(9, "progressDeadlineSeconds", Int).keep(),
    ],
};

static DEPLOYMENT_STRATEGY: Message = Message {
    name: "DeploymentStrategy",
    fields: &[
        f(1, "type", Str),
        f(2, "rollingUpdate", Msg(&ROLLING_UPDATE_DEPLOYMENT)),
    ],
};

static ROLLING_UPDATE_DEPLOYMENT: Message = Message {
    name: "RollingUpdateDeployment",
    fields: &[
        f(1, "maxUnavailable", IntOrString),
        f(2, "maxSurge", IntOrString),
    ],
};

static DEPLOYMENT_STATUS: Message = Message {
    name: "DeploymentStatus",
    fields: &[
        f(1, "observedGeneration", Int),
        f(2, "replicas", Int),
        f(3, "updatedReplicas", Int),
        f(4, "availableReplicas", Int),
        f(5, "unavailableReplicas", Int),
        f(6, "conditions", Msg(&DEPLOYMENT_CONDITION)).list(),
        f(7, "readyReplicas", Int),
        f(8, "collisionCount", Int).keep(),
        f(9, "terminatingReplicas", Int).keep(),
    ],
};

static DEPLOYMENT_CONDITION: Message = Message {
    name: "DeploymentCondition",
    fields: &[
        f(1, "type", Str).keep(),
        f(2, "status", Str).keep(),
        f(4, "reason", Str),
        f(5, "message", Str),
        f(6, "lastUpdateTime", Time),
        f(7, "lastTransitionTime", Time),
    ],
};

// --- apps/v1 ReplicaSet ---

pub(crate) static REPLICA_SET: Message = Message {
    name: "ReplicaSet",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&REPLICA_SET_SPEC)),
        f(3, "status", Msg(&REPLICA_SET_STATUS)),
    ],
};

static REPLICA_SET_SPEC: Message = Message {
    name: "ReplicaSetSpec",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "selector", Msg(&LABEL_SELECTOR)),
        f(3, "template", Msg(&POD_TEMPLATE_SPEC)),
        f(4, "minReadySeconds", Int),
    ],
};

/// `replicas` lacks `omitempty` upstream, so a zero is kept.
static REPLICA_SET_STATUS: Message = Message {
    name: "ReplicaSetStatus",
    fields: &[
        f(1, "replicas", Int).keep(),
        f(2, "fullyLabeledReplicas", Int),
        f(3, "observedGeneration", Int),
        f(4, "readyReplicas", Int),
        f(5, "availableReplicas", Int),
        f(6, "conditions", Msg(&REPLICA_SET_CONDITION)).list(),
        f(7, "terminatingReplicas", Int).keep(),
    ],
};

static REPLICA_SET_CONDITION: Message = Message {
    name: "ReplicaSetCondition",
    fields: &[
        f(1, "type", Str).keep(),
        f(2, "status", Str).keep(),
        f(3, "lastTransitionTime", Time),
        f(4, "reason", Str),
        f(5, "message", Str),
    ],
};

// --- autoscaling/v1 Scale (the `scale` subresource) ---

pub(crate) static SCALE: Message = Message {
    name: "Scale",
    fields: &[
        f(1, "metadata", Msg(&OBJECT_META)),
        f(2, "spec", Msg(&SCALE_SPEC)),
        f(3, "status", Msg(&SCALE_STATUS)),
    ],
};

static SCALE_SPEC: Message = Message {
    name: "ScaleSpec",
    fields: &[f(1, "replicas", Int)],
};

static SCALE_STATUS: Message = Message {
    name: "ScaleStatus",
    fields: &[f(1, "replicas", Int).keep(), f(2, "selector", Str)],
};
